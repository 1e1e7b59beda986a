// A Docker token server for tests: GET /token?service=…&scope=… answers
// {"token": <JWT>, "expires_in": N} with an RS256 JWT whose x5c header
// carries the signing certificate, which docker-registry (auth: token,
// rootcertbundle = that certificate) verifies. It grants exactly the
// requested scopes (one per scope parameter: pull, or pull,push), requires
// Basic credentials when configured, and counts the requests it gets.
#ifndef NODEFIT_INTEGRATION_TESTBED_TOKEN_SERVER_H_
#define NODEFIT_INTEGRATION_TESTBED_TOKEN_SERVER_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/http_test_server.h"

namespace nodefit::testbed {

struct TokenServerOptions {
  std::string issuer = "nodefit-test-issuer";
  std::string service = "nodefit-test";
  std::string key_pem;   // path of the RSA private key
  std::string cert_pem;  // path of its certificate
  std::string username;  // when set, Basic credentials are required
  std::string password;
  int expires_in = 300;
};

class TokenServer {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TokenServer>> Start(
      const TokenServerOptions& options);
  ~TokenServer();

  std::string realm() const { return server_.Url("/token"); }
  const TokenServerOptions& options() const { return options_; }
  int requests() const { return requests_.load(); }
  int refused() const { return refused_.load(); }

 private:
  explicit TokenServer(TokenServerOptions options)
      : options_(std::move(options)) {}
  absl::StatusOr<std::string> Sign(
      const std::string& subject, const std::vector<std::string>& scopes) const;

  TokenServerOptions options_;
  std::string key_pem_text_;
  std::string cert_der_base64_;
  nodefit::testing::HttpTestServer server_;
  std::atomic<int> requests_{0};
  std::atomic<int> refused_{0};
};

// A token server signing with a key and certificate made in `dir`
// (MakeSigningFiles), requiring `username`/`password` unless empty.
[[nodiscard]] absl::StatusOr<std::unique_ptr<TokenServer>>
StartSignedTokenServer(const std::string& dir, const std::string& username,
                       const std::string& password);

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_TOKEN_SERVER_H_
