#include "resolver/select/vocabulary.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "resolver/select/builtin_features.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;

const Vocabulary& V() { return Vocabulary::BuiltIn(); }

// Distance from `from` to `to` in the closure, or -1.
int Hops(const Vocabulary& v, const std::string& from, const std::string& to) {
  const Vocabulary::FeatureId a = v.Find(from);
  const Vocabulary::FeatureId b = v.Find(to);
  if (a == Vocabulary::kUnknown || b == Vocabulary::kUnknown) return -1;
  for (const Vocabulary::Implied& i : v.Closure(a)) {
    if (i.id == b) return i.distance;
  }
  return -1;
}

TEST(VocabularyTest, BuiltInTablesAreValid) {
  // Create() rejects cycles and bad aliases; BuiltIn() would abort.
  absl::StatusOr<std::unique_ptr<const Vocabulary>> v = Vocabulary::Create({});
  ASSERT_TRUE(v.ok()) << v.status();
  for (const BuiltInAlias& a : BuiltInAliases()) {
    EXPECT_NE(V().Find(a.canonical), Vocabulary::kUnknown)
        << a.spelling << " -> " << a.canonical;
  }
}

TEST(VocabularyTest, DesignChains) {
  EXPECT_EQ(Hops(V(), "skylake", "skylake"), 0);
  EXPECT_EQ(Hops(V(), "skylake", "broadwell"), 1);
  EXPECT_EQ(Hops(V(), "skylake", "haswell"), 2);
  EXPECT_EQ(Hops(V(), "skylake", "ivybridge"), 3);
  EXPECT_EQ(Hops(V(), "haswell", "x86-64-v3"), 1);
  EXPECT_EQ(Hops(V(), "x86-64-v3", "x86-64-v2"), 1);
  EXPECT_EQ(Hops(V(), "skylake-avx512", "skylake"), 1);
  EXPECT_EQ(Hops(V(), "skylake-avx512", "x86-64-v4"), 1);
  EXPECT_EQ(Hops(V(), "znver2", "znver1"), 1);
  EXPECT_EQ(Hops(V(), "znver1", "x86-64-v3"), 1);
  EXPECT_EQ(Hops(V(), "nehalem", "x86-64-v2"), 1);
}

// ISA facts from GCC's PTA_* masks (see builtin_features.cc).
TEST(VocabularyTest, IntelFacts) {
  EXPECT_GE(Hops(V(), "icelake-server", "cascadelake"), 1);
  EXPECT_GE(Hops(V(), "sapphirerapids", "cooperlake"), 1);
  EXPECT_GE(Hops(V(), "sapphirerapids", "icelake-server"), 1);
  EXPECT_GE(Hops(V(), "graniterapids", "sapphirerapids"), 1);
  EXPECT_GE(Hops(V(), "emeraldrapids", "sapphirerapids"), 1);
  EXPECT_GE(Hops(V(), "cooperlake", "skylake-avx512"), 1);
  EXPECT_GE(Hops(V(), "tigerlake", "icelake-client"), 1);
  EXPECT_GE(Hops(V(), "cannonlake", "x86-64-v4"), 1);
  EXPECT_GE(Hops(V(), "alderlake", "x86-64-v3"), 1);
  // Not supersets: cannonlake lacks CLWB, icelake-server lacks AVX512-BF16,
  // tigerlake lacks PCONFIG/WBNOINVD, alderlake has no AVX-512.
  EXPECT_EQ(Hops(V(), "cannonlake", "skylake-avx512"), -1);
  EXPECT_EQ(Hops(V(), "icelake-server", "cooperlake"), -1);
  EXPECT_EQ(Hops(V(), "tigerlake", "icelake-server"), -1);
  EXPECT_EQ(Hops(V(), "alderlake", "x86-64-v4"), -1);
  EXPECT_EQ(Hops(V(), "broadwell", "skylake"), -1);
  EXPECT_EQ(Hops(V(), "skylake", "skylake-avx512"), -1);
  // Levels imply only levels.
  EXPECT_EQ(Hops(V(), "x86-64-v3", "haswell"), -1);
  EXPECT_EQ(Hops(V(), "x86-64-v4", "skylake-avx512"), -1);
}

