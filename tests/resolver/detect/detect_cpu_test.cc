#include "resolver/detect/detect_cpu.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "resolver/base/file_util.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Fixture(const std::string& name) {
  const std::string path =
      absl::StrCat(NODEFIT_FIXTURES_DIR, "/cpuinfo/", name, ".txt");
  absl::StatusOr<std::string> text = ReadFileToString(path, 1 << 20);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : "";
}

CpuDetection Detect(absl::string_view text) {
  return DetectCpu(ParseCpuInfo(text), Vocabulary::BuiltIn());
}

std::vector<std::string> Features(const CpuDetection& d) {
  std::vector<std::string> out;
  for (const SourcedFeature& f : d.detection.features) {
    EXPECT_EQ(f.source, "cpu");
    out.push_back(f.feature);
  }
  return out;
}

// Real /proc/cpuinfo dumps (sources in tests/fixtures/cpuinfo/README.md),
// each with the platform (level) and -march name nodefit must report.
struct RealCpu {
  const char* fixture;
  const char* platform;
  const char* march;  // empty: not in the tables, level only
};
constexpr RealCpu kRealCpus[] = {
    // Intel.
    {"xeon-e5-2650v2-ivybridge", "linux/amd64/v2", "ivybridge"},
    {"xeon-e5-2680v3-haswell", "linux/amd64/v3", "haswell"},
    {"xeon-e5-2686v4-broadwell", "linux/amd64/v3", "broadwell"},
    {"core-i5-5200u-broadwell", "linux/amd64/v3", "broadwell"},
    {"xeon-gold-6132-skylake-avx512", "linux/amd64/v4", "skylake-avx512"},
    {"xeon-platinum-8175m-skylake-avx512", "linux/amd64/v4", "skylake-avx512"},
    {"xeon-platinum-8259cl-cascadelake", "linux/amd64/v4", "cascadelake"},
    {"xeon-platinum-8260m-cascadelake", "linux/amd64/v4", "cascadelake"},
    {"xeon-platinum-8358-icelake-server", "linux/amd64/v4", "icelake-server"},
    {"xeon-platinum-8480-sapphirerapids", "linux/amd64/v4", "sapphirerapids"},
    {"xeon-6972p-graniterapids", "linux/amd64/v4", "graniterapids"},
    {"core-ultra-9-285-arrowlake-s", "linux/amd64/v3", "arrowlake-s"},
    // AMD.
    {"epyc-7301-znver1", "linux/amd64/v3", "znver1"},
    {"epyc-7r32-znver2", "linux/amd64/v3", "znver2"},
    {"epyc-7r13-znver3", "linux/amd64/v3", "znver3"},
    {"ryzen-9-5950x-znver3", "linux/amd64/v3", "znver3"},
    {"epyc-9r14-znver4", "linux/amd64/v4", "znver4"},
    {"epyc-9654-znver4", "linux/amd64/v4", "znver4"},
    {"ryzen-9-9950x-znver5", "linux/amd64/v4", "znver5"},
    // Arm.
    {"graviton1-cortex-a72", "linux/arm64", "cortex-a72"},
    {"graviton2-neoverse-n1", "linux/arm64/v8.2", "neoverse-n1"},
    {"graviton3-neoverse-v1", "linux/arm64/v8.4", "neoverse-v1"},
    {"neoverse-n2", "linux/arm64/v9", "neoverse-n2"},
    {"neoverse-v2", "linux/arm64/v9", "neoverse-v2"},
    {"a64fx", "linux/arm64/v8.2", "a64fx"},
    {"ampere1", "linux/arm64/v8.6", ""},
    {"thunderx2", "linux/arm64/v8.1", ""},
    {"neoverse-v3ae", "linux/arm64/v9.1", ""},
};

TEST(DetectCpuTest, RealCpus) {
  for (const RealCpu& cpu : kRealCpus) {
    SCOPED_TRACE(cpu.fixture);
    const CpuDetection d = Detect(Fixture(cpu.fixture));
    EXPECT_EQ(d.platform.String(), cpu.platform);
    EXPECT_EQ(d.march, cpu.march);
    // The features: the name (if any), then the level (if above baseline).
    std::vector<std::string> want;
    if (*cpu.march != '\0') want.emplace_back(cpu.march);
    if (std::string level = VariantFeature(d.platform); !level.empty()) {
      want.push_back(level);
    }
    EXPECT_EQ(Features(d), want);
    if (*cpu.march != '\0') {
      EXPECT_THAT(d.detection.notes, IsEmpty());
    } else {
      ASSERT_EQ(d.detection.notes.size(), 1u);
      EXPECT_THAT(d.detection.notes[0], HasSubstr("not in nodefit's core"));
    }
  }
}

