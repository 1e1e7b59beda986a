#include "resolver/config/config.h"

#include <functional>
#include <limits>
#include <map>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "resolver/base/file_util.h"
#include "resolver/base/json_util.h"
#include "resolver/base/status_macros.h"
#include "resolver/registry/reference.h"

namespace nodefit {
namespace {

using Json = nlohmann::json;

// Reads typed values out of one JSON object, naming the file and key path in
// every error.
class Reader {
 public:
  Reader(std::string what, std::string prefix)
      : what_(std::move(what)), prefix_(std::move(prefix)) {}

  std::string Path(absl::string_view key) const {
    return prefix_.empty() ? std::string(key) : absl::StrCat(prefix_, ".", key);
  }
  absl::Status Error(absl::string_view key, absl::string_view why) const {
    return absl::InvalidArgumentError(
        absl::StrCat(what_, ": key \"", Path(key), "\": ", why));
  }
  absl::Status TypeError(absl::string_view key, absl::string_view expected,
                         const Json& value) const {
    return JsonTypeError(what_, absl::StrCat("key \"", Path(key), "\""),
                         expected, value);
  }
  Reader Child(absl::string_view key) const { return Reader(what_, Path(key)); }

  absl::Status Object(const Json& value, absl::string_view key) const {
    return value.is_object() ? absl::OkStatus()
                             : TypeError(key, "object", value);
  }
  absl::Status String(const Json& value, absl::string_view key,
                      std::string* out) const {
    if (!value.is_string()) return TypeError(key, "string", value);
    *out = value.get_ref<const std::string&>();
    return absl::OkStatus();
  }
  absl::Status NonEmptyString(const Json& value, absl::string_view key,
                              std::string* out) const {
    RETURN_IF_ERROR(String(value, key, out));
    return out->empty() ? Error(key, "must not be empty") : absl::OkStatus();
  }
  absl::Status Bool(const Json& value, absl::string_view key, bool* out) const {
    if (!value.is_boolean()) return TypeError(key, "boolean", value);
    *out = value.get<bool>();
    return absl::OkStatus();
  }
  absl::Status Int(const Json& value, absl::string_view key, int* out) const {
    if (!value.is_number_integer()) return TypeError(key, "integer", value);
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() >
            static_cast<uint64_t>(std::numeric_limits<int>::max())) {
      return Error(key, "out of range");
    }
    const int64_t v = value.get<int64_t>();
    if (v < std::numeric_limits<int>::min() ||
        v > std::numeric_limits<int>::max()) {
      return Error(key, "out of range");
    }
    *out = static_cast<int>(v);
    return absl::OkStatus();
  }
  absl::Status StringList(const Json& value, absl::string_view key,
                          std::vector<std::string>* out) const {
    if (!value.is_array()) return TypeError(key, "array of strings", value);
    for (size_t i = 0; i < value.size(); ++i) {
      const std::string item_key = absl::StrCat(key, "[", i, "]");
      std::string item;
      RETURN_IF_ERROR(NonEmptyString(value[i], item_key, &item));
      out->push_back(std::move(item));
    }
    return absl::OkStatus();
  }

  // Calls `handler` for each key of `object`; a key without a handler is an
  // error.
  absl::Status Keys(
      const Json& object,
      const std::map<absl::string_view, std::function<absl::Status(
                                            const Json&, absl::string_view)>>&
          handlers) const {
    for (const auto& [key, value] : object.items()) {
      auto handler = handlers.find(key);
      if (handler == handlers.end()) return Error(key, "unknown key");
      RETURN_IF_ERROR(handler->second(value, key));
    }
    return absl::OkStatus();
  }

