// The real `nodefit index lint` and `nodefit index matrix` on index files,
// and `nodefit index create`'s refusals that need no registry (the
// registry side is integration/index_create_test.cc).
#include <map>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;

nlohmann::json Entry(const std::string& digest_char,
                     const std::vector<std::string>& features) {
  nlohmann::json platform = {{"os", "linux"}, {"architecture", "amd64"}};
  if (!features.empty()) platform["features"] = features;
  return {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
          {"digest", "sha256:" + std::string(64, digest_char[0])},
          {"size", 1234},
          {"platform", platform}};
}

std::string Index(const std::vector<nlohmann::json>& entries) {
  return nlohmann::json{
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.index.v1+json"},
      {"manifests", entries}}
      .dump();
}

// Must show 4: for every index of the selection cases, the matrix of its
// cases' nodes names each case's expected winner.
TEST(IndexBinaryTest, MatrixGivesEverySelectionCaseItsWinner) {
  for (const testing::SelectionCaseFile& file :
       testing::LoadSelectionCaseFiles()) {
    SCOPED_TRACE(file.path);
    testing::TempDir dir;
    const std::string config = dir.Write("config.json", "{}");
    std::map<std::string, std::vector<const nlohmann::json*>> by_index;
    for (const nlohmann::json& c : file.cases["cases"]) {
      by_index[c["index"].get<std::string>()].push_back(&c);
    }
    int checked = 0;
    for (const auto& [name, cases] : by_index) {
      SCOPED_TRACE(name);
      const std::string index =
          dir.Write(name + ".json", file.cases["indexes"][name].dump());
      std::string nodes;
      for (size_t i = 0; i < cases.size(); ++i) {
        absl::StrAppend(&nodes, "case ", i, " = ",
                        (*cases[i])["node"].get<std::string>(), "\n");
      }
      const testing::RunResult run =
          testing::Run({NODEFIT_BINARY, "index", "matrix", index, "--nodes",
                        dir.Write(name + ".nodes", nodes), "--format", "json",
                        "--config", config});
      ASSERT_EQ(run.exit_code, 0) << run.err;
      const nlohmann::json matrix = nlohmann::json::parse(run.out);
      ASSERT_EQ(matrix["rows"].size(), cases.size());
      for (size_t i = 0; i < cases.size(); ++i) {
        const nlohmann::json& expect = (*cases[i])["expect"];
        const nlohmann::json& row = matrix["rows"][i];
        SCOPED_TRACE((*cases[i])["name"].get<std::string>());
        EXPECT_EQ(row["profile"], absl::StrCat("case ", i));
        if (expect.contains("entry")) {
          EXPECT_EQ(row["outcome"], "selected");
          EXPECT_EQ(row["chosen"], expect["entry"]);
        } else if (expect.contains("error")) {
          EXPECT_EQ(row["outcome"], expect["error"]);
          EXPECT_TRUE(row["chosen"].is_null());
        } else {
          EXPECT_EQ(row["outcome"], "passthrough");
        }
        ++checked;
      }
    }
    EXPECT_EQ(checked, static_cast<int>(file.cases["cases"].size()));
  }
}

TEST(IndexBinaryTest, MatrixFormatsAndBadInput) {
  testing::TempDir dir;
  const std::string config = dir.Write("config.json", "{}");
  const std::string index =
      dir.Write("i.json", Index({Entry("a", {}), Entry("b", {"skylake"})}));
  for (const char* format : {"text", "markdown", "html"}) {
    SCOPED_TRACE(format);
    const testing::RunResult run =
        testing::Run({NODEFIT_BINARY, "index", "matrix", index, "--format",
                      format, "--config", config});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_THAT(run.out, HasSubstr("#1 linux/amd64 skylake"));
  }
  const testing::RunResult bad_format = testing::Run(
      {NODEFIT_BINARY, "index", "matrix", index, "--format", "pdf"});
  EXPECT_EQ(bad_format.exit_code, 2);
  EXPECT_THAT(bad_format.err, HasSubstr("\"pdf\" is not one of"));
  const testing::RunResult bad_nodes =
      testing::Run({NODEFIT_BINARY, "index", "matrix", index, "--nodes",
                    dir.Write("bad.nodes", "linux/amd64\nx = linux/\n"),
                    "--config", config});
  EXPECT_EQ(bad_nodes.exit_code, 2);
  EXPECT_THAT(bad_nodes.err,
              HasSubstr("bad.nodes:2: invalid platform \"linux/\""));
  const testing::RunResult not_index =
      testing::Run({NODEFIT_BINARY, "index", "lint",
                    dir.Write("x.json", "{\"a\": ["), "--config", config});
  EXPECT_EQ(not_index.exit_code, 2);
  EXPECT_THAT(not_index.err, HasSubstr("x.json"));
}

