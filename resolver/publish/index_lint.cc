#include "resolver/publish/index_lint.h"

#include <algorithm>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "resolver/select/node_profile.h"
#include "resolver/select/platform.h"
#include "resolver/select/selector.h"

namespace nodefit {
namespace {

constexpr absl::string_view kUnknownFeature = "unknown-feature";
constexpr absl::string_view kUnreachable = "unreachable";
constexpr absl::string_view kTie = "tie";
constexpr absl::string_view kNoFallback = "no-fallback";
constexpr absl::string_view kVariantContradiction = "variant-contradiction";
constexpr absl::string_view kFeaturesOnNonImage = "features-on-non-image";
constexpr absl::string_view kOsFeatures = "os-features";
constexpr absl::string_view kIncomplete = "incomplete";

// The selection checks select over the whole index once per entry
// (reachability), per pair of same-platform entries (ties) and per
// os/architecture (fallback): O(n^3) candidate scorings at worst. Real
// indexes have a few dozen entries; a generated or hostile one may have 4096,
// so the work (candidates scored, plus one per pair looked at: a second or
// two) is bounded, and what was left unchecked is reported. A hundred
// entries on one platform fit in it.
constexpr size_t kWorkBudget = 2'000'000;
// Suggestions cost a distance to every known spelling; only this many
// distinct unknown spellings get one, so an index full of junk stays cheap.
constexpr int kMaxSuggestions = 64;

bool IsCandidate(const IndexEntry& entry) {
  return !entry.is_attestation && IsImageManifestMediaType(entry.media_type);
}

// Spellings a rule family answers for (nvidia-MAJ-MIN, cuda-M-m, ...) are
// known although no table lists them.
bool IsKnown(const Vocabulary& vocabulary, absl::string_view canonical) {
  return vocabulary.Find(canonical) != Vocabulary::kUnknown ||
         vocabulary.FamilyOf(canonical) != nullptr;
}

// The node that has exactly what `entry` requires.
NodeProfile MinimalNode(const IndexEntry& entry) {
  NodeProfile node{entry.platform, {}};
  for (const std::vector<std::string>* list :
       {&entry.features, &entry.os_features}) {
    for (const std::string& feature : *list) {
      if (std::find(node.features.begin(), node.features.end(), feature) ==
          node.features.end()) {
        node.features.push_back(feature);
      }
    }
  }
  return node;
}

// The node that has exactly what `a` and `b` require, on `a`'s platform.
NodeProfile UnionNode(const NodeProfile& a, const NodeProfile& b) {
  NodeProfile node = a;
  for (const std::string& feature : b.features) {
    if (std::find(a.features.begin(), a.features.end(), feature) ==
        a.features.end()) {
      node.features.push_back(feature);
    }
  }
  return node;
}

std::string DescribeNode(const NodeProfile& node) {
  if (node.features.empty()) {
    return absl::StrCat(node.platform.String(), " and no features");
  }
  return absl::StrCat(node.platform.String(), " ",
                      absl::StrJoin(node.features, " "));
}

bool SameScore(const Score& a, const Score& b) {
  return !BetterScore(a, b) && !BetterScore(b, a);
}

std::vector<std::string> RequirementNames(const CandidateReport& c) {
  std::vector<std::string> names;
  names.reserve(c.requirements.size());
  for (const Requirement& r : c.requirements) names.push_back(r.feature);
  std::sort(names.begin(), names.end());
  return names;
}

// Why `winner` beats `loser` on a node where both fit, in a few words.
std::string WhyWins(const CandidateReport& winner,
                    const CandidateReport& loser) {
  const Score& w = winner.score;
  const Score& l = loser.score;
  if (SameScore(w, l)) {
    return RequirementNames(winner) == RequirementNames(loser)
               ? "same requirements, earlier"
               : "same score, earlier";
  }
  if (w.weight != l.weight) {
    return absl::StrCat("weighs more: ", w.weight, " vs ", l.weight);
  }
  if (w.specificity != l.specificity) {
    return absl::StrCat("more specific: ", w.specificity, " vs ",
                        l.specificity);
  }
  return absl::StrCat("nearer: distance ", w.distance, " vs ", l.distance);
}

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> previous(b.size() + 1);
  std::vector<size_t> current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute =
          previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitute});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

