#include "resolver/select/vocabulary.h"

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "resolver/select/builtin_features.h"

namespace nodefit {
namespace {

bool AllDigits(absl::string_view s, size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return absl::ascii_isdigit(c); });
}

// "5.2" or "5-2" -> "5-2"; empty when `s` is neither.
std::string MajorMinor(absl::string_view s) {
  const size_t sep = s.find_first_of(".-");
  if (sep == absl::string_view::npos) return "";
  const absl::string_view major = s.substr(0, sep);
  const absl::string_view minor = s.substr(sep + 1);
  if (!AllDigits(major, 4) || !AllDigits(minor, 4)) return "";
  return absl::StrCat(major, "-", minor);
}

bool IsValidFeature(absl::string_view f) {
  if (f.empty() || f.size() > 128) return false;
  return std::all_of(f.begin(), f.end(),
                     [](char c) { return c > ' ' && c < 0x7f; });
}

// "prefix-A-B" with A and B of 1 to `digits` digits (canonical forms only).
bool ParsePair(absl::string_view s, absl::string_view prefix, int digits,
               int* a, int* b) {
  if (!absl::ConsumePrefix(&s, prefix)) return false;
  const size_t dash = s.find('-');
  if (dash == absl::string_view::npos) return false;
  const absl::string_view first = s.substr(0, dash);
  const absl::string_view second = s.substr(dash + 1);
  if (!AllDigits(first, digits) || !AllDigits(second, digits)) return false;
  return absl::SimpleAtoi(first, a) && absl::SimpleAtoi(second, b);
}

// The CUDA toolkits (major, minor) a driver runs: those whose minimum it
// meets, newest first, then (with minor version compatibility) those of a
// major family whose compatibility minimum it meets, nearest the native
// ones first.
std::vector<std::pair<int, int>> CudaToolkitsFor(std::pair<int, int> driver,
                                                 bool minor_compatibility) {
  std::vector<std::pair<int, int>> releases;
  for (const CudaDriverMinimum& row : CudaDriverMinimums()) {
    const std::pair<int, int> release{row.cuda_major, row.cuda_minor};
    if (std::find(releases.begin(), releases.end(), release) ==
        releases.end()) {
      releases.push_back(release);
    }
  }
  std::sort(releases.rbegin(), releases.rend());
  std::vector<std::pair<int, int>> native, compatible;
  for (const std::pair<int, int>& release : releases) {
    if (Vocabulary::CudaMinimumDriver(release.first, release.second) <=
        driver) {
      native.push_back(release);
      continue;
    }
    if (!minor_compatibility) continue;
    for (const CudaMinorCompatibility& row : CudaMinorCompatibilities()) {
      if (row.cuda_major == release.first &&
          std::make_pair(row.driver_major, row.driver_minor) <= driver) {
        compatible.push_back(release);
      }
    }
  }
  std::reverse(compatible.begin(), compatible.end());
  native.insert(native.end(), compatible.begin(), compatible.end());
  return native;
}

size_t LiteralLength(absl::string_view pattern) {
  return static_cast<size_t>(
      std::count_if(pattern.begin(), pattern.end(),
                    [](char c) { return c != '*' && c != '?'; }));
}

}  // namespace

std::string NormalizeFeature(absl::string_view spelling) {
  std::string out = absl::AsciiStrToLower(spelling);
  std::replace(out.begin(), out.end(), '_', '-');
  return out;
}

