#include "resolver/base/command_runner.h"

#include <sys/stat.h>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;

CommandLimits Limits(absl::Duration timeout, size_t max_output = 1 << 16) {
  CommandLimits limits;
  limits.timeout = timeout;
  limits.max_output_bytes = max_output;
  return limits;
}

TEST(CommandRunnerTest, CapturesOutputAndExitCode) {
  SubprocessRunner runner;
  absl::StatusOr<CommandResult> r =
      runner.Run({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"},
                 Limits(absl::Seconds(10)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->output, "out\n");
  EXPECT_EQ(r->error_output, "err\n");
}

TEST(CommandRunnerTest, NoShellArgumentsPassedAsIs) {
  SubprocessRunner runner;
  // "echo" is found in PATH; "$HOME;x" is not expanded by anyone.
  absl::StatusOr<CommandResult> r =
      runner.Run({"echo", "$HOME;x", "a  b"}, Limits(absl::Seconds(10)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->output, "$HOME;x a  b\n");
}

TEST(CommandRunnerTest, StandardInputIsEmpty) {
  SubprocessRunner runner;
  absl::StatusOr<CommandResult> r =
      runner.Run({"/bin/cat"}, Limits(absl::Seconds(10)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->output, "");
}

TEST(CommandRunnerTest, MissingProgramIsNotFound) {
  SubprocessRunner runner;
  absl::StatusOr<CommandResult> r =
      runner.Run({"nodefit-no-such-program-xyz"}, Limits(absl::Seconds(10)));
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("not found in PATH"));
  r = runner.Run({"/nonexistent/nvidia-smi"}, Limits(absl::Seconds(10)));
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  // A file that is not executable is not a program either.
  testing::TempDir dir;
  const std::string plain = dir.Write("plain", "#!/bin/sh\necho hi\n");
  r = runner.Run({plain}, Limits(absl::Seconds(10)));
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_TRUE(absl::IsInvalidArgument(
      runner.Run({}, Limits(absl::Seconds(1))).status()));
}

TEST(CommandRunnerTest, ScriptWithoutInterpreterLineIsNotRunnable) {
  SubprocessRunner runner;
  testing::TempDir dir;
  const std::string bad = dir.Write("bad",
                                    "\x7f"
                                    "ELF garbage");
  ASSERT_EQ(chmod(bad.c_str(), 0755), 0);
  const absl::StatusOr<CommandResult> r =
      runner.Run({bad}, Limits(absl::Seconds(10)));
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("cannot run"));
}

TEST(CommandRunnerTest, TimeoutKillsTheProgram) {
  SubprocessRunner runner;
  const absl::Time start = absl::Now();
  const absl::StatusOr<CommandResult> r = runner.Run(
      {"/bin/sh", "-c", "sleep 30"}, Limits(absl::Milliseconds(200)));
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(CommandRunnerTest, OutputIsCapped) {
  SubprocessRunner runner;
  const absl::StatusOr<CommandResult> r =
      runner.Run({"/usr/bin/yes"}, Limits(absl::Seconds(10), 1000));
  EXPECT_TRUE(absl::IsResourceExhausted(r.status())) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("more than 1000"));
}

TEST(CommandRunnerTest, KilledBySignal) {
  SubprocessRunner runner;
  const absl::StatusOr<CommandResult> r =
      runner.Run({"/bin/sh", "-c", "kill -9 $$"}, Limits(absl::Seconds(10)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->term_signal, 9);
}

TEST(CommandRunnerTest, FindExecutable) {
  absl::StatusOr<std::string> sh = FindExecutable("sh");
  ASSERT_TRUE(sh.ok()) << sh.status();
  EXPECT_EQ(sh->back(), 'h');
  EXPECT_EQ(*FindExecutable("/bin/sh"), "/bin/sh");
  EXPECT_TRUE(absl::IsNotFound(FindExecutable("").status()));
  EXPECT_TRUE(absl::IsNotFound(FindExecutable("/tmp").status()));
}

}  // namespace
}  // namespace nodefit
