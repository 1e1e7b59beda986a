// Where a containerd's image pulls read hosts.toml, worked out from its
// version and its effective configuration (`containerd config dump`, or the
// config file itself), and what in that configuration takes nodefit out of
// the pull path. `nodefit doctor`, `nodefit hosts install` and the daemon's
// bypass warning share it.
//
// The facts it encodes (containerd's source; docs/containerd.md):
//  - 1.x reads [plugins."io.containerd.grpc.v1.cri".registry], 2.x
//    [plugins."io.containerd.cri.v1.images".registry] (config version 3).
//  - From 2.1, CRI pulls go through the transfer service unless
//    use_local_image_pull = true or one of the settings
//    CheckLocalImagePullConfigs names is set (internal/cri/config).
//  - The transfer path reads hosts.toml from one directory
//    (core/transfer/registry, HostDirFromRoot); the local path splits
//    config_path on ':' (internal/cri/server/images/image_pull.go).
//  - From 2.2 an empty config_path (with no mirrors) becomes
//    "/etc/containerd/certs.d:/etc/docker/certs.d" (plugins/cri/images).
//  - The transfer service unpacks only onto the snapshotters its
//    unpack_config names; without unpack_config, the host platform onto
//    overlayfs (plugins/transfer).
#ifndef NODEFIT_PLUGIN_CONTAINERD_PULL_PATH_H_
#define NODEFIT_PLUGIN_CONTAINERD_PULL_PATH_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nodefit {

struct ContainerdVersion {
  int major = 0, minor = 0, patch = 0;
  std::string text;  // as parsed, e.g. "2.2.9"

  // "2.2.9", "v1.7.35", "1.6.20~ds1", "2.4.0-beta.1": the leading
  // MAJOR.MINOR[.PATCH]. InvalidArgument otherwise.
  [[nodiscard]] static absl::StatusOr<ContainerdVersion> Parse(
      absl::string_view text);
  bool AtLeast(int major_at_least, int minor_at_least) const;
};

// One thing that keeps containerd's pulls away from hosts.toml (or breaks
// them), with the exact change that fixes it.
struct PullPathProblem {
  std::string problem;
  std::string fix;
};

struct PullPath {
  ContainerdVersion version;
  // The config table CRI's registry settings live in, e.g.
  // plugins."io.containerd.cri.v1.images".registry.
  std::string registry_table;
  // CRI pulls through the transfer service (2.1+, not forced local).
  bool transfer_service = false;
  // Why CRI pulls locally on a 2.1+ containerd ("" otherwise).
  std::string local_pull_reason;
  // config_path as containerd uses it (containerd's default applied).
  std::string config_path;
  bool config_path_is_default = false;
  // The directories CRI pulls read hosts.toml from: config_path split on
  // ':' for local pulls, config_path whole for the transfer service (which
  // names no directory when it holds a ':'). Empty: hosts.toml unused.
  std::vector<std::string> hosts_dirs;
  std::vector<PullPathProblem> problems;
};

// `config` is TOML, the effective configuration where possible (`containerd
// config dump` fills in the defaults); `source` names it in messages.
// InvalidArgument when it does not parse.
[[nodiscard]] absl::StatusOr<PullPath> AnalyzePullPath(
    const ContainerdVersion& version, absl::string_view config,
    absl::string_view source);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_CONTAINERD_PULL_PATH_H_