TEST(DetectCpuTest, ParsesIdentityAndFlags) {
  const CpuInfo cpu = ParseCpuInfo(Fixture("xeon-platinum-8259cl-cascadelake"));
  EXPECT_EQ(cpu.architecture, "amd64");
  EXPECT_EQ(cpu.vendor, "GenuineIntel");
  EXPECT_EQ(cpu.family, 6);
  EXPECT_EQ(cpu.model, 85);
  EXPECT_EQ(cpu.stepping, 7);
  EXPECT_EQ(cpu.model_name, "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz");
  EXPECT_EQ(cpu.processors, 1);
  EXPECT_TRUE(cpu.uniform);
  EXPECT_EQ(cpu.flags.count("avx512f"), 1u);
  EXPECT_EQ(cpu.flags.count("avx512_vnni"), 0u);

  const CpuInfo arm = ParseCpuInfo(Fixture("graviton2-neoverse-n1"));
  EXPECT_EQ(arm.architecture, "arm64");
  EXPECT_EQ(arm.implementer, 0x41);
  EXPECT_EQ(arm.part, 0xd0c);
  EXPECT_EQ(arm.arm_architecture, 8);
  EXPECT_EQ(arm.flags.count("asimddp"), 1u);
}

TEST(DetectCpuTest, EmptyOrForeignTextDetectsNothing) {
  EXPECT_EQ(ParseCpuInfo("").architecture, "");
  const CpuDetection d =
      Detect("system type : MT7621\nprocessor : 0\ncpu model : MIPS 1004Kc\n");
  EXPECT_EQ(d.platform.architecture, "");
  EXPECT_THAT(d.detection.features, IsEmpty());
  ASSERT_EQ(d.detection.notes.size(), 1u);
  EXPECT_THAT(d.detection.notes[0],
              HasSubstr("no x86, arm64, POWER, Z or RISC-V processor"));
}

// Real dumps of POWER, Z and RISC-V machines (sources in
// tests/fixtures/cpuinfo/README.md): the platform with its image-spec
// variant, and the one feature (the level or core) each gives.
struct OtherCpu {
  const char* fixture;
  const char* platform;
  std::vector<std::string> features;
  const char* note;  // a substring of the one note, or empty: no note
};

TEST(DetectCpuTest, PowerZAndRiscv) {
  const std::vector<OtherCpu> cpus = {
      {"power8nvl", "linux/ppc64le/power8", {"power8"}, ""},
      {"power9", "linux/ppc64le/power9", {"power9"}, ""},
      {"power10", "linux/ppc64le/power10", {"power10"}, ""},
      {"z14-3906", "linux/s390x", {"z14"}, ""},
      {"z15-8561", "linux/s390x", {"z15"}, ""},
      // A z15 whose kernel shows no vxe2: the hwcaps cap it at z14.
      {"z15-8561-no-vxe2",
       "linux/s390x",
       {"z14"},
       "machine type 8561 is z15, but the hwcaps lack \"vxe2\""},
      {"sifive-u74mc",
       "linux/riscv64/rva20u64",
       {"sifive-u74", "rva20u64"},
       ""},
      // Zba and Zbb but no Zbs: still RVA20U64.
      {"milkv-mars-u74mc",
       "linux/riscv64/rva20u64",
       {"sifive-u74", "rva20u64"},
       ""},
  };
  for (const OtherCpu& cpu : cpus) {
    SCOPED_TRACE(cpu.fixture);
    const CpuDetection d = Detect(Fixture(cpu.fixture));
    EXPECT_EQ(d.platform.String(), cpu.platform);
    EXPECT_EQ(Features(d), cpu.features);
    if (*cpu.note == '\0') {
      EXPECT_THAT(d.detection.notes, IsEmpty());
    } else {
      ASSERT_EQ(d.detection.notes.size(), 1u);
      EXPECT_THAT(d.detection.notes[0], HasSubstr(cpu.note));
    }
  }
}

