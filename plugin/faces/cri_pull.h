// What the CRI face does with runtime.v1.ImageService/PullImage.
//
//   1. resolve the requested reference (tag or digest) with the request's
//      auth and choose, through resolver/decide/decide.h;
//   2. selected: forward PullImage for <repo>@<chosen manifest> with the
//      same auth and sandbox config (unknown fields survive the rewrite);
//      then point containerd's image record named as the request named it
//      (repo:tag, or repo@sha256:<index>) at the chosen manifest, labelled
//      io.cri-containerd.image=managed plus nodefit's own labels; wait
//      (bounded) until CRI ImageStatus(that name) answers with the chosen
//      image id; answer with containerd's image_ref;
//   3. no feature data, or any failure inside nodefit: forward the original
//      request untouched;
//   4. no build fits under policy fail: FAILED_PRECONDITION naming the
//      image, the node's features and what each candidate lacks;
//   5. a malformed reference: INVALID_ARGUMENT.
// Concurrent pulls of the same reference with the same credentials share one
// resolution and one pull.
#ifndef NODEFIT_PLUGIN_FACES_CRI_PULL_H_
#define NODEFIT_PLUGIN_FACES_CRI_PULL_H_

#include <memory>
#include <string>

#include "plugin/containerd/containerd_client.h"
#include "plugin/daemon/bypass.h"
#include "plugin/daemon/engine.h"
#include "plugin/daemon/log.h"
#include "plugin/daemon/metrics.h"
#include "resolver/base/single_flight.h"

namespace nodefit {

inline constexpr char kPullImageMethod[] = "/runtime.v1.ImageService/PullImage";

struct PullAction {
  enum class Kind { kForwardOriginal, kRespond, kFail };
  Kind kind = Kind::kForwardOriginal;
  std::string response;  // kRespond: a serialized PullImageResponse
  grpc::Status status;   // kFail
};

class PullHandler {
 public:
  // All pointers must outlive the handler.
  // `bypass` (may be null) is told about every image it is asked to pull.
  PullHandler(const EngineSlot* engines, ContainerdClient* containerd,
              Metrics* metrics, Logger* logger,
              BypassDetector* bypass = nullptr)
      : engines_(engines),
        containerd_(containerd),
        metrics_(metrics),
        logger_(logger),
        bypass_(bypass) {}

  // Blocking. `request` is the serialized PullImageRequest; `options` carry
  // the caller's metadata and deadline for the calls made to containerd.
  PullAction Handle(const std::string& request, const CallOptions& options);

  // How long to wait for CRI to see the re-pointed image record.
  static constexpr absl::Duration kImageStatusWait = absl::Seconds(10);

 private:
  PullAction HandleUncached(const std::string& request,
                            const CallOptions& options);

  const EngineSlot* const engines_;
  ContainerdClient* const containerd_;
  Metrics* const metrics_;
  Logger* const logger_;
  BypassDetector* const bypass_;

  SingleFlight<PullAction> flights_;
};

// The name containerd's CRI gives a reference: repo@digest when there is a
// digest (a tag beside it is dropped), else repo:tag.
std::string CriImageName(const Reference& reference);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_FACES_CRI_PULL_H_
