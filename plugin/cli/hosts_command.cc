// `nodefit hosts install|remove`: puts nodefit's registry host first in
// containerd's hosts.toml files, and takes it out again
// (plugin/containerd/hosts_toml.h).
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "plugin/cli/cli.h"
#include "plugin/cli/commands.h"
#include "plugin/containerd/hosts_toml.h"

namespace nodefit {

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
  } else {
    // Remove undoes what install recorded, whatever flags install had.
    if (flags.Has("address") || flags.Has("registry")) {
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

}  // namespace nodefit
