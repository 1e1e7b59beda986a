// The built-in feature tables behind Vocabulary: implications grouped by
// family (each with where its facts come from), aliases, weights, archspec's
// microarchitectures as nodefit reads them, and NVIDIA's CUDA driver
// minimums. Data only; Vocabulary validates and indexes it.
#ifndef NODEFIT_RESOLVER_SELECT_BUILTIN_FEATURES_H_
#define NODEFIT_RESOLVER_SELECT_BUILTIN_FEATURES_H_

#include <vector>

#include "absl/strings/string_view.h"

namespace nodefit {

struct BuiltInImplication {
  absl::string_view feature;
  std::vector<absl::string_view> implies;  // direct implications
};

// A family is a block of the vocabulary with one source. Graph families list
// their implication rows; rule families (NVIDIA driver, CUDA, compute
// capability, PTX) are open-ended and answered by rules in Vocabulary, so
// they have a `pattern` instead.
struct BuiltInFamily {
  absl::string_view name;     // "intel", "cuda", ...
  absl::string_view title;    // one line
  absl::string_view source;   // where the facts come from
  absl::string_view pattern;  // rule families: "cuda-M-m"; else empty
  std::vector<BuiltInImplication> rows;
};

struct BuiltInAlias {
  absl::string_view spelling;
  absl::string_view canonical;
};

struct BuiltInWeight {
  absl::string_view pattern;
  int weight;
};

// archspec-json's cpu/microarchitectures.json, one row per microarchitecture:
// its name there, nodefit's canonical feature for it, and its "from" list as
// archspec writes it. tests/resolver/select/archspec_test.cc compares this
// table with the JSON kept in tests/data/archspec/.
struct ArchspecTarget {
  absl::string_view name;
  absl::string_view canonical;
  std::vector<absl::string_view> from;
};

// An archspec "from" edge that nodefit's closure does not hold, and why.
struct ArchspecDisagreement {
  absl::string_view child;   // archspec name
  absl::string_view parent;  // archspec name
  absl::string_view reason;
};

// One row of NVIDIA's "CUDA Toolkit and Corresponding Driver Versions"
// table: the toolkit release and the minimum Linux driver.
struct CudaDriverMinimum {
  absl::string_view release;  // "CUDA 12.4 Update 1"
  int cuda_major;
  int cuda_minor;
  int driver_major;
  int driver_minor;
  absl::string_view driver;  // as NVIDIA writes it: "550.54.15"
};

// The minimum driver for CUDA minor version compatibility within one major
// toolkit version.
struct CudaMinorCompatibility {
  int cuda_major;
  int driver_major;
  int driver_minor;
  absl::string_view driver;
};

const std::vector<BuiltInFamily>& BuiltInFamilies();
// Every family's rows, in family order.
const std::vector<BuiltInImplication>& BuiltInImplications();
const std::vector<BuiltInAlias>& BuiltInAliases();
const std::vector<BuiltInWeight>& BuiltInWeights();
const std::vector<ArchspecTarget>& ArchspecTargets();
const std::vector<ArchspecDisagreement>& ArchspecDisagreements();
const std::vector<CudaDriverMinimum>& CudaDriverMinimums();
const std::vector<CudaMinorCompatibility>& CudaMinorCompatibilities();

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_SELECT_BUILTIN_FEATURES_H_
