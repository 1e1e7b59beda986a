// The HTTP face over a real socket, with the registry behind our HttpClient
// seam scripted. The same face against real containerd and a real registry
// is in integration/resolver_face_test.cc.
#include "plugin/faces/http_face.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "resolver/registry/digest.h"
#include "tests/plugin/faces/fake_manifests.h"
#include "tests/resolver/registry/fake_http_client.h"

namespace nodefit {
namespace {

using ::nodefit::testing::FakeHttpClient;
using ::testing::HasSubstr;
using ::testing::Not;

using ::nodefit::testing::kIndexType;
using ::nodefit::testing::kManifestType;

struct Upstream : nodefit::testing::FakeManifests {
  bool broken = false;
  // Every URL asked for, in the order the face's workers asked.
  std::mutex log_mu;
  std::vector<std::string> log;

  absl::StatusOr<HttpResponse> Handle(const HttpRequest& r) {
    {
      std::lock_guard<std::mutex> lock(log_mu);
      log.push_back(r.url);
    }
    if (broken) {
      HttpResponse res;
      res.status = 500;
      return res;
    }
    const std::string prefix = "https://reg.example/v2/cv/tf/manifests/";
    return Answer(
        absl::StartsWith(r.url, prefix) ? r.url.substr(prefix.size()) : "",
        r.method);
  }
};

class HttpFaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    manifests_ = upstream_.AddThreeBuilds("latest");
    const std::string plain = nlohmann::json{
        {"schemaVersion", 2},
        {"mediaType", kIndexType},
        {"manifests",
         {upstream_.Entry(manifests_["generic"],
                          {})}}}.dump();
    upstream_.tags["plain"] = upstream_.Add(plain, kIndexType);
    StartFace("linux/amd64");
  }

  void StartFace(const std::string& platform, int threads = 8) {
    face_.reset();
    Config config;
    config.platform = *ParsePlatform(platform);
    config.features = {"skylake"};
    config.registries["reg.example"].username = "u";
    config.registries["reg.example"].password = "face-test-secret";
    setenv("DOCKER_CONFIG", "/nonexistent/nodefit-test", 1);
    auto http = std::make_shared<FakeHttpClient>(
        [this](const HttpRequest& r) { return upstream_.Handle(r); });
    engines_.Set(
        *BuildEngine(config, config.ConfiguredNode(), http, &metrics_));
    HttpFaceOptions options;
    options.listen = "127.0.0.1:0";
    options.health_listen = "127.0.0.1:0";
    options.limits.workers = threads;
    absl::StatusOr<std::unique_ptr<HttpFace>> face =
        HttpFace::Start(options, &engines_, &metrics_, &logger_);
    ASSERT_TRUE(face.ok()) << face.status();
    face_ = *std::move(face);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", face_->port());
    health_ =
        std::make_unique<httplib::Client>("127.0.0.1", face_->health_port());
  }

  std::string Logs() {
    absl::MutexLock lock(&log_mu_);
    return logs_;
  }

  Upstream upstream_;
  std::map<std::string, std::string> manifests_;
  Metrics metrics_;
  absl::Mutex log_mu_;
  std::string logs_;
  Logger logger_{LogFormat::kJson, LogLevel::kDebug,
                 [this](const std::string& line) {
                   absl::MutexLock lock(&log_mu_);
                   logs_ += line;
                 }};
  EngineSlot engines_;
  std::unique_ptr<HttpFace> face_;
  std::unique_ptr<httplib::Client> client_;
  std::unique_ptr<httplib::Client> health_;
};

TEST_F(HttpFaceTest, HeadAnswersWithTheChosenManifestDescriptor) {
  auto res = client_->Head("/v2/cv/tf/manifests/latest?ns=reg.example");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Docker-Content-Digest"),
            manifests_["skylake"]);
  EXPECT_EQ(res->get_header_value("Content-Type"), kManifestType);
  EXPECT_EQ(res->get_header_value("Content-Length"),
            std::to_string(upstream_.bodies[manifests_["skylake"]].size()));

  auto get = client_->Get("/v2/cv/tf/manifests/latest?ns=reg.example");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, upstream_.bodies[manifests_["skylake"]]);
  EXPECT_EQ(Sha256Digest(get->body), manifests_["skylake"]);

  EXPECT_EQ(metrics_.Value("nodefit_resolutions_total", {"http", "selected"}),
            2u);
  const std::string logs = Logs();
  EXPECT_THAT(logs, HasSubstr("\"outcome\":\"selected\""));
  EXPECT_THAT(logs, HasSubstr("\"chosen\":\"" + manifests_["skylake"]));
  EXPECT_THAT(logs, HasSubstr("\"image\":\"reg.example/cv/tf:latest\""));
  EXPECT_THAT(logs, Not(HasSubstr("face-test-secret")));
}

