// Builds real multi-build images (gzip tar layers, OCI configs, manifests
// and an index whose entries carry platform.features) and pushes them to a
// registry over the distribution API.
//
// Each build has one layer holding /etc/variant (its name and a newline)
// and, optionally, /payload.bin with `payload_bytes` of incompressible
// bytes, so a pull moves a known amount of data.
#ifndef NODEFIT_INTEGRATION_TESTBED_IMAGE_BUILDER_H_
#define NODEFIT_INTEGRATION_TESTBED_IMAGE_BUILDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nodefit::testbed {

struct BuildSpec {
  std::string name;  // goes into /etc/variant
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;
  std::vector<std::string> features;  // platform.features; empty: none
  uint64_t payload_bytes = 0;
};

struct PushedBuild {
  std::string name;
  std::string manifest_digest;
  std::string config_digest;  // the image id containerd reports
  uint64_t layer_bytes = 0;
};

struct PushedImage {
  std::string repository;
  std::string tag;
  std::string index_digest;
  std::string index_body;
  std::vector<PushedBuild> builds;  // in index order

  // The build named `name`, or null.
  const PushedBuild* Find(const std::string& name) const;
  const PushedBuild* FindByManifest(const std::string& digest) const;
  const PushedBuild* FindByConfig(const std::string& digest) const;
};

// Pushes every build and an OCI index tagged `tag` to a plain-http registry
// at `host_port` ("127.0.0.1:5000").
[[nodiscard]] absl::StatusOr<PushedImage> PushMultiBuildImage(
    const std::string& host_port, const std::string& repository,
    const std::string& tag, const std::vector<BuildSpec>& builds);

// The builds of the seed example: generic, broadwell, skylake,
// skylake-avx512, broadwell + nv-compute-5-2 + nvidia-396-44.
std::vector<BuildSpec> SeedBuilds(uint64_t payload_bytes = 0);

// A tar archive with the given regular files (path -> content); parent
// directories are added.
std::string MakeTar(
    const std::vector<std::pair<std::string, std::string>>& files);
// gzip of `data`.
std::string Gzip(const std::string& data);

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_IMAGE_BUILDER_H_
