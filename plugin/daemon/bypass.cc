#include "plugin/daemon/bypass.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace nodefit {
namespace {

// Labels nodefit's CRI face puts on the records it writes.
constexpr absl::string_view kNodefitLabelPrefix = "io.nodefit.";

std::string TagName(const Reference& reference) {
  return absl::StrCat(reference.Name(), ":", reference.tag);
}

}  // namespace

BypassDetector::BypassDetector(BypassOptions options, Clock* clock,
                               Metrics* metrics, Logger* logger,
                               std::function<std::string()> likely_cause)
    : options_(std::move(options)),
      clock_(clock),
      metrics_(metrics),
      logger_(logger),
      likely_cause_(std::move(likely_cause)) {}

void BypassDetector::Asked(const Reference& reference) {
  if (reference.tag.empty()) return;
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  asked_[TagName(reference)] = now;
  Prune(asked_, now);
}

bool BypassDetector::OnImageEvent(const ImageEvent& event) {
  if (std::find(options_.namespaces.begin(), options_.namespaces.end(),
                event.ns) == options_.namespaces.end()) {
    return false;
  }
  for (const auto& [key, value] : event.labels) {
    if (absl::StartsWith(key, kNodefitLabelPrefix)) return false;
  }
  // Only registry/repo:tag names: not the repo@digest and image-id
  // ("sha256:<hex>", which would parse as repository "sha256") records
  // containerd's CRI keeps beside them.
  if (absl::StartsWith(event.name, "sha256:") ||
      absl::StartsWith(event.name, "sha512:")) {
    return false;
  }
  absl::StatusOr<Reference> reference = ParseReference(event.name);
  if (!reference.ok() || reference->tag.empty() || !reference->digest.empty()) {
    return false;
  }
  const std::string name = TagName(*reference);
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    auto asked = asked_.find(name);
    if (asked != asked_.end() && now - asked->second <= options_.window) {
      return false;
    }
    const std::string key = absl::StrCat(event.ns, " ", name);
    auto reported = reported_.find(key);
    if (reported != reported_.end() &&
        now - reported->second <= options_.window) {
      return false;
    }
    reported_[key] = now;
    Prune(reported_, now);
  }
  metrics_->CountBypass(event.ns);
  logger_->Warning(absl::StrCat("containerd pulled or imported ", name,
                                " without asking nodefit"),
                   {{"image", name},
                    {"namespace", event.ns},
                    {"event", event.topic},
                    {"likely_cause", likely_cause_ ? likely_cause_() : ""}});
  return true;
}

void BypassDetector::Prune(absl::flat_hash_map<std::string, absl::Time>& times,
                           absl::Time now) {
  if (times.size() <= options_.max_names) return;
  absl::erase_if(times, [&](const auto& entry) {
    return now - entry.second > options_.window;
  });
  while (times.size() > options_.max_names) {
    auto oldest = std::min_element(
        times.begin(), times.end(),
        [](const auto& a, const auto& b) { return a.second < b.second; });
    times.erase(oldest);
  }
}

}  // namespace nodefit