 private:
  std::string what_;
  std::string prefix_;
};

absl::Status CheckUnixAddress(const Reader& r, absl::string_view key,
                              const std::string& address) {
  if (!absl::StartsWith(address, "unix:///")) {
    return r.Error(
        key, absl::StrCat("\"", address, "\" must be unix:///absolute/path"));
  }
  // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
  if (address.size() - 7 > 107) {
    return r.Error(key, "socket path is longer than 107 bytes");
  }
  return absl::OkStatus();
}

absl::Status CheckHostPort(const Reader& r, absl::string_view key,
                           const std::string& address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return r.Error(key, absl::StrCat("\"", address,
                                     "\" must be host:port, e.g. "
                                     "127.0.0.1:5055"));
  }
  return absl::OkStatus();
}

absl::Status CheckEndpoint(const Reader& r, absl::string_view key,
                           const std::string& endpoint) {
  absl::string_view rest = endpoint;
  if (!absl::ConsumePrefix(&rest, "https://") &&
      !absl::ConsumePrefix(&rest, "http://")) {
    return r.Error(key, absl::StrCat("\"", endpoint,
                                     "\" must start with http:// or https://"));
  }
  const absl::string_view host = rest.substr(0, rest.find('/'));
  if (absl::Status s = ValidateRegistryHost(host); !s.ok()) {
    return r.Error(key, s.message());
  }
  return absl::OkStatus();
}

absl::Status ParseRegistry(const Reader& r, const Json& value,
                           RegistryConfig* out) {
  return r.Keys(value,
                {{"endpoint",
                  [&](const Json& v, absl::string_view k) {
                    RETURN_IF_ERROR(r.String(v, k, &out->endpoint));
                    return CheckEndpoint(r, k, out->endpoint);
                  }},
                 {"ca",
                  [&](const Json& v, absl::string_view k) {
                    return r.NonEmptyString(v, k, &out->ca);
                  }},
                 {"insecure",
                  [&](const Json& v, absl::string_view k) {
                    return r.Bool(v, k, &out->insecure);
                  }},
                 {"username",
                  [&](const Json& v, absl::string_view k) {
                    return r.String(v, k, &out->username);
                  }},
                 {"password",
                  [&](const Json& v, absl::string_view k) {
                    // Never echo the value: a type error names the type only.
                    return r.String(v, k, &out->password);
                  }},
                 {"identitytoken", [&](const Json& v, absl::string_view k) {
                    return r.String(v, k, &out->identity_token);
                  }}});
}

}  // namespace

NodeProfile Config::ConfiguredNode() const {
  NodeProfile node;
  node.platform = platform.value_or(HostBuildPlatform());
  node.features = features;
  return node;
}

