#include "resolver/select/node_profile.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace nodefit {
namespace {

// Orders variants of one architecture so the "highest" can be shown:
// amd64 v1 < v2 < ...; arm64 v8 < v8.1 < ... < v9 < v9.1.
std::tuple<int, int> VariantRank(absl::string_view variant) {
  if (!variant.empty() && variant.front() == 'v') variant.remove_prefix(1);
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(variant, absl::MaxSplits('.', 1));
  int major = 0, minor = 0;
  (void)absl::SimpleAtoi(parts.first, &major);
  (void)absl::SimpleAtoi(parts.second, &minor);
  return {major, minor};
}

}  // namespace

NodeClosure::NodeClosure(const NodeProfile& profile,
                         const Vocabulary& vocabulary)
    : vocabulary_(&vocabulary),
      platform_(NormalizePlatform(profile.platform)),
      distance_(vocabulary.size(), -1),
      via_(vocabulary.size(), -1) {
  auto add = [this](std::string canonical) {
    if (std::find(features_.begin(), features_.end(), canonical) ==
        features_.end()) {
      features_.push_back(std::move(canonical));
    }
  };
  if (std::string variant = VariantFeature(platform_); !variant.empty()) {
    add(std::move(variant));
  }
  for (const std::string& feature : profile.features) {
    add(vocabulary.Canonical(feature));
  }

  for (size_t i = 0; i < features_.size(); ++i) {
    const Vocabulary::FeatureId id = vocabulary.Find(features_[i]);
    if (id == Vocabulary::kUnknown) {
      unknown_.insert(features_[i]);
      continue;
    }
    for (const Vocabulary::Implied& implied : vocabulary.Closure(id)) {
      int& d = distance_[implied.id];
      if (d < 0 || implied.distance < d) {
        d = implied.distance;
        via_[implied.id] = static_cast<int>(i);
      }
    }
  }

  runnable_.push_back(platform_);
  Platform highest = platform_;
  for (size_t id = 0; id < distance_.size(); ++id) {
    if (distance_[id] < 0) continue;
    std::string variant =
        VariantOfFeature(platform_.architecture, vocabulary.Name(id));
    if (variant.empty()) continue;
    Platform implied = platform_;
    implied.variant = std::move(variant);
    if (VariantRank(implied.variant) > VariantRank(highest.variant)) {
      highest = implied;
    }
    runnable_.push_back(std::move(implied));
  }
  platform_ = std::move(highest);
}

int NodeClosure::Distance(absl::string_view canonical) const {
  const Vocabulary::FeatureId id = vocabulary_->Find(canonical);
  if (id != Vocabulary::kUnknown) return distance_[id];
  return unknown_.contains(canonical) ? 0 : -1;
}

absl::string_view NodeClosure::Via(Vocabulary::FeatureId id) const {
  return via_[id] < 0 ? absl::string_view() : features_[via_[id]];
}

std::vector<NodeClosure::Member> NodeClosure::Members() const {
  std::vector<Member> out;
  for (const std::string& feature : features_) {
    if (unknown_.contains(feature)) out.push_back({feature, 0, feature});
  }
  for (size_t id = 0; id < distance_.size(); ++id) {
    if (distance_[id] >= 0) {
      out.push_back({vocabulary_->Name(static_cast<int>(id)), distance_[id],
                     std::string(Via(static_cast<int>(id)))});
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Member& a, const Member& b) {
                     return std::tie(a.distance, a.feature) <
                            std::tie(b.distance, b.feature);
                   });
  return out;
}

bool NodeClosure::CanRun(const Platform& image) const {
  return std::any_of(
      runnable_.begin(), runnable_.end(),
      [&image](const Platform& host) { return nodefit::CanRun(host, image); });
}

}  // namespace nodefit
