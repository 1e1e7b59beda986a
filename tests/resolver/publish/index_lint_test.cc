#include "resolver/publish/index_lint.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "resolver/select/index.h"
#include "resolver/select/platform.h"
#include "resolver/select/vocabulary.h"
#include "tests/resolver/publish/index_builders.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using ::nodefit::testing::D;
using ::nodefit::testing::Entry;
using ::nodefit::testing::Index;

LintReport Lint(const std::vector<nlohmann::json>& entries) {
  return LintIndex(Index(entries), Vocabulary::BuiltIn());
}

// The checks that fired, in report order.
std::vector<std::string> Checks(const LintReport& report) {
  std::vector<std::string> checks;
  for (const LintProblem& p : report.problems) checks.push_back(p.check);
  return checks;
}

ParsedIndex SeedIndex() {
  return *ParseIndex(
      testing::LoadSelectionCaseFiles()[0].cases["indexes"]["cv-tf"].dump());
}

TEST(IndexLintTest, UnknownFeatureSuggestsTheNearestName) {
  const LintReport report =
      Lint({Entry(0, "linux/amd64"), Entry(1, "linux/amd64", {"skylak"}),
            Entry(2, "linux/amd64", {"skylake"}),
            Entry(3, "linux/amd64", {"Skylak", "nvidia-396-44"})});
  ASSERT_THAT(Checks(report), ElementsAre("unknown-feature"));
  const LintProblem& p = report.problems[0];
  EXPECT_EQ(p.severity, LintSeverity::kError);
  EXPECT_THAT(p.positions, ElementsAre(1, 3));
  EXPECT_EQ(p.message,
            "platform.features \"skylak\" is not a known feature: no node "
            "ever has it (did you mean \"skylake\"?)");
}

TEST(IndexLintTest, AliasesAndRuleFamiliesAreKnown) {
  const LintReport report =
      Lint({Entry(0, "linux/amd64"), Entry(1, "linux/amd64", {"cpu:broadwell"}),
            Entry(2, "linux/amd64", {"skylake512"}),
            Entry(3, "linux/amd64", {"nvcap-5.2", "nvidia-396.44"}),
            Entry(4, "linux/amd64", {"cuda-12-4"})});
  EXPECT_THAT(Checks(report), IsEmpty()) << LintToText(report);
}

TEST(IndexLintTest, NoSuggestionForAFarSpelling) {
  const LintReport report =
      Lint({Entry(0, "linux/amd64"), Entry(1, "linux/amd64", {"quantum"})});
  ASSERT_THAT(Checks(report), ElementsAre("unknown-feature"));
  EXPECT_THAT(report.problems[0].message, Not(HasSubstr("did you mean")));
}

TEST(IndexLintTest, UnreachableNamesTheWinner) {
  const LintReport report =
      Lint({Entry(0, "linux/amd64"), Entry(1, "linux/amd64", {"skylake"}),
            Entry(2, "linux/amd64", {"skylake", "broadwell"})});
  ASSERT_THAT(Checks(report), ElementsAre("unreachable"));
  const LintProblem& p = report.problems[0];
  EXPECT_EQ(p.severity, LintSeverity::kError);
  EXPECT_THAT(p.positions, ElementsAre(2));
  EXPECT_THAT(
      p.message,
      HasSubstr("on a node with exactly linux/amd64 skylake broadwell"));
  EXPECT_THAT(p.message, HasSubstr("#1 wins (same requirements, earlier)"));
}

TEST(IndexLintTest, UnreachableByWeight) {
  // Two capability minors weigh more than one; a 5.2 node has both.
  const LintReport report =
      Lint({Entry(0, "linux/amd64"),
            Entry(1, "linux/amd64", {"nv-compute-5-0", "nv-compute-5-1"}),
            Entry(2, "linux/amd64", {"nv-compute-5-2"})});
  ASSERT_THAT(Checks(report), ElementsAre("unreachable"));
  EXPECT_THAT(report.problems[0].positions, ElementsAre(2));
  EXPECT_THAT(report.problems[0].message,
              HasSubstr("#1 wins (weighs more: 4 vs 2)"));
}

TEST(IndexLintTest, DuplicatePlainEntriesAreOneUnreachableNotATie) {
  const LintReport report =
      Lint({Entry(0, "linux/amd64"), Entry(1, "linux/amd64"),
            Entry(2, "linux/amd64", {"skylake"})});
  ASSERT_THAT(Checks(report), ElementsAre("unreachable"));
  EXPECT_THAT(report.problems[0].positions, ElementsAre(1));
  EXPECT_THAT(report.problems[0].message,
              HasSubstr("linux/amd64 and no features"));
}

