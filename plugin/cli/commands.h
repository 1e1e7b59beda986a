// The subcommands behind RunCli and what they share. Internal to plugin/.
#ifndef NODEFIT_PLUGIN_CLI_COMMANDS_H_
#define NODEFIT_PLUGIN_CLI_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "plugin/cli/flags.h"
#include "plugin/doctor/doctor.h"
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

// One factory per command, each in <name>_command.cc with its help text.
Command SelectCommand();
Command ServeCommand();
Command ExplainCommand();
Command FeaturesCommand();
Command HostsCommand();
Command VersionCommand();
Command DoctorCommand();
Command PkiCommand();
Command VocabularyCommand();
Command IndexCommand();
Command HashPasswordCommand();

// The doctor's view of this node from the command line's flags
// (--containerd-config, --containerd-bin, --kubelet-config), shared by
// `doctor` and `hosts install`.
DoctorOptions DoctorOptionsForCli(const Config& config,
                                  const ParsedFlags& flags);

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
