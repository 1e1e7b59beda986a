// The built-in feature tables behind Vocabulary: implications, aliases and
// weights. Data only; Vocabulary validates and indexes it.
#ifndef NODEFIT_RESOLVER_SELECT_BUILTIN_FEATURES_H_
#define NODEFIT_RESOLVER_SELECT_BUILTIN_FEATURES_H_

#include <vector>

#include "absl/strings/string_view.h"

namespace nodefit {

struct BuiltInImplication {
  absl::string_view feature;
  std::vector<absl::string_view> implies;  // direct implications
};

struct BuiltInAlias {
  absl::string_view spelling;
  absl::string_view canonical;
};

struct BuiltInWeight {
  absl::string_view pattern;
  int weight;
};

const std::vector<BuiltInImplication>& BuiltInImplications();
const std::vector<BuiltInAlias>& BuiltInAliases();
const std::vector<BuiltInWeight>& BuiltInWeights();

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_SELECT_BUILTIN_FEATURES_H_
