// Resolve an image reference and choose its build: the one step both faces
// and `nodefit explain` share, so no face holds selection logic.
//
// Decide() returns an error only when the registry could not be read (the
// caller steps aside). Otherwise the Decision says what to hand containerd:
//   kSelected     the chosen manifest's descriptor;
//   kPassthrough  the upstream document's descriptor, unchanged;
//   kNoMatch      nothing (policy fail): the caller refuses.
#ifndef NODEFIT_RESOLVER_DECIDE_DECIDE_H_
#define NODEFIT_RESOLVER_DECIDE_DECIDE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "resolver/registry/credentials.h"
#include "resolver/registry/reference.h"
#include "resolver/registry/registry_client.h"
#include "resolver/select/selector.h"

namespace nodefit {

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
};

struct Decision {
  Resolution resolution;  // the upstream document (an index, or not)
  Selection selection;
  Descriptor descriptor;  // empty for kNoMatch
  absl::Duration selection_time;

  Outcome outcome() const { return selection.outcome; }
};

[[nodiscard]] absl::StatusOr<Decision> Decide(RegistryClient& registry,
                                              const Selector& selector,
                                              const Reference& reference,
                                              const Credentials* credentials);

// Why the registry could not be read, as a short metric label:
// "unreachable", "timeout", "auth", "not_found", "digest_mismatch",
// "oversize", "malformed", "refused", "upstream_error".
std::string StepAsideReason(const absl::Status& status);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_DECIDE_DECIDE_H_
