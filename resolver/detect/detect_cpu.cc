#include "resolver/detect/detect_cpu.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace nodefit {
namespace {

// The psABI's x86-64 levels (x86-64 psABI 1.0, section 3.1.1), as Linux
// spells the flags: pni is SSE3, abm is LZCNT. Each level needs the ones
// before it.
const std::vector<std::vector<absl::string_view>>& LevelFlags() {
  static const auto* const kFlags =
      new std::vector<std::vector<absl::string_view>>{
          // v1: the baseline every x86-64 CPU has.
          {"lm", "cmov", "cx8", "fpu", "fxsr", "mmx", "syscall", "sse", "sse2"},
          {"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"},
          {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe",
           "xsave"},
          {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
      };
  return *kFlags;
}

bool HasAll(const std::set<std::string>& flags,
            const std::vector<absl::string_view>& wanted) {
  return std::all_of(wanted.begin(), wanted.end(), [&](absl::string_view f) {
    return flags.count(std::string(f)) > 0;
  });
}

// Intel family 6 models -> GCC -march names. Facts: GCC's
// gcc/common/config/i386/cpuinfo.h, get_intel_cpu() (GCC 13 to 16), which
// maps CPUID family/model to the -march=native CPU; the model numbers agree
// with Linux arch/x86/include/asm/intel-family.h. Model 0x55 (Skylake-SP,
// Cascade Lake, Cooper Lake) is decided in IntelModel55 below.
struct ModelName {
  int model;
  absl::string_view name;
};
constexpr ModelName kIntelFamily6[] = {
    {0x1a, "nehalem"},
    {0x1e, "nehalem"},
    {0x1f, "nehalem"},
    {0x2e, "nehalem"},
    {0x25, "westmere"},
    {0x2c, "westmere"},
    {0x2f, "westmere"},
    {0x2a, "sandybridge"},
    {0x2d, "sandybridge"},
    {0x3a, "ivybridge"},
    {0x3e, "ivybridge"},
    {0x3c, "haswell"},
    {0x3f, "haswell"},
    {0x45, "haswell"},
    {0x46, "haswell"},
    {0x3d, "broadwell"},
    {0x47, "broadwell"},
    {0x4f, "broadwell"},
    {0x56, "broadwell"},
    {0x4e, "skylake"},
    {0x5e, "skylake"},
    {0x8e, "skylake"},  // also Kaby/Coffee Lake
    {0x9e, "skylake"},
    {0xa5, "skylake"},  // Comet Lake
    {0xa6, "skylake"},
    {0x66, "cannonlake"},
    {0x7d, "icelake-client"},
    {0x7e, "icelake-client"},
    {0x9d, "icelake-client"},
    {0x6a, "icelake-server"},
    {0x6c, "icelake-server"},
    {0xa7, "rocketlake"},
    {0xa8, "rocketlake"},
    {0x8c, "tigerlake"},
    {0x8d, "tigerlake"},
    {0x97, "alderlake"},
    {0x9a, "alderlake"},
    {0xb7, "alderlake"},  // Raptor Lake
    {0xba, "alderlake"},
    {0xbf, "alderlake"},
    {0xaa, "alderlake"},
    {0xac, "alderlake"},  // Meteor Lake
    {0xbe, "alderlake"},
    {0x8f, "sapphirerapids"},
    // GCC's cpuinfo.h says sapphirerapids for Emerald Rapids (same ISA);
    // the vocabulary has emeraldrapids => sapphirerapids, which is more
    // specific and claims nothing more.
    {0xcf, "emeraldrapids"},
    {0xad, "graniterapids"},
    {0xae, "graniterapids-d"},
    {0xaf, "sierraforest"},
    {0xb6, "grandridge"},
    {0xb5, "arrowlake"},
    {0xc5, "arrowlake"},
    {0xc6, "arrowlake-s"},
    {0xbd, "arrowlake-s"},  // Lunar Lake
};

// Model 0x55 is Skylake-SP (steppings 0-4), Cascade Lake (5-7) and Cooper
// Lake (10, 11). GCC decides by flags (avx512_bf16 -> cooperlake, else
// avx512_vnni -> cascadelake); Linux perf's mapfile.csv by stepping. Guests
// sometimes hide avx512_vnni (a real AWS 8259CL dump, stepping 7, has none),
// so the stepping decides and the flags refine: avx512_bf16 -> cooperlake,
// else stepping >= 5 or avx512_vnni -> cascadelake, else skylake-avx512.
std::string IntelModel55(const CpuInfo& cpu) {
  if (cpu.flags.count("avx512_bf16") > 0) return "cooperlake";
  if (cpu.stepping >= 5 || cpu.flags.count("avx512_vnni") > 0) {
    return "cascadelake";
  }
  return "skylake-avx512";
}

// AMD: GCC's cpuinfo.h, get_amd_cpu() (GCC 13 to 16).
std::string AmdName(const CpuInfo& cpu) {
  const int model = cpu.model;
  auto has = [&](absl::string_view flag) {
    return cpu.flags.count(std::string(flag)) > 0;
  };
  switch (cpu.family) {
    case 0x17:  // Zen, Zen+, Zen 2
      if (model <= 0x1f) return "znver1";
      if (model >= 0x30) return "znver2";
      return has("clwb") ? "znver2" : "znver1";
    case 0x19:  // Zen 3, Zen 4
      if (model <= 0x0f) return "znver3";
      if ((model >= 0x10 && model <= 0x1f) ||
          (model >= 0x60 && model <= 0xaf)) {
        return "znver4";
      }
      return has("avx512f") ? "znver4" : "znver3";
    case 0x1a:  // Zen 5
      return "znver5";
    default:
      return "";
  }
}

// arm64 cores by CPU implementer / CPU part, with the architecture version
// each implements. Facts: GCC's gcc/config/aarch64/aarch64-cores.def
// (implementer, part and architecture of each -mcpu name).
struct ArmCore {
  int implementer;
  int part;
  absl::string_view name;
  absl::string_view variant;
};
constexpr ArmCore kArmCores[] = {
    {0x41, 0xd08, "cortex-a72", "v8"},    {0x41, 0xd0c, "neoverse-n1", "v8.2"},
    {0x41, 0xd40, "neoverse-v1", "v8.4"}, {0x41, 0xd49, "neoverse-n2", "v9"},
    {0x41, 0xd4f, "neoverse-v2", "v9"},   {0x41, 0xd8e, "neoverse-n3", "v9.2"},
    {0x41, 0xd84, "neoverse-v3", "v9.2"}, {0x46, 0x001, "a64fx", "v8.2"},
};

// The Features (Linux hwcap names) whose architecture feature each version
// makes mandatory, per the Arm ARM's list of mandatory FEAT_* by version.
// A version counts only when its set and every earlier set are present, so
// a kernel or hypervisor that hides a feature lowers the result (never
// raises it). v8.5 and later also need what v8.x needs; v9.0 is v8.5 plus
// SVE2, v9.1 v8.6 plus SVE2.
const std::vector<std::pair<absl::string_view, std::vector<absl::string_view>>>&
ArmVersionFeatures() {
  static const auto* const kTable = new std::vector<
      std::pair<absl::string_view, std::vector<absl::string_view>>>{
      {"v8.1", {"atomics", "asimdrdm", "crc32"}},
      {"v8.2", {"dcpop"}},
      {"v8.3", {"jscvt", "fcma", "lrcpc", "paca", "pacg"}},
      {"v8.4", {"dit", "uscat", "ilrcpc", "flagm"}},
      {"v8.5", {"sb", "flagm2", "frint", "dcpodp", "bti"}},
      {"v8.6", {"i8mm", "bf16", "ecv"}},
  };
  return *kTable;
}

std::string Hex(int value) { return absl::StrFormat("0x%x", value); }

std::string X86Identity(const CpuInfo& cpu) {
  std::string out =
      absl::StrCat(cpu.vendor.empty() ? "x86" : cpu.vendor, " family ",
                   cpu.family, " model ", Hex(cpu.model), " (", cpu.model, ")",
                   " stepping ", cpu.stepping);
  if (!cpu.model_name.empty()) {
    absl::StrAppend(&out, " \"", cpu.model_name, "\"");
  }
  return out;
}

std::string ArmIdentity(const CpuInfo& cpu) {
  return absl::StrCat("CPU implementer ", Hex(cpu.implementer), " part ",
                      Hex(cpu.part));
}

// The x86-64 level a feature's closure claims: 2..4, or 0 when it claims
// none (not an x86 microarchitecture, or unknown to the vocabulary).
int ClaimedLevel(const Vocabulary& vocabulary, absl::string_view name) {
  const Vocabulary::FeatureId id = vocabulary.Find(name);
  if (id == Vocabulary::kUnknown) return 0;
  int level = 0;
  for (const Vocabulary::Implied& implied : vocabulary.Closure(id)) {
    const std::string& n = vocabulary.Name(implied.id);
    for (int l = 2; l <= 4; ++l) {
      if (n == absl::StrCat("x86-64-v", l)) level = std::max(level, l);
    }
  }
  return level;
}

// The most specific name in `name`'s closure whose level is at most
// `level`: the nearest, then the one with the largest closure. Empty when
// none is.
std::string SafeName(const Vocabulary& vocabulary, absl::string_view name,
                     int level) {
  const Vocabulary::FeatureId id = vocabulary.Find(name);
  if (id == Vocabulary::kUnknown) return "";
  std::string best;
  int best_distance = 0;
  size_t best_size = 0;
  for (const Vocabulary::Implied& implied : vocabulary.Closure(id)) {
    const std::string& candidate = vocabulary.Name(implied.id);
    if (implied.distance == 0 || absl::StartsWith(candidate, "x86-64-v")) {
      continue;
    }
    const int claimed = ClaimedLevel(vocabulary, candidate);
    if (claimed < 2 || claimed > level) continue;
    const size_t size = vocabulary.Closure(implied.id).size();
    if (best.empty() || implied.distance < best_distance ||
        (implied.distance == best_distance && size > best_size)) {
      best = candidate;
      best_distance = implied.distance;
      best_size = size;
    }
  }
  return best;
}

void DetectX86(const CpuInfo& cpu, const Vocabulary& vocabulary,
               CpuDetection* out) {
  const int level = X86Level(cpu.flags);
  out->x86_level = level;
  out->platform.architecture = level > 0 ? "amd64" : "386";
  if (level == 0) {
    out->detection.notes.push_back(
        "cpu: the flags lack x86-64's baseline (lm cmov cx8 fpu fxsr mmx "
        "syscall sse sse2); no level or -march name");
    return;
  }
  out->platform.variant = absl::StrCat("v", level);
  const std::string identity = X86Identity(cpu);
  std::string name;
  if (!cpu.uniform) {
    out->detection.notes.push_back(absl::StrCat(
        "cpu: processors differ in vendor/family/model; reporting the x86-64 "
        "level their common flags give (v",
        level, ") only"));
  } else {
    name = X86MarchName(cpu);
    if (name.empty()) {
      out->detection.notes.push_back(absl::StrCat(
          "cpu: ", identity,
          " is not in nodefit's family/model table; reporting the x86-64 "
          "level only (v",
          level,
          "). Add it to resolver/detect/detect_cpu.cc to get its -march "
          "name."));
    }
  }
  if (!name.empty()) {
    const int claimed = ClaimedLevel(vocabulary, name);
    if (claimed > level) {
      const std::string safe = SafeName(vocabulary, name, level);
      out->detection.notes.push_back(absl::StrCat(
          "cpu: ", identity, " is ", name, ", which implies x86-64-v", claimed,
          ", but the flags show only v", level,
          " (features hidden by a hypervisor?); reporting ",
          safe.empty() ? "no -march name" : safe, " instead"));
      name = safe;
    }
  }
  out->march = name;
  if (!name.empty()) {
    out->detection.features.push_back(
        {name, std::string(kSourceCpu), identity});
  }
  if (level >= 2) {
    out->detection.features.push_back(
        {absl::StrCat("x86-64-v", level), std::string(kSourceCpu),
         absl::StrCat("flags give x86-64 level ", level)});
  }
}

void DetectArm64(const CpuInfo& cpu, CpuDetection* out) {
  out->platform.architecture = "arm64";
  const ArmCore* core = nullptr;
  if (cpu.uniform) {
    for (const ArmCore& c : kArmCores) {
      if (c.implementer == cpu.implementer && c.part == cpu.part) core = &c;
    }
  }
  const std::string identity = ArmIdentity(cpu);
  std::string variant;
  std::string variant_detail;
  if (core != nullptr) {
    out->march = std::string(core->name);
    variant = std::string(core->variant);
    variant_detail = absl::StrCat(core->name, " implements arm64 ", variant);
    out->detection.features.push_back(
        {out->march, std::string(kSourceCpu), identity});
  } else {
    variant = Arm64VariantFromFeatures(cpu.flags);
    variant_detail = absl::StrCat("Features give arm64 ", variant);
    out->detection.notes.push_back(absl::StrCat(
        "cpu: ", identity,
        cpu.uniform ? " is not in nodefit's core table"
                    : " (processors differ in implementer/part)",
        "; reporting the arm64 version its Features show (", variant,
        ") only. Add it to resolver/detect/detect_cpu.cc to get its -mcpu "
        "name."));
  }
  out->platform.variant = variant;
  out->platform = NormalizePlatform(out->platform);
  if (std::string feature = VariantFeature(out->platform); !feature.empty()) {
    out->detection.features.push_back(
        {std::move(feature), std::string(kSourceCpu), variant_detail});
  }
}

// POWER: the "cpu" line names the processor as Linux's cputable.c does
// ("POWER9 (raw)", "POWER8NVL (raw)", "POWER9 (architected)" for a POWER10
// partition in POWER9 mode): the ISA level the partition offers. GCC's
// -mcpu names are power7 ... power10 (rs6000-cpus.def).
void DetectPower(const CpuInfo& cpu, CpuDetection* out) {
  out->platform.architecture = "ppc64le";
  absl::string_view name = cpu.power_cpu;
  name = name.substr(0, name.find_first_of(" ,("));
  absl::string_view digits = name;
  int level = 0;
  if (absl::ConsumePrefix(&digits, "POWER")) {
    digits = digits.substr(
        0, std::find_if_not(digits.begin(), digits.end(), absl::ascii_isdigit) -
               digits.begin());
    if (!absl::SimpleAtoi(digits, &level)) level = 0;
  }
  if (!cpu.uniform || level < 7 || level > 10) {
    out->detection.notes.push_back(absl::StrCat(
        "cpu: POWER processor \"", cpu.power_cpu, "\"",
        cpu.uniform ? " is not in nodefit's table (power7 ... power10)"
                    : " (processors differ)",
        "; no POWER level reported"));
    return;
  }
  out->march = absl::StrCat("power", level);
  if (level >= 8) out->platform.variant = out->march;
  out->detection.features.push_back({out->march, std::string(kSourceCpu),
                                     absl::StrCat("cpu: ", cpu.power_cpu)});
}

// Z: the machine type names the generation (Linux
// arch/s390/kernel/processor.c, setup_elf_platform()); the level is capped
// by the hwcaps the kernel shows, each level's new vector facility (Linux
// setup_hwcaps(): facility 129 "vx" z13, 135 "vxe" z14, 148 "vxe2" z15,
// 165 "nnpa" z16), so a kernel or hypervisor that hides a facility lowers
// the result, never raises it.
struct ZLevel {
  absl::string_view name;
  std::vector<int> machines;
  absl::string_view hwcap;
};
const std::vector<ZLevel>& ZLevels() {
  static const auto* const kLevels = new std::vector<ZLevel>{
      {"z13", {0x2964, 0x2965}, "vx"},
      {"z14", {0x3906, 0x3907}, "vxe"},
      {"z15", {0x8561, 0x8562}, "vxe2"},
      {"z16", {0x3931, 0x3932}, "nnpa"},
  };
  return *kLevels;
}

void DetectS390(const CpuInfo& cpu, CpuDetection* out) {
  out->platform.architecture = "s390x";
  int by_machine = -1, by_hwcaps = -1;
  for (size_t i = 0; i < ZLevels().size(); ++i) {
    const ZLevel& z = ZLevels()[i];
    if (std::find(z.machines.begin(), z.machines.end(), cpu.s390_machine) !=
        z.machines.end()) {
      by_machine = static_cast<int>(i);
    }
    if (static_cast<int>(i) == by_hwcaps + 1 &&
        cpu.flags.count(std::string(z.hwcap)) > 0) {
      by_hwcaps = static_cast<int>(i);
    }
  }
  const std::string identity =
      absl::StrFormat("IBM Z machine type %04X", cpu.s390_machine);
  int level = by_machine;
  if (!cpu.uniform || by_machine < 0) {
    out->detection.notes.push_back(
        absl::StrCat("cpu: ", identity,
                     cpu.uniform ? " is not in nodefit's table (z13 ... z16)"
                                 : " (processors differ)",
                     "; reporting the level its hwcaps show only"));
    level = by_hwcaps;
  } else if (by_hwcaps < by_machine) {
    out->detection.notes.push_back(absl::StrCat(
        "cpu: ", identity, " is ", ZLevels()[by_machine].name,
        ", but the hwcaps lack \"", ZLevels()[by_hwcaps + 1].hwcap,
        "\" (a kernel or hypervisor that does not offer it?); reporting ",
        by_hwcaps < 0 ? "no level" : ZLevels()[by_hwcaps].name, " instead"));
    level = by_hwcaps;
  }
  if (level < 0) return;
  out->march = std::string(ZLevels()[level].name);
  out->detection.features.push_back(
      {out->march, std::string(kSourceCpu), identity});
}

// RISC-V cores by the "uarch" line (the devicetree compatible of the hart):
// archspec-json's u74mc, GCC's -mcpu=sifive-u74.
constexpr std::pair<absl::string_view, absl::string_view> kRiscvCores[] = {
    {"sifive,u74-mc", "sifive-u74"},
};

void DetectRiscv(const CpuInfo& cpu, CpuDetection* out) {
  out->platform.architecture = "riscv64";
  const std::string profile = RiscvProfile(cpu.flags);
  if (cpu.uniform) {
    for (const auto& [uarch, name] : kRiscvCores) {
      if (cpu.uarch == uarch) out->march = std::string(name);
    }
  }
  if (out->march.empty() && !cpu.uarch.empty()) {
    out->detection.notes.push_back(
        absl::StrCat("cpu: RISC-V uarch \"", cpu.uarch,
                     "\" is not in nodefit's table; reporting the RVA "
                     "profile its isa line shows only"));
  }
  if (!out->march.empty()) {
    out->detection.features.push_back({out->march, std::string(kSourceCpu),
                                       absl::StrCat("uarch: ", cpu.uarch)});
  }
  if (profile.empty()) {
    out->detection.notes.push_back(
        absl::StrCat("cpu: the isa line \"", cpu.isa,
                     "\" lacks RVA20U64's i m a f d c; no profile"));
    return;
  }
  out->platform.variant = profile;
  out->detection.features.push_back(
      {profile, std::string(kSourceCpu), absl::StrCat("isa: ", cpu.isa)});
}

// /proc/cpuinfo on s390 is a header ("vendor_id : IBM/S390", "features"
// with the hwcaps, one "processor N: version = ..., machine = XXXX" line
// per CPU), then per-CPU blocks on newer kernels.
CpuInfo ParseS390(absl::string_view text) {
  CpuInfo cpu;
  cpu.vendor = "IBM/S390";
  cpu.architecture = "s390x";
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;
    const absl::string_view key =
        absl::StripAsciiWhitespace(line.substr(0, colon));
    const absl::string_view value =
        absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (key == "features") {
      for (absl::string_view f :
           absl::StrSplit(value, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
        cpu.flags.emplace(f);
      }
    } else if (absl::StartsWith(key, "processor ")) {
      const size_t at = value.find("machine =");
      int machine = -1;
      if (at == absl::string_view::npos ||
          !absl::SimpleHexAtoi(absl::StripAsciiWhitespace(value.substr(at + 9)),
                               &machine)) {
        continue;
      }
      if (cpu.processors == 0) {
        cpu.s390_machine = machine;
      } else if (machine != cpu.s390_machine) {
        cpu.uniform = false;
      }
      ++cpu.processors;
    }
  }
  if (cpu.processors == 0) cpu.architecture.clear();
  return cpu;
}

}  // namespace

std::set<std::string> RiscvExtensions(absl::string_view isa) {
  std::set<std::string> out;
  const std::string lower = absl::AsciiStrToLower(isa);
  absl::string_view rest = lower;
  if (!absl::ConsumePrefix(&rest, "rv64") &&
      !absl::ConsumePrefix(&rest, "rv32")) {
    return out;
  }
  std::vector<absl::string_view> parts = absl::StrSplit(rest, '_');
  for (char c : parts[0]) {
    if (c == 'g') {
      out.insert({"i", "m", "a", "f", "d", "zicsr", "zifencei"});
    } else if (c == 'b') {
      out.insert({"b", "zba", "zbb", "zbs"});
    } else {
      out.emplace(1, c);
    }
  }
  for (size_t i = 1; i < parts.size(); ++i) {
    if (!parts[i].empty()) out.emplace(parts[i]);
  }
  return out;
}

// The RVA profiles' mandatory extensions (RISC-V Profiles, riscv-profiles
// src/profiles.adoc and src/rva23-profile.adoc) that a Linux isa line can
// show. Not checked, because Linux does not list them: the memory-system
// properties Ziccif, Ziccrse, Ziccamoa, Zicclsm, Za128rs, Za64rs and Zic64b,
// Zicbop (prefetch hints, which run as no-ops where absent) and Supm
// (pointer masking the kernel provides). Zicsr/Zicntr are implied by F and
// by every Linux-capable RV64GC core; old kernels do not list them.
std::string RiscvProfile(const std::set<std::string>& extensions) {
  static const auto* const kProfiles = new std::vector<
      std::pair<absl::string_view, std::vector<absl::string_view>>>{
      {"rva20u64", {"i", "m", "a", "f", "d", "c"}},
      {"rva22u64",
       {"zba", "zbb", "zbs", "zicbom", "zicboz", "zfhmin", "zkt", "zihpm",
        "zihintpause"}},
      {"rva23u64",
       {"v", "zvfhmin", "zvbb", "zvkt", "zihintntl", "zicond", "zimop", "zcmop",
        "zcb", "zfa", "zawrs"}},
  };
  std::string profile;
  for (const auto& [name, wanted] : *kProfiles) {
    if (!HasAll(extensions, wanted)) break;
    profile = std::string(name);
  }
  return profile;
}

CpuInfo ParseCpuInfo(absl::string_view text) {
  CpuInfo cpu;
  // Identity of the processor being read, compared with the first one's.
  struct Identity {
    std::string vendor, power, uarch;
    int family = -1, model = -1, stepping = -1, implementer = -1, part = -1;
    bool operator==(const Identity& o) const {
      return vendor == o.vendor && family == o.family && model == o.model &&
             stepping == o.stepping && implementer == o.implementer &&
             part == o.part && power == o.power && uarch == o.uarch;
    }
  };
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::string_view key = line.substr(0, line.find(':'));
    if (absl::StripAsciiWhitespace(key) == "vendor_id" &&
        absl::StrContains(line, "IBM/S390")) {
      return ParseS390(text);
    }
  }
  Identity first, current;
  bool in_block = false;
  bool have_flags = false;
  std::string arch_text;
  // A block counts when it says something about a processor: POWER's
  // trailer (timebase, platform, model, machine) does not.
  bool block_has_data = false;
  auto finish_block = [&] {
    if (!in_block) return;
    in_block = false;
    if (!block_has_data) {
      current = Identity();
      return;
    }
    block_has_data = false;
    if (cpu.processors == 0) {
      first = current;
    } else if (!(current == first)) {
      cpu.uniform = false;
    }
    ++cpu.processors;
    current = Identity();
  };
  auto to_int = [](absl::string_view v, bool hex) {
    int n = -1;
    if (hex ? !absl::SimpleHexAtoi(v, &n) : !absl::SimpleAtoi(v, &n)) n = -1;
    return n;
  };
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) {
      if (absl::StripAsciiWhitespace(line).empty()) finish_block();
      continue;
    }
    const absl::string_view key =
        absl::StripAsciiWhitespace(line.substr(0, colon));
    const absl::string_view value =
        absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (key == "processor") {
      finish_block();
      in_block = true;
      continue;
    }
    in_block = true;
    if (key == "vendor_id") {
      current.vendor = std::string(value);
    } else if (key == "cpu family") {
      current.family = to_int(value, false);
    } else if (key == "model") {
      current.model = to_int(value, false);
      if (current.model < 0) continue;
    } else if (key == "stepping") {
      current.stepping = to_int(value, false);
    } else if (key == "model name" && cpu.model_name.empty()) {
      cpu.model_name = std::string(value);
    } else if (key == "CPU implementer") {
      current.implementer = to_int(value, true);
    } else if (key == "CPU part") {
      current.part = to_int(value, true);
    } else if (key == "CPU architecture" && arch_text.empty()) {
      arch_text = std::string(value);
    } else if (key == "cpu") {
      current.power = std::string(value.substr(0, value.find_first_of(" ,(")));
      if (cpu.power_cpu.empty()) cpu.power_cpu = std::string(value);
    } else if (key == "uarch") {
      current.uarch = std::string(value);
      if (cpu.uarch.empty()) cpu.uarch = std::string(value);
    }
    if (key == "vendor_id" || key == "cpu family" || key == "model" ||
        key == "CPU implementer" || key == "CPU part" || key == "cpu" ||
        key == "isa" || key == "uarch" || key == "flags" || key == "Features") {
      block_has_data = true;
    }
    if (key == "flags" || key == "Features" || key == "isa") {
      std::set<std::string> flags;
      if (key == "isa") {
        flags = RiscvExtensions(value);
        if (cpu.isa.empty()) cpu.isa = std::string(value);
      } else {
        for (absl::string_view f :
             absl::StrSplit(value, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
          flags.emplace(f);
        }
      }
      if (!have_flags) {
        cpu.flags = std::move(flags);
        have_flags = true;
      } else {
        // Keep only what every processor has.
        for (auto it = cpu.flags.begin(); it != cpu.flags.end();) {
          it = flags.count(*it) > 0 ? std::next(it) : cpu.flags.erase(it);
        }
      }
    }
  }
  finish_block();
  cpu.vendor = first.vendor;
  cpu.family = first.family;
  cpu.model = first.model;
  cpu.stepping = first.stepping;
  cpu.implementer = first.implementer;
  cpu.part = first.part;
  if (cpu.processors == 0) return cpu;

  if (absl::StartsWith(cpu.power_cpu, "POWER")) {
    // cpuinfo does not show the byte order; Kubernetes and containerd
    // publish POWER as ppc64le, and a big-endian node sets "platform".
    cpu.architecture = "ppc64le";
  } else if (absl::StartsWithIgnoreCase(cpu.isa, "rv64")) {
    cpu.architecture = "riscv64";
  } else if (!cpu.vendor.empty() || cpu.family >= 0) {
    cpu.architecture = cpu.flags.count("lm") > 0 ? "amd64" : "386";
  } else if (cpu.implementer >= 0) {
    // "CPU architecture: 8" (or "AArch64" on old kernels) is a 64-bit core;
    // a 32-bit kernel shows the arm32 hwcaps ("thumb", "vfp") instead.
    int arch = -1;
    if (absl::StartsWithIgnoreCase(arch_text, "aarch64")) {
      arch = 8;
    } else if (!absl::SimpleAtoi(arch_text, &arch)) {
      arch = -1;
    }
    cpu.arm_architecture = arch;
    if (arch >= 8 && cpu.flags.count("thumb") == 0) {
      cpu.architecture = "arm64";
    } else if (arch >= 5) {
      cpu.architecture = "arm";
    }
  }
  return cpu;
}

