#include "plugin/cli.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "plugin/commands.h"
#include "resolver/platform.h"

#ifndef NODEFIT_VERSION
#define NODEFIT_VERSION "0.0.0"
#endif

namespace nodefit {
namespace {

constexpr absl::string_view kOverview =
    "nodefit makes containerd pull the build of a multi-build image that fits "
    "this node best.\n\n"
    "usage: nodefit COMMAND [flags]\n\n"
    "commands:\n";

int RunVersion(const ParsedFlags&, std::ostream& out, std::ostream&) {
  out << "nodefit " << NODEFIT_VERSION << " (" << HostBuildPlatform().String()
      << ")\n";
  return kExitOk;
}

void PrintOverview(std::ostream& out) {
  out << kOverview;
  for (const Command& c : Commands()) {
    out << "  " << c.name << std::string(10 - c.name.size(), ' ') << c.summary
        << "\n";
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
      {"select",
       "choose the best build from an index file",
       "usage: nodefit select --index FILE|- [--platform P] [--config FILE] "
       "[--json]\n\n"
       "Reads an image index (OCI index or Docker manifest list) and prints "
       "every entry,\nits requirements (met or not, and at what distance), "
       "its score or why it was\nrejected, and the chosen build.\n\n"
       "  --index FILE   the index to read; - reads standard input\n"
       "  --platform P   the node, in the form "
       "os/arch[/variant][:feature...],\n"
       "                 e.g. linux/amd64:broadwell:nv-compute-5-2:nvidia-396-"
       "44;\n"
       "                 replaces the config's platform and features\n"
       "  --config FILE  config file (default /etc/nodefit/config.json if "
       "present)\n"
       "  --json         print one JSON object instead of the table\n\n"
       "Exit status: 0 selected or passthrough, 3 no build fits (policy "
       "fail),\n2 bad usage or bad input.\n",
       {{"index"}, {"platform"}, {"config"}, {"json", false}},
       &RunSelect},
      {"explain",
       "resolve an image from its registry and explain the choice",
       "usage: nodefit explain IMAGE [--platform P] [--config FILE] "
       "[--json]\n\n"
       "Resolves IMAGE (a tag or a digest) from its registry the way "
       "containerd would,\nwith the config's registries and credentials "
       "(then a Docker config.json), and\nprints what `select` prints plus "
       "the resolution: registry, index digest and\nmedia type, and the "
       "upstream requests it made.\n\n"
       "  --platform P   the node, as for select\n"
       "  --config FILE  config file (default /etc/nodefit/config.json if "
       "present)\n"
       "  --json         print one JSON object (select's, plus "
       "\"resolution\")\n\n"
       "Exit status: 0 selected or passthrough, 3 no build fits (policy "
       "fail),\n2 bad usage or input, 4 the registry could not be read (the "
       "message names\nthe registry, the HTTP status and what to check).\n",
       {{"platform"}, {"config"}, {"json", false}},
       &RunExplain},
      {"features",
       "show the node profile and each feature's closure",
       "usage: nodefit features [--config FILE] [--platform P] [--json]\n\n"
       "Prints the node's platform and every feature it has: the configured "
       "ones and\neverything they imply, with the distance and the feature "
       "that implies it.\n\n"
       "  --config FILE  config file (default /etc/nodefit/config.json if "
       "present)\n"
       "  --platform P   use this node profile instead of the config's\n"
       "  --json         print one JSON object\n",
       {{"config"}, {"platform"}, {"json", false}},
       &RunFeatures},
      {"version",
       "print the version",
       "usage: nodefit version\n",
       {},
       &RunVersion},
  };
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
  if (!flags.Has("platform")) return config.ConfiguredNode();
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
  if (name == "--version") return RunVersion({}, out, err);
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
