#include "resolver/detect/detect_node.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "resolver/base/file_util.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string Fixture(const std::string& path) {
  return absl::StrCat(NODEFIT_FIXTURES_DIR, "/", path);
}

class FakeRunner : public CommandRunner {
 public:
  explicit FakeRunner(std::string output) : output_(std::move(output)) {}
  absl::StatusOr<CommandResult> Run(const std::vector<std::string>&,
                                    const CommandLimits&) override {
    ++runs;
    CommandResult r;
    r.exit_code = 0;
    r.output = output_;
    return r;
  }
  int runs = 0;

 private:
  std::string output_;
};

// "feature/source" for compact expectations.
std::vector<std::string> Sourced(const NodeReport& report) {
  std::vector<std::string> out;
  for (const SourcedFeature& f : report.features) {
    out.push_back(absl::StrCat(f.feature, "/", f.source));
  }
  return out;
}

struct Node {
  testing::TempDir nfd_dir;
  FakeRunner runner{"5.2\n5.2\n"};
  DetectOptions options;
  Config config;

  Node() {
    options.cpuinfo_path = Fixture("cpuinfo/xeon-e5-2686v4-broadwell.txt");
    options.nvidia.version_path = Fixture("nvidia/version-396.44.txt");
    options.runner = &runner;
    config.source = "test.json";
    config.nfd.features_dir = nfd_dir.path();
    config.nfd.map["site.gpu-type=m60"] = "site-m60";
  }
  NodeReport Build() const {
    return BuildNodeProfile(config, Vocabulary::BuiltIn(), options);
  }
};

TEST(DetectNodeTest, MergesConfigCpuNvidiaNfdInThatOrder) {
  Node node;
  node.nfd_dir.Write("labels", "site.gpu-type=m60\nnodefit-skylake\n");
  node.config.features = {"my-site-feature", "cpu:broadwell"};
  const NodeReport report = node.Build();
  // cpu:broadwell from the config wins over the CPU's broadwell; the NFD
  // file's skylake is new.
  EXPECT_THAT(
      Sourced(report),
      ElementsAre("my-site-feature/config", "broadwell/config", "x86-64-v3/cpu",
                  "nvidia-396-44/nvidia", "nv-compute-5-2/nvidia",
                  "site-m60/nfd", "skylake/nfd"));
  EXPECT_EQ(report.profile.platform.String(), "linux/amd64/v3");
  EXPECT_THAT(
      report.profile.features,
      ElementsAre("my-site-feature", "broadwell", "x86-64-v3", "nvidia-396-44",
                  "nv-compute-5-2", "site-m60", "skylake"));
  EXPECT_EQ(report.features[0].detail, "test.json");
  EXPECT_THAT(report.features[2].detail, HasSubstr("level 3"));
  EXPECT_THAT(report.notes, IsEmpty());
  EXPECT_EQ(node.runner.runs, 1);
  EXPECT_THAT(DetectedFeatures(report),
              ElementsAre("x86-64-v3", "nvidia-396-44", "nv-compute-5-2"));
}

TEST(DetectNodeTest, DetectFalseIsTheConfigAlone) {
  Node node;
  node.nfd_dir.Write("labels", "nodefit-skylake\n");
  node.config.detect = false;
  node.config.features = {"broadwell"};
  NodeReport report = node.Build();
  EXPECT_THAT(Sourced(report), ElementsAre("broadwell/config"));
  EXPECT_EQ(report.profile.platform, HostBuildPlatform());
  EXPECT_EQ(node.runner.runs, 0);
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_THAT(report.notes[0], HasSubstr("\"detect\": false in test.json"));
  EXPECT_THAT(DetectedFeatures(report), IsEmpty());

  node.config.platform = Platform{"linux", "arm64", "v8.2"};
  report = node.Build();
  EXPECT_EQ(report.profile.platform.String(), "linux/arm64/v8.2");
}

