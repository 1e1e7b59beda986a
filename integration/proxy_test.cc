// The proxy face against real clients: Debian's Podman and skopeo
// (containers/image) pulling from the real docker-registry 2.8.2 through
// nodefit, as a registries.conf mirror (local mode) and under the proxy's
// own name with a login per machine type (central mode), and a 500 MB layer
// streamed through while nodefit's memory is watched.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/podman.h"
#include "integration/testbed/registry.h"
#include "integration/testbed/subprocess.h"
#include "nlohmann/json.hpp"
#include "resolver/registry/digest.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;

constexpr char kRepository[] = "qnib/cv-tf";
constexpr char kTag[] = "1.12.0-rev11";

// A process's peak resident set (VmHWM) in KiB, or -1.
int64_t PeakRssKb(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "VmHWM:")) {
      rest = absl::StripAsciiWhitespace(rest);
      absl::ConsumeSuffix(&rest, " kB");
      int64_t kb = 0;
      if (absl::SimpleAtoi(rest, &kb)) return kb;
    }
  }
  return -1;
}

// `nodefit hash-password` of `password`, as an operator makes one.
std::string HashWithNodefit(const std::string& dir,
                            const std::string& password) {
  const std::string file = dir + "/password";
  std::ofstream(file) << password << "\n";
  absl::StatusOr<std::string> hash = testbed::RunCommand(
      {"sh", "-c", absl::StrCat("exec \"$0\" hash-password < \"$1\""),
       NODEFIT_BINARY, file});
  std::filesystem::remove(file);
  EXPECT_TRUE(hash.ok()) << hash.status();
  return hash.ok() ? std::string(absl::StripAsciiWhitespace(*hash)) : "";
}

class ProxyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testbed::ShortTempDir());
    testbed::RegistryOptions options;
    options.storage_dir = *dir_ + "/storage";
    options.work_dir = *dir_;
    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> registry =
        testbed::RegistryServer::Start(options);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = registry->release();
    absl::StatusOr<testbed::PushedImage> image = testbed::PushMultiBuildImage(
        registry_->host_port(), kRepository, kTag, testbed::SeedBuilds());
    ASSERT_TRUE(image.ok()) << image.status();
    image_ = new testbed::PushedImage(*std::move(image));
  }

  static void TearDownTestSuite() {
    delete image_;
    delete registry_;
    if (dir_ != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*dir_, ignored);
    }
    delete dir_;
  }

  void SetUp() override {
    ASSERT_NE(image_, nullptr);
    work_ = testbed::ShortTempDir();
  }
  void TearDown() override {
    podman_.reset();
    nodefit_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(work_, ignored);
  }

  // nodefit serve for a node with `features`, its proxy on a free port
  // with `proxy` settings added.
  void StartNodefit(const std::vector<std::string>& features,
                    nlohmann::json proxy) {
    proxy_port_ = testbed::FreePort();
    proxy["listen"] = absl::StrCat("127.0.0.1:", proxy_port_);
    proxy["default_registry"] = registry_->host_port();
    absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> started =
        testbed::NodefitProcess::Start(NODEFIT_BINARY, work_, "nodefit",
                                       {{"platform", "linux/amd64"},
                                        {"features", features},
                                        {"detect", false},
                                        {"on_no_match", "fail"},
                                        {"proxy", proxy}});
    ASSERT_TRUE(started.ok()) << started.status();
    nodefit_ = *std::move(started);
  }

  void StartPodman() {
    absl::StatusOr<std::unique_ptr<testbed::Podman>> podman =
        testbed::Podman::Create(work_ + "/podman");
    ASSERT_TRUE(podman.ok()) << podman.status();
    podman_ = *std::move(podman);
  }

  std::string ProxyHost() const {
    return absl::StrCat("127.0.0.1:", proxy_port_);
  }
  std::string OriginalName() const {
    return absl::StrCat(registry_->host_port(), "/", kRepository, ":", kTag);
  }
  static std::string BuildDigest(const std::string& name) {
    const testbed::PushedBuild* build = image_->Find(name);
    EXPECT_NE(build, nullptr) << name;
    return build == nullptr ? "" : build->manifest_digest;
  }
  // Pulls `ref` with Podman; the build it got by /etc/variant. `digest`
  // gets what Podman records as the image's digest: the manifest it was
  // served under the tag (the index, when it pulled the index itself).
  std::string PullVariant(const std::string& ref,
                          std::string* pulled_digest = nullptr) {
    absl::StatusOr<std::string> digest = podman_->Pull(ref);
    EXPECT_TRUE(digest.ok()) << digest.status();
    if (!digest.ok()) return "";
    absl::StatusOr<std::string> variant =
        podman_->ReadFile(ref, "/etc/variant");
    EXPECT_TRUE(variant.ok()) << variant.status();
    if (!variant.ok()) return "";
    const std::string name(absl::StripAsciiWhitespace(*variant));
    if (pulled_digest != nullptr) {
      *pulled_digest = *digest;
    } else {
      EXPECT_EQ(*digest, BuildDigest(name)) << ref;
    }
    return name;
  }
  uint64_t ProxyRequests(const std::string& route) const {
    absl::StatusOr<std::string> metrics = nodefit_->Get("/metrics");
    if (!metrics.ok()) return 0;
    uint64_t total = 0;
    std::istringstream lines(*metrics);
    std::string line;
    const std::string prefix = absl::StrCat(
        "nodefit_http_requests_total{route=\"", route, "\",code=\"2");
    while (std::getline(lines, line)) {
      if (absl::StartsWith(line, prefix)) {
        uint64_t n = 0;
        if (absl::SimpleAtoi(line.substr(line.rfind(' ') + 1), &n)) total += n;
      }
    }
    return total;
  }

  static std::string* dir_;
  static testbed::RegistryServer* registry_;
  static testbed::PushedImage* image_;
  std::string work_;
  int proxy_port_ = 0;
  std::unique_ptr<testbed::NodefitProcess> nodefit_;
  std::unique_ptr<testbed::Podman> podman_;
};