TEST(DetectCpuTest, S390ParsesTheHeaderAndEveryProcessorLine) {
  const CpuInfo z = ParseCpuInfo(Fixture("z15-8561"));
  EXPECT_EQ(z.architecture, "s390x");
  EXPECT_EQ(z.s390_machine, 0x8561);
  EXPECT_EQ(z.processors, 4);
  EXPECT_TRUE(z.uniform);
  EXPECT_EQ(z.flags.count("vxe2"), 1u);
}

TEST(DetectCpuTest, RiscvProfilesByExtensions) {
  EXPECT_EQ(RiscvProfile(RiscvExtensions("rv64imafdc")), "rva20u64");
  EXPECT_EQ(RiscvProfile(RiscvExtensions("rv64gc")), "rva20u64");
  EXPECT_EQ(RiscvProfile(RiscvExtensions("rv64imac")), "");
  // SpacemiT X60's extensions as archspec-json lists them for GCC: RVA22.
  EXPECT_EQ(RiscvProfile(RiscvExtensions(
                "rv64imafdcv_zicbom_zicboz_zicntr_zicond_zicsr_zifencei_"
                "zihintpause_zihpm_zfh_zfhmin_zca_zcd_zba_zbb_zbc_zbs_zkt_"
                "zve32f_zve32x_zve64d_zve64f_zve64x_zvfh_zvfhmin_zvkt")),
            "rva22u64");
  // RVA23: the RVA22 set plus every RVA23 extension Linux shows.
  EXPECT_EQ(RiscvProfile(RiscvExtensions(
                "rv64imafdcbv_zicbom_zicboz_zihintpause_zihpm_zfhmin_zkt_"
                "zvfhmin_zvbb_zvkt_zihintntl_zicond_zimop_zcmop_zcb_zfa_"
                "zawrs")),
            "rva23u64");
  // One missing (Zawrs) and it is RVA22.
  EXPECT_EQ(RiscvProfile(RiscvExtensions(
                "rv64imafdcbv_zicbom_zicboz_zihintpause_zihpm_zfhmin_zkt_"
                "zvfhmin_zvbb_zvkt_zihintntl_zicond_zimop_zcmop_zcb_zfa")),
            "rva22u64");
}

