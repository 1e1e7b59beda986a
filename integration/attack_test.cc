// The attacks of issue 14 on nodefit's HTTP face and its files, reproduced
// as they were found (unprivileged steps as `nobody`, with runuser), each
// now failing to do harm:
//  - nobody reading a private index through nodefit (finding 2);
//  - slow connections stalling /healthz and resolutions (finding 4);
//  - a registry's redirects making nodefit fetch internal URLs (finding 5);
//  - a symlink swapped in while nodefit writes hosts.toml (finding 8);
//  - a world-readable config with secrets and an oversized CRI message
//    (finding 9).
// The memory attacks (finding 3) are in memory_attack_test.cc.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/cri_client.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/pki.h"
#include "integration/testbed/raw_client.h"
#include "integration/testbed/registry.h"
#include "tests/http_test_server.h"

namespace nodefit {
namespace {

using ::nodefit::testing::HttpTestServer;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> AsNobody(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"runuser", "-u", "nobody", "--"});
  return argv;
}

// Runs `argv`; its exit status and combined output (RunCommand folds a
// failure's output into its status).
struct Ran {
  bool ok;
  std::string output;
};
Ran Command(const std::vector<std::string>& argv) {
  absl::StatusOr<std::string> out =
      testbed::RunCommand(argv, absl::Seconds(30));
  return out.ok() ? Ran{true, *out}
                  : Ran{false, std::string(out.status().message())};
}

class AttackTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testbed::ShortTempDir());
    const std::string& d = *dir_;
    testbed::RegistryOptions plain;
    plain.storage_dir = d + "/storage";
    plain.work_dir = d;
    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> r =
        testbed::RegistryServer::Start(plain);
    ASSERT_TRUE(r.ok()) << r.status();
    pusher_ = r->release();
    ASSERT_TRUE(testbed::PushMultiBuildImage(
                    pusher_->host_port(), "private/app", "latest",
                    {{"generic", "linux", "amd64", "", {}, 0},
                     {"skylake", "linux", "amd64", "", {"skylake"}, 0}})
                    .ok());
    testbed::RegistryOptions basic = plain;
    basic.name = "private";
    r = testbed::StartBasicAuthRegistry(basic, "node",
                                        "node-registry-password");
    ASSERT_TRUE(r.ok()) << r.status();
    private_ = r->release();
    absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> n =
        testbed::NodefitProcess::Start(
            NODEFIT_BINARY, d, "nodefit",
            {{"platform", "linux/amd64"},
             {"features", {"skylake"}},
             {"detect", false},
             {"registries",
              {{private_->host_port(),
                {{"username", "node"},
                 {"password", "node-registry-password"}}}}}});
    ASSERT_TRUE(n.ok()) << n.status();
    nodefit_ = n->release();
  }

  static void TearDownTestSuite() {
    delete nodefit_;
    delete private_;
    delete pusher_;
    if (dir_ != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*dir_, ignored);
    }
    delete dir_;
  }

  static std::string ManifestPath(const std::string& registry,
                                  const std::string& repo) {
    return absl::StrCat("/v2/", repo, "/manifests/latest?ns=", registry);
  }

  static std::string* dir_;
  static testbed::RegistryServer* pusher_;
  static testbed::RegistryServer* private_;
  static testbed::NodefitProcess* nodefit_;
};

std::string* AttackTest::dir_ = nullptr;
testbed::RegistryServer* AttackTest::pusher_ = nullptr;
testbed::RegistryServer* AttackTest::private_ = nullptr;
testbed::NodefitProcess* AttackTest::nodefit_ = nullptr;

constexpr char kIndexAccept[] =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.oci.image.manifest.v1+json";