bool GlobMatch(absl::string_view pattern, absl::string_view text) {
  // Iterative matcher with one backtrack point per '*': linear in practice
  // and no recursion on hostile patterns.
  size_t p = 0, t = 0;
  size_t star = absl::string_view::npos, star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

const Vocabulary& Vocabulary::BuiltIn() {
  static const Vocabulary* const kBuiltIn = [] {
    absl::StatusOr<std::unique_ptr<const Vocabulary>> v = Create({});
    // The built-in tables are compiled in; a failure is a programming error
    // caught by vocabulary_test.
    if (!v.ok()) std::abort();
    return v->release();
  }();
  return *kBuiltIn;
}

absl::StatusOr<std::unique_ptr<const Vocabulary>> Vocabulary::Create(
    const FeatureRules& rules) {
  auto vocab = std::unique_ptr<Vocabulary>(new Vocabulary());
  Vocabulary& v = *vocab;

  auto intern = [&v](absl::string_view name) -> FeatureId {
    auto [it, inserted] =
        v.ids_.try_emplace(name, static_cast<FeatureId>(v.names_.size()));
    if (inserted) {
      v.names_.emplace_back(name);
      v.direct_.emplace_back();
    }
    return it->second;
  };
  auto add_edge = [&v](FeatureId from, FeatureId to) {
    std::vector<FeatureId>& out = v.direct_[from];
    if (std::find(out.begin(), out.end(), to) == out.end()) out.push_back(to);
  };

  v.cuda_minor_version_compatibility_ = rules.cuda_minor_version_compatibility;
  for (const BuiltInFamily& family : BuiltInFamilies()) {
    for (const BuiltInImplication& row : family.rows) {
      const FeatureId from = intern(row.feature);
      v.families_.emplace(row.feature, &family);
      for (absl::string_view to : row.implies) add_edge(from, intern(to));
    }
  }

  // Aliases: archspec's names and the built-in table, then the config's,
  // each checked against the known features so an alias can never silently
  // rename one. Every spelling is put in the spelling rule's form first.
  for (const ArchspecTarget& target : ArchspecTargets()) {
    std::string spelling = NormalizeFeature(target.name);
    if (spelling != target.canonical) {
      v.aliases_.emplace(std::move(spelling), target.canonical);
    }
  }
  for (const BuiltInAlias& alias : BuiltInAliases()) {
    v.aliases_.emplace(alias.spelling, alias.canonical);
  }
  std::map<std::string, std::string> config_aliases;
  for (const auto& [spelling, canonical] : rules.aliases) {
    config_aliases[NormalizeFeature(spelling)] = NormalizeFeature(canonical);
  }
  std::map<std::string, std::vector<std::string>> config_implies;
  for (const auto& [feature, implied] : rules.implies) {
    std::vector<std::string>& out = config_implies[NormalizeFeature(feature)];
    for (const std::string& to : implied) out.push_back(to);
  }
  for (const auto& [spelling, canonical] : config_aliases) {
    if (!IsValidFeature(spelling) || !IsValidFeature(canonical)) {
      return absl::InvalidArgumentError(
          absl::StrCat("aliases: \"", spelling, "\" -> \"", canonical,
                       "\": features are 1 to 128 printable characters "
                       "without spaces"));
    }
    if (spelling == canonical) {
      return absl::InvalidArgumentError(
          absl::StrCat("aliases: \"", spelling, "\" is an alias of itself"));
    }
    if (v.ids_.contains(spelling) || config_implies.count(spelling) > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("aliases: \"", spelling,
                       "\" is a known feature; an alias cannot rename it"));
    }
    v.aliases_[spelling] = canonical;
  }
  for (const auto& [spelling, canonical] : v.aliases_) {
    if (v.aliases_.contains(canonical)) {
      return absl::InvalidArgumentError(
          absl::StrCat("aliases: target \"", canonical, "\" of \"", spelling,
                       "\" is itself an alias; point at the canonical name"));
    }
  }

  for (const auto& [feature, implied] : config_implies) {
    if (!IsValidFeature(feature)) {
      return absl::InvalidArgumentError(
          absl::StrCat("implies: \"", feature,
                       "\": features are 1 to 128 printable characters "
                       "without spaces"));
    }
    if (v.aliases_.contains(feature)) {
      return absl::InvalidArgumentError(
          absl::StrCat("implies: \"", feature, "\" is an alias of \"",
                       v.aliases_[feature], "\"; use the canonical name"));
    }
    const FeatureId from = intern(feature);
    for (const std::string& to : implied) {
      if (!IsValidFeature(to)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "implies: \"", feature, "\": bad implied feature \"", to, "\""));
      }
      add_edge(from, intern(v.Canonical(to)));
    }
  }

  // Reject cycles: with one, "more specific" and "reduce to independent
  // members" would have no meaning.
  const size_t n = v.names_.size();
  {
    enum Mark : uint8_t { kNew, kOpen, kDone };
    std::vector<Mark> mark(n, kNew);
    std::vector<FeatureId> parent(n, kUnknown);
    for (size_t root = 0; root < n; ++root) {
      if (mark[root] != kNew) continue;
      std::vector<std::pair<FeatureId, size_t>> stack = {
          {static_cast<FeatureId>(root), 0}};
      mark[root] = kOpen;
      while (!stack.empty()) {
        auto& [node, next] = stack.back();
        if (next == v.direct_[node].size()) {
          mark[node] = kDone;
          stack.pop_back();
          continue;
        }
        const FeatureId child = v.direct_[node][next++];
        if (mark[child] == kOpen) {
          std::vector<std::string> cycle = {v.names_[child]};
          for (FeatureId at = node; at != child && at != kUnknown;
               at = parent[at]) {
            cycle.push_back(v.names_[at]);
          }
          cycle.push_back(v.names_[child]);
          std::reverse(cycle.begin() + 1, cycle.end() - 1);
          return absl::InvalidArgumentError(
              absl::StrCat("implies: cycle ", absl::StrJoin(cycle, " -> ")));
        }
        if (mark[child] == kNew) {
          mark[child] = kOpen;
          parent[child] = node;
          stack.emplace_back(child, 0);
        }
      }
    }
  }

  // Closures by breadth-first search: distance is the fewest hops.
  v.words_ = (n + 63) / 64;
  v.closure_bits_.assign(n * v.words_, 0);
  v.closures_.resize(n);
  for (size_t root = 0; root < n; ++root) {
    std::vector<Implied>& closure = v.closures_[root];
    uint64_t* bits = &v.closure_bits_[root * v.words_];
    std::deque<Implied> queue = {{static_cast<FeatureId>(root), 0}};
    bits[root / 64] |= uint64_t{1} << (root % 64);
    while (!queue.empty()) {
      const Implied at = queue.front();
      queue.pop_front();
      closure.push_back(at);
      for (FeatureId next : v.direct_[at.id]) {
        uint64_t& word = bits[static_cast<size_t>(next) / 64];
        const uint64_t bit = uint64_t{1} << (next % 64);
        if (word & bit) continue;
        word |= bit;
        queue.push_back({next, at.distance + 1});
      }
    }
  }

  // Weights: the config's patterns first, most specific first, then the
  // built-in ones.
  std::vector<std::pair<std::string, int>> config_weights;
  for (const auto& [pattern, weight] : rules.weights) {
    config_weights.emplace_back(NormalizeFeature(pattern), weight);
  }
  for (const auto& [pattern, weight] : config_weights) {
    if (!IsValidFeature(pattern)) {
      return absl::InvalidArgumentError(
          absl::StrCat("weights: bad pattern \"", pattern, "\""));
    }
    if (weight < 0 || weight > 1000) {
      return absl::InvalidArgumentError(absl::StrCat("weights: \"", pattern,
                                                     "\": weight ", weight,
                                                     " is outside 0..1000"));
    }
  }
  std::stable_sort(config_weights.begin(), config_weights.end(),
                   [](const auto& a, const auto& b) {
                     return LiteralLength(a.first) > LiteralLength(b.first);
                   });
  v.weight_patterns_ = std::move(config_weights);
  for (const BuiltInWeight& w : BuiltInWeights()) {
    v.weight_patterns_.emplace_back(w.pattern, w.weight);
  }
  v.weights_by_id_.resize(n);
  for (size_t id = 0; id < n; ++id) {
    v.weights_by_id_[id] = v.Weight(absl::string_view(v.names_[id]));
  }
  return std::unique_ptr<const Vocabulary>(std::move(vocab));
}