TEST(IndexLintTest, TieOnTheUnionNode) {
  const LintReport report =
      Lint({Entry(0, "linux/amd64"),
            Entry(1, "linux/amd64", {"nv-compute-5-2", "nvidia-396-44"}),
            Entry(2, "linux/amd64", {"nv-compute-3-7", "nvidia-396-44"})});
  ASSERT_THAT(Checks(report), ElementsAre("tie"));
  const LintProblem& p = report.problems[0];
  EXPECT_EQ(p.severity, LintSeverity::kWarning);
  EXPECT_THAT(p.positions, ElementsAre(1, 2));
  EXPECT_THAT(p.message,
              HasSubstr("#1 and #2 score the same on a node with linux/amd64 "
                        "nv-compute-5-2 nvidia-396-44 nv-compute-3-7"));
  EXPECT_THAT(p.message, HasSubstr("the order decides"));
}

TEST(IndexLintTest, NoTieOnANodeWithTwoDrivers) {
  // No node runs two NVIDIA drivers, so these never compete.
  const LintReport report =
      Lint({Entry(0, "linux/amd64"), Entry(1, "linux/amd64", {"nvidia-390-30"}),
            Entry(2, "linux/amd64", {"nvidia-396-44"})});
  EXPECT_THAT(Checks(report), IsEmpty()) << LintToText(report);
}

TEST(IndexLintTest, NoTieOnANodeWithTwoCpus) {
  // westmere and znver3 weigh 1 and imply six features each, but no CPU is
  // both.
  const LintReport report =
      Lint({Entry(0, "linux/amd64"), Entry(1, "linux/amd64", {"westmere"}),
            Entry(2, "linux/amd64", {"znver3"})});
  EXPECT_THAT(Checks(report), IsEmpty()) << LintToText(report);
}

TEST(IndexLintTest, NoTieBetweenDifferentPlatforms) {
  const LintReport report =
      Lint({Entry(0, "linux/amd64"), Entry(1, "linux/arm64"),
            Entry(2, "linux/amd64", {"nvidia-396-44"}),
            Entry(3, "linux/arm64", {"nvidia-396-44"})});
  EXPECT_THAT(Checks(report), IsEmpty()) << LintToText(report);
}

TEST(IndexLintTest, TieWithAConfiguredVocabulary) {
  FeatureRules rules;
  rules.implies["fast-disk"] = {};
  rules.implies["big-memory"] = {};
  absl::StatusOr<std::unique_ptr<const Vocabulary>> vocabulary =
      Vocabulary::Create(rules);
  ASSERT_TRUE(vocabulary.ok()) << vocabulary.status();
  const ParsedIndex index =
      Index({Entry(0, "linux/amd64"), Entry(1, "linux/amd64", {"fast-disk"}),
             Entry(2, "linux/amd64", {"big-memory"})});
  const LintReport report = LintIndex(index, **vocabulary);
  ASSERT_THAT(Checks(report), ElementsAre("tie"));
  EXPECT_THAT(report.problems[0].positions, ElementsAre(1, 2));
  // The built-in vocabulary knows neither.
  EXPECT_THAT(Checks(LintIndex(index, Vocabulary::BuiltIn())),
              ElementsAre("unknown-feature", "unknown-feature"));
}

TEST(IndexLintTest, NoFallbackPerArchitecture) {
  const LintReport report =
      Lint({Entry(0, "linux/amd64", {"skylake"}),
            Entry(1, "linux/arm64", {"neoverse-n1"}), Entry(2, "linux/arm64"),
            Entry(3, "linux/amd64/v3")});
  ASSERT_THAT(Checks(report), ElementsAre("no-fallback"));
  const LintProblem& p = report.problems[0];
  EXPECT_EQ(p.severity, LintSeverity::kWarning);
  EXPECT_THAT(p.positions, ElementsAre(0, 3));
  EXPECT_THAT(p.message, HasSubstr("linux/amd64 node without features"));
}

