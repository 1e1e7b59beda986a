// A child process for tests: started with argv (no shell), its stdout and
// stderr appended to a log file, in its own process group, stopped (TERM,
// then KILL) when the object goes away.
#ifndef NODEFIT_INTEGRATION_TESTBED_SUBPROCESS_H_
#define NODEFIT_INTEGRATION_TESTBED_SUBPROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nodefit::testbed {

class Subprocess {
 public:
  // `env` entries ("NAME=value") are added to the parent's environment.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv, const std::string& log_path,
      const std::vector<std::string>& env = {});
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  bool Running();
  // Sends `signal` to the process group (not waiting).
  void Signal(int signal);
  // TERM, wait up to `grace`, then KILL. Returns the exit status as
  // waitpid() reported it, or -1 if it had already been reaped.
  int Stop(absl::Duration grace = absl::Seconds(5));
  // Waits for exit up to `timeout`; the wait status, or -1 on timeout.
  int Wait(absl::Duration timeout);
  // The process's own peak resident set in KiB (not its children's, nor
  // any other process's), known once it has been reaped; 0 before.
  int64_t peak_rss_kb() const { return peak_rss_kb_; }

 private:
  Subprocess(pid_t pid, std::string log_path)
      : pid_(pid), log_path_(std::move(log_path)) {}
  // Waits up to `timeout` for the process to exit, without reaping it (so
  // its process group number stays ours); true once it has exited.
  bool WaitExited(absl::Duration timeout);
  pid_t pid_;
  std::string log_path_;
  bool reaped_ = false;
  int status_ = -1;
  int64_t peak_rss_kb_ = 0;
};

// Polls `ready` every 20 ms until it returns true or `timeout` passes.
[[nodiscard]] absl::Status WaitFor(const std::function<bool()>& ready,
                                   absl::Duration timeout,
                                   const std::string& what);

// Runs a command to completion; its combined output, or an error naming
// the command and its exit status (with the output). `peak_rss_kb`, when
// given, gets the command's own peak resident set.
[[nodiscard]] absl::StatusOr<std::string> RunCommand(
    const std::vector<std::string>& argv,
    absl::Duration timeout = absl::Seconds(60), int64_t* peak_rss_kb = nullptr);

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// The whole content of a file, or "".
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_SUBPROCESS_H_
