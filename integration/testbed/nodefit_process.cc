#include "integration/testbed/nodefit_process.h"

#include <sys/stat.h>

#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace nodefit::testbed {
namespace {

int PortOf(const std::string& listen) {
  int port = 0;
  if (!absl::SimpleAtoi(listen.substr(listen.rfind(':') + 1), &port)) return 0;
  return port;
}

}  // namespace

absl::StatusOr<std::unique_ptr<NodefitProcess>> NodefitProcess::Start(
    const std::string& binary, const std::string& dir, const std::string& name,
    nlohmann::json config, const std::vector<std::string>& env,
    int config_mode) {
  nlohmann::json& http = config["http"];
  if (!http.contains("listen")) {
    http["listen"] = absl::StrCat("127.0.0.1:", FreePort());
  }
  if (!http.contains("health_listen")) {
    http["health_listen"] = absl::StrCat("127.0.0.1:", FreePort());
  }
  const bool tls = !http.value("insecure_plain_http", false);
  if (tls && !http.contains("pki_dir")) {
    http["pki_dir"] = absl::StrCat(dir, "/", name, "-pki");
  }
  if (!config.contains("cri")) {
    // Each instance its own socket; containerd's only if the test says so.
    config["cri"] = {
        {"listen", absl::StrCat("unix://", dir, "/", name, ".sock")},
        {"containerd", absl::StrCat("unix://", dir, "/no-containerd.sock")}};
  }
  const std::string pki = tls ? http["pki_dir"].get<std::string>() : "";
  if (tls) {
    absl::StatusOr<std::string> made =
        RunCommand({binary, "pki", "init", "--dir", pki});
    if (!made.ok()) return made.status();
  }
  const int port = PortOf(http["listen"].get<std::string>());
  const int health_port = PortOf(http["health_listen"].get<std::string>());
  if (port == 0 || health_port == 0) {
    return absl::InvalidArgumentError("bad http.listen or health_listen");
  }
  const std::string config_path = absl::StrCat(dir, "/", name, ".json");
  std::ofstream(config_path) << config.dump(2);
  if (chmod(config_path.c_str(), static_cast<mode_t>(config_mode)) != 0) {
    return absl::InternalError(absl::StrCat("chmod ", config_path));
  }
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(
      {binary, "serve", "--config", config_path, "--log-format", "json"},
      absl::StrCat(dir, "/", name, ".log"), env);
  if (!process.ok()) return process.status();
  std::unique_ptr<NodefitProcess> p(new NodefitProcess(
      binary, port, health_port, tls, pki, config_path, *std::move(process)));
  absl::Status ready = WaitFor(
      [&] {
        if (!p->process_->Running()) return true;  // reported below
        absl::StatusOr<std::string> r = p->Get("/readyz");
        return r.ok();
      },
      absl::Seconds(20), "nodefit " + name);
  if (!ready.ok() || !p->process_->Running()) {
    return absl::UnavailableError(absl::StrCat(
        "nodefit ", name, " did not become ready; log:\n", p->log()));
  }
  return p;
}

std::string NodefitProcess::address() const {
  return absl::StrCat(tls_ ? "https" : "http", "://127.0.0.1:", port_);
}

std::vector<std::string> NodefitProcess::HostsInstall(
    const std::string& certs_dir) const {
  std::vector<std::string> argv = {binary_,       "hosts",   "install",
                                   "--certs-dir", certs_dir, "--address",
                                   address()};
  if (tls_) {
    argv.push_back("--pki-dir");
    argv.push_back(pki_dir_);
  }
  return argv;
}

std::unique_ptr<httplib::Client> NodefitProcess::FaceClient() const {
  if (!tls_) return std::make_unique<httplib::Client>("127.0.0.1", port_);
  auto client = std::make_unique<httplib::Client>(
      address(), pki_dir_ + "/client.pem", pki_dir_ + "/client-key.pem");
  client->set_ca_cert_path(pki_dir_ + "/ca.pem");
  return client;
}

absl::StatusOr<std::string> NodefitProcess::Get(const std::string& path) const {
  httplib::Client client("127.0.0.1", health_port_);
  client.set_connection_timeout(0, 300'000);
  auto res = client.Get(path);
  if (!res) return absl::UnavailableError("no answer");
  if (res->status != 200) {
    return absl::UnavailableError(absl::StrCat("status ", res->status));
  }
  return res->body;
}

}  // namespace nodefit::testbed
