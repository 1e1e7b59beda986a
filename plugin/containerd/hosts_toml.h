// Adds nodefit's registry host to containerd's hosts.toml files (the
// `config_path` directory, usually /etc/containerd/certs.d) and takes it out
// again, for `nodefit hosts install` and `nodefit hosts remove`.
//
// Contract:
//  - Every hosts.toml is parsed with toml++; nodefit never edits a file it
//    cannot parse, and checks every file before writing any.
//  - Install inserts exactly NodefitHostBlock() just before the file's first
//    table header (so nodefit's host comes first: containerd tries hosts in
//    file order, and root keys such as `server` stay above the first table),
//    or at the end when there is none. Every other byte stays as it was, and
//    the result is re-parsed to prove that the only change to the TOML tree
//    is host."<address>".
//  - Install backs up each file it changes as hosts.toml.nodefit-backup (same
//    mode) and records in <certs dir>/.nodefit-hosts.json, before touching
//    anything, which files it changed and which files and directories it
//    created. Remove puts back exactly what was there: a changed file becomes
//    its backup again, a created file or directory is deleted. A file edited
//    after install loses only nodefit's table and keeps the edits.
//  - Both are idempotent, and hold an flock on the certs directory while they
//    run.
//
// Status codes: InvalidArgument and FailedPrecondition mean bad usage or a
// file nodefit will not edit (nothing was changed); anything else is an I/O
// failure.
#ifndef NODEFIT_PLUGIN_CONTAINERD_HOSTS_TOML_H_
#define NODEFIT_PLUGIN_CONTAINERD_HOSTS_TOML_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nodefit {

inline constexpr absl::string_view kDefaultNodefitAddress =
    "https://127.0.0.1:505";

// nodefit as a host in hosts.toml: its address and, for https, the files
// containerd needs for mutual TLS (the node CA that signed nodefit's
// server certificate, and containerd's client certificate and key).
struct NodefitHost {
  // A plain-http host is just its address.
  // NOLINTNEXTLINE(google-explicit-constructor)
  NodefitHost(absl::string_view address_in) : address(address_in) {}
  NodefitHost(absl::string_view address_in, absl::string_view ca_in,
              absl::string_view client_cert_in, absl::string_view client_key_in)
      : address(address_in),
        ca(ca_in),
        client_cert(client_cert_in),
        client_key(client_key_in) {}

  std::string address;
  std::string ca;           // hosts.toml `ca`; empty: none
  std::string client_cert;  // hosts.toml `client = [[cert, key]]`
  std::string client_key;

  bool operator==(const NodefitHost& other) const {
    return address == other.address && ca == other.ca &&
           client_cert == other.client_cert && client_key == other.client_key;
  }
};
inline constexpr absl::string_view kHostsStateFile = ".nodefit-hosts.json";
inline constexpr absl::string_view kHostsBackupSuffix = ".nodefit-backup";

// "http://" or "https://", then host:port (host as ValidateRegistryHost takes
// it, the port required), and nothing else.
[[nodiscard]] absl::Status ValidateNodefitAddress(absl::string_view address);

// A directory name under the certs dir: "_default" or a registry host
// (ValidateRegistryHost), so never "", ".", ".." or anything with a '/'.
[[nodiscard]] absl::Status ValidateHostsDirName(absl::string_view name);

// The text install adds: a comment naming nodefit, [host."<address>"],
// capabilities = ["pull", "resolve"] and, with TLS files, ca = "<ca>" and
// client = [["<cert>", "<key>"]], each line ended by `newline`.
std::string NodefitHostBlock(const NodefitHost& host,
                             absl::string_view newline = "\n");

// Checks that `content` is valid TOML. InvalidArgument
// "cannot parse <path>: line L, column C: <toml++'s description>".
[[nodiscard]] absl::Status CheckHostsToml(absl::string_view content,
                                          absl::string_view path);

// Whether containerd, reading `content`, tries nodefit's host at `address`
// before any other host, with the pull and resolve capabilities.
// FailedPrecondition naming what is wrong; InvalidArgument when it does not
// parse.
[[nodiscard]] absl::Status CheckNodefitFirst(absl::string_view content,
                                             absl::string_view path,
                                             absl::string_view address);

