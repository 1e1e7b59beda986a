#include "resolver/select/platform.h"

#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace nodefit {
namespace {

struct ArmVersion {
  int major;
  int minor;
};

// "" and "v1".."v4" (with or without the "v") -> 1..4.
std::optional<int> Amd64Level(absl::string_view variant) {
  if (variant.empty()) return 1;
  absl::ConsumePrefix(&variant, "v");
  int level = 0;
  if (!absl::SimpleAtoi(variant, &level) || level < 1 || level > 4) {
    return std::nullopt;
  }
  return level;
}

// "" -> 7, "v5".."v8" -> 5..8.
std::optional<int> ArmLevel(absl::string_view variant) {
  if (variant.empty()) return 7;
  absl::ConsumePrefix(&variant, "v");
  int level = 0;
  if (!absl::SimpleAtoi(variant, &level) || level < 5 || level > 8) {
    return std::nullopt;
  }
  return level;
}

// "" -> 8.0; "v8", "8", "v8.2", "v9", "v9.0", "v9.3" ...
std::optional<ArmVersion> Arm64Version(absl::string_view variant) {
  if (variant.empty()) return ArmVersion{8, 0};
  absl::ConsumePrefix(&variant, "v");
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(variant, absl::MaxSplits('.', 1));
  ArmVersion version{0, 0};
  if (!absl::SimpleAtoi(parts.first, &version.major) ||
      (version.major != 8 && version.major != 9)) {
    return std::nullopt;
  }
  if (variant.find('.') != absl::string_view::npos &&
      (parts.second.size() != 1 ||
       !absl::SimpleAtoi(parts.second, &version.minor))) {
    return std::nullopt;
  }
  return version;
}

// The OCI image-spec's Platform Variants table: ppc64le power8, power9, ...
// (GOPPC64) and riscv64 rva20u64, ... (GORISCV64); the first of each is the
// baseline, which an empty variant also means. containerd keeps these
// variants as written (lower-cased), so nodefit does too.
struct VariantLadder {
  absl::string_view architecture;
  std::vector<absl::string_view> variants;  // oldest first
};
const std::vector<VariantLadder>& Ladders() {
  static const auto* const kLadders = new std::vector<VariantLadder>{
      {"ppc64le", {"power8", "power9", "power10"}},
      {"riscv64", {"rva20u64", "rva22u64", "rva23u64"}},
  };
  return *kLadders;
}

// 0 for the baseline (or ""), 1, 2 ... above it; nullopt when the
// architecture has no ladder or the variant is not on it.
std::optional<int> LadderStep(absl::string_view architecture,
                              absl::string_view variant) {
  for (const VariantLadder& ladder : Ladders()) {
    if (ladder.architecture != architecture) continue;
    if (variant.empty()) return 0;
    for (size_t i = 0; i < ladder.variants.size(); ++i) {
      if (ladder.variants[i] == variant) return static_cast<int>(i);
    }
    return std::nullopt;
  }
  return std::nullopt;
}

std::string Arm64VariantString(ArmVersion v) {
  return v.minor == 0 ? absl::StrCat("v", v.major)
                      : absl::StrCat("v", v.major, ".", v.minor);
}

bool Arm64Runs(ArmVersion host, ArmVersion image) {
  if (host.major == image.major) return image.minor <= host.minor;
  return host.major == 9 && image.major == 8 && image.minor <= host.minor + 5;
}

bool IsSpecifierChar(char c) {
  return absl::ascii_isalnum(c) || c == '_' || c == '-';
}

bool IsFeatureChar(char c) {
  // Printable ASCII without space and without ':', the spec separator.
  return c > ' ' && c < 0x7f && c != ':';
}

}  // namespace

std::string Platform::String() const {
  std::string out = absl::StrCat(os, "/", architecture);
  const bool baseline = (architecture == "amd64" && variant == "v1") ||
                        (architecture == "arm64" && variant == "v8");
  if (!variant.empty() && !baseline) absl::StrAppend(&out, "/", variant);
  return out;
}

Platform NormalizePlatform(Platform p) {
  absl::AsciiStrToLower(&p.os);
  absl::AsciiStrToLower(&p.architecture);
  absl::AsciiStrToLower(&p.variant);
  if (p.os == "macos") p.os = "darwin";
  std::string& arch = p.architecture;
  if (arch == "x86_64" || arch == "x86-64") {
    arch = "amd64";
  } else if (arch == "i386" || arch == "i686") {
    arch = "386";
  } else if (arch == "aarch64") {
    arch = "arm64";
  } else if (arch == "armhf") {
    arch = "arm";
    if (p.variant.empty()) p.variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    if (p.variant.empty()) p.variant = "v6";
  }
  if (arch == "amd64") {
    if (std::optional<int> level = Amd64Level(p.variant)) {
      p.variant = absl::StrCat("v", *level);
    }
  } else if (arch == "arm") {
    if (std::optional<int> level = ArmLevel(p.variant)) {
      p.variant = absl::StrCat("v", *level);
    }
  } else if (arch == "arm64") {
    if (std::optional<ArmVersion> v = Arm64Version(p.variant)) {
      p.variant = Arm64VariantString(*v);
    }
  }
  return p;
}

