// `nodefit serve` as a real process for tests: started with a config
// written here, ready when /readyz answers 200, stopped with SIGTERM.
#ifndef NODEFIT_INTEGRATION_TESTBED_NODEFIT_PROCESS_H_
#define NODEFIT_INTEGRATION_TESTBED_NODEFIT_PROCESS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "integration/testbed/subprocess.h"
#include "nlohmann/json.hpp"

namespace nodefit::testbed {

class NodefitProcess {
 public:
  // `config` gets "http": {"listen": "127.0.0.1:<free port>"} and a CRI
  // socket `dir`/`name`.sock unless it has them. The config file and log
  // live in `dir` under `name`; keep `dir` short (socket path limit).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<NodefitProcess>> Start(
      const std::string& binary, const std::string& dir,
      const std::string& name, nlohmann::json config,
      const std::vector<std::string>& env = {});

  int port() const { return port_; }
  std::string address() const;  // "http://127.0.0.1:PORT"
  const std::string& config_path() const { return config_path_; }
  std::string log() const { return ReadFileOrEmpty(process_->log_path()); }
  // GET http://127.0.0.1:PORT<path>; the body, or an error.
  [[nodiscard]] absl::StatusOr<std::string> Get(const std::string& path) const;
  Subprocess& process() { return *process_; }
  int Stop() { return process_->Stop(); }

 private:
  NodefitProcess(int port, std::string config_path,
                 std::unique_ptr<Subprocess> process)
      : port_(port),
        config_path_(std::move(config_path)),
        process_(std::move(process)) {}
  int port_;
  std::string config_path_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_NODEFIT_PROCESS_H_
