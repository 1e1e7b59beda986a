// plugin/containerd/pull_path.h: where each containerd version's CRI pulls
// read hosts.toml, from config text as `containerd config dump` prints it.
#include "plugin/containerd/pull_path.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

ContainerdVersion V(const std::string& text) {
  return *ContainerdVersion::Parse(text);
}

PullPath Analyze(const std::string& version, const std::string& config) {
  absl::StatusOr<PullPath> path =
      AnalyzePullPath(V(version), config, "config.toml");
  EXPECT_TRUE(path.ok()) << path.status();
  return path.ok() ? *path : PullPath();
}

// Config version 3 with the CRI images table and the transfer service's
// unpack_config naming `snapshotter`.
std::string V3(const std::string& images_keys, const std::string& registry,
               const std::string& snapshotter = "overlayfs") {
  return "version = 3\n[plugins.'io.containerd.cri.v1.images']\n" +
         images_keys + "\n[plugins.'io.containerd.cri.v1.images'.registry]\n" +
         registry + "\n[[plugins.'io.containerd.transfer.v1.local'." +
         "unpack_config]]\n  platform = 'linux/amd64'\n  snapshotter = '" +
         snapshotter + "'\n";
}

TEST(ContainerdVersionTest, ParsesWhatContainerdsPrint) {
  EXPECT_EQ(V("1.6.20~ds1").text, "1.6.20");
  EXPECT_EQ(V("v2.4.2").major, 2);
  EXPECT_EQ(V("2.4.0-beta.1").minor, 4);
  EXPECT_EQ(V("2.1.9").patch, 9);
  EXPECT_TRUE(V("2.2.0").AtLeast(2, 2));
  EXPECT_FALSE(V("2.1.9").AtLeast(2, 2));
  EXPECT_FALSE(ContainerdVersion::Parse("containerd").ok());
  EXPECT_FALSE(ContainerdVersion::Parse("2").ok());
}

TEST(PullPathTest, OneSixReadsItsConfigPath) {
  const PullPath path =
      Analyze("1.6.20",
              "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]"
              "\n  config_path = \"/etc/containerd/certs.d\"\n");
  EXPECT_FALSE(path.transfer_service);
  EXPECT_THAT(path.hosts_dirs, ElementsAre("/etc/containerd/certs.d"));
  EXPECT_THAT(path.problems, IsEmpty());
  EXPECT_EQ(path.registry_table,
            "plugins.\"io.containerd.grpc.v1.cri\".registry");
}

TEST(PullPathTest, NoConfigPathBefore22ReadsNothing) {
  for (const std::string version : {"1.7.35", "2.1.9"}) {
    SCOPED_TRACE(version);
    const PullPath path =
        Analyze(version, version[0] == '1' ? "version = 2\n"
                                           : V3("", "config_path = ''"));
    EXPECT_THAT(path.hosts_dirs, IsEmpty());
    ASSERT_EQ(path.problems.size(), 1u);
    EXPECT_THAT(path.problems[0].problem, HasSubstr("config_path is not set"));
    EXPECT_THAT(path.problems[0].fix,
                HasSubstr("config_path = \"/etc/containerd/certs.d\""));
  }
}

TEST(PullPathTest, LegacyMirrorsAreAProblem) {
  const PullPath path = Analyze(
      "1.6.20",
      "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors."
      "\"docker.io\"]\n  endpoint = [\"https://mirror.example\"]\n");
  ASSERT_EQ(path.problems.size(), 1u);
  EXPECT_THAT(path.problems[0].problem,
              HasSubstr("deprecated registry.mirrors is set"));
}

TEST(PullPathTest, TwoZeroSplitsAListAndPullsLocally) {
  const PullPath path =
      Analyze("2.0.14", V3("", "config_path = '/a/certs.d:/b/certs.d'"));
  EXPECT_FALSE(path.transfer_service);
  EXPECT_THAT(path.hosts_dirs, ElementsAre("/a/certs.d", "/b/certs.d"));
  EXPECT_THAT(path.problems, IsEmpty());
}

