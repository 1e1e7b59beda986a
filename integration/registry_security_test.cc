// The registry client's security rules (docs/security.md) against hostile
// upstreams: small HTTP servers of ours on 127.0.0.1 (the registry) and
// 127.0.0.2 (another host), and the real libcurl registry client.
#include <atomic>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "resolver/registry/digest.h"
#include "resolver/registry/registry_client.h"
#include "tests/http_test_server.h"

namespace nodefit {
namespace {

using ::nodefit::testing::HttpTestServer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPassword[] = "hostile-test-password";
const std::string kIndex = nlohmann::json{
    {"schemaVersion", 2},
    {"mediaType", "application/vnd.oci.image.index.v1+json"},
    {"manifests",
     nlohmann::json::array()}}.dump();

std::unique_ptr<RegistryClient> Client(
    const HttpTestServer& registry, absl::Duration timeout = absl::Seconds(10),
    bool allow_internal_redirects = false) {
  RegistryClientOptions options;
  options.allow_internal_redirects = allow_internal_redirects;
  options.registries[registry.HostPort()].username = "user";
  options.registries[registry.HostPort()].password = kPassword;
  options.request_timeout = timeout;
  options.docker_config = "";
  setenv("DOCKER_CONFIG", "/nonexistent/nodefit-test", 1);
  std::unique_ptr<RegistryClient> client =
      *NewRegistryClient(std::move(options), *NewCurlHttpClient());
  return client;
}

absl::StatusOr<Resolution> Resolve(RegistryClient& client,
                                   const HttpTestServer& registry) {
  return client.Resolve(
      *ParseReference(absl::StrCat(registry.HostPort(), "/app:latest")),
      nullptr);
}

void ServeIndex(httplib::Response& res, const std::string& body,
                const std::string& digest) {
  res.set_header("Docker-Content-Digest", digest);
  res.set_content(body, "application/vnd.oci.image.index.v1+json");
}

void ExpectNoSecret(const absl::Status& status) {
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr(kPassword)));
  EXPECT_THAT(
      std::string(status.message()),
      Not(HasSubstr(absl::Base64Escape(absl::StrCat("user:", kPassword)))));
}

TEST(RegistrySecurityTest, TokenRealmOnAnotherHostOverHttpIsRefused) {
  HttpTestServer evil("127.0.0.2");
  std::atomic<int> evil_requests{0};
  evil.server().Get(
      "/token", [&](const httplib::Request&, httplib::Response& res) {
        ++evil_requests;
        res.set_content(R"({"token": "stolen"})", "application/json");
      });
  evil.Start();
  HttpTestServer registry;
  const std::string realm = evil.Url("/token");
  registry.server().Get(".*", [&](const httplib::Request&,
                                  httplib::Response& res) {
    res.status = 401;
    res.set_header("WWW-Authenticate", absl::StrCat("Bearer realm=\"", realm,
                                                    "\",service=\"evil\""));
  });
  registry.Start();
  absl::StatusOr<Resolution> r = Resolve(*Client(registry), registry);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("asks for a token from http://127.0.0.2:"));
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("plain http on another host"));
  EXPECT_EQ(evil_requests.load(), 0);
  ExpectNoSecret(r.status());
}

