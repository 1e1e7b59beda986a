// /proc/cpuinfo: ParseCpuInfo and DetectCpu on any text (a container's
// /host/proc may hold anything). Checked: the platform detection reports
// parses as a platform, its features follow the feature spelling rule,
// and the documented safety rule holds on x86: the -march name never
// implies an x86-64 level above the one the flags give.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "resolver/detect/detect_cpu.h"
#include "resolver/select/vocabulary.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const nodefit::CpuInfo cpu = nodefit::ParseCpuInfo(text);
  const nodefit::Vocabulary& vocabulary = nodefit::Vocabulary::BuiltIn();
  const nodefit::CpuDetection detection = nodefit::DetectCpu(cpu, vocabulary);
  (void)nodefit::X86MarchName(cpu);
  (void)nodefit::Arm64VariantFromFeatures(cpu.flags);
  (void)nodefit::RiscvProfile(nodefit::RiscvExtensions(cpu.isa));

  if (!detection.platform.architecture.empty()) {
    const absl::StatusOr<nodefit::Platform> platform =
        nodefit::ParsePlatform(detection.platform.String());
    NODEFIT_FUZZ_CHECK(platform.ok());
  }
  for (const nodefit::SourcedFeature& f : detection.detection.features) {
    NODEFIT_FUZZ_CHECK(!f.feature.empty());
    NODEFIT_FUZZ_CHECK(nodefit::NormalizeFeature(f.feature) == f.feature);
  }
  if (detection.platform.architecture == "amd64" && !detection.march.empty()) {
    NODEFIT_FUZZ_CHECK(detection.x86_level >= 1 && detection.x86_level <= 4);
    const nodefit::Vocabulary::FeatureId name =
        vocabulary.Find(vocabulary.Canonical(detection.march));
    for (int level = detection.x86_level + 1; level <= 4 && name >= 0;
         ++level) {
      const nodefit::Vocabulary::FeatureId above =
          vocabulary.Find(absl::StrCat("x86-64-v", level));
      NODEFIT_FUZZ_CHECK(above < 0 || !vocabulary.Implies(name, above));
    }
  }
  return 0;
}
