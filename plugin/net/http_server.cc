#include "plugin/net/http_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "openssl/err.h"
#include "openssl/ssl.h"

namespace nodefit {
namespace {

constexpr int kBacklog = 128;
constexpr size_t kReadChunk = 16 << 10;

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string Serialize(const ServerResponse& response, bool head, bool close) {
  std::string out = absl::StrCat("HTTP/1.1 ", response.status, " ",
                                 Reason(response.status), "\r\n");
  for (const auto& [name, value] : response.headers) {
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  }
  const int64_t length =
      (head || response.stream) && response.content_length.has_value()
          ? *response.content_length
          : static_cast<int64_t>(response.body.size());
  absl::StrAppend(&out, "Content-Length: ", length, "\r\n");
  if (close) absl::StrAppend(&out, "Connection: close\r\n");
  absl::StrAppend(&out, "\r\n");
  if (!head) absl::StrAppend(&out, response.body);
  return out;
}

std::string Simple(int status, absl::string_view message) {
  ServerResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "text/plain");
  response.body = absl::StrCat(message, "\n");
  return Serialize(response, false, true);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
        HexValue(in[i + 2]) >= 0) {
      out.push_back(
          static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else if (in[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtx = std::shared_ptr<SSL_CTX>;

absl::StatusOr<SslCtx> LoadTls(const TlsServerOptions& tls) {
  SslCtx ctx(SSL_CTX_new(TLS_server_method()), SslCtxFree());
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new failed");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) !=
          1 ||
      SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot load the TLS certificate ", tls.cert_file, " and key ",
        tls.key_file, " (run `nodefit pki init`, or `nodefit hosts install`)"));
  }
  if (tls.client_ca_file.empty()) return ctx;  // no client certificate
  if (SSL_CTX_load_verify_locations(ctx.get(), tls.client_ca_file.c_str(),
                                    nullptr) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load the client CA ", tls.client_ca_file));
  }
  STACK_OF(X509_NAME)* names =
      SSL_load_client_CA_file(tls.client_ca_file.c_str());
  if (names != nullptr) SSL_CTX_set_client_CA_list(ctx.get(), names);
  SSL_CTX_set_verify(
      ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_verify_depth(ctx.get(), 2);
  return ctx;
}

absl::StatusOr<std::pair<sockaddr_storage, socklen_t>> ParseListen(
    const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", listen, "\" is not host:port"));
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof(sockaddr_in6);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("listen address \"", listen,
                                                   "\": \"", host,
                                                   "\" is not an IP address"));
  }
  return std::make_pair(addr, len);
}

struct Conn {
  uint64_t id = 0;
  int fd = -1;
  SSL* ssl = nullptr;
  enum class State { kHandshake, kReading, kWaiting, kWriting } state;
  std::string in;
  std::string out;
  size_t out_offset = 0;
  absl::Time deadline;
  bool reading_started = false;  // a byte of the current request arrived
  int served = 0;
  bool close_after_write = false;
  // More pieces of the response being written will come (a stream).
  bool more_coming = false;
  uint32_t events = 0;  // what epoll waits for now
};

struct Job {
  uint64_t conn = 0;
  ServerRequest request;
  bool head = false;
  bool close = false;
};

struct Done {
  uint64_t conn = 0;
  std::string bytes;
  bool close = false;
  bool more = false;  // a piece of a stream; more of it follows
};

// A response being streamed, between its worker and the loop.
struct Stream {
  size_t queued = 0;  // handed to the loop, not yet written
  bool gone = false;  // the connection was closed
};

class Server final : public HttpServer {
 public:
  Server(HttpServerOptions options, HttpHandler handler, SslCtx tls)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        tls_(std::move(tls)) {}

  ~Server() override { Stop(absl::Seconds(5)); }