// Finding 2. nodefit holds the private registry's credentials; a local user
// asks nodefit for the private image. Over TLS without the client
// certificate, over plain http, or on the health listener: no manifest.
// (Control: the registry answers that user 401, and containerd, with the
// client certificate, gets the image.)
TEST_F(AttackTest, NobodyCannotReadAPrivateIndexThroughNodefit) {
  const std::string path = ManifestPath(private_->host_port(), "private/app");
  std::unique_ptr<httplib::Client> containerd = nodefit_->FaceClient();
  httplib::Headers accept = {{"Accept", kIndexAccept}};
  auto granted = containerd->Get(path.c_str(), accept);
  ASSERT_TRUE(granted) << httplib::to_string(granted.error());
  ASSERT_EQ(granted->status, 200) << granted->body;
  ASSERT_THAT(granted->body, HasSubstr("schemaVersion"));

  ASSERT_EQ(chmod(dir_->c_str(), 0755), 0);  // nothing hides behind modes
  const std::string face = absl::StrCat("127.0.0.1:", nodefit_->port());
  const std::vector<std::vector<std::string>> attempts = {
      {"curl", "-sS", "-k", "--max-time", "5", "-H",
       absl::StrCat("Accept: ", kIndexAccept), "https://" + face + path},
      {"curl", "-sS", "--max-time", "5", "http://" + face + path},
      {"curl", "-sS", "--max-time", "5", "-w", "\nHTTP %{http_code}",
       absl::StrCat("http://127.0.0.1:", nodefit_->health_port(), path)},
      {"curl", "-sS", "-k", "--max-time", "5", "--cert",
       nodefit_->pki_dir() + "/client.pem", "--key",
       nodefit_->pki_dir() + "/client-key.pem", "https://" + face + path},
  };
  std::vector<Ran> results;
  for (const auto& argv : attempts) results.push_back(Command(AsNobody(argv)));
  const Ran registry = Command(AsNobody({"curl", "-sS", "-o", "/dev/null", "-w",
                                         "%{http_code}", "--max-time", "5",
                                         "http://" + private_->host_port() +
                                             "/v2/private/app/manifests/"
                                             "latest"}));
  const Ran key =
      Command(AsNobody({"cat", nodefit_->pki_dir() + "/client-key.pem"}));
  ASSERT_EQ(chmod(dir_->c_str(), 0700), 0);

  for (size_t i = 0; i < results.size(); ++i) {
    SCOPED_TRACE(attempts[i].back());
    EXPECT_THAT(results[i].output, Not(HasSubstr("schemaVersion")));
    EXPECT_THAT(results[i].output, Not(HasSubstr("sha256:")));
  }
  EXPECT_FALSE(results[0].ok);  // the TLS handshake wants a certificate
  EXPECT_FALSE(results[1].ok);  // plain http on a TLS port
  EXPECT_THAT(results[2].output, HasSubstr("HTTP 404"));
  EXPECT_FALSE(results[3].ok);  // the key is root's
  EXPECT_THAT(registry.output, HasSubstr("401"));
  EXPECT_FALSE(key.ok);
  EXPECT_THAT(key.output, HasSubstr("Permission denied"));
}

// Finding 4. A hundred connections dribbling one byte at a time to each
// listener (without a certificate, as any local user can, and with one, as
// a compromised client could): /healthz and a resolution still answer
// within a second.
TEST_F(AttackTest, SlowConnectionsDoNotStallHealthOrResolutions) {
  const testbed::RawTls with_cert{"", nodefit_->pki_dir() + "/client.pem",
                                  nodefit_->pki_dir() + "/client-key.pem"};
  std::vector<std::unique_ptr<testbed::RawClient>> slow;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<std::unique_ptr<testbed::RawClient>> c =
        testbed::RawClient::Connect(nodefit_->port());  // a TLS hello, slowly
    if (c.ok()) slow.push_back(*std::move(c));
    c = testbed::RawClient::Connect(nodefit_->port(), &with_cert);
    if (c.ok()) slow.push_back(*std::move(c));
    c = testbed::RawClient::Connect(nodefit_->health_port());
    if (c.ok()) slow.push_back(*std::move(c));
  }
  ASSERT_GE(slow.size(), 250u);
  std::atomic<bool> stop{false};
  std::thread dribble([&] {
    const std::string request = "GET /healthz HTTP/1.1\r\nX-Slow: aaaaaaaaaa";
    for (size_t byte = 0; !stop.load(); ++byte) {
      for (auto& c : slow) c->Send(request.substr(byte % request.size(), 1));
      absl::SleepFor(absl::Milliseconds(200));
    }
  });
  const std::string path = ManifestPath(private_->host_port(), "private/app");
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE(round);
    absl::Time start = absl::Now();
    absl::StatusOr<std::string> health = nodefit_->Get("/healthz");
    EXPECT_TRUE(health.ok()) << health.status();
    EXPECT_LT(absl::Now() - start, absl::Seconds(1));
    start = absl::Now();
    std::unique_ptr<httplib::Client> containerd = nodefit_->FaceClient();
    containerd->set_read_timeout(2, 0);
    auto resolved = containerd->Head(path.c_str(), {{"Accept", kIndexAccept}});
    ASSERT_TRUE(resolved) << httplib::to_string(resolved.error());
    EXPECT_EQ(resolved->status, 200);
    EXPECT_LT(absl::Now() - start, absl::Seconds(1));
    absl::SleepFor(absl::Milliseconds(500));
  }
  stop = true;
  dribble.join();
  // The bounds that did it were counted.
  absl::StatusOr<std::string> metrics = nodefit_->Get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(*metrics,
              HasSubstr("nodefit_limits_total{limit=\"http_connections\"}"));
}

