// A scripted HttpClient for unit tests of the registry client: a handler
// answers each request, and every request is recorded.
#ifndef NODEFIT_TESTS_RESOLVER_REGISTRY_FAKE_HTTP_CLIENT_H_
#define NODEFIT_TESTS_RESOLVER_REGISTRY_FAKE_HTTP_CLIENT_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "resolver/registry/http_client.h"

namespace nodefit::testing {

class FakeHttpClient : public HttpClient {
 public:
  using Handler =
      std::function<absl::StatusOr<HttpResponse>(const HttpRequest& request)>;

  explicit FakeHttpClient(Handler handler) : handler_(std::move(handler)) {}

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(request);
    }
    return handler_(request);
  }

  std::vector<HttpRequest> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    requests_.clear();
  }

 private:
  const Handler handler_;
  absl::Mutex mu_;
  std::vector<HttpRequest> requests_ ABSL_GUARDED_BY(mu_);
};

// The value of a request header, or "".
inline std::string RequestHeader(const HttpRequest& request,
                                 const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(),
                   [](char a, char b) { return tolower(a) == tolower(b); })) {
      return value;
    }
  }
  return "";
}

}  // namespace nodefit::testing

#endif  // NODEFIT_TESTS_RESOLVER_REGISTRY_FAKE_HTTP_CLIENT_H_