  absl::Status Listen() {
    absl::StatusOr<std::pair<sockaddr_storage, socklen_t>> addr =
        ParseListen(options_.listen);
    if (!addr.ok()) return addr.status();
    listen_fd_ = socket(addr->first.ss_family,
                        SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) {
      return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
    }
    const int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr->first),
             addr->second) != 0) {
      const int error = errno;
      const int port =
          ntohs(addr->first.ss_family == AF_INET
                    ? reinterpret_cast<sockaddr_in*>(&addr->first)->sin_port
                    : reinterpret_cast<sockaddr_in6*>(&addr->first)->sin6_port);
      std::string holder;
      if (error == EADDRINUSE) holder = DescribePortHolder(port);
      return absl::UnavailableError(absl::StrCat(
          "cannot listen on ", options_.listen, ": ", strerror(error),
          holder.empty() ? ""
                         : absl::StrCat("; the port is held by ", holder)));
    }
    if (listen(listen_fd_, kBacklog) != 0) {
      return absl::InternalError(absl::StrCat("listen: ", strerror(errno)));
    }
    sockaddr_storage bound{};
    socklen_t bound_len = sizeof(bound);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &bound_len);
    port_ = ntohs(bound.ss_family == AF_INET
                      ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                      : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0) {
      return absl::InternalError("epoll/eventfd failed");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenTag;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
    ev.data.u64 = kWakeTag;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
    loop_ = std::thread([this] { Loop(); });
    for (int i = 0; i < std::max(1, options_.workers); ++i) {
      workers_.emplace_back([this] { Work(); });
    }
    return absl::OkStatus();
  }

  int port() const override { return port_; }

  absl::Status ReloadTls() override {
    if (!options_.tls.has_value()) return absl::OkStatus();
    absl::StatusOr<SslCtx> ctx = LoadTls(*options_.tls);
    if (!ctx.ok()) return ctx.status();
    absl::MutexLock lock(&tls_mu_);
    tls_ = *std::move(ctx);
    return absl::OkStatus();
  }

  void Stop(absl::Duration grace) override {
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
      stopped_ = true;
      stop_deadline_ = absl::Now() + grace;
    }
    {
      absl::MutexLock lock(&streams_mu_);
      streams_stop_ = true;
    }
    Wake();
    if (loop_.joinable()) loop_.join();
    {
      absl::MutexLock lock(&mu_);
      workers_stop_ = true;
    }
    for (std::thread& t : workers_) t.join();
    workers_.clear();
    for (auto& [id, conn] : conns_) CloseFd(*conn);
    conns_.clear();
    if (listen_fd_ >= 0) close(listen_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
    listen_fd_ = epoll_fd_ = wake_fd_ = -1;
  }

 private:
  static constexpr uint64_t kListenTag = UINT64_MAX;
  static constexpr uint64_t kWakeTag = UINT64_MAX - 1;

  void Limit(absl::string_view what) {
    if (options_.on_limit) options_.on_limit(what);
  }

  void Wake() {
    const uint64_t one = 1;
    if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof(one));
  }

  // --- The event loop ------------------------------------------------------

  void Loop() {
    epoll_event events[64];
    bool accepting = true;
    while (true) {
      bool stopping = false;
      absl::Time stop_deadline;
      {
        absl::MutexLock lock(&mu_);
        stopping = stopped_;
        stop_deadline = stop_deadline_;
      }
      if (stopping) {
        if (accepting) {
          epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
          accepting = false;
        }
        // Idle and reading connections go now; answers in progress get
        // the grace period.
        std::vector<uint64_t> idle;
        for (auto& [id, conn] : conns_) {
          if (conn->state == Conn::State::kReading ||
              conn->state == Conn::State::kHandshake) {
            idle.push_back(id);
          }
        }
        for (uint64_t id : idle) Close(id);
        if (conns_.empty() || absl::Now() > stop_deadline) return;
      }
      const int n = epoll_wait(epoll_fd_, events, 64, 100);
      for (int i = 0; i < n; ++i) {
        const uint64_t tag = events[i].data.u64;
        if (tag == kListenTag) {
          if (accepting) Accept();
        } else if (tag == kWakeTag) {
          uint64_t count;
          (void)!read(wake_fd_, &count, sizeof(count));
          Completions();
        } else {
          Ready(tag, events[i].events);
        }
      }
      Expire();
    }
  }

  void Accept() {
    while (true) {
      const int fd =
          accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a transient error
      if (static_cast<int>(conns_.size()) >= options_.max_connections) {
        Limit("connections");
        // Full: the oldest connection that has not delivered a request
        // (handshaking, reading, or idle between requests) makes room, so
        // a flood of slow clients cannot keep a newcomer out for longer
        // than it takes to send a request. Only when every connection has
        // a request in hand is the newcomer refused.
        if (!DisplaceOldestUnfinished()) {
          close(fd);
          continue;
        }
      }
      const int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      auto conn = std::make_unique<Conn>();
      conn->id = ++next_id_;
      conn->fd = fd;
      conn->deadline = absl::Now() + options_.request_timeout;
      if (options_.tls.has_value()) {
        SslCtx ctx;
        {
          absl::MutexLock lock(&tls_mu_);
          ctx = tls_;
        }
        conn->ssl = SSL_new(ctx.get());
        if (conn->ssl == nullptr || SSL_set_fd(conn->ssl, fd) != 1) {
          if (conn->ssl != nullptr) SSL_free(conn->ssl);
          close(fd);
          continue;
        }
        SSL_set_accept_state(conn->ssl);
        conn->state = Conn::State::kHandshake;
        conn->reading_started = true;
      } else {
        conn->state = Conn::State::kReading;
        conn->deadline = absl::Now() + options_.idle_timeout;
      }
      Watch(*conn, EPOLLIN, EPOLL_CTL_ADD);
      conns_[conn->id] = std::move(conn);
    }
  }

  void Watch(Conn& conn, uint32_t events, int op = EPOLL_CTL_MOD) {
    if (op == EPOLL_CTL_MOD && conn.events == events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = conn.id;
    epoll_ctl(epoll_fd_, op, conn.fd, &ev);
    conn.events = events;
  }

  void Ready(uint64_t id, uint32_t events) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& conn = *it->second;
    if ((events & (EPOLLERR | EPOLLHUP)) != 0 &&
        conn.state != Conn::State::kWriting) {
      Close(id);
      return;
    }
    switch (conn.state) {
      case Conn::State::kHandshake:
        Handshake(conn);
        break;
      case Conn::State::kReading:
        ReadSome(conn);
        break;
      case Conn::State::kWriting:
        WriteSome(conn);
        break;
      case Conn::State::kWaiting:
        break;
    }
  }

  // TLS I/O wants `error`: wait for the matching readiness.
  bool Retry(Conn& conn, int error) {
    if (error == SSL_ERROR_WANT_READ) {
      Watch(conn, EPOLLIN);
      return true;
    }
    if (error == SSL_ERROR_WANT_WRITE) {
      Watch(conn, EPOLLOUT);
      return true;
    }
    return false;
  }

  void Handshake(Conn& conn) {
    ERR_clear_error();
    const int r = SSL_accept(conn.ssl);
    if (r == 1) {
      conn.state = Conn::State::kReading;
      conn.reading_started = false;
      conn.deadline = absl::Now() + options_.idle_timeout;
      Watch(conn, EPOLLIN);
      ReadSome(conn);  // data may already be buffered
      return;
    }
    if (!Retry(conn, SSL_get_error(conn.ssl, r))) {
      Limit("tls_handshake");
      ERR_clear_error();
      Close(conn.id);
    }
  }

  void ReadSome(Conn& conn) {
    char buffer[kReadChunk];
    while (conn.state == Conn::State::kReading) {
      ssize_t n;
      if (conn.ssl != nullptr) {
        ERR_clear_error();
        const int r = SSL_read(conn.ssl, buffer, sizeof(buffer));
        if (r <= 0) {
          const int error = SSL_get_error(conn.ssl, r);
          if (!Retry(conn, error)) Close(conn.id);
          return;
        }
        n = r;
      } else {
        n = read(conn.fd, buffer, sizeof(buffer));
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n <= 0) {
          Close(conn.id);
          return;
        }
      }
      if (!conn.reading_started) {
        conn.reading_started = true;
        conn.deadline = absl::Now() + options_.request_timeout;
      }
      conn.in.append(buffer, static_cast<size_t>(n));
      if (!Parse(conn)) return;  // closed, or handed to a worker
    }
  }

  // Takes a request off conn.in when it is complete; enforces the header
  // bounds. False when the connection was closed or is now waiting.
  bool Parse(Conn& conn) {
    // A TLS handshake on a plain port (clients of an insecure registry try
    // https first, then http): refused at once rather than after the
    // request deadline. No request line starts with this byte.
    if (conn.ssl == nullptr && !conn.in.empty() && conn.in[0] == '\x16') {
      Reject(conn, 400, "this port speaks plain HTTP, not TLS", "");
      return false;
    }
    const size_t end = conn.in.find("\r\n\r\n");
    const absl::string_view head = absl::string_view(conn.in).substr(
        0, end == std::string::npos ? conn.in.size() : end);
    const size_t line_end = head.find("\r\n");
    if ((line_end == absl::string_view::npos ? head.size() : line_end) >
        options_.max_request_line) {
      Reject(conn, 414, "request line too long", "request_line");
      return false;
    }
    if (head.size() > options_.max_header_bytes) {
      Reject(conn, 431, "request headers too large", "header_bytes");
      return false;
    }
    const int lines =
        static_cast<int>(std::count(head.begin(), head.end(), '\n'));
    if (lines > options_.max_headers) {
      Reject(conn, 431, "too many request headers", "header_count");
      return false;
    }
    if (end == std::string::npos) return true;  // need more

    Job job;
    job.conn = conn.id;
    std::vector<absl::string_view> header_lines = absl::StrSplit(head, "\r\n");
    std::vector<absl::string_view> request_line =
        absl::StrSplit(header_lines[0], ' ');
    if (request_line.size() != 3 ||
        !absl::StartsWith(request_line[2], "HTTP/1.") ||
        request_line[0].empty() || request_line[1].empty()) {
      Reject(conn, 400, "malformed request line", "");
      return false;
    }
    if (request_line[0] != "GET" && request_line[0] != "HEAD") {
      Reject(conn, 405, "only GET and HEAD are served", "");
      return false;
    }
    ServerRequest& request = job.request;
    request.method = std::string(request_line[0]);
    request.target = std::string(request_line[1]);
    const size_t question = request.target.find('?');
    request.path = request.target.substr(0, question);
    if (question != std::string::npos) {
      request.query = request.target.substr(question + 1);
    }
    bool close = request_line[2] == "HTTP/1.0";
    for (size_t i = 1; i < header_lines.size(); ++i) {
      const absl::string_view line = header_lines[i];
      const size_t colon = line.find(':');
      if (colon == absl::string_view::npos || colon == 0) {
        Reject(conn, 400, "malformed header line", "");
        return false;
      }
      std::string name = absl::AsciiStrToLower(line.substr(0, colon));
      std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
      if (name == "connection") {
        const std::string v = absl::AsciiStrToLower(value);
        if (v == "close") close = true;
        if (v == "keep-alive") close = false;
      }
      if ((name == "content-length" && value != "0") ||
          name == "transfer-encoding") {
        Reject(conn, 413, "request bodies are not accepted", "body");
        return false;
      }
      request.headers.emplace_back(std::move(name), std::move(value));
    }
    conn.in.erase(0, end + 4);
    ++conn.served;
    job.head = request.method == "HEAD";
    job.close = close || conn.served >= options_.max_requests_per_connection;
    {
      absl::MutexLock lock(&mu_);
      if (static_cast<int>(jobs_.size()) >= options_.max_pending) {
        Limit("pending");
        Reject(conn, 503, "too many requests in progress", "");
        return false;
      }
      jobs_.push_back(std::move(job));
    }
    conn.state = Conn::State::kWaiting;
    Watch(conn, 0);
    return false;
  }

  // Answers with `status` and closes once it is written.
  void Reject(Conn& conn, int status, absl::string_view why,
              absl::string_view limit) {
    if (!limit.empty()) Limit(limit);
    conn.in.clear();
    StartWrite(conn, Simple(status, why), /*close=*/true);
  }

  void StartWrite(Conn& conn, std::string bytes, bool close) {
    conn.out = std::move(bytes);
    conn.out_offset = 0;
    conn.close_after_write = close;
    conn.state = Conn::State::kWriting;
    conn.deadline = absl::Now() + options_.write_timeout;
    Watch(conn, EPOLLOUT);
    WriteSome(conn);
  }

  void WriteSome(Conn& conn) {
    while (conn.out_offset < conn.out.size()) {
      const char* data = conn.out.data() + conn.out_offset;
      const size_t left = conn.out.size() - conn.out_offset;
      ssize_t n;
      if (conn.ssl != nullptr) {
        ERR_clear_error();
        const int r = SSL_write(
            conn.ssl, data, static_cast<int>(std::min<size_t>(left, 1 << 20)));
        if (r <= 0) {
          if (!Retry(conn, SSL_get_error(conn.ssl, r))) Close(conn.id);
          return;
        }
        n = r;
      } else {
        n = send(conn.fd, data, left, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
          Watch(conn, EPOLLOUT);
          return;
        }
        if (n <= 0) {
          Close(conn.id);
          return;
        }
      }
      conn.out_offset += static_cast<size_t>(n);
      if (conn.more_coming) Written(conn.id, static_cast<size_t>(n));
    }
    conn.out.clear();
    conn.out_offset = 0;
    // A stream's buffer is reused for its next pieces; otherwise freed.
    if (!conn.more_coming) conn.out.shrink_to_fit();
    if (conn.more_coming) {
      // The producer is behind the client: wait for its next piece.
      Watch(conn, 0);
      return;
    }
    if (conn.close_after_write) {
      Close(conn.id);
      return;
    }
    conn.state = Conn::State::kReading;
    conn.reading_started = !conn.in.empty();
    conn.deadline = absl::Now() + (conn.in.empty() ? options_.idle_timeout
                                                   : options_.request_timeout);
    Watch(conn, EPOLLIN);
    // A pipelined request may already be here, also inside TLS's buffer.
    if (!conn.in.empty() && !Parse(conn)) return;
    if (conn.state == Conn::State::kReading &&
        (conn.ssl != nullptr && SSL_pending(conn.ssl) > 0)) {
      ReadSome(conn);
    }
  }

  void Completions() {
    std::deque<Done> done;
    {
      absl::MutexLock lock(&mu_);
      done.swap(done_);
    }
    for (Done& d : done) {
      auto it = conns_.find(d.conn);
      if (it == conns_.end()) {
        // Closed while its handler ran: a stream's producer must stop.
        if (d.more) {
          absl::MutexLock lock(&streams_mu_);
          auto stream = streams_.find(d.conn);
          if (stream != streams_.end()) stream->second.gone = true;
        }
        continue;
      }
      Conn& conn = *it->second;
      if (conn.state == Conn::State::kWriting && conn.more_coming) {
        // The next piece of a stream: after what is still unwritten.
        // Written bytes are dropped once they are half the buffer, so the
        // buffer keeps its capacity (no reallocation per piece) and the
        // move costs at most what was appended since.
        if (conn.out_offset > conn.out.size() / 2) {
          conn.out.erase(0, conn.out_offset);
          conn.out_offset = 0;
        }
        conn.out += d.bytes;
        conn.close_after_write = d.close;
        conn.more_coming = d.more;
        conn.deadline = absl::Now() + options_.write_timeout;
        Watch(conn, EPOLLOUT);
        WriteSome(conn);
        continue;
      }
      conn.more_coming = d.more;
      StartWrite(conn, std::move(d.bytes), d.close);
    }
  }

  void Expire() {
    const absl::Time now = absl::Now();
    std::vector<uint64_t> expired;
    for (auto& [id, conn] : conns_) {
      if (conn->state != Conn::State::kWaiting && now > conn->deadline) {
        if (conn->reading_started || conn->state != Conn::State::kReading) {
          Limit("timeout");
        }
        expired.push_back(id);
      }
    }
    for (uint64_t id : expired) Close(id);
  }

  bool DisplaceOldestUnfinished() {
    for (auto& [id, conn] : conns_) {  // ids grow: oldest first
      if (conn->state == Conn::State::kHandshake ||
          conn->state == Conn::State::kReading) {
        Close(id);
        return true;
      }
    }
    return false;
  }

  void CloseFd(Conn& conn) {
    if (conn.ssl != nullptr) {
      SSL_free(conn.ssl);
      conn.ssl = nullptr;
    }
    if (conn.fd >= 0) {
      close(conn.fd);
      conn.fd = -1;
    }
  }

  // A stream's bytes left the buffer: its producer may go on.
  void Written(uint64_t id, size_t bytes) {
    absl::MutexLock lock(&streams_mu_);
    auto it = streams_.find(id);
    if (it != streams_.end()) {
      it->second.queued -= std::min(bytes, it->second.queued);
    }
  }

  void Close(uint64_t id) {
    {
      absl::MutexLock lock(&streams_mu_);
      auto stream = streams_.find(id);
      if (stream != streams_.end()) stream->second.gone = true;
    }
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->second->fd, nullptr);
    CloseFd(*it->second);
    conns_.erase(it);
  }

  // --- Workers ---------------------------------------------------------------

  void Work() {
    while (true) {
      Job job;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &Server::HasWork));
        if (jobs_.empty()) return;  // stopping
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      ServerResponse response;
      handler_(job.request, response);
      if (response.stream && !job.head && response.content_length.has_value()) {
        StreamBody(job, response);
        continue;
      }
      response.stream = nullptr;
      Hand(Done{job.conn, Serialize(response, job.head, job.close), job.close});
    }
  }

  void Hand(Done done) {
    {
      absl::MutexLock lock(&mu_);
      done_.push_back(std::move(done));
    }
    Wake();
  }

  // Sends the head, then the producer's pieces as the client takes them:
  // never more than stream_buffer bytes queued for the connection.
  void StreamBody(const Job& job, const ServerResponse& response) {
    std::string head = Serialize(response, /*head=*/false, job.close);
    {
      absl::MutexLock lock(&streams_mu_);
      streams_[job.conn] = Stream{head.size(), false};
    }
    Hand(Done{job.conn, std::move(head), false, /*more=*/true});
    const size_t piece = std::max<size_t>(1, options_.stream_buffer / 4);
    int64_t left = *response.content_length;
    bool failed = false;
    while (left > 0) {
      {
        absl::MutexLock lock(&streams_mu_);
        auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(streams_mu_) {
          const Stream& s = streams_[job.conn];
          return s.gone || streams_stop_ ||
                 s.queued + piece <= options_.stream_buffer;
        };
        if (!streams_mu_.AwaitWithTimeout(absl::Condition(&room),
                                          options_.write_timeout) ||
            streams_[job.conn].gone || streams_stop_) {
          failed = true;  // the client stopped reading, or left
          break;
        }
      }
      absl::StatusOr<std::string> next =
          response.stream(std::min<size_t>(piece, static_cast<size_t>(left)));
      if (!next.ok() || next->empty() ||
          static_cast<int64_t>(next->size()) > left) {
        failed = true;
        break;
      }
      left -= static_cast<int64_t>(next->size());
      {
        absl::MutexLock lock(&streams_mu_);
        streams_[job.conn].queued += next->size();
      }
      Hand(Done{job.conn, *std::move(next), false, /*more=*/true});
    }
    {
      absl::MutexLock lock(&streams_mu_);
      streams_.erase(job.conn);
    }
    // The end: keep the connection, or close it (the body is short).
    Hand(Done{job.conn, "", job.close || failed, /*more=*/false});
  }

  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return workers_stop_ || !jobs_.empty();
  }

  const HttpServerOptions options_;
  const HttpHandler handler_;

  absl::Mutex tls_mu_;
  SslCtx tls_ ABSL_GUARDED_BY(tls_mu_);

  // Between the loop and the workers.
  absl::Mutex mu_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
  std::deque<Done> done_ ABSL_GUARDED_BY(mu_);

  // Streamed responses, between their workers and the loop. Taken inside
  // mu_ (a refusal under mu_ may close a connection), never around it.
  absl::Mutex streams_mu_ ABSL_ACQUIRED_AFTER(mu_);
  absl::flat_hash_map<uint64_t, Stream> streams_ ABSL_GUARDED_BY(streams_mu_);
  bool streams_stop_ ABSL_GUARDED_BY(streams_mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  bool workers_stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time stop_deadline_ ABSL_GUARDED_BY(mu_);

  // The loop thread's own.
  std::map<uint64_t, std::unique_ptr<Conn>> conns_;
  uint64_t next_id_ = 0;

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int port_ = 0;
  std::thread loop_;
  std::vector<std::thread> workers_;
};

}  // namespace

