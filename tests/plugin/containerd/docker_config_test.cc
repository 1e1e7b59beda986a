// plugin/containerd/docker_config.h: reading Docker's daemon.json as Docker
// does (moby: daemon/pkg/registry/config.go), which registries Docker
// treats as insecure, and what `nodefit hosts install` carries over.
#include "plugin/containerd/docker_config.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

DockerRegistryConfig Parse(const std::string& json) {
  absl::StatusOr<DockerRegistryConfig> config =
      ParseDockerDaemonJson(json, "/etc/docker/daemon.json");
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : DockerRegistryConfig();
}

TEST(ParseDockerDaemonJsonTest, MirrorsAsDockerKeepsThem) {
  const DockerRegistryConfig config = Parse(R"({
    "debug": true,
    "registry-mirrors": ["https://mirror.example/", "HTTP://127.0.0.1:5000",
                         "https://mirror.example", "https://m.example/base/"]
  })");
  EXPECT_THAT(config.mirrors,
              ElementsAre("https://mirror.example", "http://127.0.0.1:5000",
                          "https://m.example/base"));
  EXPECT_THAT(config.insecure_hosts, IsEmpty());
  EXPECT_THAT(Parse("{}").mirrors, IsEmpty());
}

TEST(ParseDockerDaemonJsonTest, InsecureHostsAndRanges) {
  const DockerRegistryConfig config = Parse(R"({
    "insecure-registries": ["reg.example:5000", "http://plain.example",
                            "10.0.0.0/8", "index.docker.io", "fd00::/8"]
  })");
  EXPECT_THAT(config.insecure_hosts,
              ElementsAre("reg.example:5000", "plain.example", "docker.io"));
  EXPECT_THAT(config.insecure_cidrs, ElementsAre("10.0.0.0/8", "fd00::/8"));
}

TEST(ParseDockerDaemonJsonTest, RefusesWhatDockerRefuses) {
  for (const char* bad : {
           R"({"registry-mirrors": ["mirror.example"]})",
           R"({"registry-mirrors": ["ftp://mirror.example"]})",
           R"({"registry-mirrors": ["https://m.example/?x=1"]})",
           R"({"registry-mirrors": ["https://user:pw@m.example"]})",
           R"({"registry-mirrors": "https://m.example"})",
           R"({"registry-mirrors": [1]})",
           R"({"insecure-registries": ["ftp://reg.example"]})",
           R"({"insecure-registries": ["not a host"]})",
           R"([])",
           R"({)",
       }) {
    const absl::StatusOr<DockerRegistryConfig> config =
        ParseDockerDaemonJson(bad, "/etc/docker/daemon.json");
    EXPECT_TRUE(absl::IsInvalidArgument(config.status()))
        << bad << ": " << config.status();
    EXPECT_THAT(config.status().message(),
                HasSubstr("/etc/docker/daemon.json"));
  }
}

