// The proxy face over a real socket, with the registry behind our HttpClient
// seam scripted. Against Podman, skopeo and a real registry:
// integration/proxy_test.cc.
#include "plugin/faces/proxy_face.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>

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
using ::nodefit::testing::RequestHeader;
using ::testing::HasSubstr;
using ::testing::Not;

using ::nodefit::testing::kIndexType;
using ::nodefit::testing::kManifestType;
constexpr char kBase[] = "https://reg.example/v2/cv/tf/";

struct Upstream : nodefit::testing::FakeManifests {
  std::map<std::string, std::string> blobs;  // digest -> blob
  std::mutex mu;
  std::vector<HttpRequest> seen;
  bool require_basic = false;  // 401 + Basic challenge without credentials
  std::atomic<size_t> blob_bytes_taken{0};  // what the face's sink took
  std::atomic<int> blob_transfers_cut{0};   // sinks that said stop

  absl::StatusOr<HttpResponse> Handle(const HttpRequest& r) {
    {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(r);
    }
    HttpResponse res;
    res.status = 404;
    if (!absl::StartsWith(r.url, kBase)) return res;
    if (require_basic &&
        !absl::StartsWith(RequestHeader(r, "Authorization"), "Basic ")) {
      res.status = 401;
      res.headers = {{"www-authenticate", "Basic realm=\"reg\""}};
      return res;
    }
    const std::string path = r.url.substr(strlen(kBase));
    if (absl::StartsWith(path, "referrers/")) {
      res.status = 200;
      res.headers = {{"content-type", kIndexType},
                     {"oci-filters-applied", "artifactType"}};
      res.body = R"({"schemaVersion":2,"manifests":[]})";
      return res;
    }
    if (absl::StartsWith(path, "tags/list")) {
      res.status = 200;
      res.headers = {
          {"content-type", "application/json"},
          {"link", "</v2/cv/tf/tags/list?last=b&n=1>; rel=\"next\""}};
      res.body = R"({"name":"cv/tf","tags":["latest","plain"]})";
      return res;
    }
    if (absl::StartsWith(path, "blobs/")) {
      const std::string digest = path.substr(6);
      if (blobs.count(digest) == 0) return res;
      const std::string& blob = blobs[digest];
      res.status = 200;
      res.headers = {{"content-length", std::to_string(blob.size())}};
      if (r.method == "GET" && r.body_sink != nullptr) {
        if (r.on_body_start != nullptr) r.on_body_start(200, res.headers);
        for (size_t at = 0; at < blob.size(); at += 1000) {
          const absl::string_view piece =
              absl::string_view(blob).substr(at, 1000);
          if (!r.body_sink(piece)) {
            ++blob_transfers_cut;
            return absl::CancelledError("stopped");
          }
          blob_bytes_taken += piece.size();
        }
        res.body_streamed = true;
      }
      return res;
    }
    if (!absl::StartsWith(path, "manifests/")) return res;
    return Answer(path.substr(10), r.method);
  }
};

class ProxyFaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    manifests_ = upstream_.AddThreeBuilds("latest");
    blob_ = std::string(300'000, 'z') + "end";
    upstream_.blobs[Sha256Digest(blob_)] = blob_;
    setenv("DOCKER_CONFIG", "/nonexistent/nodefit-test", 1);
    config_.platform = *ParsePlatform("linux/amd64");
    config_.features = {"skylake"};
    config_.registries["reg.example"].username = "u";
    config_.registries["reg.example"].password = "proxy-test-secret";
    config_.proxy.listen = "127.0.0.1:0";
    config_.proxy.default_registry = "reg.example";
    config_.proxy.prefixes["reg"] = "reg.example";
    http_ = std::make_shared<FakeHttpClient>(
        [this](const HttpRequest& r) { return upstream_.Handle(r); });
    Reload();
    ProxyFaceOptions options;
    options.listen = "127.0.0.1:0";
    options.limits.workers = 4;
    absl::StatusOr<std::unique_ptr<ProxyFace>> face =
        ProxyFace::Start(options, &engines_, &metrics_, &logger_);
    ASSERT_TRUE(face.ok()) << face.status();
    face_ = *std::move(face);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", face_->port());
  }

  void Reload() {
    absl::StatusOr<std::shared_ptr<const Engine>> engine =
        BuildEngine(config_, config_.ConfiguredNode(), http_, &metrics_);
    ASSERT_TRUE(engine.ok()) << engine.status();
    engines_.Set(*std::move(engine));
  }

  // Central mode with two logins.
  void Logins() {
    absl::StatusOr<std::string> hash = HashPassword("type1-pass");
    ASSERT_TRUE(hash.ok());
    config_.proxy.profiles["type1"].password_hash = *hash;
    config_.proxy.profiles["type1"].features = {"skylake"};
    config_.proxy.profiles["type2"].password_hash = *hash;
    config_.proxy.profiles["type2"].features = {"skylake-avx512"};
    config_.proxy.profiles["arm"].password_hash = *hash;
    config_.proxy.profiles["arm"].platform = *ParsePlatform("linux/arm64");
    Reload();
  }

  // A token for `user` with pull of cv/tf, or "" with the status seen.
  std::string Login(const std::string& user, const std::string& password,
                    int* status = nullptr) {
    httplib::Headers headers = {
        httplib::make_basic_authentication_header(user, password)};
    auto res = client_->Get(
        "/token?service=nodefit&scope=repository%3Acv%2Ftf%3Apull", headers);
    EXPECT_TRUE(res);
    if (!res) return "";
    if (status != nullptr) *status = res->status;
    if (res->status != 200) return "";
    return nlohmann::json::parse(res->body)["token"].get<std::string>();
  }

  httplib::Result GetWithToken(const std::string& path,
                               const std::string& token) {
    return client_->Get(path, {{"Authorization", "Bearer " + token}});
  }

  std::string Logs() {
    absl::MutexLock lock(&log_mu_);
    return logs_;
  }

  Upstream upstream_;
  std::map<std::string, std::string> manifests_;
  std::string blob_;
  Config config_;
  std::shared_ptr<FakeHttpClient> http_;
  Metrics metrics_;
  absl::Mutex log_mu_;
  std::string logs_;
  Logger logger_{LogFormat::kJson, LogLevel::kDebug,
                 [this](const std::string& line) {
                   absl::MutexLock lock(&log_mu_);
                   logs_ += line;
                 }};
  EngineSlot engines_;
  std::unique_ptr<ProxyFace> face_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ProxyFaceTest, ATagIsServedAsTheNodesBuild) {
  auto base = client_->Get("/v2/");
  ASSERT_TRUE(base);
  EXPECT_EQ(base->status, 200);
  EXPECT_EQ(base->get_header_value("Docker-Distribution-Api-Version"),
            "registry/2.0");

  auto head = client_->Head("/v2/cv/tf/manifests/latest");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Docker-Content-Digest"),
            manifests_["skylake"]);
  EXPECT_EQ(head->get_header_value("Content-Type"), kManifestType);

  auto get = client_->Get("/v2/cv/tf/manifests/latest");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(Sha256Digest(get->body), manifests_["skylake"]);
  // The same through the prefix form.
  get = client_->Get("/v2/reg/cv/tf/manifests/latest");
  ASSERT_TRUE(get);
  EXPECT_EQ(Sha256Digest(get->body), manifests_["skylake"]);
  EXPECT_EQ(metrics_.Value("nodefit_resolutions_total", {"proxy", "selected"}),
            3u);
  EXPECT_THAT(Logs(), HasSubstr("\"face\":\"proxy\""));
}

TEST_F(ProxyFaceTest, DigestsPassThroughVerified) {
  auto get = client_->Get("/v2/cv/tf/manifests/" + manifests_["generic"]);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, upstream_.bodies[manifests_["generic"]]);
  // A registry that sends other bytes under a digest is not believed.
  const std::string forged = Sha256Digest("forged");
  upstream_.bodies[forged] = upstream_.bodies[manifests_["generic"]];
  upstream_.types[forged] = kManifestType;
  get = client_->Get("/v2/cv/tf/manifests/" + forged);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 502);
  EXPECT_THAT(get->body, HasSubstr("\"errors\""));
  get = client_->Get("/v2/cv/tf/manifests/" + Sha256Digest("absent"));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 404);
  EXPECT_THAT(get->body, HasSubstr("MANIFEST_UNKNOWN"));
}

