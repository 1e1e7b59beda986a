// The resolver face with the real docker-registry and each containerd of
// the matrix (CTest runs it once per version): `nodefit hosts install`
// writes the hosts.toml tree, `nodefit serve` answers containerd's resolve
// requests, and `ctr` (on 2.x through the transfer service and with
// --local) and containerd's own CRI (on 2.1+ through the transfer service)
// pull the build each node profile should get.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/cri_client.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/registry.h"
#include "nlohmann/json.hpp"

namespace nodefit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Every regular file under `dir` with its bytes.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    const std::string rel =
        std::filesystem::relative(entry.path(), dir).string();
    files[rel] = entry.is_regular_file()
                     ? testbed::ReadFileOrEmpty(entry.path().string())
                     : "<dir>";
  }
  return files;
}

class ResolverFaceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testbed::ShortTempDir());
    const std::string& d = *dir_;
    testbed::RegistryOptions options;
    options.storage_dir = d + "/storage";
    options.work_dir = d;
    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> registry =
        testbed::RegistryServer::Start(options);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = registry->release();
    const std::string host = registry_->host_port();

    absl::StatusOr<testbed::PushedImage> tf = testbed::PushMultiBuildImage(
        host, "cv/tf", "latest", testbed::SeedBuilds());
    ASSERT_TRUE(tf.ok()) << tf.status();
    tf_ = new testbed::PushedImage(*tf);
    absl::StatusOr<testbed::PushedImage> plain = testbed::PushMultiBuildImage(
        host, "plain/app", "latest",
        {{"plain-amd64", "linux", "amd64", "", {}, 0},
         {"plain-arm64", "linux", "arm64", "", {}, 0}});
    ASSERT_TRUE(plain.ok()) << plain.status();
    plain_ = new testbed::PushedImage(*plain);
    absl::StatusOr<testbed::PushedImage> avx512 = testbed::PushMultiBuildImage(
        host, "only/avx512", "latest",
        {{"avx512-only", "linux", "amd64", "", {"skylake-avx512"}, 0}});
    ASSERT_TRUE(avx512.ok()) << avx512.status();

    // Node A: Skylake. Node B: Broadwell + Tesla M60 + driver 396.44.
    node_a_ = StartNode("a", {"skylake"});
    node_b_ = StartNode("b", {"broadwell", "nv-compute-5-2", "nvidia-396-44"});
    ASSERT_NE(node_a_, nullptr);
    ASSERT_NE(node_b_, nullptr);

    std::filesystem::create_directories(d + "/ctd");
    absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> containerd =
        testbed::ContainerdServer::Start({d + "/ctd", CertsDir("a")});
    ASSERT_TRUE(containerd.ok()) << containerd.status();
    containerd_ = containerd->release();
    std::cout << containerd_->peer().Name() << ": CRI pulls "
              << (containerd_->peer().CriPullsThroughTransferService()
                      ? "through the transfer service"
                      : "in the CRI plugin")
              << ", ctr pulls "
              << (containerd_->peer().CtrPullsThroughTransferService()
                      ? "through the transfer service"
                      : "on the client side")
              << "\n";
  }

  static void TearDownTestSuite() {
    delete containerd_;
    delete node_a_;
    delete node_b_;
    delete registry_;
    delete tf_;
    delete plain_;
    if (dir_ != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*dir_, ignored);
    }
    delete dir_;
  }

  static std::string CertsDir(const std::string& node) {
    return absl::StrCat(*dir_, "/certs-", node);
  }

  // A nodefit for one node profile, and its certs dir: a pre-existing
  // hosts.toml for the registry (with a comment and the server), then
  // `nodefit hosts install`.
  static testbed::NodefitProcess* StartNode(
      const std::string& name, const std::vector<std::string>& features) {
    absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> p =
        testbed::NodefitProcess::Start(NODEFIT_BINARY, *dir_, "nodefit-" + name,
                                       {{"platform", "linux/amd64"},
                                        {"features", features},
                                        {"detect", false},
                                        {"on_no_match", "fail"}});
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return nullptr;
    const std::string certs = CertsDir(name);
    const std::string registry_dir =
        absl::StrCat(certs, "/", registry_->host_port());
    std::filesystem::create_directories(registry_dir);
    std::ofstream(registry_dir + "/hosts.toml")
        << "# the test registry, plain http\n"
        << "server = \"" << registry_->url() << "\"\n";
    (*certs_before_)[name] = Snapshot(certs);
    absl::StatusOr<std::string> installed =
        testbed::RunCommand((*p)->HostsInstall(certs));
    EXPECT_TRUE(installed.ok()) << installed.status();
    return p->release();
  }

  static std::string Ref(const std::string& repo) {
    return absl::StrCat(registry_->host_port(), "/", repo, ":latest");
  }

  static std::string* dir_;
  static testbed::RegistryServer* registry_;
  static testbed::PushedImage* tf_;
  static testbed::PushedImage* plain_;
  static testbed::NodefitProcess* node_a_;
  static testbed::NodefitProcess* node_b_;
  static testbed::ContainerdServer* containerd_;
  static std::map<std::string, std::map<std::string, std::string>>*
      certs_before_;
};