std::string* ProxyTest::dir_ = nullptr;
testbed::RegistryServer* ProxyTest::registry_ = nullptr;
testbed::PushedImage* ProxyTest::image_ = nullptr;

TEST_F(ProxyTest, PodmanAndSkopeoThroughAMirrorGetTheNodesBuild) {
  StartNodefit({"skylake-avx512"}, nlohmann::json::object());
  StartPodman();
  ASSERT_TRUE(podman_->SetMirror(registry_->host_port(), ProxyHost()).ok());

  // The original name; registries.conf sends it through the mirror.
  EXPECT_EQ(PullVariant(OriginalName()), "skylake-avx512");
  EXPECT_GT(ProxyRequests("proxy_manifest"), 0u);
  EXPECT_GT(ProxyRequests("proxy_blob"), 0u);  // layers came through nodefit
  EXPECT_THAT(nodefit_->log(), HasSubstr("\"face\":\"proxy\""));

  // skopeo, the same library's command line: inspect and copy.
  absl::StatusOr<std::string> inspected =
      podman_->Skopeo({"inspect", "--tls-verify=false", "--format",
                       "{{.Digest}}", "docker://" + OriginalName()});
  ASSERT_TRUE(inspected.ok()) << inspected.status();
  EXPECT_THAT(*inspected, HasSubstr(BuildDigest("skylake-avx512")));
  const std::string copy = work_ + "/copy";
  absl::StatusOr<std::string> copied =
      podman_->Skopeo({"copy", "--src-tls-verify=false",
                       "docker://" + OriginalName(), "dir:" + copy});
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(Sha256Digest(testbed::ReadFileOrEmpty(copy + "/manifest.json")),
            BuildDigest("skylake-avx512"));

  // nodefit stopped: the same pull still works, from the registry itself,
  // with the build the runtime picks there (the first).
  EXPECT_EQ(nodefit_->Stop(), 0);
  ASSERT_TRUE(podman_->RemoveImages().ok());
  std::string digest;
  EXPECT_EQ(PullVariant(OriginalName(), &digest), image_->builds[0].name);
  EXPECT_EQ(digest, image_->index_digest);
}

