// An httplib::Server on a loopback address and a free port, running on its
// own thread for the lifetime of the object. Used by tests that need a real
// HTTP peer (hostile registries, token servers, proxies' targets).
#ifndef NODEFIT_TESTS_HTTP_TEST_SERVER_H_
#define NODEFIT_TESTS_HTTP_TEST_SERVER_H_

#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace nodefit::testing {

class HttpTestServer {
 public:
  explicit HttpTestServer(std::string host = "127.0.0.1")
      : host_(std::move(host)) {
    // Stop() waits for idle keep-alive connections; don't let a pooled
    // client connection hold a test for the default 5 s.
    server_.set_keep_alive_timeout(1);
  }
  ~HttpTestServer() { Stop(); }
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  httplib::Server& server() { return server_; }

  // Binds a free port and starts serving; register handlers first.
  void Start() {
    port_ = server_.bind_to_any_port(host_);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  void Stop() {
    if (thread_.joinable()) {
      server_.stop();
      thread_.join();
    }
  }
  int port() const { return port_; }
  std::string HostPort() const { return absl::StrCat(host_, ":", port_); }
  std::string Url(const std::string& path = "") const {
    return absl::StrCat("http://", host_, ":", port_, path);
  }

 private:
  std::string host_;
  int port_ = 0;
  httplib::Server server_;
  std::thread thread_;
};

}  // namespace nodefit::testing

#endif  // NODEFIT_TESTS_HTTP_TEST_SERVER_H_
