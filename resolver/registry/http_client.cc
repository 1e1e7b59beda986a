#include "resolver/registry/http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "resolver/base/limits.h"

namespace nodefit {
namespace {

constexpr size_t kMaxIdleHandles = 32;
constexpr char kUserAgent[] = "nodefit/0.1";

struct UrlParts {
  std::string scheme, host, port, url;
};

// Parses (and, given `base`, resolves) a URL with libcurl's own parser so
// nodefit and libcurl never disagree about where a request goes.
bool ParseUrl(absl::string_view base, absl::string_view url, UrlParts* out) {
  CURLU* handle = curl_url();
  if (handle == nullptr) return false;
  bool ok = true;
  if (!base.empty()) {
    ok = curl_url_set(handle, CURLUPART_URL, std::string(base).c_str(), 0) ==
         CURLUE_OK;
  }
  ok = ok && curl_url_set(handle, CURLUPART_URL, std::string(url).c_str(), 0) ==
                 CURLUE_OK;
  auto get = [&](CURLUPart part, std::string* value, unsigned flags) {
    char* text = nullptr;
    if (curl_url_get(handle, part, &text, flags) != CURLUE_OK) return false;
    *value = text;
    curl_free(text);
    return true;
  };
  ok = ok && get(CURLUPART_SCHEME, &out->scheme, 0) &&
       get(CURLUPART_HOST, &out->host, 0) &&
       get(CURLUPART_PORT, &out->port, CURLU_DEFAULT_PORT) &&
       get(CURLUPART_URL, &out->url, 0);
  curl_url_cleanup(handle);
  absl::AsciiStrToLower(&out->scheme);
  absl::AsciiStrToLower(&out->host);
  return ok;
}

std::string Origin(const UrlParts& u) {
  return absl::StrCat(u.scheme, "://", u.host, ":", u.port);
}

bool IsLoopbackHost(absl::string_view host) {
  return host == "localhost" || host == "[::1]" || host == "::1" ||
         absl::StartsWith(host, "127.");
}

bool MatchesIpv4Cidr(absl::string_view host, absl::string_view cidr) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(cidr, absl::MaxSplits('/', 1));
  auto parse = [](absl::string_view ip, uint32_t* out) {
    std::vector<absl::string_view> octets = absl::StrSplit(ip, '.');
    if (octets.size() != 4) return false;
    uint32_t v = 0;
    for (absl::string_view o : octets) {
      int n = 0;
      if (!absl::SimpleAtoi(o, &n) || n < 0 || n > 255) return false;
      v = (v << 8) | static_cast<uint32_t>(n);
    }
    *out = v;
    return true;
  };
  uint32_t net = 0, ip = 0;
  int bits = 0;
  if (!parse(parts.first, &net) || !parse(host, &ip) ||
      !absl::SimpleAtoi(parts.second, &bits) || bits < 0 || bits > 32) {
    return false;
  }
  const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (net & mask) == (ip & mask);
}

// NO_PROXY as Go reads it: "*", host names (matching subdomains too),
// ".suffix", host:port, and IPv4 CIDR blocks.
bool NoProxyMatches(absl::string_view no_proxy, const UrlParts& u) {
  for (absl::string_view raw : absl::StrSplit(no_proxy, ',')) {
    std::string entry = absl::AsciiStrToLower(absl::StripAsciiWhitespace(raw));
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (entry.find('/') != std::string::npos) {
      if (MatchesIpv4Cidr(u.host, entry)) return true;
      continue;
    }
    if (const size_t colon = entry.rfind(':');
        colon != std::string::npos && entry.find(']') == std::string::npos &&
        entry.find(':') == colon) {
      if (entry.substr(colon + 1) != u.port) continue;
      entry.resize(colon);
    }
    if (absl::StartsWith(entry, "*.")) entry.erase(0, 1);
    if (entry.front() == '.') {
      if (absl::EndsWith(u.host, entry) || u.host == entry.substr(1)) {
        return true;
      }
    } else if (u.host == entry || absl::EndsWith(u.host, "." + entry)) {
      return true;
    }
  }
  return false;
}

std::string GetEnv(const char* upper, const char* lower) {
  if (const char* v = std::getenv(upper); v != nullptr && *v != '\0') {
    return v;
  }
  if (const char* v = std::getenv(lower); v != nullptr && *v != '\0') {
    return v;
  }
  return "";
}

// A registry response's headers, at most (what any registry sends is a few
// dozen lines and a few KB; libcurl caps each line at 100 KB itself).
constexpr size_t kMaxResponseHeaders = 100;
constexpr size_t kMaxResponseHeaderBytes = 64 << 10;

struct Transfer {
  HeaderList headers;
  size_t header_bytes = 0;
  std::string body;
  size_t max_body = 0;
  bool too_large = false;
  bool too_many_headers = false;
  bool forbid_internal = false;  // this hop follows a cross-host redirect
  bool refused_internal = false;
  // Streaming (HttpRequest::body_sink): decided at the first body byte.
  CURL* handle = nullptr;
  const HttpRequest* request = nullptr;
  bool sink_decided = false;
  bool sinking = false;
  bool sink_stopped = false;
};

// Loopback, link-local (cloud metadata at 169.254.169.254, fe80::/10) and
// unspecified addresses: never the target of a cross-host redirect.
bool IsInternalAddress(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const uint32_t ip =
        ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr);
    return (ip >> 24) == 127 || (ip >> 16) == 0xA9FE || ip == 0;
  }
  if (address->sa_family == AF_INET6) {
    const in6_addr& ip =
        reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&ip)) {
      const uint32_t v4 = (uint32_t{ip.s6_addr[12]} << 24) |
                          (uint32_t{ip.s6_addr[13]} << 16) |
                          (uint32_t{ip.s6_addr[14]} << 8) | ip.s6_addr[15];
      return (v4 >> 24) == 127 || (v4 >> 16) == 0xA9FE || v4 == 0;
    }
    return IN6_IS_ADDR_LOOPBACK(&ip) || IN6_IS_ADDR_LINKLOCAL(&ip) ||
           IN6_IS_ADDR_UNSPECIFIED(&ip);
  }
  return true;  // not an IP socket: not something a registry redirects to
}