// The nearest known spelling (canonical names and their exact aliases).
class Suggester {
 public:
  explicit Suggester(const Vocabulary& vocabulary)
      : spellings_(vocabulary.KnownFeatures()) {
    const size_t canonical_count = spellings_.size();
    for (size_t i = 0; i < canonical_count; ++i) {
      for (std::string& alias : vocabulary.AliasesOf(spellings_[i])) {
        spellings_.push_back(std::move(alias));
      }
    }
  }

  // Empty when nothing is near enough to be a likely typo.
  std::string Nearest(absl::string_view spelling) const {
    const size_t limit = std::max<size_t>(2, spelling.size() / 3);
    const std::string* best = nullptr;
    size_t best_distance = limit + 1;
    for (const std::string& known : spellings_) {
      const size_t gap = known.size() > spelling.size()
                             ? known.size() - spelling.size()
                             : spelling.size() - known.size();
      if (gap > 3 || gap >= best_distance) continue;
      const size_t distance = EditDistance(spelling, known);
      if (distance < best_distance) {
        best_distance = distance;
        best = &known;
      }
    }
    return best == nullptr ? "" : *best;
  }

 private:
  std::vector<std::string> spellings_;
};

// What selection needs to know about an entry, worked out once.
struct EntryFacts {
  bool judged = false;  // runnable, with a platform, no unknown feature
  NodeProfile node;     // exactly what it requires
  std::set<std::string> drivers;            // canonical NVIDIA drivers
  std::vector<Vocabulary::FeatureId> cpus;  // built-in graph features
};

// A node runs one NVIDIA driver and has one CPU: a node needing two drivers,
// or two built-in CPU names that no CPU has both of, is no real node, and a
// tie on it would be noise.
class NodeSanity {
 public:
  explicit NodeSanity(const Vocabulary& vocabulary) : vocabulary_(vocabulary) {}

  void Describe(EntryFacts* facts) const {
    for (const std::string& spelling : facts->node.features) {
      std::string canonical = vocabulary_.Canonical(spelling);
      const BuiltInFamily* family = vocabulary_.FamilyOf(canonical);
      if (family == nullptr) continue;
      const Vocabulary::FeatureId id = vocabulary_.Find(canonical);
      if (family->name == "nvidia-driver") {
        facts->drivers.insert(std::move(canonical));
      } else if (family->pattern.empty() && id != Vocabulary::kUnknown) {
        facts->cpus.push_back(id);
      }
    }
  }

  bool CouldShareNode(const EntryFacts& a, const EntryFacts& b) {
    if (!a.drivers.empty() && !b.drivers.empty() && a.drivers != b.drivers) {
      return false;
    }
    for (Vocabulary::FeatureId x : a.cpus) {
      for (Vocabulary::FeatureId y : b.cpus) {
        if (!OneCpuHasBoth(x, y)) return false;
      }
    }
    return true;
  }

 private:
  bool OneCpuHasBoth(Vocabulary::FeatureId x, Vocabulary::FeatureId y) {
    if (vocabulary_.Implies(x, y) || vocabulary_.Implies(y, x)) return true;
    const auto key = std::minmax(x, y);
    auto [it, inserted] = memo_.try_emplace({key.first, key.second}, false);
    if (inserted) {
      const auto size = static_cast<Vocabulary::FeatureId>(vocabulary_.size());
      for (Vocabulary::FeatureId z = 0; z < size && !it->second; ++z) {
        it->second = vocabulary_.Implies(z, x) && vocabulary_.Implies(z, y);
      }
    }
    return it->second;
  }

  const Vocabulary& vocabulary_;
  std::map<std::pair<Vocabulary::FeatureId, Vocabulary::FeatureId>, bool> memo_;
};

class Linter {
 public:
  Linter(const ParsedIndex& index, const Vocabulary& vocabulary)
      : index_(index),
        vocabulary_(vocabulary),
        sanity_(vocabulary),
        facts_(index.entries.size()),
        unreachable_(index.entries.size(), false) {}

  LintReport Run() {
    for (const IndexEntry& entry : index_.entries) {
      CheckNonImage(entry);
      CheckOsFeatures(entry);
      if (IsCandidate(entry) && entry.has_platform) CheckVariant(entry);
    }
    const std::vector<bool> unknown = CheckUnknownFeatures();
    for (const IndexEntry& entry : index_.entries) {
      EntryFacts& facts = facts_[entry.position];
      facts.judged =
          IsCandidate(entry) && entry.has_platform && !unknown[entry.position];
      if (!facts.judged) continue;
      facts.node = MinimalNode(entry);
      sanity_.Describe(&facts);
    }
    CheckFallbacks();  // first: cheap, and the budget must not starve it
    CheckReachabilityAndTies();
    ReportUnchecked();
    std::stable_sort(
        report_.problems.begin(), report_.problems.end(),
        [](const LintProblem& a, const LintProblem& b) {
          // A problem without positions (what was left unchecked) comes last.
          const int first_a = a.positions.empty() ? 1 << 30 : a.positions[0];
          const int first_b = b.positions.empty() ? 1 << 30 : b.positions[0];
          return std::tie(first_a, a.check) < std::tie(first_b, b.check);
        });
    return std::move(report_);
  }

