// `nodefit index create` against the real docker-registry 2.8.2: the seed's
// manifest-tool file with the testbed's per-build images, built and pushed
// anonymously, with htpasswd Basic auth and with token auth (the testbed's
// token server); blobs mounted across repositories and counted in the
// registry's log; a source on a second registry streamed (nodefit's peak
// RSS measured while it copies a 500 MB layer); then containerd pulling,
// through nodefit, the build each node profile should get.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/registry.h"
#include "integration/testbed/token_server.h"
#include "nlohmann/json.hpp"
#include "resolver/registry/digest.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kIndexAccept[] =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

// The seed's per-build images: where its pipeline pushed each build.
struct SeedSource {
  std::string build;  // testbed::SeedBuilds() name
  std::string image;  // repository:tag, as in the seed's file
};
const std::vector<SeedSource>& SeedSources() {
  static const auto* const kSources = new std::vector<SeedSource>{
      {"generic", "qnib/cv-tf-dev:1.12.0-rev11"},
      {"broadwell", "qnib/cv-tf-dev:broadwell_1.12.0-rev11"},
      {"skylake", "qnib/cv-tf-dev:skylake_1.12.0-rev11"},
      {"skylake-avx512", "qnib/cv-tf-dev:skylake512_1.12.0-rev11"},
      {"broadwell-nvcap52-nvidia39644",
       "qnib/cv-nccl92-tf-dev:broadwell_nvcap52_1.12.0-rev2"},
  };
  return *kSources;
}

// The seed's manifest-tool YAML, on `host`, pushed as `target`.
std::string SeedSpec(const std::string& host, const std::string& target) {
  std::string yaml =
      absl::StrCat("image: ", host, "/", target, "\n", "manifests:\n");
  for (const testbed::BuildSpec& build : testbed::SeedBuilds()) {
    for (const SeedSource& s : SeedSources()) {
      if (s.build != build.name) continue;
      absl::StrAppend(&yaml, "  - image: ", host, "/", s.image, "\n",
                      "    platform: {architecture: amd64, os: linux");
      if (!build.features.empty()) {
        absl::StrAppend(&yaml, ", features: [",
                        absl::StrJoin(build.features, ", "), "]");
      }
      absl::StrAppend(&yaml, "}\n");
    }
  }
  return yaml;
}

class IndexCreateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testbed::ShortTempDir());
    const std::string& d = *dir_;
    const std::string storage = d + "/storage";
    plain_ = Keep(testbed::RegistryServer::Start(Options(storage, "plain")));
    ASSERT_NE(plain_, nullptr);
    for (const SeedSource& s : SeedSources()) {
      const size_t colon = s.image.find(':');
      for (const testbed::BuildSpec& build : testbed::SeedBuilds()) {
        if (build.name != s.build) continue;
        absl::StatusOr<testbed::PushedBuild> pushed = testbed::PushBuildImage(
            plain_->host_port(), s.image.substr(0, colon),
            s.image.substr(colon + 1), build);
        ASSERT_TRUE(pushed.ok()) << pushed.status();
        (*builds_)[build.name] = *pushed;
      }
    }
    basic_ = Keep(testbed::StartBasicAuthRegistry(
        Options(storage, "basic"), "publisher", "publisher-secret"));
    ASSERT_NE(basic_, nullptr);
    absl::StatusOr<std::unique_ptr<testbed::TokenServer>> token_server =
        testbed::StartSignedTokenServer(d, "ci", "ci-token-secret");
    ASSERT_TRUE(token_server.ok()) << token_server.status();
    token_server_ = token_server->release();
    token_ = Keep(testbed::StartTokenAuthRegistry(Options(storage, "token"),
                                                  *token_server_));
    ASSERT_NE(token_, nullptr);
  }

  static void TearDownTestSuite() {
    delete token_;
    delete token_server_;
    delete basic_;
    delete plain_;
    if (dir_ != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*dir_, ignored);
    }
    delete dir_;
  }

  static testbed::RegistryOptions Options(const std::string& storage,
                                          const std::string& name) {
    testbed::RegistryOptions options;
    options.storage_dir = storage;
    options.work_dir = *dir_;
    options.name = name;
    return options;
  }

  // The started registry, owned by the suite, or null (and a failure).
  static testbed::RegistryServer* Keep(
      absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> started) {
    EXPECT_TRUE(started.ok()) << started.status();
    return started.ok() ? started->release() : nullptr;
  }

  // What the registry serves under `repository:reference` (read through the
  // anonymous server, which shares the storage), with its media type.
  static std::pair<std::string, std::string> Served(
      const std::string& repository, const std::string& reference) {
    httplib::Client client(plain_->url());
    auto r =
        client.Get(absl::StrCat("/v2/", repository, "/manifests/", reference),
                   {{"Accept", kIndexAccept}});
    if (!r || r->status != 200) return {"", ""};
    return {r->body, r->get_header_value("Content-Type")};
  }

  static nlohmann::json Credentials(const testbed::RegistryServer& r,
                                    const std::string& user,
                                    const std::string& password) {
    return {{"registries",
             {{r.host_port(), {{"username", user}, {"password", password}}}}}};
  }

  static std::string* dir_;
  static testbed::RegistryServer* plain_;
  static testbed::RegistryServer* basic_;
  static testbed::RegistryServer* token_;
  static testbed::TokenServer* token_server_;
  static std::map<std::string, testbed::PushedBuild>* builds_;
};

