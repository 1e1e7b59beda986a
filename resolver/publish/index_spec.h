// The input of `nodefit index create`: manifest-tool's YAML spec (the
// format the seed's CI pipeline writes), or the same structure as JSON.
//
//   image: registry/repo:tag          # where the index goes
//   tags: [extra, tags]               # optional, more tags for it
//   manifests:
//     - image: registry/repo-build:tag   # a per-build image (or an index)
//       platform:                        # optional; missing fields are
//         architecture: amd64            # read from the image's config
//         os: linux
//         variant: v3
//         features: [broadwell, nv-compute-5-2, nvidia-396-44]
//         osversion: "10.0.17763"
//         osfeatures: [win32k]
//       annotations: {key: value}        # optional, kept on the entry
//
// ParseIndexSpec never throws: malformed YAML, a wrong type, an unknown key
// (a typo would otherwise be silently dropped), a bad reference or more
// than kMaxIndexEntries manifests get InvalidArgument naming the place
// ("manifests[2].platform.features[0]: ...").
#ifndef NODEFIT_RESOLVER_PUBLISH_INDEX_SPEC_H_
#define NODEFIT_RESOLVER_PUBLISH_INDEX_SPEC_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "resolver/registry/reference.h"

namespace nodefit {

// A spec larger than this is refused before parsing.
inline constexpr size_t kMaxIndexSpecBytes = 1 << 20;

struct SpecPlatform {
  std::string os;            // empty: from the image config
  std::string architecture;  // empty: from the image config
  std::string variant;
  std::string os_version;
  std::vector<std::string> os_features;
  std::vector<std::string> features;
};

struct SpecEntry {
  Reference image;
  bool has_platform = false;
  SpecPlatform platform;
  std::map<std::string, std::string> annotations;
};

struct IndexSpec {
  Reference image;                // the target, with its tag
  std::vector<std::string> tags;  // more tags for the same index
  std::vector<SpecEntry> manifests;
};

[[nodiscard]] absl::StatusOr<IndexSpec> ParseIndexSpec(absl::string_view text);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_PUBLISH_INDEX_SPEC_H_
