// Docker Engine's own registry settings, as far as `nodefit hosts install`
// into Docker's certs directory needs them (docs/docker.md).
//
// Docker with the containerd image store resolves a registry with
// containerd's hosts.toml code over /etc/docker/certs.d (moby:
// daemon/hosts.go, RegistryHosts). Its daemon.json settings
// registry-mirrors (Docker Hub only) and insecure-registries are merged in
// only while that registry's hosts configuration yields a single host
// (moby: daemon/hosts.go, mergeLegacyConfig returns the hosts untouched
// when there are several). nodefit's host makes two, so install writes
// their equivalent into the hosts.toml itself (HostsInstallOptions.carried,
// hosts_toml.h); this module reads them.
#ifndef NODEFIT_PLUGIN_CONTAINERD_DOCKER_CONFIG_H_
#define NODEFIT_PLUGIN_CONTAINERD_DOCKER_CONFIG_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "plugin/containerd/hosts_toml.h"

namespace nodefit {

// What of a daemon.json decides which registry hosts Docker uses.
struct DockerRegistryConfig {
  // "registry-mirrors" as Docker keeps them (moby:
  // daemon/pkg/registry/config.go, ValidateMirror and loadMirrors): http or
  // https URLs, first occurrence kept, in order; here without the trailing
  // '/' Docker adds.
  std::vector<std::string> mirrors;
  // "insecure-registries" entries that are host[:port] (an http:// or
  // https:// prefix dropped, as Docker does).
  std::vector<std::string> insecure_hosts;
  // The entries that are CIDRs, as written.
  std::vector<std::string> insecure_cidrs;
};

// Parses a daemon.json; keys other than the two above are ignored. An
// entry Docker itself refuses to start with is InvalidArgument naming it.
[[nodiscard]] absl::StatusOr<DockerRegistryConfig> ParseDockerDaemonJson(
    absl::string_view text, absl::string_view path);
[[nodiscard]] absl::StatusOr<DockerRegistryConfig> LoadDockerDaemonJson(
    const std::string& path);

// Whether Docker treats registry `host` ("name[:port]", "[v6]:port") as
// insecure: listed as is, or an IP address inside one of the CIDRs or
// Docker's own 127.0.0.0/8 and ::1/128; "localhost" counts as loopback.
// Docker resolves any other name to match it against the CIDRs; nodefit
// does not (false).
bool DockerTreatsAsInsecure(const DockerRegistryConfig& config,
                            absl::string_view host);

// Whether `host` is one containerd treats as local (its hosts.go:
// "localhost", 127.0.0.0/8 or ::1, with or without a port): containerd then
// tries https without verification and falls back to http by itself.
bool IsLocalRegistryHost(absl::string_view host);

// Whether `cidr` ("10.0.0.0/8") holds the IP address `address`; false when
// either does not parse.
bool CidrContains(absl::string_view cidr, absl::string_view address);

// The host[:port] part of a mirror URL ("http://127.0.0.1:5000/x" ->
// "127.0.0.1:5000").
std::string MirrorHost(absl::string_view url);

// What `nodefit hosts install` carries over of `config`
// (HostsInstallOptions.carried), given its --registry list (`registries`;
// empty: _default and every existing file):
//  - registry-mirrors, for docker.io, each with skip_verify where Docker
//    treats the mirror's host as insecure;
//  - each insecure host:port for itself, except a local one (containerd
//    treats it the same way by itself) and docker.io (which Docker never
//    treats as insecure);
//  - an insecure CIDR other than Docker's loopback ones cannot be carried
//    when _default is installed (every registry without a directory of its
//    own falls back to it, and nodefit cannot list them): FailedPrecondition
//    naming it. With --registry, a named IP address inside it is carried as
//    insecure; a named host name gets a note in `notes` (Docker resolves it
//    to match; nodefit does not).
[[nodiscard]] absl::StatusOr<std::map<std::string, CarriedConfig>>
DockerCarried(const DockerRegistryConfig& config,
              const std::vector<std::string>& registries,
              std::vector<std::string>* notes);

// Whether `config` sets anything DockerCarried would carry over (or refuse).
bool DockerNeedsCarrying(const DockerRegistryConfig& config);

// Whether `certs_dir` is a Docker certs directory: its path ends in
// docker/certs.d (/etc/docker/certs.d, or rootless Docker's
// $XDG_CONFIG_HOME/docker/certs.d; moby: daemon/pkg/registry/config.go,
// CertsDir). Not containerd's, so containerd's pull path is not checked.
bool IsDockerCertsDir(absl::string_view certs_dir);

// The daemon.json beside a Docker certs directory ("/etc/docker/certs.d"
// -> "/etc/docker/daemon.json"), where Docker reads it by default.
std::string DockerDaemonJsonBeside(absl::string_view certs_dir);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_CONTAINERD_DOCKER_CONFIG_H_
