// nodefit's command line: `nodefit COMMAND [flags]`. main() only calls
// RunCli; tests call it in-process with string streams.
#ifndef NODEFIT_PLUGIN_CLI_CLI_H_
#define NODEFIT_PLUGIN_CLI_CLI_H_

#include <ostream>
#include <string>
#include <vector>

namespace nodefit {

// Exit statuses shared by every subcommand.
enum ExitCode : int {
  kExitOk = 0,        // done; for select/explain: selected or passthrough
  kExitFailure = 1,   // the command ran and failed (e.g. a server error)
  kExitUsage = 2,     // bad usage or bad input, message on stderr
  kExitNoMatch = 3,   // no build fits under policy fail
  kExitUpstream = 4,  // the registry could not be read
};

// `args` excludes the program name.
int RunCli(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_CLI_CLI_H_
