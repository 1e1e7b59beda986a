#include "resolver/select/platform.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Platform P(const std::string& text) {
  absl::StatusOr<Platform> p = ParsePlatform(text);
  EXPECT_TRUE(p.ok()) << text << ": " << p.status();
  return p.value_or(Platform{});
}

TEST(PlatformTest, NormalisesLikeContainerd) {
  EXPECT_EQ(P("linux/x86_64").String(), "linux/amd64");
  EXPECT_EQ(P("linux/x86-64").String(), "linux/amd64");
  EXPECT_EQ(P("Linux/AMD64").String(), "linux/amd64");
  EXPECT_EQ(P("linux/amd64").variant, "v1");
  EXPECT_EQ(P("linux/amd64/v1").String(), "linux/amd64");
  EXPECT_EQ(P("linux/amd64/3").String(), "linux/amd64/v3");
  EXPECT_EQ(P("linux/aarch64").String(), "linux/arm64");
  EXPECT_EQ(P("linux/aarch64").variant, "v8");
  EXPECT_EQ(P("linux/arm64/8").String(), "linux/arm64");
  EXPECT_EQ(P("linux/arm64/v8.0").String(), "linux/arm64");
  EXPECT_EQ(P("linux/arm64/v9.0").String(), "linux/arm64/v9");
  EXPECT_EQ(P("linux/arm64/v8.2").String(), "linux/arm64/v8.2");
  EXPECT_EQ(P("linux/armhf").String(), "linux/arm/v7");
  EXPECT_EQ(P("linux/armel").String(), "linux/arm/v6");
  EXPECT_EQ(P("linux/arm").String(), "linux/arm/v7");
  EXPECT_EQ(P("linux/i386").String(), "linux/386");
  EXPECT_EQ(P("linux/i686").String(), "linux/386");
  EXPECT_EQ(P("macos/arm64").String(), "darwin/arm64");
  EXPECT_EQ(P("linux/ppc64le").String(), "linux/ppc64le");
}

struct CompatCase {
  std::string host, image;
  bool runs;
};

class CanRunTest : public ::testing::TestWithParam<CompatCase> {};

TEST_P(CanRunTest, FollowsTheVariantTable) {
  EXPECT_EQ(CanRun(P(GetParam().host), P(GetParam().image)), GetParam().runs)
      << GetParam().host << " runs " << GetParam().image;
}

INSTANTIATE_TEST_SUITE_P(
    Table, CanRunTest,
    ::testing::Values(
        CompatCase{"linux/amd64", "linux/amd64", true},
        CompatCase{"linux/amd64", "linux/amd64/v2", false},
        CompatCase{"linux/amd64/v3", "linux/amd64", true},
        CompatCase{"linux/amd64/v3", "linux/amd64/v2", true},
        CompatCase{"linux/amd64/v3", "linux/amd64/v3", true},
        CompatCase{"linux/amd64/v3", "linux/amd64/v4", false},
        CompatCase{"linux/amd64/v4", "linux/amd64/v1", true},
        CompatCase{"linux/amd64", "linux/arm64", false},
        CompatCase{"linux/amd64", "windows/amd64", false},
        CompatCase{"linux/arm/v7", "linux/arm/v5", true},
        CompatCase{"linux/arm/v7", "linux/arm/v6", true},
        CompatCase{"linux/arm/v7", "linux/arm/v8", false},
        CompatCase{"linux/arm/v6", "linux/arm", false},
        CompatCase{"linux/arm/v8", "linux/arm/v7", true},
        CompatCase{"linux/arm64", "linux/arm64/v8", true},
        CompatCase{"linux/arm64/v8.2", "linux/arm64/v8.1", true},
        CompatCase{"linux/arm64/v8.2", "linux/arm64/v8.3", false},
        CompatCase{"linux/arm64/v8.2", "linux/arm64/v9", false},
        CompatCase{"linux/arm64/v9", "linux/arm64/v8.5", true},
        CompatCase{"linux/arm64/v9", "linux/arm64/v8.6", false},
        CompatCase{"linux/arm64/v9.2", "linux/arm64/v8.7", true},
        CompatCase{"linux/arm64/v9.2", "linux/arm64/v8.8", false},
        CompatCase{"linux/arm64/v9.2", "linux/arm64/v9.1", true},
        CompatCase{"linux/arm64/v9.2", "linux/arm64/v9.3", false},
        CompatCase{"linux/riscv64/rva23", "linux/riscv64/rva23", true},
        CompatCase{"linux/riscv64/rva23", "linux/riscv64/rva22", false},
        CompatCase{"linux/amd64/v9", "linux/amd64/v9", true},
        CompatCase{"linux/amd64/v9", "linux/amd64/v2", false}));

