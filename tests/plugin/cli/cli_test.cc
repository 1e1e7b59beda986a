#include "plugin/cli/cli.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/plugin/cli/cli_runner.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;

using ::nodefit::testing::Cli;
using Output = ::nodefit::testing::CliOutput;

std::string CvTfIndex(const testing::TempDir& dir) {
  return dir.Write(
      "cv-tf.json",
      testing::LoadSelectionCaseFiles()[0].cases["indexes"]["cv-tf"].dump());
}

TEST(CliTest, HelpAndVersion) {
  Output help = Cli({"--help"});
  EXPECT_EQ(help.code, kExitOk);
  EXPECT_THAT(help.out, HasSubstr("select"));
  EXPECT_THAT(help.out, HasSubstr("features"));
  Output select_help = Cli({"help", "select"});
  EXPECT_EQ(select_help.code, kExitOk);
  EXPECT_THAT(select_help.out, HasSubstr("--index FILE"));
  EXPECT_EQ(Cli({"select", "--help"}).out, select_help.out);
  Output version = Cli({"version"});
  EXPECT_EQ(version.code, kExitOk);
  EXPECT_THAT(
      version.out,
      MatchesRegex("nodefit [0-9]+\\.[0-9]+\\.[0-9]+ \\(commit "
                   "([0-9a-f]{12}(-dirty)?|unknown), [a-z0-9]+/.*\\)\n"));
  EXPECT_EQ(Cli({}).code, kExitUsage);
  Output unknown = Cli({"frobnicate"});
  EXPECT_EQ(unknown.code, kExitUsage);
  EXPECT_THAT(unknown.err, HasSubstr("unknown command \"frobnicate\""));
  EXPECT_EQ(Cli({"help", "frobnicate"}).code, kExitUsage);
}

TEST(CliTest, SelectExitCodes) {
  testing::TempDir dir;
  const std::string config = dir.Write("c.json", "{}");
  const std::string index = CvTfIndex(dir);
  Output selected = Cli({"select", "--index", index, "--config", config,
                         "--platform", "linux/amd64:skylake"});
  EXPECT_EQ(selected.code, kExitOk) << selected.err;
  EXPECT_THAT(selected.out, HasSubstr("selected  #1"));
  Output no_match = Cli({"select", "--index", index, "--config", config,
                         "--platform", "linux/arm64", "--json"});
  EXPECT_EQ(no_match.code, kExitNoMatch);
  EXPECT_EQ(nlohmann::json::parse(no_match.out)["outcome"], "no_match");
  // Policy passthrough from the config turns the same case into exit 0.
  const std::string lenient =
      dir.Write("p.json", R"({"on_no_match": "passthrough"})");
  Output passthrough = Cli({"select", "--index", index, "--config", lenient,
                            "--platform", "linux/arm64", "--json"});
  EXPECT_EQ(passthrough.code, kExitOk);
  EXPECT_EQ(nlohmann::json::parse(passthrough.out)["outcome"], "passthrough");
}

TEST(CliTest, PlatformFromConfig) {
  testing::TempDir dir;
  const std::string config = dir.Write(
      "c.json",
      R"({"platform": "linux/amd64", "features": ["skylake", "nvidia-396-44"],
          "detect": false})");
  Output out =
      Cli({"select", "--index", CvTfIndex(dir), "--config", config, "--json"});
  ASSERT_EQ(out.code, kExitOk) << out.err;
  EXPECT_EQ(nlohmann::json::parse(out.out)["chosen"]["position"], 6);
}

TEST(CliTest, BadInputIsExitTwoWithAMessage) {
  testing::TempDir dir;
  const std::string config = dir.Write("c.json", "{}");
  auto run = [&](const std::vector<std::string>& args) {
    Output o = Cli(args);
    EXPECT_EQ(o.code, kExitUsage);
    EXPECT_THAT(o.out, IsEmpty());
    return o.err;
  };
  EXPECT_THAT(run({"select", "--config", config}),
              HasSubstr("--index FILE is required"));
  EXPECT_THAT(
      run({"select", "--index", dir.path() + "/none", "--config", config}),
      HasSubstr("/none"));
  const std::string malformed = dir.Write("m.json", "{\"manifests\": [");
  EXPECT_THAT(run({"select", "--index", malformed, "--config", config}),
              HasSubstr("m.json: index: malformed JSON"));
  const std::string no_digest = dir.Write(
      "d.json",
      R"({"manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1}]})");
  EXPECT_THAT(run({"select", "--index", no_digest, "--config", config}),
              HasSubstr("manifests[0]: missing \"digest\""));
  const std::string big = dir.Write("big.json", std::string(5 << 20, ' '));
  EXPECT_THAT(run({"select", "--index", big, "--config", config}),
              HasSubstr("larger than 4393216 bytes"));
  EXPECT_THAT(run({"select", "--index", CvTfIndex(dir), "--config", config,
                   "--platform", "linux"}),
              HasSubstr("--platform: invalid platform \"linux\""));
  EXPECT_THAT(run({"select", "--index", CvTfIndex(dir), "--config",
                   dir.path() + "/missing.json"}),
              HasSubstr("missing.json"));
  const std::string bad_config = dir.Write("b.json", R"({"detect": "no"})");
  EXPECT_THAT(
      run({"select", "--index", CvTfIndex(dir), "--config", bad_config}),
      HasSubstr("key \"detect\": expected boolean"));
  EXPECT_THAT(run({"select", "--bogus"}), HasSubstr("unknown flag --bogus"));
  EXPECT_THAT(run({"select", "extra", "--index", "x"}),
              HasSubstr("unexpected argument \"extra\""));
}

TEST(CliTest, FeaturesShowsClosures) {
  testing::TempDir dir;
  const std::string config = dir.Write(
      "c.json",
      R"({"platform": "linux/amd64", "features": ["cpu:skylake", "nvcap-5.2"],
          "implies": {"site-cpu": ["broadwell"]}, "detect": false})");
  Output text = Cli({"features", "--config", config});
  ASSERT_EQ(text.code, kExitOk) << text.err;
  EXPECT_THAT(text.out, HasSubstr("feature   skylake  [config]  implies "
                                  "broadwell(1)"));
  EXPECT_THAT(text.out, HasSubstr("nv-compute-5-2"));
  Output json = Cli({"features", "--config", config, "--json"});
  ASSERT_EQ(json.code, kExitOk);
  const nlohmann::json doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["platform"], "linux/amd64/v3");
  ASSERT_EQ(doc["features"].size(), 2u);
  EXPECT_EQ(doc["features"][0]["feature"], "skylake");
  EXPECT_EQ(doc["features"][0]["source"], "config");
  EXPECT_EQ(doc["features"][0]["closure"][1]["feature"], "broadwell");
  EXPECT_EQ(doc["features"][0]["closure"][1]["distance"], 1);
  EXPECT_EQ(doc["features"][1]["feature"], "nv-compute-5-2");
}

}  // namespace
}  // namespace nodefit