TEST(IndexLintTest, VariantContradictionBothWays) {
  const LintReport below =
      Lint({Entry(0, "linux/amd64"),
            Entry(1, "linux/amd64/v2", {"skylake-avx512"})});
  ASSERT_THAT(Checks(below), ElementsAre("variant-contradiction"));
  EXPECT_EQ(below.problems[0].severity, LintSeverity::kWarning);
  EXPECT_THAT(below.problems[0].positions, ElementsAre(1));
  EXPECT_THAT(below.problems[0].message,
              HasSubstr("variant v2 is below the level its features imply "
                        "(v4)"));

  const LintReport above = Lint(
      {Entry(0, "linux/amd64"), Entry(1, "linux/amd64/v4", {"broadwell"})});
  ASSERT_THAT(Checks(above), ElementsAre("variant-contradiction"));
  EXPECT_THAT(above.problems[0].positions, ElementsAre(1));
  EXPECT_THAT(above.problems[0].message, HasSubstr("(v3)"));
}

TEST(IndexLintTest, ConsistentOrSilentVariantsAreFine) {
  const LintReport report = Lint(
      {Entry(0, "linux/amd64"), Entry(1, "linux/amd64/v3", {"broadwell"}),
       Entry(2, "linux/amd64/v3", {"nvidia-396-44"}),
       Entry(3, "linux/arm64/v8.2", {"neoverse-n1"}), Entry(4, "linux/arm64")});
  EXPECT_THAT(Checks(report), IsEmpty()) << LintToText(report);
}

TEST(IndexLintTest, FeaturesOnNonImageEntries) {
  nlohmann::json attestation = Entry(2, "linux/amd64", {"skylake"});
  attestation["platform"]["os"] = "unknown";
  attestation["platform"]["architecture"] = "unknown";
  attestation["annotations"] = {
      {"vnd.docker.reference.type", "attestation-manifest"}};
  nlohmann::json nested = Entry(3, "linux/amd64", {"broadwell"});
  nested["mediaType"] = std::string(kOciIndexType);
  const LintReport report =
      Lint({Entry(0, "linux/amd64"), Entry(1, "linux/amd64", {"skylake"}),
            attestation, nested});
  ASSERT_THAT(Checks(report),
              ElementsAre("features-on-non-image", "features-on-non-image"));
  EXPECT_EQ(report.problems[0].severity, LintSeverity::kError);
  EXPECT_THAT(report.problems[0].positions, ElementsAre(2));
  EXPECT_THAT(report.problems[0].message, HasSubstr("an attestation"));
  EXPECT_THAT(report.problems[1].positions, ElementsAre(3));
  EXPECT_THAT(report.problems[1].message, HasSubstr("not an image manifest"));
}

TEST(IndexLintTest, OsFeatures) {
  nlohmann::json with_os = Entry(1, "linux/amd64");
  with_os["platform"]["os.features"] = {"x86-64-v2"};
  const LintReport report = Lint({Entry(0, "linux/amd64"), with_os});
  ASSERT_THAT(Checks(report), ElementsAre("os-features"));
  EXPECT_EQ(report.problems[0].severity, LintSeverity::kError);
  EXPECT_THAT(report.problems[0].positions, ElementsAre(1));
  EXPECT_THAT(report.problems[0].message, HasSubstr("containerd 2.3+"));
}

TEST(IndexLintTest, IndexWithoutFeatureDataOnlyChecksNonSelectionThings) {
  // Duplicates are containerd's business when nothing carries features.
  EXPECT_THAT(Checks(Lint({Entry(0, "linux/amd64"), Entry(1, "linux/amd64"),
                           Entry(2, "linux/arm64")})),
              IsEmpty());
}

TEST(IndexLintTest, SeedIndexAsPublished) {
  // #8 (M60, 5.2) and #9 (K80, 3.7) fit a node with both GPUs equally well
  // (nodefit's NVIDIA detection reports every distinct capability), and
  // then only their order picks #8.
  const LintReport report = LintIndex(SeedIndex(), Vocabulary::BuiltIn());
  ASSERT_THAT(Checks(report), ElementsAre("tie")) << LintToText(report);
  EXPECT_THAT(report.problems[0].positions, ElementsAre(8, 9));
  EXPECT_EQ(report.ExitCode(), 1);
}

TEST(IndexLintTest, CorrectedSeedIndexIsClean) {
  // The correction: a build for nodes with both GPUs (cubins for 3.7 and
  // 5.2), which outweighs #8 and #9 on such a node, so no order decides.
  nlohmann::json doc =
      testing::LoadSelectionCaseFiles()[0].cases["indexes"]["cv-tf"];
  nlohmann::json both = doc["manifests"][9];
  both["digest"] = D(11);
  both["platform"]["features"] = {"nv-compute-3-7", "nv-compute-5-2",
                                  "nvidia-396-44"};
  doc["manifests"].push_back(both);
  const LintReport report =
      LintIndex(*ParseIndex(doc.dump()), Vocabulary::BuiltIn());
  EXPECT_THAT(Checks(report), IsEmpty()) << LintToText(report);
  EXPECT_EQ(report.ExitCode(), 0);
}

