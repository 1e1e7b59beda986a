// Content digests as the OCI image spec writes them ("sha256:<hex>").
#ifndef NODEFIT_RESOLVER_REGISTRY_DIGEST_H_
#define NODEFIT_RESOLVER_REGISTRY_DIGEST_H_

#include <memory>
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

// SHA-256 of content seen piece by piece, for blobs too large to hold.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(absl::string_view data);
  // "sha256:<hex>" of everything seen; call once.
  std::string Finish();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_REGISTRY_DIGEST_H_
