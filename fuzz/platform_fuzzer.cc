// The node platform syntax, linux/amd64/v3:skylake:... (config "platform",
// `--node`): ParsePlatformSpec on any text, then the node closure the
// selector builds from it. Checked: an accepted platform is normalised
// (printing and parsing it again gives it back), a node runs its own
// platform, and a variant's feature maps back to the variant.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "resolver/select/node_profile.h"
#include "resolver/select/platform.h"
#include "resolver/select/vocabulary.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<nodefit::PlatformSpec> spec =
      nodefit::ParsePlatformSpec(text);
  if (!spec.ok()) {
    NODEFIT_FUZZ_CHECK(spec.status().code() ==
                       absl::StatusCode::kInvalidArgument);
    return 0;
  }
  const nodefit::Platform& p = spec->platform;
  NODEFIT_FUZZ_CHECK(nodefit::NormalizePlatform(p) == p);
  const absl::StatusOr<nodefit::Platform> again =
      nodefit::ParsePlatform(p.String());
  NODEFIT_FUZZ_CHECK(again.ok());
  NODEFIT_FUZZ_CHECK(*again == p);
  NODEFIT_FUZZ_CHECK(nodefit::CanRun(p, p));
  const std::string variant_feature = nodefit::VariantFeature(p);
  if (!variant_feature.empty()) {
    NODEFIT_FUZZ_CHECK(nodefit::VariantOfFeature(p.architecture,
                                                 variant_feature) == p.variant);
  }
  (void)nodefit::BaselineFeature(p.architecture);
  (void)nodefit::VariantRank(p.architecture, p.variant);
  (void)nodefit::IsUnknownPlatform(p);

  const nodefit::NodeClosure node(nodefit::NodeProfile{p, spec->features},
                                  nodefit::Vocabulary::BuiltIn());
  NODEFIT_FUZZ_CHECK(node.CanRun(p));
  for (const nodefit::NodeClosure::Member& m : node.Members()) {
    NODEFIT_FUZZ_CHECK(m.distance >= 0);
  }
  return 0;
}