std::string* ResolverFaceTest::dir_ = nullptr;
testbed::RegistryServer* ResolverFaceTest::registry_ = nullptr;
testbed::PushedImage* ResolverFaceTest::tf_ = nullptr;
testbed::PushedImage* ResolverFaceTest::plain_ = nullptr;
testbed::NodefitProcess* ResolverFaceTest::node_a_ = nullptr;
testbed::NodefitProcess* ResolverFaceTest::node_b_ = nullptr;
testbed::ContainerdServer* ResolverFaceTest::containerd_ = nullptr;
std::map<std::string, std::map<std::string, std::string>>*
    ResolverFaceTest::certs_before_ =
        new std::map<std::string, std::map<std::string, std::string>>();

TEST_F(ResolverFaceTest, CtrPullUnpacksTheBuildOfEachProfile) {
  const std::string ref = Ref("cv/tf");
  const struct {
    std::string node;
    std::string build;
  } cases[] = {{"a", "skylake"}, {"b", "broadwell-nvcap52-nvidia39644"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.node);
    const std::string ns = "node-" + c.node;
    absl::StatusOr<std::string> pulled =
        containerd_->Pull(ns, ref, CertsDir(c.node));
    ASSERT_TRUE(pulled.ok()) << pulled.status();
    absl::StatusOr<std::string> variant =
        containerd_->ReadImageFile(ns, ref, "etc/variant");
    ASSERT_TRUE(variant.ok()) << variant.status();
    EXPECT_EQ(*variant, c.build + "\n");
    // The tag points at the chosen manifest itself.
    EXPECT_EQ(*containerd_->ImageTarget(ns, ref),
              tf_->Find(c.build)->manifest_digest);
  }
  // Without nodefit (no hosts dir), containerd takes the first entry.
  absl::StatusOr<std::string> direct = containerd_->Ctr(
      "direct",
      {"images", "pull", "--plain-http", "--snapshotter", "native", ref});
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_EQ(*containerd_->ReadImageFile("direct", ref, "etc/variant"),
            "generic\n");
}

// ctr's two pull paths on 2.x: the transfer service (the default) and the
// client-side pull (--local); 1.x has the client-side one only.
TEST_F(ResolverFaceTest, CtrPullBothPathsUnpackTheBestBuild) {
  const std::string ref = Ref("cv/tf");
  std::vector<bool> paths = {false};
  if (containerd_->peer().major >= 2) paths.push_back(true);
  for (bool local : paths) {
    SCOPED_TRACE(local ? "ctr images pull --local" : "ctr images pull");
    const std::string ns = local ? "local-pull" : "default-pull";
    absl::StatusOr<std::string> pulled =
        containerd_->Pull(ns, ref, CertsDir("a"), local);
    ASSERT_TRUE(pulled.ok()) << pulled.status();
    EXPECT_EQ(*containerd_->ReadImageFile(ns, ref, "etc/variant"), "skylake\n");
    EXPECT_EQ(*containerd_->ImageTarget(ns, ref),
              tf_->Find("skylake")->manifest_digest);
  }
}

TEST_F(ResolverFaceTest, ContainerdsOwnCriPullGetsTheSameBuild) {
  testbed::CriClient cri(containerd_->address());
  const std::string ref = Ref("cv/tf");
  absl::StatusOr<runtime::v1::PullImageResponse> pulled = cri.PullImage(ref);
  ASSERT_TRUE(pulled.ok()) << pulled.status() << "\n" << node_a_->log();
  const std::string skylake_id = tf_->Find("skylake")->config_digest;
  EXPECT_EQ(pulled->image_ref(), skylake_id);
  absl::StatusOr<runtime::v1::ImageStatusResponse> status =
      cri.ImageStatus(ref);
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(status->has_image());
  EXPECT_EQ(status->image().id(), skylake_id);
  EXPECT_THAT(status->image().repo_tags(), ::testing::Contains(ref));
  EXPECT_EQ(*containerd_->ReadImageFile("k8s.io", ref, "etc/variant"),
            "skylake\n");
  // And it went the way this version's CRI pulls by default (containerd's
  // debug log, internal/cri/server/images/image_pull.go on 2.x).
  if (containerd_->peer().CriPullsThroughTransferService()) {
    EXPECT_THAT(containerd_->log(), HasSubstr("using transfer service"));
  } else if (containerd_->peer().major >= 2) {
    EXPECT_THAT(containerd_->log(), Not(HasSubstr("using transfer service")));
  }
}

TEST_F(ResolverFaceTest, IndexWithoutFeatureDataKeepsItsDigest) {
  const std::string ref = Ref("plain/app");
  ASSERT_TRUE(containerd_->Pull("plain-nodefit", ref, CertsDir("a")).ok());
  ASSERT_TRUE(containerd_
                  ->Ctr("plain-direct", {"images", "pull", "--plain-http",
                                         "--snapshotter", "native", ref})
                  .ok());
  EXPECT_EQ(*containerd_->ImageTarget("plain-nodefit", ref),
            plain_->index_digest);
  EXPECT_EQ(*containerd_->ImageTarget("plain-direct", ref),
            plain_->index_digest);
  EXPECT_THAT(node_a_->log(), HasSubstr("\"outcome\":\"passthrough\""));
}

