// The registry client's logic (round trips, caching, auth, security rules)
// against a scripted registry behind the HttpClient seam. The same client
// runs against the real docker-registry in integration/.
#include "resolver/registry/registry_client.h"

#include <map>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "resolver/registry/digest.h"
#include "tests/resolver/registry/fake_http_client.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::nodefit::testing::FakeHttpClient;
using ::nodefit::testing::RequestHeader;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kIndex = nlohmann::json{
    {"schemaVersion", 2},
    {"mediaType", "application/vnd.oci.image.index.v1+json"},
    {"manifests",
     {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
       {"digest", "sha256:" + std::string(64, 'a')},
       {"size", 10},
       {"platform",
        {{"os", "linux"},
         {"architecture", "amd64"},
         {"features",
          {"skylake"}}}}}}}}.dump();
const std::string kIndexDigest = Sha256Digest(kIndex);
// What "latest" names after the tag moves.
const std::string kMovedIndex = nlohmann::json{
    {"schemaVersion", 2},
    {"mediaType", "application/vnd.oci.image.index.v1+json"},
    {"manifests",
     nlohmann::json::array()}}.dump();
const std::string kMovedIndexDigest = Sha256Digest(kMovedIndex);

HttpResponse Response(int status, HeaderList headers = {},
                      std::string body = "") {
  HttpResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

// A registry at https://reg.example with one repository, "cv/tf", whose tag
// "latest" is kIndex; optionally behind Basic or Bearer auth with a token
// server at `realm`.
class FakeRegistry {
 public:
  enum class Auth { kNone, kBasic, kBearer };

  Auth auth = Auth::kNone;
  std::string realm = "https://auth.example/token";
  bool digest_on_head = true;
  std::string body = kIndex;  // what GET returns (to corrupt it)
  bool moved = false;         // "latest" names kMovedIndex
  int64_t token_lifetime = 300;
  bool anonymous_tokens = false;

  absl::StatusOr<HttpResponse> Handle(const HttpRequest& r) {
    absl::MutexLock lock(&mu_);
    if (absl::StartsWith(r.url, realm)) {
      ++token_requests_;
      const std::string basic = RequestHeader(r, "Authorization");
      const bool good = basic == "Basic " + absl::Base64Escape("u:p") ||
                        (r.method == "POST" &&
                         absl::StrContains(r.body, "refresh_token=rt-1"));
      if (!good && !(anonymous_tokens && basic.empty())) {
        return Response(401);
      }
      const std::string token = absl::StrCat("tok-", ++issued_);
      valid_tokens_.insert(token);
      return Response(
          200, {{"content-type", "application/json"}},
          nlohmann::json{{r.method == "POST" ? "access_token" : "token", token},
                         {"expires_in", token_lifetime}}
              .dump());
    }
    ++registry_requests_;
    const std::string authorization = RequestHeader(r, "Authorization");
    if (auth == Auth::kBasic &&
        authorization != "Basic " + absl::Base64Escape("u:p")) {
      return Response(401, {{"www-authenticate", "Basic realm=\"reg\""}});
    }
    if (auth == Auth::kBearer &&
        (!absl::StartsWith(authorization, "Bearer ") ||
         valid_tokens_.count(authorization.substr(7)) == 0)) {
      return Response(
          401, {{"www-authenticate",
                 absl::StrCat("Bearer realm=\"", realm,
                              "\",service=\"reg.example\",scope=\"x\"")}});
    }
    const std::string prefix = "https://reg.example/v2/cv/tf/manifests/";
    if (!absl::StartsWith(r.url, prefix)) return Response(404);
    const std::string ref = r.url.substr(prefix.size());
    const bool serve_moved =
        ref == kMovedIndexDigest || (ref == "latest" && moved);
    if (ref != "latest" && ref != kIndexDigest && !serve_moved) {
      return Response(404);
    }
    const std::string& document = serve_moved ? kMovedIndex : kIndex;
    HeaderList headers = {
        {"content-type", "application/vnd.oci.image.index.v1+json"},
        {"content-length", std::to_string(document.size())}};
    if (digest_on_head) {
      headers.emplace_back("docker-content-digest", Sha256Digest(document));
    }
    if (r.method == "HEAD") {
      ++heads_;
      return Response(200, headers);
    }
    ++gets_;
    return Response(200, headers, serve_moved ? kMovedIndex : body);
  }

  void Revoke() {
    absl::MutexLock lock(&mu_);
    valid_tokens_.clear();
  }
  int heads() {
    absl::MutexLock lock(&mu_);
    return heads_;
  }
  int gets() {
    absl::MutexLock lock(&mu_);
    return gets_;
  }
  int token_requests() {
    absl::MutexLock lock(&mu_);
    return token_requests_;
  }

 private:
  absl::Mutex mu_;
  int heads_ ABSL_GUARDED_BY(mu_) = 0;
  int gets_ ABSL_GUARDED_BY(mu_) = 0;
  int registry_requests_ ABSL_GUARDED_BY(mu_) = 0;
  int token_requests_ ABSL_GUARDED_BY(mu_) = 0;
  int issued_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::string> valid_tokens_ ABSL_GUARDED_BY(mu_);
};

struct Harness {
  explicit Harness(RegistryClientOptions options = {}) {
    fake = std::make_shared<FakeHttpClient>(
        [this](const HttpRequest& r) { return registry.Handle(r); });
    options.clock = &clock;
    // Never read the developer's own ~/.docker/config.json.
    setenv("DOCKER_CONFIG", "/nonexistent/nodefit-test", 1);
    absl::StatusOr<std::unique_ptr<RegistryClient>> c =
        NewRegistryClient(std::move(options), fake);
    EXPECT_TRUE(c.ok()) << c.status();
    client = *std::move(c);
  }

  absl::StatusOr<Resolution> Resolve(const std::string& image,
                                     const Credentials* creds = nullptr) {
    absl::StatusOr<Reference> ref = ParseReference(image);
    EXPECT_TRUE(ref.ok());
    return client->Resolve(*ref, creds);
  }

  FakeRegistry registry;
  FakeClock clock;
  std::shared_ptr<FakeHttpClient> fake;
  std::unique_ptr<RegistryClient> client;
};

TEST(EndpointTest, Naming) {
  std::map<std::string, RegistryConfig> none;
  EXPECT_EQ(EndpointFor("docker.io", none).base_url,
            "https://registry-1.docker.io");
  EXPECT_EQ(EndpointFor("ghcr.io", none).base_url, "https://ghcr.io");
  EXPECT_EQ(EndpointFor("localhost:5000", none).base_url,
            "http://localhost:5000");
  EXPECT_EQ(EndpointFor("127.0.0.1:5000", none).base_url,
            "http://127.0.0.1:5000");
  EXPECT_EQ(EndpointFor("[::1]:5000", none).base_url, "http://[::1]:5000");
  EXPECT_EQ(EndpointFor("localhost", none).base_url, "http://localhost");
  // All of 127.0.0.0/8, as containerd's MatchLocalhost.
  EXPECT_EQ(EndpointFor("127.0.0.2:5000", none).base_url,
            "http://127.0.0.2:5000");
  EXPECT_EQ(EndpointFor("127.255.0.9", none).base_url, "http://127.255.0.9");
  EXPECT_EQ(EndpointFor("128.0.0.1:5000", none).base_url,
            "https://128.0.0.1:5000");
  EXPECT_EQ(EndpointFor("127.0.0.1.example:5000", none).base_url,
            "https://127.0.0.1.example:5000");
  EXPECT_EQ(EndpointFor("localhost.example:5000", none).base_url,
            "https://localhost.example:5000");
  std::map<std::string, RegistryConfig> configured;
  configured["reg.example"].endpoint = "https://mirror.example:8443/";
  configured["reg.example"].ca = "/ca.pem";
  configured["reg.example"].insecure = true;
  const RegistryEndpoint ep = EndpointFor("reg.example", configured);
  EXPECT_EQ(ep.base_url, "https://mirror.example:8443");
  EXPECT_EQ(ep.ca_file, "/ca.pem");
  EXPECT_TRUE(ep.insecure);
}

TEST(RegistryClientTest, NewTagCostsOneGetThenOneHeadAgainstTheCache) {
  Harness h;
  absl::StatusOr<Resolution> first = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->document->digest, kIndexDigest);
  EXPECT_EQ(first->document->media_type,
            "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(first->document->parsed.entries.size(), 1u);
  // Never seen: the GET of the tag brings digest and document at once.
  EXPECT_EQ(first->registry_requests, 1);
  EXPECT_FALSE(first->cache_hit);
  EXPECT_EQ(h.registry.heads(), 0);
  EXPECT_EQ(h.registry.gets(), 1);
  // containerd's Accept list on every manifest request.
  for (const HttpRequest& r : h.fake->requests()) {
    EXPECT_EQ(RequestHeader(r, "Accept"), std::string(kManifestAccept));
  }

  absl::StatusOr<Resolution> second = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->cache_hit);
  EXPECT_EQ(second->registry_requests, 1);
  EXPECT_EQ(h.registry.heads(), 1);
  EXPECT_EQ(h.registry.gets(), 1);
}

