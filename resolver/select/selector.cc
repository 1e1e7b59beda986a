#include "resolver/select/selector.h"

#include <algorithm>
#include <bitset>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nodefit {
namespace {

std::tuple<int, int, int> Key(const Score& s) {
  return {s.weight, s.specificity, -s.distance};
}

void AddUnique(std::vector<std::string>* list, std::string value) {
  if (std::find(list->begin(), list->end(), value) == list->end()) {
    list->push_back(std::move(value));
  }
}

}  // namespace

absl::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kSelected:
      return "selected";
    case Outcome::kPassthrough:
      return "passthrough";
    case Outcome::kNoMatch:
      return "no_match";
  }
  return "unknown";
}

absl::string_view NoMatchPolicyName(NoMatchPolicy policy) {
  return policy == NoMatchPolicy::kFail ? "fail" : "passthrough";
}

absl::StatusOr<NoMatchPolicy> ParseNoMatchPolicy(absl::string_view text) {
  if (text == "fail") return NoMatchPolicy::kFail;
  if (text == "passthrough") return NoMatchPolicy::kPassthrough;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown no-match policy \"", text, "\" (expected fail or passthrough)"));
}

bool BetterScore(const Score& a, const Score& b) { return Key(a) > Key(b); }

absl::StatusOr<std::unique_ptr<const Selector>> Selector::Create(
    const NodeProfile& node, const FeatureRules& rules, NoMatchPolicy policy) {
  absl::StatusOr<std::unique_ptr<const Vocabulary>> vocabulary =
      Vocabulary::Create(rules);
  if (!vocabulary.ok()) return vocabulary.status();
  const Vocabulary& shared = **vocabulary;
  return std::unique_ptr<const Selector>(
      new Selector(*std::move(vocabulary), shared, node, policy));
}

std::unique_ptr<const Selector> Selector::CreateWithVocabulary(
    const NodeProfile& node, const Vocabulary& vocabulary,
    NoMatchPolicy policy) {
  return std::unique_ptr<const Selector>(
      new Selector(nullptr, vocabulary, node, policy));
}

Selection Selector::Select(const ParsedIndex& index) const {
  Selection selection;
  const Vocabulary& vocab = *vocabulary_;
  std::vector<uint64_t> closure(vocab.closure_words());
  std::vector<std::string> raw;
  std::vector<Vocabulary::FeatureId> ids;
  bool feature_data = false;

  selection.candidates.resize(index.entries.size());
  for (size_t i = 0; i < index.entries.size(); ++i) {
    const IndexEntry& entry = index.entries[i];
    CandidateReport& c = selection.candidates[i];
    c.position = entry.position;
    c.digest = entry.digest;
    c.media_type = entry.media_type;
    c.size = entry.size;
    if (entry.has_platform) c.platform = entry.platform.String();
    if (entry.is_attestation) {
      c.runnable = false;
      c.reason = "attestation, not a runnable image";
      continue;
    }
    if (!IsImageManifestMediaType(entry.media_type)) {
      c.runnable = false;
      c.reason =
          absl::StrCat("media type ", entry.media_type, " is not an image");
      continue;
    }

    raw.clear();
    if (entry.has_platform) {
      if (std::string v = VariantFeature(entry.platform); !v.empty()) {
        AddUnique(&raw, std::move(v));
      }
    }
    for (const std::string& f : entry.features) {
      AddUnique(&raw, vocab.Canonical(f));
    }
    for (const std::string& f : entry.os_features) {
      AddUnique(&raw, vocab.Canonical(f));
    }
    if (!raw.empty()) feature_data = true;

    // Reduce to independent members.
    ids.resize(raw.size());
    for (size_t k = 0; k < raw.size(); ++k) ids[k] = vocab.Find(raw[k]);
    std::fill(closure.begin(), closure.end(), 0);
    int unknown_members = 0;
    for (size_t k = 0; k < raw.size(); ++k) {
      bool implied_by_other = false;
      if (ids[k] != Vocabulary::kUnknown) {
        for (size_t j = 0; j < raw.size() && !implied_by_other; ++j) {
          implied_by_other = j != k && ids[j] != Vocabulary::kUnknown &&
                             vocab.Implies(ids[j], ids[k]);
        }
      }
      if (implied_by_other) continue;
      Requirement r;
      r.feature = std::move(raw[k]);
      if (ids[k] == Vocabulary::kUnknown) {
        r.weight = vocab.Weight(r.feature);
        std::tie(r.distance, r.via) = node_.Lookup(r.feature);
        ++unknown_members;
      } else {
        r.weight = vocab.Weight(ids[k]);
        r.distance = node_.Distance(ids[k]);
        r.via = std::string(node_.Via(ids[k]));
        absl::Span<const uint64_t> bits = vocab.ClosureBits(ids[k]);
        for (size_t w = 0; w < bits.size(); ++w) closure[w] |= bits[w];
      }
      c.score.weight += r.weight;
      if (r.distance < 0) {
        c.missing.push_back(r.feature);
      } else {
        c.score.distance += r.distance;
      }
      c.requirements.push_back(std::move(r));
    }
    c.score.specificity = unknown_members;
    for (uint64_t word : closure) {
      c.score.specificity += static_cast<int>(std::bitset<64>(word).count());
    }

    c.platform_ok = !entry.has_platform || node_.CanRun(entry.platform);
    c.eligible = c.platform_ok && c.missing.empty();
    if (!c.platform_ok) {
      c.reason = absl::StrCat("platform ", c.platform, " does not run on ",
                              node_.platform().String());
    }
    if (!c.missing.empty()) {
      absl::StrAppend(&c.reason, c.reason.empty() ? "" : "; ", "lacks ",
                      absl::StrJoin(c.missing, ", "));
    }
  }

  if (index.kind == DocumentKind::kManifest) {
    selection.outcome = Outcome::kPassthrough;
    selection.reason = "a single image manifest, not an index";
    return selection;
  }
  if (!feature_data) {
    selection.outcome = Outcome::kPassthrough;
    selection.reason =
        "no entry carries features or a variant above its baseline";
    return selection;
  }

  const CandidateReport* best = nullptr;
  for (const CandidateReport& c : selection.candidates) {
    if (c.eligible && (best == nullptr || BetterScore(c.score, best->score))) {
      best = &c;
    }
  }
  if (best == nullptr) {
    if (policy_ == NoMatchPolicy::kFail) {
      selection.outcome = Outcome::kNoMatch;
      selection.reason =
          absl::StrCat("no build fits node ", node_.platform().String());
    } else {
      selection.outcome = Outcome::kPassthrough;
      selection.reason =
          absl::StrCat("no build fits node ", node_.platform().String(),
                       "; policy passthrough leaves the choice to containerd");
    }
    return selection;
  }

  selection.outcome = Outcome::kSelected;
  selection.chosen = best->position;
  selection.reason = "best fit";
  for (CandidateReport& c : selection.candidates) {
    if (!c.eligible) continue;
    if (c.position == best->position) {
      c.reason = "best fit";
    } else if (Key(c.score) == Key(best->score)) {
      c.reason = absl::StrCat("fits; same score as #", best->position,
                              ", which comes first");
    } else {
      c.reason = absl::StrCat("fits; lower score than #", best->position);
    }
  }
  return selection;
}

}  // namespace nodefit
