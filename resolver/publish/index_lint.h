// `nodefit index lint`: the mistakes in a feature-tagged index that would
// otherwise only show on a node, at pull time. Each problem names the
// entries it concerns (0-based positions) and says in one line what goes
// wrong and what to change.
//
// Checks (check name, severity):
//   unknown-feature        error    a platform.features or os.features
//                                    spelling the vocabulary does not know
//                                    (no table, alias or rule family): it is
//                                    unmet on every node; the nearest known
//                                    name is suggested;
//   unreachable            error    an entry no node can ever get: on the
//                                    node that has exactly what it requires
//                                    (and so on every node with more) another
//                                    entry wins;
//   tie                    warning  two entries that score the same for some
//                                    node, so their order decides silently;
//   no-fallback            warning  an os/architecture with feature-tagged
//                                    entries but none without requirements:
//                                    a featureless node gets no_match under
//                                    policy fail;
//   variant-contradiction  warning  a variant that disagrees with the level
//                                    its features imply (amd64/v2 requiring
//                                    skylake-avx512, which is v4);
//   features-on-non-image  error    features on an attestation or on an
//                                    entry that is not an image manifest;
//   os-features            error    os.features on an entry: containerd 2.3+
//                                    never matches it on a default pull
//                                    (docs/containerd.md);
//   incomplete             warning  the index is too large for the checks
//                                    that select (unreachable, tie,
//                                    no-fallback) to finish within lint's
//                                    work bound; no positions, the message
//                                    says what was left unchecked.
// A tie is looked for on each entry's own node and on the node with both
// entries' requirements, unless no real node could be that one (two NVIDIA
// drivers, two CPUs no single CPU model covers). An entry that is unreachable
// is in no tie: the unreachable error says it all.
// An index without any feature data has nothing to lint but
// features-on-non-image and os-features.
#ifndef NODEFIT_RESOLVER_PUBLISH_INDEX_LINT_H_
#define NODEFIT_RESOLVER_PUBLISH_INDEX_LINT_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "resolver/select/index.h"
#include "resolver/select/vocabulary.h"

namespace nodefit {

enum class LintSeverity { kWarning, kError };

struct LintProblem {
  LintSeverity severity = LintSeverity::kWarning;
  std::string check;           // "unknown-feature", "tie", ...
  std::vector<int> positions;  // entries concerned, ascending
  std::string message;         // one line, without the positions
};

struct LintReport {
  // By first position, then check; problems without positions last.
  std::vector<LintProblem> problems;
  // 0 clean, 1 warnings only, 2 any error.
  int ExitCode() const;
};

LintReport LintIndex(const ParsedIndex& index, const Vocabulary& vocabulary);

// One line per problem: "error unknown-feature #3: ...", then a summary
// line ("2 errors, 1 warning" or "no problems").
std::string LintToText(const LintReport& report);
// {"problems": [{"severity", "check", "positions", "message"}],
//  "errors": N, "warnings": N, "exit_code": N}
nlohmann::json LintToJson(const LintReport& report);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_PUBLISH_INDEX_LINT_H_
