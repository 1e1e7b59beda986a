#include "resolver/detect/detect_nfd.h"

#include <sys/stat.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "resolver/base/file_util.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> Names(const Detection& d) {
  std::vector<std::string> out;
  for (const SourcedFeature& f : d.features) out.push_back(f.feature);
  return out;
}

TEST(DetectNfdTest, ParsesUnderTheMapping) {
  NfdConfig nfd;
  nfd.map["cpu-model.family=6"] = "x86-64-v2";  // name=value key
  nfd.map["gpu.present"] = "has-gpu";           // name key, any value
  const Detection d = ParseNfdFeatures(
      "# +expiry-time=2030-01-01T00:00:00Z\n"
      "# a comment\n"
      "\n"
      "nodefit-skylake\n"
      "  nodefit-nv-compute-5-2 = true  \n"
      "nodefit-broadwell=false\n"
      "cpu-model.family=6\n"
      "cpu-model.family=25\n"
      "gpu.present=yes\n"
      "other-tool-label=1\n"
      "nodefit-\n",
      nfd, "/etc/nfd/f");
  EXPECT_THAT(Names(d),
              ElementsAre("skylake", "nv-compute-5-2", "x86-64-v2", "has-gpu"));
  EXPECT_EQ(d.features[0].source, "nfd");
  EXPECT_EQ(d.features[0].detail, "/etc/nfd/f:4: nodefit-skylake");
  EXPECT_THAT(d.features[2].detail, HasSubstr(":7: cpu-model.family=6"));
  EXPECT_THAT(d.notes, IsEmpty());

  nfd.prefix = "site/";
  EXPECT_THAT(Names(ParseNfdFeatures("site/znver4\nnodefit-x\n", nfd, "f")),
              ElementsAre("znver4"));
}

TEST(DetectNfdTest, ReadsEveryFileInTheDirectory) {
  testing::TempDir dir;
  dir.Write("b", "nodefit-b\n");
  dir.Write("a", "nodefit-a\n");
  dir.Write(".hidden", "nodefit-hidden\n");
  dir.Write("c.nodefit-tmp-XYZ123", "nodefit-half-written\n");
  ASSERT_EQ(mkdir((dir.path() + "/sub").c_str(), 0755), 0);
  NfdConfig nfd;
  nfd.features_dir = dir.path();
  const Detection d = ReadNfdFeatures(nfd);
  EXPECT_THAT(Names(d), ElementsAre("a", "b"));
  EXPECT_EQ(d.features[0].detail, dir.path() + "/a:1: nodefit-a");
  EXPECT_THAT(d.notes, IsEmpty());
}

TEST(DetectNfdTest, MissingDirectoryIsANote) {
  NfdConfig nfd;
  nfd.features_dir = "/nonexistent/features.d";
  const Detection d = ReadNfdFeatures(nfd);
  EXPECT_THAT(d.features, IsEmpty());
  ASSERT_EQ(d.notes.size(), 1u);
  EXPECT_THAT(d.notes[0], HasSubstr("/nonexistent/features.d does not exist"));
}

TEST(DetectNfdTest, WrittenFileReadsBackTheSameFeatures) {
  const std::vector<std::string> features = {"cascadelake", "x86-64-v4",
                                             "nvidia-396-44", "nv-compute-5-2"};
  const std::string text = FormatNfdFeatures(features, "nodefit-");
  EXPECT_EQ(text.rfind("# Written by `nodefit features --write-nfd`", 0), 0u);
  EXPECT_THAT(text, HasSubstr("\nnodefit-cascadelake\nnodefit-x86-64-v4\n"));

  testing::TempDir dir;
  const std::string path = dir.path() + "/nodefit";
  ASSERT_TRUE(WriteNfdFeatures(path, features, "nodefit-").ok());
  NfdConfig nfd;
  nfd.features_dir = dir.path();
  EXPECT_EQ(Names(ReadNfdFeatures(nfd)), features);
  // Rewriting replaces the file.
  ASSERT_TRUE(WriteNfdFeatures(path, {"znver4"}, "nodefit-").ok());
  EXPECT_THAT(Names(ReadNfdFeatures(nfd)), ElementsAre("znver4"));

  const absl::Status bad =
      WriteNfdFeatures("/nonexistent/dir/nodefit", features, "nodefit-");
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.message()), HasSubstr("/nonexistent/dir"));
}

}  // namespace
}  // namespace nodefit
