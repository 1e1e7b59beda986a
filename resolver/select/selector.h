// The selection rule of docs/selection.md: given a node and an image index,
// choose the build that fits the node best, and say why for every entry.
//
// For each entry, its requirements R are its platform.features, its
// platform's os.features and its variant feature ("x86-64-v3"), aliases
// applied, reduced to independent members (a member another member implies
// is dropped). An entry is eligible when its platform runs on the node and
// the node has every member of R. Among eligible entries the winner has, in
// this order: the largest sum of weights over R; the largest closure of R
// (more specific); the smallest total distance at which the node has R; the
// earliest position.
//
// Outcomes:
//   kSelected     an entry was chosen;
//   kPassthrough  the document is not an index, or no entry carries feature
//                 data (then containerd's own choice stands), or nothing fits
//                 and the policy is kPassthrough;
//   kNoMatch      the index carries feature data, nothing fits, policy kFail.
//
// Selector is immutable after Create() and safe to use from many threads.
#ifndef NODEFIT_RESOLVER_SELECT_SELECTOR_H_
#define NODEFIT_RESOLVER_SELECT_SELECTOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "resolver/select/index.h"
#include "resolver/select/node_profile.h"
#include "resolver/select/vocabulary.h"

namespace nodefit {

enum class Outcome { kSelected, kPassthrough, kNoMatch };
enum class NoMatchPolicy { kFail, kPassthrough };

absl::string_view OutcomeName(Outcome outcome);
absl::string_view NoMatchPolicyName(NoMatchPolicy policy);
[[nodiscard]] absl::StatusOr<NoMatchPolicy> ParseNoMatchPolicy(
    absl::string_view text);

struct Requirement {
  std::string feature;  // canonical
  int weight = 1;
  int distance = -1;  // at which the node has it; -1 when it does not
  std::string via;    // the node feature that provides it
};

// Compared as a tuple: weight and specificity higher is better, distance
// lower is better.
struct Score {
  int weight = 0;
  int specificity = 0;
  int distance = 0;
};

struct CandidateReport {
  int position = 0;
  std::string digest;
  std::string media_type;
  int64_t size = 0;
  std::string platform;  // "linux/amd64/v3", or empty when the entry has none
  bool runnable = true;  // false for attestations and non-image entries
  bool platform_ok = false;
  std::vector<Requirement> requirements;  // reduced R
  std::vector<std::string> missing;       // members of R the node lacks
  bool eligible = false;
  Score score;
  std::string reason;
};

struct Selection {
  Outcome outcome = Outcome::kPassthrough;
  std::string reason;  // one line: why this outcome
  int chosen = -1;     // position of the chosen entry, or -1
  std::vector<CandidateReport> candidates;  // one per index entry, in order
};

class Selector {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<const Selector>> Create(
      const NodeProfile& node, const FeatureRules& rules, NoMatchPolicy policy);
  // With a vocabulary made once and shared by many selectors (one per node
  // profile); `vocabulary` must outlive the Selector.
  static std::unique_ptr<const Selector> CreateWithVocabulary(
      const NodeProfile& node, const Vocabulary& vocabulary,
      NoMatchPolicy policy);

  Selection Select(const ParsedIndex& index) const;

  const NodeClosure& node() const { return node_; }
  const Vocabulary& vocabulary() const { return *vocabulary_; }
  NoMatchPolicy policy() const { return policy_; }

 private:
  Selector(std::unique_ptr<const Vocabulary> owned_vocabulary,
           const Vocabulary& vocabulary, const NodeProfile& node,
           NoMatchPolicy policy)
      : owned_vocabulary_(std::move(owned_vocabulary)),
        vocabulary_(&vocabulary),
        node_(node, vocabulary),
        policy_(policy) {}

  std::unique_ptr<const Vocabulary> owned_vocabulary_;  // null when shared
  const Vocabulary* vocabulary_;
  NodeClosure node_;
  NoMatchPolicy policy_;
};

// True when `a` is a better score than `b` (position not considered).
bool BetterScore(const Score& a, const Score& b);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_SELECT_SELECTOR_H_
