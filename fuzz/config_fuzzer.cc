// The config file: ParseConfig on any document, then what the daemon
// builds from an accepted one (the selector: the vocabulary with the
// config's implies/aliases/weights and the node's closure; the registry
// client's options), and one selection with it, so rules the parser let
// through meet the code that trusts them.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "resolver/config/config.h"
#include "resolver/registry/registry_client.h"
#include "resolver/select/index.h"
#include "resolver/select/selector.h"

namespace {

const nodefit::ParsedIndex& Index() {
  static const auto* index = new nodefit::ParsedIndex(*nodefit::ParseIndex(
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
      "manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,
       "digest":"sha256:ec0cb718e51ecd37446b9d5b6dbb3b87fafd44e945a3adf05644d6209d5b3297",
       "platform":{"architecture":"amd64","os":"linux"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,
       "digest":"sha256:2e6d1c4e1524fa0bf26c5cb704c8b8616bc25bae969d0a63edca0db25f5d59a4",
       "platform":{"architecture":"amd64","os":"linux","features":["skylake"]}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1,
       "digest":"sha256:3e6d1c4e1524fa0bf26c5cb704c8b8616bc25bae969d0a63edca0db25f5d59a4",
       "platform":{"architecture":"arm64","os":"linux","variant":"v8.2",
                   "features":["neoverse-n1","nv-compute-8-0"]}}]})"));
  return *index;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<nodefit::Config> config =
      nodefit::ParseConfig(text, "/etc/nodefit/config.json");
  if (!config.ok()) {
    NODEFIT_FUZZ_CHECK(
        config.status().code() == absl::StatusCode::kInvalidArgument ||
        config.status().code() == absl::StatusCode::kResourceExhausted);
    return 0;
  }
  const nodefit::RegistryClientOptions options =
      nodefit::RegistryClientOptions::FromConfig(*config);
  for (const auto& [host, registry] : config->registries) {
    (void)nodefit::EndpointFor(host, options.registries);
  }
  absl::StatusOr<std::unique_ptr<const nodefit::Selector>> selector =
      nodefit::Selector::Create(config->ConfiguredNode(), config->rules,
                                config->on_no_match);
  if (!selector.ok()) {
    NODEFIT_FUZZ_CHECK(selector.status().code() ==
                       absl::StatusCode::kInvalidArgument);
    return 0;
  }
  const nodefit::Selection selection = (*selector)->Select(Index());
  NODEFIT_FUZZ_CHECK(selection.candidates.size() == Index().entries.size());
  return 0;
}
