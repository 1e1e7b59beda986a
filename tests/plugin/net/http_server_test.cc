// plugin/net/http_server.h through real sockets: keep-alive, pipelining and
// HEAD; each bound (request line, header bytes and count, bodies, the
// whole-request deadline, open connections, requests waiting for a worker)
// turns a client away and is reported; slow clients never stall the
// workers; mutual TLS refuses clients without the right certificate;
// streamed bodies hold a bounded buffer and wait for their client.
#include "plugin/net/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "plugin/tls/pki.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A plain TCP client that sends raw bytes and reads what comes back.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ =
        connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() { close(fd_); }
  bool connected() const { return connected_; }
  bool Send(absl::string_view bytes) {
    return send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }
  // Everything until the peer closes or `timeout` passes.
  std::string ReadUntilClosed(absl::Duration timeout = absl::Seconds(5)) {
    std::string out;
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buffer[4096];
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }
  // Reads until `count` responses' worth of "HTTP/1.1 " have arrived.
  std::string ReadResponses(int count) {
    std::string out;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (absl::Now() < deadline) {
      int seen = 0;
      for (size_t at = out.find("HTTP/1.1 "); at != std::string::npos;
           at = out.find("HTTP/1.1 ", at + 1)) {
        ++seen;
      }
      if (seen >= count && absl::EndsWith(out, "\n") &&
          out.find("\r\n\r\n", out.rfind("HTTP/1.1 ")) != std::string::npos) {
        // Bodies here are short and end with "\n".
        break;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buffer[4096];
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n <= 0) break;
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }
  // Up to `count` bytes, waiting at most `timeout`.
  std::string Read(size_t count, absl::Duration timeout = absl::Seconds(5)) {
    std::string out;
    const absl::Time deadline = absl::Now() + timeout;
    while (out.size() < count && absl::Now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buffer[65536];
      const ssize_t n =
          recv(fd_, buffer, std::min(sizeof(buffer), count - out.size()), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buffer, static_cast<size_t>(n));
    }
    return out;
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions options, HttpHandler handler = nullptr) {
    options.listen = "127.0.0.1:0";
    options.on_limit = [this](absl::string_view limit) {
      absl::MutexLock lock(&mu_);
      ++limits_[std::string(limit)];
    };
    if (!handler) {
      handler = [](const ServerRequest& req, ServerResponse& res) {
        res.headers.emplace_back("Content-Type", "text/plain");
        res.body = absl::StrCat(req.method, " ", req.path,
                                " ns=", req.Param("ns"), "\n");
        if (req.method == "HEAD") {
          res.content_length = static_cast<int64_t>(res.body.size());
        }
      };
    }
    absl::StatusOr<std::unique_ptr<HttpServer>> server =
        HttpServer::Start(options, std::move(handler));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }
  // The count once it reaches `at_least`, or after 5 s: the server counts
  // a refusal after the client may already have seen it (TLS 1.3 rejects a
  // client certificate after the client's side of the handshake is done).
  int Limits(const std::string& limit, int at_least = 1) {
    absl::MutexLock lock(&mu_);
    auto reached = [&] { return limits_[limit] >= at_least; };
    mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(5));
    return limits_[limit];
  }

  absl::Mutex mu_;
  std::map<std::string, int> limits_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, KeepAlivePipeliningAndHead) {
  Start(HttpServerOptions());
  RawClient client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send(
      "GET /v2/a/manifests/b?ns=docker.io HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /v2/c HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string out = client.ReadResponses(2);
  EXPECT_THAT(out, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(out, HasSubstr("GET /v2/a/manifests/b ns=docker.io\n"));
  // HEAD: the length of the body it would have, and no body.
  EXPECT_THAT(out, HasSubstr("Content-Length: 15\r\n\r\n"));
  EXPECT_FALSE(absl::StrContains(out, "HEAD /v2/c ns="));
  // And the connection is still open for a third.
  ASSERT_TRUE(client.Send("GET /x HTTP/1.1\r\nConnection: close\r\n\r\n"));
  const std::string last = client.ReadUntilClosed();
  EXPECT_THAT(last, HasSubstr("GET /x ns=\n"));
  EXPECT_THAT(last, HasSubstr("Connection: close"));
  EXPECT_TRUE(client.closed());
}

TEST_F(HttpServerTest, HeaderBoundsAndBodiesAreRefused) {
  HttpServerOptions options;
  options.max_headers = 10;
  options.max_header_bytes = 2048;
  options.max_request_line = 512;
  Start(options);
  const struct {
    std::string request;
    std::string status;
    std::string limit;
  } cases[] = {
      {"GET /" + std::string(600, 'a') + " HTTP/1.1\r\n", "414",
       "request_line"},
      {[] {
         std::string r = "GET / HTTP/1.1\r\n";
         for (int i = 0; i < 20; ++i) r += absl::StrCat("X-", i, ": y\r\n");
         return r;
       }(),
       "431", "header_count"},
      {"GET / HTTP/1.1\r\nX: " + std::string(3000, 'b') + "\r\n", "431",
       "header_bytes"},
      {"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", "413", "body"},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "413", "body"},
      {"NONSENSE\r\n\r\n", "400", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.status + " " + c.limit);
    RawClient client(server_->port());
    ASSERT_TRUE(client.Send(c.request));
    const std::string out = client.ReadUntilClosed();
    EXPECT_THAT(out, StartsWith("HTTP/1.1 " + c.status + " ")) << out;
    EXPECT_TRUE(client.closed());
    if (!c.limit.empty()) {
      EXPECT_GE(Limits(c.limit), 1);
    }
  }
}

TEST_F(HttpServerTest, ATlsHandshakeOnAPlainPortIsRefusedAtOnce) {
  HttpServerOptions options;
  options.request_timeout = absl::Seconds(10);
  Start(options);
  RawClient client(server_->port());
  // The start of a TLS ClientHello: a client trying https first.
  ASSERT_TRUE(client.Send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01", 8)));
  const absl::Time start = absl::Now();
  const std::string out = client.ReadUntilClosed(absl::Seconds(5));
  EXPECT_THAT(out, StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(out, HasSubstr("plain HTTP"));
  EXPECT_TRUE(client.closed());
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));  // not the deadline
}

TEST_F(HttpServerTest, AWholeRequestHasADeadline) {
  HttpServerOptions options;
  options.request_timeout = absl::Milliseconds(300);
  Start(options);
  RawClient client(server_->port());
  // One header byte at a time, never finishing: cut off at the deadline,
  // not kept alive by each byte.
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\n"));
  const absl::Time start = absl::Now();
  bool closed = false;
  while (absl::Now() - start < absl::Seconds(3)) {
    if (!client.Send("X")) {
      closed = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
    if (client.ReadUntilClosed(absl::Milliseconds(1)).empty() &&
        client.closed()) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_GE(Limits("timeout"), 1);
}

TEST_F(HttpServerTest, ANewConnectionDisplacesTheOldestUnfinishedOne) {
  HttpServerOptions options;
  options.max_connections = 4;
  Start(options);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawClient>(server_->port()));
    ASSERT_TRUE(held.back()->Send("GET"));   // started, never finished
    absl::SleepFor(absl::Milliseconds(20));  // accepted in this order
  }
  RawClient newcomer(server_->port());
  ASSERT_TRUE(newcomer.Send("GET /new HTTP/1.1\r\n\r\n"));
  EXPECT_THAT(newcomer.ReadResponses(1), HasSubstr("GET /new"));
  // The oldest of the four made room; the others are still open.
  EXPECT_EQ(held[0]->ReadUntilClosed(absl::Seconds(2)), "");
  EXPECT_TRUE(held[0]->closed());
  EXPECT_GE(Limits("connections"), 1);
  ASSERT_TRUE(held[3]->Send(" /last HTTP/1.1\r\n\r\n"));
  EXPECT_THAT(held[3]->ReadResponses(1), HasSubstr("GET /last"));
}

TEST_F(HttpServerTest, WhenEveryConnectionHasARequestANewOneIsClosed) {
  HttpServerOptions options;
  options.max_connections = 2;
  options.workers = 2;
  absl::Notification release;
  std::atomic<int> entered{0};
  Start(options, [&](const ServerRequest&, ServerResponse& res) {
    ++entered;
    release.WaitForNotificationWithTimeout(absl::Seconds(10));
    res.body = "done\n";
  });
  RawClient a(server_->port());
  RawClient b(server_->port());
  ASSERT_TRUE(a.Send("GET /a HTTP/1.1\r\n\r\n"));
  ASSERT_TRUE(b.Send("GET /b HTTP/1.1\r\n\r\n"));
  while (entered.load() < 2) absl::SleepFor(absl::Milliseconds(5));
  RawClient extra(server_->port());
  EXPECT_EQ(extra.ReadUntilClosed(absl::Seconds(2)), "");
  EXPECT_TRUE(extra.closed());
  release.Notify();
  EXPECT_THAT(a.ReadResponses(1), HasSubstr("done"));
  EXPECT_THAT(b.ReadResponses(1), HasSubstr("done"));
}

TEST_F(HttpServerTest, SlowClientsDoNotHoldTheWorkers) {
  HttpServerOptions options;
  options.workers = 1;
  options.max_connections = 100;
  Start(options);
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 60; ++i) {
    slow.push_back(std::make_unique<RawClient>(server_->port()));
    ASSERT_TRUE(slow.back()->Send("GET /slow HTTP/1.1\r\nX-Slow: "));
  }
  const absl::Time start = absl::Now();
  RawClient client(server_->port());
  ASSERT_TRUE(client.Send("GET /fast HTTP/1.1\r\n\r\n"));
  EXPECT_THAT(client.ReadResponses(1), HasSubstr("GET /fast"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST_F(HttpServerTest, RequestsBeyondTheQueueGet503) {
  HttpServerOptions options;
  options.workers = 1;
  options.max_pending = 1;
  absl::Notification release;
  std::atomic<int> entered{0};
  Start(options, [&](const ServerRequest&, ServerResponse& res) {
    ++entered;
    release.WaitForNotificationWithTimeout(absl::Seconds(10));
    res.body = "done\n";
  });
  RawClient busy(server_->port());
  ASSERT_TRUE(busy.Send("GET /1 HTTP/1.1\r\n\r\n"));
  while (entered.load() < 1) absl::SleepFor(absl::Milliseconds(5));
  RawClient queued(server_->port());
  ASSERT_TRUE(queued.Send("GET /2 HTTP/1.1\r\n\r\n"));
  absl::SleepFor(absl::Milliseconds(100));  // it waits in the queue
  RawClient turned_away(server_->port());
  ASSERT_TRUE(turned_away.Send("GET /3 HTTP/1.1\r\n\r\n"));
  EXPECT_THAT(turned_away.ReadUntilClosed(), StartsWith("HTTP/1.1 503 "));
  EXPECT_GE(Limits("pending"), 1);
  release.Notify();
  EXPECT_THAT(busy.ReadResponses(1), HasSubstr("done"));
  EXPECT_THAT(queued.ReadResponses(1), HasSubstr("done"));
}

class TlsServerTest : public HttpServerTest {
 protected:
  void SetUp() override {
    PkiReport report;
    ASSERT_TRUE(EnsurePki(pki_, absl::Now(), &report).ok());
    ASSERT_TRUE(EnsurePki(other_, absl::Now(), &report).ok());
    HttpServerOptions options;
    options.tls =
        TlsServerOptions{pki_.server_cert(), pki_.server_key(), pki_.ca_cert()};
    Start(options);
  }
  httplib::Result Get(const PkiPaths* client_pki) {
    std::unique_ptr<httplib::SSLClient> client =
        client_pki == nullptr
            ? std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port())
            : std::make_unique<httplib::SSLClient>("127.0.0.1", server_->port(),
                                                   client_pki->client_cert(),
                                                   client_pki->client_key());
    client->set_ca_cert_path(pki_.ca_cert().c_str());
    client->enable_server_certificate_verification(true);
    client->set_connection_timeout(2, 0);
    client->set_read_timeout(2, 0);
    return client->Get("/v2/");
  }

  testing::TempDir dir_;
  PkiPaths pki_{dir_.path() + "/pki"};
  PkiPaths other_{dir_.path() + "/other"};
};

TEST_F(TlsServerTest, OnlyTheNodesClientCertificateGetsIn) {
  // containerd's certificate, the server's verified as 127.0.0.1.
  httplib::Result ok = Get(&pki_);
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);
  // No certificate, or one from another CA: no answer at all.
  EXPECT_FALSE(Get(nullptr));
  EXPECT_FALSE(Get(&other_));
  EXPECT_GE(Limits("tls_handshake", 2), 2);
}

TEST_F(TlsServerTest, RotatedCertificatesAreUsedAfterReload) {
  PkiReport report;
  ASSERT_TRUE(RotatePki(pki_, /*new_ca=*/true, absl::Now(), &report).ok());
  // The client now holds the new CA's certificate; the server still
  // presents the old one, which the new CA does not verify.
  EXPECT_FALSE(Get(&pki_));
  ASSERT_TRUE(server_->ReloadTls().ok());
  httplib::Result ok = Get(&pki_);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST(PortHolderTest, NamesTheProcessHoldingAPort) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  EXPECT_THAT(DescribePortHolder(port),
              StartsWith(absl::StrCat("pid ", getpid(), " (uid ")));
  // And a server that cannot bind says so.
  HttpServerOptions options;
  options.listen = absl::StrCat("127.0.0.1:", port);
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Start(options, [](const ServerRequest&, ServerResponse&) {});
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()),
              HasSubstr(absl::StrCat("the port is held by pid ", getpid())));
  close(fd);
}

