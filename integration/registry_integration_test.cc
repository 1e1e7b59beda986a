// The registry client and `nodefit explain` against the real docker-registry
// 2.8.2: plain http, TLS with a CA made here, htpasswd Basic auth, and token
// auth with a token server issuing signed JWTs the registry verifies. All
// four registries serve one storage directory holding a real multi-build
// image pushed by our fixture builder.
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/pki.h"
#include "integration/testbed/registry.h"
#include "integration/testbed/token_server.h"
#include "nlohmann/json.hpp"
#include "resolver/registry/registry_client.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRepo[] = "cv/tf";

testbed::RegistryOptions Options(const std::string& storage,
                                 const std::string& dir,
                                 const std::string& name) {
  testbed::RegistryOptions options;
  options.storage_dir = storage;
  options.work_dir = dir;
  options.name = name;
  return options;
}

class RegistryIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const std::string& d = dir_->path();
    const std::string storage = d + "/storage";

    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> plain =
        testbed::RegistryServer::Start(Options(storage, d, "plain"));
    ASSERT_TRUE(plain.ok()) << plain.status();
    plain_ = plain->release();
    absl::StatusOr<testbed::PushedImage> image = testbed::PushMultiBuildImage(
        plain_->host_port(), kRepo, "latest", testbed::SeedBuilds());
    ASSERT_TRUE(image.ok()) << image.status();
    image_ = new testbed::PushedImage(*std::move(image));

    absl::StatusOr<testbed::TlsFiles> tls = testbed::MakeTlsFiles(d);
    ASSERT_TRUE(tls.ok()) << tls.status();
    tls_files_ = new testbed::TlsFiles(*tls);
    testbed::RegistryOptions tls_options = Options(storage, d, "tls");
    tls_options.tls_cert = tls->server_cert;
    tls_options.tls_key = tls->server_key;
    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> tls_registry =
        testbed::RegistryServer::Start(tls_options);
    ASSERT_TRUE(tls_registry.ok()) << tls_registry.status();
    tls_ = tls_registry->release();

    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> basic =
        testbed::StartBasicAuthRegistry(Options(storage, d, "basic"), "alice",
                                        "wonderland-secret");
    ASSERT_TRUE(basic.ok()) << basic.status();
    basic_ = basic->release();

    absl::StatusOr<std::unique_ptr<testbed::TokenServer>> token_server =
        testbed::StartSignedTokenServer(d, "bob", "token-user-secret");
    ASSERT_TRUE(token_server.ok()) << token_server.status();
    token_server_ = token_server->release();
    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> token_registry =
        testbed::StartTokenAuthRegistry(Options(storage, d, "token"),
                                        *token_server_);
    ASSERT_TRUE(token_registry.ok()) << token_registry.status();
    token_ = token_registry->release();
  }

  static void TearDownTestSuite() {
    delete token_;
    delete token_server_;
    delete basic_;
    delete tls_;
    delete plain_;
    delete image_;
    delete tls_files_;
    delete dir_;
  }

  // Runs the real binary: `nodefit explain IMAGE --config <config> ...`.
  static testing::RunResult Explain(const std::string& image,
                                    const nlohmann::json& config,
                                    const std::vector<std::string>& extra) {
    static int n = 0;
    const std::string path =
        dir_->Write(absl::StrCat("config-", ++n, ".json"), config.dump());
    std::vector<std::string> argv = {NODEFIT_BINARY, "explain", image,
                                     "--config", path};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::Run(argv);
  }

  static std::unique_ptr<RegistryClient> Client(RegistryClientOptions options) {
    absl::StatusOr<std::unique_ptr<HttpClient>> http = NewCurlHttpClient();
    EXPECT_TRUE(http.ok());
    absl::StatusOr<std::unique_ptr<RegistryClient>> client =
        NewRegistryClient(std::move(options), *std::move(http));
    EXPECT_TRUE(client.ok()) << client.status();
    return *std::move(client);
  }

  static std::string Image(const testbed::RegistryServer& r) {
    return absl::StrCat(r.host_port(), "/", kRepo, ":latest");
  }

  static testing::TempDir* dir_;
  static testbed::RegistryServer* plain_;
  static testbed::RegistryServer* tls_;
  static testbed::RegistryServer* basic_;
  static testbed::RegistryServer* token_;
  static testbed::TokenServer* token_server_;
  static testbed::PushedImage* image_;
  static testbed::TlsFiles* tls_files_;
};

