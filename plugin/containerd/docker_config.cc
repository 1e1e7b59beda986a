#include "plugin/containerd/docker_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "resolver/base/file_util.h"
#include "resolver/base/json_util.h"
#include "resolver/base/status_macros.h"
#include "resolver/registry/reference.h"

namespace nodefit {
namespace {

constexpr size_t kMaxDaemonJsonBytes = 1 << 20;

// Docker's own insecure ranges (moby: daemon/pkg/registry/config.go,
// loadInsecureRegistries).
constexpr const char* kDockerDefaultCidrs[] = {"127.0.0.0/8", "::1/128"};

// The address part of "name", "name:port", "[v6]:port" or a bare v6.
std::string AddressOf(absl::string_view host) {
  if (absl::StartsWith(host, "[")) {
    const size_t close = host.find(']');
    return std::string(host.substr(1, close == absl::string_view::npos
                                          ? absl::string_view::npos
                                          : close - 1));
  }
  const size_t colon = host.find(':');
  if (colon != absl::string_view::npos && host.rfind(':') == colon) {
    return std::string(host.substr(0, colon));
  }
  return std::string(host);
}

// An IP address as 4 or 16 bytes; empty when it is none.
std::string IpBytes(absl::string_view text) {
  const std::string s(text);
  unsigned char buffer[16];
  if (inet_pton(AF_INET, s.c_str(), buffer) == 1) {
    return std::string(reinterpret_cast<char*>(buffer), 4);
  }
  if (inet_pton(AF_INET6, s.c_str(), buffer) == 1) {
    return std::string(reinterpret_cast<char*>(buffer), 16);
  }
  return "";
}

// A CIDR's network bytes and prefix length; false when it is not one.
bool ParseCidr(absl::string_view cidr, std::string* network, int* bits) {
  const size_t slash = cidr.find('/');
  if (slash == absl::string_view::npos) return false;
  *network = IpBytes(cidr.substr(0, slash));
  if (network->empty() || !absl::SimpleAtoi(cidr.substr(slash + 1), bits)) {
    return false;
  }
  return *bits >= 0 && *bits <= static_cast<int>(network->size()) * 8;
}

// A URL character that needs no escaping in a TOML basic string and that
// Go's url.Parse takes in a path.
bool IsPlainUrlChar(char c) {
  return absl::ascii_isgraph(static_cast<unsigned char>(c)) && c != '"' &&
         c != '\\';
}

[[nodiscard]] absl::StatusOr<std::string> NormalizeMirror(
    absl::string_view mirror, absl::string_view path) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": registry-mirrors entry \"", mirror, "\": ", why));
  };
  const size_t sep = mirror.find("://");
  if (sep == absl::string_view::npos || sep == 0) {
    return bad("no scheme (must be http:// or https://)");
  }
  const std::string scheme = absl::AsciiStrToLower(mirror.substr(0, sep));
  if (scheme != "http" && scheme != "https") {
    return bad("unsupported scheme (must be http:// or https://)");
  }
  absl::string_view rest = mirror.substr(sep + 3);
  if (!std::all_of(rest.begin(), rest.end(), IsPlainUrlChar)) {
    return bad("characters nodefit does not write into hosts.toml");
  }
  if (absl::StrContains(rest, "?") || absl::StrContains(rest, "#")) {
    return bad("query or fragment");
  }
  const absl::string_view host = rest.substr(0, rest.find('/'));
  if (absl::StrContains(host, "@")) return bad("user or password");
  if (absl::Status s = ValidateRegistryHost(host); !s.ok()) {
    return bad(s.message());
  }
  absl::string_view trimmed = rest;
  absl::ConsumeSuffix(&trimmed, "/");
  return absl::StrCat(scheme, "://", trimmed);
}

[[nodiscard]] absl::Status AddInsecure(absl::string_view entry,
                                       absl::string_view path,
                                       DockerRegistryConfig* config) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": insecure-registries entry \"", entry, "\": ", why));
  };
  absl::string_view value = entry;
  if (const size_t sep = value.find("://"); sep != absl::string_view::npos) {
    const std::string scheme = absl::AsciiStrToLower(value.substr(0, sep));
    if (scheme != "http" && scheme != "https") {
      return bad("should not contain '://'");
    }
    value = value.substr(sep + 3);
  }
  std::string network;
  int bits = 0;
  if (ParseCidr(value, &network, &bits)) {
    config->insecure_cidrs.emplace_back(value);
    return absl::OkStatus();
  }
  if (absl::Status s = ValidateRegistryHost(value); !s.ok()) {
    return bad(s.message());
  }
  // Docker's normalizeIndexName.
  if (value == "index.docker.io") value = "docker.io";
  config->insecure_hosts.emplace_back(value);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DockerRegistryConfig> ParseDockerDaemonJson(
    absl::string_view text, absl::string_view path) {
  ASSIGN_OR_RETURN(
      const nlohmann::json doc,
      ParseJson(text, absl::StrCat("Docker's daemon.json ", path)));
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a JSON object"));
  }
  DockerRegistryConfig config;
  for (const char* key : {"registry-mirrors", "insecure-registries"}) {
    const auto list = doc.find(key);
    if (list == doc.end()) continue;
    if (!list->is_array()) {
      return JsonTypeError(path, key, "an array of strings", *list);
    }
    for (const nlohmann::json& entry : *list) {
      if (!entry.is_string()) {
        return JsonTypeError(path, key, "an array of strings", entry);
      }
      const std::string value = entry.get<std::string>();
      if (std::strcmp(key, "insecure-registries") == 0) {
        RETURN_IF_ERROR(AddInsecure(value, path, &config));
        continue;
      }
      ASSIGN_OR_RETURN(std::string mirror, NormalizeMirror(value, path));
      if (std::find(config.mirrors.begin(), config.mirrors.end(), mirror) ==
          config.mirrors.end()) {
        config.mirrors.push_back(std::move(mirror));
      }
    }
  }
  return config;
}