// Must show 3's exit codes: 0 clean, 1 warnings only, 2 errors.
TEST(IndexBinaryTest, LintExitCodes) {
  testing::TempDir dir;
  const std::string config = dir.Write("config.json", "{}");
  const struct {
    std::string name;
    std::string index;
    int exit_code;
    std::string says;
  } cases[] = {
      {"clean", Index({Entry("a", {}), Entry("b", {"skylake"})}), 0,
       "no problems"},
      {"tie",
       Index(
           {Entry("a", {}), Entry("b", {"skylake"}), Entry("c", {"skylake"})}),
       2, "unreachable"},
      {"no fallback",
       Index({Entry("b", {"skylake"}), Entry("c", {"skylake-avx512"})}), 1,
       "no-fallback"},
      {"unknown", Index({Entry("a", {}), Entry("b", {"skylak"})}), 2,
       "did you mean \"skylake\""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = dir.Write("lint.json", c.index);
    const testing::RunResult run = testing::Run(
        {NODEFIT_BINARY, "index", "lint", path, "--config", config});
    EXPECT_EQ(run.exit_code, c.exit_code) << run.out << run.err;
    EXPECT_THAT(run.out, HasSubstr(c.says));
    const testing::RunResult json = testing::Run(
        {NODEFIT_BINARY, "index", "lint", path, "--json", "--config", config});
    EXPECT_EQ(json.exit_code, c.exit_code);
    EXPECT_EQ(nlohmann::json::parse(json.out)["exit_code"], c.exit_code);
  }
}

TEST(IndexBinaryTest, CreateRefusesABadSpecBeforeAnyRequest) {
  testing::TempDir dir;
  const std::string config = dir.Write("config.json", "{}");
  const struct {
    std::string spec;
    std::string says;
  } cases[] = {
      {"image: a/b:1\nmanifests:\n  - image: a/c\n    platfrom: {os: linux}\n",
       "manifests[0].platfrom: unknown key"},
      {"image: a/b:1\n", "manifests: must be a non-empty list"},
      {"{", "index spec: document"},
  };
  for (const auto& c : cases) {
    const testing::RunResult run =
        testing::Run({NODEFIT_BINARY, "index", "create",
                      dir.Write("spec.yaml", c.spec), "--config", config});
    EXPECT_EQ(run.exit_code, 2) << c.spec;
    EXPECT_THAT(run.err, HasSubstr(c.says));
  }
  const testing::RunResult digest_target = testing::Run(
      {NODEFIT_BINARY, "index", "create",
       dir.Write("ok.yaml", "image: a/b:1\nmanifests: [{image: a/c}]\n"),
       "--push", "a/b@sha256:" + std::string(64, 'a'), "--config", config});
  EXPECT_EQ(digest_target.exit_code, 2);
  EXPECT_THAT(digest_target.err, HasSubstr("--push: must name a tag"));
  const testing::RunResult no_action =
      testing::Run({NODEFIT_BINARY, "index", "publish"});
  EXPECT_EQ(no_action.exit_code, 2);
  EXPECT_THAT(no_action.err, HasSubstr("expected create, lint or matrix"));
}

}  // namespace
}  // namespace nodefit
