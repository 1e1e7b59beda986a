// `nodefit doctor`: checks on this node that nodefit is in the pull path
// (plugin/doctor/doctor.h), one line per check.
#include "absl/strings/str_cat.h"
#include "plugin/cli/cli.h"
#include "plugin/cli/commands.h"
#include "plugin/doctor/doctor.h"

namespace nodefit {

namespace {

int RunDoctorCommand(const ParsedFlags& flags, std::ostream& out,
                     std::ostream& err) {
  if (!flags.positional.empty()) {
    err << "nodefit doctor: unexpected argument \"" << flags.positional[0]
        << "\"\n";
    return kExitUsage;
  }
  absl::StatusOr<Config> config = LoadConfigForCli(flags);
  if (!config.ok()) {
    err << "nodefit doctor: " << config.status().message() << "\n";
    return kExitUsage;
  }
  DoctorOptions options = DoctorOptionsForCli(*config, flags);
  std::unique_ptr<NodeProbe> probe = NewNodeProbe();
  const std::vector<DoctorCheck> checks = RunDoctor(options, *probe);
  if (flags.Has("json")) {
    out << DoctorToJson(checks).dump(2) << "\n";
  } else {
    out << DoctorToText(checks);
  }
  return AllPassed(checks) ? kExitOk : kExitFailure;
}

}  // namespace

DoctorOptions DoctorOptionsForCli(const Config& config,
                                  const ParsedFlags& flags) {
  DoctorOptions options;
  options.config = config;
  options.containerd_binary =
      flags.Get("containerd-bin", config.containerd.binary);
  options.containerd_config =
      flags.Get("containerd-config", config.containerd.config);
  options.kubelet_config = flags.Get("kubelet-config", options.kubelet_config);
  return options;
}

Command DoctorCommand() {
  return Command{
      "doctor",
      "check that nodefit really is in this node's pull path",
      "usage: nodefit doctor [--config FILE] [--json] [--containerd-config "
      "FILE]\n"
      "                      [--containerd-bin PATH] [--kubelet-config "
      "FILE]\n\n"
      "Checks, one line each (ok, problem with the exact fix, or skipped "
      "when it\ncannot run here):\n"
      "  containerd         containerd answers on cri.containerd, and its "
      "version\n"
      "  containerd-config  its effective config (`containerd config dump`, "
      "else the\n"
      "                     file) makes CRI pulls read hosts.toml: "
      "config_path set,\n"
      "                     one directory where the transfer service pulls "
      "(2.1+),\n"
      "                     no legacy registry.mirrors/configs, "
      "unpack_config naming\n"
      "                     CRI's snapshotter\n"
      "  hosts-toml         every hosts.toml those pulls read (_default and "
      "each\n"
      "                     registry's) tries nodefit first, with pull and "
      "resolve\n"
      "  tls                the node PKI (http.pki_dir): files present, "
      "keys 0600,\n"
      "                     leaves signed by the CA, not expired nor "
      "expiring within\n"
      "                     30 days\n"
      "  http-face          nodefit answers /readyz on its health listener\n"
      "  cri-face           nodefit's CRI socket answers and reaches "
      "containerd\n"
      "  kubelet            kubelet's imageServiceEndpoint is nodefit's "
      "socket\n\n"
      "  --config FILE             nodefit's config (default "
      "/etc/nodefit/config.json if\n"
      "                            present): its listen addresses and "
      "containerd's socket\n"
      "  --json                    print one JSON object: {\"ok\", "
      "\"checks\": [{\"check\",\n"
      "                            \"result\", \"message\", \"fix\"}]}\n"
      "  --containerd-config FILE  containerd's config (default: the config's\n"
      "                            containerd.config, "
      "/etc/containerd/config.toml)\n"
      "  --containerd-bin PATH     the containerd binary for `config dump` "
      "and --version\n"
      "                            (default: containerd.binary, containerd "
      "in PATH)\n"
      "  --kubelet-config FILE     kubelet's KubeletConfiguration (default\n"
      "                            /var/lib/kubelet/config.yaml; absent: the "
      "check is\n"
      "                            skipped)\n\n"
      "Exit status: 0 every check passed or was skipped, 1 a problem was "
      "found, 2 bad\nusage.\n",
      {{"config"},
       {"json", false},
       {"containerd-config"},
       {"containerd-bin"},
       {"kubelet-config"}},
      &RunDoctorCommand};
}

}  // namespace nodefit
