// HttpClient against real HTTP servers on loopback (cpp-httplib), not fakes.
#include "resolver/registry/http_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/http_test_server.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;

using TestServer = testing::HttpTestServer;

std::unique_ptr<HttpClient> Client(const ProxySettings& proxy = {}) {
  absl::StatusOr<std::unique_ptr<HttpClient>> c = NewCurlHttpClient(proxy);
  EXPECT_TRUE(c.ok());
  return *std::move(c);
}

TEST(HttpClientTest, GetHeadPostAndHeaders) {
  TestServer s;
  s.server().Get("/thing", [](const httplib::Request& req,
                              httplib::Response& res) {
    res.set_header("Docker-Content-Digest", "sha256:abc");
    res.set_content("hello " + req.get_header_value("X-Test"), "text/plain");
  });
  s.server().Post("/form",
                  [](const httplib::Request& req, httplib::Response& res) {
                    res.set_content(req.body, "text/plain");
                  });
  s.Start();
  std::unique_ptr<HttpClient> client = Client();

  HttpRequest get;
  get.url = s.Url("/thing");
  get.headers = {{"X-Test", "world"}};
  absl::StatusOr<HttpResponse> r = client->Send(get);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
  EXPECT_EQ(r->Header("docker-content-digest"), "sha256:abc");
  EXPECT_EQ(r->Header("content-type"), "text/plain");

  HttpRequest head = get;
  head.method = "HEAD";
  r = client->Send(head);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(r->Header("content-length"), "11");

  HttpRequest post;
  post.method = "POST";
  post.url = s.Url("/form");
  post.body = "a=1&b=2";
  r = client->Send(post);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "a=1&b=2");

  HttpRequest missing;
  missing.url = s.Url("/nope");
  r = client->Send(missing);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);  // a status is a response, not an error
}

TEST(HttpClientTest, BodyOverTheLimitIsRefused) {
  TestServer s;
  s.server().Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(5 << 20, 'x'), "application/json");
  });
  s.Start();
  HttpRequest request;
  request.url = s.Url("/big");
  absl::StatusOr<HttpResponse> r = Client()->Send(request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("larger than 4393216 bytes"));
}

TEST(HttpClientTest, SlowServerHitsTheTimeout) {
  TestServer s;
  s.server().Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    res.set_content("late", "text/plain");
  });
  s.Start();
  HttpRequest request;
  request.url = s.Url("/slow");
  request.timeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  absl::StatusOr<HttpResponse> r = Client()->Send(request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("timed out"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  int port = 0;
  {
    TestServer s;
    s.Start();
    port = s.port();
  }
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", port, "/");
  absl::StatusOr<HttpResponse> r = Client()->Send(request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
}

TEST(HttpClientTest, RedirectsKeepAuthorizationOnlyOnTheSameOrigin) {
  TestServer other("127.0.0.2");
  absl::Mutex mu;
  std::vector<std::string> seen_auth;
  other.server().Get(
      "/target", [&](const httplib::Request& req, httplib::Response& res) {
        absl::MutexLock lock(&mu);
        seen_auth.push_back(req.get_header_value("Authorization"));
        res.set_content("moved here", "text/plain");
      });
  other.Start();
  TestServer s;
  s.server().Get("/same", [](const httplib::Request&, httplib::Response& res) {
    res.set_redirect("/echo", 307);
  });
  s.server().Get(
      "/echo", [](const httplib::Request& req, httplib::Response& res) {
        res.set_content(req.get_header_value("Authorization"), "text/plain");
      });
  const std::string target = other.Url("/target");
  s.server().Get("/away", [&](const httplib::Request&, httplib::Response& res) {
    res.set_redirect(target, 302);
  });
  s.Start();
  std::unique_ptr<HttpClient> client = Client();

  HttpRequest same;
  same.url = s.Url("/same");
  same.headers = {{"Authorization", "Bearer secret-token"}};
  absl::StatusOr<HttpResponse> r = client->Send(same);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "Bearer secret-token");
  EXPECT_EQ(r->redirects, 1);

  // Another host over plain http: refused unless configured, and then
  // without the Authorization header.
  HttpRequest away = same;
  away.url = s.Url("/away");
  r = client->Send(away);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("another host over plain http"));
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(seen_auth.empty());
  }
  away.allow_internal_redirects = true;
  r = client->Send(away);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "moved here");
  EXPECT_EQ(r->url, target);
  absl::MutexLock lock(&mu);
  ASSERT_EQ(seen_auth.size(), 1u);
  EXPECT_EQ(seen_auth[0], "");  // no Authorization crossed to 127.0.0.2
}

TEST(HttpClientTest, StreamsLargeBodiesToTheSinkAfterRedirects) {
  TestServer s;
  const std::string blob(9 << 20, 'b');  // over max_body_bytes
  s.server().Get("/moved", [](const httplib::Request&, httplib::Response& res) {
    res.set_redirect("/blob", 307);
  });
  s.server().Get("/blob", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Docker-Content-Digest", "sha256:feed");
    res.set_content(blob, "application/octet-stream");
  });
  s.server().Get("/gone", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content("{\"errors\":[]}", "application/json");
  });
  s.Start();
  std::unique_ptr<HttpClient> client = Client();

  HttpRequest request;
  request.url = s.Url("/moved");
  size_t received = 0, pieces = 0;
  int started_with = 0;
  std::string digest_header;
  request.on_body_start = [&](int status, const HeaderList& headers) {
    started_with = status;
    for (const auto& [name, value] : headers) {
      if (name == "docker-content-digest") digest_header = value;
    }
  };
  request.body_sink = [&](absl::string_view piece) {
    EXPECT_EQ(piece.find_first_not_of('b'), absl::string_view::npos);
    received += piece.size();
    ++pieces;
    return true;
  };
  absl::StatusOr<HttpResponse> r = client->Send(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body_streamed);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(received, blob.size());
  EXPECT_GT(pieces, 1u);
  EXPECT_EQ(started_with, 200);  // the redirect's 307 never reached it
  EXPECT_EQ(digest_header, "sha256:feed");

  // An error response is read as usual; the sink sees nothing of it.
  received = 0;
  started_with = 0;
  request.url = s.Url("/gone");
  r = client->Send(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 404);
  EXPECT_FALSE(r->body_streamed);
  EXPECT_EQ(r->body, "{\"errors\":[]}");
  EXPECT_EQ(received, 0u);
  EXPECT_EQ(started_with, 0);

  // A sink that stops reading cancels the transfer.
  request.url = s.Url("/blob");
  request.body_sink = [&](absl::string_view) { return false; };
  r = client->Send(request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("stopped reading"));
}