TEST_F(ProxyTest, CentralModeGivesEachLoginItsBuild) {
  const std::string type1_password = "type1-secret";
  const std::string type2_password = "type2-secret";
  StartNodefit(
      {},
      {{"profiles",
        {{"qnib-type1",
          {{"password_hash", HashWithNodefit(work_, type1_password)},
           {"features", {"skylake"}}}},
         {"qnib-type2",
          {{"password_hash", HashWithNodefit(work_, type2_password)},
           {"platform", "linux/amd64"},
           {"features", {"broadwell", "nv-compute-5-2", "nvidia-396-44"}}}}}}});
  StartPodman();
  const std::string name =
      absl::StrCat(ProxyHost(), "/", kRepository, ":", kTag);

  // Without a login: 401 and the challenge naming the proxy's token
  // endpoint.
  httplib::Client client("127.0.0.1", proxy_port_);
  auto anonymous = client.Get("/v2/");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_THAT(
      anonymous->get_header_value("WWW-Authenticate"),
      HasSubstr(absl::StrCat("realm=\"http://", ProxyHost(), "/token\"")));
  EXPECT_FALSE(podman_->Pull(name).ok());

  // A wrong password: the token endpoint answers 401, which podman reports
  // as such.
  absl::Status wrong = podman_->Login(ProxyHost(), "qnib-type1", "nope");
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(std::string(wrong.message()),
              HasSubstr("invalid username/password"));
  client.set_basic_auth("qnib-type1", "nope");
  auto refused = client.Get("/token?service=nodefit");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
  EXPECT_THAT(refused->body, HasSubstr("wrong user name or password"));
  EXPECT_FALSE(podman_->Pull(name).ok());

  ASSERT_TRUE(podman_->Login(ProxyHost(), "qnib-type1", type1_password).ok());
  EXPECT_EQ(PullVariant(name), "skylake");
  ASSERT_TRUE(podman_->RemoveImages().ok());
  ASSERT_TRUE(podman_->Login(ProxyHost(), "qnib-type2", type2_password).ok());
  EXPECT_EQ(PullVariant(name), "broadwell-nvcap52-nvidia39644");

  const std::string log = nodefit_->log();
  EXPECT_THAT(log, HasSubstr("\"login\":\"qnib-type1\""));
  EXPECT_THAT(log, HasSubstr("\"login\":\"qnib-type2\""));
  EXPECT_THAT(log, HasSubstr("proxy login refused"));
  EXPECT_EQ(log.find(type1_password), std::string::npos);
  EXPECT_EQ(log.find(type2_password), std::string::npos);
}

TEST_F(ProxyTest, A500MBLayerStreamsThroughInBoundedMemory) {
  constexpr uint64_t kLayerBytes = 500ULL << 20;
  absl::StatusOr<testbed::PushedBuild> big = testbed::PushBuildImage(
      registry_->host_port(), "vendor/big", "1",
      {"big", "linux", "amd64", "", {"skylake"}, kLayerBytes});
  ASSERT_TRUE(big.ok()) << big.status();
  const std::string password = "big-secret";
  StartNodefit({}, {{"profiles",
                     {{"qnib-type1",
                       {{"password_hash", HashWithNodefit(work_, password)},
                        {"features", {"skylake"}}}}}}});
  httplib::Client client("127.0.0.1", proxy_port_);
  client.set_read_timeout(300, 0);
  client.set_basic_auth("qnib-type1", password);
  auto token = client.Get(
      "/token?service=nodefit&scope=repository%3Avendor%2Fbig%3Apull");
  ASSERT_TRUE(token);
  ASSERT_EQ(token->status, 200) << token->body;
  const std::string bearer =
      nlohmann::json::parse(token->body)["token"].get<std::string>();
  httplib::Client pull("127.0.0.1", proxy_port_);
  pull.set_read_timeout(300, 0);
  const httplib::Headers auth = {{"Authorization", "Bearer " + bearer}};
  auto manifest = pull.Get("/v2/vendor/big/manifests/1", auth);
  ASSERT_TRUE(manifest);
  ASSERT_EQ(manifest->status, 200);
  const nlohmann::json layer =
      nlohmann::json::parse(manifest->body)["layers"][0];
  const std::string digest = layer["digest"];
  ASSERT_GE(layer["size"].get<uint64_t>(), kLayerBytes);

  const int64_t before_kb = PeakRssKb(nodefit_->process().pid());
  Sha256Stream hash;
  uint64_t received = 0;
  auto blob = pull.Get("/v2/vendor/big/blobs/" + digest, auth,
                       [&](const char* data, size_t length) {
                         hash.Update(absl::string_view(data, length));
                         received += length;
                         return true;
                       });
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->status, 200);
  EXPECT_EQ(received, layer["size"].get<uint64_t>());
  EXPECT_EQ(hash.Finish(), digest);
  const int64_t peak_kb = PeakRssKb(nodefit_->process().pid());
  std::cout << "nodefit proxy streaming a " << received
            << "-byte layer: peak RSS " << peak_kb / 1024 << " MB (before "
            << before_kb / 1024 << " MB)\n";
  ASSERT_GT(peak_kb, 0);
  EXPECT_LT(peak_kb, 64 * 1024);
}

}  // namespace
}  // namespace nodefit
