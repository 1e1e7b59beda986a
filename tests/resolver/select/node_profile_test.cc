#include "resolver/select/node_profile.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;

NodeProfile Node(const std::string& platform,
                 std::vector<std::string> features) {
  absl::StatusOr<Platform> p = ParsePlatform(platform);
  EXPECT_TRUE(p.ok());
  return NodeProfile{*p, std::move(features)};
}

Platform P(const std::string& text) { return *ParsePlatform(text); }

TEST(NodeClosureTest, DistancesAndVia) {
  const Vocabulary& v = Vocabulary::BuiltIn();
  NodeClosure node(Node("linux/amd64", {"cpu:skylake", "nvidia-396-44"}), v);
  EXPECT_EQ(node.Distance(v.Find("skylake")), 0);
  EXPECT_EQ(node.Distance(v.Find("broadwell")), 1);
  EXPECT_EQ(node.Distance("x86-64-v2"), 4);
  EXPECT_EQ(node.Distance("skylake-avx512"), -1);
  EXPECT_EQ(node.Distance("nvidia-396-44"), 0);  // outside the graph
  EXPECT_EQ(node.Distance("nvidia-390-30"), -1);
  EXPECT_EQ(node.Via(v.Find("broadwell")), "skylake");
  EXPECT_THAT(node.features(), ElementsAre("skylake", "nvidia-396-44"));
}

TEST(NodeClosureTest, NearestDistanceWins) {
  const Vocabulary& v = Vocabulary::BuiltIn();
  NodeClosure node(Node("linux/amd64", {"skylake", "broadwell"}), v);
  EXPECT_EQ(node.Distance(v.Find("broadwell")), 0);
  EXPECT_EQ(node.Via(v.Find("broadwell")), "broadwell");
  EXPECT_EQ(node.Distance(v.Find("haswell")), 1);
}

TEST(NodeClosureTest, VariantBecomesAFeatureAndFeaturesRaiseTheVariant) {
  const Vocabulary& v = Vocabulary::BuiltIn();
  NodeClosure v3(Node("linux/amd64/v3", {}), v);
  EXPECT_THAT(v3.features(), ElementsAre("x86-64-v3"));
  EXPECT_EQ(v3.Distance("x86-64-v2"), 1);
  EXPECT_EQ(v3.platform().String(), "linux/amd64/v3");

  NodeClosure sky(Node("linux/amd64", {"skylake-avx512"}), v);
  EXPECT_EQ(sky.platform().String(), "linux/amd64/v4");
  EXPECT_TRUE(sky.CanRun(P("linux/amd64/v4")));
  EXPECT_FALSE(sky.CanRun(P("linux/arm64")));

  NodeClosure plain(Node("linux/amd64", {}), v);
  EXPECT_TRUE(plain.CanRun(P("linux/amd64")));
  EXPECT_FALSE(plain.CanRun(P("linux/amd64/v2")));
}

TEST(NodeClosureTest, Arm64V9RunsV8UpToXPlusFive) {
  const Vocabulary& v = Vocabulary::BuiltIn();
  NodeClosure node(Node("linux/arm64", {"neoverse-v2"}), v);
  EXPECT_EQ(node.platform().String(), "linux/arm64/v9");
  EXPECT_TRUE(node.CanRun(P("linux/arm64/v8.5")));
  EXPECT_FALSE(node.CanRun(P("linux/arm64/v8.6")));
  EXPECT_TRUE(node.CanRun(P("linux/arm64")));
  EXPECT_GE(node.Distance("arm64-v8.2"), 1);
}

TEST(NodeClosureTest, EveryNodeHasItsArchitecturesBaseline) {
  const Vocabulary& v = Vocabulary::BuiltIn();
  NodeClosure plain(Node("linux/amd64", {}), v);
  EXPECT_EQ(plain.Distance("x86-64"), 0);
  EXPECT_EQ(plain.Via(v.Find("x86-64")), "linux/amd64");
  EXPECT_THAT(plain.features(), ::testing::IsEmpty());
  NodeClosure arm(Node("linux/arm64", {}), v);
  EXPECT_EQ(arm.Distance("arm64-v8.0"), 0);
  EXPECT_EQ(arm.Distance("x86-64"), -1);
}

TEST(NodeClosureTest, PowerAndRiscvFeaturesRaiseTheVariant) {
  const Vocabulary& v = Vocabulary::BuiltIn();
  NodeClosure power(Node("linux/ppc64le", {"power9le"}), v);
  EXPECT_EQ(power.platform().String(), "linux/ppc64le/power9");
  EXPECT_TRUE(power.CanRun(P("linux/ppc64le/power8")));
  EXPECT_FALSE(power.CanRun(P("linux/ppc64le/power10")));
  NodeClosure riscv(Node("linux/riscv64", {"rva23u64"}), v);
  EXPECT_EQ(riscv.platform().String(), "linux/riscv64/rva23u64");
  EXPECT_EQ(riscv.Distance("rva20u64"), 2);
}

TEST(NodeClosureTest, GpuRulesAnswerWithTheProvidingFeature) {
  const Vocabulary& v = Vocabulary::BuiltIn();
  NodeClosure node(Node("linux/amd64",
                        {"nvidia-550-54", "nv-compute-8-6", "nv-compute-9-0"}),
                   v);
  EXPECT_EQ(node.Lookup("cuda-12-4"),
            std::make_pair(0, std::string("nvidia-550-54")));
  EXPECT_EQ(node.Lookup("cuda-12-5").first, -1);
  EXPECT_EQ(node.Lookup("nv-compute-8-0"),
            std::make_pair(6, std::string("nv-compute-8-6")));
  // PTX 8.0: 8.6 is nearer than 9.0.
  EXPECT_EQ(node.Lookup("nv-ptx-8-0"),
            std::make_pair(Vocabulary::kPtxDistance + 6,
                           std::string("nv-compute-8-6")));
  bool has_cuda = false;
  for (const NodeClosure::Member& m : node.Members()) {
    if (m.feature == "cuda-12-4") {
      has_cuda = true;
      EXPECT_EQ(m.via, "nvidia-550-54");
    }
  }
  EXPECT_TRUE(has_cuda);
}

TEST(NodeClosureTest, MembersAreNearestFirst) {
  const Vocabulary& v = Vocabulary::BuiltIn();
  NodeClosure node(Node("linux/amd64", {"haswell", "gpu-x"}), v);
  std::vector<NodeClosure::Member> members = node.Members();
  ASSERT_GE(members.size(), 3u);
  EXPECT_EQ(members[0].distance, 0);
  // haswell -> ... -> nehalem -> core2 -> nocona (GCC's and archspec's
  // chain below nehalem).
  EXPECT_EQ(members.back().distance, 6);
  for (size_t i = 1; i < members.size(); ++i) {
    EXPECT_LE(members[i - 1].distance, members[i].distance);
  }
}

}  // namespace
}  // namespace nodefit
