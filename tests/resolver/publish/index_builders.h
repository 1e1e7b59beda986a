// Index documents for the publish tests, written compactly: entry n gets
// the digest sha256:0…n, so a test can name entries by number.
#ifndef NODEFIT_TESTS_RESOLVER_PUBLISH_INDEX_BUILDERS_H_
#define NODEFIT_TESTS_RESOLVER_PUBLISH_INDEX_BUILDERS_H_

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "resolver/select/index.h"
#include "resolver/select/platform.h"

namespace nodefit::testing {

inline std::string D(int n) {
  std::string hex = std::to_string(n);
  return "sha256:" + std::string(64 - hex.size(), '0') + hex;
}

// An image entry for "os/arch[/variant]" with platform.features.
inline nlohmann::json Entry(int n, const std::string& platform,
                            const std::vector<std::string>& features = {}) {
  const Platform p = *ParsePlatform(platform);
  nlohmann::json j = {{"os", p.os}, {"architecture", p.architecture}};
  if (std::count(platform.begin(), platform.end(), '/') == 2) {
    j["variant"] = p.variant;
  }
  if (!features.empty()) j["features"] = features;
  return {{"mediaType", std::string(kOciManifestType)},
          {"digest", D(n)},
          {"size", 100 + n},
          {"platform", j}};
}

inline ParsedIndex Index(const std::vector<nlohmann::json>& entries) {
  const nlohmann::json doc = {{"schemaVersion", 2},
                              {"mediaType", std::string(kOciIndexType)},
                              {"manifests", entries}};
  absl::StatusOr<ParsedIndex> index = ParseIndex(doc.dump());
  EXPECT_TRUE(index.ok()) << index.status();
  return *std::move(index);
}

}  // namespace nodefit::testing

#endif  // NODEFIT_TESTS_RESOLVER_PUBLISH_INDEX_BUILDERS_H_
