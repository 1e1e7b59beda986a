#include "plugin/faces/proxy_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "resolver/base/json_util.h"
#include "resolver/registry/reference.h"

namespace nodefit {
namespace {

// What an unknown login is checked against, so its answer takes as long as
// a known one's (bcrypt, cost 12, of a password nobody has).
constexpr char kDummyHash[] =
    "$2b$12$fw/Rk8DSVA8sLoH0DUEYouUH8KUMzfiljteFSP/VHGJnoOdpE8W/q";

constexpr size_t kMaxToken = 16 << 10;

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

bool PasswordMatches(absl::string_view password, const std::string& hash) {
  // crypt_data is large (32 KB): on the heap, one per call (thread-safe).
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const std::string pw(password);
  const bool known = !hash.empty();
  const char* out =
      crypt_r(pw.c_str(), known ? hash.c_str() : kDummyHash, data.get());
  // libxcrypt answers a failure with a string starting with '*'.
  if (out == nullptr || out[0] == '*') return false;
  return known && ConstantTimeEquals(out, hash);
}

absl::StatusOr<std::string> HashPassword(absl::string_view password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", 12, nullptr, 0, salt, sizeof(salt)) == nullptr) {
    return absl::InternalError("crypt_gensalt_rn failed (libcrypt)");
  }
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const std::string pw(password);
  const char* out = crypt_r(pw.c_str(), salt, data.get());
  if (out == nullptr || out[0] == '*') {
    return absl::InternalError("crypt_r failed (libcrypt)");
  }
  return std::string(out);
}

absl::StatusOr<BasicCredentials> ParseBasic(absl::string_view authorization) {
  absl::string_view value = absl::StripAsciiWhitespace(authorization);
  if (value.size() < 6 ||
      !absl::EqualsIgnoreCase(value.substr(0, 6), "basic ")) {
    return absl::InvalidArgumentError("no Basic credentials");
  }
  std::string decoded;
  if (value.size() > 4096 ||
      !absl::Base64Unescape(absl::StripAsciiWhitespace(value.substr(6)),
                            &decoded)) {
    return absl::InvalidArgumentError("malformed Basic credentials");
  }
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos || colon == 0) {
    return absl::InvalidArgumentError("malformed Basic credentials");
  }
  return BasicCredentials{decoded.substr(0, colon), decoded.substr(colon + 1)};
}

std::vector<std::string> PullScopes(const std::vector<std::string>& scopes) {
  std::vector<std::string> repositories;
  for (const std::string& scope : scopes) {
    // repository:<name>:<actions>; the name itself has no ':'.
    std::vector<absl::string_view> parts = absl::StrSplit(scope, ':');
    if (parts.size() != 3 || parts[0] != "repository" || parts[1].empty()) {
      continue;
    }
    if (!ValidateRepository(parts[1]).ok()) continue;
    for (absl::string_view action : absl::StrSplit(parts[2], ',')) {
      if (action == "pull" && repositories.size() < kMaxGrantedRepositories) {
        repositories.emplace_back(parts[1]);
      }
    }
  }
  return repositories;
}

absl::StatusOr<std::unique_ptr<TokenIssuer>> TokenIssuer::Create(
    absl::Duration ttl, Clock* clock) {
  std::string key(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()),  // NOLINT
                 static_cast<int>(key.size())) != 1) {
    return absl::InternalError("no random bytes for the token key");
  }
  return std::unique_ptr<TokenIssuer>(
      new TokenIssuer(std::move(key), ttl, clock));
}

std::string TokenIssuer::Mac(absl::string_view payload) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()),  // NOLINT
       payload.size(), out, &length);
  return std::string(reinterpret_cast<const char*>(out), length);  // NOLINT
}

std::string TokenIssuer::Issue(const Grant& grant) const {
  const nlohmann::json body = {
      {"u", grant.login},
      {"r", grant.repositories},
      {"e", absl::ToUnixSeconds(clock_->Now() + ttl_)}};
  std::string payload;
  absl::WebSafeBase64Escape(DumpJson(body), &payload);
  std::string mac;
  absl::WebSafeBase64Escape(Mac(payload), &mac);
  return absl::StrCat(payload, ".", mac);
}

absl::StatusOr<TokenIssuer::Grant> TokenIssuer::Check(
    absl::string_view authorization) const {
  absl::string_view value = absl::StripAsciiWhitespace(authorization);
  if (value.size() < 7 ||
      !absl::EqualsIgnoreCase(value.substr(0, 7), "bearer ")) {
    return absl::UnauthenticatedError("no bearer token");
  }
  value = absl::StripAsciiWhitespace(value.substr(7));
  const size_t dot = value.find('.');
  if (value.size() > kMaxToken || dot == absl::string_view::npos) {
    return absl::UnauthenticatedError("malformed token");
  }
  const absl::string_view payload = value.substr(0, dot);
  std::string mac;
  if (!absl::WebSafeBase64Unescape(value.substr(dot + 1), &mac) ||
      !ConstantTimeEquals(mac, Mac(payload))) {
    return absl::UnauthenticatedError(
        "token not issued by this proxy (or issued before it restarted)");
  }
  std::string json;
  if (!absl::WebSafeBase64Unescape(payload, &json)) {
    return absl::UnauthenticatedError("malformed token");
  }
  // Signed by us, so well-formed; checked anyway.
  absl::StatusOr<nlohmann::json> body = ParseJson(json, "token");
  if (!body.ok() || !body->is_object() || !(*body)["u"].is_string() ||
      !(*body)["r"].is_array() || !(*body)["e"].is_number_integer()) {
    return absl::UnauthenticatedError("malformed token");
  }
  if (absl::FromUnixSeconds((*body)["e"].get<int64_t>()) <= clock_->Now()) {
    return absl::UnauthenticatedError("token expired; log in again");
  }
  Grant grant;
  grant.login = (*body)["u"].get<std::string>();
  for (const nlohmann::json& r : (*body)["r"]) {
    if (r.is_string()) grant.repositories.push_back(r.get<std::string>());
  }
  return grant;
}

}  // namespace nodefit
