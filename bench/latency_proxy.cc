#include "bench/latency_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace nodefit::bench {

using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kChunk = 64 * 1024;
constexpr size_t kMaxLine = 8 * 1024;

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// "GET /v2/x HTTP/1.1" -> "GET /v2/x"; empty when not a request line.
std::string RequestLine(const std::string& line) {
  static constexpr const char* kMethods[] = {
      "GET ", "HEAD ", "POST ", "PUT ", "PATCH ", "DELETE ", "OPTIONS "};
  bool method = false;
  for (const char* m : kMethods) method = method || absl::StartsWith(line, m);
  if (!method) return "";
  const size_t version = line.rfind(" HTTP/1.");
  if (version == std::string::npos) return "";
  return line.substr(0, version);
}

}  // namespace

// One direction of a connection: chunks queued with the time they are due.
struct Pipe {
  struct Chunk {
    Clock::time_point due;
    std::string data;  // empty: end of stream
  };
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Chunk> queue;
  bool closed = false;  // the connection is being torn down
};

struct LatencyProxy::Connection {
  int client_fd = -1;
  int server_fd = -1;
  Clock::time_point accepted;
  Pipe to_server;
  Pipe to_client;
  std::vector<std::thread> threads;
  std::atomic<int> finished{0};
  std::string line;  // the client's current line, for request counting

  void Abort() {
    shutdown(client_fd, SHUT_RDWR);
    shutdown(server_fd, SHUT_RDWR);
    for (Pipe* p : {&to_server, &to_client}) {
      std::lock_guard<std::mutex> lock(p->mu);
      p->closed = true;
      p->cv.notify_all();
    }
  }
  ~Connection() {
    for (std::thread& t : threads) {
      if (t.joinable()) t.join();
    }
    close(client_fd);
    close(server_fd);
  }
};

absl::StatusOr<std::unique_ptr<LatencyProxy>> LatencyProxy::Start(
    const LatencyProxyOptions& options) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket");
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 128) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return absl::InternalError(
        absl::StrCat("latency proxy: listen: ", std::strerror(errno)));
  }
  std::unique_ptr<LatencyProxy> proxy(
      new LatencyProxy(options, fd, ntohs(addr.sin_port)));
  LatencyProxy* self = proxy.get();
  proxy->accept_thread_ = std::thread([self] { self->AcceptLoop(); });
  return proxy;
}

LatencyProxy::LatencyProxy(LatencyProxyOptions options, int listen_fd, int port)
    : options_(options), listen_fd_(listen_fd), port_(port) {}

LatencyProxy::~LatencyProxy() {
  stopping_ = true;
  shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  close(listen_fd_);
  absl::MutexLock lock(&conns_mu_);
  for (auto& conn : conns_) conn->Abort();
  conns_.clear();  // joins
}

std::string LatencyProxy::url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

LatencyProxy::Counters LatencyProxy::Snapshot() const {
  absl::MutexLock lock(&counters_mu_);
  return counters_;
}

void LatencyProxy::Reset() {
  absl::MutexLock lock(&counters_mu_);
  counters_ = Counters();
}

void LatencyProxy::CountClientBytes(Connection* conn, const char* data,
                                    size_t size) {
  std::vector<std::string> found;
  for (size_t i = 0; i < size; ++i) {
    const char c = data[i];
    if (c == '\n') {
      if (!conn->line.empty() && conn->line.back() == '\r') {
        conn->line.pop_back();
      }
      std::string request = RequestLine(conn->line);
      if (!request.empty()) found.push_back(std::move(request));
      conn->line.clear();
    } else if (conn->line.size() < kMaxLine) {
      conn->line.push_back(c);
    }
  }
  absl::MutexLock lock(&counters_mu_);
  counters_.bytes_to_server += static_cast<int64_t>(size);
  counters_.requests += static_cast<int64_t>(found.size());
  for (std::string& line : found) counters_.lines.push_back(std::move(line));
}

