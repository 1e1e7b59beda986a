#include "resolver/select/node_profile.h"

#include <algorithm>
#include <tuple>

namespace nodefit {

NodeClosure::NodeClosure(const NodeProfile& profile,
                         const Vocabulary& vocabulary)
    : vocabulary_(&vocabulary),
      platform_(NormalizePlatform(profile.platform)),
      distance_(vocabulary.size(), -1),
      via_(vocabulary.size(), -1) {
  platform_label_ = platform_.String();
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

  auto take_closure = [this, &vocabulary](Vocabulary::FeatureId id, int via) {
    for (const Vocabulary::Implied& implied : vocabulary.Closure(id)) {
      int& d = distance_[implied.id];
      if (d < 0 || implied.distance < d) {
        d = implied.distance;
        via_[implied.id] = via;
      }
    }
  };
  for (size_t i = 0; i < features_.size(); ++i) {
    const Vocabulary::FeatureId id = vocabulary.Find(features_[i]);
    if (id == Vocabulary::kUnknown) {
      unknown_.insert(features_[i]);
      continue;
    }
    take_closure(id, static_cast<int>(i));
  }
  // Every node of an architecture has its baseline ("x86-64" on amd64), so
  // a build that names only the baseline (archspec's x86_64) fits; it is
  // the platform's, not one of the node's own features.
  if (const Vocabulary::FeatureId base =
          vocabulary.Find(BaselineFeature(platform_.architecture));
      base != Vocabulary::kUnknown && distance_[base] < 0) {
    take_closure(base, kViaPlatform);
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
    if (VariantRank(implied.architecture, implied.variant) >
        VariantRank(highest.architecture, highest.variant)) {
      highest = implied;
    }
    runnable_.push_back(std::move(implied));
  }
  platform_ = std::move(highest);
}

int NodeClosure::Distance(absl::string_view canonical) const {
  return Lookup(canonical).first;
}

std::pair<int, std::string> NodeClosure::Lookup(
    absl::string_view canonical) const {
  const Vocabulary::FeatureId id = vocabulary_->Find(canonical);
  if (id != Vocabulary::kUnknown) {
    return {distance_[id], std::string(Via(id))};
  }
  if (unknown_.contains(canonical)) return {0, std::string(canonical)};
  // The rule families: a driver's toolkits, a capability's lower minors
  // and PTX. The nearest of the node's features wins.
  std::pair<int, std::string> best{-1, ""};
  for (const std::string& feature : features_) {
    if (!unknown_.contains(feature)) continue;
    const int d = vocabulary_->RuleDistance(feature, canonical);
    if (d >= 0 && (best.first < 0 || d < best.first)) best = {d, feature};
  }
  return best;
}

absl::string_view NodeClosure::Via(Vocabulary::FeatureId id) const {
  if (via_[id] == kViaPlatform) return platform_label_;
  return via_[id] < 0 ? absl::string_view() : features_[via_[id]];
}

std::vector<NodeClosure::Member> NodeClosure::Members() const {
  std::vector<Member> out;
  absl::flat_hash_set<std::string> seen;
  for (const std::string& feature : features_) {
    if (!unknown_.contains(feature)) continue;
    if (seen.insert(feature).second) out.push_back({feature, 0, feature});
  }
  // The finite part of the rule families (a driver's toolkits, lower
  // compute capability minors), nearest source first.
  for (const std::string& feature : features_) {
    if (!unknown_.contains(feature)) continue;
    for (auto& [implied, distance] : vocabulary_->RuleClosure(feature)) {
      if (unknown_.contains(implied)) continue;
      const std::pair<int, std::string> at = Lookup(implied);
      if (at.second == feature && seen.insert(implied).second) {
        out.push_back({std::move(implied), distance, feature});
      }
    }
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