// libcurl's socket factory: where the check of a redirect target happens,
// after name resolution, for every address tried.
curl_socket_t OpenSocket(void* user, curlsocktype, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(user);
  if (t->forbid_internal && IsInternalAddress(&address->addr)) {
    t->refused_internal = true;
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC,
                address->protocol);
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  absl::string_view line(data, size * count);
  if (absl::StartsWith(line, "HTTP/")) {
    t->headers.clear();  // a new response (after 100 Continue, proxies)
    t->header_bytes = 0;
    return size * count;
  }
  t->header_bytes += line.size();
  if (t->headers.size() >= kMaxResponseHeaders ||
      t->header_bytes > kMaxResponseHeaderBytes) {
    t->too_many_headers = true;
    return 0;  // makes libcurl fail the transfer
  }
  const size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    t->headers.emplace_back(
        absl::AsciiStrToLower(line.substr(0, colon)),
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
    // A body announced within the bound is allocated once: growing by
    // doubling would hold up to twice its size.
    size_t length = 0;
    if (t->headers.back().first == "content-length" &&
        absl::SimpleAtoi(t->headers.back().second, &length) &&
        length <= t->max_body && t->body.empty() &&
        t->request->body_sink == nullptr) {
      t->body.reserve(length);
    }
  }
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (!t->sink_decided) {
    t->sink_decided = true;
    if (t->request->body_sink != nullptr) {
      long status = 0;  // NOLINT(google-runtime-int): libcurl's type
      curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
      t->sinking = status == 200 || status == 206;
      if (t->sinking && t->request->on_body_start != nullptr) {
        t->request->on_body_start(static_cast<int>(status), t->headers);
      }
    }
  }
  if (t->sinking) {
    if (!t->request->body_sink(absl::string_view(data, n))) {
      t->sink_stopped = true;
      return 0;
    }
    return n;
  }
  if (t->body.size() + n > t->max_body) {
    t->too_large = true;
    return 0;  // makes libcurl fail the transfer with CURLE_WRITE_ERROR
  }
  t->body.append(data, n);
  return n;
}

class CurlHttpClient : public HttpClient {
 public:
  explicit CurlHttpClient(ProxySettings proxy) : proxy_(std::move(proxy)) {
    share_ = curl_share_init();
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlHttpClient::Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlHttpClient::Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    // Connections stay in the pooled easy handles (libcurl documents that
    // sharing the connection cache across threads is unsafe); DNS answers
    // and TLS sessions are shared by all of them.
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }

  ~CurlHttpClient() override {
    {
      absl::MutexLock lock(&pool_mu_);
      for (CURL* h : idle_) curl_easy_cleanup(h);
      idle_.clear();
    }
    curl_share_cleanup(share_);
  }

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

