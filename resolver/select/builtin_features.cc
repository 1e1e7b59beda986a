#include "resolver/select/builtin_features.h"

namespace nodefit {

// Implications: "X implies Y" means a node whose CPU is X runs a build made
// for Y without an illegal instruction. Only direct edges are listed; the
// vocabulary computes closures and distances. Names are canonical: GCC's
// -march/-mcpu name where GCC has one, else archspec's name, written in the
// normal form of Vocabulary's one spelling rule (lower case, '-' for '_').
//
// Each family's `source` names where its facts come from; `nodefit
// vocabulary` prints it, docs/vocabulary.md explains it.
//
// archspec (archspec-json's cpu/microarchitectures.json) is the second
// source of the CPU families: every one of its names is a feature (the
// ArchspecTargets() table below) and every "from" edge holds in the closure,
// except where GCC's facts say otherwise (ArchspecDisagreements()).
const std::vector<BuiltInFamily>& BuiltInFamilies() {
  static const std::vector<BuiltInFamily>* const kFamilies = new std::vector<
      BuiltInFamily>{
      {"x86-64-levels",
       "x86-64 baseline and psABI levels (the amd64 variants v1..v4)",
       "x86-64 psABI 1.0 section 3.1.1 (v2: CX16 LAHF/SAHF POPCNT SSE3 "
       "SSE4.1 SSE4.2 SSSE3; v3: + AVX AVX2 BMI1 BMI2 F16C FMA LZCNT MOVBE "
       "XSAVE; v4: + AVX512 F/BW/CD/DQ/VL); x86-64 is GCC's -march=x86-64 and "
       "archspec's x86_64, the baseline every amd64 node has",
       "",
       {
           {"x86-64", {}},
           {"x86-64-v2", {"x86-64"}},
           {"x86-64-v3", {"x86-64-v2"}},
           {"x86-64-v4", {"x86-64-v3"}},
       }},
      {"x86-32",
       "32-bit x86 (the 386 architecture)",
       "archspec-json microarchitectures.json (x86, i686 ... prescott and "
       "their from edges); the names are also GCC -march names",
       "",
       {
           {"x86", {}},
           {"i686", {"x86"}},
           {"pentium2", {"i686"}},
           {"pentium3", {"pentium2"}},
           {"pentium4", {"pentium3"}},
           {"prescott", {"pentium4"}},
       }},
      // X implies Y when X's extension set contains Y's, disregarding TSX
      // (HLE/RTM) and SGX: microcode updates withdrew TSX from most parts,
      // clouds disable SGX, and GCC emits neither unless the source asks for
      // it through intrinsics. Where two names have the same set the edge
      // follows GCC's own definition (rocketlake is icelake-client without
      // SGX; emeraldrapids uses sapphirerapids' mask).
      {"intel",
       "Intel -march names",
       "GCC's PTA_* masks in gcc/config/i386/i386.h (GCC 13 to 16): each "
       "-march is its parent's mask plus extensions (PTA_BROADWELL = "
       "PTA_HASWELL | ADX | RDSEED | PRFCHW); X implies Y when X's set "
       "contains Y's, TSX and SGX disregarded. archspec-json's from edges "
       "agree except icelake => cascadelake (see ArchspecDisagreements)",
       "",
       {
           {"nocona", {"x86-64"}},
           {"core2", {"nocona"}},
           {"nehalem", {"core2", "x86-64-v2"}},
           {"westmere", {"nehalem"}},
           {"sandybridge", {"westmere"}},
           {"ivybridge", {"sandybridge"}},
           {"haswell", {"ivybridge", "x86-64-v3"}},
           {"broadwell", {"haswell"}},
           {"knl", {"broadwell"}},
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
           // Hybrid and E-core Xeon.
           {"alderlake", {"skylake"}},
           {"arrowlake", {"alderlake"}},
           {"arrowlake-s", {"arrowlake"}},
           {"sierraforest", {"arrowlake"}},
           {"grandridge", {"sierraforest"}},
       }},
      // AMD lines stay separate from Intel's and from each other: bdver1
      // dropped amdfam10's 3DNow!, znver1 bdver4's FMA4/XOP/TBM.
      {"amd",
       "AMD -march names",
       "GCC's PTA_* masks in gcc/config/i386/i386.h (GCC 13 to 16), as for "
       "Intel; archspec-json's k10, bulldozer ... zen5 from edges agree",
       "",
       {
           {"amdfam10", {"x86-64"}},
           {"bdver1", {"x86-64-v2"}},
           {"bdver2", {"bdver1"}},
           {"bdver3", {"bdver2"}},
           {"bdver4", {"bdver3", "x86-64-v3"}},
           {"znver1", {"x86-64-v3"}},
           {"znver2", {"znver1"}},
           {"znver3", {"znver2"}},
           {"znver4", {"znver3", "x86-64-v4"}},
           {"znver5", {"znver4"}},
       }},
      {"arm64-versions",
       "arm64 architecture versions (the arm64 variants v8 ... v9.5)",
       "the Arm Architecture Reference Manual's versions: each v8.x contains "
       "v8.(x-1), armv9.x-a contains armv8.(x+5)-a; arm64-v8.0 is the "
       "baseline every arm64 node has (archspec's aarch64, GCC's armv8-a)",
       "",
       {
           {"arm64-v8.0", {}},
           {"arm64-v8.1", {"arm64-v8.0"}},
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
       }},
      // neoverse-n1 is armv8.2-a + fp16 rcpc dotprod; neoverse-v1 armv8.4-a
      // + sve i8mm bf16 rng; neoverse-n2 and neoverse-v2 armv9-a +
      // sve2-bitperm i8mm bf16 rng memtag (the same set); neoverse-n3
      // armv9.2-a, neoverse-v3 and neoverse-v3ae the same + ls64;
      // cortex-a72 armv8-a + crc; ampere1 armv8.6-a + f16 rng aes sha3.
      {"arm-cores",
       "Arm -mcpu names (server and Apple cores)",
       "GCC's gcc/config/aarch64/aarch64-cores.def (architecture level and "
       "extensions of each core, GCC 13 to 15) and the Arm ARM; archspec-json "
       "for thunderx2, ampere1/ampere1a and Apple m1 ... m4 (m4 has no GCC "
       "-mcpu name, so archspec's name is canonical)",
       "",
       {
           {"cortex-a72", {"arm64-v8.0"}},
           {"thunderx2t99", {"arm64-v8.1"}},
           {"a64fx", {"arm64-v8.2"}},
           {"neoverse-n1", {"cortex-a72", "arm64-v8.2"}},
           {"neoverse-v1", {"neoverse-n1", "arm64-v8.4"}},
           {"neoverse-n2", {"neoverse-v1", "arm64-v9.0"}},
           {"neoverse-v2", {"neoverse-n2"}},
           {"neoverse-n3", {"neoverse-n2", "arm64-v9.2"}},
           {"neoverse-v3", {"neoverse-n3"}},
           {"neoverse-v3ae", {"neoverse-v3", "neoverse-v2"}},
           {"ampere1", {"neoverse-n1", "arm64-v8.6"}},
           {"ampere1a", {"ampere1"}},
           {"apple-m1", {"arm64-v8.4"}},
           {"apple-m2", {"apple-m1", "arm64-v8.5"}},
           {"apple-m3", {"apple-m2", "arm64-v8.6"}},
           {"m4", {"apple-m3", "arm64-v8.6"}},
       }},
      // The processor names are endian-neutral ISA levels; the platform's
      // architecture (ppc64 or ppc64le) decides the byte order, so a power8
      // implies both archspec baselines.
      {"power",
       "IBM POWER (ppc64le variants power8, power9, power10)",
       "GCC's gcc/config/rs6000/rs6000-cpus.def: -mcpu=power8 is ISA 2.07 "
       "(power7's 2.06 plus extensions), power9 ISA 3.0 (power8's plus), "
       "power10 ISA 3.1 (power9's plus); archspec-json's ppc64/power7 ... "
       "power10 and ppc64le/power8le ... power10le from edges; the variant "
       "names are the OCI image-spec's Platform Variants table (GOPPC64)",
       "",
       {
           {"ppc64", {}},
           {"ppc64le", {}},
           {"power7", {"ppc64"}},
           {"power8", {"power7", "ppc64le"}},
           {"power9", {"power8"}},
           {"power10", {"power9"}},
       }},
      {"s390x",
       "IBM Z (s390x) -march levels",
       "GCC's and binutils' s390 -march names: z13 (arch11), z14 (arch12), "
       "z15 (arch13), z16 (arch14), each level the previous one plus "
       "facilities (binutils as manual, S/390 options); machine types from "
       "Linux arch/s390/kernel/processor.c setup_elf_platform()",
       "",
       {
           {"s390x", {}},
           {"z13", {"s390x"}},
           {"z14", {"z13"}},
           {"z15", {"z14"}},
           {"z16", {"z15"}},
       }},
      {"riscv64",
       "RISC-V RVA profiles (riscv64 variants rva20u64 ... rva23u64) and cores",
       "RISC-V Profiles (riscv/riscv-profiles, src/profiles.adoc and "
       "src/rva23-profile.adoc): each RVA profile's mandatory extensions "
       "contain the previous one's; the variant names are the OCI "
       "image-spec's Platform Variants table (GORISCV64); archspec-json for "
       "riscv64, u74mc (GCC -mcpu=sifive-u74) and x60",
       "",
       {
           {"riscv64", {}},
           {"rva20u64", {"riscv64"}},
           {"rva22u64", {"rva20u64"}},
           {"rva23u64", {"rva22u64"}},
           {"sifive-u74", {"riscv64"}},
           {"x60", {"riscv64"}},
       }},
      {"generic",
       "other archspec generic targets",
       "archspec-json microarchitectures.json (generic families without "
       "microarchitectures)",
       "",
       {
           {"arm", {}},
           {"ppc", {}},
           {"ppcle", {}},
           {"sparc", {}},
           {"sparc64", {}},
       }},
      {"nvidia-driver",
       "NVIDIA kernel driver version (exact)",
       "/proc/driver/nvidia/version (NVRM version line); a build that names a "
       "driver needs that exact driver (2019 images shipped the user-space "
       "driver, which must match the kernel's). The driver also implies the "
       "CUDA toolkits it runs (family cuda)",
       "nvidia-MAJ-MIN",
       {}},
      {"cuda",
       "CUDA toolkit a build needs",
       "NVIDIA CUDA Toolkit Release Notes, table \"CUDA Toolkit and "
       "Corresponding Driver Versions\" (Linux driver column; NVIDIA's Linux "
       "driver releases carry the same numbers on x86_64 and aarch64 "
       "server), and \"CUDA Toolkit and Minimum Required Driver Version for "
       "CUDA Minor Version Compatibility\" for the config switch "
       "cuda.minor_version_compatibility",
       "cuda-M-m",
       {}},
      {"compute-capability",
       "CUDA compute capability of a GPU (cubin)",
       "CUDA C++ Programming Guide, application compatibility: a cubin built "
       "for X.y runs on X.z for z >= y only; nvidia-smi "
       "--query-gpu=compute_cap detects it",
       "nv-compute-M-m",
       {}},
      {"ptx",
       "PTX a build carries for JIT compilation",
       "CUDA C++ Programming Guide, application compatibility: PTX for "
       "compute capability X.y is JIT-compiled on any capability >= X.y",
       "nv-ptx-M-m",
       {}},
  };
  return *kFamilies;
}

const std::vector<BuiltInImplication>& BuiltInImplications() {
  static const std::vector<BuiltInImplication>* const kTable = [] {
    auto* all = new std::vector<BuiltInImplication>;
    for (const BuiltInFamily& family : BuiltInFamilies()) {
      all->insert(all->end(), family.rows.begin(), family.rows.end());
    }
    return all;
  }();
  return *kTable;
}

// Exact aliases besides archspec's names (those come from ArchspecTargets).
// Spellings that differ only by case or '_' need no row: the spelling rule
// makes "Skylake_AVX512" skylake-avx512 already. The pattern aliases (cpu:X,
// cpu-X for every known name; nvcap-M.m, nv-compute-capability-M-m,
// nv-compute-M.m; nvidia-M.m; cuda:M.m, cudaM.m, cuda-M.m; nv-ptx-M.m) are
// rules in Vocabulary.
const std::vector<BuiltInAlias>& BuiltInAliases() {
  static const std::vector<BuiltInAlias>* const kTable =
      new std::vector<BuiltInAlias>{
          {"skylake512", "skylake-avx512"},
          {"zen1", "znver1"},
          {"arm64-v9", "arm64-v9.0"},
          // GCC's -march spellings of the arm64 versions.
          {"armv8-a", "arm64-v8.0"},
          {"armv8.1-a", "arm64-v8.1"},
          {"armv8.2-a", "arm64-v8.2"},
          {"armv8.3-a", "arm64-v8.3"},
          {"armv8.4-a", "arm64-v8.4"},
          {"armv8.5-a", "arm64-v8.5"},
          {"armv8.6-a", "arm64-v8.6"},
          {"armv8.7-a", "arm64-v8.7"},
          {"armv8.8-a", "arm64-v8.8"},
          {"armv8.9-a", "arm64-v8.9"},
          {"armv9-a", "arm64-v9.0"},
          {"armv9.1-a", "arm64-v9.1"},
          {"armv9.2-a", "arm64-v9.2"},
          {"armv9.3-a", "arm64-v9.3"},
          {"armv9.4-a", "arm64-v9.4"},
          {"armv9.5-a", "arm64-v9.5"},
          {"graviton2", "neoverse-n1"},
          {"graviton3", "neoverse-v1"},
          {"graviton4", "neoverse-v2"},
          // GCC's -mcpu names of the POWER baselines.
          {"powerpc64", "ppc64"},
          {"powerpc64le", "ppc64le"},
          // GCC's s390 -march=archN names (binutils as manual, S/390
          // options).
          {"arch11", "z13"},
          {"arch12", "z14"},
          {"arch13", "z15"},
          {"arch14", "z16"},
      };
  return *kTable;
}

// A GPU the image cannot use costs more than a missed CPU tuning.
const std::vector<BuiltInWeight>& BuiltInWeights() {
  static const std::vector<BuiltInWeight>* const kTable =
      new std::vector<BuiltInWeight>{
          {"nvidia-*", 2},
          {"nv-compute-*", 2},
          {"nv-ptx-*", 2},
          {"cuda-*", 2},
      };
  return *kTable;
}

// archspec-json (github.com/archspec/archspec-json, Apache-2.0 OR MIT),
// cpu/microarchitectures.json at commit
// 90b453f4053b6b139d1d2cb78c463b02e71ef363: every microarchitecture, the
// canonical feature nodefit gives it (GCC's name where archspec's
// "compilers"/gcc entry or GCC's own tables name one: mic_knl is knl, icelake
// is icelake-client, k10 amdfam10, bulldozer ... excavator bdver1 ... bdver4,
// zen ... zen5 znver1 ... znver5, thunderx2 thunderx2t99, u74mc sifive-u74, m1
// ... m3 apple-m1 ... apple-m3, the power*le names the endian-neutral power*,
// aarch64 and armvX.Ya the arm64-vX.Y versions) and its "from" list verbatim.
const std::vector<ArchspecTarget>& ArchspecTargets() {
  static const std::vector<ArchspecTarget>* const kTable =
      new std::vector<ArchspecTarget>{
          {"x86", "x86", {}},
          {"i686", "i686", {"x86"}},
          {"pentium2", "pentium2", {"i686"}},
          {"pentium3", "pentium3", {"pentium2"}},
          {"pentium4", "pentium4", {"pentium3"}},
          {"prescott", "prescott", {"pentium4"}},
          {"x86_64", "x86-64", {}},
          {"x86_64_v2", "x86-64-v2", {"x86_64"}},
          {"x86_64_v3", "x86-64-v3", {"x86_64_v2"}},
          {"x86_64_v4", "x86-64-v4", {"x86_64_v3"}},
          {"nocona", "nocona", {"x86_64"}},
          {"core2", "core2", {"nocona"}},
          {"nehalem", "nehalem", {"core2", "x86_64_v2"}},
          {"westmere", "westmere", {"nehalem"}},
          {"sandybridge", "sandybridge", {"westmere"}},
          {"ivybridge", "ivybridge", {"sandybridge"}},
          {"haswell", "haswell", {"ivybridge", "x86_64_v3"}},
          {"broadwell", "broadwell", {"haswell"}},
          {"skylake", "skylake", {"broadwell"}},
          {"mic_knl", "knl", {"broadwell"}},
          {"skylake_avx512", "skylake-avx512", {"skylake", "x86_64_v4"}},
          {"cannonlake", "cannonlake", {"skylake", "x86_64_v4"}},
          {"cascadelake", "cascadelake", {"skylake_avx512"}},
          {"icelake", "icelake-client", {"cascadelake", "cannonlake"}},
          {"sapphirerapids", "sapphirerapids", {"icelake"}},
          {"alderlake", "alderlake", {"skylake"}},
          {"arrowlake", "arrowlake", {"alderlake"}},
          {"arrowlake_s", "arrowlake-s", {"arrowlake"}},
          {"k10", "amdfam10", {"x86_64"}},
          {"bulldozer", "bdver1", {"x86_64_v2"}},
          {"piledriver", "bdver2", {"bulldozer"}},
          {"steamroller", "bdver3", {"piledriver"}},
          {"excavator", "bdver4", {"steamroller", "x86_64_v3"}},
          {"zen", "znver1", {"x86_64_v3"}},
          {"zen2", "znver2", {"zen"}},
          {"zen3", "znver3", {"zen2"}},
          {"zen4", "znver4", {"zen3", "x86_64_v4"}},
          {"zen5", "znver5", {"zen4"}},
          {"ppc64", "ppc64", {}},
          {"power7", "power7", {"ppc64"}},
          {"power8", "power8", {"power7"}},
          {"power9", "power9", {"power8"}},
          {"power10", "power10", {"power9"}},
          {"ppc64le", "ppc64le", {}},
          {"power8le", "power8", {"ppc64le"}},
          {"power9le", "power9", {"power8le"}},
          {"power10le", "power10", {"power9le"}},
          {"aarch64", "arm64-v8.0", {}},
          {"armv8.1a", "arm64-v8.1", {"aarch64"}},
          {"armv8.2a", "arm64-v8.2", {"armv8.1a"}},
          {"armv8.3a", "arm64-v8.3", {"armv8.2a"}},
          {"armv8.4a", "arm64-v8.4", {"armv8.3a"}},
          {"armv8.5a", "arm64-v8.5", {"armv8.4a"}},
          {"armv8.6a", "arm64-v8.6", {"armv8.5a"}},
          {"armv9.0a", "arm64-v9.0", {"armv8.5a"}},
          {"armv9.2a", "arm64-v9.2", {"armv9.0a", "armv8.6a"}},
          {"thunderx2", "thunderx2t99", {"armv8.1a"}},
          {"a64fx", "a64fx", {"armv8.2a"}},
          {"cortex_a72", "cortex-a72", {"aarch64"}},
          {"neoverse_n1", "neoverse-n1", {"cortex_a72", "armv8.2a"}},
          {"neoverse_v1", "neoverse-v1", {"neoverse_n1", "armv8.4a"}},
          {"neoverse_v2", "neoverse-v2", {"neoverse_n1", "armv9.0a"}},
          {"neoverse_n2", "neoverse-n2", {"neoverse_n1", "armv9.0a"}},
          {"ampere1", "ampere1", {"neoverse_n1", "armv8.6a"}},
          {"ampere1a", "ampere1a", {"ampere1"}},
          {"neoverse_v3ae", "neoverse-v3ae", {"neoverse_v2", "armv9.2a"}},
          {"m1", "apple-m1", {"armv8.4a"}},
          {"m2", "apple-m2", {"m1", "armv8.5a"}},
          {"m3", "apple-m3", {"m2", "armv8.6a"}},
          {"m4", "m4", {"m3", "armv8.6a"}},
          {"arm", "arm", {}},
          {"ppc", "ppc", {}},
          {"ppcle", "ppcle", {}},
          {"sparc", "sparc", {}},
          {"sparc64", "sparc64", {}},
          {"riscv64", "riscv64", {}},
          {"u74mc", "sifive-u74", {"riscv64"}},
          {"x60", "x60", {"riscv64"}},
      };
  return *kTable;
}

// Where archspec's "from" and GCC's masks disagree, nodefit follows GCC: an
// implication claims a build runs without an illegal instruction, and GCC's
// masks are what -march=<parent> may emit.
const std::vector<ArchspecDisagreement>& ArchspecDisagreements() {
  static const std::vector<ArchspecDisagreement>* const kTable =
      new std::vector<ArchspecDisagreement>{
          {"icelake", "cascadelake",
           "GCC's PTA_ICELAKE_CLIENT is PTA_CANNONLAKE plus extensions "
           "without CLWB, which PTA_SKYLAKE_AVX512 (and so cascadelake) has: "
           "a -march=cascadelake build may use CLWB, which Ice Lake client "
           "parts lack (Tiger Lake added it). icelake-client implies "
           "cannonlake, skylake and x86-64-v4; icelake-server implies "
           "cascadelake"},
      };
  return *kTable;
}

// NVIDIA CUDA Toolkit Release Notes, table "CUDA Toolkit and Corresponding
// Driver Versions" (https://docs.nvidia.com/cuda/cuda-toolkit-release-notes/
// index.html, "CUDA Driver" section), column "Toolkit Driver Version, Linux
// x86_64 Driver Version". NVIDIA publishes its Linux drivers under the same
// version numbers for aarch64 (arm64-sbsa), so the column holds for both.
// Every row is listed, GA and updates; Vocabulary takes for cuda-M-m the
// minimum of M.m's first release (GA), the driver from which the driver
// itself reports "CUDA Version: M.m" and NVIDIA's container runtime accepts
// an image that requires cuda>=M.m. A build that needs a later update's
// driver says so with the driver feature itself.
const std::vector<CudaDriverMinimum>& CudaDriverMinimums() {
  static const std::vector<CudaDriverMinimum>* const kTable =
      new std::vector<CudaDriverMinimum>{
          {"CUDA 13.0 GA", 13, 0, 580, 65, "580.65.06"},
          {"CUDA 12.9 Update 1", 12, 9, 575, 57, "575.57.08"},
          {"CUDA 12.9 GA", 12, 9, 575, 51, "575.51.03"},
          {"CUDA 12.8 Update 1", 12, 8, 570, 124, "570.124.06"},
          {"CUDA 12.8 GA", 12, 8, 570, 26, "570.26"},
          {"CUDA 12.6 Update 3", 12, 6, 560, 35, "560.35.05"},
          {"CUDA 12.6 Update 2", 12, 6, 560, 35, "560.35.03"},
          {"CUDA 12.6 Update 1", 12, 6, 560, 35, "560.35.03"},
          {"CUDA 12.6 GA", 12, 6, 560, 28, "560.28.03"},
          {"CUDA 12.5 Update 1", 12, 5, 555, 42, "555.42.06"},
          {"CUDA 12.5 GA", 12, 5, 555, 42, "555.42.02"},
          {"CUDA 12.4 Update 1", 12, 4, 550, 54, "550.54.15"},
          {"CUDA 12.4 GA", 12, 4, 550, 54, "550.54.14"},
          {"CUDA 12.3 Update 1", 12, 3, 545, 23, "545.23.08"},
          {"CUDA 12.3 GA", 12, 3, 545, 23, "545.23.06"},
          {"CUDA 12.2 Update 2", 12, 2, 535, 104, "535.104.05"},
          {"CUDA 12.2 Update 1", 12, 2, 535, 86, "535.86.09"},
          {"CUDA 12.2 GA", 12, 2, 535, 54, "535.54.03"},
          {"CUDA 12.1 Update 1", 12, 1, 530, 30, "530.30.02"},
          {"CUDA 12.1 GA", 12, 1, 530, 30, "530.30.02"},
          {"CUDA 12.0 Update 1", 12, 0, 525, 85, "525.85.12"},
          {"CUDA 12.0 GA", 12, 0, 525, 60, "525.60.13"},
          {"CUDA 11.8 GA", 11, 8, 520, 61, "520.61.05"},
          {"CUDA 11.7 Update 1", 11, 7, 515, 48, "515.48.07"},
          {"CUDA 11.7 GA", 11, 7, 515, 43, "515.43.04"},
          {"CUDA 11.6 Update 2", 11, 6, 510, 47, "510.47.03"},
          {"CUDA 11.6 Update 1", 11, 6, 510, 47, "510.47.03"},
          {"CUDA 11.6 GA", 11, 6, 510, 39, "510.39.01"},
          {"CUDA 11.5 Update 2", 11, 5, 495, 29, "495.29.05"},
          {"CUDA 11.5 Update 1", 11, 5, 495, 29, "495.29.05"},
          {"CUDA 11.5 GA", 11, 5, 495, 29, "495.29.05"},
          {"CUDA 11.4 Update 4", 11, 4, 470, 82, "470.82.01"},
          {"CUDA 11.4 Update 3", 11, 4, 470, 82, "470.82.01"},
          {"CUDA 11.4 Update 2", 11, 4, 470, 57, "470.57.02"},
          {"CUDA 11.4 Update 1", 11, 4, 470, 57, "470.57.02"},
          {"CUDA 11.4.0 GA", 11, 4, 470, 42, "470.42.01"},
          {"CUDA 11.3.1 Update 1", 11, 3, 465, 19, "465.19.01"},
          {"CUDA 11.3.0 GA", 11, 3, 465, 19, "465.19.01"},
          {"CUDA 11.2.2 Update 2", 11, 2, 460, 32, "460.32.03"},
          {"CUDA 11.2.1 Update 1", 11, 2, 460, 32, "460.32.03"},
          {"CUDA 11.2.0 GA", 11, 2, 460, 27, "460.27.03"},
          {"CUDA 11.1.1 Update 1", 11, 1, 455, 32, "455.32"},
          {"CUDA 11.1 GA", 11, 1, 455, 23, "455.23"},
          {"CUDA 11.0.3 Update 1", 11, 0, 450, 51, "450.51.06"},
          {"CUDA 11.0.2 GA", 11, 0, 450, 51, "450.51.05"},
          {"CUDA 11.0.1 RC", 11, 0, 450, 36, "450.36.06"},
          {"CUDA 10.2.89", 10, 2, 440, 33, "440.33"},
          {"CUDA 10.1 (10.1.105 general release, and updates)", 10, 1, 418, 39,
           "418.39"},
          {"CUDA 10.0.130", 10, 0, 410, 48, "410.48"},
          {"CUDA 9.2 (9.2.148 Update 1)", 9, 2, 396, 37, "396.37"},
          {"CUDA 9.2 (9.2.88)", 9, 2, 396, 26, "396.26"},
          {"CUDA 9.1 (9.1.85)", 9, 1, 390, 46, "390.46"},
          {"CUDA 9.0 (9.0.76)", 9, 0, 384, 81, "384.81"},
          {"CUDA 8.0 (8.0.61 GA2)", 8, 0, 375, 26, "375.26"},
          {"CUDA 8.0 (8.0.44)", 8, 0, 367, 48, "367.48"},
          {"CUDA 7.5 (7.5.16)", 7, 5, 352, 31, "352.31"},
          {"CUDA 7.0 (7.0.28)", 7, 0, 346, 46, "346.46"},
      };
  return *kTable;
}

// The same release notes, table "CUDA Toolkit and Minimum Required Driver
// Version for CUDA Minor Version Compatibility" (Linux column): with minor
// version compatibility a driver of the major family runs any toolkit of
// that major version, except features that need a newer driver (PTX JIT of
// newer PTX among them). 11.x's row is 450.80.02 (11.0 shipped with an
// earlier driver; NVIDIA names 450.80.02 as the minimum for the family).
const std::vector<CudaMinorCompatibility>& CudaMinorCompatibilities() {
  static const std::vector<CudaMinorCompatibility>* const kTable =
      new std::vector<CudaMinorCompatibility>{
          {13, 580, 0, "580"},
          {12, 525, 60, "525.60.13"},
          {11, 450, 80, "450.80.02"},
      };
  return *kTable;
}

}  // namespace nodefit
