// Docker Engine with the real docker-registry and the newest containerd of
// the matrix (issue 18): dockerd with the containerd image store reads
// hosts.toml from /etc/docker/certs.d with containerd's resolver code, so
// `nodefit hosts install --certs-dir /etc/docker/certs.d` puts nodefit's
// resolver face in front of `docker pull` (POST /images/create), and the
// pull gets the build that fits the node instead of the index's first
// match. With registry-mirrors in daemon.json, a plain install makes Docker
// drop them (moby: daemon/hosts.go, mergeLegacyConfig), and
// `hosts install --docker-config` carries them over. Also: the classic image
// store pulling a Docker Hub name through a plain registry standing in as
// its registry mirror, and then with nodefit's proxy face as that mirror,
// which gives the classic store the best build too.
//
// The test writes /etc/docker/certs.d (dockerd has no flag to move it) and
// leaves /etc/docker as it found it. A missing dockerd fails the test: run
// scripts/install-peers.
#include "integration/testbed/docker.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/registry.h"
#include "nlohmann/json.hpp"

namespace nodefit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The node: an Intel Cascade Lake-like server, so of the seed builds
// (generic, broadwell, skylake, skylake-avx512, broadwell + CUDA) the
// skylake-avx512 one fits best; the index lists generic first.
constexpr const char* kNodeFeatures = "skylake-avx512";
constexpr const char* kBest = "skylake-avx512";
constexpr const char* kFirstMatch = "generic";

int Metric(const std::string& metrics, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      return std::stoi(std::string(line.substr(series.size() + 1)));
    }
  }
  return 0;
}

// Requests of the registry's log made by dockerd itself (not nodefit) for a
// URI containing `uri_part`, answered 200.
int DockerRequests(const testbed::RegistryServer& registry,
                   const std::string& uri_part) {
  int count = 0;
  for (absl::string_view line : absl::StrSplit(registry.log(), '\n')) {
    if (absl::StrContains(line, "msg=\"response completed\"") &&
        absl::StrContains(line, "http.request.useragent=\"docker/") &&
        absl::StrContains(line, uri_part) &&
        absl::StrContains(line, "http.response.status=200 ")) {
      ++count;
    }
  }
  return count;
}

class DockerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testbed::ShortTempDir());
    const std::string& d = *dir_;
    absl::StatusOr<testbed::DockerdPeer> peer =
        testbed::DockerdPeer::FromEnvironment();
    // A missing dockerd fails every test (SetUp), rather than leaving them
    // skipped behind one suite failure.
    peer_status_ = new absl::Status(peer.status());
    if (!peer.ok()) return;

    testbed::RegistryOptions options;
    options.storage_dir = d + "/storage";
    options.work_dir = d;
    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> registry =
        testbed::RegistryServer::Start(options);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = registry->release();
    absl::StatusOr<testbed::PushedImage> tf = testbed::PushMultiBuildImage(
        registry_->host_port(), "cv/tf", "latest", testbed::SeedBuilds());
    ASSERT_TRUE(tf.ok()) << tf.status();
    tf_ = new testbed::PushedImage(*tf);
    // A Docker Hub name, served by the same registry standing in as Docker
    // Hub's mirror (for Docker) and as its endpoint (for nodefit).
    absl::StatusOr<testbed::PushedImage> hub = testbed::PushMultiBuildImage(
        registry_->host_port(), "nodefit-testbed/cv-tf", "docker-test",
        testbed::SeedBuilds());
    ASSERT_TRUE(hub.ok()) << hub.status();
    hub_ = new testbed::PushedImage(*hub);

    std::filesystem::create_directories(d + "/ctd");
    std::filesystem::create_directories(d + "/ctd-certs");
    absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> containerd =
        testbed::ContainerdServer::Start({d + "/ctd", d + "/ctd-certs"});
    ASSERT_TRUE(containerd.ok()) << containerd.status();
    containerd_ = containerd->release();

    absl::StatusOr<std::unique_ptr<testbed::DockerCertsDir>> certs =
        testbed::DockerCertsDir::Create();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = certs->release();

    testbed::DockerOptions docker_options;
    docker_options.containerd_socket = containerd_->socket();
    absl::StatusOr<std::unique_ptr<testbed::DockerServer>> docker =
        testbed::DockerServer::Start(docker_options);
    ASSERT_TRUE(docker.ok()) << docker.status();
    docker_ = docker->release();
    absl::StatusOr<nlohmann::json> version = docker_->Version();
    ASSERT_TRUE(version.ok()) << version.status();
    std::cout << peer->Name() << " (Engine API " << (*version)["ApiVersion"]
              << ") on " << containerd_->peer().Name() << "\n";

    proxy_port_ = testbed::FreePort();
    absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> node =
        testbed::NodefitProcess::Start(
            NODEFIT_BINARY, d, "nodefit",
            {{"platform", "linux/amd64"},
             {"features", {kNodeFeatures}},
             {"detect", false},
             {"on_no_match", "fail"},
             {"registries", {{"docker.io", {{"endpoint", registry_->url()}}}}},
             // The proxy face, for the classic store's registry-mirrors:
             // the local registry stands in for docker.io as the proxy's
             // default registry (where names without a registry go).
             {"proxy",
              {{"listen", absl::StrCat("127.0.0.1:", proxy_port_)},
               {"default_registry", registry_->host_port()}}}});
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = node->release();
  }

  void SetUp() override { ASSERT_TRUE(peer_status_->ok()) << *peer_status_; }

  static void TearDownTestSuite() {
    delete docker_;
    delete certs_;
    delete node_;
    delete containerd_;
    delete registry_;
    delete tf_;
    delete hub_;
    if (dir_ != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*dir_, ignored);
    }
    delete dir_;
    delete peer_status_;
  }

  static std::string Ref() {
    return absl::StrCat(registry_->host_port(), "/cv/tf:latest");
  }

  // `docker pull` of `ref`, then what it got: /etc/variant of the image and
  // the digest its record points at.
  struct Pulled {
    std::string variant;
    std::string target;
  };
  static absl::StatusOr<Pulled> PullAndRead(const testbed::DockerServer& docker,
                                            const std::string& ref) {
    absl::StatusOr<std::string> pulled = docker.Pull(ref);
    if (!pulled.ok()) return pulled.status();
    absl::StatusOr<std::string> variant =
        docker.ReadImageFile(ref, "/etc/variant");
    if (!variant.ok()) return variant.status();
    absl::StatusOr<std::string> target = docker.ImageTarget(ref);
    if (!target.ok()) return target.status();
    return Pulled{*variant, *target};
  }

  // Pulls `ref` with `docker`: the image's /etc/variant and its inspect.
  static void Pull(const testbed::DockerServer& docker, const std::string& ref,
                   std::string* variant, nlohmann::json* inspect) {
    absl::StatusOr<std::string> pulled = docker.Pull(ref);
    ASSERT_TRUE(pulled.ok()) << pulled.status() << "\n" << docker.log();
    absl::StatusOr<std::string> read =
        docker.ReadImageFile(ref, "/etc/variant");
    ASSERT_TRUE(read.ok()) << read.status();
    *variant = *read;
    absl::StatusOr<nlohmann::json> inspected = docker.InspectImage(ref);
    ASSERT_TRUE(inspected.ok()) << inspected.status();
    *inspect = *inspected;
  }

  static absl::Status* peer_status_;
  static std::string* dir_;
  static testbed::RegistryServer* registry_;
  static testbed::PushedImage* tf_;
  static testbed::PushedImage* hub_;
  static testbed::ContainerdServer* containerd_;
  static testbed::DockerCertsDir* certs_;
  static testbed::DockerServer* docker_;
  static testbed::NodefitProcess* node_;
  static int proxy_port_;
};

absl::Status* DockerTest::peer_status_ = nullptr;
std::string* DockerTest::dir_ = nullptr;
testbed::RegistryServer* DockerTest::registry_ = nullptr;
testbed::PushedImage* DockerTest::tf_ = nullptr;
testbed::PushedImage* DockerTest::hub_ = nullptr;
testbed::ContainerdServer* DockerTest::containerd_ = nullptr;
testbed::DockerCertsDir* DockerTest::certs_ = nullptr;
testbed::DockerServer* DockerTest::docker_ = nullptr;
testbed::NodefitProcess* DockerTest::node_ = nullptr;
int DockerTest::proxy_port_ = 0;

