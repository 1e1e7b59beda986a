// Who a client of the proxy face is, in central mode: logins checked
// against crypt(3) password hashes, then bearer tokens the proxy issues
// itself, as the distribution spec's token flow has clients expect
// (docker login, podman login, then a token per repository scope).
//
// Tokens are "<payload>.<mac>": base64url of {"u": login, "r":
// [repositories], "e": expiry (unix seconds)}, and base64url of its
// HMAC-SHA256 under a key drawn at start-up (so a restart ends every
// token). They grant pull only, of the repositories named, until expiry.
// Comparisons of MACs and hashes take constant time; an unknown login costs
// the same hash computation as a known one.
#ifndef NODEFIT_PLUGIN_FACES_PROXY_AUTH_H_
#define NODEFIT_PLUGIN_FACES_PROXY_AUTH_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "resolver/base/clock.h"

namespace nodefit {

// True when `password` matches `hash` (crypt(3): bcrypt "$2b$"/"$2y$",
// yescrypt "$y$", SHA-512 "$6$").
bool PasswordMatches(absl::string_view password, const std::string& hash);

// A bcrypt hash of `password` with a fresh salt (cost 12).
[[nodiscard]] absl::StatusOr<std::string> HashPassword(
    absl::string_view password);

// "Basic <base64(user:password)>" -> {user, password}; InvalidArgument
// otherwise.
struct BasicCredentials {
  std::string user;
  std::string password;
};
[[nodiscard]] absl::StatusOr<BasicCredentials> ParseBasic(
    absl::string_view authorization);

// The repositories a token request asks to pull: its `scope` values
// ("repository:<name>:pull[,push]"), at most kMaxGrantedRepositories, each
// a valid repository name. Anything but pull is not granted; other resource
// types are ignored. (A token must fit in a request header.)
inline constexpr size_t kMaxGrantedRepositories = 16;
std::vector<std::string> PullScopes(const std::vector<std::string>& scopes);

class TokenIssuer {
 public:
  // The key comes from the system's random source.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TokenIssuer>> Create(
      absl::Duration ttl, Clock* clock = Clock::Real());

  struct Grant {
    std::string login;
    std::vector<std::string> repositories;  // may be empty (login check)
  };
  // A token for `grant`, valid for the configured time.
  std::string Issue(const Grant& grant) const;
  absl::Duration ttl() const { return ttl_; }

  // The grant of a valid, unexpired token ("Bearer <token>" header value);
  // Unauthenticated naming what is wrong otherwise (never the token).
  [[nodiscard]] absl::StatusOr<Grant> Check(
      absl::string_view authorization) const;

 private:
  TokenIssuer(std::string key, absl::Duration ttl, Clock* clock)
      : key_(std::move(key)), ttl_(ttl), clock_(clock) {}
  std::string Mac(absl::string_view payload) const;

  const std::string key_;
  const absl::Duration ttl_;
  Clock* const clock_;
};

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_FACES_PROXY_AUTH_H_