 private:
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<CurlHttpClient*>(user)->share_mu_[data % kLocks].Lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<CurlHttpClient*>(user)->share_mu_[data % kLocks].Unlock();
  }

  CURL* Acquire() {
    {
      absl::MutexLock lock(&pool_mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  void Release(CURL* h) {
    absl::MutexLock lock(&pool_mu_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }

  std::string ProxyFor(const UrlParts& u) const {
    if (IsLoopbackHost(u.host) || NoProxyMatches(proxy_.no_proxy, u)) {
      return "";
    }
    return u.scheme == "https" ? proxy_.https_proxy : proxy_.http_proxy;
  }

  // One hop: no redirects followed here.
  absl::StatusOr<HttpResponse> Perform(CURL* h, const HttpRequest& request,
                                       const std::string& method,
                                       const UrlParts& url,
                                       const HeaderList& headers,
                                       absl::Duration remaining,
                                       bool forbid_internal);

  static constexpr int kLocks = CURL_LOCK_DATA_LAST;

  const ProxySettings proxy_;
  CURLSH* share_ = nullptr;
  absl::Mutex share_mu_[kLocks];

  absl::Mutex pool_mu_;
  std::vector<CURL*> idle_ ABSL_GUARDED_BY(pool_mu_);
};

absl::StatusOr<HttpResponse> CurlHttpClient::Perform(
    CURL* h, const HttpRequest& request, const std::string& method,
    const UrlParts& url, const HeaderList& headers, absl::Duration remaining,
    bool forbid_internal) {
  curl_easy_reset(h);
  Transfer transfer;
  transfer.max_body = request.max_body_bytes;
  transfer.forbid_internal = forbid_internal;
  transfer.handle = h;
  transfer.request = &request;
  char error[CURL_ERROR_SIZE] = {0};
  curl_slist* header_list = nullptr;
  for (const auto& [name, value] : headers) {
    header_list =
        curl_slist_append(header_list, absl::StrCat(name, ": ", value).c_str());
  }
  // No "Expect: 100-continue" round trip for token POSTs.
  header_list = curl_slist_append(header_list, "Expect:");

  const std::string proxy = ProxyFor(url);
  curl_easy_setopt(h, CURLOPT_URL, url.url.c_str());
  curl_easy_setopt(h, CURLOPT_SHARE, share_);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, kUserAgent);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, header_list);
  curl_easy_setopt(h, CURLOPT_PROXY, proxy.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(  // NOLINT(google-runtime-int)
                       absl::ToInt64Milliseconds(request.connect_timeout)));
  curl_easy_setopt(
      h, CURLOPT_TIMEOUT_MS,
      static_cast<long>(  // NOLINT(google-runtime-int)
          std::max<int64_t>(1, absl::ToInt64Milliseconds(remaining))));
  if (request.body_sink != nullptr) {
    // Larger reads than the 16 KB default (fewer pieces, fewer hand-offs),
    // below the 256 KB mmap threshold `serve` sets: each piece is a heap
    // allocation, not fresh pages.
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 192L << 10);
    // Less than one byte a second for stall_timeout: the upstream stalled.
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(
        h, CURLOPT_LOW_SPEED_TIME,
        static_cast<long>(  // NOLINT(google-runtime-int)
            std::max<int64_t>(1, absl::ToInt64Seconds(request.stall_timeout))));
  }
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, request.verify_tls ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, request.verify_tls ? 2L : 0L);
  if (!request.ca_file.empty()) {
    // The registry's CA in addition to the system's, as containerd does.
    curl_easy_setopt(h, CURLOPT_CAINFO, request.ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  if (method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    if (method != "POST") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
  } else if (method != "GET") {
    curl_slist_free_all(header_list);
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported HTTP method ", method));
  }

  const CURLcode code = curl_easy_perform(h);
  curl_slist_free_all(header_list);
  const std::string where = absl::StrCat(method, " ", Origin(url));
  if (code != CURLE_OK) {
    const std::string detail =
        error[0] != '\0' ? error : curl_easy_strerror(code);
    if (transfer.sink_stopped) {
      return absl::CancelledError(
          absl::StrCat(where, ": the receiver of the body stopped reading"));
    }
    if (transfer.too_large) {
      return absl::ResourceExhaustedError(
          absl::StrCat(where, ": response body is larger than ",
                       request.max_body_bytes, " bytes"));
    }
    if (transfer.too_many_headers) {
      ReportLimit("upstream_headers");
      return absl::ResourceExhaustedError(absl::StrCat(
          where, ": more than ", kMaxResponseHeaders, " response headers or ",
          kMaxResponseHeaderBytes, " bytes of them"));
    }
    if (transfer.refused_internal) {
      return absl::FailedPreconditionError(absl::StrCat(
          where,
          ": refusing a redirect to an internal address (loopback, "
          "link-local or metadata); set "
          "upstream.allow_internal_redirects to allow it"));
    }
    switch (code) {
      case CURLE_OPERATION_TIMEDOUT:
        return absl::DeadlineExceededError(
            absl::StrCat(where, ": timed out (", detail, ")"));
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_SSL_CERTPROBLEM:
        return absl::UnavailableError(
            absl::StrCat(where, ": TLS failed: ", detail));
      case CURLE_URL_MALFORMAT:
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": bad URL: ", detail));
      default:
        return absl::UnavailableError(absl::StrCat(where, ": ", detail));
    }
  }
  HttpResponse response;
  long status = 0;  // NOLINT(google-runtime-int): libcurl's type
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  response.headers = std::move(transfer.headers);
  response.body = std::move(transfer.body);
  response.body_streamed = transfer.sinking;
  response.url = url.url;
  return response;
}

