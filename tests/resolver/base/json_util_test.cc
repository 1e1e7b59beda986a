#include "resolver/base/json_util.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "resolver/base/limits.h"

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

TEST(JsonUtilTest, ErrorsNeverQuoteTheDocument) {
  // nlohmann's message quotes what it read last: here a password.
  for (const char* text :
       {R"({"password": "s3cr3tPass}}})", R"({"password": s3cr3tPass})",
        R"({"token": "s3cr3tPass)"}) {
    absl::StatusOr<nlohmann::json> bad = ParseJson(text, "config c.json");
    ASSERT_FALSE(bad.ok()) << text;
    const std::string message(bad.status().message());
    EXPECT_THAT(message, testing::Not(HasSubstr("s3cr3t"))) << message;
    EXPECT_THAT(message, StartsWith("config c.json: malformed JSON: "));
    EXPECT_THAT(message, HasSubstr("line 1, column"));
  }
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

TEST(JsonUtilTest, DepthAndValueCountAreBounded) {
  std::string deep(kJsonMaxDepth, '[');
  deep += std::string(kJsonMaxDepth, ']');
  EXPECT_TRUE(ParseJson(deep, "doc").ok());
  absl::StatusOr<nlohmann::json> too_deep = ParseJson("[" + deep + "]", "doc");
  ASSERT_FALSE(too_deep.ok());
  EXPECT_EQ(too_deep.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(too_deep.status().message()),
              StartsWith("doc: JSON nested too deeply"));

  std::string many = "[0";
  for (int64_t i = 1; i < kJsonMaxValues - 1; ++i) many += ",0";
  EXPECT_TRUE(ParseJson(many + "]", "doc").ok());  // the array is a value
  absl::StatusOr<nlohmann::json> too_many = ParseJson(many + ",0]", "doc");
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(JsonUtilTest, HittingABoundIsReported) {
  std::vector<std::string> reported;
  SetLimitReporter(
      [&](absl::string_view limit) { reported.emplace_back(limit); });
  EXPECT_FALSE(ParseJson(std::string(100, '['), "doc").ok());
  SetLimitReporter(nullptr);
  EXPECT_EQ(reported, std::vector<std::string>{"json"});
}

}  // namespace
}  // namespace nodefit
