// `nodefit features`: detection merged with the config, sources, notes,
// --write-nfd, and a check of the real binary against this machine's own
// /proc/cpuinfo.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "plugin/cli/cli.h"
#include "resolver/detect/detect_nfd.h"
#include "tests/plugin/cli/cli_runner.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

using ::nodefit::testing::Cli;
using Output = ::nodefit::testing::CliOutput;

std::string Fixture(const std::string& path) {
  return std::string(NODEFIT_FIXTURES_DIR) + "/" + path;
}

// feature -> source, from `features --json`.
std::map<std::string, std::string> Sources(const nlohmann::json& doc) {
  std::map<std::string, std::string> out;
  for (const nlohmann::json& f : doc["features"]) {
    out[f["feature"].get<std::string>()] = f["source"].get<std::string>();
  }
  return out;
}

std::vector<std::string> FeaturesFrom(const nlohmann::json& doc,
                                      const std::set<std::string>& sources) {
  std::vector<std::string> out;
  for (const nlohmann::json& f : doc["features"]) {
    if (sources.count(f["source"].get<std::string>()) > 0) {
      out.push_back(f["feature"].get<std::string>());
    }
  }
  return out;
}

// A stand-in nvidia-smi printing two GPUs' compute capabilities.
std::string FakeNvidiaSmi(const testing::TempDir& dir) {
  std::string path =
      dir.Write("nvidia-smi", "#!/bin/sh\nprintf '8.0\\n8.6\\n'\n");
  EXPECT_EQ(chmod(path.c_str(), 0755), 0);
  return path;
}

// --- This machine -----------------------------------------------------------

// The x86-64 level of a "flags" line, written independently of
// resolver/detect/detect_cpu.cc: the psABI's four sets, cumulative.
int IndependentX86Level(const std::string& flags_line) {
  std::istringstream words(flags_line);
  std::set<std::string> have;
  for (std::string w; words >> w;) have.insert(w);
  const char* const kSets[4] = {"lm cmov cx8 fpu fxsr mmx syscall sse sse2",
                                "cx16 lahf_lm popcnt pni sse4_1 sse4_2 ssse3",
                                "avx avx2 bmi1 bmi2 f16c fma abm movbe xsave",
                                "avx512f avx512bw avx512cd avx512dq avx512vl"};
  int level = 0;
  for (const char* set : kSets) {
    std::istringstream need(set);
    for (std::string w; need >> w;) {
      if (have.count(w) == 0) return level;
    }
    ++level;
  }
  return level;
}

// The value of every "key : value" line with this key, one per processor.
std::vector<std::string> CpuinfoValues(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::vector<std::string> values;
  for (std::string line; std::getline(in, line);) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon);
    k.erase(k.find_last_not_of(" \t") + 1);
    if (k != key) continue;
    const size_t start = line.find_first_not_of(" \t", colon + 1);
    values.push_back(start == std::string::npos ? "" : line.substr(start));
  }
  return values;
}

