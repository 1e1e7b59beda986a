#include "resolver/registry/digest.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

TEST(DigestTest, Sha256) {
  EXPECT_EQ(Sha256Digest(""),
            "sha256:"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Digest("abc"),
            "sha256:"
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, Verify) {
  EXPECT_TRUE(VerifyDigest("abc", Sha256Digest("abc"), "x").ok());
  absl::Status s = VerifyDigest("abd", Sha256Digest("abc"), "manifest m");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()),
              ::testing::HasSubstr("manifest m: content hashes to sha256:"));
  EXPECT_EQ(VerifyDigest("abc", "sha256:12", "x").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DigestTest, StreamedInPiecesEqualsWhole) {
  const std::string data = std::string(100000, 'x') + "tail";
  Sha256Stream stream;
  for (size_t at = 0; at < data.size(); at += 4097) {
    stream.Update(absl::string_view(data).substr(at, 4097));
  }
  EXPECT_EQ(stream.Finish(), Sha256Digest(data));
  Sha256Stream empty;
  EXPECT_EQ(empty.Finish(), Sha256Digest(""));
}

}  // namespace
}  // namespace nodefit
