#include "integration/testbed/registry.h"

#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "httplib.h"
#include "integration/testbed/pki.h"

namespace nodefit::testbed {

absl::StatusOr<std::unique_ptr<RegistryServer>> RegistryServer::Start(
    const RegistryOptions& options) {
  std::error_code error;
  std::filesystem::create_directories(options.storage_dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat(
        "cannot create ", options.storage_dir, ": ", error.message()));
  }
  const int port = options.port != 0 ? options.port : FreePort();
  const std::string config_path =
      absl::StrCat(options.work_dir, "/", options.name, ".yml");
  {
    std::ofstream config(config_path);
    config << "version: 0.1\n"
           << "log:\n  level: info\n  accesslog:\n    disabled: true\n"
           << "storage:\n  filesystem:\n    rootdirectory: "
           << options.storage_dir << "\n"
           << "  delete:\n    enabled: true\n"
           << "  cache:\n    blobdescriptor: inmemory\n"
           << "http:\n  addr: 127.0.0.1:" << port << "\n"
           << "  secret: nodefit-test-secret\n";
    if (!options.tls_cert.empty()) {
      config << "  tls:\n    certificate: " << options.tls_cert
             << "\n    key: " << options.tls_key << "\n";
    }
    if (!options.htpasswd.empty()) {
      config << "auth:\n  htpasswd:\n    realm: nodefit-test\n    path: "
             << options.htpasswd << "\n";
    } else if (!options.token_realm.empty()) {
      config << "auth:\n  token:\n    realm: " << options.token_realm
             << "\n    service: " << options.token_service
             << "\n    issuer: " << options.token_issuer
             << "\n    rootcertbundle: " << options.token_rootcert << "\n";
    }
  }
  std::vector<std::string> argv = {"docker-registry", "serve", config_path};
  if (!options.run_as.empty()) {
    argv.insert(argv.begin(), {"runuser", "-u", options.run_as, "--"});
  }
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(
      argv, absl::StrCat(options.work_dir, "/", options.name, ".log"));
  if (!process.ok()) return process.status();
  const bool tls = !options.tls_cert.empty();
  std::unique_ptr<RegistryServer> server(
      new RegistryServer(port, tls, *std::move(process)));
  // Ready when the port accepts connections (any HTTP answer will do).
  absl::Status ready = WaitFor(
      [&] {
        if (!server->process_->Running()) return true;  // reported below
        httplib::Client probe("127.0.0.1", port);
        probe.set_connection_timeout(0, 200'000);
        return !tls ? static_cast<bool>(probe.Get("/v2/"))
                    : httplib::Client(absl::StrCat("https://127.0.0.1:", port))
                              .Get("/v2/")
                              .error() != httplib::Error::Connection;
      },
      absl::Seconds(20), absl::StrCat("docker-registry ", options.name));
  if (!ready.ok() || !server->process_->Running()) {
    return absl::Status(
        ready.ok() ? absl::StatusCode::kUnavailable : ready.code(),
        absl::StrCat(ready.ok() ? "docker-registry exited" : ready.message(),
                     "; log:\n", server->log()));
  }
  return server;
}

std::string RegistryServer::host_port() const {
  return absl::StrCat("127.0.0.1:", port_);
}

std::string RegistryServer::url() const {
  return absl::StrCat(tls_ ? "https://" : "http://", host_port());
}

int RegistryServer::CountRequests(const std::string& method,
                                  const std::string& uri_part,
                                  int status) const {
  int count = 0;
  for (absl::string_view line : absl::StrSplit(log(), '\n')) {
    if (absl::StrContains(line, "msg=\"response completed\"") &&
        absl::StrContains(line,
                          absl::StrCat("http.request.method=", method, " ")) &&
        absl::StrContains(line, uri_part) &&
        (status == 0 ||
         absl::StrContains(
             line, absl::StrCat("http.response.status=", status, " ")))) {
      ++count;
    }
  }
  return count;
}

std::string RegistryServer::WriteHostsToml(const std::string& certs_dir) const {
  const std::string dir = absl::StrCat(certs_dir, "/", host_port());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/hosts.toml") << "server = \"" << url() << "\"\n";
  return dir;
}

absl::StatusOr<std::unique_ptr<RegistryServer>> StartBasicAuthRegistry(
    RegistryOptions options, const std::string& user,
    const std::string& password) {
  // One file per registry: several may share a work directory.
  const std::string dir =
      absl::StrCat(options.work_dir, "/", options.name, "-htpasswd");
  std::filesystem::create_directories(dir);
  absl::StatusOr<std::string> htpasswd = MakeHtpasswd(dir, user, password);
  if (!htpasswd.ok()) return htpasswd.status();
  options.htpasswd = *htpasswd;
  return RegistryServer::Start(options);
}

absl::StatusOr<std::unique_ptr<RegistryServer>> StartTokenAuthRegistry(
    RegistryOptions options, const TokenServer& tokens) {
  options.token_realm = tokens.realm();
  options.token_service = tokens.options().service;
  options.token_issuer = tokens.options().issuer;
  options.token_rootcert = tokens.options().cert_pem;
  return RegistryServer::Start(options);
}

}  // namespace nodefit::testbed
