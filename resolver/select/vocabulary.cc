#include "resolver/select/vocabulary.h"

#include <algorithm>
#include <deque>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
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

size_t LiteralLength(absl::string_view pattern) {
  return static_cast<size_t>(
      std::count_if(pattern.begin(), pattern.end(),
                    [](char c) { return c != '*' && c != '?'; }));
}

}  // namespace

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

  for (const BuiltInImplication& row : BuiltInImplications()) {
    const FeatureId from = intern(row.feature);
    for (absl::string_view to : row.implies) add_edge(from, intern(to));
  }

  // Aliases: built-in first, then the config's, each checked against the
  // known features so an alias can never silently rename one.
  for (const BuiltInAlias& alias : BuiltInAliases()) {
    v.aliases_.emplace(alias.spelling, alias.canonical);
  }
  for (const auto& [spelling, canonical] : rules.aliases) {
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
    if (v.ids_.contains(spelling) || rules.implies.count(spelling) > 0) {
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

  for (const auto& [feature, implied] : rules.implies) {
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
  std::vector<std::pair<std::string, int>> config_weights = rules.weights;
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
  if (absl::ConsumePrefix(&rest, "nvidia-") && rest.find('.') != rest.npos) {
    numbers = MajorMinor(rest);
    if (numbers.empty()) return false;
    *canonical = absl::StrCat("nvidia-", numbers);
    return true;
  }
  return false;
}

std::string Vocabulary::Canonical(absl::string_view spelling) const {
  if (auto alias = aliases_.find(spelling); alias != aliases_.end()) {
    return alias->second;
  }
  std::string canonical;
  if (RuleAlias(spelling, &canonical)) return canonical;
  return std::string(spelling);
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

}  // namespace nodefit
