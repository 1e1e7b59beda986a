// `nodefit serve` as a process: SIGHUP reloads the config (a broken one is
// refused and the old one stays), SIGTERM lets a CRI pull in flight finish,
// removes the socket and exits 0, and systemd's NOTIFY_SOCKET gets READY=1,
// with each containerd of the matrix.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/cri_client.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/registry.h"
#include "tests/http_test_server.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;

// A reverse proxy for the registry that answers each request late, so a
// resolution through it is reliably in flight for a while.
class SlowProxy {
 public:
  SlowProxy(int registry_port, absl::Duration delay) {
    auto forward = [this, registry_port, delay](const httplib::Request& req,
                                                httplib::Response& res) {
      ++requests_;
      absl::SleepFor(delay);
      httplib::Client upstream("127.0.0.1", registry_port);
      httplib::Headers headers;
      for (const auto& [k, v] : req.headers) {
        if (k == "Accept" || k == "Authorization") headers.emplace(k, v);
      }
      const std::string target =
          req.target.empty() ? req.path : std::string(req.target);
      auto r = req.method == "HEAD" ? upstream.Head(target, headers)
                                    : upstream.Get(target, headers);
      if (!r) {
        res.status = 502;
        return;
      }
      res.status = r->status;
      for (const char* h : {"Docker-Content-Digest", "Content-Type"}) {
        if (r->has_header(h)) res.set_header(h, r->get_header_value(h));
      }
      if (req.method == "HEAD") {
        res.set_header("Content-Length", r->get_header_value("Content-Length"));
      } else {
        res.set_content(r->body, r->get_header_value("Content-Type"));
      }
    };
    server_.server().Get(".*", forward);
    server_.Start();
  }
  std::string url() const { return server_.Url(); }
  // Requests received so far (each then waits `delay`).
  int requests() const { return requests_.load(); }

 private:
  std::atomic<int> requests_{0};
  testing::HttpTestServer server_;
};

// A unix datagram socket standing in for systemd's NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    timeval tv{0, 200'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~NotifySocket() {
    close(fd_);
    unlink(path_.c_str());
  }
  // Messages received until one contains `wanted` or `timeout` passes.
  bool WaitFor(const std::string& wanted, absl::Duration timeout) {
    const absl::Time end = absl::Now() + timeout;
    while (absl::Now() < end) {
      char buffer[4096];
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) continue;
      received_.emplace_back(buffer, static_cast<size_t>(n));
      if (absl::StrContains(received_.back(), wanted)) return true;
    }
    return false;
  }
  const std::vector<std::string>& received() const { return received_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> received_;
};

class DaemonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testbed::ShortTempDir());
    testbed::RegistryOptions options;
    options.storage_dir = *dir_ + "/storage";
    options.work_dir = *dir_;
    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> r =
        testbed::RegistryServer::Start(options);
    ASSERT_TRUE(r.ok()) << r.status();
    registry_ = r->release();
    absl::StatusOr<testbed::PushedImage> tf = testbed::PushMultiBuildImage(
        registry_->host_port(), "cv/tf", "latest", testbed::SeedBuilds());
    ASSERT_TRUE(tf.ok()) << tf.status();
    tf_ = new testbed::PushedImage(*tf);
  }
  static void TearDownTestSuite() {
    delete registry_;
    delete tf_;
    std::error_code ignored;
    std::filesystem::remove_all(*dir_, ignored);
    delete dir_;
  }

  static nlohmann::json NodeConfig(const std::vector<std::string>& features,
                                   int port) {
    return {{"platform", "linux/amd64"},
            {"features", features},
            {"detect", false},
            {"http", {{"listen", absl::StrCat("127.0.0.1:", port)}}},
            {"cri",
             {{"listen", absl::StrCat("unix://", *dir_, "/hup.sock")},
              {"containerd", absl::StrCat("unix://", *dir_, "/none.sock")}}}};
  }

  // The digest the HTTP face answers for cv/tf:latest.
  static std::string Head(const testbed::NodefitProcess& nodefit) {
    std::unique_ptr<httplib::Client> client = nodefit.FaceClient();
    auto res = client->Head(
        ("/v2/cv/tf/manifests/latest?ns=" + registry_->host_port()).c_str());
    return res && res->status == 200
               ? res->get_header_value("Docker-Content-Digest")
               : absl::StrCat("status ", res ? res->status : -1);
  }

  static std::string* dir_;
  static testbed::RegistryServer* registry_;
  static testbed::PushedImage* tf_;
};

