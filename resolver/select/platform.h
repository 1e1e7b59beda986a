// Platforms (os/architecture/variant), normalised as containerd normalises
// them, and the variant compatibility table of docs/selection.md.
//
// Normalisation: os lower-cased ("macos" -> "darwin"); x86_64/x86-64 ->
// amd64, aarch64 -> arm64, armhf -> arm/v7, armel -> arm/v6, i386/i686 ->
// 386; variants get their canonical spelling ("8" -> "v8", "v9.0" -> "v9").
//
// Compatibility (CanRun): os and architecture equal, and
//   amd64 vN runs v1..vN          (default v1)
//   arm   vN runs v5..vN          (default v7)
//   arm64 v8.x runs v8.0..v8.x    (default v8)
//   arm64 v9.x runs v9.0..v9.x and v8.0..v8.(x+5)
//   ppc64le powerN runs power8..powerN   (no variant: power8)
//   riscv64 rvaNNu64 runs rva20u64..rvaNNu64   (no variant: rva20u64)
// (the last two are the OCI image-spec's Platform Variants; containerd
// keeps their variants as written and matches them exactly). Any other
// architecture, or a variant outside these tables, needs the same
// variant on both sides.
#ifndef NODEFIT_RESOLVER_SELECT_PLATFORM_H_
#define NODEFIT_RESOLVER_SELECT_PLATFORM_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nodefit {

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;  // canonical; empty where the architecture has none

  // "linux/amd64", "linux/amd64/v3", "linux/arm/v7", "linux/arm64/v8.2".
  // The baseline variants amd64 v1 and arm64 v8 are not printed.
  std::string String() const;

  friend bool operator==(const Platform& a, const Platform& b) {
    return a.os == b.os && a.architecture == b.architecture &&
           a.variant == b.variant;
  }
};

// Returns `p` normalised. Never fails: unknown values are kept (lower-cased).
Platform NormalizePlatform(Platform p);

// Parses "os/arch[/variant]" and normalises it. InvalidArgument names the
// problem for anything else.
[[nodiscard]] absl::StatusOr<Platform> ParsePlatform(absl::string_view text);

// A platform plus node features, in the seeds' syntax:
//   linux/amd64[/v3]:broadwell:nv-compute-5-2:nvidia-396-44
struct PlatformSpec {
  Platform platform;
  std::vector<std::string> features;
};
[[nodiscard]] absl::StatusOr<PlatformSpec> ParsePlatformSpec(
    absl::string_view text);

// True when a host of platform `host` runs images built for `image`.
bool CanRun(const Platform& host, const Platform& image);

// The feature a platform's variant requires beyond its architecture's
// baseline: "x86-64-v3", "arm64-v8.2", "arm64-v9.0", "arm-v8", "power9",
// "rva23u64"; empty for a baseline or unknown variant.
std::string VariantFeature(const Platform& platform);

// The feature every node of an architecture has: archspec's generic name
// for it ("x86-64" for amd64, "arm64-v8.0" for arm64, "ppc64le", "riscv64",
// "s390x", "x86" for 386), or empty.
std::string BaselineFeature(absl::string_view architecture);

// Orders the variants of one architecture (higher runs more); -1 for a
// variant outside the architecture's table.
int VariantRank(absl::string_view architecture, absl::string_view variant);

// The inverse of VariantFeature for the same architecture: the variant a
// feature stands for ("x86-64-v3" -> "v3" for amd64, "power9" -> "power9"
// for ppc64le), or empty.
std::string VariantOfFeature(absl::string_view architecture,
                             absl::string_view feature);

// True for "unknown/unknown", the platform BuildKit gives attestations.
bool IsUnknownPlatform(const Platform& platform);

// The platform this binary was built for ("linux/amd64" on x86-64 Linux).
Platform HostBuildPlatform();

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_SELECT_PLATFORM_H_
