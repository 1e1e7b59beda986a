// The CRI face with each containerd of the matrix (CRI enabled, native
// snapshotter) and the real docker-registry: a CRI client of ours talks to
// nodefit's socket only, and, for comparison, straight to containerd.
// containerd's hosts.toml tree here names the registries only (no nodefit
// host), so what is shown is the CRI face alone.
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/cri_client.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/registry.h"

namespace nodefit {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

class CriFaceIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testbed::ShortTempDir());
    const std::string& d = *dir_;
    const std::string storage = d + "/storage";
    testbed::RegistryOptions plain;
    plain.storage_dir = storage;
    plain.work_dir = d;
    plain.name = "plain";
    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> r =
        testbed::RegistryServer::Start(plain);
    ASSERT_TRUE(r.ok()) << r.status();
    registry_ = r->release();
    const std::string host = registry_->host_port();
    absl::StatusOr<testbed::PushedImage> tf = testbed::PushMultiBuildImage(
        host, "cv/tf", "latest", testbed::SeedBuilds());
    ASSERT_TRUE(tf.ok()) << tf.status();
    tf_ = new testbed::PushedImage(*tf);
    absl::StatusOr<testbed::PushedImage> conc = testbed::PushMultiBuildImage(
        host, "conc/app", "latest", testbed::SeedBuilds());
    ASSERT_TRUE(conc.ok()) << conc.status();
    conc_ = new testbed::PushedImage(*conc);
    absl::StatusOr<testbed::PushedImage> plain_app =
        testbed::PushMultiBuildImage(
            host, "plain/app", "latest",
            {{"plain-amd64", "linux", "amd64", "", {}, 0},
             {"plain-arm64", "linux", "arm64", "", {}, 0}});
    ASSERT_TRUE(plain_app.ok()) << plain_app.status();
    plain_ = new testbed::PushedImage(*plain_app);
    ASSERT_TRUE(testbed::PushMultiBuildImage(
                    host, "only/avx512", "latest",
                    {{"avx512", "linux", "amd64", "", {"skylake-avx512"}, 0}})
                    .ok());

    // The same storage behind htpasswd Basic auth.
    testbed::RegistryOptions basic = plain;
    basic.name = "basic";
    r = testbed::StartBasicAuthRegistry(basic, "kube", "kubelet-secret");
    ASSERT_TRUE(r.ok()) << r.status();
    basic_ = r->release();

    // containerd knows the registries as plain http, and nothing else.
    for (const testbed::RegistryServer* reg : {registry_, basic_}) {
      reg->WriteHostsToml(d + "/certs");
    }
    std::filesystem::create_directories(d + "/ctd");
    absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> c =
        testbed::ContainerdServer::Start({d + "/ctd", d + "/certs"});
    ASSERT_TRUE(c.ok()) << c.status();
    containerd_ = c->release();

    absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> n =
        testbed::NodefitProcess::Start(
            NODEFIT_BINARY, d, "nodefit",
            {{"platform", "linux/amd64"},
             {"features", {"skylake"}},
             {"detect", false},
             {"cri",
              {{"listen", "unix://" + d + "/nf.sock"},
               {"containerd", containerd_->address()}}}});
    ASSERT_TRUE(n.ok()) << n.status();
    nodefit_ = n->release();
    via_ = new testbed::CriClient("unix://" + d + "/nf.sock");
    direct_ = new testbed::CriClient(containerd_->address());
  }

  static void TearDownTestSuite() {
    delete via_;
    delete direct_;
    delete nodefit_;
    delete containerd_;
    delete basic_;
    delete registry_;
    delete tf_;
    delete conc_;
    delete plain_;
    if (dir_ != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*dir_, ignored);
    }
    delete dir_;
  }

  static std::string Ref(const testbed::RegistryServer& r,
                         const std::string& repo) {
    return absl::StrCat(r.host_port(), "/", repo, ":latest");
  }

  static std::string* dir_;
  static testbed::RegistryServer* registry_;
  static testbed::RegistryServer* basic_;
  static testbed::PushedImage* tf_;
  static testbed::PushedImage* conc_;
  static testbed::PushedImage* plain_;
  static testbed::ContainerdServer* containerd_;
  static testbed::NodefitProcess* nodefit_;
  static testbed::CriClient* via_;
  static testbed::CriClient* direct_;
};

