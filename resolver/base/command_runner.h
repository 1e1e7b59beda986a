// Running a helper program (nvidia-smi) and capturing what it prints.
//
// CommandRunner is the seam detection code calls through, so unit tests pass
// a fake and never depend on what is installed. SubprocessRunner is the real
// one: fork + exec without a shell (argv is passed as is), standard input
// from /dev/null, standard output and standard error captured up to a cap, a
// deadline after which the program's whole process group is killed.
//
// Errors: NotFound when the program does not exist (not in PATH, or a path
// that is not an executable file), DeadlineExceeded on timeout,
// ResourceExhausted when it prints more than the cap, Internal for system
// call failures. A program that runs and exits non-zero is not an error:
// the caller reads CommandResult::exit_code.
#ifndef NODEFIT_RESOLVER_BASE_COMMAND_RUNNER_H_
#define NODEFIT_RESOLVER_BASE_COMMAND_RUNNER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nodefit {

struct CommandResult {
  int exit_code = -1;        // -1 when killed by a signal
  int term_signal = 0;       // the signal, when killed by one
  std::string output;        // standard output
  std::string error_output;  // standard error
};

struct CommandLimits {
  absl::Duration timeout = absl::Seconds(10);
  size_t max_output_bytes = size_t{64} << 10;  // each of stdout and stderr
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;

  // Runs argv[0] with the rest as arguments. argv[0] without a '/' is
  // looked up in PATH.
  [[nodiscard]] virtual absl::StatusOr<CommandResult> Run(
      const std::vector<std::string>& argv, const CommandLimits& limits) = 0;
};

class SubprocessRunner : public CommandRunner {
 public:
  [[nodiscard]] absl::StatusOr<CommandResult> Run(
      const std::vector<std::string>& argv,
      const CommandLimits& limits) override;
};

// The executable `name` names: itself when it has a '/', else the first
// executable regular file PATH/name; NotFound otherwise.
[[nodiscard]] absl::StatusOr<std::string> FindExecutable(
    const std::string& name);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_BASE_COMMAND_RUNNER_H_
