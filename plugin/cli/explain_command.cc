// `nodefit explain IMAGE`: resolve an image through the registry client and
// explain the selection, with what the resolution cost.
#include "absl/strings/str_cat.h"
#include "plugin/cli/cli.h"
#include "plugin/cli/commands.h"
#include "resolver/base/json_util.h"
#include "resolver/registry/http_client.h"
#include "resolver/registry/reference.h"
#include "resolver/registry/registry_client.h"
#include "resolver/select/report.h"
#include "resolver/select/selector.h"

namespace nodefit {

namespace {

int RunExplain(const ParsedFlags& flags, std::ostream& out, std::ostream& err) {
  auto fail = [&err](int code, absl::string_view message) {
    err << "nodefit explain: " << message << "\n";
    return code;
  };
  if (flags.positional.size() != 1) {
    return fail(kExitUsage, "expected exactly one IMAGE argument");
  }
  absl::StatusOr<Reference> reference = ParseReference(flags.positional[0]);
  if (!reference.ok()) return fail(kExitUsage, reference.status().message());
  absl::StatusOr<Config> config = LoadConfigForCli(flags);
  if (!config.ok()) return fail(kExitUsage, config.status().message());
  absl::StatusOr<NodeProfile> node = NodeForCli(*config, flags);
  if (!node.ok()) return fail(kExitUsage, node.status().message());
  absl::StatusOr<std::unique_ptr<const Selector>> selector =
      Selector::Create(*node, config->rules, config->on_no_match);
  if (!selector.ok()) return fail(kExitUsage, selector.status().message());

  absl::StatusOr<std::unique_ptr<HttpClient>> http = NewCurlHttpClient();
  if (!http.ok()) return fail(kExitFailure, http.status().message());
  absl::StatusOr<std::unique_ptr<RegistryClient>> registry = NewRegistryClient(
      RegistryClientOptions::FromConfig(*config), *std::move(http));
  if (!registry.ok()) return fail(kExitUsage, registry.status().message());

  absl::StatusOr<Resolution> resolution =
      (*registry)->Resolve(*reference, nullptr);
  if (!resolution.ok()) {
    return fail(kExitUpstream, resolution.status().message());
  }
  const CachedDocument& doc = *resolution->document;
  const Selection selection = (*selector)->Select(doc.parsed);

  if (flags.Has("json")) {
    nlohmann::json json = SelectionToJson(selection, (*selector)->node());
    json["resolution"] = {
        {"image", reference->String()},
        {"registry", reference->registry},
        {"endpoint", resolution->endpoint},
        {"repository", reference->repository},
        {"tag", reference->tag},
        {"digest", doc.digest},
        {"mediaType", doc.media_type},
        {"size", doc.body.size()},
        {"registryRequests", resolution->registry_requests},
        {"tokenRequests", resolution->token_requests},
        {"cacheHit", resolution->cache_hit},
    };
    out << DumpJson(json, 2) << "\n";
  } else {
    out << "image     " << reference->String() << "\n"
        << "registry  " << reference->registry << " (" << resolution->endpoint
        << ")\n"
        << "index     " << doc.digest << "  " << doc.media_type << "  "
        << doc.body.size() << " bytes\n"
        << "upstream  " << resolution->registry_requests
        << " registry request(s), " << resolution->token_requests
        << " token request(s)\n";
    out << SelectionToText(selection, (*selector)->node());
  }
  return selection.outcome == Outcome::kNoMatch ? kExitNoMatch : kExitOk;
}

}  // namespace

Command ExplainCommand() {
  return Command{
      "explain",
      "resolve an image from its registry and explain the choice",
      "usage: nodefit explain IMAGE [--platform P] [--config FILE] "
      "[--json]\n\n"
      "Resolves IMAGE (a tag or a digest) from its registry with "
      "containerd's Accept\nlist and no more requests than containerd "
      "makes (a new tag: one GET), with\nthe config's registries and "
      "credentials (then a Docker config.json), and\nprints what `select` "
      "prints plus "
      "the resolution: registry, index digest and\nmedia type, and the "
      "upstream requests it made.\n\n"
      "  --platform P   the node, as for select\n"
      "  --config FILE  config file (default /etc/nodefit/config.json if "
      "present)\n"
      "  --json         print one JSON object (select's, plus "
      "\"resolution\")\n\n"
      "Exit status: 0 selected or passthrough, 3 no build fits (policy "
      "fail),\n2 bad usage or input, 4 the registry could not be read (the "
      "message names\nthe registry, the HTTP status and what to check).\n",
      {{"platform"}, {"config"}, {"json", false}},
      &RunExplain};
}

}  // namespace nodefit