// Policy fail: nodefit answers the tag with an empty index, and no pull
// gets a build. CRI pulls and client-side ctr pulls fail with "no match for
// platform"; on 2.x, ctr's transfer-service pull exits 0 and records the
// empty index (as it does for any index without an entry for the platform),
// which nothing can unpack or run.
TEST_F(ResolverFaceTest, PolicyFailRefusesAndSaysWhy) {
  const std::string ref = Ref("only/avx512");
  std::vector<bool> paths = {false};
  if (containerd_->peer().major >= 2) paths.push_back(true);
  for (bool local : paths) {
    SCOPED_TRACE(local ? "ctr images pull --local" : "ctr images pull");
    const std::string ns = local ? "refused-local" : "refused";
    absl::StatusOr<std::string> pulled =
        containerd_->Pull(ns, ref, CertsDir("a"), local);
    if (containerd_->peer().CtrPullsThroughTransferService() && !local) {
      // The record points at the empty index: nothing can use it.
      ASSERT_TRUE(pulled.ok()) << pulled.status();
      absl::StatusOr<std::string> file =
          containerd_->ReadImageFile(ns, ref, "etc/variant");
      ASSERT_FALSE(file.ok());
      EXPECT_THAT(std::string(file.status().message()),
                  HasSubstr("no match for platform in manifest"));
    } else {
      ASSERT_FALSE(pulled.ok());
      EXPECT_THAT(std::string(pulled.status().message()),
                  HasSubstr("no match for platform in manifest"));
    }
  }
  testbed::CriClient cri(containerd_->address());
  absl::StatusOr<runtime::v1::PullImageResponse> cri_pulled =
      cri.PullImage(ref);
  ASSERT_FALSE(cri_pulled.ok());
  EXPECT_THAT(std::string(cri_pulled.status().message()),
              HasSubstr("no match for platform in manifest"));
  const std::string log = node_a_->log();
  EXPECT_THAT(log, HasSubstr("no build fits this node"));
  EXPECT_THAT(log, HasSubstr("no build of " + ref + " fits node"));
  EXPECT_THAT(log, HasSubstr("lacks skylake-avx512"));
}

TEST_F(ResolverFaceTest, MetricsCountWhatHappened) {
  absl::StatusOr<std::string> metrics = node_a_->Get("/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  auto value = [&](const std::string& series) {
    for (absl::string_view line : absl::StrSplit(*metrics, '\n')) {
      if (absl::StartsWith(line, series + " ")) {
        return std::stoi(std::string(line.substr(series.size() + 1)));
      }
    }
    return -1;
  };
  // The ctr and CRI pulls of cv/tf; plain/app; only/avx512.
  EXPECT_GE(
      value(R"(nodefit_resolutions_total{face="http",outcome="selected"})"), 2);
  EXPECT_GE(
      value(R"(nodefit_resolutions_total{face="http",outcome="passthrough"})"),
      1);
  EXPECT_GE(
      value(R"(nodefit_resolutions_total{face="http",outcome="no_match"})"), 1);
  // containerd asked nodefit for manifests by digest and blobs, and got
  // immediate 404s.
  EXPECT_GE(
      value(
          R"(nodefit_http_requests_total{route="manifest_digest",code="404"})"),
      2);
  EXPECT_GE(
      value(R"(nodefit_http_requests_total{route="manifest",code="200"})"), 4);
  EXPECT_GE(value(R"(nodefit_upstream_requests_total{code="200"})"), 4);
}

// Runs last (gtest keeps declaration order): it stops nodefit A.
TEST_F(ResolverFaceTest, WithNodefitStoppedPullsStillSucceed) {
  EXPECT_EQ(node_a_->Stop(), 0);  // SIGTERM: exit status 0
  const std::string ref = Ref("cv/tf");
  ASSERT_TRUE(containerd_->Pull("stopped", ref, CertsDir("a")).ok());
  EXPECT_EQ(*containerd_->ReadImageFile("stopped", ref, "etc/variant"),
            "generic\n");
  testbed::CriClient cri(containerd_->address());
  ASSERT_TRUE(cri.RemoveImage(ref).ok());
  absl::StatusOr<runtime::v1::PullImageResponse> pulled = cri.PullImage(ref);
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(pulled->image_ref(), tf_->Find("generic")->config_digest);

  // And `hosts remove` leaves each certs dir byte-identical to before.
  for (const std::string node : {"a", "b"}) {
    ASSERT_TRUE(testbed::RunCommand({NODEFIT_BINARY, "hosts", "remove",
                                     "--certs-dir", CertsDir(node)})
                    .ok());
    EXPECT_EQ(Snapshot(CertsDir(node)), (*certs_before_)[node]) << node;
  }
}

}  // namespace
}  // namespace nodefit
