// nodefit's container image end to end: scripts/image assembles it from the
// shipped binary and pushes it to the real docker-registry; the real
// containerd pulls it and runs `nodefit version` and `nodefit features
// --json` inside it (`ctr run`); its labels name the version and commit.
#include <filesystem>
#include <fstream>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/registry.h"
#include "integration/testbed/subprocess.h"
#include "nlohmann/json.hpp"

namespace nodefit {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// The DaemonSet's limit on what a node downloads for nodefit.
constexpr double kMaxCompressedBytes = 40e6;

std::string WithoutNotes(const std::string& output) {
  std::string kept;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (absl::StartsWith(line, "nodefit features: note:")) continue;
    absl::StrAppend(&kept, line, "\n");
  }
  return kept;
}

TEST(ImageTest, BuiltPushedPulledAndRunByContainerd) {
  const std::string dir = testbed::ShortTempDir();
  ASSERT_FALSE(dir.empty());
  testbed::RegistryOptions options;
  options.storage_dir = dir + "/storage";
  options.work_dir = dir;
  absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> registry =
      testbed::RegistryServer::Start(options);
  ASSERT_TRUE(registry.ok()) << registry.status();
  const std::string host = (*registry)->host_port();

  // The binary's own version line, to compare with what runs in the image.
  absl::StatusOr<std::string> version =
      testbed::RunCommand({NODEFIT_RELEASE_BINARY, "version"});
  ASSERT_TRUE(version.ok()) << version.status();
  std::smatch parts;
  ASSERT_TRUE(std::regex_search(
      *version, parts, std::regex("nodefit (\\S+) \\(commit ([^,]+),")))
      << *version;
  const std::string release = parts[1], commit = parts[2];

  const std::string reference = host + "/nodefit/nodefit:" + release;
  absl::StatusOr<std::string> built =
      testbed::RunCommand({NODEFIT_SOURCE_DIR "/scripts/image", "--binary",
                           NODEFIT_RELEASE_BINARY, "--out", dir + "/layout",
                           "--push", host + "/nodefit/nodefit", "--insecure"},
                          absl::Minutes(5));
  ASSERT_TRUE(built.ok()) << built.status();
  std::cout << *built;
  EXPECT_THAT(*built, HasSubstr("image: pushed " + reference));
  std::smatch size_match;
  ASSERT_TRUE(std::regex_search(*built, size_match,
                                std::regex("compressed size ([0-9]+) bytes")));
  double compressed = 0;
  ASSERT_TRUE(absl::SimpleAtod(size_match[1].str(), &compressed));
  EXPECT_LT(compressed, kMaxCompressedBytes);

  // What the registry holds: the manifest's layers add up to the printed
  // size, and the config carries the OCI labels.
  httplib::Client client("127.0.0.1", (*registry)->port());
  httplib::Headers accept = {
      {"Accept", "application/vnd.oci.image.manifest.v1+json"}};
  auto manifest_response =
      client.Get("/v2/nodefit/nodefit/manifests/" + release, accept);
  ASSERT_TRUE(manifest_response);
  ASSERT_EQ(manifest_response->status, 200);
  const nlohmann::json manifest =
      nlohmann::json::parse(manifest_response->body);
  double pushed = static_cast<double>(manifest_response->body.size()) +
                  manifest["config"]["size"].get<double>();
  for (const nlohmann::json& layer : manifest["layers"]) {
    pushed += layer["size"].get<double>();
  }
  EXPECT_EQ(pushed, compressed);
  auto config_response =
      client.Get("/v2/nodefit/nodefit/blobs/" +
                 manifest["config"]["digest"].get<std::string>());
  ASSERT_TRUE(config_response);
  const nlohmann::json labels =
      nlohmann::json::parse(config_response->body)["config"]["Labels"];
  EXPECT_EQ(labels["org.opencontainers.image.version"], release);
  EXPECT_EQ(labels["org.opencontainers.image.revision"], commit);
  EXPECT_EQ(manifest["annotations"]["org.opencontainers.image.revision"],
            commit);

  // The real containerd pulls it over plain http and runs it.
  const std::string certs = dir + "/certs";
  std::filesystem::create_directories(certs + "/" + host);
  std::ofstream(certs + "/" + host + "/hosts.toml")
      << "server = \"http://" << host << "\"\n"
      << "[host.\"http://" << host << "\"]\n"
      << "  capabilities = [\"pull\", \"resolve\"]\n";
  std::filesystem::create_directories(dir + "/ctd");
  absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> containerd =
      testbed::ContainerdServer::Start({dir + "/ctd", certs});
  ASSERT_TRUE(containerd.ok()) << containerd.status();
  absl::StatusOr<std::string> pulled =
      (*containerd)->Pull("default", reference, certs);
  ASSERT_TRUE(pulled.ok()) << pulled.status();

  absl::StatusOr<std::string> inside =
      (*containerd)
          ->Run("default", reference, "nodefit-version",
                {"/usr/bin/nodefit", "version"});
  ASSERT_TRUE(inside.ok()) << inside.status();
  EXPECT_EQ(*inside, *version);

  absl::StatusOr<std::string> features =
      (*containerd)
          ->Run("default", reference, "nodefit-features",
                {"/usr/bin/nodefit", "features", "--json"});
  ASSERT_TRUE(features.ok()) << features.status();
  const nlohmann::json profile =
      nlohmann::json::parse(WithoutNotes(*features), nullptr, false);
  ASSERT_FALSE(profile.is_discarded()) << *features;
  EXPECT_THAT(profile["platform"].get<std::string>(), StartsWith("linux/"));
  EXPECT_TRUE(profile["features"].is_array()) << profile.dump();

  (*containerd)->Stop();
  (*registry)->Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nodefit