int X86Level(const std::set<std::string>& flags) {
  int level = 0;
  for (const std::vector<absl::string_view>& wanted : LevelFlags()) {
    if (!HasAll(flags, wanted)) break;
    ++level;
  }
  return level;
}

std::string Arm64VariantFromFeatures(const std::set<std::string>& features) {
  std::string version = "v8";
  for (const auto& [name, wanted] : ArmVersionFeatures()) {
    if (!HasAll(features, wanted)) break;
    version = std::string(name);
  }
  if (features.count("sve2") > 0) {
    if (version == "v8.5") return "v9";
    if (version == "v8.6") return "v9.1";
  }
  return version;
}

std::string X86MarchName(const CpuInfo& cpu) {
  if (cpu.vendor == "GenuineIntel") {
    if (cpu.family == 0x13 && cpu.model == 0x01) return "diamondrapids";
    if (cpu.family != 6) return "";
    if (cpu.model == 0x55) return IntelModel55(cpu);
    for (const ModelName& m : kIntelFamily6) {
      if (m.model == cpu.model) return std::string(m.name);
    }
    return "";
  }
  if (cpu.vendor == "AuthenticAMD") return AmdName(cpu);
  return "";
}

CpuDetection DetectCpu(const CpuInfo& cpu, const Vocabulary& vocabulary) {
  CpuDetection out;
  out.platform.os = "linux";
  if (cpu.architecture == "amd64" || cpu.architecture == "386") {
    DetectX86(cpu, vocabulary, &out);
  } else if (cpu.architecture == "arm64") {
    DetectArm64(cpu, &out);
  } else if (cpu.architecture == "ppc64le") {
    DetectPower(cpu, &out);
  } else if (cpu.architecture == "s390x") {
    DetectS390(cpu, &out);
  } else if (cpu.architecture == "riscv64") {
    DetectRiscv(cpu, &out);
  } else {
    out.platform = Platform();
    out.detection.notes.push_back(
        cpu.architecture.empty()
            ? "cpu: no x86, arm64, POWER, Z or RISC-V processor found in "
              "the cpuinfo text"
            : absl::StrCat("cpu: ", cpu.architecture,
                           " processors are not detected; no CPU features"));
  }
  if (!out.platform.architecture.empty()) {
    out.platform = NormalizePlatform(std::move(out.platform));
  }
  return out;
}

}  // namespace nodefit
