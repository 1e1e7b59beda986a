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
#include "nlohmann/json.hpp"

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

// Pushes one build as an image of its own (an OCI image manifest) tagged
// `tag` in `repository` of the plain-http registry at `host_port`.
[[nodiscard]] absl::StatusOr<PushedBuild> PushBuildImage(
    const std::string& host_port, const std::string& repository,
    const std::string& tag, const BuildSpec& build);
// An index spec (nodefit index create's input, here as JSON) naming
// `target` and one entry per build, from `sources` (references), with each
// build's platform and features.
std::string IndexSpecFor(const std::string& target,
                         const std::vector<std::string>& sources,
                         const std::vector<BuildSpec>& builds);
// What `nodefit index create` wrote: the index (--output) and its own
// output (stdout and stderr).
struct CreatedIndexFile {
  std::string index;
  std::string output;
  int64_t peak_rss_kb = 0;  // nodefit's own
};
// Runs the real `nodefit index create SPEC --push TARGET --output FILE
// --config CONFIG EXTRA...` (TARGET empty: no --push); an error when it
// fails, with its output.
[[nodiscard]] absl::StatusOr<CreatedIndexFile> CreateIndexWithNodefit(
    const std::string& spec, const std::string& target,
    const nlohmann::json& config,
    const std::vector<std::string>& extra_args = {});
// Pushes every build (as images of their own in `repository`-builds, tagged
// `tag`-<name>) to a plain-http registry at `host_port`
// ("127.0.0.1:5000"), then the index tagged `tag` made from them by
// `nodefit index create`.
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
