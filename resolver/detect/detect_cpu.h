// CPU detection from Linux /proc/cpuinfo (docs/vocabulary.md).
//
// ParseCpuInfo reads the text of a /proc/cpuinfo file (so tests use fixture
// files). DetectCpu turns it into:
//   - the platform: linux/amd64 with the x86-64 psABI level as variant (v1..v4
//     by the flag sets of the psABI), or linux/arm64 with the architecture
//     version (v8, v8.1 ... v9.x);
//   - the GCC -march (arm64: -mcpu) name of the microarchitecture, from the
//     vendor's family/model (arm64: implementer/part; POWER: the cpu line;
//     Z: the machine type; RISC-V: uarch) tables in detect_cpu.cc, and the
//     level as a feature ("x86-64-v3", "arm64-v8.2", "power9", "z15",
//     "rva22u64").
// Safety: the name never claims more than the flags show. When the name's
// level (the x86-64-vN in its vocabulary closure) is above the level of the
// flags (a hypervisor hiding AVX-512 on a Skylake-SP), the most specific
// name in its closure that the flags support is reported, with a note.
// A CPU missing from the tables gets the level only, and a note giving its
// family and model so the table can be extended.
#ifndef NODEFIT_RESOLVER_DETECT_DETECT_CPU_H_
#define NODEFIT_RESOLVER_DETECT_DETECT_CPU_H_

#include <set>
#include <string>

#include "absl/strings/string_view.h"
#include "resolver/detect/detect_feature.h"
#include "resolver/select/platform.h"
#include "resolver/select/vocabulary.h"

namespace nodefit {

inline constexpr absl::string_view kDefaultCpuinfoPath = "/proc/cpuinfo";

struct CpuInfo {
  // "amd64", "386", "arm64", "arm", "ppc64le", "s390x", "riscv64"; empty
  // when the text names no CPU we recognise.
  std::string architecture;
  // Identity of the first processor. x86: vendor_id, cpu family, model,
  // stepping, model name; arm: CPU implementer, CPU part, CPU architecture.
  std::string vendor;
  int family = -1;
  int model = -1;
  int stepping = -1;
  std::string model_name;
  int implementer = -1;
  int part = -1;
  int arm_architecture = -1;
  // POWER: the "cpu" line of the first processor ("POWER9, altivec
  // supported"). Z: the machine type ("machine = 8561", read as hex like
  // Linux prints it). RISC-V: the first processor's "isa" and "uarch".
  std::string power_cpu;
  int s390_machine = -1;
  std::string isa;
  std::string uarch;
  // "flags" (x86), "Features" (arm), "features" (s390 hwcaps) or the
  // extensions of "isa" (RISC-V: single letters and the "_z..." names)
  // present on every processor: a process may run on any of them.
  std::set<std::string> flags;
  int processors = 0;
  // False when processors differ in identity (a big.LITTLE arm system,
  // mixed sockets); no microarchitecture name is given then.
  bool uniform = true;
};

// Never fails: unknown lines are ignored, and text without processor
// blocks gives an empty architecture.
CpuInfo ParseCpuInfo(absl::string_view text);

// x86-64 psABI level of x86 flags: 1..4, or 0 when the CPU is not x86-64
// (no "lm").
int X86Level(const std::set<std::string>& flags);

// The arm64 version the Features line shows, conservatively: "v8",
// "v8.1" ... "v8.6", "v9", "v9.1" (the rule is in detect_cpu.cc).
std::string Arm64VariantFromFeatures(const std::set<std::string>& features);

// The -march name from the family/model tables alone (before the safety
// rule), or empty for a CPU missing from them.
std::string X86MarchName(const CpuInfo& cpu);

// The highest RVA profile ("rva20u64", "rva22u64", "rva23u64") whose
// extensions Linux can show are all in `extensions`, or empty.
std::string RiscvProfile(const std::set<std::string>& extensions);

// The extensions of a Linux "isa" line: "rv64imafdc_zba_zbb" gives i m a f
// d c zba zbb ("g" expands to i m a f d zicsr zifencei, "b" to zba zbb zbs).
std::set<std::string> RiscvExtensions(absl::string_view isa);

struct CpuDetection {
  Platform platform;    // architecture empty when unknown
  std::string march;    // after the safety rule; empty when unknown
  int x86_level = 0;    // amd64 only
  Detection detection;  // march then level feature, source "cpu"; notes
};

// `vocabulary` decides the level a name implies (the node is judged by the
// same closures).
CpuDetection DetectCpu(const CpuInfo& cpu, const Vocabulary& vocabulary);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_DETECT_DETECT_CPU_H_