std::string* IndexCreateTest::dir_ = nullptr;
testbed::RegistryServer* IndexCreateTest::plain_ = nullptr;
testbed::RegistryServer* IndexCreateTest::basic_ = nullptr;
testbed::RegistryServer* IndexCreateTest::token_ = nullptr;
testbed::TokenServer* IndexCreateTest::token_server_ = nullptr;
std::map<std::string, testbed::PushedBuild>* IndexCreateTest::builds_ =
    new std::map<std::string, testbed::PushedBuild>();

TEST_F(IndexCreateTest, SeedFileBuiltAndPushedAnonymouslyWithBasicAndToken) {
  struct Mode {
    std::string name;
    testbed::RegistryServer* registry;
    nlohmann::json config;
  };
  const Mode modes[] = {
      {"anonymous", plain_, nlohmann::json::object()},
      {"htpasswd", basic_,
       Credentials(*basic_, "publisher", "publisher-secret")},
      {"token", token_, Credentials(*token_, "ci", "ci-token-secret")},
  };
  for (const Mode& mode : modes) {
    SCOPED_TRACE(mode.name);
    const std::string host = mode.registry->host_port();
    const std::string repository = "qnib/cv-tf-" + mode.name;
    const std::string target =
        absl::StrCat(host, "/", repository, ":1.12.0-rev9");
    const int tokens_before = token_server_->requests();
    absl::StatusOr<testbed::CreatedIndexFile> created =
        testbed::CreateIndexWithNodefit(
            SeedSpec(host, repository + ":1.12.0-rev9"), target, mode.config);
    ASSERT_TRUE(created.ok()) << created.status();
    // What was pushed is byte for byte what --output wrote.
    const auto [served, type] = Served(repository, "1.12.0-rev9");
    EXPECT_EQ(served, created->index);
    EXPECT_EQ(type, "application/vnd.oci.image.index.v1+json");
    // Entries in the file's order, with the file's features, each naming the
    // build's own manifest.
    nlohmann::json index = nlohmann::json::parse(created->index);
    const std::vector<testbed::BuildSpec> seed = testbed::SeedBuilds();
    ASSERT_EQ(index["manifests"].size(), seed.size());
    for (size_t i = 0; i < seed.size(); ++i) {
      const nlohmann::json& entry = index["manifests"][i];
      EXPECT_EQ(entry["digest"], builds_->at(seed[i].name).manifest_digest);
      EXPECT_EQ(entry.value("platform", nlohmann::json())
                    .value("features", std::vector<std::string>()),
                seed[i].features);
    }
    // Every blob (a config and a layer per build) mounted, none uploaded.
    EXPECT_EQ(
        mode.registry->CountRequests(
            "POST", absl::StrCat("/v2/", repository, "/blobs/uploads/?mount="),
            201),
        2 * static_cast<int>(seed.size()))
        << mode.registry->log();
    EXPECT_EQ(mode.registry->CountRequests(
                  "PATCH", absl::StrCat("/v2/", repository, "/blobs/uploads/")),
              0);
    EXPECT_THAT(created->output, HasSubstr("10 mounted, 0 copied"));
    if (mode.name == "token") {
      EXPECT_GT(token_server_->requests(), tokens_before);
    }
    // Pushed a second time: every blob is already there.
    absl::StatusOr<testbed::CreatedIndexFile> again =
        testbed::CreateIndexWithNodefit(
            SeedSpec(host, repository + ":1.12.0-rev9"), target, mode.config);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->index, created->index);
    EXPECT_THAT(again->output, HasSubstr("0 mounted, 0 copied (0 bytes), 10"));
  }
}

