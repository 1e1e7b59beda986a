// Registry credentials: where they come from and how registries ask for them.
//
// Credentials hold secrets. Nothing in nodefit prints a Credentials value,
// puts one in an error message, or logs it; Fingerprint() is what caches
// are keyed by.
#ifndef NODEFIT_RESOLVER_REGISTRY_CREDENTIALS_H_
#define NODEFIT_RESOLVER_REGISTRY_CREDENTIALS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nodefit {

struct Credentials {
  std::string username;
  std::string password;        // secret
  std::string identity_token;  // secret: an OAuth2 refresh token
  std::string registry_token;  // secret: a bearer token to send as is

  bool empty() const {
    return username.empty() && password.empty() && identity_token.empty() &&
           registry_token.empty();
  }
  bool has_password() const { return !username.empty() || !password.empty(); }
  // SHA-256 over every field: equal for equal credentials, reveals nothing.
  std::string Fingerprint() const;
};

// Credentials from the fields of a CRI AuthConfig. `auth` is base64
// "user:password" and is used when username and password are empty.
// InvalidArgument (without the secret) when `auth` is not valid.
[[nodiscard]] absl::StatusOr<Credentials> CredentialsFromAuthFields(
    absl::string_view username, absl::string_view password,
    absl::string_view auth, absl::string_view identity_token,
    absl::string_view registry_token);

// The "auths" section of a Docker config.json. Keys are matched by host:
// "https://index.docker.io/v1/", "index.docker.io" and "docker.io" all name
// docker.io. credsStore and credHelpers are not run.
class DockerConfig {
 public:
  // NotFound when the file does not exist.
  [[nodiscard]] static absl::StatusOr<DockerConfig> Load(
      const std::string& path);
  [[nodiscard]] static absl::StatusOr<DockerConfig> Parse(
      absl::string_view text, absl::string_view source);

  // Credentials for a registry host as named in references ("docker.io",
  // "127.0.0.1:5000").
  std::optional<Credentials> Lookup(absl::string_view registry) const;

 private:
  std::map<std::string, Credentials> by_host_;
};

// The host a registry name or a config key stands for: scheme and path
// removed, lower-cased, Docker Hub's names folded to "docker.io".
std::string NormalizeRegistryKey(absl::string_view key);

// One challenge of a WWW-Authenticate header.
struct AuthChallenge {
  std::string scheme;                         // lower-cased: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower-cased
};

// Parses a WWW-Authenticate header value (RFC 7235 syntax), e.g.
//   Bearer realm="https://auth.example/token",service="reg",scope="x"
std::vector<AuthChallenge> ParseWwwAuthenticate(absl::string_view header);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_REGISTRY_CREDENTIALS_H_
