#include "resolver/decide/decide.h"

#include "resolver/base/status_macros.h"

namespace nodefit {

absl::StatusOr<Decision> Decide(RegistryClient& registry,
                                const Selector& selector,
                                const Reference& reference,
                                const Credentials* credentials) {
  Decision decision;
  ASSIGN_OR_RETURN(decision.resolution,
                   registry.Resolve(reference, credentials));
  const CachedDocument& doc = *decision.resolution.document;
  const absl::Time start = absl::Now();
  decision.selection = selector.Select(doc.parsed);
  decision.selection_time = absl::Now() - start;
  switch (decision.selection.outcome) {
    case Outcome::kSelected: {
      const CandidateReport& chosen =
          decision.selection.candidates[decision.selection.chosen];
      decision.descriptor = {chosen.media_type, chosen.digest, chosen.size};
      break;
    }
    case Outcome::kPassthrough:
      decision.descriptor = {doc.media_type, doc.digest,
                             static_cast<int64_t>(doc.body.size())};
      break;
    case Outcome::kNoMatch:
      break;
  }
  return decision;
}

std::string StepAsideReason(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      return "unreachable";
    case absl::StatusCode::kDeadlineExceeded:
      return "timeout";
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return "auth";
    case absl::StatusCode::kNotFound:
      return "not_found";
    case absl::StatusCode::kDataLoss:
      return "digest_mismatch";
    case absl::StatusCode::kResourceExhausted:
      return "oversize";
    case absl::StatusCode::kInvalidArgument:
      return "malformed";
    case absl::StatusCode::kFailedPrecondition:
      return "refused";
    default:
      return "upstream_error";
  }
}

}  // namespace nodefit