TEST(VocabularyTest, AmdFacts) {
  EXPECT_EQ(Hops(V(), "znver3", "znver2"), 1);
  EXPECT_EQ(Hops(V(), "znver4", "znver3"), 1);
  EXPECT_EQ(Hops(V(), "znver4", "x86-64-v4"), 1);
  EXPECT_EQ(Hops(V(), "znver5", "znver4"), 1);
  EXPECT_EQ(Hops(V(), "znver3", "x86-64-v4"), -1);
  EXPECT_EQ(Hops(V(), "znver4", "skylake"), -1);
}

TEST(VocabularyTest, ArmFacts) {
  EXPECT_EQ(Hops(V(), "neoverse-n1", "arm64-v8.2"), 1);
  EXPECT_GE(Hops(V(), "neoverse-v1", "arm64-v8.4"), 1);
  EXPECT_GE(Hops(V(), "neoverse-v1", "neoverse-n1"), 1);
  EXPECT_GE(Hops(V(), "neoverse-n2", "arm64-v9.0"), 1);
  EXPECT_GE(Hops(V(), "neoverse-v2", "arm64-v9.0"), 1);
  EXPECT_GE(Hops(V(), "neoverse-v2", "arm64-v8.5"), 1);
  EXPECT_EQ(Hops(V(), "neoverse-v2", "arm64-v8.6"), -1);
  EXPECT_GE(Hops(V(), "arm64-v9.2", "arm64-v8.7"), 1);
  EXPECT_GE(Hops(V(), "arm64-v9.2", "arm64-v9.0"), 1);
  EXPECT_GE(Hops(V(), "arm64-v8.9", "arm64-v8.1"), 1);
  EXPECT_EQ(Hops(V(), "neoverse-n1", "arm64-v8.3"), -1);
}

TEST(VocabularyTest, Aliases) {
  EXPECT_EQ(V().Canonical("cpu:broadwell"), "broadwell");
  EXPECT_EQ(V().Canonical("cpu-broadwell"), "broadwell");
  EXPECT_EQ(V().Canonical("cpu_broadwell"), "broadwell");
  EXPECT_EQ(V().Canonical("cpu:skylake512"), "skylake-avx512");
  EXPECT_EQ(V().Canonical("cpu-neoverse-v1"), "neoverse-v1");
  EXPECT_EQ(V().Canonical("skylake512"), "skylake-avx512");
  EXPECT_EQ(V().Canonical("nvcap-5.2"), "nv-compute-5-2");
  EXPECT_EQ(V().Canonical("nvcap-5-2"), "nv-compute-5-2");
  EXPECT_EQ(V().Canonical("nv-compute-capability-5-2"), "nv-compute-5-2");
  EXPECT_EQ(V().Canonical("nv-compute-capability-8.9"), "nv-compute-8-9");
  EXPECT_EQ(V().Canonical("nv-compute-7.0"), "nv-compute-7-0");
  EXPECT_EQ(V().Canonical("nvidia-396.44"), "nvidia-396-44");
  EXPECT_EQ(V().Canonical("graviton3"), "neoverse-v1");
  // Unknown spellings stay as they are (and are simply unmet).
  EXPECT_EQ(V().Canonical("cpu-coffelake"), "cpu-coffelake");
  EXPECT_EQ(V().Canonical("coffeelake"), "coffeelake");
  EXPECT_EQ(V().Canonical("nvcap-x.y"), "nvcap-x.y");
  EXPECT_EQ(V().Canonical("nvidia-396-44"), "nvidia-396-44");
  // One spelling rule for every name: lower case, '-' for '_'.
  EXPECT_EQ(V().Canonical("Skylake"), "skylake");
  EXPECT_EQ(V().Canonical("SKYLAKE_AVX512"), "skylake-avx512");
  EXPECT_EQ(V().Canonical("My_Site_Flag"), "my-site-flag");
}

TEST(VocabularyTest, ArchspecAndGccSpellings) {
  EXPECT_EQ(V().Canonical("x86_64_v3"), "x86-64-v3");
  EXPECT_EQ(V().Canonical("x86_64"), "x86-64");
  EXPECT_EQ(V().Canonical("zen3"), "znver3");
  EXPECT_EQ(V().Canonical("neoverse_v1"), "neoverse-v1");
  EXPECT_EQ(V().Canonical("icelake"), "icelake-client");
  EXPECT_EQ(V().Canonical("icelake_server"), "icelake-server");
  EXPECT_EQ(V().Canonical("mic_knl"), "knl");
  EXPECT_EQ(V().Canonical("aarch64"), "arm64-v8.0");
  EXPECT_EQ(V().Canonical("armv8.2a"), "arm64-v8.2");
  EXPECT_EQ(V().Canonical("armv8.2-a"), "arm64-v8.2");
  EXPECT_EQ(V().Canonical("power9le"), "power9");
  EXPECT_EQ(V().Canonical("arch13"), "z15");
  EXPECT_EQ(V().Canonical("u74mc"), "sifive-u74");
  EXPECT_EQ(V().Canonical("cpu:zen3"), "znver3");
}