absl::StatusOr<HttpResponse> CurlHttpClient::Send(const HttpRequest& request) {
  UrlParts url;
  if (!ParseUrl("", request.url, &url) ||
      (url.scheme != "http" && url.scheme != "https")) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad URL \"", request.url, "\""));
  }
  const std::string first_origin = Origin(url);
  const absl::Time deadline = absl::Now() + request.timeout;
  std::string method = request.method;
  HeaderList headers = request.headers;
  CURL* h = Acquire();
  if (h == nullptr) return absl::ResourceExhaustedError("curl_easy_init");
  bool cross_host = false;  // this hop follows a redirect to another host
  for (int hop = 0;; ++hop) {
    absl::StatusOr<HttpResponse> response =
        Perform(h, request, method, url, headers, deadline - absl::Now(),
                cross_host && !request.allow_internal_redirects);
    if (!response.ok()) {
      curl_easy_cleanup(h);  // its connection may be in a bad state
      return response.status();
    }
    const int status = response->status;
    const bool redirect = status == 301 || status == 302 || status == 303 ||
                          status == 307 || status == 308;
    std::optional<std::string> location = response->Header("location");
    const bool sends_body = method == "PUT" || method == "PATCH";
    if (!redirect || !location.has_value() || sends_body) {
      response->redirects = hop;
      Release(h);
      return response;
    }
    if (hop >= request.max_redirects) {
      Release(h);
      return absl::FailedPreconditionError(
          absl::StrCat(request.method, " ", first_origin, ": more than ",
                       request.max_redirects, " redirects"));
    }
    UrlParts next;
    if (!ParseUrl(url.url, *location, &next) ||
        (next.scheme != "http" && next.scheme != "https")) {
      Release(h);
      return absl::FailedPreconditionError(absl::StrCat(
          request.method, " ", first_origin, ": unusable redirect target"));
    }
    if (url.scheme == "https" && next.scheme == "http") {
      Release(h);
      return absl::FailedPreconditionError(
          absl::StrCat(request.method, " ", first_origin,
                       ": refusing redirect from https to ", Origin(next)));
    }
    // Another host: only over https, and (checked where libcurl connects)
    // never to an internal address, so a registry cannot make nodefit
    // fetch from the node's own services or the cloud's metadata.
    const UrlParts first = [&] {
      UrlParts parts;
      ParseUrl("", request.url, &parts);
      return parts;
    }();
    cross_host = next.host != first.host || next.port != first.port;
    if (cross_host && next.scheme != "https" &&
        !request.allow_internal_redirects) {
      Release(h);
      return absl::FailedPreconditionError(
          absl::StrCat(request.method, " ", first_origin,
                       ": refusing redirect to ", Origin(next),
                       ": another host over plain http; set "
                       "upstream.allow_internal_redirects to allow it"));
    }
    if (Origin(next) != first_origin) {
      headers.erase(std::remove_if(headers.begin(), headers.end(),
                                   [](const auto& header) {
                                     return absl::EqualsIgnoreCase(
                                         header.first, "authorization");
                                   }),
                    headers.end());
    }
    if (status == 303 && method == "POST") method = "GET";
    url = std::move(next);
  }
}

}  // namespace

std::optional<std::string> HttpResponse::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

ProxySettings ProxySettings::FromEnvironment() {
  ProxySettings p;
  p.http_proxy = GetEnv("HTTP_PROXY", "http_proxy");
  p.https_proxy = GetEnv("HTTPS_PROXY", "https_proxy");
  p.no_proxy = GetEnv("NO_PROXY", "no_proxy");
  return p;
}

absl::StatusOr<std::unique_ptr<HttpClient>> NewCurlHttpClient(
    const ProxySettings& proxy) {
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("curl_global_init: ", curl_easy_strerror(init)));
  }
  return std::make_unique<CurlHttpClient>(proxy);
}

std::string UrlOrigin(absl::string_view url) {
  UrlParts parts;
  return ParseUrl("", url, &parts) ? Origin(parts) : "";
}

std::string UrlHost(absl::string_view url) {
  UrlParts parts;
  if (!ParseUrl("", url, &parts)) return "";
  std::string host = parts.host;
  if (!host.empty() && host.front() == '[') host = host.substr(1);
  if (!host.empty() && host.back() == ']') host.pop_back();
  return host;
}

}  // namespace nodefit
