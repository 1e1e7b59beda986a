// `nodefit hosts install|remove`: puts nodefit's registry host first in
// containerd's hosts.toml files, and takes it out again
// (plugin/containerd/hosts_toml.h).
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "plugin/cli/cli.h"
#include "plugin/cli/commands.h"
#include "plugin/containerd/hosts_toml.h"

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
    return usage_error("expected one action: install or remove");
  }
  const std::string& action = flags.positional[0];
  if (action != "install" && action != "remove") {
    return usage_error(absl::StrCat("unknown action \"", action,
                                    "\"; expected install or remove"));
  }
  if (!flags.Has("certs-dir")) return usage_error("--certs-dir is required");
  HostsReport report;
  absl::Status status;
  if (action == "install") {
    HostsInstallOptions options;
    options.certs_dir = flags.Get("certs-dir");
    options.address = flags.Get("address", options.address);
    options.registries = flags.GetAll("registry");
    status = InstallHosts(options, &report);
    if (status.ok()) {
      WarnIfContainerdReadsElsewhere(options.certs_dir, flags, err);
    }
  } else {
    // Remove undoes what install recorded, whatever flags install had.
    if (flags.Has("address") || flags.Has("registry") ||
        flags.Has("containerd-config") || flags.Has("containerd-bin")) {
      return usage_error("remove takes only --certs-dir");
    }
    status = RemoveHosts(flags.Get("certs-dir"), &report);
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
      "                             [--containerd-config FILE] "
      "[--containerd-bin PATH]\n"
      "       nodefit hosts remove --certs-dir DIR\n\n"
      "install makes nodefit the first registry host containerd tries: in "
      "each\nhosts.toml under DIR (containerd's config_path, usually "
      "/etc/containerd/certs.d)\nit inserts, with a comment line naming "
      "nodefit, the table\n\n"
      "  [host.\"URL\"]\n"
      "    capabilities = [\"pull\", \"resolve\"]\n\n"
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
      "  --certs-dir DIR  containerd's hosts directory (required; install "
      "needs it\n"
      "                   to exist)\n"
      "  --address URL    nodefit's registry endpoint, http(s)://host:port "
      "(install;\n"
      "                   default http://127.0.0.1:5055)\n"
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
      "                   list on containerd 2.1+), with the fix\n\n"
      "Prints one line per file: added, already present, created, "
      "restored, deleted.\nExit status: 0 done, 1 I/O failure, 2 bad usage "
      "or a file nodefit will not\nedit (e.g. it does not parse; the "
      "message names the file, line and column).\n",
      {{"certs-dir"},
       {"address"},
       {"registry"},
       {"containerd-config"},
       {"containerd-bin"}},
      &RunHosts};
}

}  // namespace nodefit