// A streamed body: the producer's pieces, in order, under the announced
// length; then the connection serves the next request.
TEST_F(HttpServerTest, StreamsABodyLargerThanItsBuffer) {
  constexpr int64_t kBody = 4 << 20;
  HttpServerOptions options;
  options.stream_buffer = 64 << 10;
  std::atomic<size_t> largest_piece{0};
  Start(options, [&](const ServerRequest& req, ServerResponse& res) {
    if (req.path != "/blob") {
      res.body = "next\n";
      return;
    }
    res.content_length = kBody;
    auto made = std::make_shared<int64_t>(0);
    res.stream = [made, &largest_piece](size_t max) {
      std::string piece(max, '\0');
      for (char& c : piece) c = static_cast<char>('a' + (*made)++ % 26);
      largest_piece = std::max(largest_piece.load(), max);
      return absl::StatusOr<std::string>(std::move(piece));
    };
  });
  RawClient client(server_->port());
  ASSERT_TRUE(client.Send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) {
    const std::string more = client.Read(1);
    ASSERT_FALSE(more.empty());
    head += more;
  }
  EXPECT_THAT(head, HasSubstr(absl::StrCat("Content-Length: ", kBody)));
  const std::string body = client.Read(kBody, absl::Seconds(30));
  ASSERT_EQ(body.size(), static_cast<size_t>(kBody));
  for (size_t i = 0; i < body.size(); i += 4099) {
    ASSERT_EQ(body[i], static_cast<char>('a' + i % 26)) << i;
  }
  EXPECT_LE(largest_piece.load(), options.stream_buffer);
  ASSERT_TRUE(client.Send("GET /next HTTP/1.1\r\nConnection: close\r\n\r\n"));
  EXPECT_THAT(client.ReadUntilClosed(), HasSubstr("next\n"));
}