absl::StatusOr<Config> ParseConfig(absl::string_view text,
                                   absl::string_view source) {
  const std::string what = absl::StrCat("config ", source);
  ASSIGN_OR_RETURN(Json doc, ParseJson(text, what));
  Config config;
  config.source = std::string(source);
  const Reader r(what, "");
  if (!doc.is_object()) return JsonTypeError(what, "document", "object", doc);

  bool saw_features = false;
  auto features = [&](const Json& v, absl::string_view k) -> absl::Status {
    if (saw_features) {
      return r.Error(k, "give either \"features\" or \"platform-features\"");
    }
    saw_features = true;
    return r.StringList(v, k, &config.features);
  };
  std::vector<std::string> platform_features;

  RETURN_IF_ERROR(r.Keys(
      doc,
      {{"platform",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          std::string text;
          RETURN_IF_ERROR(r.NonEmptyString(v, k, &text));
          absl::StatusOr<PlatformSpec> spec = ParsePlatformSpec(text);
          if (!spec.ok()) return r.Error(k, spec.status().message());
          config.platform = spec->platform;
          platform_features = spec->features;
          return absl::OkStatus();
        }},
       {"features", features},
       {"platform-features", features},
       {"proc_root",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.NonEmptyString(v, k, &config.proc_root));
          if (config.proc_root.front() != '/') {
            return r.Error(k, "must be an absolute path");
          }
          while (config.proc_root.size() > 1 &&
                 config.proc_root.back() == '/') {
            config.proc_root.pop_back();
          }
          return absl::OkStatus();
        }},
       {"detect",
        [&](const Json& v, absl::string_view k) {
          return r.Bool(v, k, &config.detect);
        }},
       {"implies",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.Object(v, k));
          const Reader child = r.Child(k);
          for (const auto& [feature, implied] : v.items()) {
            RETURN_IF_ERROR(child.StringList(implied, feature,
                                             &config.rules.implies[feature]));
          }
          return absl::OkStatus();
        }},
       {"aliases",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.Object(v, k));
          const Reader child = r.Child(k);
          for (const auto& [spelling, canonical] : v.items()) {
            RETURN_IF_ERROR(child.NonEmptyString(
                canonical, spelling, &config.rules.aliases[spelling]));
          }
          return absl::OkStatus();
        }},
       {"weights",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.Object(v, k));
          const Reader child = r.Child(k);
          for (const auto& [pattern, weight] : v.items()) {
            int w = 0;
            RETURN_IF_ERROR(child.Int(weight, pattern, &w));
            if (w < 0 || w > 1000) {
              return child.Error(pattern, "weight must be within 0..1000");
            }
            config.rules.weights.emplace_back(pattern, w);
          }
          return absl::OkStatus();
        }},
       {"cuda",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.Object(v, k));
          const Reader c = r.Child(k);
          return c.Keys(v,
                        {{"minor_version_compatibility",
                          [&](const Json& x, absl::string_view key) {
                            return c.Bool(
                                x, key,
                                &config.rules.cuda_minor_version_compatibility);
                          }}});
        }},
       {"on_no_match",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          std::string text;
          RETURN_IF_ERROR(r.String(v, k, &text));
          absl::StatusOr<NoMatchPolicy> policy = ParseNoMatchPolicy(text);
          if (!policy.ok()) return r.Error(k, policy.status().message());
          config.on_no_match = *policy;
          return absl::OkStatus();
        }},
       {"registries",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.Object(v, k));
          const Reader child = r.Child(k);
          for (const auto& [host, entry] : v.items()) {
            if (absl::Status s = ValidateRegistryHost(host); !s.ok()) {
              return child.Error(host, s.message());
            }
            RETURN_IF_ERROR(child.Object(entry, host));
            RegistryConfig& registry = config.registries[host];
            const Reader entry_reader = child.Child(host);
            RETURN_IF_ERROR(ParseRegistry(entry_reader, entry, &registry));
            if (!registry.password.empty() && registry.username.empty()) {
              return child.Error(host, "password given without username");
            }
          }
          return absl::OkStatus();
        }},
       {"docker_config",
        [&](const Json& v, absl::string_view k) {
          return r.NonEmptyString(v, k, &config.docker_config);
        }},
       {"cri",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.Object(v, k));
          const Reader c = r.Child(k);
          return c.Keys(
              v, {{"listen",
                   [&](const Json& x, absl::string_view key) -> absl::Status {
                     RETURN_IF_ERROR(c.String(x, key, &config.cri.listen));
                     return CheckUnixAddress(c, key, config.cri.listen);
                   }},
                  {"containerd",
                   [&](const Json& x, absl::string_view key) -> absl::Status {
                     RETURN_IF_ERROR(c.String(x, key, &config.cri.containerd));
                     return CheckUnixAddress(c, key, config.cri.containerd);
                   }},
                  {"socket_group",
                   [&](const Json& x, absl::string_view key) {
                     return c.String(x, key, &config.cri.socket_group);
                   }},
                  {"namespace",
                   [&](const Json& x, absl::string_view key) -> absl::Status {
                     RETURN_IF_ERROR(
                         c.NonEmptyString(x, key, &config.cri.namespace_name));
                     for (char ch : config.cri.namespace_name) {
                       if (!absl::ascii_isalnum(ch) && ch != '.' && ch != '_' &&
                           ch != '-') {
                         return c.Error(key,
                                        "letters, digits, '.', '_' and '-' "
                                        "only");
                       }
                     }
                     return absl::OkStatus();
                   }}});
        }},
       {"upstream",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.Object(v, k));
          const Reader u = r.Child(k);
          auto millis = [&u](const Json& x, absl::string_view key,
                             int* out) -> absl::Status {
            RETURN_IF_ERROR(u.Int(x, key, out));
            if (*out < 1 || *out > 600'000) {
              return u.Error(key, "must be within 1..600000 milliseconds");
            }
            return absl::OkStatus();
          };
          return u.Keys(
              v,
              {{"connect_timeout_ms",
                [&](const Json& x, absl::string_view key) {
                  return millis(x, key, &config.upstream.connect_timeout_ms);
                }},
               {"request_timeout_ms",
                [&](const Json& x, absl::string_view key) {
                  return millis(x, key, &config.upstream.request_timeout_ms);
                }},
               {"tag_cache_ms",
                [&](const Json& x, absl::string_view key) -> absl::Status {
                  RETURN_IF_ERROR(u.Int(x, key, &config.upstream.tag_cache_ms));
                  if (config.upstream.tag_cache_ms < 0 ||
                      config.upstream.tag_cache_ms > 3'600'000) {
                    return u.Error(key, "must be within 0..3600000");
                  }
                  return absl::OkStatus();
                }},
               {"allow_internal_redirects",
                [&](const Json& x, absl::string_view key) {
                  return u.Bool(x, key,
                                &config.upstream.allow_internal_redirects);
                }},
               {"index_cache_bytes",
                [&](const Json& x, absl::string_view key) -> absl::Status {
                  if (!x.is_number_integer() || x.get<int64_t>() < 0) {
                    return u.Error(key, "must be a non-negative integer");
                  }
                  config.upstream.index_cache_bytes = x.get<int64_t>();
                  return absl::OkStatus();
                }}});
        }},
       {"nfd",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.Object(v, k));
          const Reader n = r.Child(k);
          return n.Keys(
              v, {{"features_dir",
                   [&](const Json& x, absl::string_view key) {
                     return n.String(x, key, &config.nfd.features_dir);
                   }},
                  {"prefix",
                   [&](const Json& x, absl::string_view key) {
                     return n.String(x, key, &config.nfd.prefix);
                   }},
                  {"map",
                   [&](const Json& x, absl::string_view key) -> absl::Status {
                     RETURN_IF_ERROR(n.Object(x, key));
                     const Reader m = n.Child(key);
                     for (const auto& [name, feature] : x.items()) {
                       RETURN_IF_ERROR(m.NonEmptyString(feature, name,
                                                        &config.nfd.map[name]));
                     }
                     return absl::OkStatus();
                   }}});
        }},
       {"http",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.Object(v, k));
          const Reader h = r.Child(k);
          return h.Keys(
              v,
              {{"listen",
                [&](const Json& x, absl::string_view key) -> absl::Status {
                  RETURN_IF_ERROR(h.String(x, key, &config.http.listen));
                  return CheckHostPort(h, key, config.http.listen);
                }},
               {"health_listen",
                [&](const Json& x, absl::string_view key) -> absl::Status {
                  RETURN_IF_ERROR(h.String(x, key, &config.http.health_listen));
                  return CheckHostPort(h, key, config.http.health_listen);
                }},
               {"pki_dir",
                [&](const Json& x, absl::string_view key) {
                  return h.NonEmptyString(x, key, &config.http.pki_dir);
                }},
               {"insecure_plain_http",
                [&](const Json& x, absl::string_view key) {
                  return h.Bool(x, key, &config.http.insecure_plain_http);
                }},
               {"allow_non_loopback",
                [&](const Json& x, absl::string_view key) {
                  return h.Bool(x, key, &config.http.allow_non_loopback);
                }}});
        }},
       {"limits",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.Object(v, k));
          const Reader l = r.Child(k);
          // name -> (field, minimum, maximum)
          const std::map<absl::string_view, std::tuple<int*, int, int>> ints = {
              {"http_workers", {&config.limits.http_workers, 1, 64}},
              {"http_max_connections",
               {&config.limits.http_max_connections, 4, 10'000}},
              {"http_max_pending",
               {&config.limits.http_max_pending, 1, 10'000}},
              {"http_request_timeout_ms",
               {&config.limits.http_request_timeout_ms, 100, 120'000}},
              {"http_max_headers", {&config.limits.http_max_headers, 8, 1000}},
              {"http_max_header_bytes",
               {&config.limits.http_max_header_bytes, 1024, 1 << 20}},
              {"token_cache_entries",
               {&config.limits.token_cache_entries, 0, 100'000}},
              {"token_cache_bytes",
               {&config.limits.token_cache_bytes, 0, 64 << 20}},
              {"auth_registries", {&config.limits.auth_registries, 1, 100'000}},
              {"no_match_bytes", {&config.limits.no_match_bytes, 0, 64 << 20}},
              {"upstream_bodies", {&config.limits.upstream_bodies, 1, 64}},
              {"cri_pull_workers", {&config.limits.cri_pull_workers, 1, 256}},
              {"cri_pull_queue", {&config.limits.cri_pull_queue, 0, 10'000}},
              {"cri_max_message_bytes",
               {&config.limits.cri_max_message_bytes, 64 << 10, 64 << 20}}};
          for (const auto& [key, value] : v.items()) {
            auto it = ints.find(key);
            if (it == ints.end()) return l.Error(key, "unknown key");
            const auto& [field, low, high] = it->second;
            RETURN_IF_ERROR(l.Int(value, key, field));
            if (*field < low || *field > high) {
              return l.Error(key,
                             absl::StrCat("must be within ", low, "..", high));
            }
          }
          return absl::OkStatus();
        }},
       {"containerd",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.Object(v, k));
          const Reader c = r.Child(k);
          return c.Keys(
              v, {{"config",
                   [&](const Json& x, absl::string_view key) {
                     return c.NonEmptyString(x, key, &config.containerd.config);
                   }},
                  {"binary", [&](const Json& x, absl::string_view key) {
                     return c.NonEmptyString(x, key, &config.containerd.binary);
                   }}});
        }},
       {"proxy",
        [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.Object(v, k));
          const Reader p = r.Child(k);
          auto bounded = [&p](const Json& x, absl::string_view key, int* out,
                              int low, int high) -> absl::Status {
            RETURN_IF_ERROR(p.Int(x, key, out));
            if (*out < low || *out > high) {
              return p.Error(key,
                             absl::StrCat("must be within ", low, "..", high));
            }
            return absl::OkStatus();
          };
          return p.Keys(
              v,
              {{"listen",
                [&](const Json& x, absl::string_view key) -> absl::Status {
                  RETURN_IF_ERROR(p.String(x, key, &config.proxy.listen));
                  if (config.proxy.listen.empty()) return absl::OkStatus();
                  return CheckHostPort(p, key, config.proxy.listen);
                }},
               {"default_registry",
                [&](const Json& x, absl::string_view key) -> absl::Status {
                  RETURN_IF_ERROR(
                      p.NonEmptyString(x, key, &config.proxy.default_registry));
                  if (absl::Status s =
                          ValidateRegistryHost(config.proxy.default_registry);
                      !s.ok()) {
                    return p.Error(key, s.message());
                  }
                  return absl::OkStatus();
                }},
               {"prefixes",
                [&](const Json& x, absl::string_view key) -> absl::Status {
                  RETURN_IF_ERROR(p.Object(x, key));
                  const Reader m = p.Child(key);
                  for (const auto& [prefix, registry] : x.items()) {
                    std::string& out = config.proxy.prefixes[prefix];
                    RETURN_IF_ERROR(m.NonEmptyString(registry, prefix, &out));
                    if (prefix.empty() ||
                        prefix.find_first_of("/:") != std::string::npos) {
                      return m.Error(prefix,
                                     "a prefix is one name component, "
                                     "without '/' or ':'");
                    }
                    if (absl::Status s = ValidateRegistryHost(out); !s.ok()) {
                      return m.Error(prefix, s.message());
                    }
                  }
                  return absl::OkStatus();
                }},
               {"registries",
                [&](const Json& x, absl::string_view key) -> absl::Status {
                  RETURN_IF_ERROR(
                      p.StringList(x, key, &config.proxy.registries));
                  for (const std::string& host : config.proxy.registries) {
                    if (host == "*") continue;
                    if (absl::Status s = ValidateRegistryHost(host); !s.ok()) {
                      return p.Error(key, s.message());
                    }
                  }
                  return absl::OkStatus();
                }},
               {"tls_cert",
                [&](const Json& x, absl::string_view key) {
                  return p.NonEmptyString(x, key, &config.proxy.tls_cert);
                }},
               {"tls_key",
                [&](const Json& x, absl::string_view key) {
                  return p.NonEmptyString(x, key, &config.proxy.tls_key);
                }},
               {"profiles",
                [&](const Json& x, absl::string_view key) -> absl::Status {
                  RETURN_IF_ERROR(p.Object(x, key));
                  const Reader m = p.Child(key);
                  for (const auto& [user, entry] : x.items()) {
                    if (user.empty() || user.size() > 128 ||
                        user.find_first_of(":/ \t") != std::string::npos) {
                      return m.Error(user,
                                     "a login is 1 to 128 characters "
                                     "without ':', '/' or spaces");
                    }
                    RETURN_IF_ERROR(m.Object(entry, user));
                    const Reader e = m.Child(user);
                    ProxyProfileConfig& profile = config.proxy.profiles[user];
                    RETURN_IF_ERROR(e.Keys(
                        entry,
                        {{"password_hash",
                          [&](const Json& y, absl::string_view f) {
                            return e.NonEmptyString(y, f,
                                                    &profile.password_hash);
                          }},
                         {"platform",
                          [&](const Json& y,
                              absl::string_view f) -> absl::Status {
                            std::string text;
                            RETURN_IF_ERROR(e.NonEmptyString(y, f, &text));
                            absl::StatusOr<PlatformSpec> spec =
                                ParsePlatformSpec(text);
                            if (!spec.ok()) {
                              return e.Error(f, spec.status().message());
                            }
                            profile.platform = spec->platform;
                            profile.features.insert(profile.features.end(),
                                                    spec->features.begin(),
                                                    spec->features.end());
                            return absl::OkStatus();
                          }},
                         {"features", [&](const Json& y, absl::string_view f) {
                            return e.StringList(y, f, &profile.features);
                          }}}));
                    if (profile.password_hash.empty() ||
                        profile.password_hash.front() != '$') {
                      return e.Error("password_hash",
                                     "required: a crypt(3) hash such as "
                                     "bcrypt's \"$2b$…\" (nodefit "
                                     "hash-password makes one)");
                    }
                  }
                  return absl::OkStatus();
                }},
               {"token_ttl_s",
                [&](const Json& x, absl::string_view key) {
                  return bounded(x, key, &config.proxy.token_ttl_s, 10, 86'400);
                }},
               {"upstream_credentials",
                [&](const Json& x, absl::string_view key) {
                  return p.Bool(x, key, &config.proxy.upstream_credentials);
                }},
               {"blob_timeout_s",
                [&](const Json& x, absl::string_view key) {
                  return bounded(x, key, &config.proxy.blob_timeout_s, 1,
                                 86'400);
                }},
               {"workers",
                [&](const Json& x, absl::string_view key) {
                  return bounded(x, key, &config.proxy.workers, 1, 256);
                }},
               {"max_connections",
                [&](const Json& x, absl::string_view key) {
                  return bounded(x, key, &config.proxy.max_connections, 4,
                                 10'000);
                }},
               {"stream_buffer_bytes",
                [&](const Json& x, absl::string_view key) {
                  return bounded(x, key, &config.proxy.stream_buffer_bytes,
                                 64 << 10, 64 << 20);
                }}});
        }},
       {"bypass", [&](const Json& v, absl::string_view k) -> absl::Status {
          RETURN_IF_ERROR(r.Object(v, k));
          const Reader b = r.Child(k);
          return b.Keys(
              v, {{"watch",
                   [&](const Json& x, absl::string_view key) {
                     return b.Bool(x, key, &config.bypass.watch);
                   }},
                  {"namespaces",
                   [&](const Json& x, absl::string_view key) -> absl::Status {
                     config.bypass.namespaces.clear();
                     RETURN_IF_ERROR(
                         b.StringList(x, key, &config.bypass.namespaces));
                     if (config.bypass.namespaces.empty()) {
                       return b.Error(key,
                                      "name at least one namespace, or "
                                      "set \"watch\": false");
                     }
                     return absl::OkStatus();
                   }},
                  {"window_s",
                   [&](const Json& x, absl::string_view key) -> absl::Status {
                     RETURN_IF_ERROR(b.Int(x, key, &config.bypass.window_s));
                     if (config.bypass.window_s < 1 ||
                         config.bypass.window_s > 86'400) {
                       return b.Error(key, "must be within 1..86400 seconds");
                     }
                     return absl::OkStatus();
                   }}});
        }}}));

  // nodefit answers as root; off loopback, anyone who can reach the
  // address could use it. Only an explicit setting allows that.
  for (const auto& [key, address] :
       {std::make_pair("http.listen", config.http.listen),
        std::make_pair("http.health_listen", config.http.health_listen)}) {
    const std::string host = address.substr(0, address.rfind(':'));
    const bool loopback = absl::StartsWith(host, "127.") ||
                          host == "localhost" || host == "[::1]";
    if (!loopback && !config.http.allow_non_loopback) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": key \"", key, "\": \"", address,
          "\" is not a loopback address; nodefit answers as root, so listening "
          "elsewhere must be asked for with \"http\": "
          "{\"allow_non_loopback\": true}"));
    }
  }

  // The proxy answers anyone who reaches it: off loopback, only over TLS.
  if (!config.proxy.listen.empty()) {
    const std::string host =
        config.proxy.listen.substr(0, config.proxy.listen.rfind(':'));
    const bool loopback = absl::StartsWith(host, "127.") ||
                          host == "localhost" || host == "[::1]";
    if (config.proxy.tls_cert.empty() != config.proxy.tls_key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what,
                       ": key \"proxy\": give both tls_cert and "
                       "tls_key, or neither"));
    }
    if (!loopback && config.proxy.tls_cert.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": key \"proxy.listen\": \"", config.proxy.listen,
          "\" is not a loopback address, so the proxy needs TLS: set "
          "proxy.tls_cert and proxy.tls_key"));
    }
  }

  config.features.insert(config.features.begin(), platform_features.begin(),
                         platform_features.end());
  // Semantic checks of the feature rules (cycles, alias chains) come from
  // the vocabulary itself, so they are reported against this file too.
  if (absl::StatusOr<std::unique_ptr<const Vocabulary>> vocabulary =
          Vocabulary::Create(config.rules);
      !vocabulary.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", vocabulary.status().message()));
  }
  return config;
}

absl::StatusOr<Config> LoadConfig(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileToString(path, 1 << 20);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("config: ", text.status().message()));
  }
  return ParseConfig(*text, path);
}

}  // namespace nodefit