TEST(LoadDockerDaemonJsonTest, MissingIsNotFound) {
  testing::TempDir dir;
  EXPECT_TRUE(absl::IsNotFound(
      LoadDockerDaemonJson(dir.path() + "/daemon.json").status()));
  const std::string path = dir.Write(
      "daemon.json", R"({"registry-mirrors": ["https://m.example"]})");
  absl::StatusOr<DockerRegistryConfig> config = LoadDockerDaemonJson(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->mirrors, ElementsAre("https://m.example"));
}

TEST(DockerTreatsAsInsecureTest, ListedHostsRangesAndLoopback) {
  const DockerRegistryConfig config =
      Parse(R"({"insecure-registries": ["reg.example:5000", "10.0.0.0/8"]})");
  EXPECT_TRUE(DockerTreatsAsInsecure(config, "reg.example:5000"));
  EXPECT_FALSE(DockerTreatsAsInsecure(config, "reg.example"));
  EXPECT_TRUE(DockerTreatsAsInsecure(config, "10.1.2.3:5000"));
  EXPECT_TRUE(DockerTreatsAsInsecure(config, "10.1.2.3"));
  EXPECT_FALSE(DockerTreatsAsInsecure(config, "11.1.2.3:5000"));
  // Docker's own loopback ranges, and localhost (which it resolves).
  EXPECT_TRUE(DockerTreatsAsInsecure(config, "127.0.0.1:5000"));
  EXPECT_TRUE(DockerTreatsAsInsecure(config, "127.9.9.9"));
  EXPECT_TRUE(DockerTreatsAsInsecure(config, "[::1]:5000"));
  EXPECT_TRUE(DockerTreatsAsInsecure(config, "localhost:5000"));
  // Names are not resolved.
  EXPECT_FALSE(DockerTreatsAsInsecure(config, "ten.example:5000"));
}

TEST(CidrContainsTest, PrefixBits) {
  EXPECT_TRUE(CidrContains("10.0.0.0/8", "10.255.0.1"));
  EXPECT_FALSE(CidrContains("10.0.0.0/8", "11.0.0.1"));
  EXPECT_TRUE(CidrContains("192.168.1.0/25", "192.168.1.127"));
  EXPECT_FALSE(CidrContains("192.168.1.0/25", "192.168.1.128"));
  EXPECT_TRUE(CidrContains("0.0.0.0/0", "8.8.8.8"));
  EXPECT_TRUE(CidrContains("1.2.3.4/32", "1.2.3.4"));
  EXPECT_TRUE(CidrContains("fd00::/8", "fd12::1"));
  EXPECT_FALSE(CidrContains("fd00::/8", "10.0.0.1"));
  EXPECT_FALSE(CidrContains("10.0.0.0/33", "10.0.0.1"));
  EXPECT_FALSE(CidrContains("10.0.0.0", "10.0.0.1"));
  EXPECT_FALSE(CidrContains("10.0.0.0/8", "reg.example"));
}

TEST(IsLocalRegistryHostTest, AsContainerdsIsLocalhost) {
  for (const char* local :
       {"localhost", "localhost:5000", "127.0.0.1", "127.0.0.1:5000",
        "127.1.2.3:80", "[::1]:5000", "::1"}) {
    EXPECT_TRUE(IsLocalRegistryHost(local)) << local;
  }
  for (const char* remote :
       {"docker.io", "10.0.0.1:5000", "[fd00::1]:5000", "localhost.example"}) {
    EXPECT_FALSE(IsLocalRegistryHost(remote)) << remote;
  }
}

TEST(MirrorHostTest, HostAndPort) {
  EXPECT_EQ(MirrorHost("http://127.0.0.1:5000"), "127.0.0.1:5000");
  EXPECT_EQ(MirrorHost("https://m.example/base"), "m.example");
  EXPECT_EQ(MirrorHost("https://[::1]:5000/x"), "[::1]:5000");
}

TEST(IsDockerCertsDirTest, DockersOwnDirectories) {
  EXPECT_TRUE(IsDockerCertsDir("/etc/docker/certs.d"));
  EXPECT_TRUE(IsDockerCertsDir("/etc/docker/certs.d/"));
  EXPECT_TRUE(IsDockerCertsDir("/home/u/.config/docker/certs.d"));
  EXPECT_FALSE(IsDockerCertsDir("/etc/containerd/certs.d"));
  EXPECT_FALSE(IsDockerCertsDir("/etc/mydocker/certs.d"));
  EXPECT_FALSE(IsDockerCertsDir("/etc/docker"));
  EXPECT_EQ(DockerDaemonJsonBeside("/etc/docker/certs.d/"),
            "/etc/docker/daemon.json");
}

TEST(DockerCarriedTest, MirrorsForDockerHubAndInsecureHostsForThemselves) {
  const DockerRegistryConfig config = Parse(R"({
    "registry-mirrors": ["http://127.0.0.1:5000", "https://m.example",
                         "https://insecure.example"],
    "insecure-registries": ["reg.example:5000", "insecure.example",
                            "localhost:5000", "docker.io"]
  })");
  std::vector<std::string> notes;
  absl::StatusOr<std::map<std::string, CarriedConfig>> carried =
      DockerCarried(config, {}, &notes);
  ASSERT_TRUE(carried.ok()) << carried.status();
  ASSERT_EQ(carried->count("docker.io"), 1U);
  const CarriedConfig& hub = carried->at("docker.io");
  EXPECT_FALSE(hub.insecure);  // Docker never treats Docker Hub so
  EXPECT_EQ(hub.mirrors,
            (std::vector<CarriedHost>{{"http://127.0.0.1:5000", true},
                                      {"https://m.example", false},
                                      {"https://insecure.example", true}}));
  ASSERT_EQ(carried->count("reg.example:5000"), 1U);
  EXPECT_TRUE(carried->at("reg.example:5000").insecure);
  EXPECT_TRUE(carried->at("insecure.example").insecure);
  // containerd itself treats a local registry as Docker does.
  EXPECT_EQ(carried->count("localhost:5000"), 0U);
  EXPECT_THAT(notes, IsEmpty());
  EXPECT_TRUE(DockerNeedsCarrying(config));
}

TEST(DockerCarriedTest, ARangeNeedsTheRegistriesNamed) {
  const DockerRegistryConfig config =
      Parse(R"({"insecure-registries": ["10.0.0.0/8", "127.0.0.0/8"]})");
  EXPECT_TRUE(DockerNeedsCarrying(config));
  std::vector<std::string> notes;
  for (const std::vector<std::string>& all :
       {std::vector<std::string>{}, std::vector<std::string>{"_default"}}) {
    const absl::Status status = DockerCarried(config, all, &notes).status();
    EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
    EXPECT_THAT(status.message(), HasSubstr("10.0.0.0/8"));
    EXPECT_THAT(status.message(), HasSubstr("--registry"));
  }
  absl::StatusOr<std::map<std::string, CarriedConfig>> carried = DockerCarried(
      config, {"10.1.2.3:5000", "11.0.0.1:5000", "reg.example"}, &notes);
  ASSERT_TRUE(carried.ok()) << carried.status();
  EXPECT_EQ(carried->size(), 1U);
  EXPECT_TRUE(carried->at("10.1.2.3:5000").insecure);
  EXPECT_THAT(notes, ElementsAre(HasSubstr("nodefit does not resolve names")));
}

TEST(DockerCarriedTest, LoopbackOnlyNeedsNothing) {
  const DockerRegistryConfig config = Parse(
      R"({"insecure-registries": ["127.0.0.1:5000", "::1/128"], "debug": true})");
  EXPECT_FALSE(DockerNeedsCarrying(config));
  std::vector<std::string> notes;
  absl::StatusOr<std::map<std::string, CarriedConfig>> carried =
      DockerCarried(config, {}, &notes);
  ASSERT_TRUE(carried.ok()) << carried.status();
  EXPECT_THAT(*carried, IsEmpty());
}

}  // namespace
}  // namespace nodefit