bool Vocabulary::RuleAlias(absl::string_view spelling,
                           std::string* canonical) const {
  absl::string_view rest = spelling;
  for (absl::string_view prefix : {"cpu:", "cpu-", "cpu_"}) {
    if (absl::ConsumePrefix(&rest, prefix)) {
      auto alias = aliases_.find(rest);
      const absl::string_view target =
          alias == aliases_.end() ? rest : absl::string_view(alias->second);
      if (ids_.contains(target)) {
        *canonical = std::string(target);
        return true;
      }
      return false;
    }
  }
  std::string numbers;
  if (absl::ConsumePrefix(&rest, "nvcap-") ||
      absl::ConsumePrefix(&rest, "nv-compute-capability-") ||
      absl::ConsumePrefix(&rest, "nv-compute-")) {
    numbers = MajorMinor(rest);
    if (numbers.empty()) return false;
    *canonical = absl::StrCat("nv-compute-", numbers);
    return *canonical != spelling;
  }
  if (absl::ConsumePrefix(&rest, "nv-ptx-")) {
    numbers = MajorMinor(rest);
    if (numbers.empty()) return false;
    *canonical = absl::StrCat("nv-ptx-", numbers);
    return *canonical != spelling;
  }
  if (absl::ConsumePrefix(&rest, "cuda")) {
    // cuda:12.4, cuda-12.4, cuda12.4, cuda12-4 (the first separator is
    // optional; the canonical form is cuda-12-4).
    if (!absl::ConsumePrefix(&rest, ":")) absl::ConsumePrefix(&rest, "-");
    numbers = MajorMinor(rest);
    if (numbers.empty()) return false;
    *canonical = absl::StrCat("cuda-", numbers);
    return *canonical != spelling;
  }
  if (absl::ConsumePrefix(&rest, "nvidia-") && rest.find('.') != rest.npos) {
    numbers = MajorMinor(rest);
    if (numbers.empty()) return false;
    *canonical = absl::StrCat("nvidia-", numbers);
    return true;
  }
  return false;
}

std::string Vocabulary::Canonical(absl::string_view spelling) const {
  std::string normal = NormalizeFeature(spelling);
  if (auto alias = aliases_.find(normal); alias != aliases_.end()) {
    return alias->second;
  }
  std::string canonical;
  if (RuleAlias(normal, &canonical)) return canonical;
  return normal;
}

