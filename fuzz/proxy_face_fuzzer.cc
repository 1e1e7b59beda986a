// The proxy face's requests: any bytes sent over a connection to a proxy
// face in local mode and to one in central mode, as any client that
// reaches the port would send them. Covers plugin/net's request-head parse,
// the proxy's routing (ParseProxyPath, UpstreamFor), its login (Basic
// parse, crypt(3) check, token issue) and token check (Bearer parse, MAC,
// expiry, scopes), down to resolution against the in-memory registry.
// Checked: the connection is answered and closed (no hang), every answer
// is HTTP/1.1, and none holds the registry's password or the login's.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "fuzz/fake_upstream.h"
#include "plugin/faces/proxy_face.h"

namespace {

// The central mode's one login; its hash has bcrypt's lowest cost, so a
// fuzzed login costs a millisecond, not a quarter second.
constexpr char kLogin[] = "fuzz-login";
constexpr char kLoginPassword[] = "fuzz-login-pass";
constexpr char kLoginHash[] =
    "$2b$04$VKbeXEqZ4swcsD8Z/BEouOCIZOm/cTP0B1qXujCWz44E.nKnpBFTK";

struct Proxy {
  nodefit::EngineSlot engines;
  std::unique_ptr<nodefit::ProxyFace> face;
};

struct World {
  nodefit::fuzz::FakeUpstream upstream{/*bearer=*/true};
  nodefit::Metrics metrics;
  nodefit::Logger logger{nodefit::LogFormat::kJson, nodefit::LogLevel::kDebug,
                         [](const std::string&) {}};
  Proxy local, central;
  World() {
    for (Proxy* proxy : {&local, &central}) {
      const bool logins = proxy == &central;
      proxy->engines.Set(nodefit::fuzz::NewEngine(
          upstream.Client(), &metrics, [logins](nodefit::Config& config) {
            config.proxy.listen = "127.0.0.1:0";
            config.proxy.default_registry = "reg.example";
            config.proxy.prefixes["reg"] = "reg.example";
            config.proxy.upstream_credentials = true;
            if (logins) {
              config.proxy.profiles[kLogin].password_hash = kLoginHash;
              config.proxy.profiles[kLogin].features = {"skylake-avx512"};
            }
          }));
      nodefit::ProxyFaceOptions options;
      options.listen = "127.0.0.1:0";
      options.limits.workers = 2;
      absl::StatusOr<std::unique_ptr<nodefit::ProxyFace>> started =
          nodefit::ProxyFace::Start(options, &proxy->engines, &metrics,
                                    &logger);
      NODEFIT_FUZZ_CHECK(started.ok());
      proxy->face = *std::move(started);
    }
  }
};

bool LeaksLoginPassword(absl::string_view input, absl::string_view output) {
  return !absl::StrContains(input, kLoginPassword) &&
         absl::StrContains(output, kLoginPassword);
}

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  for (const Proxy* proxy : {&world->local, &world->central}) {
    const std::string answer = Exchange(proxy->face->port(), bytes);
    NODEFIT_FUZZ_CHECK(answer.empty() || absl::StartsWith(answer, "HTTP/1.1 "));
    NODEFIT_FUZZ_CHECK(!nodefit::fuzz::LeaksPassword(bytes, answer));
    NODEFIT_FUZZ_CHECK(!LeaksLoginPassword(bytes, answer));
  }
  return 0;
}
