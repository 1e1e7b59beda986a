// ParseIndexSpec, the parser of `nodefit index create`'s input (YAML or
// JSON from a publisher's pipeline, which may carry anything): every input
// gives a spec or InvalidArgument, never a crash or an exception; an
// accepted spec is within its bounds and names valid references.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "resolver/publish/index_spec.h"
#include "resolver/select/index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<nodefit::IndexSpec> spec = nodefit::ParseIndexSpec(text);
  if (!spec.ok()) {
    NODEFIT_FUZZ_CHECK(spec.status().code() ==
                       absl::StatusCode::kInvalidArgument);
    return 0;
  }
  NODEFIT_FUZZ_CHECK(!spec->manifests.empty());
  NODEFIT_FUZZ_CHECK(spec->manifests.size() <= nodefit::kMaxIndexEntries);
  NODEFIT_FUZZ_CHECK(spec->image.digest.empty());
  NODEFIT_FUZZ_CHECK(nodefit::ParseReference(spec->image.String()).ok());
  for (const nodefit::SpecEntry& entry : spec->manifests) {
    NODEFIT_FUZZ_CHECK(nodefit::ParseReference(entry.image.String()).ok());
    for (const std::string& f : entry.platform.features) {
      NODEFIT_FUZZ_CHECK(!f.empty());
    }
  }
  return 0;
}
