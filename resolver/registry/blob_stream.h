// A blob read from a registry while a client takes it (the proxy face).
//
// The upstream transfer runs on a thread of its own and fills a buffer of at
// most `buffer_bytes` that Read() drains: a slow client slows the registry
// transfer, and memory stays bounded whatever the blob's size. Reading the
// next piece while the client takes the last one keeps the pipe full.
//
// A whole blob (no Range) is hashed as it passes, and its last byte is
// released only once the content matched the digest asked for and the
// length announced: a client never receives all of a blob that is not the
// one it named (Read then fails with DataLoss and the client sees a short
// body). A Range request goes to the registry as asked and its 206 is
// relayed as is; the client checks what it assembles.
//
// Redirects to blob storage are followed by the HTTP client (credentials
// never cross to another origin). Thread-compatible: one reader.
#ifndef NODEFIT_RESOLVER_REGISTRY_BLOB_STREAM_H_
#define NODEFIT_RESOLVER_REGISTRY_BLOB_STREAM_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "resolver/registry/digest.h"
#include "resolver/registry/reference.h"
#include "resolver/registry/registry_client.h"

namespace nodefit {

struct BlobStreamOptions {
  size_t buffer_bytes = 4 << 20;
  absl::Duration timeout = absl::Hours(1);           // the whole transfer
  absl::Duration stall_timeout = absl::Seconds(60);  // no byte moved
};

// The registry's answer, before its body.
struct BlobHead {
  int status = 0;               // 200, 206, or the registry's error status
  int64_t content_length = -1;  // -1: not announced
  std::string content_range;    // of a 206
};

class BlobStream {
 public:
  // Starts fetching blob `digest` of `repository` (registry + repository)
  // and waits for the registry's answer. `range` is a client's Range header
  // value, or empty. An error only when the registry could not be asked
  // (transport, auth); any other answer is in head(), and only 200 and 206
  // have a body to Read().
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<BlobStream>> Open(
      std::shared_ptr<RegistryClient> registry, const Reference& repository,
      const std::string& digest, const std::string& range,
      const BlobStreamOptions& options);
  // Stops the transfer (if still running) and waits for its thread.
  ~BlobStream();
  BlobStream(const BlobStream&) = delete;
  BlobStream& operator=(const BlobStream&) = delete;

  const BlobHead& head() const { return head_; }

  // The next 1..max_bytes bytes of the body, waiting for them. OutOfRange
  // after the last; the transfer's error (or DataLoss for content that did
  // not verify) once it failed.
  [[nodiscard]] absl::StatusOr<std::string> Read(size_t max_bytes);

 private:
  BlobStream(const BlobStreamOptions& options, std::string digest, bool verify);
  void Transfer(const std::shared_ptr<RegistryClient>& registry,
                const Reference& repository, const std::string& range);
  bool Accept(absl::string_view piece);  // the transfer's body sink
  // Bytes Read() may hand out now.
  size_t Releasable() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const BlobStreamOptions options_;
  const std::string digest_;
  const bool verify_;  // a whole blob: hashed and checked before its end
  BlobHead head_;      // written before `answered_`, read-only after

  // Touched by the transfer thread only.
  Sha256Stream hash_;
  int64_t received_ = 0;

  mutable absl::Mutex mu_;
  bool answered_ ABSL_GUARDED_BY(mu_) = false;  // head_ is set
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // the transfer ended
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;   // the reader left
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> pieces_ ABSL_GUARDED_BY(mu_);
  size_t front_offset_ ABSL_GUARDED_BY(mu_) = 0;
  size_t buffered_ ABSL_GUARDED_BY(mu_) = 0;

  std::thread thread_;  // last: started once the rest exists
};

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_REGISTRY_BLOB_STREAM_H_