TEST(FeaturesTest, ThisMachineMatchesItsOwnCpuinfo) {
  testing::TempDir dir;
  const std::string config = dir.Write("c.json", "{}");
  const testing::RunResult run =
      testing::Run({NODEFIT_BINARY, "features", "--json", "--config", config,
                    "--nfd-dir", dir.path() + "/no-nfd"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json doc = nlohmann::json::parse(run.out);
  const std::string platform = doc["platform"];
  SCOPED_TRACE(run.out);
#if defined(__x86_64__)
  const std::vector<std::string> flags = CpuinfoValues("flags");
  ASSERT_FALSE(flags.empty()) << "no flags line in /proc/cpuinfo";
  int level = 4;
  for (const std::string& f : flags) {
    level = std::min(level, IndependentX86Level(f));
  }
  EXPECT_EQ(platform, level > 1 ? "linux/amd64/v" + std::to_string(level)
                                : "linux/amd64");
  // No CPU feature claims a level above the flags' (the safety rule).
  for (const nlohmann::json& f : doc["features"]) {
    if (f["source"] != "cpu") continue;
    for (const nlohmann::json& c : f["closure"]) {
      for (int l = level + 1; l <= 4; ++l) {
        EXPECT_NE(c["feature"], "x86-64-v" + std::to_string(l))
            << f["feature"] << " claims more than the flags";
      }
    }
  }
#elif defined(__aarch64__)
  const std::vector<std::string> features = CpuinfoValues("Features");
  ASSERT_FALSE(features.empty()) << "no Features line in /proc/cpuinfo";
  ASSERT_EQ(platform.rfind("linux/arm64", 0), 0u);
  // Large System Extensions (atomics) are mandatory from v8.1: without
  // them the node must be baseline v8.
  if (features[0].find("atomics") == std::string::npos) {
    EXPECT_EQ(platform, "linux/arm64");
  }
  // SVE2 is mandatory from v9.0 on: a v9 node must show it.
  if (platform.rfind("linux/arm64/v9", 0) == 0) {
    EXPECT_NE(features[0].find("sve2"), std::string::npos);
  }
#else
  ADD_FAILURE() << "no consistency check for this architecture: " << platform;
#endif
}

// select without --platform sees the node `features` shows.
TEST(FeaturesTest, SelectUsesTheSameDetectedNode) {
  testing::TempDir dir;
  const std::string config = dir.Write("c.json", R"({"detect": true})");
  const std::string index = dir.Write(
      "i.json",
      testing::LoadSelectionCaseFiles()[0].cases["indexes"]["cv-tf"].dump());
  const Output features = Cli({"features", "--json", "--config", config});
  ASSERT_EQ(features.code, kExitOk) << features.err;
  const Output select =
      Cli({"select", "--index", index, "--config", config, "--json"});
  ASSERT_FALSE(select.out.empty()) << select.err;
  EXPECT_EQ(nlohmann::json::parse(select.out)["node"]["platform"],
            nlohmann::json::parse(features.out)["platform"]);
}

// --- Fixtures
// -----------------------------------------------------------------

TEST(FeaturesTest, ConfigAndDetectionWithSources) {
  testing::TempDir dir;
  const std::vector<std::string> detection_flags = {
      "--cpuinfo",        Fixture("cpuinfo/xeon-e5-2686v4-broadwell.txt"),
      "--nvidia-version", dir.path() + "/no-driver",
      "--nvidia-smi",     dir.path() + "/no-nvidia-smi",
      "--nfd-dir",        dir.path()};
  auto features = [&](const std::string& config_text, bool json) {
    std::vector<std::string> args = {"features", "--config",
                                     dir.Write("c.json", config_text)};
    args.insert(args.end(), detection_flags.begin(), detection_flags.end());
    if (json) args.emplace_back("--json");
    return Cli(args);
  };

  Output on = features(
      R"({"features": ["nvcap-5.2", "site-feature"], "detect": true})", true);
  ASSERT_EQ(on.code, kExitOk) << on.err;
  nlohmann::json doc = nlohmann::json::parse(on.out);
  EXPECT_EQ(doc["platform"], "linux/amd64/v3");
  EXPECT_EQ(doc["detect"], true);
  EXPECT_EQ(Sources(doc),
            (std::map<std::string, std::string>{{"nv-compute-5-2", "config"},
                                                {"site-feature", "config"},
                                                {"broadwell", "cpu"},
                                                {"x86-64-v3", "cpu"}}));
  for (const nlohmann::json& f : doc["features"]) {
    if (f["feature"] != "broadwell") continue;
    EXPECT_THAT(f["detail"].get<std::string>(),
                HasSubstr("GenuineIntel family 6 model 0x4f (79) stepping 1"));
    EXPECT_EQ(f["closure"][1]["feature"], "haswell");
  }
  bool haswell_implied = false;
  for (const nlohmann::json& m : doc["closure"]) {
    if (m["feature"] == "haswell") {
      haswell_implied = m["source"] == "implied" && m["via"] == "broadwell";
    }
  }
  EXPECT_TRUE(haswell_implied);
  // Notes go to stderr; a missing nvidia-smi is one, not an error.
  EXPECT_THAT(on.err, HasSubstr("nodefit features: note: nvidia: no driver"));
  EXPECT_THAT(on.err, HasSubstr("nodefit features: note: nvidia: no compute "
                                "capability: " +
                                dir.path() + "/no-nvidia-smi not found"));
  EXPECT_EQ(doc["notes"].size(), 2u);

  Output text = features(
      R"({"features": ["nvcap-5.2", "site-feature"], "detect": true})", false);
  ASSERT_EQ(text.code, kExitOk) << text.err;
  EXPECT_THAT(text.out, HasSubstr("platform  linux/amd64/v3\n"));
  // A compute capability implies the lower minors of its major.
  EXPECT_THAT(text.out, HasSubstr("feature   nv-compute-5-2  [config]  implies "
                                  "nv-compute-5-1(1) nv-compute-5-0(2)\n"));
  EXPECT_THAT(text.out, HasSubstr("feature   site-feature  [config]\n"));
  EXPECT_THAT(text.out,
              HasSubstr("feature   broadwell  [cpu]  implies haswell(1)"));

  Output off = features(
      R"({"features": ["nvcap-5.2", "site-feature"], "detect": false})", true);
  ASSERT_EQ(off.code, kExitOk) << off.err;
  doc = nlohmann::json::parse(off.out);
  EXPECT_EQ(doc["detect"], false);
  EXPECT_EQ(Sources(doc),
            (std::map<std::string, std::string>{{"nv-compute-5-2", "config"},
                                                {"site-feature", "config"}}));
  EXPECT_THAT(off.err, HasSubstr("detection is off"));
  EXPECT_THAT(off.err, Not(HasSubstr("nvidia")));
}

TEST(FeaturesTest, WriteNfdReadsBackTheSameFeatures) {
  testing::TempDir dir;
  const std::string config = dir.Write("c.json", "{}");
  const std::string nfd_dir = dir.path() + "/features.d";
  ASSERT_EQ(mkdir(nfd_dir.c_str(), 0755), 0);
  const std::string nfd_file = nfd_dir + "/nodefit";
  Output written =
      Cli({"features", "--json", "--config", config, "--cpuinfo",
           Fixture("cpuinfo/xeon-platinum-8259cl-cascadelake.txt"),
           "--nvidia-version", Fixture("nvidia/version-396.44.txt"),
           "--nvidia-smi", FakeNvidiaSmi(dir), "--nfd-dir",
           dir.path() + "/empty", "--write-nfd", nfd_file});
  ASSERT_EQ(written.code, kExitOk) << written.err;
  const std::vector<std::string> detected =
      FeaturesFrom(nlohmann::json::parse(written.out), {"cpu", "nvidia"});
  EXPECT_THAT(detected, ElementsAre("x86-64-v4", "cascadelake", "nvidia-396-44",
                                    "nv-compute-8-0", "nv-compute-8-6"));
  EXPECT_THAT(written.err,
              HasSubstr("wrote 5 detected features to " + nfd_file));

  // The NFD reader gives back the same features...
  NfdConfig nfd;
  nfd.features_dir = nfd_dir;
  std::vector<std::string> read_back;
  for (const SourcedFeature& f : ReadNfdFeatures(nfd).features) {
    read_back.push_back(f.feature);
  }
  std::vector<std::string> sorted_detected = detected;
  std::sort(sorted_detected.begin(), sorted_detected.end());
  std::sort(read_back.begin(), read_back.end());
  EXPECT_EQ(read_back, sorted_detected);

  // ...and so does `features` with that directory as its only source.
  Output from_nfd = Cli({"features", "--json", "--config", config, "--cpuinfo",
                         dir.path() + "/no-cpuinfo", "--nvidia-version",
                         dir.path() + "/no-driver", "--nvidia-smi",
                         dir.path() + "/no-nvidia-smi", "--nfd-dir", nfd_dir});
  ASSERT_EQ(from_nfd.code, kExitOk) << from_nfd.err;
  std::vector<std::string> via_nfd =
      FeaturesFrom(nlohmann::json::parse(from_nfd.out), {"nfd"});
  std::sort(via_nfd.begin(), via_nfd.end());
  EXPECT_EQ(via_nfd, sorted_detected);
}

TEST(FeaturesTest, UnknownCpuIsReportedWithFamilyAndModel) {
  testing::TempDir dir;
  const std::string cpuinfo = dir.Write(
      "cpuinfo",
      "processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n"
      "model\t\t: 87\nmodel name\t: Intel(R) Xeon Phi(TM) CPU 7210 @ 1.30GHz\n"
      "stepping\t: 1\nflags\t\t: fpu cx8 cmov mmx fxsr sse sse2 syscall lm "
      "pni ssse3 cx16 sse4_1 sse4_2 popcnt lahf_lm\n");
  Output out =
      Cli({"features", "--json", "--config", dir.Write("c.json", "{}"),
           "--cpuinfo", cpuinfo, "--nfd-dir", dir.path(), "--nvidia-version",
           dir.path() + "/none", "--nvidia-smi", dir.path() + "/none"});
  ASSERT_EQ(out.code, kExitOk) << out.err;
  EXPECT_EQ(nlohmann::json::parse(out.out)["platform"], "linux/amd64/v2");
  EXPECT_THAT(out.err, HasSubstr("note: cpu: GenuineIntel family 6 model 0x57 "
                                 "(87) stepping 1"));
}

TEST(FeaturesTest, BadUse) {
  testing::TempDir dir;
  const std::string config = dir.Write("c.json", "{}");
  Output both = Cli({"features", "--config", config, "--platform",
                     "linux/amd64", "--write-nfd", dir.path() + "/f"});
  EXPECT_EQ(both.code, kExitUsage);
  EXPECT_THAT(both.err, HasSubstr("cannot be combined with --platform"));
  Output unwritable =
      Cli({"features", "--config", config, "--nfd-dir", dir.path(),
           "--write-nfd", dir.path() + "/missing/dir/nodefit"});
  EXPECT_EQ(unwritable.code, kExitFailure);
  EXPECT_THAT(unwritable.err, HasSubstr("--write-nfd: "));
  // --platform replaces detection entirely.
  Output flag = Cli({"features", "--json", "--config", config, "--platform",
                     "linux/arm64:neoverse-n1"});
  ASSERT_EQ(flag.code, kExitOk) << flag.err;
  EXPECT_EQ(Sources(nlohmann::json::parse(flag.out)),
            (std::map<std::string, std::string>{{"neoverse-n1", "flag"}}));
}

}  // namespace
}  // namespace nodefit
