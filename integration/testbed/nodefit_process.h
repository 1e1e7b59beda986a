// `nodefit serve` as a real process for tests: started with a config
// written here, ready when /readyz answers 200, stopped with SIGTERM. As
// in production, its resolver face serves mutual TLS with a PKI made for it
// (`nodefit pki init`) unless the config asks for http.insecure_plain_http.
#ifndef NODEFIT_INTEGRATION_TESTBED_NODEFIT_PROCESS_H_
#define NODEFIT_INTEGRATION_TESTBED_NODEFIT_PROCESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "httplib.h"
#include "integration/testbed/subprocess.h"
#include "nlohmann/json.hpp"

namespace nodefit::testbed {

class NodefitProcess {
 public:
  // `config` gets http.listen and http.health_listen on free loopback
  // ports, http.pki_dir `dir`/`name`-pki (made with `nodefit pki init`) and
  // a CRI socket `dir`/`name`.sock unless it has them. The config file and
  // log live in `dir` under `name`; keep `dir` short (socket path limit).
  // The config file gets `config_mode` (0600, as install.sh writes it).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<NodefitProcess>> Start(
      const std::string& binary, const std::string& dir,
      const std::string& name, nlohmann::json config,
      const std::vector<std::string>& env = {}, int config_mode = 0600);

  int port() const { return port_; }
  int health_port() const { return health_port_; }
  std::string address() const;  // "https://127.0.0.1:PORT" (http if plain)
  const std::string& pki_dir() const { return pki_dir_; }
  // `nodefit hosts install --certs-dir DIR` pointing at this nodefit, with
  // its address and PKI.
  std::vector<std::string> HostsInstall(const std::string& certs_dir) const;
  const std::string& config_path() const { return config_path_; }
  std::string log() const { return ReadFileOrEmpty(process_->log_path()); }
  // GET <path> from the health listener (/readyz, /metrics); the body, or
  // an error.
  [[nodiscard]] absl::StatusOr<std::string> Get(const std::string& path) const;
  // A client of the resolver face that presents the client certificate
  // containerd presents (plain http when the config asked for it).
  std::unique_ptr<httplib::Client> FaceClient() const;
  Subprocess& process() { return *process_; }
  int Stop() { return process_->Stop(); }

 private:
  NodefitProcess(std::string binary, int port, int health_port, bool tls,
                 std::string pki_dir, std::string config_path,
                 std::unique_ptr<Subprocess> process)
      : binary_(std::move(binary)),
        port_(port),
        health_port_(health_port),
        tls_(tls),
        pki_dir_(std::move(pki_dir)),
        config_path_(std::move(config_path)),
        process_(std::move(process)) {}
  std::string binary_;
  int port_;
  int health_port_;
  bool tls_;
  std::string pki_dir_;
  std::string config_path_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_NODEFIT_PROCESS_H_
