#include "resolver/publish/index_matrix.h"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "resolver/base/status_macros.h"
#include "resolver/detect/detect_nfd.h"

namespace nodefit {
namespace {

struct BuiltInProfile {
  absl::string_view name;
  absl::string_view architecture;
  absl::string_view variant;
  std::vector<absl::string_view> features;
};

// Spellings are canonical built-in names (index_matrix_test checks each).
const std::vector<BuiltInProfile>& BuiltInProfiles() {
  static const std::vector<BuiltInProfile>* const kProfiles =
      new std::vector<BuiltInProfile>{
          {"generic amd64", "amd64", "", {}},
          {"amd64 v2", "amd64", "v2", {}},
          {"amd64 v3", "amd64", "v3", {}},
          {"amd64 v4", "amd64", "v4", {}},
          {"Intel Haswell", "amd64", "", {"haswell"}},
          {"Intel Broadwell", "amd64", "", {"broadwell"}},
          {"Intel Skylake-SP", "amd64", "", {"skylake-avx512"}},
          {"Intel Cascade Lake", "amd64", "", {"cascadelake"}},
          {"Intel Ice Lake-SP", "amd64", "", {"icelake-server"}},
          {"Intel Sapphire Rapids", "amd64", "", {"sapphirerapids"}},
          {"AMD Zen 2", "amd64", "", {"znver2"}},
          {"AMD Zen 3", "amd64", "", {"znver3"}},
          {"AMD Zen 4", "amd64", "", {"znver4"}},
          {"generic arm64", "arm64", "", {}},
          {"Graviton2 (Neoverse N1)", "arm64", "", {"neoverse-n1"}},
          {"Graviton3 (Neoverse V1)", "arm64", "", {"neoverse-v1"}},
          {"Grace (Neoverse V2)", "arm64", "", {"neoverse-v2"}},
          {"Broadwell + Tesla M60 (5.2) + driver 396.44",
           "amd64",
           "",
           {"broadwell", "nv-compute-5-2", "nvidia-396-44"}},
          {"Skylake-SP + V100 (7.0) + driver 535.104",
           "amd64",
           "",
           {"skylake-avx512", "nv-compute-7-0", "nvidia-535-104"}},
          {"Cascade Lake + T4 (7.5) + driver 535.104",
           "amd64",
           "",
           {"cascadelake", "nv-compute-7-5", "nvidia-535-104"}},
          {"Ice Lake-SP + A100 (8.0) + driver 550.54",
           "amd64",
           "",
           {"icelake-server", "nv-compute-8-0", "nvidia-550-54"}},
          {"Sapphire Rapids + H100 (9.0) + driver 570.86",
           "amd64",
           "",
           {"sapphirerapids", "nv-compute-9-0", "nvidia-570-86"}},
          {"Zen 3 + A10 (8.6) + driver 550.54",
           "amd64",
           "",
           {"znver3", "nv-compute-8-6", "nvidia-550-54"}},
      };
  return *kProfiles;
}

// Strips a '#' comment: one that starts the line or follows a blank.
absl::string_view WithoutComment(absl::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && (i == 0 || absl::ascii_isspace(line[i - 1]))) {
      return line.substr(0, i);
    }
  }
  return line;
}

struct ProfileLine {
  absl::string_view name;  // empty when the line has none
  absl::string_view spec;
};

// "NAME = SPEC" or "SPEC". A spec may itself hold '=' in a feature, so a
// line that parses whole is a spec without a name.
ProfileLine SplitProfileLine(absl::string_view line) {
  if (ParsePlatformSpec(line).ok()) return {"", line};
  const size_t equals = line.find('=');
  if (equals == absl::string_view::npos) return {"", line};
  return {absl::StripAsciiWhitespace(line.substr(0, equals)),
          absl::StripAsciiWhitespace(line.substr(equals + 1))};
}

// True when `spec` starts with something ParsePlatform takes: the lines of
// a profile list do, an NFD file's "name=value" lines do not.
bool HoldsPlatform(absl::string_view spec) {
  return ParsePlatform(spec.substr(0, spec.find(':'))).ok();
}

std::string FeatureList(const IndexEntry& entry) {
  std::vector<std::string> all = entry.features;
  all.insert(all.end(), entry.os_features.begin(), entry.os_features.end());
  return absl::StrJoin(all, " ");
}

