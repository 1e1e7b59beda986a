// Where a bound that turned something away is reported, process-wide, so
// each one can be counted (nodefit_limits_total{limit}) wherever it sits in
// the code. The daemon installs the reporter once at start; without one,
// reports go nowhere. Thread-safe.
#ifndef NODEFIT_RESOLVER_BASE_LIMITS_H_
#define NODEFIT_RESOLVER_BASE_LIMITS_H_

#include <functional>

#include "absl/strings/string_view.h"

namespace nodefit {

void SetLimitReporter(std::function<void(absl::string_view limit)> reporter);
void ReportLimit(absl::string_view limit);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_BASE_LIMITS_H_
