// The node profile nodefit selects for: the config merged with detection
// (docs/vocabulary.md, docs/configuration.md). The daemon calls
// BuildNodeProfile once at start-up and again on SIGHUP, never per pull:
// detection reads /proc and may run nvidia-smi.
//
// Merge rules:
//   - platform: the config's `platform` if set; else the detected one
//     (linux, amd64/arm64 from /proc/cpuinfo, the amd64 level "vN" or the
//     arm64 version "v8.x" as variant); else the platform nodefit was built
//     for (HostBuildPlatform()).
//   - features, in this order: the config's (source "config"), then the
//     CPU's, NVIDIA's, and the NFD files' (sources "cpu", "nvidia", "nfd"),
//     de-duplicated by canonical name (vocabulary aliases applied); the
//     first source wins.
//   - "detect": false in the config turns all detection off.
//   - CPU features are not merged when the config's platform names another
//     architecture than the CPU's (a note says so).
// Detection never fails as a whole: a source that cannot be read adds a
// note and no features.
#ifndef NODEFIT_RESOLVER_DETECT_DETECT_NODE_H_
#define NODEFIT_RESOLVER_DETECT_DETECT_NODE_H_

#include <string>
#include <vector>

#include "resolver/base/command_runner.h"
#include "resolver/config/config.h"
#include "resolver/detect/detect_cpu.h"
#include "resolver/detect/detect_feature.h"
#include "resolver/detect/detect_nvidia.h"
#include "resolver/select/node_profile.h"
#include "resolver/select/vocabulary.h"

namespace nodefit {

// Where detection looks; tests and `nodefit features` flags replace them.
struct DetectOptions {
  std::string cpuinfo_path = std::string(kDefaultCpuinfoPath);
  NvidiaOptions nvidia;
  // Runs nvidia-smi; nullptr: a SubprocessRunner.
  CommandRunner* runner = nullptr;
};

// The detection paths a config asks for (its proc_root).
DetectOptions DetectOptionsFor(const Config& config);

struct NodeReport {
  NodeProfile profile;                   // what selection uses
  std::vector<SourcedFeature> features;  // canonical, in profile order
  std::vector<std::string> notes;        // log lines; never secrets
};

// `vocabulary` is the one selection uses (the config's rules applied): it
// de-duplicates features and judges the CPU name's level.
NodeReport BuildNodeProfile(const Config& config, const Vocabulary& vocabulary,
                            const DetectOptions& options);

// The features detection found on the node itself (sources cpu and
// nvidia), which --write-nfd publishes.
std::vector<std::string> DetectedFeatures(const NodeReport& report);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_DETECT_DETECT_NODE_H_
