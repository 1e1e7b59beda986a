#include "resolver/base/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"

namespace nodefit {
namespace {

absl::Status SystemError(absl::string_view what, int error) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(error)));
}

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         access(path.c_str(), X_OK) == 0;
}

// Closes a descriptor once; -1 means closed.
void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

// Kills the child's process group (it ran setpgid) and reaps the child.
void KillAndReap(pid_t pid) {
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

int RemainingMs(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  // Round up so a sub-millisecond remainder does not spin.
  return static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
}

}  // namespace

absl::StatusOr<std::string> FindExecutable(const std::string& name) {
  if (name.empty()) return absl::NotFoundError("empty program name");
  if (name.find('/') != std::string::npos) {
    if (IsExecutableFile(name)) return name;
    return absl::NotFoundError(
        absl::StrCat(name, " is not an executable file"));
  }
  const char* path_env = std::getenv("PATH");
  const std::string path = path_env != nullptr ? path_env : "/usr/bin:/bin";
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    // An empty PATH entry means the current directory; a daemon must not
    // run programs from wherever it was started, so skip it.
    if (dir.empty()) continue;
    std::string candidate = absl::StrCat(dir, "/", name);
    if (IsExecutableFile(candidate)) return candidate;
  }
  return absl::NotFoundError(absl::StrCat(name, " not found in PATH"));
}

absl::StatusOr<CommandResult> SubprocessRunner::Run(
    const std::vector<std::string>& argv, const CommandLimits& limits) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  absl::StatusOr<std::string> program = FindExecutable(argv[0]);
  if (!program.ok()) return program.status();

  // Everything the child touches is prepared before fork: between fork and
  // exec only async-signal-safe calls are allowed.
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);

  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  int exec_pipe[2] = {-1, -1};  // carries errno when exec fails
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0 ||
      pipe2(exec_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    for (int* fd : {&out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1],
                    &exec_pipe[0], &exec_pipe[1]}) {
      CloseFd(fd);
    }
    return SystemError("pipe", error);
  }

  const absl::Time deadline = absl::Now() + limits.timeout;
  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    for (int* fd : {&out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1],
                    &exec_pipe[0], &exec_pipe[1]}) {
      CloseFd(fd);
    }
    return SystemError("fork", error);
  }
  if (pid == 0) {
    // Own process group, so a timeout kills what the program started too.
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    execv(program->c_str(), args.data());
    const int error = errno;
    (void)!write(exec_pipe[1], &error, sizeof(error));
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent: no race with kill(-pid)
  CloseFd(&out_pipe[1]);
  CloseFd(&err_pipe[1]);
  CloseFd(&exec_pipe[1]);

  // Blocks until exec succeeds (the descriptor closes) or fails.
  int exec_errno = 0;
  ssize_t n = 0;
  do {
    n = read(exec_pipe[0], &exec_errno, sizeof(exec_errno));
  } while (n < 0 && errno == EINTR);
  CloseFd(&exec_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof(exec_errno))) {
    CloseFd(&out_pipe[0]);
    CloseFd(&err_pipe[0]);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    const std::string message =
        absl::StrCat("cannot run ", *program, ": ", std::strerror(exec_errno));
    if (exec_errno == ENOENT || exec_errno == EACCES || exec_errno == ENOEXEC) {
      return absl::NotFoundError(message);
    }
    return absl::InternalError(message);
  }

  CommandResult result;
  int fds[2] = {out_pipe[0], err_pipe[0]};
  std::string* sinks[2] = {&result.output, &result.error_output};
  absl::Status failure;
  while (fds[0] >= 0 || fds[1] >= 0) {
    const int wait_ms = RemainingMs(deadline);
    if (wait_ms == 0) {
      failure = absl::DeadlineExceededError(
          absl::StrCat(argv[0], " did not finish within ",
                       absl::FormatDuration(limits.timeout)));
      break;
    }
    pollfd polls[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    const int ready = poll(polls, 2, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      failure = SystemError("poll", errno);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0 || polls[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t got = read(fds[i], buffer, sizeof(buffer));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        CloseFd(&fds[i]);
        continue;
      }
      if (sinks[i]->size() + static_cast<size_t>(got) >
          limits.max_output_bytes) {
        failure = absl::ResourceExhaustedError(absl::StrCat(
            argv[0], " printed more than ", limits.max_output_bytes, " bytes"));
        break;
      }
      sinks[i]->append(buffer, static_cast<size_t>(got));
    }
    if (!failure.ok()) break;
  }
  CloseFd(&fds[0]);
  CloseFd(&fds[1]);
  if (!failure.ok()) {
    KillAndReap(pid);
    return failure;
  }

  // Output is closed; the program may still linger, so reaping waits no
  // longer than the deadline.
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return SystemError("waitpid", errno);
    if (RemainingMs(deadline) == 0) {
      KillAndReap(pid);
      return absl::DeadlineExceededError(
          absl::StrCat(argv[0], " did not exit within ",
                       absl::FormatDuration(limits.timeout)));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace nodefit