TEST(RegistryClientTest, MovedTagCostsHeadThenGetByDigest) {
  Harness h;
  ASSERT_TRUE(h.Resolve("reg.example/cv/tf:latest").ok());
  h.registry.moved = true;
  h.fake->Clear();
  absl::StatusOr<Resolution> moved = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->document->digest, kMovedIndexDigest);
  EXPECT_FALSE(moved->cache_hit);
  EXPECT_EQ(moved->registry_requests, 2);
  ASSERT_EQ(h.fake->requests().size(), 2u);
  EXPECT_EQ(h.fake->requests()[0].method, "HEAD");
  EXPECT_EQ(h.fake->requests()[1].method, "GET");
  EXPECT_THAT(h.fake->requests()[1].url, HasSubstr(kMovedIndexDigest));
}

TEST(RegistryClientTest, TagCacheSkipsTheHeadUntilItExpires) {
  RegistryClientOptions options;
  options.tag_ttl = absl::Seconds(5);
  Harness h(options);
  ASSERT_TRUE(h.Resolve("reg.example/cv/tf:latest").ok());
  absl::StatusOr<Resolution> cached = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_TRUE(cached.ok());
  EXPECT_TRUE(cached->tag_cache_hit);
  EXPECT_EQ(cached->registry_requests, 0);
  EXPECT_EQ(h.registry.heads(), 0);
  EXPECT_EQ(h.registry.gets(), 1);
  h.clock.Advance(absl::Seconds(6));
  absl::StatusOr<Resolution> expired = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(expired->tag_cache_hit);
  EXPECT_EQ(h.registry.heads(), 1);
  EXPECT_EQ(h.registry.gets(), 1);
}