TEST(DetectCpuTest, Levels) {
  const std::set<std::string> v1 = {"lm",  "cmov",    "cx8", "fpu", "fxsr",
                                    "mmx", "syscall", "sse", "sse2"};
  EXPECT_EQ(X86Level({}), 0);
  EXPECT_EQ(X86Level(v1), 1);
  std::set<std::string> v2 = v1;
  v2.insert({"cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"});
  EXPECT_EQ(X86Level(v2), 2);
  std::set<std::string> no_sse3 = v2;
  no_sse3.erase("pni");
  EXPECT_EQ(X86Level(no_sse3), 1);
  std::set<std::string> v4_without_v3 = v2;
  v4_without_v3.insert(
      {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"});
  EXPECT_EQ(X86Level(v4_without_v3), 2);  // levels are cumulative
}

// A hypervisor hiding AVX-512 on a Skylake-SP: the name must not claim v4.
// (The real 8175M flags with the avx512 ones removed.)
TEST(DetectCpuTest, NameNeverClaimsMoreThanTheFlags) {
  std::string text = Fixture("xeon-platinum-8175m-skylake-avx512");
  for (const char* f :
       {" avx512f", " avx512dq", " avx512cd", " avx512bw", " avx512vl"}) {
    text = absl::StrReplaceAll(text, {{f, ""}});
  }
  CpuDetection d = Detect(text);
  EXPECT_EQ(d.platform.String(), "linux/amd64/v3");
  EXPECT_EQ(d.march, "skylake");
  EXPECT_THAT(Features(d), ElementsAre("skylake", "x86-64-v3"));
  ASSERT_EQ(d.detection.notes.size(), 1u);
  EXPECT_THAT(d.detection.notes[0],
              HasSubstr("is skylake-avx512, which implies x86-64-v4, but the "
                        "flags show only v3"));
  EXPECT_THAT(d.detection.notes[0], HasSubstr("reporting skylake instead"));

  // Broadwell without AVX (v2 only) falls back to ivybridge's line.
  text = Fixture("xeon-e5-2686v4-broadwell");
  text = absl::StrReplaceAll(text, {{" avx2", ""}});
  d = Detect(text);
  EXPECT_EQ(d.platform.String(), "linux/amd64/v2");
  EXPECT_EQ(d.march, "ivybridge");

  // Nothing but the baseline: no name at all.
  d = Detect(
      "processor : 0\nvendor_id : GenuineIntel\ncpu family : 6\nmodel : 79\n"
      "stepping : 1\nflags : lm cmov cx8 fpu fxsr mmx syscall sse sse2\n");
  EXPECT_EQ(d.platform.String(), "linux/amd64");
  EXPECT_EQ(d.march, "");
  EXPECT_THAT(d.detection.features, IsEmpty());
  EXPECT_THAT(d.detection.notes[0], HasSubstr("reporting no -march name"));
}

TEST(DetectCpuTest, UnknownModelGetsTheLevelAndALogLine) {
  std::string text = Fixture("xeon-e5-2686v4-broadwell");
  text = absl::StrReplaceAll(text, {{"model\t\t: 79", "model\t\t: 87"}});
  const CpuDetection d = Detect(text);
  EXPECT_EQ(d.platform.String(), "linux/amd64/v3");
  EXPECT_EQ(d.march, "");
  EXPECT_THAT(Features(d), ElementsAre("x86-64-v3"));
  ASSERT_EQ(d.detection.notes.size(), 1u);
  EXPECT_THAT(d.detection.notes[0],
              HasSubstr("GenuineIntel family 6 model 0x57 (87) stepping 1"));
  EXPECT_THAT(d.detection.notes[0], HasSubstr("resolver/detect/detect_cpu.cc"));
}

// Model 0x55: stepping decides, flags refine (the rule in detect_cpu.cc).
TEST(DetectCpuTest, SkylakeServerFamily) {
  CpuInfo cpu = ParseCpuInfo(Fixture("xeon-platinum-8175m-skylake-avx512"));
  EXPECT_EQ(X86MarchName(cpu), "skylake-avx512");
  cpu.flags.insert("avx512_vnni");  // GCC's rule: VNNI means Cascade Lake
  EXPECT_EQ(X86MarchName(cpu), "cascadelake");
  cpu.stepping = 11;
  cpu.flags.insert("avx512_bf16");
  EXPECT_EQ(X86MarchName(cpu), "cooperlake");
  cpu.flags.erase("avx512_bf16");
  cpu.flags.erase("avx512_vnni");
  EXPECT_EQ(X86MarchName(cpu), "cascadelake");
}

TEST(DetectCpuTest, AmdFamilies) {
  CpuInfo cpu;
  cpu.vendor = "AuthenticAMD";
  auto name = [&](int family, int model, std::set<std::string> flags) {
    cpu.family = family;
    cpu.model = model;
    cpu.flags = std::move(flags);
    return X86MarchName(cpu);
  };
  EXPECT_EQ(name(0x17, 0x01, {}), "znver1");
  EXPECT_EQ(name(0x17, 0x18, {}), "znver1");
  EXPECT_EQ(name(0x17, 0x20, {}), "znver1");
  EXPECT_EQ(name(0x17, 0x20, {"clwb"}), "znver2");
  EXPECT_EQ(name(0x17, 0x71, {}), "znver2");
  EXPECT_EQ(name(0x19, 0x01, {}), "znver3");
  EXPECT_EQ(name(0x19, 0x11, {}), "znver4");
  EXPECT_EQ(name(0x19, 0x61, {}), "znver4");
  EXPECT_EQ(name(0x19, 0x21, {"vaes"}), "znver3");
  EXPECT_EQ(name(0x19, 0x44, {"avx512f"}), "znver4");
  EXPECT_EQ(name(0x1a, 0x44, {}), "znver5");
  EXPECT_EQ(name(0x15, 0x02, {}), "");  // Bulldozer family: not in the table
  cpu.vendor = "HygonGenuine";
  EXPECT_EQ(name(0x18, 0x00, {}), "");
}

TEST(DetectCpuTest, IntelTableCorners) {
  CpuInfo cpu;
  cpu.vendor = "GenuineIntel";
  cpu.family = 6;
  auto name = [&](int model) {
    cpu.model = model;
    return X86MarchName(cpu);
  };
  EXPECT_EQ(name(0x1a), "nehalem");
  EXPECT_EQ(name(0x2c), "westmere");
  EXPECT_EQ(name(0x2d), "sandybridge");
  EXPECT_EQ(name(0x9e), "skylake");
  EXPECT_EQ(name(0x66), "cannonlake");
  EXPECT_EQ(name(0x7e), "icelake-client");
  EXPECT_EQ(name(0xa7), "rocketlake");
  EXPECT_EQ(name(0x8c), "tigerlake");
  EXPECT_EQ(name(0xb7), "alderlake");
  EXPECT_EQ(name(0xcf), "emeraldrapids");
  EXPECT_EQ(name(0xae), "graniterapids-d");
  EXPECT_EQ(name(0xaf), "sierraforest");
  EXPECT_EQ(name(0xb6), "grandridge");
  EXPECT_EQ(name(0xc5), "arrowlake");
  EXPECT_EQ(name(0xbd), "arrowlake-s");
  cpu.family = 0x13;
  EXPECT_EQ(name(0x01), "diamondrapids");
  cpu.family = 15;  // NetBurst
  EXPECT_EQ(name(0x04), "");
}

// A process may run on any processor: the flags are the common ones, and
// processors that differ get no name.
TEST(DetectCpuTest, SeveralProcessors) {
  const std::string one = Fixture("xeon-e5-2686v4-broadwell");
  std::string other = absl::StrReplaceAll(one, {{" avx2", ""}});
  CpuInfo cpu = ParseCpuInfo(absl::StrCat(one, "\n", other));
  EXPECT_EQ(cpu.processors, 2);
  EXPECT_TRUE(cpu.uniform);
  EXPECT_EQ(cpu.flags.count("avx2"), 0u);
  EXPECT_EQ(X86Level(cpu.flags), 2);

  other = absl::StrReplaceAll(one, {{"model\t\t: 79", "model\t\t: 86"}});
  const CpuDetection d = Detect(absl::StrCat(one, "\n", other));
  EXPECT_EQ(d.platform.String(), "linux/amd64/v3");
  EXPECT_EQ(d.march, "");
  EXPECT_THAT(d.detection.notes[0], HasSubstr("processors differ"));
}

TEST(DetectCpuTest, Arm64VersionFromFeatures) {
  EXPECT_EQ(Arm64VariantFromFeatures({}), "v8");
  EXPECT_EQ(Arm64VariantFromFeatures({"fp", "asimd", "atomics", "crc32"}),
            "v8");
  EXPECT_EQ(Arm64VariantFromFeatures({"atomics", "asimdrdm", "crc32"}), "v8.1");
  // A hidden feature (pointer authentication here) stops the climb.
  EXPECT_EQ(Arm64VariantFromFeatures({"atomics", "asimdrdm", "crc32", "dcpop",
                                      "jscvt", "fcma", "lrcpc", "dit", "uscat",
                                      "ilrcpc", "flagm"}),
            "v8.2");
  const std::set<std::string> v85 = {
      "atomics", "asimdrdm", "crc32",  "dcpop", "jscvt",  "fcma",
      "lrcpc",   "paca",     "pacg",   "dit",   "uscat",  "ilrcpc",
      "flagm",   "sb",       "flagm2", "frint", "dcpodp", "bti"};
  EXPECT_EQ(Arm64VariantFromFeatures(v85), "v8.5");
  std::set<std::string> v90 = v85;
  v90.insert("sve2");
  EXPECT_EQ(Arm64VariantFromFeatures(v90), "v9");
  // Unknown cores in the fixtures: Ampere 1 (GCC: armv8.6-a), ThunderX2
  // (armv8.1-a), Neoverse V3AE (armv9.2-a; its Features show v9.1).
  EXPECT_EQ(Detect(Fixture("ampere1")).detection.notes.size(), 1u);
  EXPECT_THAT(Detect(Fixture("thunderx2")).detection.notes[0],
              HasSubstr("CPU implementer 0x43 part 0xaf"));
}

}  // namespace
}  // namespace nodefit
