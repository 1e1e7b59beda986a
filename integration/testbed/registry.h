// The real docker-registry (Debian's 2.8.2), started by a test on a free
// loopback port with a generated config, optionally with TLS, htpasswd or
// token auth. Several servers may share one storage directory: push through
// a plain one, read through the others.
#ifndef NODEFIT_INTEGRATION_TESTBED_REGISTRY_H_
#define NODEFIT_INTEGRATION_TESTBED_REGISTRY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "integration/testbed/subprocess.h"
#include "integration/testbed/token_server.h"

namespace nodefit::testbed {

struct RegistryOptions {
  std::string storage_dir;  // required; created if missing
  std::string work_dir;     // config and log go here; required
  std::string name = "registry";
  // TLS: PEM certificate and key.
  std::string tls_cert, tls_key;
  // htpasswd (bcrypt) file.
  std::string htpasswd;
  // Token auth.
  std::string token_realm, token_service, token_issuer, token_rootcert;
  // 0: a free port.
  int port = 0;
  // Run as this user (runuser -u) instead of root: the files above must be
  // readable, and storage_dir writable, by that user.
  std::string run_as;
};

class RegistryServer {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<RegistryServer>> Start(
      const RegistryOptions& options);

  int port() const { return port_; }
  std::string host_port() const;  // "127.0.0.1:PORT"
  std::string url() const;        // "http(s)://127.0.0.1:PORT"
  std::string log() const { return ReadFileOrEmpty(process_->log_path()); }
  // Writes `certs_dir`/HOST:PORT/hosts.toml naming this registry as the
  // server: containerd's own configuration, as a node has it before
  // nodefit. Returns the directory it wrote into.
  std::string WriteHostsToml(const std::string& certs_dir) const;
  // Count of "response completed" log lines for `method` and a URI
  // containing `uri_part` (answered with `status`, unless 0): what the
  // registry itself saw.
  int CountRequests(const std::string& method, const std::string& uri_part,
                    int status = 0) const;
  void Stop() { process_->Stop(); }

 private:
  RegistryServer(int port, bool tls, std::unique_ptr<Subprocess> process)
      : port_(port), tls_(tls), process_(std::move(process)) {}
  int port_;
  bool tls_;
  std::unique_ptr<Subprocess> process_;
};

// A registry over `options` behind htpasswd Basic auth with one user (the
// htpasswd file is made in options.work_dir).
[[nodiscard]] absl::StatusOr<std::unique_ptr<RegistryServer>>
StartBasicAuthRegistry(RegistryOptions options, const std::string& user,
                       const std::string& password);

// A registry over `options` that takes the bearer tokens `tokens` signs
// (its realm, service, issuer and signing certificate).
[[nodiscard]] absl::StatusOr<std::unique_ptr<RegistryServer>>
StartTokenAuthRegistry(RegistryOptions options, const TokenServer& tokens);

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_REGISTRY_H_