std::string* CriFaceIntegrationTest::dir_ = nullptr;
testbed::RegistryServer* CriFaceIntegrationTest::registry_ = nullptr;
testbed::RegistryServer* CriFaceIntegrationTest::basic_ = nullptr;
testbed::PushedImage* CriFaceIntegrationTest::tf_ = nullptr;
testbed::PushedImage* CriFaceIntegrationTest::conc_ = nullptr;
testbed::PushedImage* CriFaceIntegrationTest::plain_ = nullptr;
testbed::ContainerdServer* CriFaceIntegrationTest::containerd_ = nullptr;
testbed::NodefitProcess* CriFaceIntegrationTest::nodefit_ = nullptr;
testbed::CriClient* CriFaceIntegrationTest::via_ = nullptr;
testbed::CriClient* CriFaceIntegrationTest::direct_ = nullptr;

TEST_F(CriFaceIntegrationTest, PullByTagGetsTheChosenBuildUnderTheTag) {
  const std::string ref = Ref(*registry_, "cv/tf");
  const std::string skylake = tf_->Find("skylake")->config_digest;
  absl::StatusOr<runtime::v1::PullImageResponse> pulled = via_->PullImage(ref);
  ASSERT_TRUE(pulled.ok()) << pulled.status() << "\n" << nodefit_->log();
  EXPECT_EQ(pulled->image_ref(), skylake);
  // Right after the pull, as kubelet asks, through nodefit.
  absl::StatusOr<runtime::v1::ImageStatusResponse> status =
      via_->ImageStatus(ref);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->image().id(), skylake);
  EXPECT_THAT(status->image().repo_tags(), Contains(ref));
  absl::StatusOr<runtime::v1::ListImagesResponse> list = via_->ListImages();
  ASSERT_TRUE(list.ok()) << list.status();
  bool listed = false;
  for (const runtime::v1::Image& image : list->images()) {
    if (image.id() == skylake) {
      listed = true;
      EXPECT_THAT(image.repo_tags(), Contains(ref));
    }
  }
  EXPECT_TRUE(listed);
  EXPECT_EQ(*containerd_->ReadImageFile("k8s.io", ref, "etc/variant"),
            "skylake\n");
  // containerd's image record carries nodefit's labels.
  absl::StatusOr<std::string> labels =
      containerd_->Ctr("k8s.io", {"images", "ls", "name==" + ref});
  ASSERT_TRUE(labels.ok());
  EXPECT_THAT(*labels, HasSubstr("io.nodefit.chosen=" +
                                 tf_->Find("skylake")->manifest_digest));
  EXPECT_THAT(*labels, HasSubstr("io.cri-containerd.image=managed"));
}

TEST_F(CriFaceIntegrationTest, DigestPinnedIndexGetsTheChosenBuild) {
  const std::string pinned =
      absl::StrCat(registry_->host_port(), "/cv/tf@", tf_->index_digest);
  const std::string skylake = tf_->Find("skylake")->config_digest;
  absl::StatusOr<runtime::v1::PullImageResponse> pulled =
      via_->PullImage(pinned);
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  EXPECT_EQ(pulled->image_ref(), skylake);
  absl::StatusOr<runtime::v1::ImageStatusResponse> status =
      via_->ImageStatus(pinned);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->image().id(), skylake);
  EXPECT_THAT(status->image().repo_digests(), Contains(pinned));
}

TEST_F(CriFaceIntegrationTest, IndexWithoutFeatureDataMatchesContainerd) {
  const std::string ref = Ref(*registry_, "plain/app");
  absl::StatusOr<runtime::v1::PullImageResponse> via = via_->PullImage(ref);
  ASSERT_TRUE(via.ok()) << via.status();
  absl::StatusOr<runtime::v1::ImageStatusResponse> via_status =
      via_->ImageStatus(ref);
  ASSERT_TRUE(via_status.ok());
  ASSERT_TRUE(direct_->RemoveImage(ref).ok());
  absl::StatusOr<runtime::v1::PullImageResponse> direct =
      direct_->PullImage(ref);
  ASSERT_TRUE(direct.ok()) << direct.status();
  absl::StatusOr<runtime::v1::ImageStatusResponse> direct_status =
      direct_->ImageStatus(ref);
  ASSERT_TRUE(direct_status.ok());
  EXPECT_EQ(via->image_ref(), direct->image_ref());
  EXPECT_EQ(via_status->image().id(), direct_status->image().id());
  EXPECT_EQ(
      std::vector<std::string>(via_status->image().repo_digests().begin(),
                               via_status->image().repo_digests().end()),
      std::vector<std::string>(direct_status->image().repo_digests().begin(),
                               direct_status->image().repo_digests().end()));
  EXPECT_THAT(via_status->image().repo_digests(),
              Contains(absl::StrCat(registry_->host_port(), "/plain/app@",
                                    plain_->index_digest)));
}