TEST_F(DockerTest, DockerdUsesTheContainerdImageStore) {
  absl::StatusOr<nlohmann::json> info = docker_->Info();
  ASSERT_TRUE(info.ok()) << info.status();
  // Docker reports the snapshotter as its driver, typed as one.
  EXPECT_EQ((*info)["Driver"], "overlayfs") << info->dump();
  EXPECT_THAT((*info)["DriverStatus"].dump(),
              HasSubstr("io.containerd.snapshotter.v1"));
  absl::StatusOr<nlohmann::json> version = docker_->Version();
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_THAT(version->dump(), HasSubstr(containerd_->peer().version));
}

// The must-show: dockerd alone pulls the index's first match; after
// `nodefit hosts install --certs-dir /etc/docker/certs.d` the same
// `docker pull` gets the build that fits the node; `hosts remove` puts
// /etc/docker/certs.d back as it was, and Docker alone again.
TEST_F(DockerTest, DockerPullGetsTheBestBuildThroughHostsInstall) {
  const std::string ref = Ref();
  const std::vector<std::string> certs_before = certs_->Listing();

  absl::StatusOr<Pulled> alone = PullAndRead(*docker_, ref);
  ASSERT_TRUE(alone.ok()) << alone.status() << "\n" << docker_->log();
  std::cout << "docker alone:  /etc/variant " << alone->variant
            << "               target " << alone->target << "\n";
  EXPECT_EQ(alone->variant, absl::StrCat(kFirstMatch, "\n"));
  // Docker's record is the index; it unpacked the first amd64 entry.
  EXPECT_EQ(alone->target, tf_->index_digest);
  ASSERT_TRUE(docker_->RemoveImage(ref).ok());

  absl::StatusOr<std::string> installed =
      testbed::RunCommand(node_->HostsInstall(testbed::DockerCertsDir::kPath));
  ASSERT_TRUE(installed.ok()) << installed.status();
  std::cout << "hosts install: " << *installed;
  EXPECT_THAT(*installed, HasSubstr("/etc/docker/certs.d/_default/hosts.toml"));
  // Docker's directory is not containerd's: no warning that containerd's
  // CRI reads elsewhere.
  EXPECT_THAT(*installed, Not(HasSubstr("warning")));
  const std::string hosts_toml = testbed::ReadFileOrEmpty(
      absl::StrCat(testbed::DockerCertsDir::kPath, "/_default/hosts.toml"));
  EXPECT_THAT(hosts_toml, HasSubstr(node_->address()));

  absl::StatusOr<std::string> metrics_before = node_->Get("/metrics");
  ASSERT_TRUE(metrics_before.ok());
  absl::StatusOr<Pulled> with = PullAndRead(*docker_, ref);
  ASSERT_TRUE(with.ok()) << with.status() << "\n" << docker_->log();
  std::cout << "with nodefit:  /etc/variant " << with->variant
            << "        target " << with->target << "\n";
  EXPECT_EQ(with->variant, absl::StrCat(kBest, "\n"));
  // The tag now names the chosen build's manifest itself.
  EXPECT_EQ(with->target, tf_->Find(kBest)->manifest_digest);
  // nodefit answered the resolution (it did not step aside).
  absl::StatusOr<std::string> metrics_after = node_->Get("/metrics");
  ASSERT_TRUE(metrics_after.ok());
  const std::string selected =
      R"(nodefit_resolutions_total{face="http",outcome="selected"})";
  EXPECT_EQ(Metric(*metrics_after, selected),
            Metric(*metrics_before, selected) + 1);
  ASSERT_TRUE(docker_->RemoveImage(ref).ok());

  absl::StatusOr<std::string> removed =
      testbed::RunCommand({NODEFIT_BINARY, "hosts", "remove", "--certs-dir",
                           testbed::DockerCertsDir::kPath});
  ASSERT_TRUE(removed.ok()) << removed.status();
  std::cout << "hosts remove:  " << *removed;
  EXPECT_EQ(certs_->Listing(), certs_before);
  absl::StatusOr<Pulled> after = PullAndRead(*docker_, ref);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->variant, absl::StrCat(kFirstMatch, "\n"));
  EXPECT_EQ(after->target, tf_->index_digest);
  ASSERT_TRUE(docker_->RemoveImage(ref).ok());
}