// A client that stops reading stops the producer (only the buffer and the
// kernel's socket buffers run ahead), and is dropped after write_timeout,
// which frees the worker for others.
TEST_F(HttpServerTest, AStalledClientStallsTheProducerThenIsDropped) {
  constexpr int64_t kBody = int64_t{256} << 20;
  HttpServerOptions options;
  options.workers = 1;
  options.stream_buffer = 256 << 10;
  options.write_timeout = absl::Milliseconds(800);
  std::atomic<int64_t> produced{0};
  Start(options, [&](const ServerRequest& req, ServerResponse& res) {
    if (req.path != "/blob") {
      res.body = "served\n";
      return;
    }
    res.content_length = kBody;
    res.stream = [&produced](size_t max) {
      produced += static_cast<int64_t>(max);
      return absl::StatusOr<std::string>(std::string(max, 'x'));
    };
  });
  RawClient stalled(server_->port());
  ASSERT_TRUE(stalled.Send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(stalled.Read(1 << 20).size(), 1U << 20);
  absl::SleepFor(absl::Milliseconds(400));
  const int64_t while_stalled = produced.load();
  std::cout << "produced while the client read 1 MB and stalled: "
            << while_stalled << " bytes\n";
  // The socket buffers of loopback hold a few megabytes at most.
  EXPECT_LT(while_stalled, int64_t{32} << 20);
  // Past write_timeout the stalled client is dropped and the one worker
  // serves someone else.
  RawClient other(server_->port());
  ASSERT_TRUE(other.Send("GET /x HTTP/1.1\r\nConnection: close\r\n\r\n"));
  EXPECT_THAT(other.ReadUntilClosed(absl::Seconds(10)), HasSubstr("served\n"));
  EXPECT_LT(produced.load(), int64_t{32} << 20);
}

// A producer that fails mid-body closes the connection: the client sees a
// short body, never a wrong one. HEAD announces the length and produces
// nothing.
TEST_F(HttpServerTest, AFailedProducerCutsTheBodyAndHeadProducesNothing) {
  std::atomic<int> calls{0};
  Start(HttpServerOptions(), [&](const ServerRequest&, ServerResponse& res) {
    res.content_length = 1000;
    res.stream = [&calls](size_t) -> absl::StatusOr<std::string> {
      if (++calls > 1) return absl::UnavailableError("upstream went away");
      return std::string(100, 'y');
    };
  });
  RawClient head(server_->port());
  ASSERT_TRUE(head.Send("HEAD /blob HTTP/1.1\r\nConnection: close\r\n\r\n"));
  const std::string head_out = head.ReadUntilClosed();
  EXPECT_THAT(head_out, HasSubstr("Content-Length: 1000\r\n"));
  EXPECT_EQ(calls.load(), 0);
  RawClient get(server_->port());
  ASSERT_TRUE(get.Send("GET /blob HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string out = get.ReadUntilClosed();
  EXPECT_TRUE(get.closed());
  EXPECT_THAT(out, HasSubstr("Content-Length: 1000\r\n"));
  EXPECT_EQ(out.size() - out.find("\r\n\r\n") - 4, 100U);
}

}  // namespace
}  // namespace nodefit
