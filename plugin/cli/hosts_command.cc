// `nodefit hosts install|remove`: puts nodefit's registry host first in
// containerd's hosts.toml files, and takes it out again
// (plugin/containerd/hosts_toml.h).
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "plugin/cli/cli.h"
#include "plugin/cli/commands.h"
#include "plugin/containerd/docker_config.h"
#include "plugin/containerd/hosts_toml.h"
#include "plugin/tls/pki.h"

namespace nodefit {

namespace {

// After an install: when this node's containerd can be inspected and its
// CRI pulls would not read `certs_dir` (or something else keeps them from
// hosts.toml), say so on stderr with the fix. Silent when it cannot tell.
void WarnIfContainerdReadsElsewhere(const std::string& certs_dir,
                                    const ParsedFlags& flags,
                                    std::ostream& err) {
  absl::StatusOr<Config> config = LoadConfigForCli(ParsedFlags());
  if (!config.ok()) return;
  const DoctorOptions options = DoctorOptionsForCli(*config, flags);
  std::unique_ptr<NodeProbe> probe = NewNodeProbe();
  absl::StatusOr<PullPath> path = InspectPullPath(options, *probe);
  if (!path.ok()) return;
  std::error_code ignored;
  const std::filesystem::path edited =
      std::filesystem::weakly_canonical(certs_dir, ignored);
  bool read = false;
  for (const std::string& dir : path->hosts_dirs) {
    if (std::filesystem::weakly_canonical(dir, ignored) == edited) read = true;
  }
  if (!read && path->problems.empty()) {
    err << "nodefit hosts install: warning: containerd " << path->version.text
        << "'s CRI pulls read hosts.toml from "
        << (path->hosts_dirs.empty() ? std::string("no directory")
                                     : absl::StrJoin(path->hosts_dirs, " and "))
        << ", not from " << certs_dir << " (" << options.containerd_config
        << ")\n";
  }
  for (const PullPathProblem& problem : path->problems) {
    err << "nodefit hosts install: warning: " << problem.problem
        << "; fix: " << problem.fix << "\n";
  }
}

int RunHosts(const ParsedFlags& flags, std::ostream& out, std::ostream& err) {
  auto usage_error = [&err](absl::string_view message) {
    err << "nodefit hosts: " << message
        << "\nrun `nodefit hosts --help` for usage\n";
    return kExitUsage;
  };
  if (flags.positional.size() != 1) {
    return usage_error(
        "expected one action: install, remove, suspend or resume");
  }
  const std::string& action = flags.positional[0];
  if (action != "install" && action != "remove" && action != "suspend" &&
      action != "resume") {
    return usage_error(
        absl::StrCat("unknown action \"", action,
                     "\"; expected install, remove, suspend or resume"));
  }
  if (!flags.Has("certs-dir")) return usage_error("--certs-dir is required");
  HostsReport report;
  absl::Status status;
  if (action == "install") {
    HostsInstallOptions options;
    options.certs_dir = flags.Get("certs-dir");
    options.address = flags.Get("address", options.address);
    options.registries = flags.GetAll("registry");
    // What install would refuse, refused before the PKI is made.
    absl::Status valid = ValidateNodefitAddress(options.address);
    for (const std::string& registry : options.registries) {
      if (valid.ok()) valid = ValidateHostsDirName(registry);
    }
    struct stat certs_dir;
    if (valid.ok() && (stat(options.certs_dir.c_str(), &certs_dir) != 0 ||
                       !S_ISDIR(certs_dir.st_mode))) {
      valid = absl::InvalidArgumentError(absl::StrCat(
          "--certs-dir ", options.certs_dir, " is not a directory"));
    }
    // Docker's daemon.json settings that nodefit's host would switch off
    // (docker_config.h): carried over with --docker-config; without it, a
    // Docker certs dir whose daemon.json sets any is refused, since pulls
    // that need them would then fail.
    const bool docker = IsDockerCertsDir(options.certs_dir);
    std::vector<std::string> docker_notes;
    if (valid.ok() && flags.Has("docker-config")) {
      absl::StatusOr<DockerRegistryConfig> docker_config =
          LoadDockerDaemonJson(flags.Get("docker-config"));
      absl::StatusOr<std::map<std::string, CarriedConfig>> carried =
          docker_config.ok()
              ? DockerCarried(*docker_config, options.registries, &docker_notes)
              : docker_config.status();
      if (carried.ok()) {
        options.carried = *std::move(carried);
      } else {
        valid = carried.status();
      }
    } else if (valid.ok() && docker) {
      const std::string beside = DockerDaemonJsonBeside(options.certs_dir);
      absl::StatusOr<DockerRegistryConfig> docker_config =
          LoadDockerDaemonJson(beside);
      if (!absl::IsNotFound(docker_config.status())) {
        if (!docker_config.ok()) {
          valid = docker_config.status();
        } else if (DockerNeedsCarrying(*docker_config)) {
          valid = absl::FailedPreconditionError(absl::StrCat(
              beside,
              " sets registry-mirrors or insecure-registries, which Docker "
              "stops applying to a registry once its hosts.toml lists "
              "nodefit's host; pass --docker-config ",
              beside, " so that install carries them over"));
        }
      }
    }
    if (!valid.ok()) {
      err << "nodefit hosts install: " << valid.message() << "\n";
      return kExitUsage;
    }
    for (const std::string& note : docker_notes) {
      err << "nodefit hosts install: note: " << note << "\n";
    }
    if (absl::StartsWith(options.address, "https://")) {
      // Mutual TLS: the node's PKI, made once and kept across reinstalls.
      absl::StatusOr<Config> config = LoadConfigForCli(ParsedFlags());
      const PkiPaths pki{flags.Get(
          "pki-dir", config.ok() ? config->http.pki_dir : kDefaultPkiDir)};
      PkiReport made;
      if (absl::Status s = EnsurePki(pki, absl::Now(), &made); !s.ok()) {
        err << "nodefit hosts install: " << s.message() << "\n";
        return absl::IsFailedPrecondition(s) ? kExitUsage : kExitFailure;
      }
      for (const std::string& line : made.lines) out << line << "\n";
      options.ca = pki.ca_cert();
      options.client_cert = pki.client_cert();
      options.client_key = pki.client_key();
    } else if (flags.Has("pki-dir")) {
      return usage_error("--pki-dir goes with an https:// --address");
    }
    status = InstallHosts(options, &report);
    // Docker reads its own certs dir whatever containerd's config says.
    if (status.ok() && !docker) {
      WarnIfContainerdReadsElsewhere(options.certs_dir, flags, err);
    }
  } else {
    // The others undo or redo what install recorded, whatever flags install
    // had.
    if (flags.Has("address") || flags.Has("registry") ||
        flags.Has("containerd-config") || flags.Has("containerd-bin") ||
        flags.Has("pki-dir") || flags.Has("docker-config")) {
      return usage_error(absl::StrCat(action, " takes only --certs-dir"));
    }
    const std::string certs_dir = flags.Get("certs-dir");
    status = action == "remove"    ? RemoveHosts(certs_dir, &report)
             : action == "suspend" ? SuspendHosts(certs_dir, &report)
                                   : ResumeHosts(certs_dir, &report);
  }
  for (const std::string& line : report.lines) out << line << "\n";
  for (const std::string& note : report.notes) {
    err << "nodefit hosts " << action << ": note: " << note << "\n";
  }
  if (!status.ok()) {
    err << "nodefit hosts " << action << ": " << status.message() << "\n";
    return absl::IsInvalidArgument(status) || absl::IsFailedPrecondition(status)
               ? kExitUsage
               : kExitFailure;
  }
  return kExitOk;
}

}  // namespace

Command HostsCommand() {
  return Command{
      "hosts",
      "put nodefit first in containerd's hosts.toml files, or take it out",
      "usage: nodefit hosts install --certs-dir DIR [--address URL] "
      "[--registry HOST]...\n"
      "                             [--pki-dir DIR] [--containerd-config "
      "FILE]\n"
      "                             [--containerd-bin PATH] "
      "[--docker-config FILE]\n"
      "       nodefit hosts remove --certs-dir DIR\n"
      "       nodefit hosts suspend|resume --certs-dir DIR\n\n"
      "install makes nodefit the first registry host containerd tries: in "
      "each\nhosts.toml under DIR (containerd's config_path, usually "
      "/etc/containerd/certs.d)\nit inserts, with a comment line naming "
      "nodefit, the table\n\n"
      "  [host.\"URL\"]\n"
      "    capabilities = [\"pull\", \"resolve\"]\n"
      "    ca = \"PKI/ca.pem\"\n"
      "    client = [[\"PKI/client.pem\", \"PKI/client-key.pem\"]]\n\n"
      "just before the file's first table (containerd tries hosts in file "
      "order), or\nat the end if it has none. Every other byte stays as it "
      "was; a file that\nalready has that host is left alone. Each file is "
      "parsed first: if any does\nnot parse, no file is changed. A changed "
      "file is backed up beside itself as\nhosts.toml.nodefit-backup, and "
      "DIR/.nodefit-hosts.json records what was\nchanged or created.\n\n"
      "remove undoes install exactly: changed files get their backups "
      "back, created\nfiles and directories are deleted. A file edited "
      "after install loses only\nnodefit's table and keeps the edits (said "
      "on stderr). Both are idempotent.\n\n"
      "suspend takes nodefit's host out as remove does and notes how it was "
      "installed\n(DIR/.nodefit-hosts-suspended.json); resume installs it "
      "again. The systemd unit\nruns them when nodefit stops and starts, so "
      "no entry outlives nodefit; both do\nnothing where nothing was "
      "installed.\n\n"
      "With an https URL (the default) the host is served with mutual TLS: "
      "install\nfirst makes the node's PKI in --pki-dir if it is not there "
      "(a CA, nodefit's\nserver certificate, containerd's client "
      "certificate; kept across reinstalls,\nrenewed with `nodefit pki "
      "rotate`), and names its files in the table (ca,\nclient). An "
      "http:// URL gives the plain table, for tests only: any local user\n"
      "can then talk to nodefit, or stand in for it.\n\n"
      "  --certs-dir DIR  containerd's hosts directory (required; install "
      "needs it\n"
      "                   to exist)\n"
      "  --address URL    nodefit's registry endpoint, http(s)://host:port "
      "(install;\n"
      "                   default https://127.0.0.1:505, http.listen's "
      "default)\n"
      "  --pki-dir DIR    the node's PKI (install with https; default "
      "http.pki_dir,\n"
      "                   /etc/nodefit/pki)\n"
      "  --registry HOST  only this registry's DIR/HOST/hosts.toml, "
      "created if absent;\n"
      "                   repeatable; _default is the fallback file "
      "(install). Without\n"
      "                   it: DIR/_default/hosts.toml (created if absent) "
      "and every\n"
      "                   existing DIR/*/hosts.toml\n"
      "  --containerd-config FILE, --containerd-bin PATH\n"
      "                   containerd's config (default "
      "/etc/containerd/config.toml) and\n"
      "                   binary (default: in PATH), as for `nodefit "
      "doctor`: after\n"
      "                   installing, a warning on stderr when this node's "
      "containerd\n"
      "                   would not read DIR for its CRI pulls (e.g. a "
      "config_path\n"
      "                   list on containerd 2.1+), with the fix; not "
      "checked for a\n"
      "                   DIR ending in docker/certs.d (Docker's)\n"
      "  --docker-config FILE\n"
      "                   Docker's daemon.json, for a DIR Docker reads "
      "(/etc/docker/certs.d).\n"
      "                   Docker stops applying its registry-mirrors and "
      "insecure-registries\n"
      "                   to a registry whose hosts.toml lists more than one "
      "host, so install\n"
      "                   writes them into the hosts.toml: the mirrors after "
      "nodefit's host\n"
      "                   in docker.io's, an insecure registry's server as "
      "http:// with\n"
      "                   skip_verify. Without it, install refuses a "
      "docker/certs.d DIR whose\n"
      "                   daemon.json beside it sets either "
      "(docs/docker.md)\n\n"
      "Prints one line per file: added, already present, created, "
      "restored, deleted.\nExit status: 0 done, 1 I/O failure, 2 bad usage "
      "or a file nodefit will not\nedit (e.g. it does not parse; the "
      "message names the file, line and column).\n",
      {{"certs-dir"},
       {"address"},
       {"registry"},
       {"pki-dir"},
       {"containerd-config"},
       {"containerd-bin"},
       {"docker-config"}},
      &RunHosts};
}

}  // namespace nodefit
