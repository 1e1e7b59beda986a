// `nodefit vocabulary`: what a feature name means to nodefit (canonical
// name, aliases, weight, what it implies and what implies it, its family and
// where the facts come from), or the list of families. How a publisher
// checks a spelling before pushing an index.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "plugin/cli/cli.h"
#include "plugin/cli/commands.h"
#include "resolver/base/json_util.h"
#include "resolver/select/builtin_features.h"
#include "resolver/select/vocabulary.h"

namespace nodefit {
namespace {

struct Edge {
  std::string feature;
  int distance;
};

struct Entry {
  std::string name;  // as asked
  std::string canonical;
  const BuiltInFamily* family = nullptr;
  bool in_graph = false;
  std::vector<std::string> aliases;
  int weight = 1;
  std::vector<Edge> implies;
  std::vector<Edge> implied_by;
  std::vector<std::string> rules;  // the rule families' open-ended parts
  const ArchspecTarget* archspec = nullptr;
  std::vector<const ArchspecDisagreement*> disagreements;
};

// "cuda-12-4" -> {12, 4} for the rule families' canonical names.
bool Numbers(absl::string_view name, absl::string_view prefix, int* a, int* b) {
  if (!absl::ConsumePrefix(&name, prefix)) return false;
  std::pair<std::string, std::string> parts =
      absl::StrSplit(name, absl::MaxSplits('-', 1));
  return absl::SimpleAtoi(parts.first, a) && absl::SimpleAtoi(parts.second, b);
}

Entry Describe(const Vocabulary& v, const std::string& name) {
  Entry e;
  e.name = name;
  e.canonical = v.Canonical(name);
  e.family = v.FamilyOf(e.canonical);
  e.aliases = v.AliasesOf(e.canonical);
  e.weight = v.Weight(e.canonical);
  const Vocabulary::FeatureId id = v.Find(e.canonical);
  e.in_graph = id != Vocabulary::kUnknown;
  if (e.in_graph) {
    for (const Vocabulary::Implied& i : v.Closure(id)) {
      if (i.distance > 0) e.implies.push_back({v.Name(i.id), i.distance});
    }
    const std::vector<Vocabulary::Implied> by = v.ImpliedBy(id);
    e.implied_by.reserve(by.size());
    for (const Vocabulary::Implied& i : by) {
      e.implied_by.push_back({v.Name(i.id), i.distance});
    }
    // Any graph feature may also be written cpu:X or cpu-X.
    e.aliases.push_back(absl::StrCat("cpu:", e.canonical));
    e.aliases.push_back(absl::StrCat("cpu-", e.canonical));
  } else {
    for (auto& [feature, distance] : v.RuleClosure(e.canonical)) {
      e.implies.push_back({std::move(feature), distance});
    }
  }
  for (const ArchspecTarget& t : ArchspecTargets()) {
    if (t.canonical == e.canonical && e.archspec == nullptr) e.archspec = &t;
  }
  for (const ArchspecDisagreement& d : ArchspecDisagreements()) {
    if (e.archspec != nullptr && d.child == e.archspec->name) {
      e.disagreements.push_back(&d);
    }
  }
  int a = 0, b = 0;
  // The rule families' spellings (Vocabulary::RuleAlias), for this name.
  const std::vector<std::pair<absl::string_view, std::vector<std::string>>>
      rule_spellings = {
          {"cuda-", {"cuda:%d.%d", "cuda%d.%d", "cuda-%d.%d"}},
          {"nv-compute-",
           {"nvcap-%d.%d", "nvcap-%d-%d", "nv-compute-%d.%d",
            "nv-compute-capability-%d-%d", "nv-compute-capability-%d.%d"}},
          {"nv-ptx-", {"nv-ptx-%d.%d"}},
          {"nvidia-", {"nvidia-%d.%d"}},
      };
  for (const auto& [prefix, forms] : rule_spellings) {
    if (!Numbers(e.canonical, prefix, &a, &b)) continue;
    for (const std::string& form : forms) {
      std::string spelling =
          absl::StrReplaceAll(form, {{"%d.%d", absl::StrCat(a, ".", b)},
                                     {"%d-%d", absl::StrCat(a, "-", b)}});
      if (spelling != e.canonical) e.aliases.push_back(std::move(spelling));
    }
  }
  if (Numbers(e.canonical, "cuda-", &a, &b)) {
    const std::pair<int, int> min = Vocabulary::CudaMinimumDriver(a, b);
    if (min.first < 0) {
      e.rules.push_back(absl::StrCat(
          "CUDA ", a, ".", b,
          " is not in NVIDIA's table as nodefit has it: no driver implies it"));
    } else {
      e.rules.push_back(
          absl::StrCat("implied by every nvidia-MAJ-MIN driver at least ",
                       min.first, ".", min.second,
                       ", at its rank among the toolkits that driver runs "
                       "(its newest at distance 0)"));
    }
    if (v.cuda_minor_version_compatibility()) {
      for (const CudaMinorCompatibility& row : CudaMinorCompatibilities()) {
        if (row.cuda_major == a) {
          e.rules.push_back(absl::StrCat(
              "minor version compatibility is on: also implied by drivers "
              "from ",
              row.driver, ", farther than every toolkit they run natively"));
        }
      }
    }
  } else if (Numbers(e.canonical, "nv-compute-", &a, &b)) {
    e.rules.push_back(absl::StrCat("implied by nv-compute-", a,
                                   "-z for every z > ", b, " at distance z - ",
                                   b));
    e.rules.push_back(absl::StrCat(
        "implies nv-ptx-A-B for every A.B <= ", a, ".", b, " at distance ",
        Vocabulary::kPtxDistance, " + 100 * (", a, " - A) + (", b, " - B)"));
  } else if (Numbers(e.canonical, "nv-ptx-", &a, &b)) {
    e.rules.push_back(absl::StrCat(
        "implied by every nv-compute-X-z with X.z >= ", a, ".", b,
        " at distance ", Vocabulary::kPtxDistance, " + 100 * (X - ", a,
        ") + (z - ", b, "), farther than any cubin match"));
  } else if (Numbers(e.canonical, "nvidia-", &a, &b)) {
    e.rules.push_back(
        "an exact driver: no other driver implies it, and it implies no "
        "other driver");
  }
  return e;
}

nlohmann::json EdgesJson(const std::vector<Edge>& edges) {
  nlohmann::json out = nlohmann::json::array();
  for (const Edge& edge : edges) {
    out.push_back({{"feature", edge.feature}, {"distance", edge.distance}});
  }
  return out;
}

nlohmann::json FamilyJson(const BuiltInFamily& f) {
  nlohmann::json rows = nlohmann::json::array();
  for (const BuiltInImplication& row : f.rows) {
    rows.push_back(std::string(row.feature));
  }
  return {{"family", std::string(f.name)},
          {"title", std::string(f.title)},
          {"pattern", std::string(f.pattern)},
          {"features", std::move(rows)},
          {"source", std::string(f.source)}};
}

nlohmann::json EntryJson(const Entry& e) {
  nlohmann::json archspec = nullptr;
  if (e.archspec != nullptr) {
    nlohmann::json from = nlohmann::json::array();
    for (absl::string_view parent : e.archspec->from) {
      from.push_back(std::string(parent));
    }
    nlohmann::json disagreements = nlohmann::json::array();
    for (const ArchspecDisagreement* d : e.disagreements) {
      disagreements.push_back({{"from", std::string(d->parent)},
                               {"reason", std::string(d->reason)}});
    }
    archspec = {{"name", std::string(e.archspec->name)},
                {"from", std::move(from)},
                {"not_followed", std::move(disagreements)}};
  }
  return {{"name", e.name},
          {"canonical", e.canonical},
          {"known", e.family != nullptr || e.in_graph},
          {"family", e.family == nullptr ? nlohmann::json(nullptr)
                                         : FamilyJson(*e.family)},
          {"aliases", e.aliases},
          {"weight", e.weight},
          {"implies", EdgesJson(e.implies)},
          {"implied_by", EdgesJson(e.implied_by)},
          {"rules", e.rules},
          {"archspec", std::move(archspec)}};
}

std::string EdgesText(const std::vector<Edge>& edges) {
  if (edges.empty()) return "(nothing)";
  std::vector<std::string> parts;
  parts.reserve(edges.size());
  for (const Edge& edge : edges) {
    parts.push_back(absl::StrCat(edge.feature, "(", edge.distance, ")"));
  }
  return absl::StrJoin(parts, " ");
}

void PrintEntry(const Entry& e, std::ostream& out) {
  out << "name        " << e.name << "\n"
      << "canonical   " << e.canonical << "\n";
  if (e.family == nullptr && !e.in_graph) {
    out << "family      (none): not in nodefit's vocabulary; an opaque "
           "feature a node has only by listing it\n";
  } else if (e.family == nullptr) {
    out << "family      (config): added by the config's implies\n";
  } else {
    out << "family      " << e.family->name << ": " << e.family->title << "\n";
  }
  out << "aliases     "
      << (e.aliases.empty() ? "(none)" : absl::StrJoin(e.aliases, " ")) << "\n"
      << "weight      " << e.weight << "\n"
      << "implies     " << EdgesText(e.implies) << "\n";
  if (e.in_graph) {
    out << "implied by  " << EdgesText(e.implied_by) << "\n";
  }
  for (const std::string& rule : e.rules) out << "rule        " << rule << "\n";
  if (e.archspec != nullptr) {
    out << "archspec    " << e.archspec->name << " (from "
        << (e.archspec->from.empty() ? "nothing"
                                     : absl::StrJoin(e.archspec->from, ", "))
        << ")\n";
    for (const ArchspecDisagreement* d : e.disagreements) {
      out << "            not followed: from " << d->parent << ": " << d->reason
          << "\n";
    }
  }
  if (e.family != nullptr) out << "source      " << e.family->source << "\n";
}

int RunVocabulary(const ParsedFlags& flags, std::ostream& out,
                  std::ostream& err) {
  absl::StatusOr<Config> config = LoadConfigForCli(flags);
  if (!config.ok()) {
    err << "nodefit vocabulary: " << config.status().message() << "\n";
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<const Vocabulary>> vocabulary =
      Vocabulary::Create(config->rules);
  if (!vocabulary.ok()) {
    err << "nodefit vocabulary: " << vocabulary.status().message() << "\n";
    return kExitUsage;
  }
  const bool json = flags.Has("json");
  if (flags.positional.empty()) {
    if (json) {
      nlohmann::json families = nlohmann::json::array();
      for (const BuiltInFamily& f : BuiltInFamilies()) {
        families.push_back(FamilyJson(f));
      }
      out << DumpJson({{"families", std::move(families)}}, 2) << "\n";
      return kExitOk;
    }
    for (const BuiltInFamily& f : BuiltInFamilies()) {
      std::vector<std::string> names;
      names.reserve(f.rows.size());
      for (const BuiltInImplication& row : f.rows) {
        names.emplace_back(row.feature);
      }
      out << f.name << ": " << f.title << "\n  "
          << (f.pattern.empty() ? absl::StrJoin(names, " ")
                                : absl::StrCat("pattern ", f.pattern))
          << "\n  source: " << f.source << "\n";
    }
    out << "\nRun `nodefit vocabulary NAME` for one feature.\n";
    return kExitOk;
  }
  std::vector<Entry> entries;
  entries.reserve(flags.positional.size());
  for (const std::string& name : flags.positional) {
    if (name.empty()) {
      err << "nodefit vocabulary: an empty feature name\n";
      return kExitUsage;
    }
    entries.push_back(Describe(**vocabulary, name));
  }
  if (json) {
    nlohmann::json features = nlohmann::json::array();
    for (const Entry& e : entries) features.push_back(EntryJson(e));
    out << DumpJson({{"features", std::move(features)}}, 2) << "\n";
    return kExitOk;
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) out << "\n";
    PrintEntry(entries[i], out);
  }
  return kExitOk;
}

}  // namespace

Command VocabularyCommand() {
  return Command{
      "vocabulary",
      "what a feature name means: canonical name, aliases, implications",
      "usage: nodefit vocabulary [NAME...] [--json] [--config FILE]\n\n"
      "For each NAME (any spelling: the spelling rule makes it lower case "
      "with '-'\nfor '_', then aliases apply), prints its canonical name, "
      "its family, every\nalias, its weight, what it implies and what "
      "implies it (with distances),\nthe rules of the GPU families (a "
      "driver's CUDA toolkits, compute capability\nminors, PTX), its "
      "archspec name and from edges, and where the facts come\nfrom. A name "
      "nodefit does not know is reported as an opaque feature. Without\na "
      "NAME, lists the families with their features and sources. Check a\n"
      "spelling with it before pushing an index.\n\n"
      "  --json         print one JSON object ({\"features\": [...]} or "
      "{\"families\": [...]})\n"
      "  --config FILE  include the config's implies, aliases, weights and "
      "cuda switch\n                 (default /etc/nodefit/config.json if "
      "present)\n",
      {{"config"}, {"json", false}},
      &RunVocabulary};
}

}  // namespace nodefit
