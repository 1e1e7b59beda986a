// Every case of ../shared/selection-cases.json through RunCli, the function
// `nodefit select --json` runs.
#include <sstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "plugin/cli/cli.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

TEST(SelectionCasesTest, EveryCasePasses) {
  const nlohmann::json cases = testing::LoadSelectionCases();
  ASSERT_GE(cases["cases"].size(), 21u);
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

}  // namespace
}  // namespace nodefit