// Docker Hub through a registry mirror (daemon.json registry-mirrors; the
// registry stands in for the mirror, and Docker Hub itself is never
// reached). nodefit's host in docker.io's hosts configuration makes Docker
// drop the mirror: the pull then goes to Docker Hub and fails. With
// --docker-config, hosts install writes the mirror into docker.io's
// hosts.toml after nodefit's host, and the pull gets the best build from
// the mirror.
TEST_F(DockerTest, HostsInstallCarriesRegistryMirrorsOver) {
  testbed::DockerOptions options;
  options.containerd_socket = containerd_->socket();
  options.containerd_namespace = "moby-mirror";
  options.registry_mirrors = {registry_->url()};
  absl::StatusOr<std::unique_ptr<testbed::DockerServer>> started =
      testbed::DockerServer::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  const testbed::DockerServer& docker = **started;
  const std::string ref = "nodefit-testbed/cv-tf:docker-test";
  const std::string manifests = "/v2/nodefit-testbed/cv-tf/manifests/";
  const std::vector<std::string> certs_before = certs_->Listing();

  absl::StatusOr<Pulled> alone = PullAndRead(docker, ref);
  ASSERT_TRUE(alone.ok()) << alone.status() << "\n" << docker.log();
  EXPECT_EQ(alone->variant, absl::StrCat(kFirstMatch, "\n"));
  EXPECT_EQ(alone->target, hub_->index_digest);
  ASSERT_TRUE(docker.RemoveImage(ref).ok());

  // A plain install: docker.io falls back to _default, which now lists
  // nodefit's host, so Docker no longer merges in its mirror.
  absl::StatusOr<std::string> plain =
      testbed::RunCommand(node_->HostsInstall(testbed::DockerCertsDir::kPath));
  ASSERT_TRUE(plain.ok()) << plain.status();
  const std::string chosen = hub_->Find(kBest)->manifest_digest;
  const int mirror_asked = DockerRequests(*registry_, manifests + chosen);
  absl::StatusOr<std::string> dropped = docker.Pull(ref);
  EXPECT_FALSE(dropped.ok());
  std::cout << "plain install, mirror dropped: " << dropped.status() << "\n";
  // It asked nodefit, then Docker Hub itself (dockerd's debug log), and
  // never the mirror.
  EXPECT_THAT(docker.log(),
              HasSubstr("https://registry-1.docker.io" + manifests + chosen));
  EXPECT_EQ(DockerRequests(*registry_, manifests + chosen), mirror_asked);
  ASSERT_TRUE(
      testbed::RunCommand({NODEFIT_BINARY, "hosts", "remove", "--certs-dir",
                           testbed::DockerCertsDir::kPath})
          .ok());

  std::vector<std::string> install =
      node_->HostsInstall(testbed::DockerCertsDir::kPath);
  install.insert(install.end(), {"--docker-config", docker.config_path()});
  absl::StatusOr<std::string> carried = testbed::RunCommand(install);
  ASSERT_TRUE(carried.ok()) << carried.status();
  std::cout << "hosts install --docker-config: " << *carried;
  EXPECT_THAT(*carried,
              HasSubstr("/etc/docker/certs.d/docker.io/hosts.toml: created"));
  const std::string docker_io = testbed::ReadFileOrEmpty(
      absl::StrCat(testbed::DockerCertsDir::kPath, "/docker.io/hosts.toml"));
  EXPECT_LT(docker_io.find(node_->address()), docker_io.find(registry_->url()))
      << docker_io;
  absl::StatusOr<Pulled> with = PullAndRead(docker, ref);
  ASSERT_TRUE(with.ok()) << with.status() << "\n" << docker.log();
  std::cout << "mirror carried over: /etc/variant " << with->variant
            << "                      target " << with->target << "\n";
  EXPECT_EQ(with->variant, absl::StrCat(kBest, "\n"));
  EXPECT_EQ(with->target, chosen);
  // Docker fetched the chosen build from the mirror.
  EXPECT_GT(DockerRequests(*registry_, manifests + chosen), mirror_asked);
  ASSERT_TRUE(docker.RemoveImage(ref).ok());

  ASSERT_TRUE(
      testbed::RunCommand({NODEFIT_BINARY, "hosts", "remove", "--certs-dir",
                           testbed::DockerCertsDir::kPath})
          .ok());
  EXPECT_EQ(certs_->Listing(), certs_before);
}

