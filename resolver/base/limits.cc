#include "resolver/base/limits.h"

#include <utility>

#include "absl/synchronization/mutex.h"

namespace nodefit {
namespace {

struct Reporter {
  absl::Mutex mu;
  std::function<void(absl::string_view)> fn ABSL_GUARDED_BY(mu);
};

Reporter& Global() {
  static Reporter* const reporter = new Reporter();
  return *reporter;
}

}  // namespace

void SetLimitReporter(std::function<void(absl::string_view limit)> reporter) {
  absl::MutexLock lock(&Global().mu);
  Global().fn = std::move(reporter);
}

void ReportLimit(absl::string_view limit) {
  std::function<void(absl::string_view)> fn;
  {
    absl::MutexLock lock(&Global().mu);
    fn = Global().fn;
  }
  if (fn) fn(limit);
}

}  // namespace nodefit
