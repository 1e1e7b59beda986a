// Parses TOML text written by `nodefit hosts`, failing the calling test
// (with the text) when it does not parse. For the hosts tests.
#ifndef NODEFIT_TESTS_PLUGIN_CONTAINERD_TOML_PARSE_H_
#define NODEFIT_TESTS_PLUGIN_CONTAINERD_TOML_PARSE_H_

#include <string>

#include "gtest/gtest.h"
#include "toml++/toml.h"

namespace nodefit::testing {

inline toml::table ParseToml(const std::string& text) {
  try {
    return toml::parse(text);
  } catch (const toml::parse_error& e) {
    ADD_FAILURE() << "does not parse: " << e.description() << "\n" << text;
    return {};
  }
}

}  // namespace nodefit::testing

#endif  // NODEFIT_TESTS_PLUGIN_CONTAINERD_TOML_PARSE_H_
