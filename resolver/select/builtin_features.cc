#include "resolver/select/builtin_features.h"

namespace nodefit {

// Implications: "X implies Y" means a node whose CPU is X runs a build made
// with -march=X's neighbour Y (or for variant Y) without an illegal
// instruction. Only direct edges are listed; the vocabulary computes
// closures and distances.
//
// x86-64 (Intel and AMD). Facts: GCC's PTA_* masks in
// gcc/config/i386/i386.h (GCC 13 to 16), where each -march is defined as its
// parent's mask plus extensions, e.g. PTA_BROADWELL = PTA_HASWELL | ADX |
// RDSEED | PRFCHW. X implies Y when X's extension set contains Y's,
// disregarding TSX (HLE/RTM) and SGX: microcode updates withdrew TSX from
// most parts, clouds disable SGX, and GCC emits neither unless the source
// asks for it through intrinsics. The levels are the psABI's sets
// (x86-64-v2: CX16 LAHF/SAHF POPCNT SSE3 SSE4.1 SSE4.2 SSSE3; v3: + AVX AVX2
// BMI1 BMI2 F16C FMA LZCNT MOVBE XSAVE; v4: + AVX512 F/BW/CD/DQ/VL).
// Vendors' lines stay separate: AMD names imply AMD names and the levels.
// Where two names have the same set the edge follows GCC's own definition
// (rocketlake is icelake-client without SGX; emeraldrapids uses
// sapphirerapids' mask).
//
// arm64. Facts: GCC's gcc/config/aarch64/aarch64-cores.def (architecture
// level and extensions of each core) and the Arm ARM's architecture
// versions: neoverse-n1 is armv8.2-a + fp16 rcpc dotprod; neoverse-v1
// armv8.4-a + sve i8mm bf16 rng; neoverse-n2 and neoverse-v2 armv9-a +
// sve2-bitperm i8mm bf16 rng memtag (the same set); neoverse-n3 armv9.2-a,
// neoverse-v3 the same + ls64. armv9.x-a contains armv8.(x+5)-a.
const std::vector<BuiltInImplication>& BuiltInImplications() {
  static const std::vector<BuiltInImplication>* const kTable =
      new std::vector<BuiltInImplication>{
          // x86-64 levels.
          {"x86-64-v3", {"x86-64-v2"}},
          {"x86-64-v4", {"x86-64-v3"}},
          // Intel Core and Xeon.
          {"nehalem", {"x86-64-v2"}},
          {"westmere", {"nehalem"}},
          {"sandybridge", {"westmere"}},
          {"ivybridge", {"sandybridge"}},
          {"haswell", {"ivybridge", "x86-64-v3"}},
          {"broadwell", {"haswell"}},
          {"skylake", {"broadwell"}},
          {"skylake-avx512", {"skylake", "x86-64-v4"}},
          {"cascadelake", {"skylake-avx512"}},
          {"cooperlake", {"cascadelake"}},
          {"cannonlake", {"skylake", "x86-64-v4"}},
          {"rocketlake", {"cannonlake"}},
          {"icelake-client", {"rocketlake"}},
          {"icelake-server", {"icelake-client", "cascadelake"}},
          {"tigerlake", {"icelake-client", "cascadelake"}},
          {"sapphirerapids", {"icelake-server", "cooperlake"}},
          {"emeraldrapids", {"sapphirerapids"}},
          {"graniterapids", {"emeraldrapids"}},
          {"graniterapids-d", {"graniterapids"}},
          {"diamondrapids", {"graniterapids-d"}},
          // Intel hybrid and E-core Xeon.
          {"alderlake", {"skylake"}},
          {"arrowlake", {"alderlake"}},
          {"arrowlake-s", {"arrowlake"}},
          {"sierraforest", {"arrowlake"}},
          {"grandridge", {"sierraforest"}},
          // AMD Zen.
          {"znver1", {"x86-64-v3"}},
          {"znver2", {"znver1"}},
          {"znver3", {"znver2"}},
          {"znver4", {"znver3", "x86-64-v4"}},
          {"znver5", {"znver4"}},
          // arm64 architecture versions (the variants v8.1 ... v9.5).
          {"arm64-v8.2", {"arm64-v8.1"}},
          {"arm64-v8.3", {"arm64-v8.2"}},
          {"arm64-v8.4", {"arm64-v8.3"}},
          {"arm64-v8.5", {"arm64-v8.4"}},
          {"arm64-v8.6", {"arm64-v8.5"}},
          {"arm64-v8.7", {"arm64-v8.6"}},
          {"arm64-v8.8", {"arm64-v8.7"}},
          {"arm64-v8.9", {"arm64-v8.8"}},
          {"arm64-v9.0", {"arm64-v8.5"}},
          {"arm64-v9.1", {"arm64-v9.0", "arm64-v8.6"}},
          {"arm64-v9.2", {"arm64-v9.1", "arm64-v8.7"}},
          {"arm64-v9.3", {"arm64-v9.2", "arm64-v8.8"}},
          {"arm64-v9.4", {"arm64-v9.3", "arm64-v8.9"}},
          {"arm64-v9.5", {"arm64-v9.4"}},
          // Arm server cores.
          {"cortex-a72", {}},
          {"a64fx", {"arm64-v8.2"}},
          {"neoverse-n1", {"arm64-v8.2"}},
          {"neoverse-v1", {"neoverse-n1", "arm64-v8.4"}},
          {"neoverse-n2", {"neoverse-v1", "arm64-v9.0"}},
          {"neoverse-v2", {"neoverse-n2"}},
          {"neoverse-n3", {"neoverse-n2", "arm64-v9.2"}},
          {"neoverse-v3", {"neoverse-n3"}},
      };
  return *kTable;
}

// Exact aliases. The pattern aliases (cpu:X, cpu-X, cpu_X for every known
// name; nvcap-M.m, nv-compute-capability-M-m, nv-compute-M.m; nvidia-M.m)
// are rules in Vocabulary.
const std::vector<BuiltInAlias>& BuiltInAliases() {
  static const std::vector<BuiltInAlias>* const kTable =
      new std::vector<BuiltInAlias>{
          {"skylake512", "skylake-avx512"},
          {"skylake_avx512", "skylake-avx512"},
          {"x86_64-v2", "x86-64-v2"},
          {"x86_64-v3", "x86-64-v3"},
          {"x86_64-v4", "x86-64-v4"},
          {"zen", "znver1"},
          {"zen1", "znver1"},
          {"zen2", "znver2"},
          {"zen3", "znver3"},
          {"zen4", "znver4"},
          {"zen5", "znver5"},
          {"arm64-v9", "arm64-v9.0"},
          {"graviton2", "neoverse-n1"},
          {"graviton3", "neoverse-v1"},
          {"graviton4", "neoverse-v2"},
      };
  return *kTable;
}

// A GPU the image cannot use costs more than a missed CPU tuning.
const std::vector<BuiltInWeight>& BuiltInWeights() {
  static const std::vector<BuiltInWeight>* const kTable =
      new std::vector<BuiltInWeight>{
          {"nvidia-*", 2},
          {"nv-compute-*", 2},
      };
  return *kTable;
}

}  // namespace nodefit
