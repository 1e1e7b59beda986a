#include "resolver/select/selector.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "resolver/select/report.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string D(int n) {
  std::string hex = std::to_string(n);
  return "sha256:" + std::string(64 - hex.size(), '0') + hex;
}

nlohmann::json Entry(int n, const std::string& platform,
                     const std::vector<std::string>& features = {}) {
  const PlatformSpec spec = *ParsePlatformSpec(platform);
  nlohmann::json p = {{"os", spec.platform.os},
                      {"architecture", spec.platform.architecture}};
  if (platform.find('/', platform.find('/') + 1) != std::string::npos) {
    p["variant"] = spec.platform.variant;
  }
  if (!features.empty()) p["features"] = features;
  return {{"mediaType", std::string(kOciManifestType)},
          {"digest", D(n)},
          {"size", 100 + n},
          {"platform", p}};
}

ParsedIndex Index(std::vector<nlohmann::json> entries) {
  nlohmann::json doc = {{"schemaVersion", 2},
                        {"mediaType", std::string(kOciIndexType)},
                        {"manifests", entries}};
  absl::StatusOr<ParsedIndex> index = ParseIndex(doc.dump());
  EXPECT_TRUE(index.ok()) << index.status();
  return *std::move(index);
}

std::unique_ptr<const Selector> MakeSelector(
    const std::string& node, NoMatchPolicy policy = NoMatchPolicy::kFail,
    const FeatureRules& rules = {}) {
  const PlatformSpec spec = *ParsePlatformSpec(node);
  absl::StatusOr<std::unique_ptr<const Selector>> s = Selector::Create(
      NodeProfile{spec.platform, spec.features}, rules, policy);
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

TEST(SelectorTest, NoFeatureDataIsPassthrough) {
  Selection s = MakeSelector("linux/amd64:skylake")
                    ->Select(Index(
                        {Entry(0, "linux/amd64"), Entry(1, "linux/arm64/v8")}));
  EXPECT_EQ(s.outcome, Outcome::kPassthrough);
  EXPECT_EQ(s.chosen, -1);
  EXPECT_THAT(s.reason, HasSubstr("no entry carries features"));
}

TEST(SelectorTest, SingleManifestIsPassthrough) {
  ParsedIndex manifest;
  manifest.kind = DocumentKind::kManifest;
  Selection s = MakeSelector("linux/amd64")->Select(manifest);
  EXPECT_EQ(s.outcome, Outcome::kPassthrough);
  EXPECT_THAT(s.reason, HasSubstr("single image manifest"));
}

TEST(SelectorTest, RequirementsAreReducedToIndependentMembers) {
  Selection s = MakeSelector("linux/amd64:skylake")
                    ->Select(Index({Entry(0, "linux/amd64/v3",
                                          {"broadwell", "skylake", "x"})}));
  ASSERT_EQ(s.candidates.size(), 1u);
  std::vector<std::string> names;
  for (const Requirement& r : s.candidates[0].requirements) {
    names.push_back(r.feature);
  }
  EXPECT_THAT(names, ElementsAre("skylake", "x"));
  EXPECT_THAT(s.candidates[0].missing, ElementsAre("x"));
  EXPECT_EQ(s.outcome, Outcome::kNoMatch);
}

TEST(SelectorTest, ScoreOrder) {
  // Weight first: one GPU feature (2) beats a CPU feature (1).
  Selection weight =
      MakeSelector("linux/amd64:skylake:nvidia-1-2")
          ->Select(Index({Entry(0, "linux/amd64", {"skylake"}),
                          Entry(1, "linux/amd64", {"nvidia-1-2"})}));
  EXPECT_EQ(weight.chosen, 1);
  // Then specificity: skylake's closure is larger than broadwell's.
  Selection specific =
      MakeSelector("linux/amd64:skylake")
          ->Select(Index({Entry(0, "linux/amd64", {"broadwell"}),
                          Entry(1, "linux/amd64", {"skylake"})}));
  EXPECT_EQ(specific.chosen, 1);
  // Then distance: both one feature with equal closures (config-made), the
  // node's own feature beats an implied one.
  FeatureRules rules;
  rules.implies["a"] = {"b"};
  rules.implies["b"] = {"base"};
  rules.implies["c"] = {"base"};
  Selection distance =
      MakeSelector("linux/amd64:a:c", NoMatchPolicy::kFail, rules)
          ->Select(Index({Entry(0, "linux/amd64", {"b"}),
                          Entry(1, "linux/amd64", {"c"})}));
  EXPECT_EQ(distance.candidates[0].score.specificity,
            distance.candidates[1].score.specificity);
  EXPECT_EQ(distance.chosen, 1);
  // Then position.
  Selection position =
      MakeSelector("linux/amd64:skylake")
          ->Select(Index({Entry(0, "linux/amd64"),
                          Entry(1, "linux/amd64", {"skylake"}),
                          Entry(2, "linux/amd64", {"skylake"})}));
  EXPECT_EQ(position.chosen, 1);
  EXPECT_THAT(position.candidates[2].reason, HasSubstr("same score as #1"));
}

TEST(SelectorTest, NoMatchPolicies) {
  ParsedIndex index = Index({Entry(0, "linux/amd64", {"skylake-avx512"})});
  Selection fail = MakeSelector("linux/amd64:broadwell")->Select(index);
  EXPECT_EQ(fail.outcome, Outcome::kNoMatch);
  EXPECT_THAT(fail.candidates[0].reason, HasSubstr("lacks skylake-avx512"));
  Selection pass =
      MakeSelector("linux/amd64:broadwell", NoMatchPolicy::kPassthrough)
          ->Select(index);
  EXPECT_EQ(pass.outcome, Outcome::kPassthrough);
  EXPECT_THAT(pass.reason, HasSubstr("policy passthrough"));
}

TEST(SelectorTest, WrongPlatformIsNamed) {
  Selection s = MakeSelector("linux/arm64")
                    ->Select(Index({Entry(0, "linux/amd64", {"skylake"})}));
  EXPECT_EQ(s.outcome, Outcome::kNoMatch);
  EXPECT_THAT(s.candidates[0].reason,
              HasSubstr("platform linux/amd64 does not run on linux/arm64"));
}

TEST(SelectorTest, OsFeaturesAndEntriesWithoutPlatform) {
  nlohmann::json with_os = Entry(0, "linux/amd64");
  with_os["platform"]["os.features"] = {"win32k"};
  nlohmann::json bare = Entry(1, "linux/amd64");
  bare.erase("platform");
  ParsedIndex index = Index({with_os, bare});
  Selection without = MakeSelector("linux/amd64")->Select(index);
  EXPECT_EQ(without.chosen, 1);
  Selection with = MakeSelector("linux/amd64:win32k")->Select(index);
  EXPECT_EQ(with.chosen, 0);
}

TEST(SelectorTest, NonImageEntriesAreNotCandidates) {
  nlohmann::json nested = Entry(0, "linux/amd64", {"skylake"});
  nested["mediaType"] = std::string(kOciIndexType);
  Selection s = MakeSelector("linux/amd64:skylake")
                    ->Select(Index({nested, Entry(1, "linux/amd64")}));
  EXPECT_FALSE(s.candidates[0].runnable);
  EXPECT_EQ(s.outcome, Outcome::kPassthrough);  // no candidate has features
}

TEST(ReportTest, JsonShape) {
  std::unique_ptr<const Selector> selector =
      MakeSelector("linux/amd64:broadwell");
  Selection s = selector->Select(Index(
      {Entry(0, "linux/amd64"), Entry(1, "linux/amd64", {"cpu:broadwell"}),
       Entry(2, "linux/amd64", {"skylake"})}));
  nlohmann::json j = SelectionToJson(s, selector->node());
  EXPECT_EQ(j["outcome"], "selected");
  EXPECT_EQ(j["chosen"]["position"], 1);
  EXPECT_EQ(j["chosen"]["digest"], D(1));
  EXPECT_EQ(j["chosen"]["mediaType"], std::string(kOciManifestType));
  EXPECT_EQ(j["chosen"]["size"], 101);
  EXPECT_EQ(j["node"]["platform"], "linux/amd64/v3");
  EXPECT_EQ(j["node"]["features"], nlohmann::json({"broadwell"}));
  ASSERT_EQ(j["candidates"].size(), 3u);
  const nlohmann::json& c1 = j["candidates"][1];
  EXPECT_EQ(c1["requirements"], nlohmann::json({"broadwell"}));
  EXPECT_EQ(c1["missing"], nlohmann::json::array());
  EXPECT_EQ(c1["eligible"], true);
  EXPECT_EQ(c1["platform"], "linux/amd64");
  EXPECT_EQ(c1["score"]["weight"], 1);
  const nlohmann::json& c2 = j["candidates"][2];
  EXPECT_EQ(c2["missing"], nlohmann::json({"skylake"}));
  EXPECT_EQ(c2["eligible"], false);
  EXPECT_TRUE(c2["score"].is_null());
  EXPECT_EQ(c2["reason"], "lacks skylake");
}

TEST(ReportTest, TextAndNoMatchMessage) {
  std::unique_ptr<const Selector> selector =
      MakeSelector("linux/amd64:broadwell");
  Selection s =
      selector->Select(Index({Entry(0, "linux/amd64", {"skylake-avx512"}),
                              Entry(1, "linux/amd64", {"skylake"})}));
  const std::string text = SelectionToText(s, selector->node());
  EXPECT_THAT(text, HasSubstr("✗skylake-avx512"));
  EXPECT_THAT(text, HasSubstr("no match: no build fits node"));
  const std::string message =
      NoMatchMessage("127.0.0.1:5000/cv/tf:latest", s, selector->node());
  EXPECT_THAT(message,
              HasSubstr("no build of 127.0.0.1:5000/cv/tf:latest fits node "
                        "linux/amd64/v3 with features [broadwell]"));
  EXPECT_THAT(message,
              HasSubstr("#0 sha256:000000000000 lacks skylake-avx512"));
  EXPECT_THAT(message, HasSubstr("#1 sha256:000000000000 lacks skylake"));
}

}  // namespace
}  // namespace nodefit
