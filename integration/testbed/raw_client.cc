#include "integration/testbed/raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace nodefit::testbed {

absl::StatusOr<std::unique_ptr<RawClient>> RawClient::Connect(
    int port, const RawTls* tls) {
  signal(SIGPIPE, SIG_IGN);  // a server hanging up is an answer, not a crash
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(
        absl::StrCat("connect to port ", port, ": ", std::strerror(error)));
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (tls == nullptr) {
    return std::unique_ptr<RawClient>(new RawClient(fd, nullptr, nullptr));
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (!tls->ca.empty()) {
    SSL_CTX_load_verify_locations(ctx, tls->ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!tls->client_cert.empty() &&
      (SSL_CTX_use_certificate_chain_file(ctx, tls->client_cert.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx, tls->client_key.c_str(),
                                   SSL_FILETYPE_PEM) != 1)) {
    SSL_CTX_free(ctx);
    close(fd);
    return absl::InvalidArgumentError("cannot load the client certificate");
  }
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  std::unique_ptr<RawClient> client(new RawClient(fd, ctx, ssl));
  if (SSL_connect(ssl) != 1) {
    return absl::PermissionDeniedError("TLS handshake refused");
  }
  // TLS 1.3 servers refuse a missing client certificate after the
  // client's side of the handshake is done: a read shows it.
  return client;
}

RawClient::~RawClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  close(fd_);
}

bool RawClient::Send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size() && !closed_) {
    const int n =
        ssl_ != nullptr
            ? SSL_write(ssl_, bytes.data() + sent,
                        static_cast<int>(bytes.size() - sent))
            : static_cast<int>(send(fd_, bytes.data() + sent,
                                    bytes.size() - sent, MSG_NOSIGNAL));
    if (n <= 0) {
      if (ssl_ == nullptr && n < 0 && errno == EINTR) continue;
      closed_ = true;
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  return !closed_;
}

std::string RawClient::ReadUntilClosed(absl::Duration timeout) {
  std::string out;
  const absl::Time deadline = absl::Now() + timeout;
  char buffer[16384];
  while (!closed_) {
    if (ssl_ == nullptr || SSL_pending(ssl_) == 0) {
      pollfd p{fd_, POLLIN, 0};
      const int left =
          static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (left <= 0 || poll(&p, 1, left) <= 0) break;
    }
    const int n = ssl_ != nullptr
                      ? SSL_read(ssl_, buffer, sizeof(buffer))
                      : static_cast<int>(recv(fd_, buffer, sizeof(buffer), 0));
    if (n <= 0) {
      closed_ = true;
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

bool RawClient::ClosedWithin(absl::Duration timeout) {
  ReadUntilClosed(timeout);
  return closed_;
}

}  // namespace nodefit::testbed