TEST(RegistryClientTest, DigestReferenceNeedsNoHeadWhenCached) {
  Harness h;
  const std::string by_digest = "reg.example/cv/tf@" + kIndexDigest;
  ASSERT_TRUE(h.Resolve(by_digest).ok());
  EXPECT_EQ(h.registry.heads(), 0);
  EXPECT_EQ(h.registry.gets(), 1);
  absl::StatusOr<Resolution> again = h.Resolve(by_digest);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->cache_hit);
  EXPECT_EQ(again->registry_requests, 0);
  EXPECT_EQ(h.fake->requests().size(), 1u);
}

TEST(RegistryClientTest, NoDigestOnHeadMeansGetAndHash) {
  Harness h;
  h.registry.digest_on_head = false;
  ASSERT_TRUE(h.Resolve("reg.example/cv/tf:latest").ok());
  // Known tag, cached document: HEAD, which names no digest, so the GET of
  // the tag decides.
  absl::StatusOr<Resolution> r = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->document->digest, kIndexDigest);
  EXPECT_EQ(h.registry.heads(), 1);
  EXPECT_EQ(h.registry.gets(), 2);
}

TEST(RegistryClientTest, DigestMismatchIsRefused) {
  Harness h;
  h.registry.body = kIndex + " ";
  absl::StatusOr<Resolution> r = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("not the expected " + kIndexDigest));
  // A pinned digest is verified the same way.
  r = h.Resolve("reg.example/cv/tf@" + kIndexDigest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  // Nothing bad was cached: a fixed registry is read again.
  h.registry.body = kIndex;
  EXPECT_TRUE(h.Resolve("reg.example/cv/tf:latest").ok());
}

