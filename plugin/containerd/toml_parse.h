// The one place TOML is parsed (containerd's config and hosts.toml files):
// toml++'s parse errors, thrown as exceptions in Debian's build, stop here.
#ifndef NODEFIT_PLUGIN_CONTAINERD_TOML_PARSE_H_
#define NODEFIT_PLUGIN_CONTAINERD_TOML_PARSE_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "toml++/toml.h"

namespace nodefit {

// InvalidArgument "cannot parse <path>: line L, column C: <description>".
[[nodiscard]] absl::StatusOr<toml::table> ParseToml(absl::string_view content,
                                                    absl::string_view path);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_CONTAINERD_TOML_PARSE_H_