std::string* DaemonTest::dir_ = nullptr;
testbed::RegistryServer* DaemonTest::registry_ = nullptr;
testbed::PushedImage* DaemonTest::tf_ = nullptr;

TEST_F(DaemonTest, SighupReloadsAndABrokenConfigKeepsTheOldOne) {
  const int port = testbed::FreePort();
  NotifySocket notify(*dir_ + "/notify.sock");
  absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> p =
      testbed::NodefitProcess::Start(
          NODEFIT_BINARY, *dir_, "hup", NodeConfig({"skylake"}, port),
          {"NOTIFY_SOCKET=" + *dir_ + "/notify.sock"});
  ASSERT_TRUE(p.ok()) << p.status();
  testbed::NodefitProcess& nodefit = **p;
  EXPECT_TRUE(notify.WaitFor("READY=1", absl::Seconds(5)));
  EXPECT_EQ(Head(**p), tf_->Find("skylake")->manifest_digest);

  // A new node profile, same addresses: takes effect without a restart.
  std::ofstream(nodefit.config_path())
      << NodeConfig({"broadwell", "nv-compute-5-2", "nvidia-396-44"}, port)
             .dump();
  nodefit.process().Signal(SIGHUP);
  EXPECT_TRUE(notify.WaitFor("RELOADING=1", absl::Seconds(5)));
  EXPECT_TRUE(notify.WaitFor("READY=1", absl::Seconds(5)));
  ASSERT_TRUE(
      testbed::WaitFor(
          [&] { return absl::StrContains(nodefit.log(), "config reloaded"); },
          absl::Seconds(5), "reload")
          .ok());
  EXPECT_EQ(Head(**p),
            tf_->Find("broadwell-nvcap52-nvidia39644")->manifest_digest);

  // A broken config: logged, refused, the previous one still serves.
  std::ofstream(nodefit.config_path()) << R"({"features": "not a list"})";
  nodefit.process().Signal(SIGHUP);
  ASSERT_TRUE(
      testbed::WaitFor(
          [&] { return absl::StrContains(nodefit.log(), "reload failed"); },
          absl::Seconds(5), "failed reload")
          .ok());
  EXPECT_THAT(nodefit.log(), HasSubstr("key \\\"features\\\": expected array"));
  EXPECT_TRUE(nodefit.process().Running());
  EXPECT_EQ(Head(**p),
            tf_->Find("broadwell-nvcap52-nvidia39644")->manifest_digest);

  EXPECT_EQ(nodefit.Stop(), 0);
  EXPECT_TRUE(notify.WaitFor("STOPPING=1", absl::Seconds(2)));
}