TEST(PullPathTest, TransferServiceWithAListReadsNothing) {
  const PullPath path =
      Analyze("2.1.9", V3("", "config_path = '/a/certs.d:/b/certs.d'"));
  EXPECT_TRUE(path.transfer_service);
  ASSERT_EQ(path.problems.size(), 1u);
  EXPECT_THAT(path.problems[0].problem, HasSubstr("a list"));
  EXPECT_THAT(path.problems[0].problem, HasSubstr("issue 12808"));
  EXPECT_THAT(path.problems[0].fix, HasSubstr("config_path = \"/a/certs.d\""));
}

TEST(PullPathTest, TheDefaultFrom22IsTheTrap) {
  const PullPath path = Analyze("2.2.9", V3("", "config_path = ''"));
  EXPECT_TRUE(path.config_path_is_default);
  EXPECT_EQ(path.config_path, "/etc/containerd/certs.d:/etc/docker/certs.d");
  ASSERT_EQ(path.problems.size(), 1u);
  EXPECT_THAT(path.problems[0].problem, HasSubstr("(containerd's default)"));
  EXPECT_THAT(path.problems[0].fix,
              HasSubstr("config_path = \"/etc/containerd/certs.d\""));
}

TEST(PullPathTest, LocalPullSettingsSplitTheList) {
  for (const std::string keys :
       {"use_local_image_pull = true", "max_concurrent_downloads = 5",
        "discard_unpacked_layers = true", "image_pull_with_sync_fs = true",
        "disable_snapshot_annotations = false"}) {
    SCOPED_TRACE(keys);
    const PullPath path = Analyze("2.4.2", V3(keys, "config_path = ''"));
    EXPECT_FALSE(path.transfer_service);
    EXPECT_FALSE(path.local_pull_reason.empty());
    EXPECT_THAT(path.hosts_dirs,
                ElementsAre("/etc/containerd/certs.d", "/etc/docker/certs.d"));
    EXPECT_THAT(path.problems, IsEmpty());
  }
}

TEST(PullPathTest, UnpackConfigMustNameCrisSnapshotter) {
  const std::string registry = "config_path = '/etc/containerd/certs.d'";
  EXPECT_THAT(Analyze("2.4.2", V3("snapshotter = 'native'", registry, "native"))
                  .problems,
              IsEmpty());
  const PullPath path =
      Analyze("2.4.2", V3("snapshotter = 'native'", registry, "overlayfs"));
  ASSERT_EQ(path.problems.size(), 1u);
  EXPECT_THAT(path.problems[0].problem, HasSubstr("unpack_config"));
  EXPECT_THAT(path.problems[0].fix, HasSubstr("snapshotter = \"native\""));
  // Without unpack_config the transfer service unpacks onto overlayfs.
  EXPECT_THAT(Analyze("2.4.2",
                      "version = 3\n[plugins.'io.containerd.cri.v1."
                      "images'.registry]\n" +
                          registry + "\n")
                  .problems,
              IsEmpty());
}

TEST(PullPathTest, AnUnmigratedFileOnTwoX) {
  const PullPath path =
      Analyze("2.0.14",
              "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".registry]"
              "\n  config_path = \"/etc/containerd/certs.d\"\n");
  EXPECT_THAT(path.hosts_dirs, ElementsAre("/etc/containerd/certs.d"));
}

TEST(PullPathTest, BadTomlIsNamed) {
  absl::StatusOr<PullPath> path =
      AnalyzePullPath(V("2.4.2"), "version = [", "config.toml");
  ASSERT_FALSE(path.ok());
  EXPECT_THAT(std::string(path.status().message()),
              HasSubstr("cannot parse config.toml"));
}

}  // namespace
}  // namespace nodefit