// Display width of UTF-8 text (code points), for aligning columns.
size_t Width(absl::string_view text) {
  return static_cast<size_t>(std::count_if(
      text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string PadTo(absl::string_view text, size_t width) {
  std::string out(text);
  out.append(width > Width(text) ? width - Width(text) : 0, ' ');
  return out;
}

// What a profile gets, in one cell.
std::string GetsText(const Matrix& matrix, const MatrixRow& row) {
  const Selection& s = row.selection;
  if (s.outcome == Outcome::kSelected && s.chosen >= 0 &&
      static_cast<size_t>(s.chosen) < matrix.entries.size()) {
    return EntryLabel(matrix.entries[s.chosen]);
  }
  return absl::StrCat(OutcomeName(s.outcome), ": ", s.reason);
}

// Why a candidate is where it is; eligible losers of a passthrough have no
// reason of their own.
std::string CellReason(const CandidateReport& c) {
  if (!c.reason.empty()) return c.reason;
  return c.eligible ? "fits" : "";
}

enum class Cell { kWinner, kEligible, kIneligible };

Cell CellOf(const MatrixRow& row, const CandidateReport& c) {
  if (c.position == row.selection.chosen) return Cell::kWinner;
  return c.eligible ? Cell::kEligible : Cell::kIneligible;
}

std::string MarkdownEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      out += ' ';
      continue;
    }
    if (absl::string_view("\\`*_[]<>|").find(c) != absl::string_view::npos) {
      out += '\\';
    }
    out += c;
  }
  return out;
}

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string NodeText(const NodeProfile& node) {
  std::vector<std::string> parts = {node.platform.String()};
  parts.insert(parts.end(), node.features.begin(), node.features.end());
  return absl::StrJoin(parts, " ");
}

constexpr absl::string_view kHtmlStyle = R"css(
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table.matrix { border-collapse: collapse; }
table.matrix th, table.matrix td { border: 1px solid #ccc; padding: 0.3em 0.5em; }
th.entry { font-weight: normal; font-size: 0.85em; vertical-align: bottom;
           text-align: left; white-space: nowrap; }
th.name { text-align: left; white-space: nowrap; }
td.winner { background: #1b7f3b; color: #fff; font-weight: bold;
            text-align: center; font-size: 1.2em; }
td.eligible { background: #fff6d5; color: #7a6400; text-align: center;
              font-weight: bold; font-size: 1.2em; }
td.ineligible { background: #f4f4f4; color: #b0b0b0; text-align: center; }
td.outcome { font-size: 0.9em; }
td.none { background: #fde2e1; color: #8a1c14; font-size: 0.9em; }
p.legend { font-size: 0.9em; color: #555; }
)css";

}  // namespace

std::vector<MatrixProfile> BuiltInMatrixProfiles() {
  std::vector<MatrixProfile> out;
  for (const BuiltInProfile& p : BuiltInProfiles()) {
    MatrixProfile profile;
    profile.name = std::string(p.name);
    profile.node.platform = NormalizePlatform(
        {"linux", std::string(p.architecture), std::string(p.variant)});
    for (absl::string_view f : p.features) {
      profile.node.features.emplace_back(f);
    }
    out.push_back(std::move(profile));
  }
  return out;
}

absl::StatusOr<std::vector<MatrixProfile>> ParseMatrixProfiles(
    absl::string_view text, absl::string_view origin, const NfdConfig& nfd,
    const Platform& default_platform) {
  struct Numbered {
    int number;
    absl::string_view text;
  };
  std::vector<Numbered> lines;
  bool any_platform = false;
  int number = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++number;
    const absl::string_view line =
        absl::StripAsciiWhitespace(WithoutComment(raw));
    if (line.empty()) continue;
    lines.push_back({number, line});
    any_platform = any_platform || HoldsPlatform(SplitProfileLine(line).spec);
  }

  std::vector<MatrixProfile> profiles;
  if (!any_platform) {
    MatrixProfile profile;
    profile.name = std::string(origin);
    profile.node.platform = NormalizePlatform(default_platform);
    for (SourcedFeature& f : ParseNfdFeatures(text, nfd, origin).features) {
      profile.node.features.push_back(std::move(f.feature));
    }
    profiles.push_back(std::move(profile));
    return profiles;
  }
  for (const Numbered& line : lines) {
    const ProfileLine parts = SplitProfileLine(line.text);
    absl::StatusOr<PlatformSpec> spec = ParsePlatformSpec(parts.spec);
    if (!spec.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ":", line.number, ": ", spec.status().message(),
                       "; a profile line is [NAME =] "
                       "os/arch[/variant][:feature...]"));
    }
    MatrixProfile profile;
    profile.name = std::string(parts.name.empty() ? parts.spec : parts.name);
    profile.node = NodeProfile{spec->platform, std::move(spec->features)};
    profiles.push_back(std::move(profile));
  }
  return profiles;
}

