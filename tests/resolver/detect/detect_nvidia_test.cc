#include "resolver/detect/detect_nvidia.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "resolver/base/file_util.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string FixturePath(const std::string& name) {
  return absl::StrCat(NODEFIT_FIXTURES_DIR, "/nvidia/", name);
}

std::string Fixture(const std::string& name) {
  absl::StatusOr<std::string> text = ReadFileToString(FixturePath(name), 4096);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

// Answers every Run with a fixed result and records the commands.
class FakeRunner : public CommandRunner {
 public:
  explicit FakeRunner(absl::StatusOr<CommandResult> result)
      : result_(std::move(result)) {}
  absl::StatusOr<CommandResult> Run(const std::vector<std::string>& argv,
                                    const CommandLimits&) override {
    commands.push_back(argv);
    return result_;
  }
  std::vector<std::vector<std::string>> commands;

 private:
  absl::StatusOr<CommandResult> result_;
};

CommandResult Printed(std::string output, int exit_code = 0) {
  CommandResult r;
  r.exit_code = exit_code;
  r.output = std::move(output);
  return r;
}

std::vector<std::string> Names(const Detection& d) {
  std::vector<std::string> out;
  for (const SourcedFeature& f : d.features) out.push_back(f.feature);
  return out;
}

TEST(DetectNvidiaTest, DriverVersionBanners) {
  absl::StatusOr<std::string> v =
      ParseNvidiaDriverVersion(Fixture("version-396.44.txt"));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "396.44");
  EXPECT_EQ(NvidiaDriverFeature(*v), "nvidia-396-44");

  v = ParseNvidiaDriverVersion(Fixture("version-open-555.42.02.txt"));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "555.42.02");
  EXPECT_EQ(NvidiaDriverFeature(*v), "nvidia-555-42");

  v = ParseNvidiaDriverVersion(
      "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  535.104.05  "
      "Release Build  (dvs-builder@U16-T02-35-3)  Sat Aug 19 01:13:59 UTC "
      "2023\n");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(NvidiaDriverFeature(*v), "nvidia-535-104");

  EXPECT_TRUE(absl::IsInvalidArgument(ParseNvidiaDriverVersion("").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      ParseNvidiaDriverVersion("NVRM version: NVIDIA UNIX x86_64 Kernel "
                               "Module  Wed Jul 11 16:51:49 PDT 2018\n")
          .status()));
}

TEST(DetectNvidiaTest, ComputeCapabilities) {
  Detection d = ParseComputeCapabilities(Fixture("smi-two-m60.txt"));
  EXPECT_THAT(Names(d), ElementsAre("nv-compute-5-2"));
  EXPECT_EQ(d.features[0].source, "nvidia");
  EXPECT_THAT(d.features[0].detail, HasSubstr("5.2 (2 GPUs)"));
  EXPECT_THAT(d.notes, IsEmpty());

  d = ParseComputeCapabilities(Fixture("smi-a100-a10.txt"));
  EXPECT_THAT(Names(d), ElementsAre("nv-compute-8-0", "nv-compute-8-6"));
  EXPECT_THAT(d.features[1].detail, HasSubstr("8.6 (1 GPU)"));

  d = ParseComputeCapabilities("7.5\r\n[N/A]\n\n");
  EXPECT_THAT(Names(d), ElementsAre("nv-compute-7-5"));
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_THAT(d.notes[0], HasSubstr("\"[N/A]\""));
}

TEST(DetectNvidiaTest, DetectsDriverAndGpus) {
  FakeRunner runner(Printed("8.0\n8.6\n8.6\n"));
  NvidiaOptions options;
  options.version_path = FixturePath("version-396.44.txt");
  const Detection d = DetectNvidia(options, runner);
  EXPECT_THAT(Names(d),
              ElementsAre("nvidia-396-44", "nv-compute-8-0", "nv-compute-8-6"));
  EXPECT_THAT(d.features[0].detail, HasSubstr("driver 396.44"));
  EXPECT_THAT(d.notes, IsEmpty());
  ASSERT_EQ(runner.commands.size(), 1u);
  EXPECT_THAT(
      runner.commands[0],
      ElementsAre("nvidia-smi", "--query-gpu=compute_cap,driver_version",
                  "--format=csv"));
}