TEST(DetectNodeTest, ConfiguredPlatformWins) {
  Node node;
  node.config.platform = Platform{"linux", "amd64", "v2"};
  NodeReport report = node.Build();
  EXPECT_EQ(report.profile.platform.String(), "linux/amd64/v2");
  EXPECT_THAT(Sourced(report),
              ElementsAre("broadwell/cpu", "x86-64-v3/cpu",
                          "nvidia-396-44/nvidia", "nv-compute-5-2/nvidia"));
  // Another architecture: the CPU's features do not describe that node.
  node.config.platform = Platform{"linux", "arm64", "v8"};
  report = node.Build();
  EXPECT_EQ(report.profile.platform.String(), "linux/arm64");
  EXPECT_THAT(Sourced(report), Not(Contains("broadwell/cpu")));
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_THAT(report.notes[0], HasSubstr("not this amd64 CPU's"));
}

TEST(DetectNodeTest, Arm64Node) {
  Node node;
  node.options.cpuinfo_path = Fixture("cpuinfo/graviton3-neoverse-v1.txt");
  node.options.nvidia.version_path = "/nonexistent/version";
  const NodeReport report = node.Build();
  EXPECT_EQ(report.profile.platform.String(), "linux/arm64/v8.4");
  EXPECT_THAT(Sourced(report), ElementsAre("neoverse-v1/cpu", "arm64-v8.4/cpu",
                                           "nv-compute-5-2/nvidia"));
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_THAT(report.notes[0], HasSubstr("/nonexistent/version"));
}

TEST(DetectNodeTest, UnreadableSourcesAreNotesNeverFailures) {
  Node node;
  node.options.cpuinfo_path = "/nonexistent/cpuinfo";
  node.options.nvidia.version_path = "/nonexistent/version";
  node.options.nvidia.smi_command = {"/nonexistent/nvidia-smi"};
  node.options.runner = nullptr;  // the real runner
  node.config.nfd.features_dir = "/nonexistent/features.d";
  const NodeReport report = node.Build();
  EXPECT_THAT(report.features, IsEmpty());
  EXPECT_EQ(report.profile.platform, HostBuildPlatform());
  ASSERT_EQ(report.notes.size(), 4u);
  EXPECT_THAT(report.notes[0], HasSubstr("cpu: cannot read /nonexistent"));
  EXPECT_THAT(report.notes[1], HasSubstr("nvidia: no driver version"));
  EXPECT_THAT(report.notes[2],
              HasSubstr("no compute capability: /nonexistent/nvidia-smi not "
                        "found"));
  EXPECT_THAT(report.notes[3], HasSubstr("nfd: /nonexistent/features.d"));
}

}  // namespace
}  // namespace nodefit

namespace nodefit {
namespace {

TEST(DetectNodeTest, ProcRootMovesEveryProcPath) {
  Config config;
  config.proc_root = "/host/proc";
  const DetectOptions options = DetectOptionsFor(config);
  EXPECT_EQ(options.cpuinfo_path, "/host/proc/cpuinfo");
  EXPECT_EQ(options.nvidia.version_path, "/host/proc/driver/nvidia/version");
  EXPECT_EQ(DetectOptionsFor(Config()).cpuinfo_path, "/proc/cpuinfo");

  // A proc root holding a fixture CPU is what detection reads.
  testing::TempDir dir;
  dir.Write(
      "cpuinfo",
      *ReadFileToString(Fixture("cpuinfo/graviton2-neoverse-n1.txt"), 1 << 20));
  config.proc_root = dir.path();
  config.platform.reset();
  const NodeReport report =
      BuildNodeProfile(config, Vocabulary::BuiltIn(), DetectOptionsFor(config));
  EXPECT_EQ(report.profile.platform.architecture, "arm64");
  EXPECT_THAT(report.profile.features, ::testing::Contains("neoverse-n1"));
}

}  // namespace
}  // namespace nodefit
