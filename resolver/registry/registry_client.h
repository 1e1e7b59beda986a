// Reads image indexes from registries the way containerd does, with the same
// or fewer round trips.
//
// Resolve(repo:tag), with containerd's Accept list: the first time a tag is
// seen, or when the document it last named has left the cache, one GET of
// the tag gives document and digest together (the sha256 of the body, which
// must equal Docker-Content-Digest when sent). Otherwise a HEAD of the tag
// tells whether the cached document (an in-memory LRU keyed by repository
// and digest) is still current; a moved tag costs a GET by digest, verified.
// So nodefit never makes more requests than containerd's own HEAD + GET.
// Resolve(repo@sha256:…): no HEAD; the cache, else a GET. A registry that
// sends no Docker-Content-Digest on HEAD costs a GET of the tag. Concurrent
// resolutions of the same reference with the same credentials share one
// upstream exchange.
//
// Auth: anonymous, Basic, or Bearer tokens from the WWW-Authenticate
// challenge (GET realm?service&scope, or POST for an identity token; "token"
// or "access_token"; expires_in defaulting to 60 s; cached per registry,
// scope and credentials; one retry on 401 with a fresh token). Credentials,
// most specific first: the caller's, the config's registries entry, a Docker
// config.json. A token realm must be https unless the registry is configured
// insecure or the realm is on the registry's own host; credentials go only
// to the registry and its validated realm; redirects to another host carry
// no Authorization (HttpClient); no secret appears in any error message.
//
// Every error says which registry, what happened and what to check, e.g.
//   "401 from registry.example.com for repository x/y: no credentials
//    configured for this registry"
// with codes Unauthenticated (401), PermissionDenied (403), NotFound (404),
// Unavailable (5xx, 429, unreachable, TLS), DeadlineExceeded,
// ResourceExhausted (oversize body), DataLoss (digest mismatch),
// FailedPrecondition
// (refused realm or redirect), InvalidArgument (malformed document).
//
// Thread-safe.
#ifndef NODEFIT_RESOLVER_REGISTRY_REGISTRY_CLIENT_H_
#define NODEFIT_RESOLVER_REGISTRY_REGISTRY_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "resolver/base/clock.h"
#include "resolver/config/config.h"
#include "resolver/registry/credentials.h"
#include "resolver/registry/http_client.h"
#include "resolver/registry/index_cache.h"
#include "resolver/registry/reference.h"

namespace nodefit {

// Where and how to reach one registry.
struct RegistryEndpoint {
  std::string registry;  // as references name it: "docker.io"
  std::string base_url;  // "https://registry-1.docker.io"
  std::string ca_file;
  bool insecure = false;
};

// docker.io -> https://registry-1.docker.io; localhost, 127.0.0.1 and [::1]
// (any port) -> http; any other host -> https; a configured endpoint, ca or
// insecure wins.
RegistryEndpoint EndpointFor(
    absl::string_view registry,
    const std::map<std::string, RegistryConfig>& registries);

struct RegistryClientOptions {
  std::map<std::string, RegistryConfig> registries;
  // A Docker config.json. Empty: $DOCKER_CONFIG/config.json, else
  // $HOME/.docker/config.json, when present.
  std::string docker_config;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration request_timeout = absl::Seconds(30);
  int64_t cache_bytes = 8 << 20;
  // How long a tag's digest may be reused without a HEAD. Zero (the
  // default) HEADs every time, as containerd does, so a moved tag is seen at
  // once.
  absl::Duration tag_ttl = absl::ZeroDuration();
  Clock* clock = Clock::Real();
  // Called once per upstream HTTP exchange (registry or token server) with
  // its status code, 0 when the transport failed. For metrics.
  std::function<void(int status)> on_upstream_response;
  // Bounds of what registries decide the size of: cached tokens (entries
  // and bytes of key + token) and the auth challenges remembered per
  // registry. `on_bound("token_cache"|"auth_state")` when one evicts.
  size_t token_cache_entries = 512;
  size_t token_cache_bytes = 1 << 20;
  size_t auth_registries = 256;
  std::function<void(absl::string_view bound)> on_bound;
  // Follow redirects to loopback and link-local addresses too (see
  // HttpRequest::allow_internal_redirects).
  bool allow_internal_redirects = false;
  // Response bodies (manifests, tokens) fetched at once; more wait.
  int upstream_bodies = 2;
  // No configured credentials at all (neither the registries entries' nor
  // a Docker config.json's): for callers that must not lend the node's
  // credentials to whoever asks them (the proxy face, by default). Only
  // credentials passed with a call are used.
  bool anonymous = false;

  static RegistryClientOptions FromConfig(const Config& config);
};

struct Resolution {
  Reference reference;
  std::string endpoint;  // base URL used
  std::shared_ptr<const CachedDocument> document;
  int registry_requests = 0;   // HEAD and GET sent to the registry
  int token_requests = 0;      // requests to the token server
  bool cache_hit = false;      // the document came from the cache
  bool tag_cache_hit = false;  // the tag's digest came from the tag cache
  bool shared = false;         // joined a concurrent identical resolution
};

class RegistryClient {
 public:
  virtual ~RegistryClient() = default;

  // `credentials` (may be null or empty) come from the caller and win over
  // every configured source.
  [[nodiscard]] virtual absl::StatusOr<Resolution> Resolve(
      const Reference& reference, const Credentials* credentials) = 0;

  // A manifest of `reference`'s repository by digest, verified, from the
  // cache or the registry.
  [[nodiscard]] virtual absl::StatusOr<std::shared_ptr<const CachedDocument>>
  FetchByDigest(const Reference& reference, absl::string_view digest,
                const Credentials* credentials) = 0;

  // One request to `repository` of `registry`, with the same credentials,
  // token dance and rules as Resolve, for what Resolve does not cover
  // (publishing: blob uploads and mounts, manifest PUTs). `request.url` is a
  // path ("/v2/…"), resolved against the registry's endpoint, or an absolute
  // URL (an upload's Location): on another origin it is sent without
  // credentials. `scopes` are the token scopes the request needs
  // ("repository:a/b:pull,push", one per repository). Only transport
  // failures are errors; the caller reads the status. Timeouts and TLS
  // settings are the client's unless `request` sets a longer timeout.
  [[nodiscard]] virtual absl::StatusOr<HttpResponse> SendToRepository(
      const std::string& registry, const std::string& repository,
      HttpRequest request, const std::vector<std::string>& scopes,
      const Credentials* credentials) = 0;
};

// Reads `response` as a registry error for `what` ("blob upload to
// repository x/y"): the code for its status and a message naming the
// registry, without echoing the body.
absl::Status RegistryStatusError(absl::string_view registry,
                                 absl::string_view what, int status,
                                 bool had_credentials);

// InvalidArgument when the Docker config.json exists but cannot be read.
[[nodiscard]] absl::StatusOr<std::unique_ptr<RegistryClient>> NewRegistryClient(
    RegistryClientOptions options, std::shared_ptr<HttpClient> http);

// containerd's Accept header for manifests.
inline constexpr absl::string_view kManifestAccept =
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.oci.image.index.v1+json, */*";

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_REGISTRY_REGISTRY_CLIENT_H_
