// The real Docker Engine daemon (dockerd, built from moby's v2 module by
// scripts/install-peers), started by a test against a containerd the test
// started, with its data root, exec root and API socket in a short temp
// directory and no networking of its own (--bridge none, no iptables).
// Either image store: containerd's (the default since Engine 29), or the
// classic graph-driver store (vfs). The Engine API is spoken directly over
// the unix socket, as the docker CLI does (`docker pull` is
// POST /images/create).
//
// dockerd reads hosts.toml from the fixed /etc/docker/certs.d (moby:
// daemon/pkg/registry/config.go, CertsDir), so tests that need it write
// there; DockerCertsDir below creates it when absent and takes it away again.
// dockerd also makes the fixed /run/docker/plugins (moby:
// daemon/daemon_linux.go, getPluginExecRoot); the server removes it when it
// made it.
#ifndef NODEFIT_INTEGRATION_TESTBED_DOCKER_H_
#define NODEFIT_INTEGRATION_TESTBED_DOCKER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "integration/testbed/subprocess.h"
#include "nlohmann/json.hpp"

namespace nodefit::testbed {

// Which dockerd: $NODEFIT_DOCKERD (the binary) and
// $NODEFIT_DOCKERD_VERSION, which CTest sets from integration/peers/versions.
struct DockerdPeer {
  std::string binary;
  std::string version;  // "2.0.0-beta.24"

  // An error (never a skip) when the variables are unset, the binary is
  // missing (run scripts/install-peers) or reports another version.
  [[nodiscard]] static absl::StatusOr<DockerdPeer> FromEnvironment();
  std::string Name() const { return "dockerd " + version; }
};

enum class DockerImageStore {
  // containerd's image store and snapshotters (overlayfs): Docker's default,
  // so daemon.json says nothing about it.
  kContainerd,
  kClassic,  // features.containerd-snapshotter false, storage-driver vfs
};

struct DockerOptions {
  std::string containerd_socket;  // required: a containerd the test started
  DockerImageStore store = DockerImageStore::kContainerd;
  // daemon.json "registry-mirrors" (Docker Hub only) and
  // "insecure-registries".
  std::vector<std::string> registry_mirrors;
  std::vector<std::string> insecure_registries;
  // dockerd's namespace in containerd (and "<ns>-plugins" for plugins), so
  // two daemons can share one containerd.
  std::string containerd_namespace = "moby";
  // Unset: DockerdPeer::FromEnvironment().
  std::string dockerd;
};

// One Engine API answer.
struct EngineResponse {
  long status = 0;  // NOLINT(runtime/int): libcurl's type
  std::string body;
};

class DockerServer {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DockerServer>> Start(
      const DockerOptions& options);
  // Stops dockerd and deletes its directory.
  ~DockerServer();
  DockerServer(const DockerServer&) = delete;
  DockerServer& operator=(const DockerServer&) = delete;

  const std::string& dir() const { return dir_; }
  std::string socket() const { return dir_ + "/d.sock"; }
  // The daemon.json it was started with (--config-file).
  std::string config_path() const { return dir_ + "/daemon.json"; }
  std::string log() const { return ReadFileOrEmpty(process_->log_path()); }
  // GET /version and GET /info, as JSON.
  [[nodiscard]] absl::StatusOr<nlohmann::json> Version() const;
  [[nodiscard]] absl::StatusOr<nlohmann::json> Info() const;

  // Any Engine API request (`path` from "/", e.g. "/images/json").
  [[nodiscard]] absl::StatusOr<EngineResponse> Request(
      const std::string& method, const std::string& path,
      const std::string& json_body = "",
      absl::Duration timeout = absl::Seconds(60)) const;

  // `docker pull IMAGE` (name:tag): POST /images/create. An error carries
  // the daemon's message (an HTTP error, or an "error" in the progress
  // stream, which arrives with status 200); on success the stream.
  [[nodiscard]] absl::StatusOr<std::string> Pull(
      const std::string& image) const;
  // GET /images/IMAGE/json.
  [[nodiscard]] absl::StatusOr<nlohmann::json> InspectImage(
      const std::string& image) const;
  // The digest the image record points at (the containerd store's
  // "Descriptor" of the inspect answer: an index, or one build's manifest).
  // An error on the classic store, which has no such record.
  [[nodiscard]] absl::StatusOr<std::string> ImageTarget(
      const std::string& image) const;
  // A file of the image's filesystem: a container is created from it (not
  // started), the file read with GET /containers/ID/archive, the container
  // removed.
  [[nodiscard]] absl::StatusOr<std::string> ReadImageFile(
      const std::string& image, const std::string& path) const;
  // `docker rmi -f IMAGE`.
  [[nodiscard]] absl::Status RemoveImage(const std::string& image) const;

  void Stop();

 private:
  DockerServer(std::string dir, std::unique_ptr<Subprocess> process,
               bool made_run_docker)
      : dir_(std::move(dir)),
        process_(std::move(process)),
        made_run_docker_(made_run_docker) {}
  std::string dir_;
  std::unique_ptr<Subprocess> process_;
  bool made_run_docker_;
};

// /etc/docker/certs.d for one test: created (with /etc/docker) when absent,
// and on destruction everything under it that was not there before is
// deleted, then the directories it created. Files that were there are
// left alone (a test must not touch them).
class DockerCertsDir {
 public:
  static constexpr const char* kPath = "/etc/docker/certs.d";
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DockerCertsDir>> Create();
  ~DockerCertsDir();
  DockerCertsDir(const DockerCertsDir&) = delete;
  DockerCertsDir& operator=(const DockerCertsDir&) = delete;

  std::string path() const { return kPath; }
  // Every path under it, relative, with "/" after directories.
  std::vector<std::string> Listing() const;

 private:
  DockerCertsDir(bool made_etc_docker, bool made_certs_dir,
                 std::vector<std::string> before)
      : made_etc_docker_(made_etc_docker),
        made_certs_dir_(made_certs_dir),
        before_(std::move(before)) {}
  bool made_etc_docker_;
  bool made_certs_dir_;
  std::vector<std::string> before_;
};

// The content of the regular file `name` (its last path component) in a
// tar archive, or NotFound.
[[nodiscard]] absl::StatusOr<std::string> FileFromTar(const std::string& tar,
                                                      const std::string& name);

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_DOCKER_H_
