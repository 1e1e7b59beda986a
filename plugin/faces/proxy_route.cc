#include "plugin/faces/proxy_route.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace nodefit {

namespace {

ProxyPath ProxyPathOf(ProxyRoute route, absl::string_view name,
                      absl::string_view reference) {
  return ProxyPath{route, std::string(name), std::string(reference)};
}

}  // namespace

ProxyPath ParseProxyPath(absl::string_view path) {
  if (path == "/v2/" || path == "/v2") {
    return ProxyPathOf(ProxyRoute::kBase, "", "");
  }
  if (path == "/token") return ProxyPathOf(ProxyRoute::kToken, "", "");
  if (!absl::ConsumePrefix(&path, "/v2/")) return {};
  if (absl::ConsumeSuffix(&path, "/tags/list")) {
    return path.empty() ? ProxyPath{}
                        : ProxyPathOf(ProxyRoute::kTags, path, "");
  }
  // The last "/<kind>/<ref>": names may contain "manifests" as a component.
  const size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos || slash == 0) return {};
  const absl::string_view reference = path.substr(slash + 1);
  const absl::string_view rest = path.substr(0, slash);
  const size_t kind_at = rest.rfind('/');
  if (kind_at == absl::string_view::npos || kind_at == 0 || reference.empty()) {
    return {};
  }
  const absl::string_view kind = rest.substr(kind_at + 1);
  const absl::string_view name = rest.substr(0, kind_at);
  if (kind == "manifests") {
    return ProxyPathOf(ProxyRoute::kManifest, name, reference);
  }
  if (kind == "blobs") return ProxyPathOf(ProxyRoute::kBlob, name, reference);
  if (kind == "referrers") {
    return ProxyPathOf(ProxyRoute::kReferrers, name, reference);
  }
  return {};
}

absl::StatusOr<Reference> UpstreamFor(absl::string_view name,
                                      const ProxyConfig& proxy) {
  Reference ref;
  const size_t slash = name.find('/');
  const absl::string_view first =
      slash == absl::string_view::npos ? name : name.substr(0, slash);
  const absl::string_view rest =
      slash == absl::string_view::npos ? "" : name.substr(slash + 1);
  const bool host_like = absl::StrContains(first, '.') || first == "localhost";
  if (auto it = proxy.prefixes.find(std::string(first));
      it != proxy.prefixes.end() && !rest.empty()) {
    ref.registry = it->second;
    ref.repository = std::string(rest);
  } else if (host_like && !rest.empty()) {
    const bool allowed = std::any_of(
        proxy.registries.begin(), proxy.registries.end(),
        [&](const std::string& r) { return r == "*" || r == first; });
    if (!allowed) {
      return absl::PermissionDeniedError(
          absl::StrCat("this proxy does not serve registry ", first,
                       " (proxy.registries lists the ones a name may name)"));
    }
    ref.registry = std::string(first);
    ref.repository = std::string(rest);
  } else {
    ref.registry = proxy.default_registry;
    ref.repository = std::string(name);
  }
  if (absl::Status s = ValidateRegistryHost(ref.registry); !s.ok()) return s;
  if (absl::Status s = ValidateRepository(ref.repository); !s.ok()) return s;
  if (ref.registry == "docker.io" &&
      ref.repository.find('/') == std::string::npos) {
    ref.repository = "library/" + ref.repository;
  }
  return ref;
}

}  // namespace nodefit