TEST(RegistryClientTest, StatusErrorsNameRegistryAndWhatToCheck) {
  Harness h;
  absl::StatusOr<Resolution> r = h.Resolve("reg.example/cv/tf:nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(r.status().message()),
            "404 from reg.example for repository cv/tf tag nope: not found "
            "(check the image name and tag)");
  h.registry.auth = FakeRegistry::Auth::kBasic;
  r = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("401 from reg.example for repository cv/tf tag "
                        "latest: no credentials configured for this "
                        "registry"));
}

TEST(RegistryClientTest, BasicAuthWithConfiguredCredentials) {
  RegistryClientOptions options;
  options.registries["reg.example"].username = "u";
  options.registries["reg.example"].password = "p";
  Harness h(options);
  h.registry.auth = FakeRegistry::Auth::kBasic;
  ASSERT_TRUE(h.Resolve("reg.example/cv/tf:latest").ok());
  // The first request was anonymous and challenged; afterwards Basic is
  // sent up front.
  h.fake->Clear();
  ASSERT_TRUE(h.Resolve("reg.example/cv/tf:latest").ok());
  ASSERT_EQ(h.fake->requests().size(), 1u);
  EXPECT_EQ(RequestHeader(h.fake->requests()[0], "Authorization"),
            "Basic " + absl::Base64Escape("u:p"));
}

TEST(RegistryClientTest, CallerCredentialsWinAndWrongOnesAreNamed) {
  RegistryClientOptions options;
  options.registries["reg.example"].username = "u";
  options.registries["reg.example"].password = "wrong-config-secret";
  Harness h(options);
  h.registry.auth = FakeRegistry::Auth::kBasic;
  absl::StatusOr<Resolution> r = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("the credentials were refused"));
  EXPECT_THAT(std::string(r.status().message()),
              Not(HasSubstr("wrong-config-secret")));
  Credentials caller;
  caller.username = "u";
  caller.password = "p";
  EXPECT_TRUE(h.Resolve("reg.example/cv/tf:latest", &caller).ok());
}

TEST(RegistryClientTest, DockerConfigIsTheLastSource) {
  nodefit::testing::TempDir dir;
  const std::string path = dir.Write(
      "config.json", nlohmann::json{{"auths",
                                     {{"https://reg.example",
                                       {{"auth", absl::Base64Escape("u:p")}}}}}}
                         .dump());
  RegistryClientOptions options;
  options.docker_config = path;
  Harness h(options);
  h.registry.auth = FakeRegistry::Auth::kBasic;
  EXPECT_TRUE(h.Resolve("reg.example/cv/tf:latest").ok());
}

TEST(RegistryClientTest, AnAnonymousClientLendsNoConfiguredCredentials) {
  nodefit::testing::TempDir dir;
  RegistryClientOptions options;
  options.registries["reg.example"].username = "u";
  options.registries["reg.example"].password = "p";
  options.docker_config = dir.Write(
      "config.json", nlohmann::json{{"auths",
                                     {{"https://reg.example",
                                       {{"auth", absl::Base64Escape("u:p")}}}}}}
                         .dump());
  options.anonymous = true;
  Harness h(options);
  h.registry.auth = FakeRegistry::Auth::kBasic;
  absl::StatusOr<Resolution> r = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  for (const HttpRequest& request : h.fake->requests()) {
    EXPECT_EQ(RequestHeader(request, "Authorization"), "");
  }
  // What a caller passes is still used.
  Credentials caller;
  caller.username = "u";
  caller.password = "p";
  EXPECT_TRUE(h.Resolve("reg.example/cv/tf:latest", &caller).ok());
}