 private:
  void Add(LintSeverity severity, absl::string_view check,
           std::vector<int> positions, std::string message) {
    report_.problems.push_back({severity, std::string(check),
                                std::move(positions), std::move(message)});
  }

  // Takes `units` from the work budget, or says there are not enough left.
  bool Spend(size_t units) {
    if (units > kWorkBudget - work_) return false;
    work_ += units;
    return true;
  }

  // Selects for `node` when the budget allows one more selection.
  std::optional<Selection> SelectOn(const NodeProfile& node) {
    if (!Spend(std::max<size_t>(1, index_.entries.size()))) return std::nullopt;
    return Selector::CreateWithVocabulary(node, vocabulary_,
                                          NoMatchPolicy::kFail)
        ->Select(index_);
  }

  void CheckNonImage(const IndexEntry& entry) {
    if (IsCandidate(entry)) return;
    if (entry.features.empty() && entry.os_features.empty()) return;
    const char* fields = entry.features.empty()      ? "os.features"
                         : entry.os_features.empty() ? "platform.features"
                                                     : "platform.features and "
                                                       "os.features";
    const std::string what =
        entry.is_attestation
            ? std::string("an attestation")
            : absl::StrCat("a ", entry.media_type,
                           " entry, which is not an image manifest");
    Add(LintSeverity::kError, kFeaturesOnNonImage, {entry.position},
        absl::StrCat(fields, " on ", what,
                     ": it is never a candidate, so they do nothing; put them "
                     "on the image entries"));
  }

  void CheckOsFeatures(const IndexEntry& entry) {
    if (entry.os_features.empty()) return;
    Add(LintSeverity::kError, kOsFeatures, {entry.position},
        absl::StrCat("os.features [", absl::StrJoin(entry.os_features, ", "),
                     "]: containerd 2.3+ never matches an entry with "
                     "os.features on a default pull (docs/containerd.md); "
                     "use platform.features"));
  }

  // Compares the declared variant with the one a node having exactly the
  // entry's features would have on the bare os/architecture.
  void CheckVariant(const IndexEntry& entry) {
    const Platform& declared = entry.platform;
    if (VariantFeature(declared).empty()) return;
    NodeProfile bare = MinimalNode(entry);
    bare.platform.variant.clear();
    const Platform implied = NodeClosure(bare, vocabulary_).platform();
    if (VariantFeature(implied).empty() ||
        implied.variant == declared.variant) {
      return;
    }
    const bool below = VariantRank(declared.architecture, declared.variant) <
                       VariantRank(implied.architecture, implied.variant);
    Add(LintSeverity::kWarning, kVariantContradiction, {entry.position},
        below ? absl::StrCat("variant ", declared.variant,
                             " is below the level its features imply (",
                             implied.variant, "): declare ", implied.variant,
                             " or no variant")
              : absl::StrCat("variant ", declared.variant,
                             " asks more than its features imply (",
                             implied.variant, "): declare ", implied.variant,
                             ", or the feature that needs ", declared.variant));
  }