absl::StatusOr<Matrix> BuildMatrix(const ParsedIndex& index,
                                   const std::vector<MatrixProfile>& profiles,
                                   const FeatureRules& rules,
                                   NoMatchPolicy policy) {
  ASSIGN_OR_RETURN(std::unique_ptr<const Vocabulary> vocabulary,
                   Vocabulary::Create(rules));
  Matrix matrix;
  matrix.entries = index.entries;
  matrix.rows.reserve(profiles.size());
  for (const MatrixProfile& profile : profiles) {
    matrix.rows.push_back({profile, Selector::CreateWithVocabulary(
                                        profile.node, *vocabulary, policy)
                                        ->Select(index)});
  }
  return matrix;
}

std::string EntryLabel(const IndexEntry& entry) {
  std::string label = absl::StrCat(
      "#", entry.position, " ",
      entry.has_platform ? entry.platform.String() : "(no platform)");
  if (entry.is_attestation) {
    absl::StrAppend(&label, " (attestation)");
  } else if (!IsImageManifestMediaType(entry.media_type)) {
    absl::StrAppend(&label, " (not an image)");
  } else if (entry.features.empty() && entry.os_features.empty()) {
    absl::StrAppend(&label, " (no features)");
  } else {
    absl::StrAppend(&label, " ", FeatureList(entry));
  }
  return label;
}

std::string MatrixToText(const Matrix& matrix) {
  size_t width = Width("PROFILE");
  for (const MatrixRow& row : matrix.rows) {
    width = std::max(width, Width(row.profile.name));
  }
  std::string out = absl::StrCat(PadTo("PROFILE", width), "  GETS\n");
  for (const MatrixRow& row : matrix.rows) {
    absl::StrAppend(&out, PadTo(row.profile.name, width), "  ",
                    GetsText(matrix, row), "\n");
    for (const CandidateReport& c : row.selection.candidates) {
      if (c.position == row.selection.chosen ||
          static_cast<size_t>(c.position) >= matrix.entries.size()) {
        continue;
      }
      absl::StrAppend(&out, "    ", EntryLabel(matrix.entries[c.position]),
                      ": ", CellReason(c), "\n");
    }
  }
  return out;
}

nlohmann::json MatrixToJson(const Matrix& matrix) {
  nlohmann::json entries = nlohmann::json::array();
  for (const IndexEntry& e : matrix.entries) {
    entries.push_back(
        {{"position", e.position},
         {"digest", e.digest},
         {"platform", e.has_platform ? nlohmann::json(e.platform.String())
                                     : nlohmann::json(nullptr)},
         {"features", e.features},
         {"label", EntryLabel(e)}});
  }
  nlohmann::json rows = nlohmann::json::array();
  for (const MatrixRow& row : matrix.rows) {
    const Selection& s = row.selection;
    nlohmann::json candidates = nlohmann::json::array();
    for (const CandidateReport& c : s.candidates) {
      candidates.push_back({{"position", c.position},
                            {"eligible", c.eligible},
                            {"reason", CellReason(c)}});
    }
    rows.push_back({{"profile", row.profile.name},
                    {"platform", row.profile.node.platform.String()},
                    {"features", row.profile.node.features},
                    {"outcome", std::string(OutcomeName(s.outcome))},
                    {"chosen", s.chosen >= 0 ? nlohmann::json(s.chosen)
                                             : nlohmann::json(nullptr)},
                    {"reason", s.reason},
                    {"candidates", std::move(candidates)}});
  }
  return {{"entries", std::move(entries)}, {"rows", std::move(rows)}};
}