TEST_F(DaemonTest, SigtermFinishesAPullInFlightAndRemovesTheSocket) {
  const std::string certs = *dir_ + "/certs";
  registry_->WriteHostsToml(certs);
  std::filesystem::create_directories(*dir_ + "/ctd");
  absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> containerd =
      testbed::ContainerdServer::Start({*dir_ + "/ctd", certs});
  ASSERT_TRUE(containerd.ok()) << containerd.status();

  // nodefit reads the registry through a proxy that answers 1.5 s late.
  SlowProxy slow(registry_->port(), absl::Milliseconds(1500));
  const std::string socket = *dir_ + "/term.sock";
  absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> p =
      testbed::NodefitProcess::Start(
          NODEFIT_BINARY, *dir_, "term",
          {{"platform", "linux/amd64"},
           {"features", {"skylake"}},
           {"detect", false},
           {"registries",
            {{registry_->host_port(), {{"endpoint", slow.url()}}}}},
           {"cri",
            {{"listen", "unix://" + socket},
             {"containerd", (*containerd)->address()}}}});
  ASSERT_TRUE(p.ok()) << p.status();

  absl::StatusOr<runtime::v1::PullImageResponse> pulled =
      absl::UnknownError("not done");
  std::thread pull([&] {
    testbed::CriClient client("unix://" + socket);
    pulled = client.PullImage(registry_->host_port() + "/cv/tf:latest");
  });
  // The resolution is in flight once the registry's proxy holds it.
  EXPECT_TRUE(testbed::WaitFor([&] { return slow.requests() >= 1; },
                               absl::Seconds(10), "the proxied request")
                  .ok());
  (*p)->process().Signal(SIGTERM);
  pull.join();
  ASSERT_TRUE(pulled.ok()) << pulled.status() << "\n" << (*p)->log();
  EXPECT_EQ(pulled->image_ref(), tf_->Find("skylake")->config_digest);
  EXPECT_EQ((*p)->process().Wait(absl::Seconds(20)), 0);  // exit status 0
  EXPECT_FALSE(std::filesystem::exists(socket));
  EXPECT_THAT((*p)->log(), HasSubstr("shutting down"));
  EXPECT_THAT((*p)->log(), HasSubstr("\"msg\":\"stopped\""));
}

// A node whose server certificate is about to end (issued for 10 days by
// the node CA with the openssl CLI): serve renews it at start, reloads it,
// and containerd's client certificate still works.
TEST_F(DaemonTest, CertificatesNearTheirEndAreRenewedAtStart) {
  const std::string pki = *dir_ + "/renew-pki";
  ASSERT_TRUE(
      testbed::RunCommand({NODEFIT_BINARY, "pki", "init", "--dir", pki}).ok());
  ASSERT_TRUE(testbed::RunCommand({"openssl", "req", "-new", "-key",
                                   pki + "/server-key.pem", "-subj",
                                   "/CN=nodefit", "-out", pki + "/server.csr"})
                  .ok());
  ASSERT_TRUE(
      testbed::RunCommand({"openssl", "x509", "-req", "-in",
                           pki + "/server.csr", "-days", "10", "-CA",
                           pki + "/ca.pem", "-CAkey", pki + "/ca-key.pem",
                           "-set_serial", "9", "-out", pki + "/server.pem"})
          .ok());
  const std::string short_lived = testbed::ReadFileOrEmpty(pki + "/server.pem");
  nlohmann::json config = NodeConfig({"skylake"}, testbed::FreePort());
  config["http"]["pki_dir"] = pki;
  config["cri"]["listen"] = absl::StrCat("unix://", *dir_, "/renew.sock");
  absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> p =
      testbed::NodefitProcess::Start(NODEFIT_BINARY, *dir_, "renew", config);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(testbed::WaitFor(
                  [&] {
                    return absl::StrContains(
                        (*p)->log(),
                        "renewed the server and client certificates");
                  },
                  absl::Seconds(10), "renewal")
                  .ok())
      << (*p)->log();
  EXPECT_NE(testbed::ReadFileOrEmpty(pki + "/server.pem"), short_lived);
  EXPECT_EQ(Head(**p), tf_->Find("skylake")->manifest_digest);
  absl::StatusOr<std::string> kept = testbed::RunCommand(
      {NODEFIT_BINARY, "pki", "init", "--dir", pki});  // all fine now
  ASSERT_TRUE(kept.ok());
  EXPECT_THAT(*kept, HasSubstr("server.pem: kept"));
}

TEST_F(DaemonTest, ABadConfigStopsStartWithTheMessage) {
  const std::string path = *dir_ + "/bad.json";
  std::ofstream(path) << R"({"on_no_match": "retry"})";
  absl::StatusOr<std::string> run = testbed::RunCommand(
      {NODEFIT_BINARY, "serve", "--config", path}, absl::Seconds(10));
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(std::string(run.status().message()),
              HasSubstr("key \"on_no_match\": unknown no-match policy"));
}

}  // namespace
}  // namespace nodefit
