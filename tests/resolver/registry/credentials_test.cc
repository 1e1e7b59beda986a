#include "resolver/registry/credentials.h"

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(WwwAuthenticateTest, BearerAndBasic) {
  std::vector<AuthChallenge> c = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(c[0].params["service"], "registry.docker.io");
  EXPECT_EQ(c[0].params["scope"], "repository:library/ubuntu:pull");

  c = ParseWwwAuthenticate(R"(Basic realm="Registry Realm")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params["realm"], "Registry Realm");

  c = ParseWwwAuthenticate(
      R"(Basic realm="a, b", Bearer realm=https://x/t , service = "s\"q")");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].params["realm"], "a, b");
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].params["realm"], "https://x/t");
  EXPECT_EQ(c[1].params["service"], "s\"q");
}

TEST(WwwAuthenticateTest, GarbageDoesNotCrashOrLoop) {
  for (const char* junk :
       {"", ",,,", "=", "Bearer =", "Bearer realm=\"unterminated", "\"\"\"",
        "Bearer realm", "a=b=c", "   "}) {
    (void)ParseWwwAuthenticate(junk);
  }
}

TEST(CredentialsTest, AuthFieldsAndFingerprint) {
  absl::StatusOr<Credentials> c = CredentialsFromAuthFields(
      "", "", absl::Base64Escape("user:pa:ss"), "", "");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->username, "user");
  EXPECT_EQ(c->password, "pa:ss");
  absl::StatusOr<Credentials> bad =
      CredentialsFromAuthFields("", "", "!!not-base64-secret!!", "", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              Not(HasSubstr("not-base64-secret")));

  Credentials a, b;
  a.username = "ab";
  a.password = "c";
  b.username = "a";
  b.password = "bc";
  EXPECT_NE(a.Fingerprint(), b.Fingerprint());
  EXPECT_EQ(Credentials().Fingerprint(), "anonymous");
  EXPECT_THAT(a.Fingerprint(), Not(HasSubstr("ab")));
}

TEST(DockerConfigTest, LooksUpByHost) {
  absl::StatusOr<DockerConfig> config = DockerConfig::Parse(
      R"({"auths": {
            "https://index.docker.io/v1/": {"auth": ")" +
          absl::Base64Escape("hub:secret") + R"("},
            "http://127.0.0.1:5000": {"username": "u", "password": "p"},
            "Reg.Example.com/some/path": {"identitytoken": "rt"}
          },
          "credsStore": "desktop"})",
      "cfg");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->Lookup("docker.io")->username, "hub");
  EXPECT_EQ(config->Lookup("docker.io")->password, "secret");
  EXPECT_EQ(config->Lookup("127.0.0.1:5000")->password, "p");
  EXPECT_EQ(config->Lookup("reg.example.com")->identity_token, "rt");
  EXPECT_FALSE(config->Lookup("ghcr.io").has_value());
}

TEST(DockerConfigTest, ErrorsNameTheFileAndNeverTheSecret) {
  absl::StatusOr<DockerConfig> bad = DockerConfig::Parse(
      R"({"auths": {"r.io": {"auth": "c2VjcmV0LXdpdGhvdXQtY29sb24="}}})",
      "/root/.docker/config.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("docker config /root/.docker/config.json"));
  EXPECT_THAT(std::string(bad.status().message()),
              HasSubstr("does not decode to user:password"));
  EXPECT_THAT(std::string(bad.status().message()),
              Not(HasSubstr("secret-without-colon")));
  EXPECT_FALSE(DockerConfig::Parse("[]", "x").ok());
  EXPECT_FALSE(
      DockerConfig::Parse(R"({"auths": {"r": {"auth": 1}}})", "x").ok());
  EXPECT_EQ(DockerConfig::Load("/nonexistent/config.json").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(DockerConfigTest, NormalizeRegistryKey) {
  EXPECT_EQ(NormalizeRegistryKey("https://index.docker.io/v1/"), "docker.io");
  EXPECT_EQ(NormalizeRegistryKey("registry-1.docker.io"), "docker.io");
  EXPECT_EQ(NormalizeRegistryKey("http://LOCALHOST:5000"), "localhost:5000");
  EXPECT_EQ(NormalizeRegistryKey("ghcr.io"), "ghcr.io");
}

}  // namespace
}  // namespace nodefit