testing::TempDir* RegistryIntegrationTest::dir_ = nullptr;
testbed::RegistryServer* RegistryIntegrationTest::plain_ = nullptr;
testbed::RegistryServer* RegistryIntegrationTest::tls_ = nullptr;
testbed::RegistryServer* RegistryIntegrationTest::basic_ = nullptr;
testbed::RegistryServer* RegistryIntegrationTest::token_ = nullptr;
testbed::TokenServer* RegistryIntegrationTest::token_server_ = nullptr;
testbed::PushedImage* RegistryIntegrationTest::image_ = nullptr;
testbed::TlsFiles* RegistryIntegrationTest::tls_files_ = nullptr;

TEST_F(RegistryIntegrationTest, ExplainPicksTheBuildForEachProfile) {
  const struct {
    std::string platform;
    std::string build;
  } cases[] = {
      {"linux/amd64", "generic"},
      {"linux/amd64:skylake", "skylake"},
      {"linux/amd64:cascadelake", "skylake-avx512"},
      {"linux/amd64:broadwell:nv-compute-5-2:nvidia-396-44",
       "broadwell-nvcap52-nvidia39644"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.platform);
    testing::RunResult run = Explain(Image(*plain_), nlohmann::json::object(),
                                     {"--platform", c.platform, "--json"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const nlohmann::json out = nlohmann::json::parse(run.out);
    EXPECT_EQ(out["outcome"], "selected");
    EXPECT_EQ(out["chosen"]["digest"], image_->Find(c.build)->manifest_digest);
    EXPECT_EQ(out["resolution"]["digest"], image_->index_digest);
    EXPECT_EQ(out["resolution"]["mediaType"],
              "application/vnd.oci.image.index.v1+json");
    EXPECT_EQ(out["resolution"]["registry"], plain_->host_port());
  }
  testing::RunResult text = Explain(Image(*plain_), nlohmann::json::object(),
                                    {"--platform", "linux/amd64:skylake"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("index     " + image_->index_digest));
  EXPECT_THAT(text.out, HasSubstr("upstream  1 registry request(s)"));
  EXPECT_THAT(text.out, HasSubstr("selected  #2"));
  // A node nothing fits: exit 3 with every candidate's reason.
  testing::RunResult none = Explain(Image(*plain_), nlohmann::json::object(),
                                    {"--platform", "linux/arm64"});
  EXPECT_EQ(none.exit_code, 3);
  EXPECT_THAT(none.out, HasSubstr("does not run on linux/arm64"));
}

TEST_F(RegistryIntegrationTest, TlsVerifiesWithTheConfiguredCaOnly) {
  const std::string image = Image(*tls_);
  nlohmann::json with_ca = {
      {"registries",
       {{tls_->host_port(),
         {{"endpoint", tls_->url()}, {"ca", tls_files_->ca_cert}}}}}};
  testing::RunResult ok =
      Explain(image, with_ca, {"--platform", "linux/amd64:skylake", "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(ok.out)["chosen"]["digest"],
            image_->Find("skylake")->manifest_digest);

  nlohmann::json without_ca = {
      {"registries", {{tls_->host_port(), {{"endpoint", tls_->url()}}}}}};
  testing::RunResult refused =
      Explain(image, without_ca, {"--platform", "linux/amd64:skylake"});
  EXPECT_EQ(refused.exit_code, 4);
  EXPECT_THAT(refused.err, HasSubstr("registry " + tls_->host_port()));
  EXPECT_THAT(refused.err, HasSubstr("TLS failed"));
  EXPECT_THAT(refused.err, HasSubstr(".ca in the config"));
}

TEST_F(RegistryIntegrationTest, BasicAuthFromConfigOrDockerConfig) {
  const std::string image = Image(*basic_);
  nlohmann::json with_credentials = {
      {"registries",
       {{basic_->host_port(),
         {{"username", "alice"}, {"password", "wonderland-secret"}}}}}};
  testing::RunResult ok =
      Explain(image, with_credentials, {"--platform", "linux/amd64:skylake"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;

  const std::string docker_config = dir_->Write(
      "docker-config.json",
      nlohmann::json{
          {"auths",
           {{"http://" + basic_->host_port(),
             {{"auth", absl::Base64Escape("alice:wonderland-secret")}}}}}}
          .dump());
  testing::RunResult from_docker =
      Explain(image, {{"docker_config", docker_config}},
              {"--platform", "linux/amd64:skylake"});
  EXPECT_EQ(from_docker.exit_code, 0) << from_docker.err;

  testing::RunResult anonymous =
      Explain(image, nlohmann::json::object(), {"--platform", "linux/amd64"});
  EXPECT_EQ(anonymous.exit_code, 4);
  EXPECT_THAT(anonymous.err,
              HasSubstr("401 from " + basic_->host_port() +
                        " for repository cv/tf tag latest: no credentials "
                        "configured for this registry"));

  nlohmann::json wrong = {
      {"registries",
       {{basic_->host_port(),
         {{"username", "alice"}, {"password", "not-the-password"}}}}}};
  testing::RunResult refused =
      Explain(image, wrong, {"--platform", "linux/amd64"});
  EXPECT_EQ(refused.exit_code, 4);
  EXPECT_THAT(refused.err, HasSubstr("the credentials were refused"));
  EXPECT_THAT(refused.err + refused.out, Not(HasSubstr("not-the-password")));
}

TEST_F(RegistryIntegrationTest, TokenAuthFetchesSignedTokensAndCachesThem) {
  RegistryClientOptions options;
  options.registries[token_->host_port()].username = "bob";
  options.registries[token_->host_port()].password = "token-user-secret";
  std::unique_ptr<RegistryClient> client = Client(options);
  const Reference ref = *ParseReference(Image(*token_));
  const int before = token_server_->requests();

  absl::StatusOr<Resolution> first = client->Resolve(ref, nullptr);
  ASSERT_TRUE(first.ok()) << first.status() << "\n" << token_->log();
  EXPECT_EQ(first->document->digest, image_->index_digest);
  EXPECT_EQ(first->token_requests, 1);
  EXPECT_EQ(token_server_->requests(), before + 1);

  absl::StatusOr<Resolution> second = client->Resolve(ref, nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->token_requests, 0);
  EXPECT_EQ(token_server_->requests(), before + 1);  // no new token request
  EXPECT_EQ(second->registry_requests, 1);           // the tag HEAD only

  // The same reference for the token registry with wrong credentials.
  RegistryClientOptions wrong;
  wrong.registries[token_->host_port()].username = "bob";
  wrong.registries[token_->host_port()].password = "guess";
  absl::StatusOr<Resolution> refused = Client(wrong)->Resolve(ref, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("token server"));
  EXPECT_THAT(std::string(refused.status().message()), Not(HasSubstr("guess")));
}

TEST_F(RegistryIntegrationTest, SameTagTwiceIsOneGetThenOneHead) {
  std::unique_ptr<RegistryClient> client = Client({});
  const Reference ref = *ParseReference(Image(*plain_));
  const std::string tag_uri = "/v2/cv/tf/manifests/latest";
  const std::string index_uri = "/v2/cv/tf/manifests/" + image_->index_digest;
  const int heads = plain_->CountRequests("HEAD", tag_uri);
  const int tag_gets = plain_->CountRequests("GET", tag_uri);
  const int index_gets = plain_->CountRequests("GET", index_uri);

  // A tag this client has not seen: one GET of the tag gives the digest
  // (checked against Docker-Content-Digest) and the index together.
  absl::StatusOr<Resolution> first = client->Resolve(ref, nullptr);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->cache_hit);
  EXPECT_EQ(first->document->digest, image_->index_digest);
  EXPECT_EQ(first->registry_requests, 1);
  // Seen, index cached: one HEAD confirms it.
  absl::StatusOr<Resolution> second = client->Resolve(ref, nullptr);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->cache_hit);
  EXPECT_EQ(second->registry_requests, 1);

  // What the registry itself logged.
  ASSERT_TRUE(
      testbed::WaitFor(
          [&] { return plain_->CountRequests("HEAD", tag_uri) >= heads + 1; },
          absl::Seconds(5), "registry log")
          .ok());
  EXPECT_EQ(plain_->CountRequests("HEAD", tag_uri), heads + 1);
  EXPECT_EQ(plain_->CountRequests("GET", tag_uri), tag_gets + 1);
  EXPECT_EQ(plain_->CountRequests("GET", index_uri), index_gets);
}

TEST_F(RegistryIntegrationTest, DigestReferenceAndFetchByDigest) {
  std::unique_ptr<RegistryClient> client = Client({});
  const Reference ref = *ParseReference(
      absl::StrCat(plain_->host_port(), "/", kRepo, "@", image_->index_digest));
  absl::StatusOr<Resolution> r = client->Resolve(ref, nullptr);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->document->body, image_->index_body);
  absl::StatusOr<std::shared_ptr<const CachedDocument>> manifest =
      client->FetchByDigest(ref, image_->Find("skylake")->manifest_digest,
                            nullptr);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ((*manifest)->parsed.kind, DocumentKind::kManifest);
  EXPECT_EQ((*manifest)->media_type,
            "application/vnd.oci.image.manifest.v1+json");
}

}  // namespace
}  // namespace nodefit