Vocabulary::FeatureId Vocabulary::Find(absl::string_view canonical) const {
  auto it = ids_.find(canonical);
  return it == ids_.end() ? kUnknown : it->second;
}

int Vocabulary::Weight(absl::string_view canonical) const {
  for (const auto& [pattern, weight] : weight_patterns_) {
    if (GlobMatch(pattern, canonical)) return weight;
  }
  return 1;
}

std::vector<std::string> Vocabulary::KnownFeatures() const {
  std::vector<std::string> out = names_;
  std::sort(out.begin(), out.end());
  return out;
}

std::pair<int, int> Vocabulary::CudaMinimumDriver(int major, int minor) {
  std::pair<int, int> lowest{-1, -1};
  for (const CudaDriverMinimum& row : CudaDriverMinimums()) {
    if (row.cuda_major != major || row.cuda_minor != minor) continue;
    const std::pair<int, int> driver{row.driver_major, row.driver_minor};
    if (lowest.first < 0 || driver < lowest) lowest = driver;
  }
  return lowest;
}

int Vocabulary::RuleDistance(absl::string_view have,
                             absl::string_view want) const {
  int a = 0, b = 0, x = 0, y = 0;
  if (ParsePair(have, "nvidia-", 4, &a, &b) &&
      ParsePair(want, "cuda-", 4, &x, &y)) {
    const std::vector<std::pair<int, int>> toolkits =
        CudaToolkitsFor({a, b}, cuda_minor_version_compatibility_);
    auto it = std::find(toolkits.begin(), toolkits.end(), std::make_pair(x, y));
    return it == toolkits.end() ? -1 : static_cast<int>(it - toolkits.begin());
  }
  // Capabilities with more than two digits are not GPUs NVIDIA makes; they
  // stay opaque so the PTX distances stay above every cubin distance.
  if (!ParsePair(have, "nv-compute-", 2, &a, &b)) return -1;
  if (ParsePair(want, "nv-compute-", 2, &x, &y)) {
    return x == a && y <= b ? b - y : -1;
  }
  if (ParsePair(want, "nv-ptx-", 2, &x, &y)) {
    if (std::make_pair(x, y) > std::make_pair(a, b)) return -1;
    return kPtxDistance + 100 * (a - x) + (b - y);
  }
  return -1;
}

std::vector<std::pair<std::string, int>> Vocabulary::RuleClosure(
    absl::string_view have) const {
  std::vector<std::pair<std::string, int>> out;
  int a = 0, b = 0;
  if (ParsePair(have, "nvidia-", 4, &a, &b)) {
    const std::vector<std::pair<int, int>> toolkits =
        CudaToolkitsFor({a, b}, cuda_minor_version_compatibility_);
    for (size_t i = 0; i < toolkits.size(); ++i) {
      out.emplace_back(
          absl::StrCat("cuda-", toolkits[i].first, "-", toolkits[i].second),
          static_cast<int>(i));
    }
  } else if (ParsePair(have, "nv-compute-", 2, &a, &b)) {
    for (int y = b - 1; y >= 0; --y) {
      out.emplace_back(absl::StrCat("nv-compute-", a, "-", y), b - y);
    }
  }
  return out;
}

std::vector<Vocabulary::Implied> Vocabulary::ImpliedBy(FeatureId id) const {
  std::vector<Implied> out;
  for (size_t from = 0; from < names_.size(); ++from) {
    if (static_cast<FeatureId>(from) == id) continue;
    for (const Implied& implied : closures_[from]) {
      if (implied.id == id) {
        out.push_back({static_cast<FeatureId>(from), implied.distance});
      }
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [this](const Implied& l, const Implied& r) {
                     return std::tie(l.distance, names_[l.id]) <
                            std::tie(r.distance, names_[r.id]);
                   });
  return out;
}

std::vector<std::string> Vocabulary::AliasesOf(
    absl::string_view canonical) const {
  std::vector<std::string> out;
  for (const auto& [spelling, target] : aliases_) {
    if (target == canonical) out.push_back(spelling);
  }
  std::sort(out.begin(), out.end());
  return out;
}

const BuiltInFamily* Vocabulary::FamilyOf(absl::string_view canonical) const {
  if (auto it = families_.find(canonical); it != families_.end()) {
    return it->second;
  }
  int a = 0, b = 0;
  for (const BuiltInFamily& family : BuiltInFamilies()) {
    if (family.pattern.empty()) continue;
    // "cuda-M-m" -> prefix "cuda-".
    const absl::string_view prefix =
        family.pattern.substr(0, family.pattern.find_first_of("MA"));
    if (ParsePair(canonical, prefix, 4, &a, &b)) return &family;
  }
  return nullptr;
}

}  // namespace nodefit
