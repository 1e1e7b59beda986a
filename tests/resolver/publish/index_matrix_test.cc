#include "resolver/publish/index_matrix.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "resolver/select/platform.h"
#include "tests/resolver/publish/index_builders.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

using ::nodefit::testing::D;
using ::nodefit::testing::Entry;
using ::nodefit::testing::Index;

MatrixProfile Profile(const std::string& name, const std::string& spec) {
  const PlatformSpec parsed = *ParsePlatformSpec(spec);
  return {name, NodeProfile{parsed.platform, parsed.features}};
}

Matrix Build(const ParsedIndex& index,
             const std::vector<MatrixProfile>& profiles) {
  absl::StatusOr<Matrix> matrix =
      BuildMatrix(index, profiles, FeatureRules{}, NoMatchPolicy::kFail);
  EXPECT_TRUE(matrix.ok()) << matrix.status();
  return *std::move(matrix);
}

// #0 generic, #1 skylake, #2 broadwell; three profiles getting #0, #1, #2.
Matrix SmallMatrix() {
  return Build(
      Index({Entry(0, "linux/amd64"), Entry(1, "linux/amd64", {"skylake"}),
             Entry(2, "linux/amd64", {"broadwell"})}),
      {Profile("plain", "linux/amd64"),
       Profile("sky | lake", "linux/amd64:skylake"),
       Profile("broadwell box", "linux/amd64:broadwell")});
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

TEST(IndexMatrixTest, SeedCasesOnTheSeedIndex) {
  int checked = 0;
  for (const testing::SelectionCaseFile& file :
       testing::LoadSelectionCaseFiles()) {
    const nlohmann::json& cases = file.cases;
    if (!cases["indexes"].contains("cv-tf")) continue;
    const ParsedIndex index = *ParseIndex(cases["indexes"]["cv-tf"].dump());
    std::vector<MatrixProfile> profiles;
    std::vector<nlohmann::json> expected;
    for (const nlohmann::json& c : cases["cases"]) {
      if (c.value("index", "") != "cv-tf") continue;
      profiles.push_back(
          Profile(c["name"].get<std::string>(), c["node"].get<std::string>()));
      expected.push_back(c["expect"]);
    }
    const Matrix matrix = Build(index, profiles);
    ASSERT_EQ(matrix.rows.size(), profiles.size());
    for (size_t i = 0; i < profiles.size(); ++i) {
      const Selection& s = matrix.rows[i].selection;
      if (expected[i].contains("entry")) {
        EXPECT_EQ(s.chosen, expected[i]["entry"].get<int>())
            << profiles[i].name;
      } else {
        EXPECT_EQ(expected[i]["error"], "no_match");
        EXPECT_EQ(s.outcome, Outcome::kNoMatch) << profiles[i].name;
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 11);
}

TEST(IndexMatrixTest, BuiltInProfilesUseKnownSpellings) {
  const std::vector<MatrixProfile> profiles = BuiltInMatrixProfiles();
  EXPECT_GE(profiles.size(), 18u);
  const Vocabulary& vocabulary = Vocabulary::BuiltIn();
  std::set<std::string> names;
  for (const MatrixProfile& p : profiles) {
    EXPECT_TRUE(names.insert(p.name).second) << "duplicate " << p.name;
    EXPECT_TRUE(ParsePlatform(p.node.platform.String()).ok()) << p.name;
    for (const std::string& f : p.node.features) {
      EXPECT_EQ(vocabulary.Canonical(f), f) << p.name;
      EXPECT_TRUE(vocabulary.Find(f) != Vocabulary::kUnknown ||
                  vocabulary.FamilyOf(f) != nullptr)
          << p.name << ": " << f;
    }
  }
}

TEST(IndexMatrixTest, BuiltInGpuProfileGetsTheSeedBuild) {
  const ParsedIndex index = *ParseIndex(
      testing::LoadSelectionCaseFiles()[0].cases["indexes"]["cv-tf"].dump());
  const Matrix matrix = Build(index, BuiltInMatrixProfiles());
  for (const MatrixRow& row : matrix.rows) {
    if (row.profile.name == "Broadwell + Tesla M60 (5.2) + driver 396.44") {
      EXPECT_EQ(row.selection.chosen, 10);
      return;
    }
  }
  FAIL() << "no M60 profile";
}

TEST(IndexMatrixTest, ParseProfileList) {
  const absl::StatusOr<std::vector<MatrixProfile>> profiles =
      ParseMatrixProfiles(
          "# nodes we run\n"
          "\n"
          "M60 box = linux/amd64:broadwell:nv-compute-5-2:nvidia-396-44\n"
          "  linux/arm64:neoverse-n1   # Graviton2\n",
          "profiles.txt", NfdConfig{}, Platform{"linux", "amd64", "v1"});
  ASSERT_TRUE(profiles.ok()) << profiles.status();
  ASSERT_EQ(profiles->size(), 2u);
  EXPECT_EQ((*profiles)[0].name, "M60 box");
  EXPECT_EQ((*profiles)[0].node.platform.String(), "linux/amd64");
  EXPECT_THAT((*profiles)[0].node.features,
              ElementsAre("broadwell", "nv-compute-5-2", "nvidia-396-44"));
  EXPECT_EQ((*profiles)[1].name, "linux/arm64:neoverse-n1");
  EXPECT_EQ((*profiles)[1].node.platform.architecture, "arm64");
  EXPECT_THAT((*profiles)[1].node.features, ElementsAre("neoverse-n1"));
}

TEST(IndexMatrixTest, ParseNfdFile) {
  NfdConfig nfd;
  nfd.map["vendor.io/gpu=m60"] = "nv-compute-5-2";
  const absl::StatusOr<std::vector<MatrixProfile>> profiles =
      ParseMatrixProfiles(
          "# +expiry-time=2030-01-01T00:00:00Z\n"
          "nodefit-broadwell\n"
          "vendor.io/gpu=m60\n"
          "other-tool-label=1\n",
          "node-a.features", nfd, Platform{"linux", "amd64", "v1"});
  ASSERT_TRUE(profiles.ok()) << profiles.status();
  ASSERT_EQ(profiles->size(), 1u);
  EXPECT_EQ((*profiles)[0].name, "node-a.features");
  EXPECT_EQ((*profiles)[0].node.platform.String(), "linux/amd64");
  EXPECT_THAT((*profiles)[0].node.features,
              ElementsAre("broadwell", "nv-compute-5-2"));
}

TEST(IndexMatrixTest, BadLineIsNamed) {
  const absl::StatusOr<std::vector<MatrixProfile>> profiles =
      ParseMatrixProfiles(
          "linux/amd64\n"
          "# comment\n"
          "bad = linux/amd64/v3/extra\n",
          "profiles.txt", NfdConfig{}, Platform{"linux", "amd64", "v1"});
  ASSERT_FALSE(profiles.ok());
  EXPECT_EQ(profiles.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(profiles.status().message(),
              HasSubstr("profiles.txt:3: invalid platform "
                        "\"linux/amd64/v3/extra\""));
}

TEST(IndexMatrixTest, BadRulesAreInvalidArgument) {
  FeatureRules rules;
  rules.implies["a"] = {"b"};
  rules.implies["b"] = {"a"};
  const absl::StatusOr<Matrix> matrix =
      BuildMatrix(Index({Entry(0, "linux/amd64")}),
                  {Profile("p", "linux/amd64")}, rules, NoMatchPolicy::kFail);
  ASSERT_FALSE(matrix.ok());
  EXPECT_EQ(matrix.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IndexMatrixTest, EntryLabels) {
  nlohmann::json attestation = Entry(2, "linux/amd64");
  attestation["platform"] = {{"os", "unknown"}, {"architecture", "unknown"}};
  const ParsedIndex index = Index(
      {Entry(0, "linux/amd64"),
       Entry(1, "linux/amd64", {"broadwell", "nvidia-396-44"}), attestation});
  EXPECT_EQ(EntryLabel(index.entries[0]), "#0 linux/amd64 (no features)");
  EXPECT_EQ(EntryLabel(index.entries[1]),
            "#1 linux/amd64 broadwell nvidia-396-44");
  EXPECT_EQ(EntryLabel(index.entries[2]), "#2 unknown/unknown (attestation)");
}

TEST(IndexMatrixTest, Text) {
  const std::string text = MatrixToText(SmallMatrix());
  const std::vector<std::string> lines = absl::StrSplit(text, '\n');
  ASSERT_GE(lines.size(), 4u);
  EXPECT_EQ(lines[0], "PROFILE        GETS");
  EXPECT_EQ(lines[1], "plain          #0 linux/amd64 (no features)");
  EXPECT_EQ(lines[2], "    #1 linux/amd64 skylake: lacks skylake");
  EXPECT_THAT(text, HasSubstr("sky | lake     #1 linux/amd64 skylake\n"));
  EXPECT_THAT(text, HasSubstr("broadwell box  #2 linux/amd64 broadwell\n"));
  EXPECT_THAT(text, HasSubstr("    #0 linux/amd64 (no features): fits; lower "
                              "score than #1"));
}

TEST(IndexMatrixTest, TextNamesNoMatch) {
  const Matrix matrix = Build(Index({Entry(0, "linux/amd64", {"skylake"})}),
                              {Profile("arm", "linux/arm64")});
  EXPECT_THAT(MatrixToText(matrix),
              HasSubstr("arm      no_match: no build fits"));
}

TEST(IndexMatrixTest, JsonShape) {
  const nlohmann::json j = MatrixToJson(SmallMatrix());
  ASSERT_EQ(j["entries"].size(), 3u);
  EXPECT_EQ(j["entries"][1]["position"], 1);
  EXPECT_EQ(j["entries"][1]["digest"], D(1));
  EXPECT_EQ(j["entries"][1]["platform"], "linux/amd64");
  EXPECT_EQ(j["entries"][1]["features"], nlohmann::json({"skylake"}));
  EXPECT_EQ(j["entries"][1]["label"], "#1 linux/amd64 skylake");
  ASSERT_EQ(j["rows"].size(), 3u);
  const nlohmann::json& row = j["rows"][1];
  EXPECT_EQ(row["profile"], "sky | lake");
  EXPECT_EQ(row["platform"], "linux/amd64");
  EXPECT_EQ(row["features"], nlohmann::json({"skylake"}));
  EXPECT_EQ(row["outcome"], "selected");
  EXPECT_EQ(row["chosen"], 1);
  EXPECT_EQ(row["reason"], "best fit");
  ASSERT_EQ(row["candidates"].size(), 3u);
  EXPECT_EQ(row["candidates"][0]["position"], 0);
  EXPECT_EQ(row["candidates"][0]["eligible"], true);
  EXPECT_EQ(row["candidates"][2]["reason"], "fits; lower score than #1");

  const Matrix none = Build(Index({Entry(0, "linux/amd64", {"skylake"})}),
                            {Profile("arm", "linux/arm64")});
  EXPECT_TRUE(MatrixToJson(none)["rows"][0]["chosen"].is_null());
  EXPECT_EQ(MatrixToJson(none)["rows"][0]["outcome"], "no_match");
}

TEST(IndexMatrixTest, Markdown) {
  const std::string md = MatrixToMarkdown(SmallMatrix());
  const std::vector<std::string> lines = absl::StrSplit(md, '\n');
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[0], "| profile | #0 | #1 | #2 | gets |");
  // One row per profile, the ✔ in the column of the entry it gets.
  const std::vector<std::pair<std::string, int>> rows = {
      {"plain", 0}, {"sky \\| lake", 1}, {"broadwell box", 2}};
  for (size_t r = 0; r < rows.size(); ++r) {
    const std::string& line = lines[2 + r];
    EXPECT_EQ(line.rfind("| " + rows[r].first + " |", 0), 0u) << line;
    // Split on the unescaped bars: drop the escaped one first.
    std::string plain = line;
    for (size_t at = plain.find("\\|"); at != std::string::npos;
         at = plain.find("\\|")) {
      plain.replace(at, 2, "/");
    }
    const std::vector<std::string> cells = absl::StrSplit(plain, '|');
    // "", profile, #0, #1, #2, gets, "".
    ASSERT_EQ(cells.size(), 7u) << line;
    for (int e = 0; e < 3; ++e) {
      EXPECT_EQ(cells[2 + e].find("**✔**") != std::string::npos,
                e == rows[r].second)
          << line;
    }
  }
  EXPECT_EQ(Count(md, "**✔**"), 3u + 1u);  // three rows and the key
  EXPECT_THAT(md, HasSubstr("#0 linux/amd64 (no features); #1 linux/amd64 "
                            "skylake; #2 linux/amd64 broadwell"));
}

TEST(IndexMatrixTest, HtmlStructure) {
  const std::string html = MatrixToHtml(SmallMatrix(), "cv-tf builds");
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_THAT(html, HasSubstr("<meta charset=\"utf-8\">"));
  EXPECT_THAT(html, HasSubstr("<style>"));
  EXPECT_THAT(html, HasSubstr("<title>cv-tf builds</title>"));
  EXPECT_THAT(html, HasSubstr("<table class=\"matrix\">"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("http")));
  EXPECT_EQ(Count(html, "<th class=\"entry\""), 3u);
  EXPECT_THAT(html, HasSubstr("<th class=\"entry\" title=\"" + D(1) +
                              "\">#1<br>linux/amd64<br>skylake</th>"));
  EXPECT_EQ(Count(html, "<tr class=\"profile\">"), 3u);
  EXPECT_EQ(Count(html, "<td class=\"winner\""), 3u);
  // In each profile row the winner sits in the column of its entry.
  const std::vector<int> winners = {0, 1, 2};
  size_t at = 0;
  for (int winner : winners) {
    at = html.find("<tr class=\"profile\">", at);
    ASSERT_NE(at, std::string::npos);
    const size_t end = html.find("</tr>", at);
    const std::string row = html.substr(at, end - at);
    std::vector<std::string> cells;
    for (size_t td = row.find("<td class=\""); td != std::string::npos;
         td = row.find("<td class=\"", td + 1)) {
      cells.push_back(row.substr(td + 11, row.find('"', td + 11) - td - 11));
    }
    ASSERT_EQ(cells.size(), 4u) << row;  // three entries and the outcome
    for (int e = 0; e < 3; ++e) {
      EXPECT_EQ(cells[e] == "winner", e == winner) << row;
    }
    EXPECT_THAT(row, HasSubstr("title=\"best fit\""));
    at = end;
  }
  EXPECT_THAT(html, HasSubstr("<td class=\"ineligible\" title=\"lacks "
                              "skylake\">"));
}

TEST(IndexMatrixTest, HtmlEscapesHostileText) {
  nlohmann::json hostile =
      Entry(1, "linux/amd64", {"<script>alert(1)</script>"});
  hostile["annotations"] = {
      {"org.opencontainers.image.title", "\"><script>alert(2)</script>"}};
  const Matrix matrix =
      Build(Index({Entry(0, "linux/amd64"), hostile}),
            {Profile("<script>alert(3)</script>", "linux/amd64"),
             Profile("x", "linux/amd64:<script>alert(4)</script>")});
  const std::string html =
      MatrixToHtml(matrix, "<script>alert(5)</script> & co");
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("&quot;&gt;&lt;script&gt;alert(2)"));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(3)"));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(4)"));
  EXPECT_THAT(html, HasSubstr("<title>&lt;script&gt;alert(5)&lt;/script&gt; "
                              "&amp; co</title>"));
}

TEST(IndexMatrixTest, MarkdownEscapesHostileText) {
  const Matrix matrix =
      Build(Index({Entry(0, "linux/amd64"),
                   Entry(1, "linux/amd64", {"a|b", "<img>"})}),
            {Profile("x | y", "linux/amd64")});
  const std::string md = MatrixToMarkdown(matrix);
  EXPECT_THAT(md, HasSubstr("| x \\| y |"));
  EXPECT_THAT(md, HasSubstr("#1 linux/amd64 a\\|b \\<img\\>"));
}

}  // namespace
}  // namespace nodefit
