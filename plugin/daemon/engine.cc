#include "plugin/daemon/engine.h"

#include "resolver/base/status_macros.h"

namespace nodefit {

absl::StatusOr<std::shared_ptr<const Engine>> BuildEngine(
    const Config& config, const NodeProfile& node,
    std::shared_ptr<HttpClient> http, Metrics* metrics) {
  auto engine = std::make_shared<Engine>();
  engine->config = config;
  engine->node = node;
  ASSIGN_OR_RETURN(engine->selector,
                   Selector::Create(node, config.rules, config.on_no_match));
  RegistryClientOptions options = RegistryClientOptions::FromConfig(config);
  if (metrics != nullptr) {
    options.on_upstream_response = [metrics](int code) {
      metrics->CountUpstream(code);
    };
    options.on_bound = [metrics](absl::string_view bound) {
      metrics->CountLimit(bound);
    };
  }
  ASSIGN_OR_RETURN(std::unique_ptr<RegistryClient> registry,
                   NewRegistryClient(std::move(options), std::move(http)));
  engine->registry = std::move(registry);
  return std::shared_ptr<const Engine>(std::move(engine));
}

}  // namespace nodefit
