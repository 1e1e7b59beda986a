// The peers the end-to-end benchmarks share, started once per driver run
// and only when a benchmark needs them: the real docker-registry with the
// benchmark images, and the real containerd holding N images pulled over
// CRI.
#ifndef NODEFIT_BENCH_BENCH_ENV_H_
#define NODEFIT_BENCH_BENCH_ENV_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/registry.h"
#include "nlohmann/json.hpp"

namespace nodefit::bench {

class BenchEnv {
 public:
  BenchEnv(std::string nodefit_binary, bool smoke);
  ~BenchEnv();
  BenchEnv(const BenchEnv&) = delete;
  BenchEnv& operator=(const BenchEnv&) = delete;

  bool smoke() const { return smoke_; }
  const std::string& dir() const { return dir_; }
  const std::string& nodefit_binary() const { return nodefit_binary_; }

  // A new directory under dir() ("<dir>/<name>"), short enough for sockets.
  std::string SubDir(const std::string& name) const;

  [[nodiscard]] absl::StatusOr<testbed::RegistryServer*> Registry();
  // Pushes `builds` as repository:tag once; later calls return the same.
  [[nodiscard]] absl::StatusOr<testbed::PushedImage> Image(
      const std::string& repository, const std::string& tag,
      const std::vector<testbed::BuildSpec>& builds);

  // containerd with `count` distinct images in namespace k8s.io, pulled
  // over CRI from the registry (hosts.toml names the registry only).
  [[nodiscard]] absl::StatusOr<testbed::ContainerdServer*> ContainerdWithImages(
      int count);
  const std::vector<std::string>& image_refs() const { return image_refs_; }

  // The node every benchmark's nodefit is: a Skylake, no detection.
  static nlohmann::json BaseConfig();
  // Starts `nodefit serve` with BaseConfig() merged with `extra`.
  [[nodiscard]] absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>>
  StartNodefit(const std::string& name, const nlohmann::json& extra);

 private:
  std::string nodefit_binary_;
  bool smoke_;
  std::string dir_;
  std::unique_ptr<testbed::RegistryServer> registry_;
  std::vector<testbed::PushedImage> images_;
  std::unique_ptr<testbed::ContainerdServer> containerd_;
  std::vector<std::string> image_refs_;
};

// PUT /v2/<repository>/manifests/<reference> on the plain-http registry at
// 127.0.0.1:`port` (an OCI index unless told).
[[nodiscard]] absl::Status PutManifest(
    int port, const std::string& repository, const std::string& reference,
    const std::string& body,
    const std::string& media_type = "application/vnd.oci.image.index.v1+json");

// Sum of every sample of a Prometheus counter family in `metrics` text.
double SumMetric(const std::string& metrics, const std::string& family);

}  // namespace nodefit::bench

#endif  // NODEFIT_BENCH_BENCH_ENV_H_
