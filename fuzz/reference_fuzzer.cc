// Image references: ParseReference on any bytes. A reference it accepts
// must be canonical in the sense its callers rely on: its parts pass the
// validators, and the canonical form parses back to the same reference
// (the CRI face renames images by it; the HTTP face builds URLs from it).
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "resolver/registry/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<nodefit::Reference> ref = nodefit::ParseReference(text);
  if (!ref.ok()) {
    NODEFIT_FUZZ_CHECK(ref.status().code() ==
                           absl::StatusCode::kInvalidArgument ||
                       ref.status().code() == absl::StatusCode::kUnimplemented);
    return 0;
  }
  NODEFIT_FUZZ_CHECK(nodefit::ValidateRegistryHost(ref->registry).ok());
  NODEFIT_FUZZ_CHECK(nodefit::ValidateRepository(ref->repository).ok());
  NODEFIT_FUZZ_CHECK(!ref->tag.empty() || !ref->digest.empty());
  NODEFIT_FUZZ_CHECK(ref->tag.empty() || nodefit::ValidateTag(ref->tag).ok());
  NODEFIT_FUZZ_CHECK(ref->digest.empty() ||
                     nodefit::ValidateDigest(ref->digest).ok());
  const absl::StatusOr<nodefit::Reference> again =
      nodefit::ParseReference(ref->String());
  NODEFIT_FUZZ_CHECK(again.ok());
  NODEFIT_FUZZ_CHECK(*again == *ref);
  NODEFIT_FUZZ_CHECK(!ref->TagOrDigest().empty());
  return 0;
}