void LatencyProxy::ReapFinished() {
  for (auto it = conns_.begin(); it != conns_.end();) {
    if ((*it)->finished.load() == 4) {
      it = conns_.erase(it);
    } else {
      ++it;
    }
  }
}

void LatencyProxy::AcceptLoop() {
  const auto delay = std::chrono::nanoseconds(
      absl::ToInt64Nanoseconds(options_.one_way_delay));
  while (!stopping_.load()) {
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(options_.upstream_port));
    if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&addr),
                              sizeof(addr)) != 0) {
      close(client);
      if (server >= 0) close(server);
      continue;
    }
    const int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    {
      absl::MutexLock lock(&counters_mu_);
      ++counters_.connections;
    }
    auto conn = std::make_unique<Connection>();
    Connection* c = conn.get();
    c->client_fd = client;
    c->server_fd = server;
    c->accepted = Clock::now();
    // The handshake's round trip, then the first bytes' own delay.
    const Clock::time_point first_delivery = c->accepted + 3 * delay;

    const double bytes_per_second = options_.bytes_per_second;
    auto reader = [this, c, delay, first_delivery, bytes_per_second](
                      int from, Pipe* pipe, bool client_side) {
      std::string buffer(kChunk, '\0');
      // With a bandwidth: when the link is free again. Reads wait for it, so
      // TCP's own flow control holds the sender back (nothing piles up).
      Clock::time_point link_free = Clock::now();
      while (true) {
        const ssize_t n = recv(from, buffer.data(), buffer.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        Pipe::Chunk chunk;
        chunk.due = Clock::now() + delay;
        if (client_side && chunk.due < first_delivery) {
          chunk.due = first_delivery;
        }
        if (n > 0) {
          chunk.data.assign(buffer.data(), static_cast<size_t>(n));
          if (client_side) {
            CountClientBytes(c, chunk.data.data(), chunk.data.size());
          } else {
            absl::MutexLock lock(&counters_mu_);
            counters_.bytes_to_client += n;
          }
        }
        {
          std::lock_guard<std::mutex> lock(pipe->mu);
          pipe->queue.push_back(std::move(chunk));
          pipe->cv.notify_all();
        }
        if (n <= 0) break;
        if (bytes_per_second > 0) {
          link_free = std::max(link_free, Clock::now()) +
                      std::chrono::nanoseconds(static_cast<int64_t>(
                          1e9 * static_cast<double>(n) / bytes_per_second));
          std::this_thread::sleep_until(link_free);
        }
      }
      c->finished.fetch_add(1);
    };
    auto writer = [c](int to, Pipe* pipe) {
      while (true) {
        Pipe::Chunk chunk;
        {
          std::unique_lock<std::mutex> lock(pipe->mu);
          pipe->cv.wait(
              lock, [pipe] { return pipe->closed || !pipe->queue.empty(); });
          if (pipe->closed) break;
          const Clock::time_point due = pipe->queue.front().due;
          if (pipe->cv.wait_until(lock, due, [pipe] { return pipe->closed; })) {
            break;
          }
          chunk = std::move(pipe->queue.front());
          pipe->queue.pop_front();
        }
        if (chunk.data.empty()) {
          shutdown(to, SHUT_WR);
          break;
        }
        if (!WriteAll(to, chunk.data.data(), chunk.data.size())) {
          c->Abort();
          break;
        }
      }
      c->finished.fetch_add(1);
    };
    c->threads.emplace_back(reader, client, &c->to_server, true);
    c->threads.emplace_back(writer, server, &c->to_server);
    c->threads.emplace_back(reader, server, &c->to_client, false);
    c->threads.emplace_back(writer, client, &c->to_client);
    absl::MutexLock lock(&conns_mu_);
    ReapFinished();
    conns_.push_back(std::move(conn));
  }
}

}  // namespace nodefit::bench
