// The real containerd, started by a test: Debian's 1.6.20 or one of the
// versions scripts/install-peers builds (the matrix of
// integration/peers/versions), root, state and socket in a short temp
// directory (unix sockets are limited to 108 bytes), the native snapshotter,
// the CRI plugin with config_path pointing at a hosts.toml tree. That
// version's `ctr` talks to it.
#ifndef NODEFIT_INTEGRATION_TESTBED_CONTAINERD_H_
#define NODEFIT_INTEGRATION_TESTBED_CONTAINERD_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "integration/testbed/subprocess.h"

namespace nodefit::testbed {

// A fresh directory under /tmp with a short name ("/tmp/nf-XXXXXX").
std::string ShortTempDir();

// Which containerd: its version and the directory holding its `containerd`
// and `ctr` ("" for the ones on PATH, Debian's).
struct ContainerdPeer {
  std::string version;  // "1.6.20", "2.4.2"
  std::string bin_dir;
  int major = 0, minor = 0;

  // The peer a matrix test runs against: $NODEFIT_CONTAINERD_VERSION and
  // $NODEFIT_CONTAINERD_BIN (CTest sets them per version); without them,
  // the containerd on PATH, its version asked with `containerd --version`.
  // An error when the named binaries are missing (run
  // scripts/install-peers) or do not answer.
  [[nodiscard]] static absl::StatusOr<ContainerdPeer> FromEnvironment();

  std::string containerd() const;  // the binary
  std::string ctr() const;
  bool AtLeast(int major_at_least, int minor_at_least) const;
  // 2.0 and later read config version 3 (plugin IDs io.containerd.cri.v1.*).
  bool ConfigV3() const { return major >= 2; }
  // CRI pulls through the transfer service from 2.1, ctr from 2.0.
  bool CriPullsThroughTransferService() const { return AtLeast(2, 1); }
  bool CtrPullsThroughTransferService() const { return major >= 2; }
  std::string Name() const { return "containerd " + version; }
};

struct ContainerdOptions {
  ContainerdOptions(std::string dir_in, std::string certs_dir_in)
      : dir(std::move(dir_in)), certs_dir(std::move(certs_dir_in)) {}

  std::string dir;        // root, state, socket and log go here
  std::string certs_dir;  // the CRI plugin's registry config_path; may be a
                          // colon-separated list, as containerd allows
  // Which containerd; unset: ContainerdPeer::FromEnvironment().
  std::optional<ContainerdPeer> peer;
  // Config lines appended verbatim (TOML), e.g. to force the local pull.
  std::string extra_config;
};

class ContainerdServer {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ContainerdServer>> Start(
      const ContainerdOptions& options);

  const ContainerdPeer& peer() const { return peer_; }
  std::string socket() const { return dir_ + "/c.sock"; }
  // The config file it was started with.
  std::string config_path() const { return dir_ + "/containerd.toml"; }
  std::string address() const { return "unix://" + socket(); }
  std::string log() const { return ReadFileOrEmpty(process_->log_path()); }

  // Runs `ctr --address <socket> -n <ns> <args...>`.
  [[nodiscard]] absl::StatusOr<std::string> Ctr(
      const std::string& ns, const std::vector<std::string>& args,
      absl::Duration timeout = absl::Seconds(120)) const;
  // Pulls `ref` with ctr through `hosts_dir` (native snapshotter, unpacked).
  // On 2.x ctr pulls through the transfer service; `local` asks for the
  // client-side pull instead (`ctr images pull --local`, 2.x only).
  [[nodiscard]] absl::StatusOr<std::string> Pull(const std::string& ns,
                                                 const std::string& ref,
                                                 const std::string& hosts_dir,
                                                 bool local = false) const;
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
  ContainerdServer(ContainerdPeer peer, std::string dir,
                   std::unique_ptr<Subprocess> process)
      : peer_(std::move(peer)),
        dir_(std::move(dir)),
        process_(std::move(process)) {}
  ContainerdPeer peer_;
  std::string dir_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_CONTAINERD_H_