TEST_F(ProxyFaceTest, BlobsStreamThroughAndUnknownOnesAre404) {
  const std::string digest = Sha256Digest(blob_);
  auto head = client_->Head("/v2/cv/tf/blobs/" + digest);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->get_header_value("Content-Length"),
            std::to_string(blob_.size()));
  auto get = client_->Get("/v2/cv/tf/blobs/" + digest);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->get_header_value("Docker-Content-Digest"), digest);
  EXPECT_TRUE(get->body == blob_);
  get = client_->Get("/v2/cv/tf/blobs/" + Sha256Digest("absent"));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 404);
  EXPECT_THAT(get->body, HasSubstr("BLOB_UNKNOWN"));
  get = client_->Get("/v2/cv/tf/blobs/sha256:short");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 400);
  EXPECT_THAT(get->body, HasSubstr("DIGEST_INVALID"));
}

TEST_F(ProxyFaceTest, ListingsPassThroughUnderTheClientsName) {
  auto get = client_->Get("/v2/reg/cv/tf/tags/list?n=1");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  const nlohmann::json doc = nlohmann::json::parse(get->body);
  EXPECT_EQ(doc["name"], "reg/cv/tf");
  EXPECT_EQ(doc["tags"].size(), 2u);
  EXPECT_THAT(get->get_header_value("Link"),
              HasSubstr("</v2/reg/cv/tf/tags/list?last=b&n=1>"));
  bool asked = false;
  for (const HttpRequest& r : http_->requests()) {
    if (r.url == std::string(kBase) + "tags/list?n=1") asked = true;
  }
  EXPECT_TRUE(asked);
}

TEST_F(ProxyFaceTest, NamesWritesAndUnknownPaths) {
  // A registry the name names itself is refused unless allowed.
  auto get = client_->Get("/v2/ghcr.io/org/app/manifests/latest");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 404);
  EXPECT_THAT(get->body, HasSubstr("does not serve registry ghcr.io"));
  config_.proxy.registries = {"reg.example"};
  Reload();
  get = client_->Get("/v2/reg.example/cv/tf/manifests/latest");
  ASSERT_TRUE(get);
  EXPECT_EQ(Sha256Digest(get->body), manifests_["skylake"]);

  auto put =
      client_->Put("/v2/cv/tf/manifests/latest", "{}", "application/json");
  ASSERT_TRUE(put);
  EXPECT_TRUE(put->status == 405 || put->status == 413) << put->status;
  get = client_->Get("/v2/cv/tf/manifests/bad%20tag");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 400);
  get = client_->Get("/elsewhere");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 404);
}

TEST_F(ProxyFaceTest, ClientsNeverBorrowTheNodesCredentials) {
  // Local mode: upstream reads are anonymous, and what the client sends is
  // not passed on.
  auto get = client_->Get("/v2/cv/tf/manifests/latest",
                          {{"Authorization", "Basic Y2xpZW50OnNlY3JldA=="}});
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  for (const HttpRequest& r : http_->requests()) {
    EXPECT_EQ(RequestHeader(r, "Authorization"), "") << r.url;
  }
  EXPECT_THAT(Logs(), Not(HasSubstr("proxy-test-secret")));
}