TEST(VocabularyTest, OtherArchitectures) {
  EXPECT_EQ(Hops(V(), "power10", "power9"), 1);
  EXPECT_EQ(Hops(V(), "power10", "power8"), 2);
  EXPECT_GE(Hops(V(), "power9", "ppc64le"), 1);
  EXPECT_EQ(Hops(V(), "power8", "power9"), -1);
  EXPECT_EQ(Hops(V(), "z16", "z13"), 3);
  EXPECT_EQ(Hops(V(), "z14", "z15"), -1);
  EXPECT_EQ(Hops(V(), "rva23u64", "rva20u64"), 2);
  EXPECT_EQ(Hops(V(), "rva20u64", "rva22u64"), -1);
  EXPECT_GE(Hops(V(), "sifive-u74", "riscv64"), 1);
}

TEST(VocabularyTest, CudaSpellingsAndDriverMinimums) {
  EXPECT_EQ(V().Canonical("cuda:12.4"), "cuda-12-4");
  EXPECT_EQ(V().Canonical("cuda12.4"), "cuda-12-4");
  EXPECT_EQ(V().Canonical("CUDA-12.4"), "cuda-12-4");
  EXPECT_EQ(V().Canonical("cuda_12_4"), "cuda-12-4");
  EXPECT_EQ(V().Canonical("nv-ptx-8.0"), "nv-ptx-8-0");
  // The minimum of the minor release's first (GA) row.
  EXPECT_EQ(Vocabulary::CudaMinimumDriver(12, 4), std::make_pair(550, 54));
  EXPECT_EQ(Vocabulary::CudaMinimumDriver(12, 2), std::make_pair(535, 54));
  EXPECT_EQ(Vocabulary::CudaMinimumDriver(12, 8), std::make_pair(570, 26));
  EXPECT_EQ(Vocabulary::CudaMinimumDriver(11, 4), std::make_pair(470, 42));
  EXPECT_EQ(Vocabulary::CudaMinimumDriver(12, 7), std::make_pair(-1, -1));
}

TEST(VocabularyTest, DriverImpliesTheToolkitsItRunsNewestFirst) {
  // 550.54 runs up to 12.4; 12.5 needs 555.42.
  EXPECT_EQ(V().RuleDistance("nvidia-550-54", "cuda-12-4"), 0);
  EXPECT_EQ(V().RuleDistance("nvidia-550-54", "cuda-12-3"), 1);
  EXPECT_EQ(V().RuleDistance("nvidia-550-54", "cuda-12-0"), 4);
  EXPECT_EQ(V().RuleDistance("nvidia-550-54", "cuda-12-5"), -1);
  EXPECT_EQ(V().RuleDistance("nvidia-550-40", "cuda-12-4"), -1);
  EXPECT_EQ(V().RuleDistance("nvidia-550-40", "cuda-12-3"), 0);
  EXPECT_EQ(V().RuleDistance("nvidia-570-124", "cuda-12-8"), 0);
  EXPECT_EQ(V().RuleDistance("nvidia-570-86", "cuda-12-8"), 0);
  EXPECT_EQ(V().RuleDistance("nvidia-570-20", "cuda-12-8"), -1);
  EXPECT_EQ(V().RuleDistance("nvidia-396-44", "cuda-9-2"), 0);
  EXPECT_EQ(V().RuleDistance("nvidia-396-44", "cuda-10-0"), -1);
  // The exact-driver feature keeps its meaning: no driver implies another.
  EXPECT_EQ(V().RuleDistance("nvidia-550-54", "nvidia-396-44"), -1);
  std::vector<std::pair<std::string, int>> closure =
      V().RuleClosure("nvidia-550-54");
  ASSERT_FALSE(closure.empty());
  EXPECT_EQ(closure.front(), std::make_pair(std::string("cuda-12-4"), 0));
  EXPECT_EQ(closure.back().first, "cuda-7-0");
}