TEST(HttpClientTest, ResponseHeadersAreBounded) {
  TestServer s;
  s.server().Get("/many", [](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 150; ++i) {
      res.set_header(absl::StrCat("X-Many-", i), "v");
    }
    res.set_content("body", "text/plain");
  });
  s.server().Get("/fat", [](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 20; ++i) {
      res.set_header(absl::StrCat("X-Fat-", i), std::string(8000, 'f'));
    }
    res.set_content("body", "text/plain");
  });
  s.server().Get("/fine", [](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 40; ++i) res.set_header(absl::StrCat("X-", i), "v");
    res.set_content("body", "text/plain");
  });
  s.Start();
  for (const char* path : {"/many", "/fat"}) {
    SCOPED_TRACE(path);
    HttpRequest request;
    request.url = s.Url(path);
    absl::StatusOr<HttpResponse> r = Client()->Send(request);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(std::string(r.status().message()),
                HasSubstr("response headers"));
  }
  HttpRequest fine;
  fine.url = s.Url("/fine");
  absl::StatusOr<HttpResponse> r = Client()->Send(fine);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "body");
}

TEST(HttpClientTest, AtMostFiveRedirects) {
  TestServer s;
  std::atomic<int> hops{0};
  s.server().Get(R"(/loop/(\d+))", [&](const httplib::Request& req,
                                       httplib::Response& res) {
    ++hops;
    res.set_redirect("/loop/" + std::to_string(std::stoi(req.matches[1]) + 1),
                     302);
  });
  s.Start();
  HttpRequest request;
  request.url = s.Url("/loop/0");
  absl::StatusOr<HttpResponse> r = Client()->Send(request);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("more than 5 redirects"));
  EXPECT_EQ(hops.load(), 6);  // the first request and five redirects
}

// A minimal HTTP proxy: records the request line of every connection and
// answers it with that line.
class RecordingProxy {
 public:
  RecordingProxy() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 4);
    thread_ = std::thread([this] {
      while (true) {
        const int conn = accept(fd_, nullptr, nullptr);
        if (conn < 0) return;
        char buffer[4096];
        const ssize_t n = read(conn, buffer, sizeof(buffer));
        const std::string request(buffer, n > 0 ? static_cast<size_t>(n) : 0);
        const std::string line = request.substr(0, request.find("\r\n"));
        {
          absl::MutexLock lock(&mu_);
          lines_.push_back(line);
        }
        const std::string response =
            absl::StrCat("HTTP/1.1 200 OK\r\nContent-Length: ", line.size(),
                         "\r\nConnection: close\r\n\r\n", line);
        (void)write(conn, response.data(), response.size());
        close(conn);
      }
    });
  }
  ~RecordingProxy() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string Url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  std::vector<std::string> lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

TEST(HttpClientTest, ProxyFromSettingsButNeverForLoopbackOrNoProxy) {
  RecordingProxy proxy;
  ProxySettings settings;
  settings.http_proxy = proxy.Url();
  settings.no_proxy = "internal.example, .corp.example";
  std::unique_ptr<HttpClient> client = Client(settings);

  HttpRequest request;
  request.url = "http://registry.example:5000/v2/";
  request.timeout = absl::Seconds(5);
  absl::StatusOr<HttpResponse> r = client->Send(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "GET http://registry.example:5000/v2/ HTTP/1.1");

  // NO_PROXY hosts and loopback go direct: the first fails to resolve, the
  // second reaches the server itself; the proxy sees neither.
  request.url = "http://reg.corp.example/v2/";
  request.connect_timeout = absl::Milliseconds(500);
  EXPECT_FALSE(client->Send(request).ok());
  request.url = "http://internal.example/v2/";
  EXPECT_FALSE(client->Send(request).ok());
  TestServer direct;
  direct.server().Get("/v2/",
                      [](const httplib::Request&, httplib::Response& res) {
                        res.set_content("direct", "text/plain");
                      });
  direct.Start();
  request.url = direct.Url("/v2/");
  r = client->Send(request);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "direct");
  EXPECT_EQ(proxy.lines().size(), 1u);
}

TEST(HttpClientTest, UrlHelpers) {
  EXPECT_EQ(UrlOrigin("https://Reg.Example/v2/x"), "https://reg.example:443");
  EXPECT_EQ(UrlOrigin("http://127.0.0.1:5000/token?x=1"),
            "http://127.0.0.1:5000");
  EXPECT_EQ(UrlHost("http://[::1]:5000/v2/"), "::1");
  EXPECT_EQ(UrlOrigin("not a url"), "");
}

TEST(HttpClientTest, BadUrlsAndMethods) {
  HttpRequest request;
  request.url = "ftp://example.com/x";
  EXPECT_EQ(Client()->Send(request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.url = "http://127.0.0.1:1/";
  request.method = "DELETE";
  EXPECT_EQ(Client()->Send(request).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace nodefit
