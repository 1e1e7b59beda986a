// Every selection case (tests/data/selection-cases.json, and
// NODEFIT_SHARED_DIR/selection-cases.json when present) through RunCli, the
// function `nodefit select --json` runs.
#include <iostream>
#include <sstream>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "plugin/cli/cli.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

void RunCases(const testing::SelectionCaseFile& file) {
  SCOPED_TRACE(file.path);
  const nlohmann::json& cases = file.cases;
  testing::TempDir dir;
  const std::string config = dir.Write("config.json", "{}");
  for (const nlohmann::json& c : cases["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const std::string index = dir.Write(
        "index.json", cases["indexes"][c["index"].get<std::string>()].dump());
    std::ostringstream out, err;
    const int code =
        RunCli({"select", "--index", index, "--platform",
                c["node"].get<std::string>(), "--config", config, "--json"},
               out, err);
    const nlohmann::json result = nlohmann::json::parse(out.str());
    const nlohmann::json& expect = c["expect"];
    if (expect.contains("entry")) {
      EXPECT_EQ(code, 0) << err.str();
      EXPECT_EQ(result["outcome"], "selected");
      EXPECT_EQ(result["chosen"]["position"], expect["entry"]);
    } else if (expect.contains("error")) {
      EXPECT_EQ(expect["error"], "no_match");
      EXPECT_EQ(code, 3);
      EXPECT_EQ(result["outcome"], "no_match");
      EXPECT_TRUE(result["chosen"].is_null());
    } else {
      ASSERT_TRUE(expect.value("passthrough", false));
      EXPECT_EQ(code, 0);
      EXPECT_EQ(result["outcome"], "passthrough");
      EXPECT_TRUE(result["chosen"].is_null());
    }
  }
}

TEST(SelectionCasesTest, EveryCasePasses) {
  const std::vector<testing::SelectionCaseFile> files =
      testing::LoadSelectionCaseFiles();
  // The repository's own file holds at least the 21 cases it started with.
  ASSERT_GE(files[0].cases["cases"].size(), 21u);
  for (const testing::SelectionCaseFile& file : files) {
    std::cout << file.path << ": " << file.cases["cases"].size() << " cases\n";
    RunCases(file);
  }
}

}  // namespace
}  // namespace nodefit