TEST(RegistryClientTest, BearerTokensAreFetchedCachedAndRenewed) {
  RegistryClientOptions options;
  options.registries["reg.example"].username = "u";
  options.registries["reg.example"].password = "p";
  Harness h(options);
  h.registry.auth = FakeRegistry::Auth::kBearer;
  absl::StatusOr<Resolution> first = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->token_requests, 1);
  EXPECT_EQ(h.registry.token_requests(), 1);
  // The token request carried service and scope, and Basic only there.
  bool saw_token_request = false;
  for (const HttpRequest& r : h.fake->requests()) {
    if (absl::StartsWith(r.url, h.registry.realm)) {
      saw_token_request = true;
      EXPECT_THAT(r.url, HasSubstr("service=reg.example"));
      EXPECT_THAT(r.url, HasSubstr("scope=repository%3Acv%2Ftf%3Apull"));
    } else {
      EXPECT_THAT(RequestHeader(r, "Authorization"), Not(HasSubstr("Basic")));
    }
  }
  EXPECT_TRUE(saw_token_request);

  // Cached: no token request, one HEAD with the token up front.
  h.fake->Clear();
  absl::StatusOr<Resolution> second = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->token_requests, 0);
  EXPECT_EQ(h.fake->requests().size(), 1u);

  // Expired (300 s minus the margin): fetched again, before the request.
  h.clock.Advance(absl::Seconds(295));
  h.fake->Clear();
  absl::StatusOr<Resolution> third = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->token_requests, 1);
  EXPECT_EQ(third->registry_requests, 1);

  // Revoked server-side: one 401, one fresh token, one retry.
  h.registry.Revoke();
  absl::StatusOr<Resolution> fourth = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_TRUE(fourth.ok()) << fourth.status();
  EXPECT_EQ(fourth->token_requests, 1);
  EXPECT_EQ(fourth->registry_requests, 2);
}

TEST(RegistryClientTest, ShortOrMissingExpiryMeansSixtySeconds) {
  Harness h;
  h.registry.auth = FakeRegistry::Auth::kBearer;
  h.registry.anonymous_tokens = true;
  h.registry.token_lifetime = 5;  // below the 60 s floor
  ASSERT_TRUE(h.Resolve("reg.example/cv/tf:latest").ok());
  h.clock.Advance(absl::Seconds(30));
  absl::StatusOr<Resolution> r = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->token_requests, 0);
  h.clock.Advance(absl::Seconds(31));
  r = h.Resolve("reg.example/cv/tf:latest");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->token_requests, 1);
}

TEST(RegistryClientTest, IdentityTokenIsPostedNeverPutInAUrl) {
  Harness h;
  h.registry.auth = FakeRegistry::Auth::kBearer;
  Credentials caller;
  caller.identity_token = "rt-1";
  ASSERT_TRUE(h.Resolve("reg.example/cv/tf:latest", &caller).ok());
  for (const HttpRequest& r : h.fake->requests()) {
    EXPECT_THAT(r.url, Not(HasSubstr("rt-1")));
    if (absl::StartsWith(r.url, h.registry.realm)) {
      EXPECT_EQ(r.method, "POST");
      EXPECT_THAT(r.body, HasSubstr("grant_type=refresh_token"));
    }
  }
}

TEST(RegistryClientTest, RegistryTokenIsUsedAsIs) {
  Harness h;
  h.registry.auth = FakeRegistry::Auth::kBearer;
  Credentials caller;
  caller.registry_token = "not-valid";
  absl::StatusOr<Resolution> r = h.Resolve("reg.example/cv/tf:latest", &caller);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(h.registry.token_requests(), 0);
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("not-valid")));
}

