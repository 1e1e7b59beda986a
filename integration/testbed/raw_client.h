// A raw client connection to a local TCP port for attack tests: plain or
// TLS (optionally with a client certificate), writing whatever bytes a test
// wants, as slowly as it wants, and telling when the server hung up.
#ifndef NODEFIT_INTEGRATION_TESTBED_RAW_CLIENT_H_
#define NODEFIT_INTEGRATION_TESTBED_RAW_CLIENT_H_

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nodefit::testbed {

struct RawTls {
  std::string ca;           // verify the server against this CA; "" skips
  std::string client_cert;  // "" sends none
  std::string client_key;
};

class RawClient {
 public:
  // Connects to 127.0.0.1:`port`; with `tls`, completes the handshake
  // (an error if the server refuses it).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RawClient>> Connect(
      int port, const RawTls* tls = nullptr);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Writes all of `bytes`; false once the server has closed or reset.
  bool Send(const std::string& bytes);
  // Reads until the server closes or `timeout` passes; what arrived.
  std::string ReadUntilClosed(absl::Duration timeout);
  // Whether the server has closed the connection (waits up to `timeout`).
  bool ClosedWithin(absl::Duration timeout);

 private:
  RawClient(int fd, SSL_CTX* ctx, SSL* ssl) : fd_(fd), ctx_(ctx), ssl_(ssl) {}
  int fd_;
  SSL_CTX* ctx_;
  SSL* ssl_;
  bool closed_ = false;
};

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_RAW_CLIENT_H_
