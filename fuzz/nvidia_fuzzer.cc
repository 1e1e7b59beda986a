// NVIDIA: the /proc/driver/nvidia/version parse and the nvidia-smi CSV
// parses on any text (both are read from the host, the second is another
// program's output). Checked: every feature they give follows the feature
// spelling rule, and a driver version accepted maps to nvidia-MAJ-MIN.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "resolver/detect/detect_nvidia.h"
#include "resolver/select/vocabulary.h"

namespace {

void CheckFeatures(const nodefit::Detection& detection) {
  for (const nodefit::SourcedFeature& f : detection.features) {
    NODEFIT_FUZZ_CHECK(!f.feature.empty());
    NODEFIT_FUZZ_CHECK(nodefit::NormalizeFeature(f.feature) == f.feature);
    NODEFIT_FUZZ_CHECK(absl::StartsWith(f.feature, "nv-compute-") ||
                       absl::StartsWith(f.feature, "nvidia-"));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<std::string> version =
      nodefit::ParseNvidiaDriverVersion(text);
  if (version.ok()) {
    NODEFIT_FUZZ_CHECK(!version->empty());
    const std::string feature = nodefit::NvidiaDriverFeature(*version);
    NODEFIT_FUZZ_CHECK(absl::StartsWith(feature, "nvidia-"));
    NODEFIT_FUZZ_CHECK(nodefit::NormalizeFeature(feature) == feature);
  } else {
    NODEFIT_FUZZ_CHECK(version.status().code() ==
                       absl::StatusCode::kInvalidArgument);
  }
  (void)nodefit::NvidiaDriverFeature(text);
  CheckFeatures(nodefit::ParseComputeCapabilities(text));
  std::string driver;
  CheckFeatures(nodefit::ParseNvidiaSmi(text, &driver));
  if (!driver.empty()) {
    (void)nodefit::NvidiaDriverFeature(driver);
  }
  return 0;
}