TEST(PlatformTest, VariantFeatures) {
  EXPECT_EQ(VariantFeature(P("linux/amd64")), "");
  EXPECT_EQ(VariantFeature(P("linux/amd64/v2")), "x86-64-v2");
  EXPECT_EQ(VariantFeature(P("linux/amd64/v4")), "x86-64-v4");
  EXPECT_EQ(VariantFeature(P("linux/arm64")), "");
  EXPECT_EQ(VariantFeature(P("linux/arm64/v8.2")), "arm64-v8.2");
  EXPECT_EQ(VariantFeature(P("linux/arm64/v9")), "arm64-v9.0");
  EXPECT_EQ(VariantFeature(P("linux/arm/v7")), "");
  EXPECT_EQ(VariantFeature(P("linux/arm/v8")), "arm-v8");
  EXPECT_EQ(VariantFeature(P("linux/amd64/v7")), "");
  EXPECT_EQ(VariantOfFeature("amd64", "x86-64-v3"), "v3");
  EXPECT_EQ(VariantOfFeature("arm64", "arm64-v9.0"), "v9");
  EXPECT_EQ(VariantOfFeature("arm64", "arm64-v8.2"), "v8.2");
  EXPECT_EQ(VariantOfFeature("arm64", "x86-64-v3"), "");
  EXPECT_EQ(VariantOfFeature("amd64", "skylake"), "");
}

// containerd's normalizeArch only lower-cases these architectures and keeps
// their variants as written; it has no other spellings for them.
TEST(PlatformTest, PowerZAndRiscvNormaliseLikeContainerd) {
  EXPECT_EQ(P("Linux/PPC64LE").String(), "linux/ppc64le");
  EXPECT_EQ(P("linux/ppc64le/POWER9").String(), "linux/ppc64le/power9");
  EXPECT_EQ(P("linux/ppc64el").architecture, "ppc64el");  // not an alias
  EXPECT_EQ(P("linux/S390X").String(), "linux/s390x");
  EXPECT_EQ(P("linux/riscv64/RVA23U64").String(), "linux/riscv64/rva23u64");
  EXPECT_EQ(P("linux/ppc64le").variant, "");
}

TEST(PlatformTest, ImageSpecVariantLadders) {
  EXPECT_TRUE(CanRun(P("linux/ppc64le/power10"), P("linux/ppc64le/power9")));
  EXPECT_TRUE(CanRun(P("linux/ppc64le/power9"), P("linux/ppc64le")));
  EXPECT_TRUE(CanRun(P("linux/ppc64le"), P("linux/ppc64le/power8")));
  EXPECT_FALSE(CanRun(P("linux/ppc64le/power9"), P("linux/ppc64le/power10")));
  EXPECT_FALSE(CanRun(P("linux/ppc64le"), P("linux/ppc64le/power9")));
  EXPECT_TRUE(CanRun(P("linux/riscv64/rva23u64"), P("linux/riscv64/rva22u64")));
  EXPECT_FALSE(
      CanRun(P("linux/riscv64/rva20u64"), P("linux/riscv64/rva22u64")));
  EXPECT_FALSE(CanRun(P("linux/riscv64/rva23u64"), P("linux/riscv64/xyz")));
  EXPECT_EQ(VariantFeature(P("linux/ppc64le/power9")), "power9");
  EXPECT_EQ(VariantFeature(P("linux/ppc64le/power8")), "");
  EXPECT_EQ(VariantFeature(P("linux/riscv64/rva23u64")), "rva23u64");
  EXPECT_EQ(VariantOfFeature("ppc64le", "power10"), "power10");
  EXPECT_EQ(VariantOfFeature("amd64", "power10"), "");
  EXPECT_EQ(BaselineFeature("amd64"), "x86-64");
  EXPECT_EQ(BaselineFeature("arm64"), "arm64-v8.0");
  EXPECT_EQ(BaselineFeature("s390x"), "s390x");
  EXPECT_GT(VariantRank("riscv64", "rva23u64"),
            VariantRank("riscv64", "rva22u64"));
}

TEST(PlatformTest, UnknownPlatformIsAttestation) {
  EXPECT_TRUE(IsUnknownPlatform(P("unknown/unknown")));
  EXPECT_FALSE(IsUnknownPlatform(P("linux/amd64")));
}

TEST(PlatformTest, BadSyntaxIsAClearError) {
  for (const char* bad :
       {"", "linux", "linux/", "/amd64", "linux//v3", "linux/amd64/v3/x",
        "linux/amd 64", "linux/amd64:", "linux/am$d64"}) {
    absl::StatusOr<Platform> p = ParsePlatform(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(p.status().message()),
                HasSubstr("os/architecture"));
  }
}

TEST(PlatformTest, SeedSyntax) {
  absl::StatusOr<PlatformSpec> spec = ParsePlatformSpec(
      "linux/amd64/v3:broadwell:nv-compute-5-2:nvidia-396-44");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->platform.String(), "linux/amd64/v3");
  EXPECT_THAT(spec->features,
              ElementsAre("broadwell", "nv-compute-5-2", "nvidia-396-44"));
  EXPECT_TRUE(ParsePlatformSpec("linux/arm64")->features.empty());
  EXPECT_FALSE(ParsePlatformSpec("linux/amd64::skylake").ok());
  EXPECT_FALSE(ParsePlatformSpec("linux/amd64:sky lake").ok());
  EXPECT_FALSE(ParsePlatformSpec("skylake:linux/amd64").ok());
}

}  // namespace
}  // namespace nodefit
