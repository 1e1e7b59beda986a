#include "resolver/base/json_util.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(JsonUtilTest, ParsesAndReportsErrorsWithPosition) {
  absl::StatusOr<nlohmann::json> ok = ParseJson(R"({"a": [1, 2]})", "thing");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)["a"][1], 2);

  absl::StatusOr<nlohmann::json> bad = ParseJson(R"({"a": })", "thing");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()),
              StartsWith("thing: malformed JSON: "));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("column 7"));
  EXPECT_THAT(std::string(bad.status().message()),
              testing::Not(HasSubstr("[json.")));
}

TEST(JsonUtilTest, DuplicateKeysKeepTheLast) {
  absl::StatusOr<nlohmann::json> j = ParseJson(R"({"a": 1, "a": 2})", "x");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ((*j)["a"], 2);
}

TEST(JsonUtilTest, DumpNeverThrowsOnInvalidUtf8) {
  nlohmann::json j = {{"k", std::string("bad \xff byte")}};
  EXPECT_EQ(DumpJson(j), "{\"k\":\"bad \xEF\xBF\xBD byte\"}");
}

TEST(JsonUtilTest, TypeError) {
  EXPECT_EQ(JsonTypeError("cfg", "key \"a\"", "boolean", nlohmann::json("x"))
                .message(),
            "cfg: key \"a\": expected boolean, got string");
}

}  // namespace
}  // namespace nodefit
