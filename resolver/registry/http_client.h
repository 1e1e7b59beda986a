// HTTP(S) transport for the registry client: one small interface, a libcurl
// implementation with one shared connection pool, and nothing registry
// specific.
//
// Contract of HttpClient::Send:
//   - returns the final response of the request, whatever its status code;
//     only transport failures are errors: Unavailable (connect, DNS, TLS,
//     proxy), DeadlineExceeded (connect or whole-request timeout),
//     ResourceExhausted (body over max_body_bytes), FailedPrecondition (a
//     redirect that nodefit refuses to follow), InvalidArgument (bad URL);
//   - follows at most `max_redirects` redirects itself, and drops the
//     Authorization header when a redirect leaves the original origin
//     (scheme, host and port), so a credential never reaches another host;
//     a redirect from https to http is refused;
//   - never puts a header value into an error message or a log line.
// Implementations are thread-safe.
#ifndef NODEFIT_RESOLVER_REGISTRY_HTTP_CLIENT_H_
#define NODEFIT_RESOLVER_REGISTRY_HTTP_CLIENT_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace nodefit {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  // GET, HEAD, or with a body POST, PUT and PATCH (publishing only; a
  // redirect of PUT or PATCH is not followed with its body).
  std::string method = "GET";
  std::string url;
  HeaderList headers;
  std::string body;  // POST, PUT, PATCH
  size_t max_body_bytes = 4'393'216;
  absl::Duration connect_timeout = absl::Seconds(5);
  absl::Duration timeout = absl::Seconds(30);  // whole request
  int max_redirects = 5;
  // TLS: verify the peer against the system CAs plus `ca_file` (if set);
  // verify_tls = false turns verification off (registries marked insecure).
  std::string ca_file;
  bool verify_tls = true;
  // A redirect is followed to the same host and port, or to https on
  // another host, never to a loopback, link-local (169.254.0.0/16, the
  // clouds' metadata service, fe80::/10) or unspecified address, checked
  // where libcurl connects (so DNS cannot re-point it). True lifts both
  // rules: plain http to another host and internal addresses (config
  // upstream.allow_internal_redirects, for registries inside the node's
  // own network).
  bool allow_internal_redirects = false;
  // A body too large to hold (a blob passing through): when set, the body
  // of a final 200 or 206 response goes to `body_sink` piece by piece as it
  // arrives instead of into HttpResponse::body, and max_body_bytes does not
  // apply to it. `on_body_start` (may be null) is called first, once, with
  // that response's status and headers. The sink may block (the transfer
  // waits) and returns false to abort it (Cancelled). Other responses
  // (redirects, errors) are read into `body` as usual. A streamed
  // transfer that moves no byte for `stall_timeout` fails
  // (DeadlineExceeded); `timeout` still bounds the whole request.
  std::function<bool(absl::string_view piece)> body_sink;
  std::function<void(int status, const HeaderList& headers)> on_body_start;
  absl::Duration stall_timeout = absl::Seconds(60);
};

struct HttpResponse {
  int status = 0;
  HeaderList headers;  // names lower-cased, in arrival order
  std::string body;    // empty for HEAD
  std::string url;     // the URL that answered, after redirects
  int redirects = 0;
  bool body_streamed = false;  // the body went to HttpRequest::body_sink

  // The first header with this (lower-case) name.
  std::optional<std::string> Header(absl::string_view name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  [[nodiscard]] virtual absl::StatusOr<HttpResponse> Send(
      const HttpRequest& request) = 0;
};

// Proxy settings as Go's net/http (and so containerd) reads them:
// HTTPS_PROXY/https_proxy for https URLs, HTTP_PROXY/http_proxy for http
// URLs, NO_PROXY/no_proxy exceptions; loopback hosts are never proxied.
struct ProxySettings {
  std::string http_proxy;
  std::string https_proxy;
  std::string no_proxy;
  static ProxySettings FromEnvironment();
};

// The libcurl client. All instances share libcurl's global state; each
// instance has its own connection pool shared by every request it sends.
[[nodiscard]] absl::StatusOr<std::unique_ptr<HttpClient>> NewCurlHttpClient(
    const ProxySettings& proxy = ProxySettings::FromEnvironment());

// "scheme://host[:port]" of a URL, lower-cased; empty if unparsable.
std::string UrlOrigin(absl::string_view url);
// The host (without port or brackets) of a URL, lower-cased.
std::string UrlHost(absl::string_view url);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_REGISTRY_HTTP_CLIENT_H_
