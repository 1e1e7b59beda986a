// The subcommands behind RunCli and what they share. Internal to plugin/.
#ifndef NODEFIT_PLUGIN_CLI_COMMANDS_H_
#define NODEFIT_PLUGIN_CLI_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "plugin/cli/flags.h"
#include "resolver/config/config.h"
#include "resolver/select/node_profile.h"

namespace nodefit {

struct Command {
  absl::string_view name;
  absl::string_view summary;  // one line for `nodefit --help`
  absl::string_view help;     // full text for `nodefit help NAME`
  std::vector<FlagSpec> flags;
  int (*run)(const ParsedFlags& flags, std::ostream& out, std::ostream& err);
};

const std::vector<Command>& Commands();

int RunSelect(const ParsedFlags& flags, std::ostream& out, std::ostream& err);
int RunExplain(const ParsedFlags& flags, std::ostream& out, std::ostream& err);
int RunFeatures(const ParsedFlags& flags, std::ostream& out, std::ostream& err);
int RunHosts(const ParsedFlags& flags, std::ostream& out, std::ostream& err);
// `nodefit serve`: the daemon. Loads the config (a bad one stops it with the
// message), builds the engine, starts the HTTP face and the CRI face,
// then waits for signals on the main thread:
//   SIGHUP          reload the config and re-run detection; a bad new
//                   config is logged and the old one stays in force;
//   SIGTERM/SIGINT  stop accepting, finish calls in flight (bounded),
//                   remove the CRI socket, exit 0.
int RunServe(const ParsedFlags& flags, std::ostream& out, std::ostream& err);

// --config FILE if given (it must exist), else the default path if a file is
// there, else the built-in defaults.
[[nodiscard]] absl::StatusOr<Config> LoadConfigForCli(const ParsedFlags& flags);

// The node to select for: --platform (seeds' syntax) replaces the config's
// node profile entirely (no detection); otherwise the config merged with
// detection, unless the config says "detect": false.
[[nodiscard]] absl::StatusOr<NodeProfile> NodeForCli(const Config& config,
                                                     const ParsedFlags& flags);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_CLI_COMMANDS_H_
