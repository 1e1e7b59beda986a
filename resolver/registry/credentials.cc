#include "resolver/registry/credentials.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "resolver/base/file_util.h"
#include "resolver/base/json_util.h"
#include "resolver/base/status_macros.h"
#include "resolver/registry/digest.h"

namespace nodefit {
namespace {

// Splits base64 "user:password"; the message never contains the value.
absl::Status DecodeBasicAuth(absl::string_view auth, absl::string_view what,
                             Credentials* out) {
  std::string decoded;
  if (!absl::Base64Unescape(auth, &decoded)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": \"auth\" is not valid base64"));
  }
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": \"auth\" does not decode to user:password"));
  }
  out->username = decoded.substr(0, colon);
  out->password = decoded.substr(colon + 1);
  return absl::OkStatus();
}

}  // namespace

std::string Credentials::Fingerprint() const {
  if (empty()) return "anonymous";
  // Length-prefixed so ("ab","c") and ("a","bc") differ.
  return Sha256Digest(absl::StrCat(username.size(), ":", username,
                                   password.size(), ":", password,
                                   identity_token.size(), ":", identity_token,
                                   registry_token.size(), ":", registry_token));
}

absl::StatusOr<Credentials> CredentialsFromAuthFields(
    absl::string_view username, absl::string_view password,
    absl::string_view auth, absl::string_view identity_token,
    absl::string_view registry_token) {
  Credentials c;
  c.username = std::string(username);
  c.password = std::string(password);
  c.identity_token = std::string(identity_token);
  c.registry_token = std::string(registry_token);
  if (c.username.empty() && c.password.empty() && !auth.empty()) {
    RETURN_IF_ERROR(DecodeBasicAuth(auth, "auth config", &c));
  }
  return c;
}

std::string NormalizeRegistryKey(absl::string_view key) {
  absl::ConsumePrefix(&key, "https://");
  absl::ConsumePrefix(&key, "http://");
  key = key.substr(0, key.find('/'));
  std::string host = absl::AsciiStrToLower(key);
  if (host == "index.docker.io" || host == "registry-1.docker.io" ||
      host == "registry.hub.docker.com") {
    host = "docker.io";
  }
  return host;
}

absl::StatusOr<DockerConfig> DockerConfig::Load(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 1 << 20));
  return Parse(text, path);
}

absl::StatusOr<DockerConfig> DockerConfig::Parse(absl::string_view text,
                                                 absl::string_view source) {
  const std::string what = absl::StrCat("docker config ", source);
  ASSIGN_OR_RETURN(nlohmann::json doc, ParseJson(text, what));
  if (!doc.is_object()) return JsonTypeError(what, "document", "object", doc);
  DockerConfig config;
  auto auths = doc.find("auths");
  if (auths == doc.end()) return config;
  if (!auths->is_object()) {
    return JsonTypeError(what, "auths", "object", *auths);
  }
  for (const auto& item : auths->items()) {
    const std::string& key = item.key();
    const nlohmann::json& entry = item.value();
    const std::string path = absl::StrCat("auths.", key);
    if (!entry.is_object()) return JsonTypeError(what, path, "object", entry);
    Credentials c;
    auto text_field = [&](const char* name, std::string* out) -> absl::Status {
      auto it = entry.find(name);
      if (it == entry.end()) return absl::OkStatus();
      if (!it->is_string()) {
        return JsonTypeError(what, absl::StrCat(path, ".", name), "string",
                             *it);
      }
      *out = it->get<std::string>();
      return absl::OkStatus();
    };
    std::string auth;
    RETURN_IF_ERROR(text_field("auth", &auth));
    RETURN_IF_ERROR(text_field("username", &c.username));
    RETURN_IF_ERROR(text_field("password", &c.password));
    RETURN_IF_ERROR(text_field("identitytoken", &c.identity_token));
    RETURN_IF_ERROR(text_field("registrytoken", &c.registry_token));
    if (!auth.empty()) {
      RETURN_IF_ERROR(
          DecodeBasicAuth(auth, absl::StrCat(what, ": ", path), &c));
    }
    if (!c.empty()) config.by_host_[NormalizeRegistryKey(key)] = std::move(c);
  }
  return config;
}

std::optional<Credentials> DockerConfig::Lookup(
    absl::string_view registry) const {
  auto it = by_host_.find(NormalizeRegistryKey(registry));
  if (it == by_host_.end()) return std::nullopt;
  return it->second;
}

std::vector<AuthChallenge> ParseWwwAuthenticate(absl::string_view header) {
  std::vector<AuthChallenge> out;
  size_t i = 0;
  const size_t n = header.size();
  auto skip_space = [&] {
    while (i < n && (header[i] == ' ' || header[i] == '\t')) ++i;
  };
  auto token = [&] {
    const size_t start = i;
    while (i < n && header[i] != ' ' && header[i] != '\t' && header[i] != ',' &&
           header[i] != '=') {
      ++i;
    }
    return header.substr(start, i - start);
  };
  while (i < n) {
    skip_space();
    while (i < n && header[i] == ',') {
      ++i;
      skip_space();
    }
    const absl::string_view word = token();
    if (word.empty()) {
      ++i;  // stray character: skip it rather than loop forever
      continue;
    }
    skip_space();
    if (i < n && header[i] == '=' && !out.empty()) {
      // key=value for the current challenge.
      ++i;
      skip_space();
      std::string value;
      if (i < n && header[i] == '"') {
        ++i;
        while (i < n && header[i] != '"') {
          if (header[i] == '\\' && i + 1 < n) ++i;
          value.push_back(header[i++]);
        }
        ++i;  // closing quote
      } else {
        value = std::string(token());
      }
      out.back().params[absl::AsciiStrToLower(word)] = std::move(value);
      continue;
    }
    out.push_back({absl::AsciiStrToLower(word), {}});
  }
  return out;
}

}  // namespace nodefit