TEST_F(CriFaceIntegrationTest, KubeletAuthIsUsedAndErrorsMatchContainerd) {
  const std::string ref = Ref(*basic_, "cv/tf");
  runtime::v1::AuthConfig auth;
  auth.set_username("kube");
  auth.set_password("kubelet-secret");
  absl::StatusOr<runtime::v1::PullImageResponse> pulled =
      via_->PullImage(ref, &auth);
  ASSERT_TRUE(pulled.ok()) << pulled.status() << "\n" << nodefit_->log();
  EXPECT_EQ(pulled->image_ref(), tf_->Find("skylake")->config_digest);

  const std::string other = Ref(*basic_, "plain/app");
  absl::StatusOr<runtime::v1::PullImageResponse> via = via_->PullImage(other);
  absl::StatusOr<runtime::v1::PullImageResponse> direct =
      direct_->PullImage(other);
  ASSERT_FALSE(via.ok());
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(via.status().code(), direct.status().code());
  EXPECT_EQ(via.status().message(), direct.status().message());
  EXPECT_THAT(nodefit_->log(), ::testing::Not(HasSubstr("kubelet-secret")));
}

TEST_F(CriFaceIntegrationTest, OtherCallsBehaveAsStraightToContainerd) {
  // RemoveImage of an image pulled just for this.
  const std::string ref = Ref(*registry_, "plain/app");
  ASSERT_TRUE(direct_->PullImage(ref).ok());
  EXPECT_TRUE(via_->RemoveImage(ref).ok());
  EXPECT_FALSE(direct_->ImageStatus(ref)->has_image());
  EXPECT_TRUE(direct_->RemoveImage(ref).ok());  // containerd: idempotent
  EXPECT_TRUE(via_->RemoveImage(ref).ok());

  absl::StatusOr<runtime::v1::ImageFsInfoResponse> fs_via = via_->ImageFsInfo();
  absl::StatusOr<runtime::v1::ImageFsInfoResponse> fs_direct =
      direct_->ImageFsInfo();
  ASSERT_TRUE(fs_via.ok()) << fs_via.status();
  ASSERT_TRUE(fs_direct.ok());
  ASSERT_EQ(fs_via->image_filesystems_size(),
            fs_direct->image_filesystems_size());
  ASSERT_GE(fs_via->image_filesystems_size(), 1);
  EXPECT_EQ(fs_via->image_filesystems(0).fs_id().mountpoint(),
            fs_direct->image_filesystems(0).fs_id().mountpoint());

  absl::StatusOr<std::string> made_up_via =
      via_->RawCall("/runtime.v1.ImageService/MadeUpMethod", "");
  absl::StatusOr<std::string> made_up_direct =
      direct_->RawCall("/runtime.v1.ImageService/MadeUpMethod", "");
  EXPECT_EQ(made_up_via.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(made_up_via.status(), made_up_direct.status());
}

// Only the image service goes through nodefit's socket: the runtime
// service, containerd's own API and anything else are refused by name
// (containerd answers them on its own socket).
TEST_F(CriFaceIntegrationTest, EverythingButTheImageServiceIsRefused) {
  absl::StatusOr<runtime::v1::VersionResponse> v_via = via_->Version();
  ASSERT_FALSE(v_via.ok());
  EXPECT_EQ(v_via.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(v_via.status().message()),
              HasSubstr("/runtime.v1.RuntimeService/Version is not forwarded"));
  ASSERT_TRUE(direct_->Version().ok());
  for (const char* method :
       {"/no.such.v9.Service/Do",
        "/containerd.services.namespaces.v1.Namespaces/List",
        "/containerd.services.content.v1.Content/List"}) {
    SCOPED_TRACE(method);
    absl::StatusOr<std::string> via = via_->RawCall(method, "");
    EXPECT_EQ(via.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(std::string(via.status().message()), HasSubstr(method));
  }
}

TEST_F(CriFaceIntegrationTest, PolicyFailIsFailedPreconditionWithReasons) {
  // Without credentials of its own the caller learns only that nothing
  // fits (nodefit may have read the index with its own); the reasons go to
  // nodefit's log.
  absl::StatusOr<runtime::v1::PullImageResponse> anonymous =
      via_->PullImage(Ref(*registry_, "only/avx512"));
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(anonymous.status().message(),
            "no build of " + Ref(*registry_, "only/avx512") +
                " fits this node (nodefit's log says why)");
  EXPECT_THAT(nodefit_->log(), HasSubstr("lacks skylake-avx512"));

  // A caller with credentials (kubelet with a pull secret) gets the reasons.
  runtime::v1::AuthConfig auth;
  auth.set_username("someone");
  auth.set_password("pull-secret-password");
  absl::StatusOr<runtime::v1::PullImageResponse> pulled =
      via_->PullImage(Ref(*registry_, "only/avx512"), &auth);
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string message(pulled.status().message());
  EXPECT_THAT(message,
              HasSubstr("no build of " + Ref(*registry_, "only/avx512") +
                        " fits node linux/amd64/v3 with features "
                        "[skylake]"));
  EXPECT_THAT(message, HasSubstr("lacks skylake-avx512"));
}

TEST_F(CriFaceIntegrationTest, TwentyConcurrentPullsOneResolution) {
  const std::string ref = Ref(*registry_, "conc/app");
  const std::string tag_uri = "/v2/conc/app/manifests/latest";
  std::vector<std::thread> threads;
  threads.reserve(20);
  std::atomic<int> ok{0};
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      testbed::CriClient client("unix://" + *dir_ + "/nf.sock");
      absl::StatusOr<runtime::v1::PullImageResponse> r = client.PullImage(ref);
      if (r.ok() && r->image_ref() == conc_->Find("skylake")->config_digest) {
        ++ok;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20);
  // What the registry saw, as the product guarantees it whatever the
  // threads' timing: callers in flight together share one resolution, which
  // is one GET of the tag (digest and index at once); a caller that arrives
  // after it finished finds the index cached and costs at most one HEAD of
  // the tag; nobody fetches the index by digest.
  ASSERT_TRUE(testbed::WaitFor(
                  [&] { return registry_->CountRequests("GET", tag_uri) >= 1; },
                  absl::Seconds(5), "registry log")
                  .ok());
  EXPECT_EQ(registry_->CountRequests("GET", tag_uri), 1);
  EXPECT_LE(registry_->CountRequests("HEAD", tag_uri), 19);
  EXPECT_EQ(registry_->CountRequests(
                "GET", "/v2/conc/app/manifests/" + conc_->index_digest),
            0);
}

// Runs last (declaration order): it stops containerd.
TEST_F(CriFaceIntegrationTest, HealthFollowsContainerd) {
  auto health = grpc::health::v1::Health::NewStub(via_->channel());
  auto check = [&] {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest in;
    grpc::health::v1::HealthCheckResponse out;
    return health->Check(&ctx, in, &out).ok() ? out.status() : -1;
  };
  ASSERT_TRUE(testbed::WaitFor(
                  [&] {
                    return check() ==
                           grpc::health::v1::HealthCheckResponse::SERVING;
                  },
                  absl::Seconds(5), "SERVING")
                  .ok());
  containerd_->Stop();
  EXPECT_TRUE(testbed::WaitFor(
                  [&] {
                    return check() ==
                           grpc::health::v1::HealthCheckResponse::NOT_SERVING;
                  },
                  absl::Seconds(10), "NOT_SERVING")
                  .ok());
  // And nodefit still exits cleanly, removing its socket.
  EXPECT_EQ(nodefit_->Stop(), 0);
  EXPECT_FALSE(std::filesystem::exists(*dir_ + "/nf.sock"));
}

}  // namespace
}  // namespace nodefit
