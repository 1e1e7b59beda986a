#include "plugin/daemon/engine.h"

#include "absl/strings/str_cat.h"
#include "resolver/base/status_macros.h"

namespace nodefit {

absl::StatusOr<std::shared_ptr<const Engine>> BuildEngine(
    const Config& config, const NodeProfile& node,
    const std::shared_ptr<HttpClient>& http, Metrics* metrics) {
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
  RegistryClientOptions proxy_options = options;
  proxy_options.anonymous = !config.proxy.upstream_credentials;
  ASSIGN_OR_RETURN(std::unique_ptr<RegistryClient> registry,
                   NewRegistryClient(std::move(options), http));
  engine->registry = std::move(registry);
  if (!config.proxy.listen.empty()) {
    ASSIGN_OR_RETURN(std::unique_ptr<RegistryClient> proxy_registry,
                     NewRegistryClient(std::move(proxy_options), http));
    engine->proxy_registry = std::move(proxy_registry);
  }
  for (const auto& [login, profile] : config.proxy.profiles) {
    NodeProfile profile_node;
    profile_node.platform = profile.platform.value_or(node.platform);
    profile_node.features = profile.features;
    absl::StatusOr<std::unique_ptr<const Selector>> selector =
        Selector::Create(profile_node, config.rules, config.on_no_match);
    if (!selector.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "proxy.profiles.", login, ": ", selector.status().message()));
    }
    engine->profile_selectors[login] = *std::move(selector);
  }
  return std::shared_ptr<const Engine>(std::move(engine));
}

}  // namespace nodefit
