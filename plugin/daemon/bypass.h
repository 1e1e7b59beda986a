// Tells when containerd pulled (or imported) an image without asking
// nodefit: an image record named registry/repo:tag created or updated in a
// watched namespace, with no resolution of that name by either face in the
// window before it, and not written by nodefit's CRI face. Each such name
// gives one warning line (with the likely cause, computed on demand) and one
// count in nodefit_bypassed_pulls_total{namespace}, at most once per window.
// Thread-safe; memory bounded by max_names.
#ifndef NODEFIT_PLUGIN_DAEMON_BYPASS_H_
#define NODEFIT_PLUGIN_DAEMON_BYPASS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "plugin/containerd/image_events.h"
#include "plugin/daemon/log.h"
#include "plugin/daemon/metrics.h"
#include "resolver/base/clock.h"
#include "resolver/registry/reference.h"

namespace nodefit {

struct BypassOptions {
  std::vector<std::string> namespaces = {"k8s.io"};
  // How long after nodefit was asked about a name a record of that name
  // still counts as nodefit's: the longest a pull takes.
  absl::Duration window = absl::Minutes(10);
  size_t max_names = 4096;
};

class BypassDetector {
 public:
  // `likely_cause` says why containerd may have gone around nodefit (the
  // doctor's containerd-config findings); it is called only for a bypass.
  BypassDetector(BypassOptions options, Clock* clock, Metrics* metrics,
                 Logger* logger, std::function<std::string()> likely_cause);

  // A face was asked about `reference` (by tag).
  void Asked(const Reference& reference);
  // An image event from containerd; true when it is reported as a bypass.
  bool OnImageEvent(const ImageEvent& event);

 private:
  // Keeps `times` within max_names: drops what is older than the window,
  // then, if still full, the oldest.
  void Prune(absl::flat_hash_map<std::string, absl::Time>& times,
             absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const BypassOptions options_;
  Clock* const clock_;
  Metrics* const metrics_;
  Logger* const logger_;
  const std::function<std::string()> likely_cause_;

  absl::Mutex mu_;
  // "registry/repo:tag" -> when a face was last asked about it.
  absl::flat_hash_map<std::string, absl::Time> asked_ ABSL_GUARDED_BY(mu_);
  // "namespace name" -> when it was last reported.
  absl::flat_hash_map<std::string, absl::Time> reported_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_DAEMON_BYPASS_H_
