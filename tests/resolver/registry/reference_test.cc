#include "resolver/registry/reference.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;

constexpr char kDigest[] =
    "sha256:ec0cb718e51ecd37446b9d5b6dbb3b87fafd44e945a3adf05644d6209d5b3297";

struct NormalisationCase {
  std::string input;
  std::string registry, repository, tag, digest;
  std::string canonical;
};

class NormalisationTest : public ::testing::TestWithParam<NormalisationCase> {};

TEST_P(NormalisationTest, ParsesAndNormalises) {
  const NormalisationCase& c = GetParam();
  absl::StatusOr<Reference> ref = ParseReference(c.input);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->registry, c.registry);
  EXPECT_EQ(ref->repository, c.repository);
  EXPECT_EQ(ref->tag, c.tag);
  EXPECT_EQ(ref->digest, c.digest);
  EXPECT_EQ(ref->String(), c.canonical);
  // The canonical form parses back to the same reference.
  absl::StatusOr<Reference> again = ParseReference(ref->String());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *ref);
}

INSTANTIATE_TEST_SUITE_P(
    References, NormalisationTest,
    ::testing::Values(
        NormalisationCase{"ubuntu", "docker.io", "library/ubuntu", "latest", "",
                          "docker.io/library/ubuntu:latest"},
        NormalisationCase{"ubuntu:22.04", "docker.io", "library/ubuntu",
                          "22.04", "", "docker.io/library/ubuntu:22.04"},
        NormalisationCase{"nvidia/cuda:12.2.0-base", "docker.io", "nvidia/cuda",
                          "12.2.0-base", "",
                          "docker.io/nvidia/cuda:12.2.0-base"},
        NormalisationCase{"index.docker.io/busybox", "docker.io",
                          "library/busybox", "latest", "",
                          "docker.io/library/busybox:latest"},
        NormalisationCase{"ghcr.io/org/team/app:v1", "ghcr.io", "org/team/app",
                          "v1", "", "ghcr.io/org/team/app:v1"},
        NormalisationCase{"localhost/app", "localhost", "app", "latest", "",
                          "localhost/app:latest"},
        NormalisationCase{"127.0.0.1:5000/cv/tf:gpu", "127.0.0.1:5000", "cv/tf",
                          "gpu", "", "127.0.0.1:5000/cv/tf:gpu"},
        NormalisationCase{"[::1]:5000/app:1", "[::1]:5000", "app", "1", "",
                          "[::1]:5000/app:1"},
        NormalisationCase{std::string("127.0.0.1:5000/app@") + kDigest,
                          "127.0.0.1:5000", "app", "", kDigest,
                          std::string("127.0.0.1:5000/app@") + kDigest},
        NormalisationCase{std::string("app:1.0@") + kDigest, "docker.io",
                          "library/app", "1.0", kDigest,
                          std::string("docker.io/library/app:1.0@") + kDigest},
        NormalisationCase{"a__b/c-d.e_f---g:T_a-g.1", "docker.io",
                          "a__b/c-d.e_f---g", "T_a-g.1", "",
                          "docker.io/a__b/c-d.e_f---g:T_a-g.1"},
        NormalisationCase{"Registry.Example.com/x/y", "Registry.Example.com",
                          "x/y", "latest", "",
                          "Registry.Example.com/x/y:latest"}));

TEST(ReferenceTest, TagOrDigest) {
  EXPECT_EQ(ParseReference("app:t")->TagOrDigest(), "t");
  EXPECT_EQ(ParseReference(std::string("app@") + kDigest)->TagOrDigest(),
            kDigest);
  EXPECT_EQ(ParseReference(std::string("app:t@") + kDigest)->Name(),
            "docker.io/library/app");
}

struct BadCase {
  std::string input;
  std::string message;  // a substring the error must contain
};

class BadReferenceTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadReferenceTest, RejectedWithClearError) {
  absl::StatusOr<Reference> ref = ParseReference(GetParam().input);
  ASSERT_FALSE(ref.ok()) << ref->String();
  EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(ref.status().message()),
              HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    References, BadReferenceTest,
    ::testing::Values(
        BadCase{"", "empty"}, BadCase{"Ubuntu", "must be lowercase"},
        BadCase{"docker.io/library/Ubuntu:1", "must be lowercase"},
        BadCase{"ghcr.io/Org/app", "must be lowercase"},
        BadCase{"app@sha256:abc", "64 hex"},
        BadCase{"app@sha256:EC0CB718E51ECD37446B9D5B6DBB3B87FAFD44E945A3ADF0564"
                "4D6209D5B3297",
                "lowercase hexadecimal"},
        BadCase{"app@", "invalid digest"},
        BadCase{"app@nocolon", "<algorithm>:<hex>"},
        BadCase{"reg.io/a/../b", "component \"..\""},
        BadCase{"reg.io/a//b", "component \"\""},
        BadCase{"reg.io/-a", "component"}, BadCase{"app:", "invalid tag"},
        BadCase{"app:.hidden", "invalid tag"},
        BadCase{"app:" + std::string(129, 'a'), "invalid tag"},
        BadCase{"app:t/x", "bad port"}, BadCase{"app name", "component"},
        BadCase{":tag", "no repository"},
        BadCase{"reg-.io/app", "invalid registry host"},
        BadCase{"reg.io:99999999/app", "bad port"},
        BadCase{"[::1/app", "unclosed"},
        BadCase{"reg.io/" + std::string(300, 'a'), "255"}));

TEST(ReferenceTest, OtherDigestAlgorithmIsUnimplemented) {
  absl::StatusOr<Reference> ref =
      ParseReference("app@sha512:" + std::string(128, 'a'));
  ASSERT_FALSE(ref.ok());
  EXPECT_EQ(ref.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(ref.status().message()), HasSubstr("only sha256"));
}

// Found by fuzz/reference_fuzzer: the 255-character bound was checked on the
// name as written, so a short name that "docker.io/library/" takes over it
// was accepted, and its own canonical form was then refused.
TEST(ReferenceTest, NameBoundIsOnTheNormalisedName) {
  // docker.io/library/ + 237 = 255.
  absl::StatusOr<Reference> fits = ParseReference(std::string(237, 'a'));
  ASSERT_TRUE(fits.ok()) << fits.status();
  EXPECT_EQ(fits->Name().size(), 255u);
  EXPECT_TRUE(ParseReference(fits->String()).ok());
  absl::StatusOr<Reference> over = ParseReference(std::string(238, 'a'));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(over.status().message()), HasSubstr("255"));
  // index.docker.io/ is written longer than the docker.io/ it stands for:
  // 256 characters as written, 250 normalised, as containerd accepts it.
  absl::StatusOr<Reference> legacy =
      ParseReference("index.docker.io/org/" + std::string(236, 'a'));
  ASSERT_TRUE(legacy.ok()) << legacy.status();
  EXPECT_EQ(legacy->Name().size(), 250u);
}

TEST(ReferenceTest, ValidatorsStandAlone) {
  EXPECT_TRUE(ValidateDigest(kDigest).ok());
  EXPECT_TRUE(ValidateRepository("library/ubuntu").ok());
  EXPECT_FALSE(ValidateRepository("../etc").ok());
  EXPECT_FALSE(ValidateRepository("a/./b").ok());
  EXPECT_FALSE(ValidateRepository(std::string(256, 'a')).ok());
  EXPECT_TRUE(ValidateRepository(std::string(255, 'a')).ok());
  EXPECT_TRUE(ValidateRegistryHost("docker.io").ok());
  EXPECT_TRUE(ValidateRegistryHost("localhost:5000").ok());
  EXPECT_FALSE(ValidateRegistryHost("a b").ok());
  EXPECT_FALSE(ValidateRegistryHost("host:").ok());
  EXPECT_TRUE(ValidateTag("latest").ok());
  EXPECT_FALSE(ValidateTag("-x").ok());
}

}  // namespace
}  // namespace nodefit
