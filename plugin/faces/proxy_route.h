// The proxy face's request paths and names: which distribution API route a
// path is, and which registry and repository a client's name stands for.
// Pure functions, fuzzed (fuzz/proxy_route).
//
// A name reaches its registry by the first rule that applies:
//   1. its first component is a configured prefix ("local/app" with
//      prefixes {"local": "127.0.0.1:5000"} -> 127.0.0.1:5000, "app");
//   2. its first component looks like a host (has a '.', or is
//      "localhost") and is an allowed registry ("ghcr.io/org/app" with
//      registries ["ghcr.io"] or ["*"]); a host-like first component that
//      is not allowed is refused, never sent to the default registry;
//   3. otherwise the default registry, the whole name as the repository
//      (docker.io's one-component names get "library/").
#ifndef NODEFIT_PLUGIN_FACES_PROXY_ROUTE_H_
#define NODEFIT_PLUGIN_FACES_PROXY_ROUTE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "resolver/config/config.h"
#include "resolver/registry/reference.h"

namespace nodefit {

enum class ProxyRoute {
  kBase,       // /v2/
  kToken,      // /token (central mode's token endpoint)
  kManifest,   // /v2/<name>/manifests/<tag or digest>
  kBlob,       // /v2/<name>/blobs/<digest>
  kTags,       // /v2/<name>/tags/list
  kReferrers,  // /v2/<name>/referrers/<digest>
  kOther,
};

struct ProxyPath {
  ProxyRoute route = ProxyRoute::kOther;
  std::string name;       // as the client wrote it
  std::string reference;  // tag or digest (manifests), digest (others)
};

// Never fails: anything unknown is kOther.
ProxyPath ParseProxyPath(absl::string_view path);

// The registry and repository `name` stands for (registry and repository
// set, tag and digest empty); InvalidArgument for a malformed name,
// PermissionDenied for a registry the proxy does not serve.
[[nodiscard]] absl::StatusOr<Reference> UpstreamFor(absl::string_view name,
                                                    const ProxyConfig& proxy);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_FACES_PROXY_ROUTE_H_
