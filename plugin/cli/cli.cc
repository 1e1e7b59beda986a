#include "plugin/cli/cli.h"

#include <sys/stat.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "plugin/cli/commands.h"
#include "resolver/detect/detect_node.h"
#include "resolver/select/platform.h"

namespace nodefit {
namespace {

constexpr absl::string_view kOverview =
    "nodefit makes containerd pull the build of a multi-build image that fits "
    "this node best.\n\n"
    "usage: nodefit COMMAND [flags]\n\n"
    "commands:\n";

void PrintOverview(std::ostream& out) {
  out << kOverview;
  size_t width = 0;
  for (const Command& c : Commands()) width = std::max(width, c.name.size());
  for (const Command& c : Commands()) {
    out << "  " << c.name << std::string(width + 2 - c.name.size(), ' ')
        << c.summary << "\n";
  }
  out << "\nRun `nodefit help COMMAND` for a command's flags.\n"
      << "Exit status: 0 done, 1 failure, 2 bad usage or input, 3 no build "
         "fits (policy fail), 4 registry unreachable or refused.\n";
}

const Command* FindCommand(absl::string_view name) {
  for (const Command& c : Commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command>* const kCommands = new std::vector<Command>{
      SelectCommand(),       ServeCommand(),      ExplainCommand(),
      FeaturesCommand(),     HostsCommand(),      DoctorCommand(),
      PkiCommand(),          VocabularyCommand(), IndexCommand(),
      HashPasswordCommand(), VersionCommand()};
  return *kCommands;
}

absl::StatusOr<Config> LoadConfigForCli(const ParsedFlags& flags) {
  if (flags.Has("config")) return LoadConfig(flags.Get("config"));
  struct stat st;
  const std::string path(kDefaultConfigPath);
  if (stat(path.c_str(), &st) == 0) return LoadConfig(path);
  Config config;
  config.source = "(defaults)";
  return config;
}

absl::StatusOr<NodeProfile> NodeForCli(const Config& config,
                                       const ParsedFlags& flags) {
  if (!flags.Has("platform")) {
    // The node as the daemon sees it: the config merged with detection
    // (unless "detect": false). Notes are for `nodefit features`.
    absl::StatusOr<std::unique_ptr<const Vocabulary>> vocabulary =
        Vocabulary::Create(config.rules);
    if (!vocabulary.ok()) return vocabulary.status();
    return BuildNodeProfile(config, **vocabulary, DetectOptionsFor(config))
        .profile;
  }
  absl::StatusOr<PlatformSpec> spec = ParsePlatformSpec(flags.Get("platform"));
  if (!spec.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--platform: ", spec.status().message()));
  }
  return NodeProfile{spec->platform, spec->features};
}

int RunCli(const std::vector<std::string>& args, std::ostream& out,
           std::ostream& err) {
  if (args.empty()) {
    PrintOverview(err);
    return kExitUsage;
  }
  const std::string& name = args[0];
  if (name == "--help" || name == "-h") {
    PrintOverview(out);
    return kExitOk;
  }
  if (name == "--version") return VersionCommand().run({}, out, err);
  if (name == "help") {
    if (args.size() == 1) {
      PrintOverview(out);
      return kExitOk;
    }
    const Command* command = FindCommand(args[1]);
    if (command == nullptr) {
      err << "nodefit: unknown command \"" << args[1] << "\"\n";
      return kExitUsage;
    }
    out << command->help;
    return kExitOk;
  }
  const Command* command = FindCommand(name);
  if (command == nullptr) {
    err << "nodefit: unknown command \"" << name
        << "\"; run `nodefit --help`\n";
    return kExitUsage;
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  for (const std::string& arg : rest) {
    if (arg == "--help" || arg == "-h") {
      out << command->help;
      return kExitOk;
    }
    if (arg == "--") break;
  }
  absl::StatusOr<ParsedFlags> flags = ParseFlags(rest, command->flags);
  if (!flags.ok()) {
    err << "nodefit " << name << ": " << flags.status().message() << "\n"
        << command->help;
    return kExitUsage;
  }
  return command->run(*flags, out, err);
}

}  // namespace nodefit