std::string MatrixToMarkdown(const Matrix& matrix) {
  std::string out = "| profile |";
  std::string rule = "|---|";
  for (const IndexEntry& e : matrix.entries) {
    absl::StrAppend(&out, " #", e.position, " |");
    absl::StrAppend(&rule, ":-:|");
  }
  absl::StrAppend(&out, " gets |\n", rule, "---|\n");
  for (const MatrixRow& row : matrix.rows) {
    absl::StrAppend(&out, "| ", MarkdownEscape(row.profile.name), " |");
    for (const CandidateReport& c : row.selection.candidates) {
      switch (CellOf(row, c)) {
        case Cell::kWinner:
          absl::StrAppend(&out, " **✔** |");
          break;
        case Cell::kEligible:
          absl::StrAppend(&out, " · |");
          break;
        case Cell::kIneligible:
          absl::StrAppend(&out, " ✗ |");
          break;
      }
    }
    const std::string gets =
        row.selection.chosen >= 0
            ? absl::StrCat("#", row.selection.chosen)
            : std::string(OutcomeName(row.selection.outcome));
    absl::StrAppend(&out, " ", gets, " |\n");
  }
  std::vector<std::string> legend;
  legend.reserve(matrix.entries.size());
  for (const IndexEntry& e : matrix.entries) {
    legend.push_back(MarkdownEscape(EntryLabel(e)));
  }
  absl::StrAppend(&out, "\n", absl::StrJoin(legend, "; "),
                  "\n\n**✔** gets it, · fits but loses, ✗ cannot run it\n");
  return out;
}

std::string MatrixToHtml(const Matrix& matrix, absl::string_view title) {
  const std::string escaped_title = HtmlEscape(title);
  std::string out = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>",
      escaped_title, "</title>\n<style>", kHtmlStyle, "</style>\n</head>\n",
      "<body>\n<h1>", escaped_title, "</h1>\n<table class=\"matrix\">\n",
      "<thead><tr><th>profile</th>");
  for (const IndexEntry& e : matrix.entries) {
    std::vector<std::string> details = {e.digest};
    for (const auto& [key, value] : e.annotations) {
      details.push_back(absl::StrCat(key, "=", value));
    }
    // One word a line: feature names are not broken at their hyphens.
    std::vector<std::string> words;
    for (absl::string_view word :
         absl::StrSplit(EntryLabel(e), ' ', absl::SkipEmpty())) {
      words.push_back(HtmlEscape(word));
    }
    absl::StrAppend(&out, "<th class=\"entry\" title=\"",
                    HtmlEscape(absl::StrJoin(details, "\n")), "\">",
                    absl::StrJoin(words, "<br>"), "</th>");
  }
  absl::StrAppend(&out, "<th>gets</th></tr></thead>\n<tbody>\n");
  for (const MatrixRow& row : matrix.rows) {
    absl::StrAppend(&out, "<tr class=\"profile\"><th class=\"name\" title=\"",
                    HtmlEscape(NodeText(row.profile.node)), "\">",
                    HtmlEscape(row.profile.name), "</th>");
    for (const CandidateReport& c : row.selection.candidates) {
      const std::string reason = HtmlEscape(CellReason(c));
      switch (CellOf(row, c)) {
        case Cell::kWinner:
          absl::StrAppend(&out, "<td class=\"winner\" title=\"", reason,
                          "\">✔</td>");
          break;
        case Cell::kEligible:
          absl::StrAppend(&out, "<td class=\"eligible\" title=\"", reason,
                          "\">·</td>");
          break;
        case Cell::kIneligible:
          absl::StrAppend(&out, "<td class=\"ineligible\" title=\"", reason,
                          "\">✗</td>");
          break;
      }
    }
    const bool selected = row.selection.outcome == Outcome::kSelected;
    absl::StrAppend(&out, "<td class=\"", selected ? "outcome" : "outcome none",
                    "\">", HtmlEscape(GetsText(matrix, row)), "</td></tr>\n");
  }
  absl::StrAppend(&out,
                  "</tbody>\n</table>\n<p class=\"legend\">✔ gets it; · fits "
                  "but loses; ✗ cannot run it. Hover a cell for the "
                  "reason.</p>\n</body>\n</html>\n");
  return out;
}

}  // namespace nodefit
