// The HTTP/1.1 server behind nodefit's listeners, built to face hostile
// local clients (nodefit runs as root on shared nodes):
//  - one event-loop thread does all socket I/O (non-blocking, epoll) and a
//    fixed pool of workers runs the handler, so slow or idle connections
//    hold a connection slot, never a worker;
//  - every bound is explicit: open connections (beyond the limit a new one
//    displaces the oldest that has not delivered a request, or is closed
//    at once when all have), requests waiting for a worker (beyond: 503), the
//    request line (414), header bytes and header count (431), and the time
//    to deliver a whole request, from its first byte (or the TLS
//    handshake) to its last (then the connection is closed); only GET and
//    HEAD are served (405) and request bodies are refused (413);
//  - with TLS and a client CA, the client must present a certificate signed
//    by it, or the handshake fails;
//  - HTTP/1.1 keep-alive, capped per connection, and pipelined requests in
//    order;
//  - a response body may be streamed from a producer (a blob passing
//    through): at most `stream_buffer` bytes of it are held, the producer
//    waits for a slow client, and a client that takes nothing for
//    write_timeout is dropped.
// Each bound that is hit is reported through `on_limit` (for metrics).
#ifndef NODEFIT_PLUGIN_NET_HTTP_SERVER_H_
#define NODEFIT_PLUGIN_NET_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace nodefit {

struct ServerRequest {
  std::string method;  // as sent, e.g. "GET"
  std::string target;  // the request-target
  std::string path;    // target up to '?'
  std::string query;   // after '?', still percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower

  // The first header with this lower-case name, or "".
  std::string Header(absl::string_view name) const;
  // The first query parameter `name`, percent-decoded, or "".
  std::string Param(absl::string_view name) const;
  // Every value of query parameter `name`, percent-decoded, in order.
  std::vector<std::string> Params(absl::string_view name) const;
};

struct ServerResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // For HEAD, and for a streamed body: the Content-Length to announce.
  std::optional<int64_t> content_length;
  // A body too large to hold, produced while it is sent (a blob passing
  // through), instead of `body`; `content_length` must be set. Called on
  // the worker, again and again until content_length bytes have come: each
  // call returns the next piece (1 to `max_bytes` bytes) or an error, which
  // closes the connection (the client sees a short body, as from a
  // registry that failed mid-blob). The server holds at most
  // HttpServerOptions::stream_buffer bytes of one response at a time, so a
  // slow client slows the producer instead of growing memory; a client that
  // takes nothing for write_timeout is dropped. Not called for HEAD.
  std::function<absl::StatusOr<std::string>(size_t max_bytes)> stream;
};

using HttpHandler = std::function<void(const ServerRequest&, ServerResponse&)>;

struct TlsServerOptions {
  std::string cert_file;  // PEM, the server's certificate
  std::string key_file;   // PEM, its key
  // PEM: clients must present a certificate it signed. Empty: no client
  // certificate is asked for (the proxy face, whose clients log in).
  std::string client_ca_file;
};

struct HttpServerOptions {
  std::string listen;  // "host:port" or "[v6]:port"; port 0 picks one
  int workers = 4;
  int max_connections = 128;
  int max_pending = 64;  // complete requests waiting for a worker
  size_t max_request_line = 8 << 10;
  size_t max_header_bytes = 16 << 10;  // request line and headers
  int max_headers = 64;
  // From a connection's first byte of a request (or the start of its TLS
  // handshake) to the end of that request's headers.
  absl::Duration request_timeout = absl::Seconds(10);
  absl::Duration idle_timeout = absl::Seconds(20);  // between requests
  absl::Duration write_timeout = absl::Seconds(30);
  int max_requests_per_connection = 1000;
  // Bytes of one streamed response held between its producer and the
  // socket (ServerResponse::stream).
  size_t stream_buffer = 1 << 20;
  std::optional<TlsServerOptions> tls;
  // Called (on the loop thread) with "connections", "pending",
  // "request_line", "header_bytes", "header_count", "timeout", "body" or
  // "tls_handshake" each time that bound turns a client away.
  std::function<void(absl::string_view limit)> on_limit;
};

class HttpServer {
 public:
  // Binds and starts serving. InvalidArgument for a bad `listen` or TLS
  // files that do not load; Unavailable when the address cannot be bound
  // (the message says who holds the port when that can be found).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options, HttpHandler handler);
  virtual ~HttpServer() = default;

  virtual int port() const = 0;
  // Reads the TLS files again; new connections use them. An error leaves
  // the ones in use.
  [[nodiscard]] virtual absl::Status ReloadTls() = 0;
  // Stops accepting, lets requests already handed to a worker finish
  // (within `grace`), then closes everything. Idempotent.
  virtual void Stop(absl::Duration grace) = 0;

 protected:
  HttpServer() = default;
};

// Who holds TCP `port` on this host: "pid 1234 (uid 65534): python3 -m
// http.server 505", from /proc/net/tcp{,6} and /proc/*/fd; "" if unknown.
std::string DescribePortHolder(int port);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_NET_HTTP_SERVER_H_