TEST(RegistryClientTest, RealmRules) {
  auto resolve_with_realm = [](const std::string& realm, bool insecure) {
    RegistryClientOptions options;
    options.registries["reg.example"].username = "u";
    options.registries["reg.example"].password = "p";
    options.registries["reg.example"].insecure = insecure;
    Harness h(options);
    h.registry.auth = FakeRegistry::Auth::kBearer;
    h.registry.realm = realm;
    absl::StatusOr<Resolution> r = h.Resolve("reg.example/cv/tf:latest");
    const int token_requests = h.registry.token_requests();
    return std::make_pair(r.status(), token_requests);
  };
  // https anywhere: fine.
  EXPECT_TRUE(
      resolve_with_realm("https://auth.example/token", false).first.ok());
  // Plain http on another host: refused, and nothing was sent there.
  auto [refused, sent] = resolve_with_realm("http://evil.example/t", false);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr("plain http on another host"));
  EXPECT_EQ(sent, 0);
  // Plain http on the registry's own host, or for an insecure registry.
  EXPECT_TRUE(resolve_with_realm("http://reg.example/token", false).first.ok());
  EXPECT_TRUE(resolve_with_realm("http://evil.example/t", true).first.ok());
}

TEST(RegistryClientTest, ConcurrentResolutionsShareOneExchange) {
  Harness h;
  absl::Notification release;
  std::atomic<int> exchanges{0};
  std::atomic<int> gets{0};
  auto fake = std::make_shared<FakeHttpClient>([&](const HttpRequest& r) {
    ++exchanges;
    if (r.method == "GET") ++gets;
    release.WaitForNotificationWithTimeout(absl::Seconds(10));
    return h.registry.Handle(r);
  });
  RegistryClientOptions options;
  std::unique_ptr<RegistryClient> client =
      *NewRegistryClient(std::move(options), fake);
  const Reference ref = *ParseReference("reg.example/cv/tf:latest");
  std::vector<std::thread> threads;
  threads.reserve(20);
  std::atomic<int> ok{0}, shared{0};
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<Resolution> r = client->Resolve(ref, nullptr);
      if (r.ok()) ++ok;
      if (r.ok() && r->shared) ++shared;
    });
  }
  // Give the threads time to reach the client before the exchange ends.
  // Whatever their timing, the guarantee holds: callers in flight together
  // share the one GET of the tag; one that arrives after it finished finds
  // the index cached and costs one HEAD, never another GET.
  absl::SleepFor(absl::Milliseconds(200));
  release.Notify();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20);
  EXPECT_GE(shared.load(), 1);
  EXPECT_EQ(exchanges.load(), 20 - shared.load());
  EXPECT_EQ(gets.load(), 1);
}

TEST(RegistryClientTest, UpstreamResponsesAreReportedForMetrics) {
  std::vector<int> codes;
  RegistryClientOptions options;
  options.on_upstream_response = [&codes](int code) { codes.push_back(code); };
  Harness h(options);
  ASSERT_TRUE(h.Resolve("reg.example/cv/tf:latest").ok());  // GET
  ASSERT_TRUE(h.Resolve("reg.example/cv/tf:latest").ok());  // HEAD
  EXPECT_EQ(codes, (std::vector<int>{200, 200}));
}

TEST(RegistryClientTest, FetchByDigestVerifies) {
  Harness h;
  const Reference ref = *ParseReference("reg.example/cv/tf:latest");
  absl::StatusOr<std::shared_ptr<const CachedDocument>> doc =
      h.client->FetchByDigest(ref, kIndexDigest, nullptr);
  ASSERT_TRUE(doc.ok()) << doc.status();
  EXPECT_EQ((*doc)->body, kIndex);
  EXPECT_FALSE(h.client->FetchByDigest(ref, "sha256:12", nullptr).ok());
}

TEST(RegistryClientTest, BrokenDockerConfigIsAnError) {
  nodefit::testing::TempDir dir;
  RegistryClientOptions options;
  options.docker_config = dir.Write("config.json", "{\"auths\": 3}");
  absl::StatusOr<std::unique_ptr<RegistryClient>> c = NewRegistryClient(
      options, std::make_shared<FakeHttpClient>(
                   [](const HttpRequest&) { return Response(500); }));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("auths: expected object"));
  options.docker_config = dir.path() + "/missing.json";
  EXPECT_FALSE(NewRegistryClient(options, nullptr).ok());
}

}  // namespace
}  // namespace nodefit
