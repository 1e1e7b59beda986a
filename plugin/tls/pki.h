// The node-local PKI behind the resolver face's mutual TLS: a CA that only
// this node trusts, a server certificate for the loopback address nodefit
// listens on, and the client certificate containerd presents (hosts.toml
// `ca` and `client`). Nobody else has the keys, so a process that takes
// nodefit's port while it is down cannot answer containerd (TLS fails and
// containerd falls through to the registry), and no local user can ask
// nodefit anything.
//
// Files in the directory (default /etc/nodefit/pki, created 0700; keys
// 0600, certificates 0644, all root's):
//   ca.pem ca-key.pem            ECDSA P-256, 10 years
//   server.pem server-key.pem    CN nodefit, SAN IP:127.0.0.1, IP:::1,
//                                DNS:localhost; serverAuth; 1 year
//   client.pem client-key.pem    CN containerd; clientAuth; 1 year
// Every file is written to a temporary file (mode set with fchmod, fsynced)
// and renamed into place; the directory is refused when it is a symlink, not
// a directory, not owned by this user, or writable by group or others.
#ifndef NODEFIT_PLUGIN_TLS_PKI_H_
#define NODEFIT_PLUGIN_TLS_PKI_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace nodefit {

inline constexpr char kDefaultPkiDir[] = "/etc/nodefit/pki";

struct PkiPaths {
  std::string dir;
  std::string ca_cert() const { return dir + "/ca.pem"; }
  std::string ca_key() const { return dir + "/ca-key.pem"; }
  std::string server_cert() const { return dir + "/server.pem"; }
  std::string server_key() const { return dir + "/server-key.pem"; }
  std::string client_cert() const { return dir + "/client.pem"; }
  std::string client_key() const { return dir + "/client-key.pem"; }
};

// What EnsurePki or RotatePki did, one line per file, for the command to
// print.
struct PkiReport {
  std::vector<std::string> lines;
};

// Creates whatever of the CA, server and client files is missing; existing
// ones are kept (a reinstall changes nothing). A leaf whose CA is new is
// issued again.
[[nodiscard]] absl::Status EnsurePki(const PkiPaths& paths, absl::Time now,
                                     PkiReport* report);

// Issues new server and client certificates and keys (and, with `new_ca`, a
// new CA first). containerd reads the client files with each pull; nodefit
// reads its server files at start and on SIGHUP.
[[nodiscard]] absl::Status RotatePki(const PkiPaths& paths, bool new_ca,
                                     absl::Time now, PkiReport* report);

// Issues new server and client certificates (RotatePki without a new CA)
// when either expires within `window` of `now`; true when it did. nodefit
// calls it at start and every hour, so a year-old node keeps serving
// containerd instead of failing its TLS check (containerd reads the client
// files with each pull; nodefit reloads its server files after renewing).
[[nodiscard]] absl::StatusOr<bool> RenewExpiringPki(const PkiPaths& paths,
                                                    absl::Time now,
                                                    absl::Duration window,
                                                    PkiReport* report);

// One finding about the PKI, for `nodefit doctor`.
struct PkiFinding {
  bool ok = true;
  std::string message;
};

// Checks each file: present, mode (keys 0600, nothing group/world writable),
// certificate parses, leaves signed by the CA, not expired, and not
// expiring within `warn_before`.
std::vector<PkiFinding> InspectPki(const PkiPaths& paths, absl::Time now,
                                   absl::Duration warn_before);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_TLS_PKI_H_