std::string ServerRequest::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

std::vector<std::string> ServerRequest::Params(absl::string_view name) const {
  std::vector<std::string> values;
  for (absl::string_view pair : absl::StrSplit(query, '&')) {
    const size_t eq = pair.find('=');
    if (PercentDecode(pair.substr(0, eq)) == name) {
      values.push_back(eq == absl::string_view::npos
                           ? ""
                           : PercentDecode(pair.substr(eq + 1)));
    }
  }
  return values;
}

std::string ServerRequest::Param(absl::string_view name) const {
  for (absl::string_view pair : absl::StrSplit(query, '&')) {
    const size_t eq = pair.find('=');
    const absl::string_view key = pair.substr(0, eq);
    if (PercentDecode(key) == name) {
      return eq == absl::string_view::npos ? ""
                                           : PercentDecode(pair.substr(eq + 1));
    }
  }
  return "";
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, HttpHandler handler) {
  SslCtx tls;
  if (options.tls.has_value()) {
    absl::StatusOr<SslCtx> loaded = LoadTls(*options.tls);
    if (!loaded.ok()) return loaded.status();
    tls = *std::move(loaded);
  }
  auto server = std::make_unique<Server>(options, std::move(handler), tls);
  if (absl::Status s = server->Listen(); !s.ok()) return s;
  return std::unique_ptr<HttpServer>(std::move(server));
}

