#include "resolver/publish/index_spec.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The seed's manifest-tool file, as its CI pipeline wrote it.
constexpr char kSeedSpec[] = R"(image: qnib/cv-tf:1.12.0-rev9
manifests:
  - image: qnib/cv-tf-dev:1.12.0-rev11
    platform: {architecture: amd64, os: linux}
  - image: qnib/cv-nccl92-tf-dev:broadwell_nvcap52_1.12.0-rev2
    platform: {architecture: amd64, os: linux, features: [broadwell, nv-compute-5-2, nvidia-396-44]}
)";

TEST(IndexSpecTest, ReadsTheSeedsManifestToolFile) {
  absl::StatusOr<IndexSpec> spec = ParseIndexSpec(kSeedSpec);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->image.String(), "docker.io/qnib/cv-tf:1.12.0-rev9");
  ASSERT_EQ(spec->manifests.size(), 2U);
  EXPECT_EQ(spec->manifests[0].image.String(),
            "docker.io/qnib/cv-tf-dev:1.12.0-rev11");
  EXPECT_TRUE(spec->manifests[0].has_platform);
  EXPECT_EQ(spec->manifests[0].platform.os, "linux");
  EXPECT_TRUE(spec->manifests[0].platform.features.empty());
  EXPECT_THAT(spec->manifests[1].platform.features,
              ElementsAre("broadwell", "nv-compute-5-2", "nvidia-396-44"));
}

TEST(IndexSpecTest, ReadsTheSameAsJsonWithEveryField) {
  absl::StatusOr<IndexSpec> spec = ParseIndexSpec(R"({
    "image": "127.0.0.1:5000/cv/tf:1.0", "tags": ["1", "latest"],
    "manifests": [{"image": "127.0.0.1:5000/cv/tf-v3@sha256:)" +
                                                  std::string(64, 'a') + R"(",
      "platform": {"architecture": "amd64", "os": "windows", "variant": "v3",
                   "osversion": "10.0.17763", "osfeatures": ["win32k"],
                   "features": ["x86-64-v3"]},
      "annotations": {"org.opencontainers.image.title": "v3"}}]})");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->tags, ElementsAre("1", "latest"));
  const SpecEntry& e = spec->manifests[0];
  EXPECT_EQ(e.image.digest, "sha256:" + std::string(64, 'a'));
  EXPECT_EQ(e.platform.variant, "v3");
  EXPECT_EQ(e.platform.os_version, "10.0.17763");
  EXPECT_THAT(e.platform.os_features, ElementsAre("win32k"));
  EXPECT_EQ(e.annotations.at("org.opencontainers.image.title"), "v3");
}

TEST(IndexSpecTest, PlatformMayBeLeftToTheImageConfig) {
  absl::StatusOr<IndexSpec> spec =
      ParseIndexSpec("image: a/b:1\nmanifests:\n  - image: a/c:1\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_FALSE(spec->manifests[0].has_platform);
}

TEST(IndexSpecTest, BadInputNamesThePlace) {
  struct Case {
    std::string text;
    std::string error;
  };
  const Case cases[] = {
      {"image: a/b:1\nmanifest:\n  - image: a/c\n", "manifest: unknown key"},
      {"manifests:\n  - image: a/c\n", "image: missing"},
      {"image: a/b@sha256:" + std::string(64, 'a') +
           "\nmanifests: [{image: a/c}]\n",
       "must name a tag"},
      {"image: a/b:1\nmanifests: []\n", "manifests: must be a non-empty list"},
      {"image: a/b:1\nmanifests: [{image: 'A/B'}]\n", "manifests[0].image"},
      {"image: a/b:1\nmanifests: [{image: a/c, platform: {feature: [x]}}]\n",
       "manifests[0].platform.feature: unknown key"},
      {"image: a/b:1\nmanifests: [{image: a/c, platform: {features: x}}]\n",
       "manifests[0].platform.features: must be a list"},
      {"image: a/b:1\nmanifests: [{image: a/c, platform: {features: [[x]]}}]\n",
       "manifests[0].platform.features[0]: must be a string"},
      {"image: a/b:1\ntags: ['bad tag']\nmanifests: [{image: a/c}]\n",
       "tags[0]"},
      {"image: [a\n", "index spec: document"},
      {"- just\n- a list\n", "document: must be a mapping"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<IndexSpec> spec = ParseIndexSpec(c.text);
    ASSERT_FALSE(spec.ok()) << c.text;
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(spec.status().message(), HasSubstr(c.error)) << c.text;
  }
}

TEST(IndexSpecTest, HostileSizesAreRefusedNotCrashedOn) {
  EXPECT_FALSE(ParseIndexSpec(std::string(kMaxIndexSpecBytes + 1, ' ')).ok());
  // Deep nesting: yaml-cpp's own depth limit turns it into an error.
  const std::string deep = "image: " + std::string(100000, '[');
  absl::StatusOr<IndexSpec> spec = ParseIndexSpec(deep);
  EXPECT_FALSE(spec.ok());
}

}  // namespace
}  // namespace nodefit
