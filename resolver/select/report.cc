#include "resolver/select/report.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nodefit {
namespace {

std::string ShortDigest(absl::string_view digest) {
  // "sha256:" + 12 hex characters, as `ctr` and `crictl` abbreviate.
  return std::string(digest.substr(0, std::min<size_t>(digest.size(), 19)));
}

std::string ScoreText(const Score& s) {
  return absl::StrCat("w=", s.weight, " s=", s.specificity, " d=", s.distance);
}

// Display width of UTF-8 text: the check marks are one column each.
size_t Width(absl::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

void Pad(std::string* out, absl::string_view cell, size_t width) {
  absl::StrAppend(out, cell);
  out->append(width > Width(cell) ? width - Width(cell) : 0, ' ');
}

}  // namespace

nlohmann::json SelectionToJson(const Selection& selection,
                               const NodeClosure& node) {
  nlohmann::json out = nlohmann::json::object();
  out["outcome"] = std::string(OutcomeName(selection.outcome));
  out["reason"] = selection.reason;
  out["chosen"] = nullptr;
  if (selection.chosen >= 0) {
    const CandidateReport& c = selection.candidates[selection.chosen];
    out["chosen"] = {{"position", c.position},
                     {"digest", c.digest},
                     {"mediaType", c.media_type},
                     {"size", c.size}};
  }
  out["node"] = {{"platform", node.platform().String()},
                 {"features", node.features()}};
  nlohmann::json candidates = nlohmann::json::array();
  for (const CandidateReport& c : selection.candidates) {
    nlohmann::json requirements = nlohmann::json::array();
    nlohmann::json met = nlohmann::json::array();
    for (const Requirement& r : c.requirements) {
      requirements.push_back(r.feature);
      if (r.distance >= 0) {
        met.push_back({{"feature", r.feature},
                       {"distance", r.distance},
                       {"via", r.via},
                       {"weight", r.weight}});
      }
    }
    nlohmann::json item = {
        {"position", c.position},    {"digest", c.digest},
        {"mediaType", c.media_type}, {"size", c.size},
        {"platform", c.platform},    {"requirements", std::move(requirements)},
        {"met", std::move(met)},     {"missing", c.missing},
        {"eligible", c.eligible},    {"reason", c.reason},
    };
    item["score"] = nullptr;
    if (c.eligible) {
      item["score"] = {{"weight", c.score.weight},
                       {"specificity", c.score.specificity},
                       {"distance", c.score.distance}};
    }
    candidates.push_back(std::move(item));
  }
  out["candidates"] = std::move(candidates);
  return out;
}

std::string SelectionToText(const Selection& selection,
                            const NodeClosure& node) {
  std::string out = absl::StrCat(
      "node      ", node.platform().String(), "  features: ",
      node.features().empty() ? "(none)" : absl::StrJoin(node.features(), " "),
      "\n\n");

  struct Row {
    std::string position, platform, requirements, verdict;
  };
  std::vector<Row> rows = {{"#", "platform", "requirements", "score / reason"}};
  for (const CandidateReport& c : selection.candidates) {
    Row row;
    row.position = absl::StrCat(c.position);
    row.platform = c.platform.empty() ? "(none)" : c.platform;
    std::vector<std::string> reqs;
    for (const Requirement& r : c.requirements) {
      reqs.push_back(r.distance < 0
                         ? absl::StrCat("✗", r.feature)
                         : absl::StrCat("✓", r.feature,
                                        r.distance > 0
                                            ? absl::StrCat("(", r.distance, ")")
                                            : ""));
    }
    row.requirements = reqs.empty() ? "-" : absl::StrJoin(reqs, " ");
    row.verdict = c.eligible ? absl::StrCat(ScoreText(c.score), "  ", c.reason)
                             : c.reason;
    if (c.position == selection.chosen) row.position += "*";
    rows.push_back(std::move(row));
  }
  size_t w0 = 0, w1 = 0, w2 = 0;
  for (const Row& r : rows) {
    w0 = std::max(w0, Width(r.position));
    w1 = std::max(w1, Width(r.platform));
    w2 = std::max(w2, Width(r.requirements));
  }
  for (const Row& r : rows) {
    out += "  ";
    Pad(&out, r.position, w0 + 2);
    Pad(&out, r.platform, w1 + 2);
    Pad(&out, r.requirements, w2 + 2);
    absl::StrAppend(&out, r.verdict, "\n");
  }
  out += "\n";
  switch (selection.outcome) {
    case Outcome::kSelected: {
      const CandidateReport& c = selection.candidates[selection.chosen];
      absl::StrAppend(&out, "selected  #", c.position, " ", c.digest, " (",
                      c.platform, ")\n");
      break;
    }
    case Outcome::kPassthrough:
      absl::StrAppend(&out, "passthrough: ", selection.reason, "\n");
      break;
    case Outcome::kNoMatch:
      absl::StrAppend(&out, "no match: ", selection.reason, "\n");
      break;
  }
  return out;
}

std::string NoMatchMessage(absl::string_view image, const Selection& selection,
                           const NodeClosure& node) {
  std::vector<std::string> parts;
  for (const CandidateReport& c : selection.candidates) {
    if (!c.runnable) continue;
    parts.push_back(absl::StrCat("#", c.position, " ", ShortDigest(c.digest),
                                 " ", c.reason));
  }
  return absl::StrCat("no build of ", image, " fits node ",
                      node.platform().String(), " with features [",
                      absl::StrJoin(node.features(), ", "),
                      "]: ", absl::StrJoin(parts, "; "));
}

}  // namespace nodefit
