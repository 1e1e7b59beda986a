#include "fuzz/loopback.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_check.h"

namespace nodefit::fuzz {

// Sends `bytes` to 127.0.0.1:`port`, half-closes, and returns all the
// server wrote until it closed. libFuzzer's watchdog (SIGALRM) may land on
// this thread, so every call is retried on EINTR, against one deadline.
std::string Exchange(int port, const std::string& bytes) {
  // Far above any answer from memory, and under the server's own idle
  // timeout: a server that keeps a half-closed connection open this long
  // is a finding.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(15);
  auto wait = [&](int fd, int16_t events) {
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p = {fd, events, 0};
      const int r = poll(&p, 1, std::max<int>(0, left.count()));
      if (r == 1) return true;
      if (r < 0 && errno == EINTR) continue;
      return false;
    }
  };
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  NODEFIT_FUZZ_CHECK(fd >= 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    // Interrupted, the connection goes on: wait for its outcome.
    NODEFIT_FUZZ_CHECK(errno == EINTR && wait(fd, POLLOUT));
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
    NODEFIT_FUZZ_CHECK(error == 0);
  }
  // The server may answer and close before it has read everything (a bad
  // request line): a failed send is not a finding.
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n =
        send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  std::string out;
  char buffer[16384];
  while (true) {
    if (!wait(fd, POLLIN)) {
      std::fprintf(stderr,
                   "port %d: no answer or close 15 s after the request was "
                   "sent and the connection half-closed (%zu bytes read)\n",
                   port, out.size());
      std::abort();
    }
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace nodefit::fuzz