TEST(VocabularyTest, MinorVersionCompatibilityIsASwitch) {
  FeatureRules rules;
  rules.cuda_minor_version_compatibility = true;
  absl::StatusOr<std::unique_ptr<const Vocabulary>> v =
      Vocabulary::Create(rules);
  ASSERT_TRUE(v.ok()) << v.status();
  // Off (the default): 535.104 runs 12.2 at most (12.3 needs 545.23).
  EXPECT_EQ(V().RuleDistance("nvidia-535-104", "cuda-12-4"), -1);
  // On: any 12.x from 525.60 on, after every toolkit it runs natively,
  // the nearest first.
  const int native = static_cast<int>(V().RuleClosure("nvidia-535-104").size());
  EXPECT_EQ((*v)->RuleDistance("nvidia-535-104", "cuda-12-2"), 0);
  EXPECT_EQ((*v)->RuleDistance("nvidia-535-104", "cuda-12-3"), native);
  EXPECT_EQ((*v)->RuleDistance("nvidia-535-104", "cuda-12-4"), native + 1);
  EXPECT_EQ((*v)->RuleDistance("nvidia-525-40", "cuda-12-0"), -1);
  EXPECT_EQ((*v)->RuleDistance("nvidia-535-104", "cuda-13-0"), -1);
}

TEST(VocabularyTest, ComputeCapabilityMinorsAndPtx) {
  EXPECT_EQ(V().RuleDistance("nv-compute-8-6", "nv-compute-8-0"), 6);
  EXPECT_EQ(V().RuleDistance("nv-compute-8-6", "nv-compute-8-6"), 0);
  EXPECT_EQ(V().RuleDistance("nv-compute-8-0", "nv-compute-8-6"), -1);
  EXPECT_EQ(V().RuleDistance("nv-compute-9-0", "nv-compute-8-0"), -1);
  // PTX: any later capability, always farther than any cubin.
  EXPECT_EQ(V().RuleDistance("nv-compute-9-0", "nv-ptx-8-0"),
            Vocabulary::kPtxDistance + 100);
  EXPECT_EQ(V().RuleDistance("nv-compute-8-6", "nv-ptx-8-6"),
            Vocabulary::kPtxDistance);
  EXPECT_GT(V().RuleDistance("nv-compute-8-9", "nv-ptx-8-9"),
            V().RuleDistance("nv-compute-8-9", "nv-compute-8-0"));
  EXPECT_EQ(V().RuleDistance("nv-compute-8-0", "nv-ptx-9-0"), -1);
  EXPECT_EQ(V().RuleDistance("nv-compute-8-0", "nv-ptx-8-6"), -1);
}

TEST(VocabularyTest, FamiliesAndReverseClosure) {
  ASSERT_NE(V().FamilyOf("power9"), nullptr);
  EXPECT_EQ(V().FamilyOf("power9")->name, "power");
  EXPECT_EQ(V().FamilyOf("cuda-12-4")->name, "cuda");
  EXPECT_EQ(V().FamilyOf("nv-ptx-8-0")->name, "ptx");
  EXPECT_EQ(V().FamilyOf("nvidia-396-44")->name, "nvidia-driver");
  EXPECT_EQ(V().FamilyOf("my-site-flag"), nullptr);
  std::vector<std::string> by;
  for (const Vocabulary::Implied& i : V().ImpliedBy(V().Find("power9"))) {
    by.push_back(V().Name(i.id));
  }
  EXPECT_EQ(by, std::vector<std::string>({"power10"}));
  EXPECT_THAT(V().AliasesOf("power9"), ::testing::ElementsAre("power9le"));
}

TEST(VocabularyTest, Weights) {
  EXPECT_EQ(V().Weight("nvidia-396-44"), 2);
  EXPECT_EQ(V().Weight("nv-compute-5-2"), 2);
  EXPECT_EQ(V().Weight("skylake"), 1);
  EXPECT_EQ(V().Weight(V().Find("skylake")), 1);
  EXPECT_EQ(V().Weight("anything-else"), 1);
  EXPECT_EQ(V().Weight("cuda-12-4"), 2);
  EXPECT_EQ(V().Weight("nv-ptx-8-0"), 2);
}