// Finding 5. A registry (on loopback, as any local user can run one, or
// named by a pod) answers with redirects to the node's own services and to
// the cloud's metadata address. nodefit follows none of them: the internal
// servers see no request, and the face steps aside (404).
TEST_F(AttackTest, RedirectsCannotReachInternalAddresses) {
  std::atomic<int> internal_hits{0};
  HttpTestServer internal;
  internal.server().Get(
      ".*", [&](const httplib::Request&, httplib::Response& res) {
        ++internal_hits;
        res.set_content(R"({"config": {}, "layers": [], "secret": "internal"})",
                        "application/json");
      });
  internal.Start();
  std::filesystem::create_directories(*dir_ + "/internal-tls");
  absl::StatusOr<testbed::TlsFiles> tls =
      testbed::MakeTlsFiles(*dir_ + "/internal-tls");
  ASSERT_TRUE(tls.ok()) << tls.status();
  httplib::SSLServer internal_tls(tls->server_cert.c_str(),
                                  tls->server_key.c_str());
  internal_tls.Get(".*", [&](const httplib::Request&, httplib::Response& res) {
    ++internal_hits;
    res.set_content(R"({"config": {}, "layers": []})", "application/json");
  });
  const int tls_port = internal_tls.bind_to_any_port("127.0.0.1");
  std::thread tls_thread([&] { internal_tls.listen_after_bind(); });

  const std::map<std::string, std::string> targets = {
      {"plain", internal.Url("/internal/secret")},
      {"tls", absl::StrCat("https://127.0.0.1:", tls_port, "/internal")},
      {"metadata", "http://169.254.169.254/latest/meta-data/"},
      {"metadata-tls", "https://169.254.169.254/latest/meta-data/"},
      {"loopback-name", absl::StrCat("https://localhost:", tls_port, "/x")}};
  HttpTestServer evil;
  evil.server().Get(R"(/v2/([a-z-]+)/manifests/.*)",
                    [&](const httplib::Request& req, httplib::Response& res) {
                      auto it = targets.find(req.matches[1]);
                      if (it == targets.end()) {
                        res.status = 404;
                        return;
                      }
                      res.set_redirect(it->second, 302);
                    });
  evil.server().Get("/v2/", [](const httplib::Request&, httplib::Response&) {});
  evil.Start();

  std::unique_ptr<httplib::Client> containerd = nodefit_->FaceClient();
  containerd->set_read_timeout(15, 0);
  for (const auto& [name, target] : targets) {
    SCOPED_TRACE(name);
    auto res = containerd->Get(ManifestPath(evil.HostPort(), name).c_str(),
                               {{"Accept", kIndexAccept}});
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 404) << res->body;
    EXPECT_THAT(res->body, Not(HasSubstr("internal")));
  }
  EXPECT_EQ(internal_hits.load(), 0);
  EXPECT_THAT(nodefit_->log(), HasSubstr("refusing redirect"));
  internal_tls.stop();
  tls_thread.join();
}