TEST(IndexLintTest, WorkIsBoundedAndWhatIsLeftIsSaid) {
  // 200 entries with features of equal weight and specificity: 19900 pairs,
  // every one a tie, each costing a selection over 201 entries: more than
  // the work bound allows.
  FeatureRules rules;
  std::vector<nlohmann::json> entries = {Entry(0, "linux/amd64")};
  for (int i = 1; i <= 200; ++i) {
    const std::string feature = "flag-" + std::to_string(i);
    rules.implies[feature] = {};
    entries.push_back(Entry(i, "linux/amd64", {feature}));
  }
  absl::StatusOr<std::unique_ptr<const Vocabulary>> vocabulary =
      Vocabulary::Create(rules);
  ASSERT_TRUE(vocabulary.ok()) << vocabulary.status();
  const LintReport report = LintIndex(Index(entries), **vocabulary);
  ASSERT_GT(report.problems.size(), 1000u);
  EXPECT_LT(report.problems.size(), 19900u);
  for (size_t i = 0; i + 1 < report.problems.size(); ++i) {
    ASSERT_EQ(report.problems[i].check, "tie");
  }
  const LintProblem& note = report.problems.back();
  EXPECT_EQ(note.check, "incomplete");
  EXPECT_EQ(note.severity, LintSeverity::kWarning);
  EXPECT_THAT(note.positions, IsEmpty());
  EXPECT_THAT(note.message, HasSubstr("pairs for ties"));
  EXPECT_THAT(note.message, Not(HasSubstr("reachability")));
}

TEST(IndexLintTest, ExitCodes) {
  EXPECT_EQ(LintReport{}.ExitCode(), 0);
  LintReport warnings;
  warnings.problems.push_back({LintSeverity::kWarning, "tie", {1, 2}, "x"});
  EXPECT_EQ(warnings.ExitCode(), 1);
  LintReport errors = warnings;
  errors.problems.push_back({LintSeverity::kError, "unreachable", {3}, "y"});
  EXPECT_EQ(errors.ExitCode(), 2);
}

TEST(IndexLintTest, ProblemsAreOrderedByPositionThenCheck) {
  nlohmann::json with_os = Entry(0, "linux/amd64", {"skylake"});
  with_os["platform"]["os.features"] = {"x86-64-v2"};
  const LintReport report =
      Lint({with_os, Entry(1, "linux/amd64", {"skylak"})});
  EXPECT_THAT(Checks(report),
              ElementsAre("no-fallback", "os-features", "unknown-feature"));
  EXPECT_THAT(report.problems[0].positions, ElementsAre(0, 1));
}

TEST(IndexLintTest, Text) {
  EXPECT_EQ(LintToText(LintReport{}), "no problems\n");
  LintReport report;
  report.problems.push_back(
      {LintSeverity::kError, "unknown-feature", {3}, "bad"});
  report.problems.push_back({LintSeverity::kWarning, "tie", {3, 5}, "same"});
  EXPECT_EQ(LintToText(report),
            "error unknown-feature #3: bad\n"
            "warning tie #3 #5: same\n"
            "1 error, 1 warning\n");
}

TEST(IndexLintTest, JsonShape) {
  const LintReport report =
      Lint({Entry(0, "linux/amd64"), Entry(1, "linux/amd64", {"skylak"}),
            Entry(2, "linux/amd64", {"nvidia-396-44", "nv-compute-5-2"}),
            Entry(3, "linux/amd64", {"nvidia-396-44", "nv-compute-3-7"})});
  const nlohmann::json j = LintToJson(report);
  EXPECT_EQ(j["errors"], 1);
  EXPECT_EQ(j["warnings"], 1);
  EXPECT_EQ(j["exit_code"], 2);
  ASSERT_EQ(j["problems"].size(), 2u);
  EXPECT_EQ(j["problems"][0]["severity"], "error");
  EXPECT_EQ(j["problems"][0]["check"], "unknown-feature");
  EXPECT_EQ(j["problems"][0]["positions"], nlohmann::json({1}));
  EXPECT_TRUE(j["problems"][0]["message"].is_string());
  EXPECT_EQ(j["problems"][1]["severity"], "warning");
  EXPECT_EQ(j["problems"][1]["positions"], nlohmann::json({2, 3}));
}

}  // namespace
}  // namespace nodefit
