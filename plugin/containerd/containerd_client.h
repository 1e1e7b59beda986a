// What the CRI face asks of containerd, behind one small interface so the
// pull logic can be unit-tested with a fake; the real implementation talks
// gRPC to containerd's socket.
#ifndef NODEFIT_PLUGIN_CONTAINERD_CONTAINERD_CLIENT_H_
#define NODEFIT_PLUGIN_CONTAINERD_CONTAINERD_CLIENT_H_

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/status.h"
#include "resolver/decide/decide.h"

namespace nodefit {

using MetadataList = std::vector<std::pair<std::string, std::string>>;

// Cancels the calls made with it, now and later: the CRI face's caller
// hung up, so what nodefit asked of containerd on its behalf should stop
// too. Thread-safe.
class CallCancellation {
 public:
  void Cancel();
  bool cancelled() const;
  // For the duration of one call: false (and nothing attached) when
  // already cancelled.
  [[nodiscard]] bool Attach(grpc::ClientContext* context);
  void Detach(grpc::ClientContext* context);

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<grpc::ClientContext*> contexts_ ABSL_GUARDED_BY(mu_);
};

// How a forwarded call is made: the caller's metadata, deadline and
// cancellation (may be null).
struct CallOptions {
  MetadataList metadata;
  std::chrono::system_clock::time_point deadline =
      std::chrono::system_clock::time_point::max();
  std::shared_ptr<CallCancellation> cancellation;
};

struct UnaryResult {
  grpc::Status status;
  std::string response;  // serialized message; empty unless status is OK
  MetadataList initial_metadata;
  MetadataList trailing_metadata;
};

class ContainerdClient {
 public:
  virtual ~ContainerdClient() = default;

  // A unary call of `method` ("/runtime.v1.ImageService/PullImage") with a
  // serialized request, forwarded as is.
  virtual UnaryResult Forward(const std::string& method,
                              const std::string& request,
                              const CallOptions& options) = 0;

  // Creates, or updates (target and the given labels only), the image
  // record `name` in `ns`, through containerd's Images API.
  [[nodiscard]] virtual absl::Status PutImage(
      const std::string& ns, const std::string& name, const Descriptor& target,
      const std::map<std::string, std::string>& labels,
      std::chrono::system_clock::time_point deadline) = 0;

  // The image id CRI ImageStatus reports for `image`, or "" when CRI does
  // not know it.
  [[nodiscard]] virtual absl::StatusOr<std::string> CriImageId(
      const std::string& image,
      std::chrono::system_clock::time_point deadline) = 0;

  // OK when containerd answers (CRI RuntimeService/Version).
  [[nodiscard]] virtual absl::Status Ping(
      std::chrono::system_clock::time_point deadline) = 0;

  // containerd's own version, from its Version service ("2.2.9").
  [[nodiscard]] virtual absl::StatusOr<std::string> Version(
      std::chrono::system_clock::time_point deadline) = 0;
};

// containerd at `address` ("unix:///run/containerd/containerd.sock").
std::unique_ptr<ContainerdClient> NewGrpcContainerdClient(
    std::shared_ptr<grpc::Channel> channel);

// The bytes of a gRPC message buffer, in one string.
std::string ByteBufferToString(const grpc::ByteBuffer& buffer);

// The channel nodefit uses to reach containerd (no proxy, no retries of
// its own: the caller decides).
std::shared_ptr<grpc::Channel> NewContainerdChannel(const std::string& address);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_CONTAINERD_CONTAINERD_CLIENT_H_
