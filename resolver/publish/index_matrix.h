// `nodefit index matrix`: which entry of an index each node profile gets,
// and why the others lose — the selection of docs/selection.md run once per
// profile, rendered for a terminal, for programs, for a README and as one
// self-contained HTML page.
#ifndef NODEFIT_RESOLVER_PUBLISH_INDEX_MATRIX_H_
#define NODEFIT_RESOLVER_PUBLISH_INDEX_MATRIX_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "resolver/config/config.h"
#include "resolver/select/index.h"
#include "resolver/select/node_profile.h"
#include "resolver/select/selector.h"
#include "resolver/select/vocabulary.h"

namespace nodefit {

struct MatrixProfile {
  std::string name;  // "skylake-avx512 + A100 (8.0) + driver 550"
  NodeProfile node;
};

// Common node profiles: generic amd64 v1-v4, common Intel, AMD and Arm
// server cores, and common GPU / driver pairs.
std::vector<MatrixProfile> BuiltInMatrixProfiles();

// Profiles from a file's text. A profile list has one profile per line,
// "[NAME =] PLATFORM-SPEC" in the seeds' syntax
// ("linux/amd64:broadwell:nv-compute-5-2:nvidia-396-44"), '#' comments and
// blank lines skipped. A text with no line holding a platform is read as an
// NFD feature file (detect_nfd.h) with `nfd`'s prefix and map, and gives one
// profile named `origin` with `default_platform`. InvalidArgument names the
// line that is wrong.
[[nodiscard]] absl::StatusOr<std::vector<MatrixProfile>> ParseMatrixProfiles(
    absl::string_view text, absl::string_view origin, const NfdConfig& nfd,
    const Platform& default_platform);

struct MatrixRow {
  MatrixProfile profile;
  Selection selection;
};

struct Matrix {
  std::vector<IndexEntry> entries;  // the index's entries, in order
  std::vector<MatrixRow> rows;      // one per profile, in order
};

// InvalidArgument when `rules` do not make a vocabulary.
[[nodiscard]] absl::StatusOr<Matrix> BuildMatrix(
    const ParsedIndex& index, const std::vector<MatrixProfile>& profiles,
    const FeatureRules& rules, NoMatchPolicy policy);

// "#3 linux/amd64 broadwell nvidia-396-44": how an entry is named in every
// rendering.
std::string EntryLabel(const IndexEntry& entry);

// A table: profile, the winning entry (or the outcome), then per profile
// the losers' reasons, indented.
std::string MatrixToText(const Matrix& matrix);
// {"entries": [{"position", "digest", "platform", "features", "label"}],
//  "rows": [{"profile", "platform", "features", "outcome", "chosen" (position
//  or null), "reason", "candidates": [{"position", "eligible", "reason"}]}]}
nlohmann::json MatrixToJson(const Matrix& matrix);
// A GitHub-flavoured Markdown grid: profiles × entries, the winner marked.
std::string MatrixToMarkdown(const Matrix& matrix);
// One self-contained page (inline CSS, no script, no external resource): a
// grid of profiles × entries with the winner marked and each cell's reason
// in its title; `title` is escaped.
std::string MatrixToHtml(const Matrix& matrix, absl::string_view title);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_PUBLISH_INDEX_MATRIX_H_