TEST_F(IndexCreateTest, WrongCredentialsFailClearlyAndTagNothing) {
  const std::string host = basic_->host_port();
  const std::string target = absl::StrCat(host, "/qnib/cv-tf-refused:1");
  absl::StatusOr<testbed::CreatedIndexFile> created =
      testbed::CreateIndexWithNodefit(
          SeedSpec(host, "qnib/cv-tf-refused:1"), target,
          Credentials(*basic_, "publisher", "wrong"));
  ASSERT_FALSE(created.ok());
  EXPECT_THAT(created.status().message(), HasSubstr("401 from " + host));
  EXPECT_THAT(created.status().message(), Not(HasSubstr("wrong")));
  EXPECT_EQ(Served("qnib/cv-tf-refused", "1").first, "");
}

TEST_F(IndexCreateTest, DockerListCanonicalSpellingsAndPlatformFromConfig) {
  const std::string host = plain_->host_port();
  absl::StatusOr<testbed::PushedBuild> arm =
      testbed::PushBuildImage(host, "qnib/cv-tf-dev", "arm64_1.12.0-rev11",
                              {"arm64", "linux", "arm64", "v8", {}, 0});
  ASSERT_TRUE(arm.ok()) << arm.status();
  const std::string spec = absl::StrCat(
      "image: ", host, "/qnib/cv-tf-list:1\n", "tags: [latest]\n",
      "manifests:\n", "  - image: ", host,
      "/qnib/cv-tf-dev:skylake512_1.12.0-rev11\n",
      "    platform: {architecture: amd64, os: linux, features: "
      "[Skylake512]}\n",
      "    annotations: {org.opencontainers.image.title: avx512}\n",
      "  - image: ", host, "/qnib/cv-tf-dev:arm64_1.12.0-rev11\n");
  absl::StatusOr<testbed::CreatedIndexFile> created =
      testbed::CreateIndexWithNodefit(
          spec, absl::StrCat(host, "/qnib/cv-tf-list:1"),
          nlohmann::json::object(), {"--docker", "--canonical"});
  ASSERT_TRUE(created.ok()) << created.status();
  nlohmann::json list = nlohmann::json::parse(created->index);
  EXPECT_EQ(list["mediaType"],
            "application/vnd.docker.distribution.manifest.list.v2+json");
  EXPECT_EQ(list["manifests"][0]["platform"]["features"],
            nlohmann::json({"skylake-avx512"}));
  EXPECT_EQ(
      list["manifests"][0]["annotations"]["org.opencontainers.image.title"],
      "avx512");
  // The second entry's platform came from its image config.
  EXPECT_EQ(
      list["manifests"][1]["platform"],
      nlohmann::json(
          {{"architecture", "arm64"}, {"os", "linux"}, {"variant", "v8"}}));
  for (const char* tag : {"1", "latest"}) {
    const auto [served, type] = Served("qnib/cv-tf-list", tag);
    EXPECT_EQ(served, created->index) << tag;
    EXPECT_EQ(type,
              "application/vnd.docker.distribution.manifest.list.v2+json");
  }
}

// A spec that contradicts the image's own config is refused: an arm64
// build listed as amd64 would send amd64 nodes a build they cannot run.
TEST_F(IndexCreateTest, ASpecContradictingTheImageConfigIsRefused) {
  const std::string host = plain_->host_port();
  absl::StatusOr<testbed::PushedBuild> arm = testbed::PushBuildImage(
      host, "qnib/cv-tf-dev", "arm64-mislabelled",
      {"arm64-mislabelled", "linux", "arm64", "", {}, 0});
  ASSERT_TRUE(arm.ok()) << arm.status();
  absl::StatusOr<testbed::CreatedIndexFile> created =
      testbed::CreateIndexWithNodefit(
          absl::StrCat("image: ", host, "/qnib/cv-tf-wrong:1\nmanifests:\n",
                       "  - image: ", host,
                       "/qnib/cv-tf-dev:arm64-mislabelled\n",
                       "    platform: {architecture: x86_64, os: linux, "
                       "features: [skylake]}\n"),
          absl::StrCat(host, "/qnib/cv-tf-wrong:1"), nlohmann::json::object());
  ASSERT_FALSE(created.ok());
  EXPECT_THAT(created.status().message(),
              HasSubstr("the spec says linux/amd64 but the image config says "
                        "linux/arm64"));
  EXPECT_EQ(Served("qnib/cv-tf-wrong", "1").first, "");
}

