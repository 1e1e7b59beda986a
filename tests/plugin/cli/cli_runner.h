// nodefit's command line run in process (RunCli, what main() calls), with
// what it printed: the CLI tests' stand-in for running the binary.
#ifndef NODEFIT_TESTS_PLUGIN_CLI_CLI_RUNNER_H_
#define NODEFIT_TESTS_PLUGIN_CLI_CLI_RUNNER_H_

#include <sstream>
#include <string>
#include <vector>

#include "plugin/cli/cli.h"

namespace nodefit::testing {

struct CliOutput {
  int code;
  std::string out, err;
};

inline CliOutput Cli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = RunCli(args, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace nodefit::testing

#endif  // NODEFIT_TESTS_PLUGIN_CLI_CLI_RUNNER_H_
