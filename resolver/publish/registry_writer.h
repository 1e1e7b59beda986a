// Publishing to registries over the distribution API, on top of
// RegistryClient's requests (same credential sources, token dance and
// security rules as pulls; push needs the "pull,push" scope):
//   - manifests read by tag or digest and verified, written by PUT;
//   - small blobs (image configs) read whole, bounded;
//   - blobs copied between repositories: nothing when the target has the
//     blob; a cross-repository mount (POST …/blobs/uploads/?mount=&from=)
//     on the same registry, falling back to a copy when the registry
//     declines; otherwise a copy streamed in chunks (Range GETs from the
//     source, PATCHes to the target), so memory stays at about two chunks
//     whatever the blob's size; verified against its digest and size
//     before the upload is committed.
// Errors name the registry, the repository and what happened (see
// RegistryStatusError); DataLoss when content does not match its digest.
// Not thread-safe (one per publishing run).
#ifndef NODEFIT_RESOLVER_PUBLISH_REGISTRY_WRITER_H_
#define NODEFIT_RESOLVER_PUBLISH_REGISTRY_WRITER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "resolver/registry/reference.h"
#include "resolver/registry/registry_client.h"

namespace nodefit {

struct FetchedManifest {
  std::string media_type;
  std::string digest;
  std::string body;  // exactly as the registry sent it
};

struct BlobRef {
  std::string digest;
  int64_t size = 0;
};

enum class BlobTransfer { kPresent, kMounted, kCopied };

struct WriterStats {
  int blobs_present = 0;
  int blobs_mounted = 0;
  int blobs_copied = 0;
  int64_t bytes_copied = 0;
};

class RegistryWriter {
 public:
  // `client` must outlive the writer. `chunk_bytes` bounds what one copy
  // holds in memory.
  explicit RegistryWriter(RegistryClient* client, int64_t chunk_bytes = 8 << 20)
      : client_(client), chunk_bytes_(chunk_bytes) {}

  // The manifest or index `reference` names (its tag, or its digest,
  // verified).
  [[nodiscard]] absl::StatusOr<FetchedManifest> GetManifest(
      const Reference& reference);
  // A blob of `repository` read whole: at most `max_bytes`, verified.
  [[nodiscard]] absl::StatusOr<std::string> GetSmallBlob(
      const Reference& repository, const BlobRef& blob, int64_t max_bytes);
  // Makes `blob` of `from` present in `to`.
  [[nodiscard]] absl::StatusOr<BlobTransfer> CopyBlob(const Reference& from,
                                                      const Reference& to,
                                                      const BlobRef& blob);
  // PUTs `body` as a manifest of `to` under `tag_or_digest`; the registry's
  // answer must name the body's digest when it names one.
  [[nodiscard]] absl::Status PutManifest(const Reference& to,
                                         absl::string_view tag_or_digest,
                                         absl::string_view media_type,
                                         absl::string_view body);

  const WriterStats& stats() const { return stats_; }

 private:
  [[nodiscard]] absl::StatusOr<bool> HasBlob(const Reference& repository,
                                             const BlobRef& blob);
  // Streams `blob` from `from` into the upload session at `location`.
  [[nodiscard]] absl::Status Upload(const Reference& from, const Reference& to,
                                    const BlobRef& blob, std::string location);
  [[nodiscard]] absl::StatusOr<HttpResponse> Send(
      const Reference& repository, HttpRequest request,
      const std::vector<std::string>& scopes);

  RegistryClient* const client_;
  const int64_t chunk_bytes_;
  WriterStats stats_;
};

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_PUBLISH_REGISTRY_WRITER_H_