// A real `nvidia-smi --query-gpu=compute_cap,compute_mode,driver_version,
// name,index --format=csv` of a driver 570 node (source in
// tests/fixtures/cpuinfo/README.md): the columns are found by their header.
TEST(DetectNvidiaTest, ReadsCapabilityAndDriverColumnsByHeader) {
  std::string driver;
  const Detection d =
      ParseNvidiaSmi(Fixture("smi-query-570.86-titanv-rtx5880.txt"), &driver);
  EXPECT_THAT(Names(d), ElementsAre("nv-compute-7-0", "nv-compute-8-9"));
  EXPECT_THAT(d.notes, IsEmpty());
  EXPECT_EQ(driver, "570.86.15");
  // Without a header: "compute_cap, driver_version" lines, or the
  // capability alone.
  driver.clear();
  EXPECT_THAT(Names(ParseNvidiaSmi("9.0, 570.86.15\n", &driver)),
              ElementsAre("nv-compute-9-0"));
  EXPECT_EQ(driver, "570.86.15");
  EXPECT_THAT(Names(ParseComputeCapabilities(Fixture("smi-two-m60.txt"))),
              ElementsAre("nv-compute-5-2"));
}

TEST(DetectNvidiaTest, SmiDriverStandsInWithoutTheVersionFile) {
  FakeRunner runner(Printed(Fixture("smi-query-570.86-titanv-rtx5880.txt")));
  NvidiaOptions options;
  options.version_path = "/nonexistent/nvidia/version";
  const Detection d = DetectNvidia(options, runner);
  EXPECT_THAT(Names(d),
              ElementsAre("nvidia-570-86", "nv-compute-7-0", "nv-compute-8-9"));
  EXPECT_THAT(d.features[0].detail, HasSubstr("nvidia-smi: driver 570.86.15"));
  // The version file, when readable, is the driver's source.
  options.version_path = FixturePath("version-open-555.42.02.txt");
  FakeRunner again(Printed(Fixture("smi-query-570.86-titanv-rtx5880.txt")));
  EXPECT_THAT(Names(DetectNvidia(options, again)),
              ElementsAre("nvidia-555-42", "nv-compute-7-0", "nv-compute-8-9"));
}

TEST(DetectNvidiaTest, NoDriverNoSmiAreNotes) {
  FakeRunner runner(absl::NotFoundError("nvidia-smi not found in PATH"));
  NvidiaOptions options;
  options.version_path = "/nonexistent/nvidia/version";
  const Detection d = DetectNvidia(options, runner);
  EXPECT_THAT(d.features, IsEmpty());
  ASSERT_EQ(d.notes.size(), 2u);
  EXPECT_THAT(d.notes[0], HasSubstr("/nonexistent/nvidia/version does not "
                                    "exist"));
  EXPECT_THAT(d.notes[1], HasSubstr("nvidia-smi not found"));
}

TEST(DetectNvidiaTest, FailingSmiIsANote) {
  // What drivers older than 510 print for the compute_cap field.
  FakeRunner runner(
      Printed("Field \"compute_cap\" is not a valid field to query.\n\n", 2));
  NvidiaOptions options;
  options.version_path = FixturePath("version-open-555.42.02.txt");
  Detection d = DetectNvidia(options, runner);
  EXPECT_THAT(Names(d), ElementsAre("nvidia-555-42"));
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_THAT(d.notes[0], HasSubstr("exited with 2: Field \"compute_cap\" is "
                                    "not a valid field"));

  FakeRunner timeout(absl::DeadlineExceededError("nvidia-smi did not finish"));
  d = DetectNvidia(options, timeout);
  EXPECT_THAT(d.notes[0], HasSubstr("did not finish"));

  FakeRunner empty(Printed(""));
  d = DetectNvidia(options, empty);
  EXPECT_THAT(d.notes[0], HasSubstr("listed no GPU"));

  FakeRunner garbage(Printed("x"));
  options.version_path = FixturePath("smi-two-m60.txt");  // not a banner
  d = DetectNvidia(options, garbage);
  EXPECT_THAT(d.features, IsEmpty());
  EXPECT_THAT(d.notes[0], HasSubstr("no \"NVRM version:"));
}

}  // namespace
}  // namespace nodefit
