#include "integration/testbed/subprocess.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace nodefit::testbed {

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv, const std::string& log_path,
    const std::vector<std::string>& env) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) environment.emplace_back(*e);
  environment.insert(environment.end(), env.begin(), env.end());

  const pid_t pid = fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      dup2(log, STDOUT_FILENO);
      dup2(log, STDERR_FILENO);
    }
    const int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, STDIN_FILENO);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const std::string& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(environment.size() + 1);
    for (std::string& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);
    execvpe(args[0], args.data(), envp.data());
    dprintf(STDERR_FILENO, "exec %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, to win the race with kill()
  return std::unique_ptr<Subprocess>(new Subprocess(pid, log_path));
}

Subprocess::~Subprocess() { Stop(absl::Seconds(5)); }

bool Subprocess::Running() {
  if (reaped_) return false;
  int status = 0;
  rusage usage{};
  const pid_t r = wait4(pid_, &status, WNOHANG, &usage);
  if (r == pid_) {
    reaped_ = true;
    status_ = status;
    peak_rss_kb_ = usage.ru_maxrss;
    return false;
  }
  return true;
}

void Subprocess::Signal(int signal) {
  if (!reaped_) kill(-pid_, signal);
}

int Subprocess::Wait(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (Running()) {
    if (absl::Now() > deadline) return -1;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return status_;
}

int Subprocess::Stop(absl::Duration grace) {
  if (reaped_) return status_;
  Signal(SIGTERM);
  if (!WaitExited(grace)) {
    Signal(SIGKILL);
    WaitExited(absl::Seconds(10));
  }
  // Anything left in the group (children of the child) goes too. The
  // leader has exited but is not reaped yet, so the group's number cannot
  // have been handed to another group (pid_max is 32768 here).
  kill(-pid_, SIGKILL);
  Wait(absl::Seconds(10));
  return status_;
}

bool Subprocess::WaitExited(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!reaped_) {
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid_), &info,
               WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid_) {
      return true;
    }
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

absl::Status WaitFor(const std::function<bool()>& ready, absl::Duration timeout,
                     const std::string& what) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!ready()) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          what, " not ready after ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RunCommand(const std::vector<std::string>& argv,
                                       absl::Duration timeout,
                                       int64_t* peak_rss_kb) {
  char log_template[] = "/tmp/nodefit-cmd-XXXXXX";
  const int fd = mkstemp(log_template);
  if (fd < 0) return absl::InternalError("mkstemp");
  close(fd);
  const std::string log = log_template;
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(argv, log);
  if (!p.ok()) return p.status();
  const int status = (*p)->Wait(timeout);
  if (peak_rss_kb != nullptr) *peak_rss_kb = (*p)->peak_rss_kb();
  const std::string output = ReadFileOrEmpty(log);
  unlink(log.c_str());
  if (status == -1) {
    (*p)->Stop(absl::Seconds(1));
    return absl::DeadlineExceededError(
        absl::StrCat(absl::StrJoin(argv, " "), ": timed out\n", output));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(
        absl::StrJoin(argv, " "), ": exit status ", status, "\n", output));
  }
  return output;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return 0;
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace nodefit::testbed
