// plugin/daemon/bypass.h: which image events are pulls that went around
// nodefit, with a fake clock.
#include "plugin/daemon/bypass.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

class BypassTest : public ::testing::Test {
 protected:
  BypassTest() { Reset(BypassOptions()); }

  void Reset(BypassOptions options) {
    lines_.clear();
    detector_ = std::make_unique<BypassDetector>(
        options, &clock_, &metrics_, &logger_,
        [this] { return std::string("config_path is a list"); });
  }

  static ImageEvent Event(const std::string& name,
                          const std::string& ns = "k8s.io") {
    return {ns, "/images/create", name, {}};
  }
  static Reference Ref(const std::string& text) {
    return *ParseReference(text);
  }
  uint64_t Count(const std::string& ns = "k8s.io") const {
    return metrics_.Value("nodefit_bypassed_pulls_total", {ns});
  }

  FakeClock clock_;
  Metrics metrics_;
  std::vector<std::string> lines_;
  Logger logger_{LogFormat::kJson, LogLevel::kInfo,
                 [this](const std::string& line) { lines_.push_back(line); }};
  std::unique_ptr<BypassDetector> detector_;
};

TEST_F(BypassTest, ATagNobodyAskedAboutIsABypass) {
  EXPECT_TRUE(detector_->OnImageEvent(Event("docker.io/library/app:1")));
  EXPECT_EQ(Count(), 1u);
  ASSERT_THAT(lines_, SizeIs(1));
  EXPECT_THAT(lines_[0], HasSubstr("containerd pulled or imported "
                                   "docker.io/library/app:1 without asking "
                                   "nodefit"));
  EXPECT_THAT(lines_[0], HasSubstr("\"likely_cause\":\"config_path is a "
                                   "list\""));
  EXPECT_THAT(lines_[0], HasSubstr("\"namespace\":\"k8s.io\""));
}

TEST_F(BypassTest, AskedWithinTheWindowIsNot) {
  detector_->Asked(Ref("app:1"));  // normalised as containerd names it
  clock_.Advance(absl::Minutes(9));
  EXPECT_FALSE(detector_->OnImageEvent(Event("docker.io/library/app:1")));
  clock_.Advance(absl::Minutes(2));  // past the 10 minute window
  EXPECT_TRUE(detector_->OnImageEvent(Event("docker.io/library/app:1")));
}

TEST_F(BypassTest, OnlyTagsInWatchedNamespacesWithoutNodefitLabels) {
  EXPECT_FALSE(detector_->OnImageEvent(Event("reg.example/app:1", "default")));
  EXPECT_FALSE(detector_->OnImageEvent(
      Event("reg.example/app@sha256:" + std::string(64, 'a'))));
  EXPECT_FALSE(
      detector_->OnImageEvent(Event("sha256:" + std::string(64, 'b'))));
  EXPECT_FALSE(detector_->OnImageEvent(Event("not a reference")));
  ImageEvent ours = Event("reg.example/app:1");
  ours.labels["io.nodefit.chosen"] = "sha256:" + std::string(64, 'c');
  EXPECT_FALSE(detector_->OnImageEvent(ours));
  EXPECT_EQ(Count(), 0u);
  EXPECT_EQ(Count("default"), 0u);
}

TEST_F(BypassTest, OneReportPerNameAndWindow) {
  EXPECT_TRUE(detector_->OnImageEvent(Event("reg.example/app:1")));
  ImageEvent update = Event("reg.example/app:1");
  update.topic = "/images/update";
  EXPECT_FALSE(detector_->OnImageEvent(update));
  clock_.Advance(absl::Minutes(11));
  EXPECT_TRUE(detector_->OnImageEvent(update));
  EXPECT_EQ(Count(), 2u);
}

TEST_F(BypassTest, MemoryIsBounded) {
  BypassOptions options;
  options.max_names = 100;
  Reset(options);
  for (int i = 0; i < 1000; ++i) {
    detector_->Asked(Ref("reg.example/app:" + std::to_string(i)));
    clock_.Advance(absl::Milliseconds(1));
  }
  // The newest names are still known; the oldest were dropped.
  EXPECT_FALSE(detector_->OnImageEvent(Event("reg.example/app:999")));
  EXPECT_TRUE(detector_->OnImageEvent(Event("reg.example/app:0")));
}

}  // namespace
}  // namespace nodefit