TEST(VocabularyTest, ConfigExtendsEverything) {
  FeatureRules rules;
  rules.implies["my-cluster-cpu"] = {"cpu:skylake", "fast-net"};
  rules.aliases["cpu_sky"] = "skylake";
  rules.weights = {{"nv-compute-*", 5}, {"fast-*", 3}, {"fast-net", 4}};
  absl::StatusOr<std::unique_ptr<const Vocabulary>> v =
      Vocabulary::Create(rules);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(Hops(**v, "my-cluster-cpu", "skylake"), 1);
  EXPECT_EQ(Hops(**v, "my-cluster-cpu", "broadwell"), 2);
  EXPECT_EQ(Hops(**v, "my-cluster-cpu", "fast-net"), 1);
  EXPECT_EQ((*v)->Canonical("cpu_sky"), "skylake");
  EXPECT_EQ((*v)->Canonical("cpu:my-cluster-cpu"), "my-cluster-cpu");
  EXPECT_EQ((*v)->Weight("nv-compute-5-2"), 5);  // config beats built-in
  EXPECT_EQ((*v)->Weight("fast-net"), 4);        // exact beats glob
  EXPECT_EQ((*v)->Weight("fast-disk"), 3);
  EXPECT_EQ((*v)->Weight("nvidia-1-2"), 2);
}

TEST(VocabularyTest, TheSpellingRuleAppliesToTheConfigToo) {
  FeatureRules rules;
  rules.implies["My_Cluster_CPU"] = {"Skylake"};
  rules.aliases["Site_CPU"] = "my_cluster_cpu";
  rules.weights = {{"Fast_*", 7}};
  absl::StatusOr<std::unique_ptr<const Vocabulary>> v =
      Vocabulary::Create(rules);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*v)->Canonical("SITE-cpu"), "my-cluster-cpu");
  EXPECT_EQ(Hops(**v, "my-cluster-cpu", "skylake"), 1);
  EXPECT_EQ((*v)->Weight("fast-net"), 7);
  // A spelling that is a known feature once normalised renames nothing.
  FeatureRules clash;
  clash.aliases["SKYLAKE"] = "broadwell";
  EXPECT_FALSE(Vocabulary::Create(clash).ok());
}

TEST(VocabularyTest, BadRulesAreClearErrors) {
  auto error = [](const FeatureRules& rules) {
    absl::StatusOr<std::unique_ptr<const Vocabulary>> v =
        Vocabulary::Create(rules);
    EXPECT_FALSE(v.ok());
    return v.ok() ? std::string() : std::string(v.status().message());
  };
  FeatureRules cycle;
  cycle.implies["a"] = {"b"};
  cycle.implies["b"] = {"c"};
  cycle.implies["c"] = {"a"};
  EXPECT_THAT(error(cycle), HasSubstr("cycle a -> b -> c -> a"));

  FeatureRules into_builtin;
  into_builtin.implies["x86-64-v2"] = {"skylake"};
  EXPECT_THAT(error(into_builtin), HasSubstr("cycle"));

  FeatureRules self_alias;
  self_alias.aliases["a"] = "a";
  EXPECT_THAT(error(self_alias), HasSubstr("alias of itself"));

  FeatureRules rename;
  rename.aliases["broadwell"] = "skylake";
  EXPECT_THAT(error(rename), HasSubstr("cannot rename"));

  FeatureRules chain;
  chain.aliases["a"] = "skylake512";
  EXPECT_THAT(error(chain), HasSubstr("itself an alias"));

  FeatureRules alias_key;
  alias_key.implies["skylake512"] = {"x"};
  EXPECT_THAT(error(alias_key), HasSubstr("use the canonical name"));

  FeatureRules weight;
  weight.weights = {{"x", -1}};
  EXPECT_THAT(error(weight), HasSubstr("0..1000"));

  FeatureRules spaces;
  spaces.implies["a b"] = {"c"};
  EXPECT_THAT(error(spaces), HasSubstr("printable"));
}

TEST(GlobTest, Matches) {
  EXPECT_TRUE(GlobMatch("nv-compute-*", "nv-compute-5-2"));
  EXPECT_TRUE(GlobMatch("nv-compute-*", "nv-compute-"));
  EXPECT_FALSE(GlobMatch("nv-compute-*", "nvidia-1"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a?c", "abc"));
  EXPECT_FALSE(GlobMatch("a?c", "ac"));
  EXPECT_TRUE(GlobMatch("*-5-*", "nv-compute-5-2"));
  EXPECT_TRUE(GlobMatch("a*b*c", "axxbyyc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "axxbyy"));
  // Pathological pattern stays fast (no exponential backtracking).
  EXPECT_FALSE(GlobMatch("*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

}  // namespace
}  // namespace nodefit
