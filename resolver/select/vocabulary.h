// The feature vocabulary: which feature implies which, other spellings of the
// same feature, and how much each feature is worth when a build fits it.
//
// A feature is a string in one spelling rule (NormalizeFeature: lower case,
// '_' written '-'), applied to every name before anything else. The
// vocabulary knows:
//   - implications, a directed acyclic graph: "skylake" implies "broadwell"
//     implies "haswell" implies "x86-64-v3" ... A node with feature f has
//     every feature f implies, at a distance (the fewest hops);
//   - aliases: "cpu:broadwell", "cpu-broadwell", "cpu_broadwell" ->
//     "broadwell"; "skylake512" -> "skylake-avx512"; "nvcap-5.2" and
//     "nv-compute-capability-5-2" -> "nv-compute-5-2";
//   - weights: glob patterns ("nv-compute-*") to a non-negative integer;
//     1 when no pattern matches;
//   - rules for the open-ended GPU families, which no table can list: a
//     driver nvidia-MAJ-MIN implies the cuda-M-m toolkits it runs, a
//     compute capability nv-compute-X-z implies nv-compute-X-y for y <= z
//     and nv-ptx-A-b for A.b <= X.z (RuleDistance).
// The built-in tables (builtin_features.h, grouped in families with their
// sources) cover GCC's -march/-mcpu names and archspec's microarchitectures
// for x86, arm64, POWER, Z and RISC-V. FeatureRules (from the config) extend
// them without recompiling.
//
// A Vocabulary is immutable after Create() and safe to share across threads.
#ifndef NODEFIT_RESOLVER_SELECT_VOCABULARY_H_
#define NODEFIT_RESOLVER_SELECT_VOCABULARY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "resolver/select/builtin_features.h"

namespace nodefit {

// Extensions from the config file (docs/configuration.md).
struct FeatureRules {
  // feature -> features it directly implies.
  std::map<std::string, std::vector<std::string>> implies;
  // other spelling -> canonical feature.
  std::map<std::string, std::string> aliases;
  // glob pattern ('*' any run, '?' one character) -> weight, in file order.
  std::vector<std::pair<std::string, int>> weights;
  // CUDA minor version compatibility counts: a driver also implies every
  // toolkit of a major version whose compatibility minimum it meets.
  bool cuda_minor_version_compatibility = false;
};

// The one spelling rule for feature names: ASCII lower case, and '_'
// becomes '-'. "Skylake_AVX512", "x86_64_v3" and "neoverse_v1" are
// skylake-avx512, x86-64-v3 and neoverse-v1.
std::string NormalizeFeature(absl::string_view spelling);

class Vocabulary {
 public:
  using FeatureId = int32_t;
  static constexpr FeatureId kUnknown = -1;

  struct Implied {
    FeatureId id;
    int distance;
  };

  // Built-in tables extended by `rules`. InvalidArgument names the rule that
  // is wrong: an implication cycle, an alias whose target is itself an
  // alias, an alias that would rename a known feature, a bad pattern.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<const Vocabulary>> Create(
      const FeatureRules& rules);

  // The built-in vocabulary alone.
  static const Vocabulary& BuiltIn();

  // The canonical spelling of a feature (aliases applied), or the feature
  // itself.
  std::string Canonical(absl::string_view spelling) const;

  // Id of a canonical feature that takes part in implications, or kUnknown.
  FeatureId Find(absl::string_view canonical) const;
  const std::string& Name(FeatureId id) const { return names_[id]; }
  size_t size() const { return names_.size(); }

  // `id` and everything it implies, nearest first (id itself at distance 0).
  absl::Span<const Implied> Closure(FeatureId id) const {
    return absl::MakeConstSpan(closures_[id]);
  }
  // True when `a` implies `b` (or a == b).
  bool Implies(FeatureId a, FeatureId b) const {
    return (closure_bits_[static_cast<size_t>(a) * words_ +
                          static_cast<size_t>(b) / 64] >>
            (b % 64)) &
           1U;
  }
  // Words of the bitset behind Implies(a, *) for a fast union.
  absl::Span<const uint64_t> ClosureBits(FeatureId id) const {
    return absl::MakeConstSpan(&closure_bits_[static_cast<size_t>(id) * words_],
                               words_);
  }
  size_t closure_words() const { return words_; }

  // Weight of a canonical feature.
  int Weight(absl::string_view canonical) const;
  int Weight(FeatureId id) const { return weights_by_id_[id]; }

  // Every feature that takes part in implications, sorted.
  std::vector<std::string> KnownFeatures() const;

  // The rule families' implications (see above): the distance at which a
  // node that has canonical `have` has canonical `want`, or -1. A driver's
  // toolkits are ranked newest first from 0; a lower compute capability
  // minor X.y is z-y away from X.z; PTX is kPtxDistance or more away, more
  // than any cubin.
  int RuleDistance(absl::string_view have, absl::string_view want) const;
  static constexpr int kPtxDistance = 1000;
  // The finite part of what `have` implies by rule, nearest first: a
  // driver's CUDA toolkits, a capability's lower minors (PTX is answered by
  // RuleDistance only: its set has no end).
  std::vector<std::pair<std::string, int>> RuleClosure(
      absl::string_view have) const;
  // The lowest driver (major, minor) that runs cuda-M-m without minor
  // version compatibility: the minimum of M.m's first release in NVIDIA's
  // table (the test a driver's own "CUDA Version" makes); {-1, -1} for a
  // release missing from the table.
  static std::pair<int, int> CudaMinimumDriver(int major, int minor);
  bool cuda_minor_version_compatibility() const {
    return cuda_minor_version_compatibility_;
  }

  // Graph features whose closure holds `id` (id itself excluded), nearest
  // first.
  std::vector<Implied> ImpliedBy(FeatureId id) const;
  // Direct implications of `id`.
  absl::Span<const FeatureId> Direct(FeatureId id) const {
    return absl::MakeConstSpan(direct_[id]);
  }
  // Exact spellings (built-in, archspec and the config's) that map to
  // `canonical`, sorted.
  std::vector<std::string> AliasesOf(absl::string_view canonical) const;
  // The built-in family of a canonical feature (by table row, or by the
  // rule families' patterns), or nullptr for one only the config or nobody
  // knows.
  const BuiltInFamily* FamilyOf(absl::string_view canonical) const;

 private:
  Vocabulary() = default;

  // Pattern-based aliases (cpu:X, nvcap-M.m, ...) after exact ones.
  bool RuleAlias(absl::string_view spelling, std::string* canonical) const;

  std::vector<std::string> names_;
  absl::flat_hash_map<std::string, FeatureId> ids_;
  std::vector<std::vector<FeatureId>> direct_;  // direct implications
  std::vector<std::vector<Implied>> closures_;
  size_t words_ = 0;
  std::vector<uint64_t> closure_bits_;
  absl::flat_hash_map<std::string, std::string> aliases_;
  // Tried in order; the first match wins (config before built-in, exact
  // before glob, longer literal part first).
  std::vector<std::pair<std::string, int>> weight_patterns_;
  std::vector<int> weights_by_id_;
  absl::flat_hash_map<std::string, const BuiltInFamily*> families_;
  bool cuda_minor_version_compatibility_ = false;
};

// Glob match with '*' (any run, also empty) and '?' (one character).
bool GlobMatch(absl::string_view pattern, absl::string_view text);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_SELECT_VOCABULARY_H_
