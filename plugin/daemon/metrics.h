// nodefit's metrics, rendered in the Prometheus text exposition format
// (version 0.0.4) at /metrics on the HTTP face:
//   nodefit_resolutions_total{face,outcome}   outcome: selected, passthrough,
//                                             no_match, stepaside
//   nodefit_stepaside_total{face,reason}      see StepAsideReason()
//   nodefit_upstream_requests_total{code}     per registry/token exchange;
//                                             code "0" = transport failure
//   nodefit_selection_seconds                 histogram of Select() time
//   nodefit_http_requests_total{route,code}   the HTTP face's requests
//   nodefit_cri_requests_total{method,code}   the CRI face's calls
//   nodefit_bypassed_pulls_total{namespace}   image records containerd made
//                                             without asking nodefit
//   nodefit_limits_total{limit}               a bound turned something away
//                                             (http_connections, http_timeout,
//                                             json, token_cache, ...)
// Thread-safe.
#ifndef NODEFIT_PLUGIN_DAEMON_METRICS_H_
#define NODEFIT_PLUGIN_DAEMON_METRICS_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace nodefit {

class Metrics {
 public:
  Metrics();

  void CountResolution(absl::string_view face, absl::string_view outcome);
  void CountStepAside(absl::string_view face, absl::string_view reason);
  void CountUpstream(int code);
  void ObserveSelection(absl::Duration duration);
  void CountHttp(absl::string_view route, int code);
  void CountCri(absl::string_view method, absl::string_view code);
  void CountBypass(absl::string_view ns);
  void CountLimit(absl::string_view limit);

  std::string Render() const;

  // A counter's current value (0 if never counted); for tests.
  uint64_t Value(absl::string_view family,
                 const std::vector<std::string>& labels) const;

 private:
  struct Family {
    std::string help;
    std::vector<std::string> label_names;
    std::map<std::vector<std::string>, uint64_t> values;
  };
  void Add(const std::string& family, std::vector<std::string> labels);

  static constexpr std::array<double, 12> kSelectionBuckets = {
      0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005,
      0.0001,   0.00025,   0.0005,   0.001,   0.005,    0.025};

  mutable absl::Mutex mu_;
  std::map<std::string, Family> families_ ABSL_GUARDED_BY(mu_);
  std::array<uint64_t, kSelectionBuckets.size()> selection_buckets_
      ABSL_GUARDED_BY(mu_) = {};
  uint64_t selection_count_ ABSL_GUARDED_BY(mu_) = 0;
  double selection_sum_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_DAEMON_METRICS_H_
