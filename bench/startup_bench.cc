// Bench 6: from exec of `nodefit serve` to GET /readyz answering 200, polled
// every 200 µs over a fresh connection. The CRI face does not dial
// containerd at start-up, so no containerd is needed. One unmeasured run
// first (page cache); then N runs with detection off (the benchmarks' node)
// and N with detection on (what a real node does at start: /proc/cpuinfo,
// the NVIDIA files, NFD), the latter for information.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "bench/benches.h"
#include "integration/testbed/subprocess.h"
#include "resolver/base/status_macros.h"

namespace nodefit::bench {
namespace {

bool ReadyzOk(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request =
        "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[64] = {};
      const ssize_t n = recv(fd, buffer, sizeof(buffer) - 1, MSG_WAITALL);
      ok = n >= 12 && absl::StartsWith(buffer, "HTTP/1.1 200");
    }
  }
  close(fd);
  return ok;
}

// Milliseconds from exec to ready.
absl::StatusOr<double> StartOnce(BenchEnv& env, const std::string& name,
                                 bool detect) {
  const std::string dir = env.SubDir("startup");
  const int port = testbed::FreePort();
  nlohmann::json config = BenchEnv::BaseConfig();
  config["detect"] = detect;
  config["http"] = {{"listen", absl::StrCat("127.0.0.1:", testbed::FreePort())},
                    {"health_listen", absl::StrCat("127.0.0.1:", port)},
                    {"insecure_plain_http", true}};
  config["cri"] = {
      {"listen", absl::StrCat("unix://", dir, "/", name, ".sock")},
      {"containerd", absl::StrCat("unix://", dir, "/no-containerd.sock")}};
  const std::string config_path = absl::StrCat(dir, "/", name, ".json");
  std::ofstream(config_path) << config.dump(2);
  const Stopwatch clock;
  ASSIGN_OR_RETURN(std::unique_ptr<testbed::Subprocess> process,
                   testbed::Subprocess::Start(
                       {env.nodefit_binary(), "serve", "--config", config_path},
                       absl::StrCat(dir, "/", name, ".log")));
  while (!ReadyzOk(port)) {
    if (clock.Elapsed() > absl::Seconds(20) || !process->Running()) {
      return absl::DeadlineExceededError(absl::StrCat(
          "nodefit did not become ready; log:\n",
          testbed::ReadFileOrEmpty(absl::StrCat(dir, "/", name, ".log"))));
    }
    absl::SleepFor(absl::Microseconds(200));
  }
  const double ms = clock.Millis();
  process->Stop();
  return ms;
}

}  // namespace

absl::Status RunStartupBench(BenchEnv& env, Results* results) {
  const int runs = env.smoke() ? 3 : 15;
  RETURN_IF_ERROR(StartOnce(env, "warmup", false).status());
  std::vector<double> plain;
  std::vector<double> detected;
  for (int i = 0; i < runs; ++i) {
    ASSIGN_OR_RETURN(double a, StartOnce(env, absl::StrCat("s", i), false));
    ASSIGN_OR_RETURN(double b, StartOnce(env, absl::StrCat("d", i), true));
    plain.push_back(a);
    detected.push_back(b);
  }
  results->details()["runs_ms"] = plain;
  results->details()["runs_detect_ms"] = detected;
  const double max = *std::max_element(plain.begin(), plain.end());
  results->Add(AtMost("startup.readyz", Median(plain), 100, "ms",
                      absl::StrCat("median of ", runs, ", detect off")));
  results->Add(Info("startup.readyz_max", max, "ms"));
  results->Add(Info("startup.readyz_detect", Median(detected), "ms",
                    "median, detection on (this machine)"));
  return absl::OkStatus();
}

}  // namespace nodefit::bench
