// The real containerd (Debian's 1.6.20), started by a test: root, state and
// socket in a short temp directory (unix sockets are limited to 108 bytes),
// the native snapshotter, the CRI plugin with config_path pointing at a
// hosts.toml tree. `ctr` talks to it.
#ifndef NODEFIT_INTEGRATION_TESTBED_CONTAINERD_H_
#define NODEFIT_INTEGRATION_TESTBED_CONTAINERD_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "integration/testbed/subprocess.h"

namespace nodefit::testbed {

// A fresh directory under /tmp with a short name ("/tmp/nf-XXXXXX").
std::string ShortTempDir();

struct ContainerdOptions {
  std::string dir;        // root, state, socket and log go here
  std::string certs_dir;  // the CRI plugin's registry config_path
};

class ContainerdServer {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ContainerdServer>> Start(
      const ContainerdOptions& options);

  std::string socket() const { return dir_ + "/c.sock"; }
  std::string address() const { return "unix://" + socket(); }
  std::string log() const { return ReadFileOrEmpty(process_->log_path()); }

  // Runs `ctr --address <socket> -n <ns> <args...>`.
  [[nodiscard]] absl::StatusOr<std::string> Ctr(
      const std::string& ns, const std::vector<std::string>& args,
      absl::Duration timeout = absl::Seconds(120)) const;
  // Pulls `ref` with ctr through `hosts_dir` (native snapshotter, unpacked).
  [[nodiscard]] absl::StatusOr<std::string> Pull(
      const std::string& ns, const std::string& ref,
      const std::string& hosts_dir) const;
  // The digest the image record `ref` points at.
  [[nodiscard]] absl::StatusOr<std::string> ImageTarget(
      const std::string& ns, const std::string& ref) const;
  // A file of the image's unpacked root filesystem, read through
  // `ctr images mount`.
  [[nodiscard]] absl::StatusOr<std::string> ReadImageFile(
      const std::string& ns, const std::string& ref,
      const std::string& path) const;

  // Runs `args` in a container of image `ref` (ctr run --rm, the native
  // snapshotter, runc through containerd's shim); its combined output.
  [[nodiscard]] absl::StatusOr<std::string> Run(
      const std::string& ns, const std::string& ref, const std::string& id,
      const std::vector<std::string>& args) const;

  void Stop() { process_->Stop(); }

 private:
  ContainerdServer(std::string dir, std::unique_ptr<Subprocess> process)
      : dir_(std::move(dir)), process_(std::move(process)) {}
  std::string dir_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_CONTAINERD_H_
