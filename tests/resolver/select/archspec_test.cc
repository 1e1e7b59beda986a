// nodefit's archspec table against archspec-json's microarchitectures.json
// (tests/data/archspec/, with its origin and license): the same names and
// "from" lists, every name a known feature, every edge in the closure or
// explained. A later archspec release is checked by replacing the JSON.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "resolver/base/file_util.h"
#include "resolver/base/json_util.h"
#include "resolver/select/builtin_features.h"
#include "resolver/select/vocabulary.h"

namespace nodefit {
namespace {

// archspec name -> its "from" list, as the JSON has it.
std::map<std::string, std::vector<std::string>> JsonTargets() {
  const std::string path = absl::StrCat(
      NODEFIT_FIXTURES_DIR, "/../data/archspec/microarchitectures.json");
  absl::StatusOr<std::string> text = ReadFileToString(path, 4 << 20);
  EXPECT_TRUE(text.ok()) << text.status();
  if (!text.ok()) return {};
  absl::StatusOr<nlohmann::json> doc = ParseJson(*text, path);
  EXPECT_TRUE(doc.ok()) << doc.status();
  if (!doc.ok()) return {};
  std::map<std::string, std::vector<std::string>> out;
  const nlohmann::json& targets = (*doc)["microarchitectures"];
  EXPECT_TRUE(targets.is_object());
  for (const auto& [name, target] : targets.items()) {
    std::vector<std::string>& from = out[name];
    for (const nlohmann::json& parent : target["from"]) {
      from.push_back(parent.get<std::string>());
    }
  }
  return out;
}

std::map<std::string, const ArchspecTarget*> TableTargets() {
  std::map<std::string, const ArchspecTarget*> out;
  for (const ArchspecTarget& t : ArchspecTargets()) {
    EXPECT_TRUE(out.emplace(std::string(t.name), &t).second)
        << t.name << " is listed twice";
  }
  return out;
}

TEST(ArchspecTest, TheTableHasEveryNameOfTheJsonAndNoOther) {
  const auto json = JsonTargets();
  const auto table = TableTargets();
  ASSERT_GT(json.size(), 70u);  // the release in tests/data has 79
  std::vector<std::string> missing, extra;
  for (const auto& [name, from] : json) {
    if (table.count(name) == 0) missing.push_back(name);
  }
  for (const auto& [name, target] : table) {
    if (json.count(name) == 0) extra.push_back(name);
  }
  EXPECT_TRUE(missing.empty()) << "in archspec, not in ArchspecTargets(): "
                               << absl::StrJoin(missing, ", ");
  EXPECT_TRUE(extra.empty()) << "in ArchspecTargets(), not in archspec: "
                             << absl::StrJoin(extra, ", ");
}

TEST(ArchspecTest, TheTableHasArchspecsFromListsVerbatim) {
  const auto json = JsonTargets();
  for (const auto& [name, target] : TableTargets()) {
    auto it = json.find(name);
    if (it == json.end()) continue;  // reported by the test above
    std::vector<std::string> ours(target->from.begin(), target->from.end());
    std::vector<std::string> theirs = it->second;
    std::sort(ours.begin(), ours.end());
    std::sort(theirs.begin(), theirs.end());
    EXPECT_EQ(ours, theirs)
        << name << ": from [" << absl::StrJoin(ours, ", ") << "] here, ["
        << absl::StrJoin(theirs, ", ") << "] in archspec";
  }
}

TEST(ArchspecTest, EveryArchspecNameResolvesToAKnownFeature) {
  const Vocabulary& v = Vocabulary::BuiltIn();
  for (const auto& [name, from] : JsonTargets()) {
    const std::string canonical = v.Canonical(name);
    EXPECT_NE(v.Find(canonical), Vocabulary::kUnknown)
        << name << " resolves to " << canonical << ", unknown to the graph";
    auto table = TableTargets();
    if (auto it = table.find(name); it != table.end()) {
      EXPECT_EQ(canonical, it->second->canonical) << name;
    }
    // Spelled in capitals too: the spelling rule applies to every name.
    std::string upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    EXPECT_EQ(v.Canonical(upper), canonical) << upper;
  }
}

TEST(ArchspecTest, EveryFromEdgeHoldsOrIsListedWithItsReason) {
  const Vocabulary& v = Vocabulary::BuiltIn();
  std::set<std::pair<std::string, std::string>> listed;
  for (const ArchspecDisagreement& d : ArchspecDisagreements()) {
    EXPECT_FALSE(d.reason.empty()) << d.child << " -> " << d.parent;
    listed.emplace(d.child, d.parent);
  }
  std::set<std::pair<std::string, std::string>> edges;
  for (const auto& [child, parents] : JsonTargets()) {
    for (const std::string& parent : parents) {
      edges.emplace(child, parent);
      const Vocabulary::FeatureId a = v.Find(v.Canonical(child));
      const Vocabulary::FeatureId b = v.Find(v.Canonical(parent));
      ASSERT_NE(a, Vocabulary::kUnknown) << child;
      ASSERT_NE(b, Vocabulary::kUnknown) << parent;
      const bool holds = v.Implies(a, b);
      const bool explained = listed.count({child, parent}) > 0;
      EXPECT_TRUE(holds || explained)
          << "archspec: " << child << " from " << parent << " ("
          << v.Canonical(child) << " => " << v.Canonical(parent)
          << ") holds in neither nodefit's closure nor "
             "ArchspecDisagreements()";
      // A listed disagreement that nodefit's closure holds after all is
      // stale: the list must say only what is true.
      EXPECT_FALSE(holds && explained)
          << child << " from " << parent
          << " is listed as a disagreement but holds";
    }
  }
  for (const auto& edge : listed) {
    EXPECT_EQ(edges.count(edge), 1u)
        << edge.first << " from " << edge.second << " is not archspec's edge";
  }
}

// The disagreement as a fact of the graph: GCC's masks, not archspec.
TEST(ArchspecTest, IcelakeClientDoesNotImplyCascadelake) {
  const Vocabulary& v = Vocabulary::BuiltIn();
  EXPECT_FALSE(v.Implies(v.Find("icelake-client"), v.Find("cascadelake")));
  EXPECT_TRUE(v.Implies(v.Find("icelake-client"), v.Find("cannonlake")));
  EXPECT_TRUE(v.Implies(v.Find("icelake-server"), v.Find("cascadelake")));
}

}  // namespace
}  // namespace nodefit
