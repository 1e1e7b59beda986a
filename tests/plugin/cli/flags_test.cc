#include "plugin/cli/flags.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<FlagSpec> kSpecs = {{"index"}, {"json", false}, {"registry"}};

TEST(FlagsTest, Forms) {
  absl::StatusOr<ParsedFlags> f =
      ParseFlags({"pos", "--index", "a", "--json", "--registry=r1",
                  "--registry", "r2", "-", "--", "--index"},
                 kSpecs);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->Get("index"), "a");
  EXPECT_TRUE(f->Has("json"));
  EXPECT_THAT(f->GetAll("registry"), ElementsAre("r1", "r2"));
  EXPECT_THAT(f->positional, ElementsAre("pos", "-", "--index"));
  EXPECT_EQ(f->Get("missing", "dflt"), "dflt");
}

TEST(FlagsTest, Errors) {
  EXPECT_THAT(std::string(ParseFlags({"--nope"}, kSpecs).status().message()),
              HasSubstr("unknown flag --nope"));
  EXPECT_THAT(std::string(ParseFlags({"--index"}, kSpecs).status().message()),
              HasSubstr("--index needs a value"));
  EXPECT_THAT(
      std::string(ParseFlags({"--json=yes"}, kSpecs).status().message()),
      HasSubstr("--json takes no value"));
}

}  // namespace
}  // namespace nodefit