TEST_F(ProxyFaceTest, CentralModeServesEachLoginItsProfile) {
  Logins();
  auto anonymous = client_->Get("/v2/");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(anonymous->get_header_value("WWW-Authenticate"),
            absl::StrCat("Bearer realm=\"http://127.0.0.1:", face_->port(),
                         "/token\",service=\"nodefit\""));
  anonymous = client_->Get("/v2/cv/tf/manifests/latest");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_THAT(anonymous->get_header_value("WWW-Authenticate"),
              HasSubstr("scope=\"repository:cv/tf:pull\""));
  EXPECT_THAT(anonymous->body, HasSubstr("UNAUTHORIZED"));

  int status = 0;
  EXPECT_EQ(Login("type1", "wrong", &status), "");
  EXPECT_EQ(status, 401);
  EXPECT_EQ(Login("nobody", "type1-pass", &status), "");
  EXPECT_EQ(status, 401);

  const std::string type1 = Login("type1", "type1-pass");
  const std::string type2 = Login("type2", "type1-pass");
  ASSERT_FALSE(type1.empty());
  ASSERT_FALSE(type2.empty());
  auto get = GetWithToken("/v2/cv/tf/manifests/latest", type1);
  ASSERT_TRUE(get);
  EXPECT_EQ(Sha256Digest(get->body), manifests_["skylake"]);
  get = GetWithToken("/v2/cv/tf/manifests/latest", type2);
  ASSERT_TRUE(get);
  EXPECT_EQ(Sha256Digest(get->body), manifests_["avx512"]);
  EXPECT_THAT(Logs(), HasSubstr("\"login\":\"type2\""));
  EXPECT_THAT(Logs(), Not(HasSubstr("type1-pass")));

  // An arm64 login gets no amd64 build: the empty index, not another's.
  const std::string arm = Login("arm", "type1-pass");
  get = GetWithToken("/v2/cv/tf/manifests/latest", arm);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(nlohmann::json::parse(get->body)["manifests"].size(), 0u);

  // A token grants only the repositories it names.
  get = GetWithToken("/v2/other/app/manifests/latest", type1);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 401);
  // A forged or altered token is refused.
  get = GetWithToken("/v2/cv/tf/manifests/latest", type1 + "x");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 401);
  // A login removed by a reload loses access at once.
  config_.proxy.profiles.erase("type2");
  Reload();
  get = GetWithToken("/v2/cv/tf/manifests/latest", type2);
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 401);
  EXPECT_THAT(get->body, HasSubstr("no longer configured"));
}

TEST_F(ProxyFaceTest, ReferrersPassThrough) {
  auto get = client_->Get("/v2/cv/tf/referrers/" + manifests_["generic"] +
                          "?artifactType=application%2Fx");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->get_header_value("Content-Type"), kIndexType);
  EXPECT_EQ(get->get_header_value("OCI-Filters-Applied"), "artifactType");
  EXPECT_THAT(get->body, HasSubstr("\"manifests\":[]"));
  get = client_->Get("/v2/cv/tf/referrers/latest");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 400);
}

TEST_F(ProxyFaceTest, NodeCredentialsOnlyWhenTheConfigLendsThem) {
  upstream_.require_basic = true;
  auto get = client_->Get("/v2/cv/tf/manifests/latest");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 403);
  EXPECT_THAT(get->body, HasSubstr("proxy.upstream_credentials"));
  EXPECT_THAT(get->body, Not(HasSubstr("proxy-test-secret")));
  config_.proxy.upstream_credentials = true;
  Reload();
  get = client_->Get("/v2/cv/tf/manifests/latest");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(Sha256Digest(get->body), manifests_["skylake"]);
}

TEST_F(ProxyFaceTest, AClientThatStopsReadingHoldsBackTheUpstream) {
  // 64 MB, far more than the face buffers (its blob buffer, the server's
  // stream buffer and the sockets').
  std::string big(64 << 20, 'q');
  const std::string digest = Sha256Digest(big);
  upstream_.blobs[digest] = std::move(big);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  const int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(face_->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  const std::string request = absl::StrCat("GET /v2/cv/tf/blobs/", digest,
                                           " HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  absl::SleepFor(absl::Seconds(1));
  const size_t taken = upstream_.blob_bytes_taken.load();
  EXPECT_LT(taken, size_t{16} << 20) << "the face read ahead of its client";
  close(fd);
  // The face notices the client left and stops the upstream transfer
  // (its sink says stop), short of the blob.
  const absl::Time give_up = absl::Now() + absl::Seconds(40);
  while (upstream_.blob_transfers_cut.load() == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(upstream_.blob_transfers_cut.load(), 1);
  EXPECT_LT(upstream_.blob_bytes_taken.load(), size_t{64} << 20);
  auto get = client_->Get("/v2/cv/tf/manifests/latest");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
}

}  // namespace
}  // namespace nodefit