TEST_F(HttpFaceTest, IndexWithoutFeatureDataIsHandedBackUntouched) {
  auto res = client_->Get("/v2/cv/tf/manifests/plain?ns=reg.example");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Docker-Content-Digest"),
            upstream_.tags["plain"]);
  EXPECT_EQ(res->get_header_value("Content-Type"), kIndexType);
  EXPECT_EQ(res->body, upstream_.bodies[upstream_.tags["plain"]]);
  EXPECT_EQ(
      metrics_.Value("nodefit_resolutions_total", {"http", "passthrough"}), 1u);
}

TEST_F(HttpFaceTest, NoMatchServesAnEmptyIndexUnderItsOwnDigest) {
  StartFace("linux/arm64");
  auto head = client_->Head("/v2/cv/tf/manifests/latest?ns=reg.example");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  const std::string digest = head->get_header_value("Docker-Content-Digest");
  EXPECT_EQ(head->get_header_value("Content-Type"), kIndexType);
  auto get = client_->Get("/v2/cv/tf/manifests/" + digest + "?ns=reg.example");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(Sha256Digest(get->body), digest);
  const nlohmann::json empty = nlohmann::json::parse(get->body);
  EXPECT_TRUE(empty["manifests"].empty());
  EXPECT_THAT(empty["annotations"]["io.nodefit.no-match"].get<std::string>(),
              HasSubstr("no build of reg.example/cv/tf:latest fits node "
                        "linux/arm64"));
  EXPECT_THAT(Logs(), HasSubstr("no build fits this node"));
  EXPECT_EQ(metrics_.Value("nodefit_resolutions_total", {"http", "no_match"}),
            1u);
}

TEST_F(HttpFaceTest, FailuresStepAsideWith404) {
  upstream_.broken = true;
  auto res = client_->Head("/v2/cv/tf/manifests/latest?ns=reg.example");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(metrics_.Value("nodefit_stepaside_total", {"http", "unreachable"}),
            1u);
  EXPECT_THAT(Logs(), HasSubstr("\"reason\":\"unreachable\""));
  EXPECT_THAT(Logs(), HasSubstr("500 from reg.example"));
}

TEST_F(HttpFaceTest, DigestsBlobsAndOtherPathsAre404AtOnce) {
  auto digest = client_->Get("/v2/cv/tf/manifests/" + manifests_["skylake"] +
                             "?ns=reg.example");
  ASSERT_TRUE(digest);
  EXPECT_EQ(digest->status, 404);
  EXPECT_THAT(digest->body, HasSubstr("MANIFEST_UNKNOWN"));
  auto blob = client_->Get("/v2/cv/tf/blobs/sha256:abc?ns=reg.example");
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->status, 404);
  EXPECT_THAT(blob->body, HasSubstr("BLOB_UNKNOWN"));
  auto other = client_->Get("/v3/whatever");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  auto put = client_->Put("/v2/cv/tf/manifests/latest", "{}", kIndexType);
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  // No upstream request was made for any of these.
  EXPECT_EQ(metrics_.Value("nodefit_upstream_requests_total", {"200"}), 0u);
}

TEST_F(HttpFaceTest, BadRequestsAre400WithAClearMessage) {
  auto no_ns = client_->Get("/v2/cv/tf/manifests/latest");
  ASSERT_TRUE(no_ns);
  EXPECT_EQ(no_ns->status, 400);
  EXPECT_THAT(no_ns->body, HasSubstr("missing ?ns=<registry>"));
  auto bad_repo = client_->Get("/v2/CV/tf/manifests/latest?ns=reg.example");
  ASSERT_TRUE(bad_repo);
  EXPECT_EQ(bad_repo->status, 400);
  EXPECT_THAT(bad_repo->body, HasSubstr("must be lowercase"));
  auto traversal =
      client_->Get("/v2/cv/../../etc/manifests/latest?ns=reg.example");
  ASSERT_TRUE(traversal);
  EXPECT_NE(traversal->status, 200);
  auto bad_ns = client_->Get("/v2/cv/tf/manifests/latest?ns=a%20b");
  ASSERT_TRUE(bad_ns);
  EXPECT_EQ(bad_ns->status, 400);
  auto long_path = client_->Get("/v2/" + std::string(7000, 'a') +
                                "/manifests/latest?ns=reg.example");
  ASSERT_TRUE(long_path);
  EXPECT_EQ(long_path->status, 400);
}

