#include "integration/testbed/nodefit_process.h"

#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace nodefit::testbed {

absl::StatusOr<std::unique_ptr<NodefitProcess>> NodefitProcess::Start(
    const std::string& binary, const std::string& dir, const std::string& name,
    nlohmann::json config, const std::vector<std::string>& env) {
  if (!config.contains("http")) {
    config["http"] = {{"listen", absl::StrCat("127.0.0.1:", FreePort())}};
  }
  if (!config.contains("cri")) {
    // Each instance its own socket; containerd's only if the test says so.
    config["cri"] = {
        {"listen", absl::StrCat("unix://", dir, "/", name, ".sock")},
        {"containerd", absl::StrCat("unix://", dir, "/no-containerd.sock")}};
  }
  const std::string listen = config["http"]["listen"].get<std::string>();
  int port = 0;
  if (!absl::SimpleAtoi(listen.substr(listen.rfind(':') + 1), &port)) {
    return absl::InvalidArgumentError("bad http.listen");
  }
  const std::string config_path = absl::StrCat(dir, "/", name, ".json");
  std::ofstream(config_path) << config.dump(2);
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(
      {binary, "serve", "--config", config_path, "--log-format", "json"},
      absl::StrCat(dir, "/", name, ".log"), env);
  if (!process.ok()) return process.status();
  std::unique_ptr<NodefitProcess> p(
      new NodefitProcess(port, config_path, *std::move(process)));
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
  return absl::StrCat("http://127.0.0.1:", port_);
}

absl::StatusOr<std::string> NodefitProcess::Get(const std::string& path) const {
  httplib::Client client("127.0.0.1", port_);
  client.set_connection_timeout(0, 300'000);
  auto res = client.Get(path);
  if (!res) return absl::UnavailableError("no answer");
  if (res->status != 200) {
    return absl::UnavailableError(absl::StrCat("status ", res->status));
  }
  return res->body;
}

}  // namespace nodefit::testbed