TEST_F(IndexCreateTest, AnIndexAsSourceGivesItsEntryForThePlatform) {
  const std::string host = plain_->host_port();
  absl::StatusOr<testbed::PushedImage> multi = testbed::PushMultiBuildImage(
      host, "vendor/app", "2",
      {{"app-amd64", "linux", "amd64", "", {}, 0},
       {"app-arm64", "linux", "arm64", "", {}, 0}});
  ASSERT_TRUE(multi.ok()) << multi.status();
  const std::string source = absl::StrCat(host, "/vendor/app:2");
  absl::StatusOr<testbed::CreatedIndexFile> created =
      testbed::CreateIndexWithNodefit(
          absl::StrCat("image: ", host, "/mine/app:2\nmanifests:\n",
                       "  - image: ", source, "\n",
                       "    platform: {os: linux, architecture: arm64, "
                       "features: [neoverse-n1]}\n"),
          absl::StrCat(host, "/mine/app:2"), nlohmann::json::object());
  ASSERT_TRUE(created.ok()) << created.status();
  nlohmann::json index = nlohmann::json::parse(created->index);
  EXPECT_EQ(index["manifests"][0]["digest"],
            multi->Find("app-arm64")->manifest_digest);
  // Without a platform nodefit cannot tell which entry is meant.
  absl::StatusOr<testbed::CreatedIndexFile> vague =
      testbed::CreateIndexWithNodefit(
          absl::StrCat("image: ", host, "/mine/app:3\nmanifests:\n",
                       "  - image: ", source, "\n"),
          absl::StrCat(host, "/mine/app:3"), nlohmann::json::object());
  ASSERT_FALSE(vague.ok());
  EXPECT_THAT(vague.status().message(),
              HasSubstr("manifests[0] (" + source + "): is an index"));
  EXPECT_EQ(Served("mine/app", "3").first, "");
}

// lint and matrix read a pushed index by reference as they read its file.
TEST_F(IndexCreateTest, LintAndMatrixReadThePushedIndexByReference) {
  const std::string host = plain_->host_port();
  const std::string ref = absl::StrCat(host, "/qnib/cv-tf-read:1");
  absl::StatusOr<testbed::CreatedIndexFile> created =
      testbed::CreateIndexWithNodefit(SeedSpec(host, "qnib/cv-tf-read:1"), ref,
                                      nlohmann::json::object());
  ASSERT_TRUE(created.ok()) << created.status();
  testing::TempDir dir;
  const std::string file = dir.Write("index.json", created->index);
  const std::string config = dir.Write("config.json", "{}");
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"lint"}, {"lint", "--json"}, {"matrix", "--format", "json"}}) {
    SCOPED_TRACE(absl::StrJoin(args, " "));
    std::vector<std::string> by_ref = {NODEFIT_BINARY, "index", args[0], ref,
                                       "--config",     config};
    std::vector<std::string> by_file = {NODEFIT_BINARY, "index",    args[0],
                                        file,           "--config", config};
    by_ref.insert(by_ref.end(), args.begin() + 1, args.end());
    by_file.insert(by_file.end(), args.begin() + 1, args.end());
    const testing::RunResult from_registry = testing::Run(by_ref);
    const testing::RunResult from_file = testing::Run(by_file);
    EXPECT_EQ(from_registry.exit_code, from_file.exit_code)
        << from_registry.err;
    EXPECT_LE(from_registry.exit_code, 1) << from_registry.out;
    EXPECT_EQ(from_registry.out, from_file.out);
  }
  const testing::RunResult missing =
      testing::Run({NODEFIT_BINARY, "index", "lint",
                    absl::StrCat(host, "/qnib/none:1"), "--config", config});
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_THAT(missing.err, HasSubstr("404 from " + host));
}