  // Returns, by position, whether an entry has an unknown feature.
  std::vector<bool> CheckUnknownFeatures() {
    struct Unknown {
      std::string field;
      std::string spelling;  // as first written
      std::string canonical;
      std::vector<int> positions;
    };
    std::vector<bool> has_unknown(index_.entries.size(), false);
    std::vector<Unknown> unknowns;
    absl::flat_hash_map<std::string, size_t> by_key;
    auto note = [&](const IndexEntry& entry, const char* field,
                    const std::string& spelling) {
      std::string canonical = vocabulary_.Canonical(spelling);
      if (IsKnown(vocabulary_, canonical)) return;
      has_unknown[entry.position] = true;
      auto [it, inserted] = by_key.try_emplace(
          absl::StrCat(field, " ", canonical), unknowns.size());
      if (inserted) {
        unknowns.push_back({field, spelling, std::move(canonical), {}});
      }
      std::vector<int>& positions = unknowns[it->second].positions;
      if (positions.empty() || positions.back() != entry.position) {
        positions.push_back(entry.position);
      }
    };
    for (const IndexEntry& entry : index_.entries) {
      if (!IsCandidate(entry)) continue;
      for (const std::string& f : entry.features) {
        note(entry, "platform.features", f);
      }
      for (const std::string& f : entry.os_features) {
        note(entry, "os.features", f);
      }
    }
    if (unknowns.empty()) return has_unknown;
    const Suggester suggester(vocabulary_);
    int suggested = 0;
    for (Unknown& u : unknowns) {
      std::string message =
          absl::StrCat(u.field, " \"", u.spelling,
                       "\" is not a known feature: no node ever has it");
      if (suggested++ < kMaxSuggestions) {
        const std::string nearest = suggester.Nearest(u.canonical);
        if (!nearest.empty()) {
          absl::StrAppend(&message, " (did you mean \"", nearest, "\"?)");
        }
      }
      Add(LintSeverity::kError, kUnknownFeature, std::move(u.positions),
          std::move(message));
    }
    return has_unknown;
  }

  void CheckReachabilityAndTies() {
    // Pairs (a, b), a < b, that tie, with the node they tie on.
    std::map<std::pair<int, int>, std::string> ties;
    for (const IndexEntry& entry : index_.entries) {
      const EntryFacts& facts = facts_[entry.position];
      if (!facts.judged) continue;
      const std::optional<Selection> selection = SelectOn(facts.node);
      if (!selection) {
        ++unchecked_entries_;
        continue;
      }
      if (selection->outcome != Outcome::kSelected) continue;  // no features
      const CandidateReport& self = selection->candidates[entry.position];
      const CandidateReport& winner = selection->candidates[selection->chosen];
      if (winner.position != entry.position) {
        unreachable_[entry.position] = true;
        Add(LintSeverity::kError, kUnreachable, {entry.position},
            absl::StrCat("never selected: on a node with exactly ",
                         DescribeNode(facts.node),
                         " (and so on every node with more), #",
                         winner.position, " wins (", WhyWins(winner, self),
                         ")"));
        continue;
      }
      // Later entries that fit this node as well as the winner lose only by
      // their position.
      for (const IndexEntry& other : index_.entries) {
        const CandidateReport& c = selection->candidates[other.position];
        if (other.position != entry.position && facts_[other.position].judged &&
            other.platform == entry.platform && c.eligible &&
            SameScore(c.score, self.score)) {
          ties.try_emplace({entry.position, other.position},
                           DescribeNode(facts.node));
        }
      }
    }
    CheckUnionTies(&ties);
    for (const auto& [pair, node] : ties) {
      if (unreachable_[pair.first] || unreachable_[pair.second]) continue;
      Add(LintSeverity::kWarning, kTie, {pair.first, pair.second},
          absl::StrCat("#", pair.first, " and #", pair.second,
                       " score the same on a node with ", node,
                       ": the order decides (#", pair.first,
                       " wins); add a build for such nodes or make one of "
                       "the two more specific"));
    }
  }

  // On the node with both entries' requirements both fit at distance 0, so
  // a tie there is a tie of weight and specificity.
  void CheckUnionTies(std::map<std::pair<int, int>, std::string>* ties) {
    const std::vector<IndexEntry>& entries = index_.entries;
    for (const IndexEntry& a : entries) {
      const EntryFacts& fa = facts_[a.position];
      if (!fa.judged || unreachable_[a.position]) continue;
      for (size_t j = a.position + 1; j < entries.size(); ++j) {
        const IndexEntry& b = entries[j];
        const EntryFacts& fb = facts_[j];
        if (!fb.judged || unreachable_[j] || !(a.platform == b.platform) ||
            ties->count({a.position, b.position}) > 0) {
          continue;
        }
        if (!Spend(1)) {
          ++unchecked_pairs_;
          continue;
        }
        const NodeProfile node = UnionNode(fa.node, fb.node);
        // A union that is one entry's own node was judged above.
        if (node.features.size() == fa.node.features.size() ||
            node.features.size() == fb.node.features.size() ||
            !sanity_.CouldShareNode(fa, fb)) {
          continue;
        }
        const std::optional<Selection> selection = SelectOn(node);
        if (!selection) {
          ++unchecked_pairs_;
          continue;
        }
        if (selection->outcome != Outcome::kSelected) continue;
        const CandidateReport& ca = selection->candidates[a.position];
        const CandidateReport& cb = selection->candidates[b.position];
        if (selection->chosen == a.position && cb.eligible &&
            SameScore(ca.score, cb.score)) {
          ties->try_emplace({a.position, b.position}, DescribeNode(node));
        }
      }
    }
  }

