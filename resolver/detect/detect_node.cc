#include "resolver/detect/detect_node.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "resolver/base/file_util.h"
#include "resolver/detect/detect_nfd.h"

namespace nodefit {
namespace {

// /proc/cpuinfo of a large machine is a few hundred KiB.
constexpr size_t kMaxCpuinfoBytes = size_t{16} << 20;

void TakeNotes(Detection* from, std::vector<std::string>* to) {
  for (std::string& n : from->notes) to->push_back(std::move(n));
}

}  // namespace

NodeReport BuildNodeProfile(const Config& config, const Vocabulary& vocabulary,
                            const DetectOptions& options) {
  NodeReport report;
  absl::flat_hash_set<std::string> seen;
  auto add = [&](const SourcedFeature& f) {
    std::string canonical = vocabulary.Canonical(f.feature);
    if (!seen.insert(canonical).second) return;
    report.features.push_back({std::move(canonical), f.source, f.detail});
  };
  for (const std::string& feature : config.features) {
    add({feature, std::string(kSourceConfig), config.source});
  }
  report.profile.platform = config.platform.value_or(HostBuildPlatform());
  if (!config.detect) {
    report.notes.push_back(absl::StrCat(
        "detection is off (\"detect\": false in ", config.source, ")"));
  } else {
    // CPU.
    absl::StatusOr<std::string> cpuinfo =
        ReadFileToString(options.cpuinfo_path, kMaxCpuinfoBytes);
    if (!cpuinfo.ok()) {
      report.notes.push_back(absl::StrCat("cpu: ", cpuinfo.status().message()));
    } else {
      CpuDetection cpu = DetectCpu(ParseCpuInfo(*cpuinfo), vocabulary);
      TakeNotes(&cpu.detection, &report.notes);
      const bool known = !cpu.platform.architecture.empty();
      if (!config.platform.has_value() && known) {
        report.profile.platform = cpu.platform;
      }
      if (known &&
          report.profile.platform.architecture != cpu.platform.architecture) {
        report.notes.push_back(absl::StrCat(
            "cpu: the configured platform ", report.profile.platform.String(),
            " is not this ", cpu.platform.architecture,
            " CPU's architecture; CPU features not merged"));
      } else {
        for (const SourcedFeature& f : cpu.detection.features) add(f);
      }
    }
    // NVIDIA.
    SubprocessRunner subprocess;
    CommandRunner& runner =
        options.runner != nullptr ? *options.runner : subprocess;
    Detection nvidia = DetectNvidia(options.nvidia, runner);
    TakeNotes(&nvidia, &report.notes);
    for (const SourcedFeature& f : nvidia.features) add(f);
    // Node Feature Discovery.
    Detection nfd = ReadNfdFeatures(config.nfd);
    TakeNotes(&nfd, &report.notes);
    for (const SourcedFeature& f : nfd.features) add(f);
  }
  report.profile.features.reserve(report.features.size());
  for (const SourcedFeature& f : report.features) {
    report.profile.features.push_back(f.feature);
  }
  return report;
}

std::vector<std::string> DetectedFeatures(const NodeReport& report) {
  std::vector<std::string> out;
  for (const SourcedFeature& f : report.features) {
    if (f.source == kSourceCpu || f.source == kSourceNvidia) {
      out.push_back(f.feature);
    }
  }
  return out;
}

DetectOptions DetectOptionsFor(const Config& config) {
  DetectOptions options;
  options.cpuinfo_path = config.proc_root + "/cpuinfo";
  options.nvidia.version_path = config.proc_root + "/driver/nvidia/version";
  return options;
}

}  // namespace nodefit
