// `nodefit vocabulary` through RunCli: one name's meaning (text and JSON),
// names it does not know, the config's additions, and the family list.
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "plugin/cli/cli.h"
#include "tests/plugin/cli/cli_runner.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using testing::Cli;
using ::testing::Contains;
using ::testing::HasSubstr;

class VocabularyCommandTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::string empty_ = dir_.Write("empty.json", "{}");

  nlohmann::json Json(const std::vector<std::string>& names,
                      const std::string& config) {
    std::vector<std::string> args = {"vocabulary"};
    args.insert(args.end(), names.begin(), names.end());
    args.insert(args.end(), {"--json", "--config", config});
    const testing::CliOutput r = Cli(args);
    EXPECT_EQ(r.code, kExitOk) << r.err;
    return nlohmann::json::parse(r.out);
  }
};

std::set<std::string> Features(const nlohmann::json& edges) {
  std::set<std::string> out;
  for (const nlohmann::json& e : edges) out.insert(e["feature"]);
  return out;
}

TEST_F(VocabularyCommandTest, ArchspecSpellingInJson) {
  const nlohmann::json doc = Json({"x86_64_v3", "Neoverse_V1"}, empty_);
  ASSERT_EQ(doc["features"].size(), 2u);
  const nlohmann::json& v3 = doc["features"][0];
  EXPECT_EQ(v3["name"], "x86_64_v3");
  EXPECT_EQ(v3["canonical"], "x86-64-v3");
  EXPECT_EQ(v3["known"], true);
  EXPECT_EQ(v3["family"]["family"], "x86-64-levels");
  EXPECT_EQ(v3["weight"], 1);
  EXPECT_EQ(Features(v3["implies"]),
            (std::set<std::string>{"x86-64-v2", "x86-64"}));
  EXPECT_THAT(Features(v3["implied_by"]), Contains("haswell"));
  EXPECT_THAT(Features(v3["implied_by"]), Contains("znver1"));
  EXPECT_EQ(v3["archspec"]["name"], "x86_64_v3");
  EXPECT_EQ(v3["archspec"]["from"], nlohmann::json({"x86_64_v2"}));
  const nlohmann::json& v1 = doc["features"][1];
  EXPECT_EQ(v1["canonical"], "neoverse-v1");
  EXPECT_THAT(v1["aliases"].get<std::vector<std::string>>(),
              Contains("graviton3"));
  EXPECT_THAT(v1["family"]["source"].get<std::string>(),
              HasSubstr("aarch64-cores.def"));
}

TEST_F(VocabularyCommandTest, TheDisagreementIsShownWhereItApplies) {
  const nlohmann::json doc = Json({"icelake"}, empty_);
  const nlohmann::json& e = doc["features"][0];
  EXPECT_EQ(e["canonical"], "icelake-client");
  ASSERT_EQ(e["archspec"]["not_followed"].size(), 1u);
  EXPECT_EQ(e["archspec"]["not_followed"][0]["from"], "cascadelake");
  EXPECT_THAT(e["archspec"]["not_followed"][0]["reason"].get<std::string>(),
              HasSubstr("CLWB"));
  EXPECT_THAT(Features(e["implies"]), Contains("cannonlake"));
  EXPECT_EQ(Features(e["implies"]).count("cascadelake"), 0u);
}

TEST_F(VocabularyCommandTest, GpuRulesAndTheMinorCompatibilitySwitch) {
  nlohmann::json doc = Json({"cuda:12.4", "nvidia-550.54"}, empty_);
  const nlohmann::json& cuda = doc["features"][0];
  EXPECT_EQ(cuda["canonical"], "cuda-12-4");
  EXPECT_EQ(cuda["weight"], 2);
  EXPECT_EQ(cuda["family"]["family"], "cuda");
  ASSERT_EQ(cuda["rules"].size(), 1u);
  EXPECT_THAT(cuda["rules"][0].get<std::string>(), HasSubstr("550.54"));
  const nlohmann::json& driver = doc["features"][1];
  ASSERT_FALSE(driver["implies"].empty());
  EXPECT_EQ(driver["implies"][0]["feature"], "cuda-12-4");
  EXPECT_EQ(driver["implies"][0]["distance"], 0);

  const std::string on = dir_.Write(
      "on.json", R"({"cuda": {"minor_version_compatibility": true}})");
  doc = Json({"cuda-12-4"}, on);
  EXPECT_EQ(doc["features"][0]["rules"].size(), 2u);
  EXPECT_THAT(doc["features"][0]["rules"][1].get<std::string>(),
              HasSubstr("525.60.13"));
}

TEST_F(VocabularyCommandTest, UnknownNamesAndTheConfigsAdditions) {
  const std::string config =
      dir_.Write("rules.json",
                 R"({"implies": {"my-cluster-cpu": ["skylake"]},
          "aliases": {"site_cpu": "my-cluster-cpu"}})");
  const nlohmann::json doc = Json({"coffeelake", "SITE_CPU"}, config);
  EXPECT_EQ(doc["features"][0]["known"], false);
  EXPECT_TRUE(doc["features"][0]["family"].is_null());
  const nlohmann::json& site = doc["features"][1];
  EXPECT_EQ(site["canonical"], "my-cluster-cpu");
  EXPECT_EQ(site["known"], true);
  EXPECT_THAT(Features(site["implies"]), Contains("broadwell"));

  const testing::CliOutput text =
      Cli({"vocabulary", "coffeelake", "--config", config});
  EXPECT_EQ(text.code, kExitOk);
  EXPECT_THAT(text.out, HasSubstr("not in nodefit's vocabulary"));
}

TEST_F(VocabularyCommandTest, WithoutANameTheFamilies) {
  const nlohmann::json doc = Json({}, empty_);
  std::set<std::string> families;
  for (const nlohmann::json& f : doc["families"]) {
    families.insert(f["family"]);
    EXPECT_FALSE(f["source"].get<std::string>().empty()) << f["family"];
  }
  for (const char* want : {"intel", "amd", "power", "s390x", "riscv64", "cuda",
                           "compute-capability", "ptx"}) {
    EXPECT_EQ(families.count(want), 1u) << want;
  }
  const testing::CliOutput text = Cli({"vocabulary", "--config", empty_});
  EXPECT_EQ(text.code, kExitOk);
  EXPECT_THAT(text.out, HasSubstr("power: IBM POWER"));
  EXPECT_THAT(text.out, HasSubstr("power8 power9 power10"));
}

TEST_F(VocabularyCommandTest, TextNamesEveryPart) {
  const testing::CliOutput r =
      Cli({"vocabulary", "power9le", "--config", empty_});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_THAT(r.out, HasSubstr("canonical   power9\n"));
  EXPECT_THAT(r.out, HasSubstr("aliases     power9le"));
  EXPECT_THAT(r.out, HasSubstr("implied by  power10(1)"));
  EXPECT_THAT(r.out, HasSubstr("archspec    power9 (from power8)"));
  EXPECT_THAT(r.out, HasSubstr("source      GCC's gcc/config/rs6000"));
  const testing::CliOutput bad = Cli({"vocabulary", "--jsn"});
  EXPECT_EQ(bad.code, kExitUsage);
}

}  // namespace
}  // namespace nodefit
