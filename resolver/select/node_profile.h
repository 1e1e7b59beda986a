// The node a selection is made for: its platform and its features, and the
// closure of those features under a vocabulary.
//
// NodeClosure answers, for any canonical feature, whether the node has it and
// at what distance (0 for a feature the node declares, n for one implied n
// hops away), and whether the node can run a given image platform. Building
// one costs a walk of the implication graph; queries are O(1). It keeps a
// pointer to the vocabulary, which must outlive it.
#ifndef NODEFIT_RESOLVER_SELECT_NODE_PROFILE_H_
#define NODEFIT_RESOLVER_SELECT_NODE_PROFILE_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "resolver/select/platform.h"
#include "resolver/select/vocabulary.h"

namespace nodefit {

struct NodeProfile {
  Platform platform;
  std::vector<std::string> features;  // any spelling; aliases apply
};

class NodeClosure {
 public:
  NodeClosure(const NodeProfile& profile, const Vocabulary& vocabulary);

  const Vocabulary& vocabulary() const { return *vocabulary_; }

  // The declared platform with its variant raised to the highest level the
  // node's features imply (a "skylake" node is amd64 v3).
  const Platform& platform() const { return platform_; }

  // The node's own features, canonical and de-duplicated, in declaration
  // order; the platform's variant feature ("x86-64-v3") comes first.
  const std::vector<std::string>& features() const { return features_; }

  // Distance at which the node has a feature, or -1. For a feature outside
  // the graph: 0 when the node lists it, else what the vocabulary's rules
  // give (a driver's CUDA toolkits, compute capability minors, PTX).
  int Distance(Vocabulary::FeatureId id) const { return distance_[id]; }
  int Distance(absl::string_view canonical) const;
  // The distance and the node feature that provides it ({-1, ""} when the
  // node lacks it).
  std::pair<int, std::string> Lookup(absl::string_view canonical) const;

  // The node feature through which the node has `id` ("skylake" for
  // "broadwell"), the platform ("linux/amd64") for its architecture's
  // baseline, or empty.
  absl::string_view Via(Vocabulary::FeatureId id) const;

  // Every feature the node has, with distances, nearest first.
  struct Member {
    std::string feature;
    int distance;
    std::string via;
  };
  std::vector<Member> Members() const;

  // True when an image built for `image` runs on this node: the variant table
  // of docs/selection.md, with the node's variant taken as the highest one its
  // features imply.
  bool CanRun(const Platform& image) const;

 private:
  static constexpr int kViaPlatform = -2;

  const Vocabulary* vocabulary_;
  Platform platform_;
  std::string platform_label_;      // the declared platform, for Via()
  std::vector<Platform> runnable_;  // declared platform + implied variants
  std::vector<std::string> features_;
  std::vector<int> distance_;  // by vocabulary id; -1 when absent
  std::vector<int> via_;       // by vocabulary id; index into features_
  absl::flat_hash_set<std::string> unknown_;  // features outside the graph
};

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_SELECT_NODE_PROFILE_H_