std::string DescribePortHolder(int port) {
  // The socket inode listening on `port` (state 0A = LISTEN).
  std::string inode;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (inode.empty() && std::getline(in, line)) {
      std::vector<std::string> fields =
          absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (fields.size() < 10 || fields[3] != "0A") continue;
      const size_t colon = fields[1].rfind(':');
      int local_port = 0;
      if (colon != std::string::npos &&
          absl::SimpleHexAtoi(fields[1].substr(colon + 1), &local_port) &&
          local_port == port) {
        inode = fields[9];
      }
    }
  }
  if (inode.empty()) return "";
  const std::string wanted = absl::StrCat("socket:[", inode, "]");
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return "";
  std::string found;
  while (dirent* entry = readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    const std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
    DIR* fds = opendir(fd_dir.c_str());
    if (fds == nullptr) continue;
    while (dirent* fd = readdir(fds)) {
      char target[128];
      const ssize_t n = readlink(absl::StrCat(fd_dir, "/", fd->d_name).c_str(),
                                 target, sizeof(target) - 1);
      if (n > 0 &&
          absl::string_view(target, static_cast<size_t>(n)) == wanted) {
        struct stat st;
        stat(absl::StrCat("/proc/", pid).c_str(), &st);
        std::ifstream cmdline(absl::StrCat("/proc/", pid, "/cmdline"));
        std::string command((std::istreambuf_iterator<char>(cmdline)),
                            std::istreambuf_iterator<char>());
        std::replace(command.begin(), command.end(), '\0', ' ');
        found = absl::StrCat(
            "pid ", pid, " (uid ", st.st_uid,
            "): ", absl::StripAsciiWhitespace(command).substr(0, 200));
        break;
      }
    }
    closedir(fds);
    if (!found.empty()) break;
  }
  closedir(proc);
  return found;
}

}  // namespace nodefit
