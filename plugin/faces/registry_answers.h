// What the faces that speak the distribution API (the resolver face and
// the proxy face) answer: error bodies, manifests with their headers, and
// the empty index served when no build fits.
#ifndef NODEFIT_PLUGIN_FACES_REGISTRY_ANSWERS_H_
#define NODEFIT_PLUGIN_FACES_REGISTRY_ANSWERS_H_

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "plugin/net/http_server.h"
#include "resolver/base/lru_map.h"
#include "resolver/decide/decide.h"

namespace nodefit {

// A distribution-spec error: {"errors": [{"code", "message", "detail"}]}.
void RegistryError(ServerResponse& res, int status, absl::string_view code,
                   absl::string_view message);

// 200 with the manifest's Content-Type, Docker-Content-Digest and its body
// (or, for HEAD or without a body, only its Content-Length).
void ManifestAnswer(ServerResponse& res, const Descriptor& descriptor,
                    const std::string* body, bool head);

// The empty index for "no build fits": clients refuse it ("no match for
// platform"), which is the policy's refusal; `reason` goes in an
// annotation, shortened.
std::string NoMatchIndex(const std::string& reason);

// Those empty indexes, kept briefly: a client asks for the digest right
// after the tag. Bounded (LRU). Thread-safe.
class NoMatchStore {
 public:
  explicit NoMatchStore(size_t max_bytes) : bodies_(1024, max_bytes) {}

  // Stores `body`; returns its digest.
  std::string Put(const std::string& body);
  std::optional<std::string> Get(const std::string& digest);

 private:
  absl::Mutex mu_;
  LruMap<std::string> bodies_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_FACES_REGISTRY_ANSWERS_H_
