// `nodefit pki init|rotate`: the node-local PKI of the resolver face's
// mutual TLS (plugin/tls/pki.h).
#include "absl/time/clock.h"
#include "plugin/cli/cli.h"
#include "plugin/cli/commands.h"
#include "plugin/tls/pki.h"

namespace nodefit {

namespace {

int RunPki(const ParsedFlags& flags, std::ostream& out, std::ostream& err) {
  if (flags.positional.size() != 1 ||
      (flags.positional[0] != "init" && flags.positional[0] != "rotate")) {
    err << "nodefit pki: expected one action: init or rotate\n"
        << "run `nodefit pki --help` for usage\n";
    return kExitUsage;
  }
  const bool rotate = flags.positional[0] == "rotate";
  if (!rotate && flags.Has("new-ca")) {
    err << "nodefit pki: --new-ca goes with rotate\n";
    return kExitUsage;
  }
  absl::StatusOr<Config> config = LoadConfigForCli(flags);
  if (!config.ok()) {
    err << "nodefit pki: " << config.status().message() << "\n";
    return kExitUsage;
  }
  const PkiPaths paths{flags.Get("dir", config->http.pki_dir)};
  PkiReport report;
  const absl::Status status =
      rotate ? RotatePki(paths, flags.Has("new-ca"), absl::Now(), &report)
             : EnsurePki(paths, absl::Now(), &report);
  for (const std::string& line : report.lines) out << line << "\n";
  if (!status.ok()) {
    err << "nodefit pki " << flags.positional[0] << ": " << status.message()
        << "\n";
    return absl::IsFailedPrecondition(status) ? kExitUsage : kExitFailure;
  }
  if (rotate) {
    out << "reload nodefit (systemctl reload nodefit, or SIGHUP) so it "
           "serves the new certificate; containerd reads the client files "
           "with each pull\n";
  }
  return kExitOk;
}

}  // namespace

Command PkiCommand() {
  return Command{
      "pki",
      "make or renew the node's certificates for nodefit's mutual TLS",
      "usage: nodefit pki init [--dir DIR] [--config FILE]\n"
      "       nodefit pki rotate [--dir DIR] [--new-ca] [--config FILE]\n\n"
      "containerd reaches nodefit's resolver face over mutual TLS: nodefit "
      "presents a\nserver certificate for 127.0.0.1 and accepts only "
      "clients presenting the\nnode's client certificate, both signed by a "
      "CA made on and for this node.\n\n"
      "init makes whatever of them is missing in DIR and keeps the rest "
      "(`nodefit\nhosts install` does the same). rotate issues new server "
      "and client\ncertificates (with --new-ca, a new CA first); then "
      "reload nodefit.\n\n"
      "Files (DIR 0700; keys 0600): ca.pem ca-key.pem (ECDSA P-256, 10 "
      "years),\nserver.pem server-key.pem (CN nodefit, SAN IP:127.0.0.1, "
      "IP:::1,\nDNS:localhost; 1 year), client.pem client-key.pem (CN "
      "containerd; 1 year).\n`nodefit doctor` checks their modes and "
      "expiry.\n\n"
      "  --dir DIR      the PKI directory (default http.pki_dir, "
      "/etc/nodefit/pki)\n"
      "  --new-ca       rotate: replace the CA too\n"
      "  --config FILE  config file (default /etc/nodefit/config.json if "
      "present)\n\n"
      "Exit status: 0 done, 1 I/O failure, 2 bad usage or an unsafe "
      "directory (a\nsymlink, another user's, or writable by others).\n",
      {{"dir"}, {"new-ca", false}, {"config"}},
      &RunPki};
}

}  // namespace nodefit