// The classic image store (graph driver vfs) with daemon.json's
// registry-mirrors: a Docker Hub name is pulled from the plain registry
// standing in as the mirror (Docker Hub itself is never needed). The
// classic store does not read hosts.toml; this is the testbed a mirror
// face in front of Docker builds on.
TEST_F(DockerTest, ClassicStorePullsThroughAPlainRegistryMirror) {
  const testbed::PushedImage* hub = hub_;
  testbed::DockerOptions options;
  options.containerd_socket = containerd_->socket();
  options.store = testbed::DockerImageStore::kClassic;
  options.containerd_namespace = "moby-classic";
  options.registry_mirrors = {registry_->url()};
  options.insecure_registries = {registry_->host_port()};
  absl::StatusOr<std::unique_ptr<testbed::DockerServer>> classic =
      testbed::DockerServer::Start(options);
  ASSERT_TRUE(classic.ok()) << classic.status();
  absl::StatusOr<nlohmann::json> info = (*classic)->Info();
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ((*info)["Driver"], "vfs");
  EXPECT_THAT((*info)["RegistryConfig"]["Mirrors"].dump(),
              HasSubstr(registry_->url()));

  const std::string ref = "nodefit-testbed/cv-tf:docker-test";
  std::string variant;
  nlohmann::json inspect;
  ASSERT_NO_FATAL_FAILURE(Pull(**classic, ref, &variant, &inspect));
  EXPECT_EQ(variant, absl::StrCat(kFirstMatch, "\n"));
  // The classic store names the image by its config; the repo digest is
  // the index's.
  EXPECT_EQ(inspect["Id"], hub->Find(kFirstMatch)->config_digest);
  EXPECT_THAT(inspect["RepoDigests"].dump(), HasSubstr(hub->index_digest));
  std::cout << "classic store via mirror: /etc/variant " << variant << "  id "
            << inspect["Id"].get<std::string>() << "\n";
  // The mirror served it: Docker asked it for docker.io's repository (the
  // tag, then the index by digest).
  EXPECT_GT(registry_->CountRequests(
                "HEAD", "/v2/nodefit-testbed/cv-tf/manifests/docker-test", 200),
            0);
  EXPECT_GT(
      registry_->CountRequests(
          "GET", "/v2/nodefit-testbed/cv-tf/manifests/" + hub->index_digest,
          200),
      0);
}

TEST_F(DockerTest, ClassicStoreWithTheProxyAsRegistryMirrorGetsTheBestBuild) {
  const testbed::PushedImage* hub = hub_;
  const std::string proxy = absl::StrCat("127.0.0.1:", proxy_port_);
  testbed::DockerOptions options;
  options.containerd_socket = containerd_->socket();
  options.store = testbed::DockerImageStore::kClassic;
  options.containerd_namespace = "moby-classic-proxy";
  options.registry_mirrors = {"http://" + proxy};
  options.insecure_registries = {proxy};
  absl::StatusOr<std::unique_ptr<testbed::DockerServer>> classic =
      testbed::DockerServer::Start(options);
  ASSERT_TRUE(classic.ok()) << classic.status();

  // A Docker Hub name, as a user writes it; Docker asks its mirror, the
  // proxy, which reads docker.io (here: the local registry) and serves the
  // build for this node under the tag, then its layers.
  const std::string ref = "nodefit-testbed/cv-tf:docker-test";
  std::string variant;
  nlohmann::json inspect;
  ASSERT_NO_FATAL_FAILURE(Pull(**classic, ref, &variant, &inspect));
  EXPECT_EQ(variant, absl::StrCat(kBest, "\n"));
  EXPECT_EQ(inspect["Id"], hub->Find(kBest)->config_digest);
  EXPECT_THAT(inspect["RepoDigests"].dump(),
              HasSubstr(hub->Find(kBest)->manifest_digest));
  std::cout << "classic store via nodefit's proxy: /etc/variant " << variant
            << "  id " << inspect["Id"].get<std::string>() << "\n";
  absl::StatusOr<std::string> metrics = node_->Get("/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_GT(Metric(*metrics,
                   "nodefit_resolutions_total{face=\"proxy\",outcome="
                   "\"selected\"}"),
            0);
  EXPECT_GT(Metric(*metrics,
                   "nodefit_http_requests_total{route=\"proxy_blob\","
                   "code=\"200\"}"),
            0);
}

}  // namespace
}  // namespace nodefit