// Finding 8. A registry directory under the certs dir that a local user
// can write (delegated, or a mistake): while `nodefit hosts install` and
// `remove` run again and again, that user keeps swapping the files nodefit
// writes for links to a root-owned file elsewhere. Nothing outside the
// certs dir changes.
TEST_F(AttackTest, ASymlinkSwapChangesNothingOutsideTheCertsDir) {
  const std::string root = testbed::ShortTempDir();
  ASSERT_EQ(chmod(root.c_str(), 0755), 0);
  const std::string certs = root + "/certs.d";
  const std::string reg = certs + "/registry.example";
  std::filesystem::create_directories(reg);
  std::ofstream(reg + "/hosts.toml")
      << "server = \"https://registry.example\"\n";
  ASSERT_EQ(chown(reg.c_str(), 65534, 65534), 0);
  const std::string victim = root + "/victim.conf";
  std::ofstream(victim) << "root's file\n";
  ASSERT_EQ(chmod(victim.c_str(), 0644), 0);

  absl::StatusOr<std::unique_ptr<testbed::Subprocess>> swapper =
      testbed::Subprocess::Start(
          AsNobody({"bash", "-c",
                    absl::StrCat("while :; do for f in hosts.toml "
                                 "hosts.toml.nodefit-backup; do ln -sfn ",
                                 victim, " ", reg,
                                 "/$f 2>/dev/null; done; "
                                 "done")}),
          root + "/swapper.log");
  ASSERT_TRUE(swapper.ok()) << swapper.status();
  // Each run either finds a file and rewrites it by rename, or meets a
  // link and leaves it (a note, or an error when remove expected a file).
  int met_link = 0;
  for (int i = 0; i < 30; ++i) {
    for (const std::vector<std::string>& argv :
         {nodefit_->HostsInstall(certs),
          std::vector<std::string>{NODEFIT_BINARY, "hosts", "remove",
                                   "--certs-dir", certs}}) {
      const Ran ran = Command(argv);
      if (absl::StrContains(ran.output, "link") ||
          absl::StrContains(ran.output, "not a regular file")) {
        ++met_link;
      }
    }
  }
  (*swapper)->Stop();
  EXPECT_EQ(testbed::ReadFileOrEmpty(victim), "root's file\n");
  struct stat st;
  ASSERT_EQ(lstat(victim.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  EXPECT_EQ(st.st_uid, 0u);
  // Only the victim and the certs dir are in `root` (plus the log).
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_THAT(names,
              ::testing::ElementsAre("certs.d", "swapper.log", "victim.conf"));
  // The race was real: some runs met the attacker's link.
  EXPECT_GT(met_link, 0);
  std::filesystem::remove_all(root);
}

// Finding 9. A config holding a registry password, readable by others:
// nodefit says so when it starts (install.sh writes it 0600, and so does
// the testbed: the suite's nodefit did not warn).
TEST_F(AttackTest, AReadableConfigWithSecretsIsWarnedAbout) {
  EXPECT_THAT(nodefit_->log(), Not(HasSubstr("readable by group or others")));
  nlohmann::json config =
      nlohmann::json::parse(testbed::ReadFileOrEmpty(nodefit_->config_path()));
  config.erase("http");
  config.erase("cri");
  absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> readable =
      testbed::NodefitProcess::Start(NODEFIT_BINARY, *dir_, "readable", config,
                                     {}, 0644);
  ASSERT_TRUE(readable.ok()) << readable.status();
  EXPECT_THAT((*readable)->log(), HasSubstr("readable by group or others"));
  EXPECT_THAT((*readable)->log(), HasSubstr("\"mode\":\"0644\""));
  EXPECT_THAT((*readable)->log(), Not(HasSubstr("node-registry-password")));
}

// Finding 9. A CRI request larger than limits.cri_max_message_bytes (4 MiB)
// is refused before nodefit holds it; nodefit still answers.
TEST_F(AttackTest, AnOversizedCriMessageIsRefused) {
  testbed::CriClient via("unix://" + *dir_ + "/nodefit.sock");
  runtime::v1::PullImageRequest request;
  request.mutable_image()->set_image(std::string(5 << 20, 'a'));
  absl::StatusOr<std::string> answer = via.RawCall(
      "/runtime.v1.ImageService/PullImage", request.SerializeAsString());
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kResourceExhausted);
  grpc::health::v1::HealthCheckRequest check;
  check.set_service("runtime.v1.ImageService");
  absl::StatusOr<std::string> health =
      via.RawCall("/grpc.health.v1.Health/Check", check.SerializeAsString());
  EXPECT_TRUE(health.ok()) << health.status();
}

}  // namespace
}  // namespace nodefit
