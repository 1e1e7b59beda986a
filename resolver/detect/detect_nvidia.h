// NVIDIA detection (docs/vocabulary.md):
//   - the kernel driver's version from /proc/driver/nvidia/version ->
//     "nvidia-MAJ-MIN" (396.44 -> nvidia-396-44, 535.104.05 ->
//     nvidia-535-104). Both banners are understood:
//       NVRM version: NVIDIA UNIX x86_64 Kernel Module  396.44  Wed Jul ...
//       NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  535.104.05 ...
//   - the compute capabilities of the GPUs from
//     `nvidia-smi --query-gpu=compute_cap,driver_version --format=csv` (a
//     header, then one line per GPU, "8.0, 550.54.15") ->
//     "nv-compute-MAJ-MIN", one per distinct value; the driver_version
//     column gives nvidia-MAJ-MIN when the version file cannot be read.
// No driver file, no nvidia-smi, or output that does not parse is a note,
// never an error: most nodes have no GPU.
#ifndef NODEFIT_RESOLVER_DETECT_DETECT_NVIDIA_H_
#define NODEFIT_RESOLVER_DETECT_DETECT_NVIDIA_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "resolver/base/command_runner.h"
#include "resolver/detect/detect_feature.h"

namespace nodefit {

inline constexpr absl::string_view kDefaultNvidiaVersionPath =
    "/proc/driver/nvidia/version";

// The version in a /proc/driver/nvidia/version text ("396.44",
// "535.104.05"); InvalidArgument when there is no "NVRM version:" line with
// one.
[[nodiscard]] absl::StatusOr<std::string> ParseNvidiaDriverVersion(
    absl::string_view text);

// "396.44" -> "nvidia-396-44"; "535.104.05" -> "nvidia-535-104".
std::string NvidiaDriverFeature(absl::string_view version);

// nvidia-smi's compute_cap output -> distinct "nv-compute-M-m" features in
// order of first appearance; each line that is not "M.m" adds a note.
Detection ParseComputeCapabilities(absl::string_view output);

// The same for any `--query-gpu=... --format=csv` output: with a header the
// compute_cap and driver_version columns are found by name (so the output
// of a query with more columns reads too); without one each line is
// "compute_cap[, driver_version]". The first driver version is stored in
// `driver_version` when it is not null.
Detection ParseNvidiaSmi(absl::string_view output, std::string* driver_version);

struct NvidiaOptions {
  std::string version_path = std::string(kDefaultNvidiaVersionPath);
  // Run only when argv[0] exists (in PATH, or as a path).
  std::vector<std::string> smi_command = {
      "nvidia-smi", "--query-gpu=compute_cap,driver_version", "--format=csv"};
  CommandLimits smi_limits;
};

Detection DetectNvidia(const NvidiaOptions& options, CommandRunner& runner);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_DETECT_DETECT_NVIDIA_H_
