// Runs the real `nodefit` binary on every selection case
// (tests/data/selection-cases.json, and NODEFIT_SHARED_DIR's when present):
// `nodefit select --index <that index as a file> --platform <node> --json` must
// print the expected outcome and position, and exit 0 (selected, passthrough)
// or 3 (no_match).
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace nodefit {
namespace {

void RunCases(const testing::SelectionCaseFile& file) {
  SCOPED_TRACE(file.path);
  const nlohmann::json& cases = file.cases;
  testing::TempDir dir;
  const std::string config = dir.Write("config.json", "{}");
  for (const auto& [name, index] : cases["indexes"].items()) {
    dir.Write(name + ".json", index.dump(2));
  }
  int checked = 0;
  for (const nlohmann::json& c : cases["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const testing::RunResult run = testing::Run(
        {NODEFIT_BINARY, "select", "--index",
         dir.path() + "/" + c["index"].get<std::string>() + ".json",
         "--platform", c["node"].get<std::string>(), "--config", config,
         "--json"});
    ASSERT_FALSE(run.out.empty()) << run.err;
    const nlohmann::json result = nlohmann::json::parse(run.out);
    const nlohmann::json& expect = c["expect"];
    if (expect.contains("entry")) {
      EXPECT_EQ(run.exit_code, 0);
      EXPECT_EQ(result["outcome"], "selected");
      EXPECT_EQ(result["chosen"]["position"], expect["entry"]);
      const nlohmann::json& entry =
          cases["indexes"][c["index"].get<std::string>()]["manifests"]
               [expect["entry"].get<int>()];
      EXPECT_EQ(result["chosen"]["digest"], entry["digest"]);
    } else if (expect.contains("error")) {
      EXPECT_EQ(run.exit_code, 3);
      EXPECT_EQ(result["outcome"], expect["error"]);
    } else {
      EXPECT_EQ(run.exit_code, 0);
      EXPECT_EQ(result["outcome"], "passthrough");
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(cases["cases"].size()));
}

TEST(SelectBinaryTest, EveryCaseThroughTheBinary) {
  for (const testing::SelectionCaseFile& file :
       testing::LoadSelectionCaseFiles()) {
    RunCases(file);
  }
}

}  // namespace
}  // namespace nodefit