  // A node with no features must get something on every os/architecture
  // the index serves, or policy fail refuses it.
  void CheckFallbacks() {
    std::map<std::pair<std::string, std::string>, std::vector<int>> groups;
    for (const IndexEntry& entry : index_.entries) {
      if (!IsCandidate(entry) || !entry.has_platform) continue;
      groups[{entry.platform.os, entry.platform.architecture}].push_back(
          entry.position);
    }
    for (auto& [os_arch, positions] : groups) {
      const NodeProfile bare{{os_arch.first, os_arch.second, ""}, {}};
      const std::optional<Selection> selection = SelectOn(bare);
      if (!selection) {
        ++unchecked_platforms_;
        continue;
      }
      if (selection->outcome != Outcome::kNoMatch) continue;
      Add(LintSeverity::kWarning, kNoFallback, std::move(positions),
          absl::StrCat("every ", bare.platform.String(),
                       " entry has requirements: a ", bare.platform.String(),
                       " node without features gets no_match under policy "
                       "fail; add a build without features"));
    }
  }

  void ReportUnchecked() {
    std::vector<std::string> left;
    if (unchecked_entries_ > 0) {
      left.push_back(
          absl::StrCat(unchecked_entries_, " entries for reachability"));
    }
    if (unchecked_pairs_ > 0) {
      left.push_back(absl::StrCat(unchecked_pairs_, " pairs for ties"));
    }
    if (unchecked_platforms_ > 0) {
      left.push_back(absl::StrCat(unchecked_platforms_,
                                  " os/architectures for a fallback"));
    }
    if (left.empty()) return;
    Add(LintSeverity::kWarning, kIncomplete, {},
        absl::StrCat("the index is too large to check completely; not "
                     "checked: ",
                     absl::StrJoin(left, ", ")));
  }

  const ParsedIndex& index_;
  const Vocabulary& vocabulary_;
  NodeSanity sanity_;
  std::vector<EntryFacts> facts_;  // by position
  std::vector<bool> unreachable_;  // by position
  size_t work_ = 0;
  size_t unchecked_entries_ = 0;
  size_t unchecked_pairs_ = 0;
  size_t unchecked_platforms_ = 0;
  LintReport report_;
};

int CountOf(const LintReport& report, LintSeverity severity) {
  return static_cast<int>(std::count_if(
      report.problems.begin(), report.problems.end(),
      [severity](const LintProblem& p) { return p.severity == severity; }));
}

absl::string_view SeverityName(LintSeverity severity) {
  return severity == LintSeverity::kError ? "error" : "warning";
}

std::string Plural(int n, absl::string_view word) {
  return absl::StrCat(n, " ", word, n == 1 ? "" : "s");
}

}  // namespace

int LintReport::ExitCode() const {
  if (CountOf(*this, LintSeverity::kError) > 0) return 2;
  return problems.empty() ? 0 : 1;
}

LintReport LintIndex(const ParsedIndex& index, const Vocabulary& vocabulary) {
  return Linter(index, vocabulary).Run();
}

std::string LintToText(const LintReport& report) {
  std::string out;
  for (const LintProblem& p : report.problems) {
    absl::StrAppend(&out, SeverityName(p.severity), " ", p.check);
    for (int position : p.positions) absl::StrAppend(&out, " #", position);
    absl::StrAppend(&out, ": ", p.message, "\n");
  }
  if (report.problems.empty()) {
    absl::StrAppend(&out, "no problems\n");
  } else {
    absl::StrAppend(
        &out, Plural(CountOf(report, LintSeverity::kError), "error"), ", ",
        Plural(CountOf(report, LintSeverity::kWarning), "warning"), "\n");
  }
  return out;
}

nlohmann::json LintToJson(const LintReport& report) {
  nlohmann::json problems = nlohmann::json::array();
  for (const LintProblem& p : report.problems) {
    problems.push_back({{"severity", std::string(SeverityName(p.severity))},
                        {"check", p.check},
                        {"positions", p.positions},
                        {"message", p.message}});
  }
  return {{"problems", std::move(problems)},
          {"errors", CountOf(report, LintSeverity::kError)},
          {"warnings", CountOf(report, LintSeverity::kWarning)},
          {"exit_code", report.ExitCode()}};
}

}  // namespace nodefit
