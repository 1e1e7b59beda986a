#include "resolver/base/file_util.h"

#include <sys/stat.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;

TEST(FileUtilTest, ReadsWholeFilesAndEnforcesTheLimit) {
  testing::TempDir dir;
  const std::string path = dir.Write("f", std::string(100, 'x'));
  absl::StatusOr<std::string> all = ReadFileToString(path, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 100u);
  absl::StatusOr<std::string> over = ReadFileToString(path, 99);
  ASSERT_FALSE(over.ok());
  EXPECT_THAT(std::string(over.status().message()),
              HasSubstr("larger than 99 bytes"));
  absl::StatusOr<std::string> missing = ReadFileToString(path + "x", 10);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(path + "x"));
}

TEST(FileUtilTest, AtomicWriteReplacesAndLeavesNoTemporaryFiles) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/out";
  ASSERT_TRUE(WriteFileAtomically(path, "one", 0600).ok());
  ASSERT_TRUE(WriteFileAtomically(path, "two", 0640).ok());
  EXPECT_EQ(*ReadFileToString(path, 10), "two");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1);
  absl::Status status =
      WriteFileAtomically(dir.path() + "/no/such/dir/file", "x");
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("no/such/dir/file"));
}

}  // namespace
}  // namespace nodefit
