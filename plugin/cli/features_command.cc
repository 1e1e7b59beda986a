// `nodefit features`: the node profile (the config merged with detection),
// where each feature came from, and the closure of each.
#include <map>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "plugin/cli/cli.h"
#include "plugin/cli/commands.h"
#include "resolver/base/json_util.h"
#include "resolver/detect/detect_nfd.h"
#include "resolver/detect/detect_node.h"
#include "resolver/select/node_profile.h"
#include "resolver/select/vocabulary.h"

namespace nodefit {
namespace {

// Detection paths: the config's proc_root, then the test/ops override
// flags.
DetectOptions DetectOptionsFromFlags(const Config& config,
                                     const ParsedFlags& flags) {
  DetectOptions options = DetectOptionsFor(config);
  options.cpuinfo_path = flags.Get("cpuinfo", options.cpuinfo_path);
  options.nvidia.version_path =
      flags.Get("nvidia-version", options.nvidia.version_path);
  if (flags.Has("nvidia-smi")) {
    options.nvidia.smi_command[0] = flags.Get("nvidia-smi");
  }
  return options;
}

int RunFeatures(const ParsedFlags& flags, std::ostream& out,
                std::ostream& err) {
  auto usage_error = [&err](absl::string_view message) {
    err << "nodefit features: " << message << "\n";
    return kExitUsage;
  };
  if (!flags.positional.empty()) {
    return usage_error(
        absl::StrCat("unexpected argument \"", flags.positional[0], "\""));
  }
  if (flags.Has("platform") && flags.Has("write-nfd")) {
    return usage_error(
        "--write-nfd publishes detected features; it cannot be combined "
        "with --platform");
  }
  absl::StatusOr<Config> config = LoadConfigForCli(flags);
  if (!config.ok()) return usage_error(config.status().message());
  absl::StatusOr<std::unique_ptr<const Vocabulary>> vocabulary =
      Vocabulary::Create(config->rules);
  if (!vocabulary.ok()) return usage_error(vocabulary.status().message());

  NodeReport report;
  if (flags.Has("platform")) {
    absl::StatusOr<NodeProfile> profile = NodeForCli(*config, flags);
    if (!profile.ok()) return usage_error(profile.status().message());
    report.profile = *std::move(profile);
    for (const std::string& f : report.profile.features) {
      report.features.push_back(
          {(*vocabulary)->Canonical(f), "flag", "--platform"});
    }
  } else {
    Config effective = *config;
    if (flags.Has("nfd-dir")) effective.nfd.features_dir = flags.Get("nfd-dir");
    report = BuildNodeProfile(effective, **vocabulary,
                              DetectOptionsFromFlags(*config, flags));
  }
  for (const std::string& note : report.notes) {
    err << "nodefit features: note: " << note << "\n";
  }
  if (flags.Has("write-nfd")) {
    const std::string path = flags.Get("write-nfd");
    const std::vector<std::string> detected = DetectedFeatures(report);
    if (absl::Status written =
            WriteNfdFeatures(path, detected, config->nfd.prefix);
        !written.ok()) {
      err << "nodefit features: --write-nfd: " << written.message() << "\n";
      return kExitFailure;
    }
    err << "nodefit features: wrote " << detected.size()
        << " detected features to " << path << "\n";
  }

  const NodeClosure node(report.profile, **vocabulary);
  std::map<std::string, const SourcedFeature*> by_feature;
  for (const SourcedFeature& f : report.features) {
    by_feature.emplace(f.feature, &f);
  }
  // Each of the node's own features with its source and closure.
  struct Row {
    std::string feature;
    std::string source;
    std::string detail;
    std::vector<std::pair<std::string, int>> closure;
  };
  std::vector<Row> rows;
  for (const std::string& feature : node.features()) {
    Row row{feature, "platform", report.profile.platform.String(), {}};
    if (auto it = by_feature.find(feature); it != by_feature.end()) {
      row.source = it->second->source;
      row.detail = it->second->detail;
    }
    const Vocabulary::FeatureId id = (*vocabulary)->Find(feature);
    if (id == Vocabulary::kUnknown) {
      row.closure.emplace_back(feature, 0);
      // A driver's CUDA toolkits, a capability's lower minors.
      for (auto& implied : (*vocabulary)->RuleClosure(feature)) {
        row.closure.push_back(std::move(implied));
      }
    } else {
      for (const Vocabulary::Implied& implied : (*vocabulary)->Closure(id)) {
        row.closure.emplace_back((*vocabulary)->Name(implied.id),
                                 implied.distance);
      }
    }
    rows.push_back(std::move(row));
  }
  auto source_of = [&](const NodeClosure::Member& m) -> std::string {
    if (m.distance > 0) return "implied";
    for (const Row& row : rows) {
      if (row.feature == m.feature) return row.source;
    }
    return "implied";
  };

  if (flags.Has("json")) {
    nlohmann::json features = nlohmann::json::array();
    for (const Row& row : rows) {
      nlohmann::json closure = nlohmann::json::array();
      for (const auto& [name, distance] : row.closure) {
        closure.push_back({{"feature", name}, {"distance", distance}});
      }
      features.push_back({{"feature", row.feature},
                          {"source", row.source},
                          {"detail", row.detail},
                          {"closure", std::move(closure)}});
    }
    nlohmann::json all = nlohmann::json::array();
    for (const NodeClosure::Member& m : node.Members()) {
      all.push_back({{"feature", m.feature},
                     {"distance", m.distance},
                     {"via", m.via},
                     {"source", source_of(m)}});
    }
    const nlohmann::json doc = {{"platform", node.platform().String()},
                                {"config", config->source},
                                {"detect", config->detect},
                                {"features", std::move(features)},
                                {"closure", std::move(all)},
                                {"notes", report.notes}};
    out << DumpJson(doc, 2) << "\n";
    return kExitOk;
  }
  out << "platform  " << node.platform().String() << "\n"
      << "config    " << config->source << "\n";
  if (rows.empty()) out << "features  (none)\n";
  for (const Row& row : rows) {
    std::vector<std::string> implied;
    for (size_t i = 1; i < row.closure.size(); ++i) {
      implied.push_back(
          absl::StrCat(row.closure[i].first, "(", row.closure[i].second, ")"));
    }
    out << "feature   " << row.feature << "  [" << row.source << "]";
    if (!implied.empty()) out << "  implies " << absl::StrJoin(implied, " ");
    out << "\n";
  }
  return kExitOk;
}

}  // namespace

Command FeaturesCommand() {
  return Command{
      "features",
      "show the node profile, where each feature came from, its closure",
      "usage: nodefit features [--config FILE] [--platform P] [--json]\n"
      "         [--write-nfd FILE] [--cpuinfo PATH] [--nvidia-version PATH]\n"
      "         [--nvidia-smi PATH] [--nfd-dir DIR]\n\n"
      "Prints the node's platform (amd64: its x86-64 level as the variant) "
      "and every\nfeature it has, where it came from (config, cpu, nvidia, "
      "nfd; platform for\nthe variant's) and everything it implies, with "
      "the distance. Unless the config\nsays \"detect\": false, the "
      "config's features are merged with those detected\nfrom "
      "/proc/cpuinfo, /proc/driver/nvidia/version, nvidia-smi and the Node\n"
      "Feature Discovery files; what could not be detected is printed to "
      "stderr as\n\"nodefit features: note: ...\".\n\n"
      "  --config FILE          config file (default "
      "/etc/nodefit/config.json if present)\n"
      "  --platform P           use this node profile instead (no "
      "detection)\n"
      "  --json                 print one JSON object\n"
      "  --write-nfd FILE       also write the detected cpu and nvidia "
      "features to FILE\n"
      "                         as NFD feature lines (<prefix><feature>), "
      "atomically\n"
      "  --cpuinfo PATH         read PATH instead of /proc/cpuinfo\n"
      "  --nvidia-version PATH  read PATH instead of "
      "/proc/driver/nvidia/version\n"
      "  --nvidia-smi PATH      the nvidia-smi to run (default: nvidia-smi "
      "in PATH;\n"
      "                         a missing one is a note)\n"
      "  --nfd-dir DIR          read NFD feature files from DIR instead of "
      "the config's\n"
      "                         nfd.features_dir\n",
      {{"config"},
       {"platform"},
       {"json", false},
       {"write-nfd"},
       {"cpuinfo"},
       {"nvidia-version"},
       {"nvidia-smi"},
       {"nfd-dir"}},
      &RunFeatures};
}

}  // namespace nodefit
