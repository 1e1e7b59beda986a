#include "bench/http_load.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"

namespace nodefit::bench {
namespace {

struct Conn {
  int fd = -1;
  bool busy = false;
  int64_t completed = 0;
  int64_t request = 0;  // index of the request in flight
  bool resent = false;  // it was already resent once
  int64_t start_ns = 0;
  std::string in;
};

struct Shared {
  const HttpLoadOptions* options;
  std::atomic<int64_t> issued{0};
  std::atomic<int> connected{0};  // threads done connecting
  std::atomic<bool> go{false};
  int64_t stop_ns = 0;  // duration mode; set before go
};

struct ThreadResult {
  int64_t requests = 0;
  int64_t non_2xx = 0;
  int64_t errors = 0;
  int64_t reconnects = 0;
  int served = 0;
  int64_t connect_ns = 0;
  std::vector<double> latencies_us;
};

class Worker {
 public:
  Worker(Shared* shared, int connections)
      : shared_(shared), conns_(static_cast<size_t>(connections)) {}

  ThreadResult Run() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    // Every connection is open before the clock starts: what is measured
    // is the steady state, not the server's accept backlog.
    const int64_t connect_start = MonotonicNanos();
    for (Conn& c : conns_) Connect(&c);
    result_.connect_ns = MonotonicNanos() - connect_start;
    ++shared_->connected;
    while (!shared_->go.load()) std::this_thread::yield();
    for (Conn& c : conns_) {
      if (c.fd >= 0) Send(&c);
    }
    epoll_event events[64];
    while (true) {
      const int64_t now = MonotonicNanos();
      if (shared_->stop_ns > 0 && now >= shared_->stop_ns) break;
      if (shared_->options->max_requests > 0 &&
          std::none_of(conns_.begin(), conns_.end(),
                       [](const Conn& c) { return c.busy; })) {
        break;
      }
      const int n = epoll_wait(epoll_, events, 64, 10);
      for (int i = 0; i < n; ++i) {
        Read(static_cast<Conn*>(events[i].data.ptr));
      }
    }
    for (Conn& c : conns_) {
      if (c.fd >= 0) close(c.fd);
      if (c.completed > 0) ++result_.served;
    }
    close(epoll_);
    return std::move(result_);
  }

 private:
  bool Connect(Conn* c) {
    if (c->fd >= 0) {
      epoll_ctl(epoll_, EPOLL_CTL_DEL, c->fd, nullptr);
      close(c->fd);
    }
    c->in.clear();
    c->busy = false;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(shared_->options->port));
    if (c->fd < 0 ||
        connect(c->fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ++result_.errors;
      if (c->fd >= 0) close(c->fd);
      c->fd = -1;
      return false;
    }
    const int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c->fd, &ev);
    return true;
  }

  void Send(Conn* c) {
    const HttpLoadOptions& o = *shared_->options;
    const int64_t n = shared_->issued.fetch_add(1);
    if (o.max_requests > 0 && n >= o.max_requests) {
      c->busy = false;
      return;
    }
    c->request = n;
    c->resent = false;
    c->start_ns = MonotonicNanos();
    Write(c);
  }

  void Write(Conn* c) {
    const HttpLoadOptions& o = *shared_->options;
    const std::string& request =
        o.requests[static_cast<size_t>(c->request) % o.requests.size()];
    c->busy = true;
    // Requests are small and the socket's buffer is empty between
    // requests, so one send takes them whole.
    const ssize_t sent =
        send(c->fd, request.data(), request.size(), MSG_NOSIGNAL);
    if (sent != static_cast<ssize_t>(request.size())) Fail(c);
  }

  // The connection broke with a request in flight. A server may close an
  // idle keep-alive connection just as a request goes out (httplib closes
  // after keep_alive_max_count requests without saying so): like HTTP
  // clients do for idempotent requests, resend it once on a new
  // connection, its latency running on. Anything else is an error.
  void Fail(Conn* c) {
    const bool retry = c->busy && c->in.empty() && !c->resent;
    if (retry) {
      ++result_.reconnects;
    } else {
      ++result_.errors;
    }
    if (shared_->stop_ns > 0 && MonotonicNanos() >= shared_->stop_ns) return;
    if (result_.errors > 10'000 || !Connect(c)) {  // the server is gone
      c->busy = false;
      return;
    }
    if (retry) {
      c->resent = true;
      Write(c);
    } else {
      Send(c);
    }
  }

