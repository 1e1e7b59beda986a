// The CRI face: a gRPC server on a unix socket that kubelet
// (imageServiceEndpoint) and crictl (image-endpoint) talk to.
//
// Every method of every service is forwarded to containerd byte for byte
// with the generic API, as a stream of messages each way, so all four RPC
// kinds, deadlines, cancellation and metadata (both directions) pass
// through, and a method nodefit does not know gets containerd's own answer
// (Unimplemented where containerd lacks it). Two exceptions:
//   runtime.v1.ImageService/PullImage   handled by PullHandler (cri_pull.h);
//   grpc.health.v1.Health               answered here: SERVING while
//                                       containerd answers, NOT_SERVING
//                                       while it does not.
// The socket's directory is made 0700, the socket 0660; a stale socket is
// removed at start, and start is refused if a live server answers there.
#ifndef NODEFIT_PLUGIN_FACES_CRI_FACE_H_
#define NODEFIT_PLUGIN_FACES_CRI_FACE_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "plugin/containerd/containerd_client.h"
#include "plugin/daemon/engine.h"
#include "plugin/daemon/log.h"
#include "plugin/daemon/metrics.h"
#include "plugin/faces/cri_pull.h"

namespace grpc {
class Server;
class CallbackGenericService;
}  // namespace grpc

namespace nodefit {

struct CriFaceOptions {
  std::string listen = "unix:///run/nodefit/cri.sock";
  std::string containerd = "unix:///run/containerd/containerd.sock";
  absl::Duration health_interval = absl::Seconds(1);
  // A group (name or number) whose members may use the socket (mode 0660,
  // its directory 0710); empty: root only (directory 0700).
  std::string socket_group;
  // Intercepted PullImage calls run on this many threads with this many
  // waiting; beyond that a pull is forwarded to containerd untouched.
  int pull_workers = 4;
  int pull_queue = 64;
  // The largest request a caller may send.
  int max_message_bytes = 4 << 20;
  // gRPC services forwarded to containerd; any other method is refused
  // with PERMISSION_DENIED (an image service must not hand out the rest
  // of containerd's API). Tests add their own service here.
  std::vector<std::string> forwarded_services = {"runtime.v1.ImageService"};
  // Told about every image PullImage is asked for (may be null; must
  // outlive the face).
  BypassDetector* bypass = nullptr;
};

class HealthService;
class ProxyService;

class CriFace {
 public:
  // `engines`, `metrics` and `logger` must outlive the face.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<CriFace>> Start(
      const CriFaceOptions& options, const EngineSlot* engines,
      Metrics* metrics, Logger* logger);
  ~CriFace();
  CriFace(const CriFace&) = delete;
  CriFace& operator=(const CriFace&) = delete;

  // Stops accepting, lets calls in flight finish for up to `grace` (then
  // cancels them), and removes the socket.
  void Shutdown(absl::Duration grace);

  const std::string& socket_path() const { return socket_path_; }

 private:
  CriFace() = default;

  std::string socket_path_;
  std::shared_ptr<grpc::Channel> upstream_;
  std::unique_ptr<ContainerdClient> containerd_;
  std::unique_ptr<PullHandler> pulls_;
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<ProxyService> proxy_;
  std::unique_ptr<grpc::Server> server_;
  bool shut_down_ = false;
};

// "unix:///path" -> "/path"; InvalidArgument otherwise.
[[nodiscard]] absl::StatusOr<std::string> UnixSocketPath(
    const std::string& address);

// Makes the socket's directory nodefit's (0700, or 0710 with `gid`, even
// when it existed), removes a stale socket, and refuses (FailedPrecondition)
// a symlinked or foreign directory, or a live server answering at `path`.
[[nodiscard]] absl::Status PrepareUnixSocket(const std::string& path,
                                             std::optional<gid_t> gid);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_FACES_CRI_FACE_H_
