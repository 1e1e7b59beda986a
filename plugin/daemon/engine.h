// What one configuration yields: the node, the selector and the registry
// client. Built once, shared read-only by both faces, and replaced as a
// whole on reload (a request in flight keeps the engine it started with).
#ifndef NODEFIT_PLUGIN_DAEMON_ENGINE_H_
#define NODEFIT_PLUGIN_DAEMON_ENGINE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "plugin/daemon/metrics.h"
#include "resolver/config/config.h"
#include "resolver/registry/http_client.h"
#include "resolver/registry/registry_client.h"
#include "resolver/select/node_profile.h"
#include "resolver/select/selector.h"

namespace nodefit {

struct Engine {
  Config config;
  NodeProfile node;
  std::unique_ptr<const Selector> selector;
  std::shared_ptr<RegistryClient> registry;
  // The proxy face's: its registry client (anonymous unless
  // proxy.upstream_credentials) and, in central mode, a selector per login
  // (the login's platform, else the node's, and its features).
  std::shared_ptr<RegistryClient> proxy_registry;
  std::map<std::string, std::unique_ptr<const Selector>> profile_selectors;
};

// `metrics` (may be null) counts upstream exchanges; it must outlive the
// engine.
[[nodiscard]] absl::StatusOr<std::shared_ptr<const Engine>> BuildEngine(
    const Config& config, const NodeProfile& node,
    const std::shared_ptr<HttpClient>& http, Metrics* metrics);

// The engine in force. Thread-safe.
class EngineSlot {
 public:
  std::shared_ptr<const Engine> Get() const {
    absl::MutexLock lock(&mu_);
    return engine_;
  }
  void Set(std::shared_ptr<const Engine> engine) {
    absl::MutexLock lock(&mu_);
    engine_ = std::move(engine);
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const Engine> engine_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_DAEMON_ENGINE_H_
