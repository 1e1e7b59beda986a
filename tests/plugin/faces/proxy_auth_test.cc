#include "plugin/faces/proxy_auth.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ProxyAuthTest, PasswordHashes) {
  absl::StatusOr<std::string> hash = HashPassword("s3cret");
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_TRUE(absl::StartsWith(*hash, "$2b$12$"));
  EXPECT_TRUE(PasswordMatches("s3cret", *hash));
  EXPECT_FALSE(PasswordMatches("s3cret ", *hash));
  EXPECT_FALSE(PasswordMatches("", *hash));
  EXPECT_FALSE(PasswordMatches("s3cret", ""));  // unknown login
  EXPECT_FALSE(PasswordMatches("s3cret", "$2b$12$garbage"));
  // htpasswd -nbB u s3cret wrote this ("$2y$"): read as bcrypt.
  EXPECT_TRUE(PasswordMatches(
      "s3cret",
      "$2y$05$bq8tipQCWgrOQvtkdvieAuXbrO.Ofq0KOxNVmywgfhpcYVABiyTYa"));
  // And SHA-512 crypt (mkpasswd -m sha-512).
  EXPECT_TRUE(PasswordMatches(
      "s3cret",
      "$6$saltsalt$As4wrv0kZlfch1du9WeH7qhskyLriQWySXrZzynnvi46nFnNxjdpl6ks"
      "RegrrKexvhIa/Iny8S8uF3fVWTMuC1"));
}

TEST(ProxyAuthTest, BasicAndScopes) {
  absl::StatusOr<BasicCredentials> c =
      ParseBasic("Basic " + absl::Base64Escape("type1:pa:ss"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->user, "type1");
  EXPECT_EQ(c->password, "pa:ss");
  EXPECT_FALSE(ParseBasic("Bearer x").ok());
  EXPECT_FALSE(ParseBasic("Basic !!!").ok());
  EXPECT_FALSE(ParseBasic("Basic " + absl::Base64Escape(":nouser")).ok());
  EXPECT_THAT(
      PullScopes({"repository:qnib/cv-tf:pull", "repository:a/b:push",
                  "registry:catalog:*", "repository:c:pull,push", "junk"}),
      ElementsAre("qnib/cv-tf", "c"));
  // Invalid names are dropped, and a grant stays small enough for a
  // request header.
  EXPECT_TRUE(
      PullScopes({"repository:UPPER:pull", "repository:a//b:pull"}).empty());
  std::vector<std::string> many;
  for (int i = 0; i < 100; ++i) {
    many.push_back("repository:r" + std::to_string(i) + ":pull");
  }
  EXPECT_EQ(PullScopes(many).size(), kMaxGrantedRepositories);
}

TEST(ProxyAuthTest, TokensGrantWhatTheySayUntilTheyExpire) {
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<TokenIssuer>> issuer =
      TokenIssuer::Create(absl::Minutes(5), &clock);
  ASSERT_TRUE(issuer.ok());
  const std::string token = (*issuer)->Issue({"type1", {"qnib/cv-tf"}});
  absl::StatusOr<TokenIssuer::Grant> grant =
      (*issuer)->Check("Bearer " + token);
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_EQ(grant->login, "type1");
  EXPECT_THAT(grant->repositories, ElementsAre("qnib/cv-tf"));

  // Altered anywhere, or from another proxy (another key): refused.
  std::string altered = token;
  altered[3] = altered[3] == 'A' ? 'B' : 'A';
  EXPECT_EQ((*issuer)->Check("Bearer " + altered).status().code(),
            absl::StatusCode::kUnauthenticated);
  absl::StatusOr<std::unique_ptr<TokenIssuer>> other =
      TokenIssuer::Create(absl::Minutes(5), &clock);
  EXPECT_THAT(
      std::string((*other)->Check("Bearer " + token).status().message()),
      HasSubstr("not issued by this proxy"));
  EXPECT_FALSE((*issuer)->Check("").ok());
  EXPECT_FALSE((*issuer)->Check("Bearer").ok());
  EXPECT_FALSE((*issuer)->Check("Basic " + token).ok());

  clock.Advance(absl::Minutes(5));
  EXPECT_THAT(
      std::string((*issuer)->Check("Bearer " + token).status().message()),
      HasSubstr("expired"));
}

}  // namespace
}  // namespace nodefit
