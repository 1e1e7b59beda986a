// Test credentials made with the real tools: a CA and a server certificate
// for 127.0.0.1 (openssl CLI), a signing key and certificate for tokens, and
// a bcrypt htpasswd file (apache2-utils).
#ifndef NODEFIT_INTEGRATION_TESTBED_PKI_H_
#define NODEFIT_INTEGRATION_TESTBED_PKI_H_

#include <string>

#include "absl/status/statusor.h"

namespace nodefit::testbed {

struct TlsFiles {
  std::string ca_cert;      // PEM
  std::string server_cert;  // PEM, signed by ca_cert, SAN IP:127.0.0.1
  std::string server_key;   // PEM
};

[[nodiscard]] absl::StatusOr<TlsFiles> MakeTlsFiles(const std::string& dir);

struct SigningFiles {
  std::string key;   // RSA private key, PEM
  std::string cert;  // self-signed certificate of that key, PEM
};

[[nodiscard]] absl::StatusOr<SigningFiles> MakeSigningFiles(
    const std::string& dir);

// Writes `dir`/htpasswd with one bcrypt entry.
[[nodiscard]] absl::StatusOr<std::string> MakeHtpasswd(
    const std::string& dir, const std::string& user,
    const std::string& password);

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_PKI_H_