// Must show 1's last part: containerd, pulling the pushed index through
// nodefit, gets the build each profile should get.
TEST_F(IndexCreateTest, ContainerdPullsThroughNodefitTheBuildOfEachProfile) {
  const std::string host = plain_->host_port();
  ASSERT_TRUE(testbed::CreateIndexWithNodefit(
                  SeedSpec(host, "qnib/cv-tf:1.12.0-rev9"),
                  absl::StrCat(host, "/qnib/cv-tf:1.12.0-rev9"),
                  nlohmann::json::object())
                  .ok());
  std::filesystem::create_directories(*dir_ + "/ctd");
  const struct {
    std::string node;
    std::vector<std::string> features;
    std::string build;
  } cases[] = {
      {"featureless", {}, "generic"},
      {"skylake", {"skylake"}, "skylake"},
      {"avx512", {"skylake-avx512"}, "skylake-avx512"},
      {"m60",
       {"broadwell", "nv-compute-5-2", "nvidia-396-44"},
       "broadwell-nvcap52-nvidia39644"},
  };
  absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> containerd =
      testbed::ContainerdServer::Start({*dir_ + "/ctd", *dir_ + "/certs-none"});
  ASSERT_TRUE(containerd.ok()) << containerd.status();
  const std::string ref = absl::StrCat(host, "/qnib/cv-tf:1.12.0-rev9");
  for (const auto& c : cases) {
    SCOPED_TRACE(c.node);
    absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> nodefit =
        testbed::NodefitProcess::Start(NODEFIT_BINARY, *dir_, "nf-" + c.node,
                                       {{"platform", "linux/amd64"},
                                        {"features", c.features},
                                        {"detect", false},
                                        {"on_no_match", "fail"}});
    ASSERT_TRUE(nodefit.ok()) << nodefit.status();
    const std::string certs = *dir_ + "/certs-" + c.node;
    plain_->WriteHostsToml(certs);
    ASSERT_TRUE(testbed::RunCommand((*nodefit)->HostsInstall(certs)).ok());
    const std::string ns = "node-" + c.node;
    absl::StatusOr<std::string> pulled = (*containerd)->Pull(ns, ref, certs);
    ASSERT_TRUE(pulled.ok()) << pulled.status();
    EXPECT_EQ(*(*containerd)->ReadImageFile(ns, ref, "etc/variant"),
              c.build + "\n");
    EXPECT_EQ(*(*containerd)->ImageTarget(ns, ref),
              builds_->at(c.build).manifest_digest);
  }
}

// Must show 2: a build on another registry is copied in chunks; nodefit's
// peak RSS stays under 64 MB while it copies a 500 MB layer.
TEST_F(IndexCreateTest, ASourceOnAnotherRegistryIsStreamedNotHeld) {
  constexpr uint64_t kLayerBytes = 500ULL << 20;
  testbed::RegistryServer* other = Keep(testbed::RegistryServer::Start(
      Options(*dir_ + "/other-storage", "other")));
  ASSERT_NE(other, nullptr);
  std::unique_ptr<testbed::RegistryServer> other_owner(other);
  absl::StatusOr<testbed::PushedBuild> big = testbed::PushBuildImage(
      other->host_port(), "vendor/big", "1",
      {"big", "linux", "amd64", "", {"skylake"}, kLayerBytes});
  ASSERT_TRUE(big.ok()) << big.status();
  ASSERT_GE(big->layer_bytes, kLayerBytes);
  const std::string host = plain_->host_port();
  const std::string spec = absl::StrCat(
      "image: ", host, "/qnib/cv-tf-big:1\nmanifests:\n", "  - image: ", host,
      "/qnib/cv-tf-dev:1.12.0-rev11\n",
      "    platform: {architecture: amd64, os: linux}\n",
      "  - image: ", other->host_port(), "/vendor/big:1\n",
      "    platform: {architecture: amd64, os: linux, features: [skylake]}\n");
  absl::StatusOr<testbed::CreatedIndexFile> created =
      testbed::CreateIndexWithNodefit(spec,
                                      absl::StrCat(host, "/qnib/cv-tf-big:1"),
                                      nlohmann::json::object());
  ASSERT_TRUE(created.ok()) << created.status();
  // nodefit's own peak (wait4 of that process), not any other child's.
  ASSERT_GT(created->peak_rss_kb, 0);
  std::cout << "nodefit index create copying a " << big->layer_bytes
            << "-byte layer: peak RSS " << created->peak_rss_kb / 1024
            << " MB\n";
  EXPECT_LT(created->peak_rss_kb, 64 * 1024);
  EXPECT_THAT(created->output, HasSubstr("2 copied"));
  // The copy went in chunks, and the registry has the layer whole.
  EXPECT_GE(
      plain_->CountRequests("PATCH", "/v2/qnib/cv-tf-big/blobs/uploads/", 202),
      static_cast<int>(big->layer_bytes / (8 << 20)));
  EXPECT_GE(other->CountRequests("GET", "/v2/vendor/big/blobs/", 206),
            static_cast<int>(big->layer_bytes / (8 << 20)));
  nlohmann::json index = nlohmann::json::parse(created->index);
  EXPECT_EQ(index["manifests"][1]["digest"], big->manifest_digest);
  httplib::Client client(plain_->url());
  auto manifest = client.Get(
      absl::StrCat("/v2/qnib/cv-tf-big/manifests/", big->manifest_digest),
      {{"Accept", "application/vnd.oci.image.manifest.v1+json"}});
  ASSERT_TRUE(manifest && manifest->status == 200);
  const std::string layer_digest =
      nlohmann::json::parse(manifest->body)["layers"][0]["digest"];
  auto head = client.Head("/v2/qnib/cv-tf-big/blobs/" + layer_digest);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Length"),
            std::to_string(big->layer_bytes));
}

}  // namespace
}  // namespace nodefit