// `content` with nodefit's host added as its first host; `content` itself
// when it already has host."<address>". InvalidArgument when it does not
// parse; FailedPrecondition when nodefit's host cannot be put first without
// changing anything else (e.g. `host` is an inline table).
[[nodiscard]] absl::StatusOr<std::string> AddNodefitHost(
    absl::string_view content, absl::string_view path, const NodefitHost& host);

// `content` without host."<address>": its header, keys, nodefit's comment
// above it and the blank line that separated it. `content` itself when there
// is no such host. FailedPrecondition when the host is not a table nodefit
// can cut out whole (e.g. it has sub-tables elsewhere in the file).
[[nodiscard]] absl::StatusOr<std::string> RemoveNodefitHost(
    absl::string_view content, absl::string_view path,
    absl::string_view address);

// Docker only. Docker merges its daemon.json registry-mirrors (Docker Hub)
// and insecure-registries into a registry's hosts only while that
// registry's hosts configuration yields one host (moby: daemon/hosts.go,
// mergeLegacyConfig), so nodefit's host would switch them off. Install
// writes their equivalent into the hosts.toml instead (docker_config.h
// reads them).
struct CarriedHost {
  std::string url;           // a mirror: http(s)://host[:port][/path]
  bool skip_verify = false;  // Docker treats its host as insecure

  bool operator==(const CarriedHost& other) const {
    return url == other.url && skip_verify == other.skip_verify;
  }
};
struct CarriedConfig {
  // Tried after nodefit's host and before the registry, in this order, with
  // the capabilities pull and resolve.
  std::vector<CarriedHost> mirrors;
  // Docker treats the registry itself as insecure (https unverified, then
  // plain http): written as server = "http://<registry>" and
  // skip_verify = true, which containerd's hosts.go treats the same way
  // (https first, unverified, falling back to http). Only into a hosts.toml
  // install creates.
  bool insecure = false;

  bool operator==(const CarriedConfig& other) const {
    return mirrors == other.mirrors && insecure == other.insecure;
  }
};

// Checks a carried mirror URL: http:// or https://, a valid registry host,
// and only characters a TOML basic string holds unescaped.
[[nodiscard]] absl::Status ValidateCarriedUrl(absl::string_view url);

struct HostsInstallOptions {
  std::string certs_dir;
  std::string address = std::string(kDefaultNodefitAddress);
  // For an https address: the node CA and containerd's client files.
  std::string ca;
  std::string client_cert;
  std::string client_key;
  // Empty: _default and every existing <registry>/hosts.toml. Otherwise only
  // these registries' files, created when absent.
  std::vector<std::string> registries;
  // By registry (directory name). Applied to a registry whose hosts
  // configuration this install changes (its own file, or _default when it
  // has no directory of its own) and in which Docker applies them now: the
  // file it resolves to (containerd's order: <registry>, then _default)
  // lists no host. A registry without a file of its own then gets one.
  // Where Docker already ignores them nothing is carried (a note says so);
  // where carrying would change anything else, install refuses
  // (FailedPrecondition) and changes nothing.
  std::map<std::string, CarriedConfig> carried;
};

// What was done, for the command to print.
struct HostsReport {
  std::vector<std::string> lines;  // one per file or directory, for stdout
  std::vector<std::string> notes;  // warnings, for stderr
};

// On an error after writing began, `report` still lists what was done; a
// later remove undoes it.
[[nodiscard]] absl::Status InstallHosts(const HostsInstallOptions& options,
                                        HostsReport* report);

// No state file (nothing installed) is success with nothing done.
[[nodiscard]] absl::Status RemoveHosts(const std::string& certs_dir,
                                       HostsReport* report);

// While nodefit is not running (systemd ExecStopPost), its host should not
// stay in containerd's files: suspend takes it out as remove does and
// remembers in DIR/.nodefit-hosts-suspended.json how it was installed;
// resume (ExecStartPre) installs it again and forgets the note. Both do
// nothing when there is nothing to suspend or resume, so a node where the
// operator never ran `hosts install` stays untouched.
inline constexpr absl::string_view kHostsSuspendedFile =
    ".nodefit-hosts-suspended.json";
[[nodiscard]] absl::Status SuspendHosts(const std::string& certs_dir,
                                        HostsReport* report);
[[nodiscard]] absl::Status ResumeHosts(const std::string& certs_dir,
                                       HostsReport* report);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_CONTAINERD_HOSTS_TOML_H_
