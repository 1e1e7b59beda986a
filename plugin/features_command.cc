// `nodefit features`: the node profile and the closure of its features.
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "plugin/cli.h"
#include "plugin/commands.h"
#include "resolver/json_util.h"
#include "resolver/node_profile.h"
#include "resolver/vocabulary.h"

namespace nodefit {

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
  absl::StatusOr<Config> config = LoadConfigForCli(flags);
  if (!config.ok()) return usage_error(config.status().message());
  absl::StatusOr<NodeProfile> profile = NodeForCli(*config, flags);
  if (!profile.ok()) return usage_error(profile.status().message());
  absl::StatusOr<std::unique_ptr<const Vocabulary>> vocabulary =
      Vocabulary::Create(config->rules);
  if (!vocabulary.ok()) return usage_error(vocabulary.status().message());
  const NodeClosure node(*profile, **vocabulary);
  const std::string source =
      flags.Has("platform") ? "flag" : absl::StrCat("config");

  // Each declared feature with its own closure.
  struct Row {
    std::string feature;
    std::string source;
    std::vector<std::pair<std::string, int>> closure;
  };
  std::vector<Row> rows;
  const std::string variant_feature = VariantFeature(profile->platform);
  for (const std::string& feature : node.features()) {
    Row row{feature, feature == variant_feature ? "platform" : source, {}};
    const Vocabulary::FeatureId id = (*vocabulary)->Find(feature);
    if (id == Vocabulary::kUnknown) {
      row.closure.emplace_back(feature, 0);
    } else {
      for (const Vocabulary::Implied& implied : (*vocabulary)->Closure(id)) {
        row.closure.emplace_back((*vocabulary)->Name(implied.id),
                                 implied.distance);
      }
    }
    rows.push_back(std::move(row));
  }

  if (flags.Has("json")) {
    nlohmann::json features = nlohmann::json::array();
    for (const Row& row : rows) {
      nlohmann::json closure = nlohmann::json::array();
      for (const auto& [name, distance] : row.closure) {
        closure.push_back({{"feature", name}, {"distance", distance}});
      }
      features.push_back({{"feature", row.feature},
                          {"source", row.source},
                          {"closure", std::move(closure)}});
    }
    nlohmann::json all = nlohmann::json::array();
    for (const NodeClosure::Member& m : node.Members()) {
      all.push_back(
          {{"feature", m.feature}, {"distance", m.distance}, {"via", m.via}});
    }
    const nlohmann::json doc = {{"platform", node.platform().String()},
                                {"config", config->source},
                                {"features", std::move(features)},
                                {"closure", std::move(all)}};
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

}  // namespace nodefit