TEST_F(HttpFaceTest, OperationalEndpoints) {
  auto v2 = client_->Get("/v2/");
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->status, 200);
  EXPECT_EQ(v2->body, "{}");
  // Health and metrics on their own listener; the face has none of them.
  auto health = health_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto not_ready = health_->Get("/readyz");
  ASSERT_TRUE(not_ready);
  EXPECT_EQ(not_ready->status, 503);
  face_->set_ready(true);
  auto ready = health_->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  for (const char* path : {"/healthz", "/metrics"}) {
    auto on_face = client_->Get(path);
    ASSERT_TRUE(on_face);
    EXPECT_EQ(on_face->status, 404) << path;
  }
  auto v2_on_health = health_->Get("/v2/");
  ASSERT_TRUE(v2_on_health);
  EXPECT_EQ(v2_on_health->status, 404);
  ASSERT_TRUE(client_->Head("/v2/cv/tf/manifests/latest?ns=reg.example"));
  auto metrics = health_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body,
              HasSubstr("nodefit_resolutions_total{face=\"http\",outcome="
                        "\"selected\"} 1"));
  EXPECT_THAT(metrics->body,
              HasSubstr("nodefit_upstream_requests_total{code=\"200\"} 1"));
  EXPECT_THAT(metrics->body,
              HasSubstr("nodefit_http_requests_total{route=\"readyz\",code="
                        "\"503\"} 1"));
  EXPECT_THAT(metrics->body, HasSubstr("nodefit_selection_seconds_count 1"));
}

// With one worker, a connection kept busy must not keep a waiting one out.
// Counted in the order the worker asked upstream, from when the waiting
// request sat whole in the kernel: the test thread's own scheduling (slow
// under ASan on a loaded machine) does not enter the count.
TEST_F(HttpFaceTest, BusyConnectionsTakeTurnsWithWaitingOnes) {
  StartFace("linux/amd64", /*threads=*/1);
  std::atomic<bool> stop{false};
  std::atomic<int> busy_requests{0};
  std::thread busy([&] {
    httplib::Client c("127.0.0.1", face_->port());
    c.set_keep_alive(true);
    const absl::Time end = absl::Now() + absl::Seconds(20);
    while (!stop && absl::Now() < end) {
      if (c.Head("/v2/cv/tf/manifests/latest?ns=reg.example")) ++busy_requests;
    }
  });
  while (busy_requests.load() == 0) absl::SleepFor(absl::Milliseconds(1));
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(face_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string request =
      "HEAD /v2/cv/tf/manifests/waiting?ns=reg.example HTTP/1.1\r\n"
      "Host: 127.0.0.1\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(write(fd, request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  size_t before = 0;
  {
    std::lock_guard<std::mutex> lock(upstream_.log_mu);
    before = upstream_.log.size();
  }
  timeval timeout{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  char reply[512];
  const ssize_t got = read(fd, reply, sizeof(reply));
  close(fd);
  stop = true;
  busy.join();
  ASSERT_GT(got, 0) << "the waiting request got no answer";
  EXPECT_TRUE(absl::StartsWith(absl::string_view(reply, got), "HTTP/1.1 404"))
      << absl::string_view(reply, got);
  std::lock_guard<std::mutex> lock(upstream_.log_mu);
  int served_after = 0;
  bool waiting_served = false;
  for (size_t i = before; i < upstream_.log.size(); ++i) {
    if (absl::EndsWith(upstream_.log[i], "/manifests/waiting")) {
      waiting_served = true;
      break;
    }
    ++served_after;
  }
  ASSERT_TRUE(waiting_served);
  // Requests, not connections, take the worker: the waiting one is served
  // between two of the busy connection's.
  EXPECT_LE(served_after, 10);
}

}  // namespace
}  // namespace nodefit
