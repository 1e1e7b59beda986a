// `nodefit index lint` and `matrix` on a hostile index: lint must finish
// within its work budget with positions inside the index, and the HTML page
// must escape whatever the index says (no markup of the index's own).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "resolver/base/json_util.h"
#include "resolver/publish/index_lint.h"
#include "resolver/publish/index_matrix.h"
#include "resolver/select/index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<nodefit::ParsedIndex> index = nodefit::ParseIndex(text);
  if (!index.ok()) return 0;
  const nodefit::LintReport report =
      nodefit::LintIndex(*index, nodefit::Vocabulary::BuiltIn());
  const int exit_code = report.ExitCode();
  NODEFIT_FUZZ_CHECK(exit_code >= 0 && exit_code <= 2);
  for (const nodefit::LintProblem& problem : report.problems) {
    NODEFIT_FUZZ_CHECK(!problem.message.empty());
    for (int position : problem.positions) {
      NODEFIT_FUZZ_CHECK(position >= 0 &&
                         static_cast<size_t>(position) < index->entries.size());
    }
  }
  (void)nodefit::DumpJson(nodefit::LintToJson(report));
  std::vector<nodefit::MatrixProfile> profiles =
      nodefit::BuiltInMatrixProfiles();
  profiles.resize(3);
  const absl::StatusOr<nodefit::Matrix> matrix =
      nodefit::BuildMatrix(*index, profiles, {}, nodefit::NoMatchPolicy::kFail);
  NODEFIT_FUZZ_CHECK(matrix.ok());
  const std::string html = nodefit::MatrixToHtml(*matrix, "fuzz");
  NODEFIT_FUZZ_CHECK(!absl::StrContains(html, "<script"));
  NODEFIT_FUZZ_CHECK(!absl::StrContains(html, "<img"));
  (void)nodefit::MatrixToText(*matrix);
  (void)nodefit::MatrixToMarkdown(*matrix);
  (void)nodefit::DumpJson(nodefit::MatrixToJson(*matrix));
  return 0;
}
