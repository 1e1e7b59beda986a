// nodefit's configuration file (JSON, default /etc/nodefit/config.json),
// docs/configuration.md.
//
// Every key is checked: an unknown key, a wrong type or a bad value gets
// InvalidArgument naming the file and the key path, e.g.
//   config /etc/nodefit/config.json: key "registries.r.insecure": expected
//   boolean, got string
// "platform-features" (the daemon.json spelling) is accepted for "features".
// Config holds credentials; never print or log a Config as a whole.
#ifndef NODEFIT_RESOLVER_CONFIG_CONFIG_H_
#define NODEFIT_RESOLVER_CONFIG_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "resolver/select/node_profile.h"
#include "resolver/select/platform.h"
#include "resolver/select/selector.h"
#include "resolver/select/vocabulary.h"

namespace nodefit {

inline constexpr absl::string_view kDefaultConfigPath =
    "/etc/nodefit/config.json";

struct RegistryConfig {
  std::string endpoint;   // "https://mirror:5000"; empty: derived from host
  std::string ca;         // PEM file trusted for this registry
  bool insecure = false;  // plain http allowed, TLS not verified
  std::string username;
  std::string password;        // secret
  std::string identity_token;  // secret; an OAuth2 refresh token
};

struct CriConfig {
  std::string listen = "unix:///run/nodefit/cri.sock";
  std::string containerd = "unix:///run/containerd/containerd.sock";
  std::string namespace_name = "k8s.io";
  // A group allowed to use the socket (name or number); empty: root only.
  std::string socket_group;
};

// How nodefit talks to registries.
struct UpstreamConfig {
  int connect_timeout_ms = 5000;
  int request_timeout_ms = 30000;       // one whole request, redirects included
  int64_t index_cache_bytes = 8 << 20;  // bound of the in-memory LRU
  // Reuse a tag's digest without a HEAD for this long; 0 (default): HEAD
  // every time, as containerd does.
  int tag_cache_ms = 0;
  // Let a registry redirect nodefit to loopback or link-local addresses,
  // or to another host over plain http (off: a registry, or whoever names
  // one, could reach the node's own services and the cloud's metadata
  // through nodefit).
  bool allow_internal_redirects = false;
};

// Node Feature Discovery feature files ("name[=value]" lines).
struct NfdConfig {
  // Read at start-up as an extra source of node features.
  std::string features_dir =
      "/etc/kubernetes/node-feature-discovery/features.d";
  // Lines whose name starts with `prefix` give the feature named by the
  // rest ("nodefit-skylake" -> "skylake"); --write-nfd writes that form.
  std::string prefix = "nodefit-";
  // Explicit mapping: an NFD name ("name" or "name=value") -> a feature.
  std::map<std::string, std::string> map;
};

// The resolver face (mutual TLS, on a privileged port so no other user can
// bind it) and the plain health listener (/healthz, /readyz, /metrics).
struct HttpConfig {
  std::string listen = "127.0.0.1:505";
  std::string health_listen = "127.0.0.1:5055";
  // The node-local CA, server and client certificates (nodefit pki init,
  // or hosts install).
  std::string pki_dir = "/etc/nodefit/pki";
  // Tests only: plain HTTP on `listen`, which any local user can reach.
  bool insecure_plain_http = false;
  // Listening on an address other than loopback must be asked for.
  bool allow_non_loopback = false;
};

// Every bound on what clients, registries and documents can make nodefit
// hold; each has a safe default and counts in nodefit_limits_total.
struct LimitsConfig {
  int http_workers = 4;  // each may hold a 4 MB document it resolved
  int http_max_connections = 128;
  int http_max_pending = 64;
  int http_request_timeout_ms = 10'000;  // a whole request's headers
  int http_max_headers = 64;
  int http_max_header_bytes = 16 << 10;
  int token_cache_entries = 512;
  int token_cache_bytes = 1 << 20;
  int auth_registries = 256;
  int no_match_bytes = 1 << 20;
  int upstream_bodies = 2;  // manifest bodies fetched and parsed at once
  int cri_pull_workers = 4;
  int cri_pull_queue = 64;
  int cri_max_message_bytes = 4 << 20;
};

// Where this node's containerd keeps its config and binary: `nodefit
// doctor`, `hosts install` and the bypass warning read its effective
// config from them (`<binary> --config <config> config dump`).
struct ContainerdConfig {
  std::string config = "/etc/containerd/config.toml";
  std::string binary = "containerd";
};

// Watching containerd's image events for pulls that went around nodefit.
struct BypassConfig {
  bool watch = true;
  std::vector<std::string> namespaces = {"k8s.io"};
  int window_s = 600;  // a record this long after nodefit was asked is ours
};

// One login of the proxy face's central mode and the node it pulls for.
struct ProxyProfileConfig {
  // crypt(3) form, checked with libcrypt: "$2b$…"/"$2y$…" (bcrypt, as
  // htpasswd -B writes), "$y$…" (yescrypt), "$6$…" (SHA-512). A secret's
  // hash; still never logged.
  std::string password_hash;
  std::optional<Platform> platform;   // unset: the node's platform
  std::vector<std::string> features;  // as written; aliases apply
};

// The proxy face (off unless `listen` is set): a pull-through registry
// endpoint for any client (Docker, Podman, skopeo, CRI-O, Apptainer), which
// serves each tag as the build that fits, docs/proxy.md.
struct ProxyConfig {
  std::string listen;  // "host:port"; empty: off
  // Where a name without a registry prefix goes ("<proxy>/qnib/cv-tf"):
  // as a Docker Hub mirror, docker.io.
  std::string default_registry = "docker.io";
  // A name's first component naming its registry ("<proxy>/local/app" ->
  // 127.0.0.1:5000/app), for registries with a port, which a reference's
  // path cannot spell. A first component with a dot ("ghcr.io") names its
  // registry itself.
  std::map<std::string, std::string> prefixes;
  // Registries a name may name itself as its first component
  // ("<proxy>/ghcr.io/org/app"); "*" for any. Off by default: a client
  // could otherwise make nodefit fetch from any host its network reaches.
  std::vector<std::string> registries;
  // TLS for clients; required unless `listen` is a loopback address.
  std::string tls_cert;
  std::string tls_key;
  // Central mode: logins, each pulling for its own node profile. Empty:
  // every client gets this node's profile, with no login (local mode).
  std::map<std::string, ProxyProfileConfig> profiles;
  int token_ttl_s = 300;  // the bearer tokens the proxy issues
  // Lend nodefit's configured registry credentials (registries entries,
  // Docker config.json) to the proxy's clients. Off: the proxy reads
  // registries anonymously, so no client reads through it what only the
  // node may read.
  bool upstream_credentials = false;
  int blob_timeout_s = 3600;  // one blob's whole transfer
  int workers = 8;            // requests served at once (each blob holds one)
  int max_connections = 256;
  int stream_buffer_bytes = 4 << 20;  // per blob in flight, upstream side
};

struct Config {
  std::string source;  // the file it came from, for messages

  std::optional<Platform> platform;   // unset: the host's
  std::vector<std::string> features;  // as written
  bool detect = true;
  // Where detection reads cpuinfo and driver/nvidia/version: "/proc", or
  // the host's /proc mounted elsewhere (a DaemonSet's /host/proc).
  std::string proc_root = "/proc";
  FeatureRules rules;
  NoMatchPolicy on_no_match = NoMatchPolicy::kFail;
  std::map<std::string, RegistryConfig> registries;  // by registry host
  std::string docker_config;
  UpstreamConfig upstream;
  NfdConfig nfd;
  CriConfig cri;
  HttpConfig http;
  LimitsConfig limits;
  ContainerdConfig containerd;
  BypassConfig bypass;
  ProxyConfig proxy;

  // The node as configured: `platform` (or the build's platform) plus
  // `features`. Detection, when on, is merged by the caller.
  NodeProfile ConfiguredNode() const;
};

// Parses a config document; `source` names it in errors.
[[nodiscard]] absl::StatusOr<Config> ParseConfig(absl::string_view text,
                                                 absl::string_view source);

// Reads and parses a config file (at most 1 MiB).
[[nodiscard]] absl::StatusOr<Config> LoadConfig(const std::string& path);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_CONFIG_CONFIG_H_
