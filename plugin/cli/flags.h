// Command-line flags for nodefit's subcommands: "--name value",
// "--name=value", boolean "--name", repeated flags, "--" ends flags.
#ifndef NODEFIT_PLUGIN_CLI_FLAGS_H_
#define NODEFIT_PLUGIN_CLI_FLAGS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace nodefit {

struct FlagSpec {
  std::string name;  // without the leading "--"
  bool takes_value = true;
};

struct ParsedFlags {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> values;  // in given order

  bool Has(const std::string& name) const { return values.count(name) > 0; }
  // The last value given for `name`, or `fallback`.
  std::string Get(const std::string& name,
                  const std::string& fallback = "") const;
  std::vector<std::string> GetAll(const std::string& name) const;
};

// InvalidArgument names an unknown flag or a flag missing its value.
[[nodiscard]] absl::StatusOr<ParsedFlags> ParseFlags(
    const std::vector<std::string>& args, const std::vector<FlagSpec>& specs);

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_CLI_FLAGS_H_
