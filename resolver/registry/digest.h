// Content digests as the OCI image spec writes them ("sha256:<hex>").
#ifndef NODEFIT_RESOLVER_REGISTRY_DIGEST_H_
#define NODEFIT_RESOLVER_REGISTRY_DIGEST_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace nodefit {

// "sha256:" + the lowercase hex SHA-256 of `data`.
std::string Sha256Digest(absl::string_view data);

// OK when `data` hashes to `digest`; DataLoss naming both digests otherwise.
// `what` names the content in the message ("manifest from ghcr.io").
[[nodiscard]] absl::Status VerifyDigest(absl::string_view data,
                                        absl::string_view digest,
                                        absl::string_view what);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_REGISTRY_DIGEST_H_