TEST(RegistrySecurityTest, RedirectToAnotherHostCarriesNoAuthorization) {
  const std::string digest = Sha256Digest(kIndex);
  HttpTestServer other("127.0.0.2");
  absl::Mutex mu;
  std::vector<std::string> other_auth;
  other.server().Get(
      ".*", [&](const httplib::Request& req, httplib::Response& res) {
        {
          absl::MutexLock lock(&mu);
          other_auth.push_back(req.get_header_value("Authorization"));
        }
        ServeIndex(res, kIndex, digest);
      });
  other.Start();
  HttpTestServer registry;
  std::atomic<int> authorized{0};
  const std::string expected =
      "Basic " + absl::Base64Escape(absl::StrCat("user:", kPassword));
  const std::string elsewhere = other.Url();
  registry.server().Get(
      ".*", [&](const httplib::Request& req, httplib::Response& res) {
        if (req.get_header_value("Authorization") != expected) {
          res.status = 401;
          res.set_header("WWW-Authenticate", "Basic realm=\"r\"");
          return;
        }
        ++authorized;
        res.set_redirect(elsewhere + req.path, 307);
      });
  registry.Start();

  // Plain http to another (here loopback) host: refused by default, and
  // the other host sees nothing.
  {
    std::unique_ptr<RegistryClient> strict = Client(registry);
    absl::StatusOr<Resolution> refused = Resolve(*strict, registry);
    ASSERT_FALSE(refused.ok());
    EXPECT_THAT(std::string(refused.status().message()),
                HasSubstr("another host over plain http"));
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(other_auth.empty());
  }
  // Allowed by config: followed, without the credentials. Twice: the
  // first resolution GETs the new tag, the second HEADs it.
  std::unique_ptr<RegistryClient> client =
      Client(registry, absl::Seconds(10), /*allow_internal_redirects=*/true);
  absl::StatusOr<Resolution> r = Resolve(*client, registry);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->document->digest, digest);
  r = Resolve(*client, registry);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GE(authorized.load(), 2);  // the registry got Basic for GET and HEAD
  absl::MutexLock lock(&mu);
  ASSERT_GE(other_auth.size(), 2u);
  for (const std::string& auth : other_auth) EXPECT_EQ(auth, "");
}

TEST(RegistrySecurityTest, RedirectLoopStopsAfterFive) {
  HttpTestServer registry;
  std::atomic<int> hits{0};
  registry.server().Get(
      ".*", [&](const httplib::Request& req, httplib::Response& res) {
        ++hits;
        res.set_redirect(req.path + "x", 302);
      });
  registry.Start();
  absl::StatusOr<Resolution> r = Resolve(*Client(registry), registry);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("more than 5 redirects"));
  EXPECT_EQ(hits.load(), 6);
}

TEST(RegistrySecurityTest, FiveMegabyteManifestIsRefused) {
  const std::string huge(5 << 20, ' ');
  HttpTestServer registry;
  registry.server().Get(".*",
                        [&](const httplib::Request&, httplib::Response& res) {
                          ServeIndex(res, huge, Sha256Digest(huge));
                        });
  registry.Start();
  absl::StatusOr<Resolution> r = Resolve(*Client(registry), registry);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("larger than 4393216 bytes"));
  ExpectNoSecret(r.status());
}

TEST(RegistrySecurityTest, BodyWhoseHashDiffersFromTheDigestIsRefused) {
  HttpTestServer registry;
  const std::string claimed = Sha256Digest(kIndex);
  const std::string tampered = kIndex + "\n";
  registry.server().Get(".*",
                        [&](const httplib::Request&, httplib::Response& res) {
                          ServeIndex(res, tampered, claimed);
                        });
  registry.Start();
  absl::StatusOr<Resolution> r = Resolve(*Client(registry), registry);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("not the expected " + claimed));
}

TEST(RegistrySecurityTest, MalformedIndexIsAClearError) {
  HttpTestServer registry;
  const std::string garbage = "{\"manifests\": [{\"digest\": 5}]}";
  registry.server().Get(".*",
                        [&](const httplib::Request&, httplib::Response& res) {
                          ServeIndex(res, garbage, Sha256Digest(garbage));
                        });
  registry.Start();
  absl::StatusOr<Resolution> r = Resolve(*Client(registry), registry);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("manifests[0]"));
}

TEST(RegistrySecurityTest, SlowServerHitsTheTimeout) {
  HttpTestServer registry;
  registry.server().Get(
      ".*", [&](const httplib::Request&, httplib::Response& res) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2500));
        ServeIndex(res, kIndex, Sha256Digest(kIndex));
      });
  registry.Start();
  const absl::Time start = absl::Now();
  absl::StatusOr<Resolution> r =
      Resolve(*Client(registry, absl::Milliseconds(500)), registry);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("timed out"));
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("registry " + registry.HostPort()));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(2000));
}

}  // namespace
}  // namespace nodefit