  void Read(Conn* c) {
    char buffer[16 * 1024];
    bool eof = false;  // closed or reset, after what was read
    while (true) {
      const ssize_t n = recv(c->fd, buffer, sizeof(buffer), 0);
      if (n > 0) {
        c->in.append(buffer, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      eof = true;
      break;
    }
    while (c->busy) {
      const size_t end = c->in.find("\r\n\r\n");
      if (end == std::string::npos) break;
      const std::string headers = absl::AsciiStrToLower(c->in.substr(0, end));
      int status = 0;
      if (headers.size() < 12 ||
          !absl::SimpleAtoi(headers.substr(9, 3), &status)) {
        Fail(c);
        return;
      }
      size_t body = 0;
      if (!shared_->options->head) {
        const size_t at = headers.find("\ncontent-length:");
        if (at != std::string::npos) {
          const size_t eol = headers.find('\n', at + 1);
          (void)absl::SimpleAtoi(
              absl::StripAsciiWhitespace(headers.substr(
                  at + 16, eol == std::string::npos ? std::string::npos
                                                    : eol - at - 16)),
              &body);
        }
      }
      if (c->in.size() < end + 4 + body) break;
      c->in.erase(0, end + 4 + body);
      ++result_.requests;
      ++c->completed;
      if (status < 200 || status > 299) ++result_.non_2xx;
      result_.latencies_us.push_back(
          static_cast<double>(MonotonicNanos() - c->start_ns) / 1000.0);
      c->busy = false;
      if (shared_->stop_ns > 0 && MonotonicNanos() >= shared_->stop_ns) return;
      if (eof || headers.find("\nconnection: close") != std::string::npos) {
        // The server ends the connection after this answer.
        if (Connect(c)) Send(c);
        return;
      }
      Send(c);
    }
    if (eof) Fail(c);
  }

  Shared* shared_;
  std::vector<Conn> conns_;
  int epoll_ = -1;
  ThreadResult result_;
};

}  // namespace

double HttpLoadResult::PercentileUs(double p) const {
  std::vector<double> copy = latencies_us;
  return Percentile(&copy, p);
}

std::string HttpRequest(const std::string& method, const std::string& path,
                        int port, const std::vector<std::string>& headers) {
  std::string out = absl::StrCat(
      method, " ", path, " HTTP/1.1\r\nHost: ", "127.0.0.1:", port, "\r\n");
  for (const std::string& h : headers) absl::StrAppend(&out, h, "\r\n");
  absl::StrAppend(&out, "\r\n");
  return out;
}

HttpLoadResult RunHttpLoad(const HttpLoadOptions& options) {
  Shared shared;
  shared.options = &options;
  const int threads =
      std::max(1, std::min(options.threads, options.connections));
  std::vector<ThreadResult> results(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    const int share = options.connections / threads +
                      (t < options.connections % threads ? 1 : 0);
    pool.emplace_back([&shared, &results, t, share] {
      Worker worker(&shared, share);
      results[static_cast<size_t>(t)] = worker.Run();
    });
  }
  while (shared.connected.load() < threads) std::this_thread::yield();
  const int64_t start = MonotonicNanos();
  if (options.max_requests <= 0) {
    shared.stop_ns = start + absl::ToInt64Nanoseconds(options.duration);
  }
  shared.go = true;
  for (std::thread& t : pool) t.join();
  HttpLoadResult out;
  out.seconds = static_cast<double>(MonotonicNanos() - start) / 1e9;
  for (ThreadResult& r : results) {
    out.connections_served += r.served;
    out.connect_ms =
        std::max(out.connect_ms, static_cast<double>(r.connect_ns) / 1e6);
    out.requests += r.requests;
    out.reconnects += r.reconnects;
    out.non_2xx += r.non_2xx;
    out.errors += r.errors;
    out.latencies_us.insert(out.latencies_us.end(), r.latencies_us.begin(),
                            r.latencies_us.end());
  }
  return out;
}

}  // namespace nodefit::bench
