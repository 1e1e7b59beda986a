// In-memory peers for the fuzzers that reach a parser through the registry
// client or a face: a registry where every repository on every host serves
// the same index under every tag, and its token server. No sockets, no
// recording of requests (a fuzzer sends millions).
#ifndef NODEFIT_FUZZ_FAKE_UPSTREAM_H_
#define NODEFIT_FUZZ_FAKE_UPSTREAM_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "plugin/daemon/engine.h"
#include "plugin/daemon/metrics.h"
#include "resolver/registry/http_client.h"

namespace nodefit::fuzz {

// The registry credentials the engines are configured with: a secret that
// must never come back in an answer or an error.
inline constexpr char kRegistryUser[] = "fuzz-user";
inline constexpr char kRegistryPassword[] = "fuzz-secret-c0ffee";

// Whether `output` (an answer, an error message) holds the configured
// password although `input` did not bring it. Case is ignored both ways:
// hosts and schemes an error quotes from the input come back lower-cased.
bool LeaksPassword(absl::string_view input, absl::string_view output);

class FakeUpstream {
 public:
  // `bearer`: the registry answers a request without "Authorization:
  // Bearer ..." with 401 and `challenge`.
  explicit FakeUpstream(bool bearer);

  // Requests with a query, or POSTs, go to the token server; the rest to
  // the registry (GET/HEAD /v2/<repo>/manifests/<tag or digest>).
  absl::StatusOr<HttpResponse> Handle(const HttpRequest& request) const;

  // An HttpClient answering with Handle(); `this` must outlive it.
  std::shared_ptr<HttpClient> Client() const;

  const std::string& index_digest() const { return index_digest_; }
  // True for the digest of a manifest the index names.
  bool IsManifest(const std::string& digest) const {
    return docs_.count(digest) > 0 && digest != index_digest_;
  }

  // Set per input by the fuzzers that fuzz them.
  std::string challenge =
      "Bearer realm=\"https://auth.reg.example/token\","
      "service=\"reg.example\"";
  std::string token_body = R"({"token":"fuzz-token","expires_in":300})";
  // Told about every request before it is answered (may be empty).
  std::function<void(const HttpRequest&)> observe;

 private:
  const bool bearer_;
  std::string index_digest_;
  std::map<std::string, std::pair<std::string, std::string>> docs_;
};

// An engine for node linux/amd64:skylake, registry reg.example configured
// with kRegistryUser/kRegistryPassword, over `http`; `adjust` (may be
// empty) changes the config first.
std::shared_ptr<const Engine> NewEngine(
    std::shared_ptr<HttpClient> http, Metrics* metrics,
    const std::function<void(Config&)>& adjust = nullptr);

}  // namespace nodefit::fuzz

#endif  // NODEFIT_FUZZ_FAKE_UPSTREAM_H_