absl::StatusOr<Platform> ParsePlatform(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid platform \"", text, "\": ", why,
                     " (expected os/architecture[/variant], e.g. "
                     "linux/amd64/v3)"));
  };
  std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  if (parts.size() < 2 || parts.size() > 3) {
    return bad(parts.size() < 2 ? "missing architecture" : "too many parts");
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    const absl::string_view part = parts[i];
    if (part.empty()) return bad("empty component");
    for (char c : part) {
      // Only the variant may have a dot ("v8.2").
      if (!IsSpecifierChar(c) && !(c == '.' && i == 2)) {
        return bad(
            absl::StrCat("character '", std::string(1, c), "' is not allowed"));
      }
    }
  }
  Platform p;
  p.os = std::string(parts[0]);
  p.architecture = std::string(parts[1]);
  if (parts.size() == 3) p.variant = std::string(parts[2]);
  return NormalizePlatform(std::move(p));
}

absl::StatusOr<PlatformSpec> ParsePlatformSpec(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  PlatformSpec spec;
  absl::StatusOr<Platform> platform = ParsePlatform(parts[0]);
  if (!platform.ok()) return platform.status();
  spec.platform = *std::move(platform);
  for (size_t i = 1; i < parts.size(); ++i) {
    const absl::string_view feature = parts[i];
    if (feature.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid platform \"", text, "\": empty feature after ':'"));
    }
    for (char c : feature) {
      if (!IsFeatureChar(c)) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid platform \"", text, "\": feature \"", feature,
                         "\" has a space or control character"));
      }
    }
    spec.features.emplace_back(feature);
  }
  return spec;
}

bool CanRun(const Platform& host, const Platform& image) {
  if (host.os != image.os || host.architecture != image.architecture) {
    return false;
  }
  if (host.variant == image.variant) return true;
  const std::string& arch = host.architecture;
  if (arch == "amd64") {
    std::optional<int> h = Amd64Level(host.variant);
    std::optional<int> i = Amd64Level(image.variant);
    return h && i && *i <= *h;
  }
  if (arch == "arm") {
    std::optional<int> h = ArmLevel(host.variant);
    std::optional<int> i = ArmLevel(image.variant);
    return h && i && *i <= *h;
  }
  if (arch == "arm64") {
    std::optional<ArmVersion> h = Arm64Version(host.variant);
    std::optional<ArmVersion> i = Arm64Version(image.variant);
    return h && i && Arm64Runs(*h, *i);
  }
  std::optional<int> h = LadderStep(arch, host.variant);
  std::optional<int> i = LadderStep(arch, image.variant);
  return h && i && *i <= *h;
}

std::string VariantFeature(const Platform& platform) {
  const std::string& arch = platform.architecture;
  if (arch == "amd64") {
    std::optional<int> level = Amd64Level(platform.variant);
    if (level && *level >= 2) return absl::StrCat("x86-64-v", *level);
  } else if (arch == "arm64") {
    std::optional<ArmVersion> v = Arm64Version(platform.variant);
    if (v && (v->major > 8 || v->minor > 0)) {
      return absl::StrCat("arm64-v", v->major, ".", v->minor);
    }
  } else if (arch == "arm") {
    std::optional<int> level = ArmLevel(platform.variant);
    if (level && *level > 7) return absl::StrCat("arm-v", *level);
  } else if (std::optional<int> step = LadderStep(arch, platform.variant);
             step && *step > 0) {
    return platform.variant;
  }
  return "";
}

std::string BaselineFeature(absl::string_view architecture) {
  if (architecture == "amd64") return "x86-64";
  if (architecture == "386") return "x86";
  if (architecture == "arm64") return "arm64-v8.0";
  if (architecture == "arm" || architecture == "ppc64" ||
      architecture == "ppc64le" || architecture == "riscv64" ||
      architecture == "s390x") {
    return std::string(architecture);
  }
  return "";
}

int VariantRank(absl::string_view architecture, absl::string_view variant) {
  if (architecture == "amd64") return Amd64Level(variant).value_or(-1);
  if (architecture == "arm") return ArmLevel(variant).value_or(-1);
  if (architecture == "arm64") {
    std::optional<ArmVersion> v = Arm64Version(variant);
    return v ? v->major * 100 + v->minor : -1;
  }
  return LadderStep(architecture, variant).value_or(-1);
}

std::string VariantOfFeature(absl::string_view architecture,
                             absl::string_view feature) {
  absl::string_view rest = feature;
  if (architecture == "amd64" && absl::ConsumePrefix(&rest, "x86-64-")) {
    if (std::optional<int> level = Amd64Level(rest); level && *level >= 2) {
      return absl::StrCat("v", *level);
    }
  } else if (architecture == "arm64" && absl::ConsumePrefix(&rest, "arm64-")) {
    if (std::optional<ArmVersion> v = Arm64Version(rest)) {
      return Arm64VariantString(*v);
    }
  } else if (architecture == "arm" && absl::ConsumePrefix(&rest, "arm-")) {
    if (std::optional<int> level = ArmLevel(rest); level && *level > 7) {
      return absl::StrCat("v", *level);
    }
  } else if (std::optional<int> step = LadderStep(architecture, feature);
             step && *step > 0) {
    return std::string(feature);
  }
  return "";
}

bool IsUnknownPlatform(const Platform& platform) {
  return platform.os == "unknown" && platform.architecture == "unknown";
}

Platform HostBuildPlatform() {
  Platform p;
#if defined(__linux__)
  p.os = "linux";
#else
  p.os = "unknown";
#endif
#if defined(__x86_64__)
  p.architecture = "amd64";
#elif defined(__aarch64__)
  p.architecture = "arm64";
#elif defined(__arm__)
  p.architecture = "arm";
#elif defined(__i386__)
  p.architecture = "386";
#else
  p.architecture = "unknown";
#endif
  return NormalizePlatform(std::move(p));
}

}  // namespace nodefit
