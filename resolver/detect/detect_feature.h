// What every detector returns: features with where each came from, and
// notes (log lines) about what could not be detected. Detection never fails
// as a whole; a source that cannot be read contributes a note instead.
#ifndef NODEFIT_RESOLVER_DETECT_DETECT_FEATURE_H_
#define NODEFIT_RESOLVER_DETECT_DETECT_FEATURE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace nodefit {

// The sources a node feature can come from, as printed by
// `nodefit features`.
inline constexpr absl::string_view kSourceConfig = "config";
inline constexpr absl::string_view kSourceCpu = "cpu";
inline constexpr absl::string_view kSourceNvidia = "nvidia";
inline constexpr absl::string_view kSourceNfd = "nfd";

struct SourcedFeature {
  std::string feature;
  std::string source;  // one of the kSource* values
  std::string detail;  // evidence: "/proc/cpuinfo: GenuineIntel family 6 ..."
};

struct Detection {
  std::vector<SourcedFeature> features;
  std::vector<std::string> notes;
};

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_DETECT_DETECT_FEATURE_H_