absl::StatusOr<DockerRegistryConfig> LoadDockerDaemonJson(
    const std::string& path) {
  ASSIGN_OR_RETURN(const std::string text,
                   ReadFileToString(path, kMaxDaemonJsonBytes));
  return ParseDockerDaemonJson(text, path);
}

bool CidrContains(absl::string_view cidr, absl::string_view address) {
  std::string network;
  int bits = 0;
  const std::string ip = IpBytes(address);
  if (!ParseCidr(cidr, &network, &bits) || ip.size() != network.size()) {
    return false;
  }
  for (int i = 0; i < bits; ++i) {
    const int mask = 0x80 >> (i % 8);
    if ((ip[i / 8] & mask) != (network[i / 8] & mask)) return false;
  }
  return true;
}

bool IsLocalRegistryHost(absl::string_view host) {
  const std::string address = AddressOf(host);
  if (address == "localhost") return true;
  return CidrContains("127.0.0.0/8", address) ||
         CidrContains("::1/128", address);
}

bool DockerTreatsAsInsecure(const DockerRegistryConfig& config,
                            absl::string_view host) {
  if (std::find(config.insecure_hosts.begin(), config.insecure_hosts.end(),
                host) != config.insecure_hosts.end()) {
    return true;
  }
  const std::string address = AddressOf(host);
  if (address == "localhost") return true;
  std::vector<std::string> cidrs = config.insecure_cidrs;
  cidrs.insert(cidrs.end(), std::begin(kDockerDefaultCidrs),
               std::end(kDockerDefaultCidrs));
  return std::any_of(cidrs.begin(), cidrs.end(), [&](const std::string& c) {
    return CidrContains(c, address);
  });
}

bool IsDockerDefaultCidr(absl::string_view cidr) {
  return std::find(std::begin(kDockerDefaultCidrs),
                   std::end(kDockerDefaultCidrs),
                   cidr) != std::end(kDockerDefaultCidrs);
}

bool DockerNeedsCarrying(const DockerRegistryConfig& config) {
  if (!config.mirrors.empty()) return true;
  for (const std::string& host : config.insecure_hosts) {
    if (!IsLocalRegistryHost(host) && host != "docker.io") return true;
  }
  return std::any_of(
      config.insecure_cidrs.begin(), config.insecure_cidrs.end(),
      [](const std::string& c) { return !IsDockerDefaultCidr(c); });
}

absl::StatusOr<std::map<std::string, CarriedConfig>> DockerCarried(
    const DockerRegistryConfig& config,
    const std::vector<std::string>& registries,
    std::vector<std::string>* notes) {
  std::map<std::string, CarriedConfig> carried;
  for (const std::string& mirror : config.mirrors) {
    carried["docker.io"].mirrors.push_back(
        {mirror, DockerTreatsAsInsecure(config, MirrorHost(mirror))});
  }
  for (const std::string& host : config.insecure_hosts) {
    if (IsLocalRegistryHost(host) || host == "docker.io") continue;
    carried[host].insecure = true;
  }
  const bool all =
      registries.empty() || std::find(registries.begin(), registries.end(),
                                      "_default") != registries.end();
  for (const std::string& cidr : config.insecure_cidrs) {
    if (IsDockerDefaultCidr(cidr)) continue;
    if (all) {
      return absl::FailedPreconditionError(absl::StrCat(
          "Docker's insecure-registries lists ", cidr,
          ", which Docker stops applying to a registry once its hosts.toml "
          "lists nodefit's host, and _default would give every registry "
          "without a directory of its own nodefit's host; name the "
          "registries nodefit serves with --registry (an IP address in ",
          cidr,
          " is then carried over as insecure), or list them in "
          "insecure-registries by host:port"));
    }
    for (const std::string& name : registries) {
      if (carried.count(name) > 0 && carried[name].insecure) continue;
      const std::string address = AddressOf(name);
      if (!IpBytes(address).empty()) {
        if (CidrContains(cidr, address)) carried[name].insecure = true;
      } else if (name != "docker.io" && !IsLocalRegistryHost(name)) {
        notes->push_back(absl::StrCat(
            "Docker treats ", name, " as insecure if it resolves into ", cidr,
            ", which it stops doing once ", name,
            "'s hosts.toml lists nodefit's host; nodefit does not resolve "
            "names: if it does, list ",
            name, " in insecure-registries by name and install again"));
      }
    }
  }
  return carried;
}

std::string MirrorHost(absl::string_view url) {
  absl::string_view rest = url;
  if (const size_t sep = rest.find("://"); sep != absl::string_view::npos) {
    rest = rest.substr(sep + 3);
  }
  return std::string(rest.substr(0, rest.find('/')));
}

bool IsDockerCertsDir(absl::string_view certs_dir) {
  absl::string_view dir = certs_dir;
  while (dir.size() > 1 && absl::ConsumeSuffix(&dir, "/")) {
  }
  return dir == "docker/certs.d" || absl::EndsWith(dir, "/docker/certs.d");
}

std::string DockerDaemonJsonBeside(absl::string_view certs_dir) {
  absl::string_view dir = certs_dir;
  while (dir.size() > 1 && absl::ConsumeSuffix(&dir, "/")) {
  }
  const size_t slash = dir.rfind('/');
  return absl::StrCat(
      slash == absl::string_view::npos ? "." : dir.substr(0, slash),
      "/daemon.json");
}

}  // namespace nodefit
