// Debian's Podman and skopeo (containers/image), run by a test as root with
// their own storage (vfs), run root, registries.conf and auth file in a
// temp directory, and each command in a mount namespace of its own over an
// empty /var/lib, so nothing of the machine's own configuration or caches
// is read or changed. registries.conf is what a node would have: a registry
// with a mirror in front of it, both over plain http on loopback.
#ifndef NODEFIT_INTEGRATION_TESTBED_PODMAN_H_
#define NODEFIT_INTEGRATION_TESTBED_PODMAN_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nodefit::testbed {

class Podman {
 public:
  // Fresh storage under `dir` (which must exist and stay short).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Podman>> Create(
      const std::string& dir);
  ~Podman();

  // registries.conf: `registry` (host:port) reached through `mirror`
  // (host:port), both insecure (plain http). Empty `mirror`: none.
  [[nodiscard]] absl::Status SetMirror(const std::string& registry,
                                       const std::string& mirror);

  // `podman <args>` with this storage and configuration; its output.
  [[nodiscard]] absl::StatusOr<std::string> Run(
      const std::vector<std::string>& args,
      absl::Duration timeout = absl::Seconds(300)) const;
  // `skopeo <args>` with this registries.conf and auth file.
  [[nodiscard]] absl::StatusOr<std::string> Skopeo(
      const std::vector<std::string>& args,
      absl::Duration timeout = absl::Seconds(300)) const;

  // `podman login` to an insecure `host` (password on stdin, as a user
  // would give it).
  [[nodiscard]] absl::Status Login(const std::string& host,
                                   const std::string& user,
                                   const std::string& password) const;
  // Pulls `ref` (plain http allowed) and returns the pulled image's
  // manifest digest.
  [[nodiscard]] absl::StatusOr<std::string> Pull(const std::string& ref) const;
  // The content of `path` in image `ref` (podman image mount).
  [[nodiscard]] absl::StatusOr<std::string> ReadFile(
      const std::string& ref, const std::string& path) const;
  // Removes every image.
  [[nodiscard]] absl::Status RemoveImages() const;

 private:
  explicit Podman(std::string dir) : dir_(std::move(dir)) {}
  std::vector<std::string> Base() const;

  std::string dir_;
};

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_PODMAN_H_
