#include "plugin/cli/cli.h"

#include <sys/stat.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "plugin/cli/commands.h"
#include "resolver/detect/detect_node.h"
#include "resolver/select/platform.h"

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
      {"serve",
       "run the daemon: the registry-host face and the CRI face",
       "usage: nodefit serve [--config FILE] [--log-format json|text] "
       "[--log-level L]\n\n"
       "Runs nodefit for containerd: an HTTP registry host on http.listen "
       "(default\n127.0.0.1:5055) for containerd's hosts.toml, and a CRI "
       "image service on\ncri.listen (default unix:///run/nodefit/cri.sock) "
       "for kubelet and crictl,\nforwarding to cri.containerd. Detection runs "
       "at start-up and on SIGHUP,\nwhich also reloads the config (a bad one "
       "is logged and the old one stays);\nSIGTERM stops accepting, "
       "finishes calls in flight, removes the socket and\nexits 0.\n\n"
       "  --config FILE       config file (default /etc/nodefit/config.json "
       "if present)\n"
       "  --log-format F      json (default) or text, on stderr\n"
       "  --log-level L       debug, info (default), warning or error\n",
       {{"config"}, {"log-format"}, {"log-level"}},
       &RunServe},
      {"explain",
       "resolve an image from its registry and explain the choice",
       "usage: nodefit explain IMAGE [--platform P] [--config FILE] "
       "[--json]\n\n"
       "Resolves IMAGE (a tag or a digest) from its registry with "
       "containerd's Accept\nlist and no more requests than containerd "
       "makes (a new tag: one GET), with\nthe config's registries and "
       "credentials (then a Docker config.json), and\nprints what `select` "
       "prints plus "
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
       "show the node profile, where each feature came from, its closure",
       "usage: nodefit features [--config FILE] [--platform P] [--json]\n"
       "         [--write-nfd FILE] [--cpuinfo PATH] [--nvidia-version PATH]\n"
       "         [--nvidia-smi PATH] [--nfd-dir DIR]\n\n"
       "Prints the node's platform (amd64: its x86-64 level as the variant) "
       "and every\nfeature it has, where it came from (config, cpu, nvidia, "
       "nfd; platform for\nthe variant's) and everything it implies, with "
       "the distance. Unless the config\nsays \"detect\": false, the "
       "config's features are merged with those detected\nfrom "
       "/proc/cpuinfo, /proc/driver/nvidia/version, nvidia-smi and the Node\n"
       "Feature Discovery files; what could not be detected is printed to "
       "stderr as\n\"nodefit features: note: ...\".\n\n"
       "  --config FILE          config file (default "
       "/etc/nodefit/config.json if present)\n"
       "  --platform P           use this node profile instead (no "
       "detection)\n"
       "  --json                 print one JSON object\n"
       "  --write-nfd FILE       also write the detected cpu and nvidia "
       "features to FILE\n"
       "                         as NFD feature lines (<prefix><feature>), "
       "atomically\n"
       "  --cpuinfo PATH         read PATH instead of /proc/cpuinfo\n"
       "  --nvidia-version PATH  read PATH instead of "
       "/proc/driver/nvidia/version\n"
       "  --nvidia-smi PATH      the nvidia-smi to run (default: nvidia-smi "
       "in PATH;\n"
       "                         a missing one is a note)\n"
       "  --nfd-dir DIR          read NFD feature files from DIR instead of "
       "the config's\n"
       "                         nfd.features_dir\n",
       {{"config"},
        {"platform"},
        {"json", false},
        {"write-nfd"},
        {"cpuinfo"},
        {"nvidia-version"},
        {"nvidia-smi"},
        {"nfd-dir"}},
       &RunFeatures},
      {"hosts",
       "put nodefit first in containerd's hosts.toml files, or take it out",
       "usage: nodefit hosts install --certs-dir DIR [--address URL] "
       "[--registry HOST]...\n"
       "       nodefit hosts remove --certs-dir DIR\n\n"
       "install makes nodefit the first registry host containerd tries: in "
       "each\nhosts.toml under DIR (containerd's config_path, usually "
       "/etc/containerd/certs.d)\nit inserts, with a comment line naming "
       "nodefit, the table\n\n"
       "  [host.\"URL\"]\n"
       "    capabilities = [\"pull\", \"resolve\"]\n\n"
       "just before the file's first table (containerd tries hosts in file "
       "order), or\nat the end if it has none. Every other byte stays as it "
       "was; a file that\nalready has that host is left alone. Each file is "
       "parsed first: if any does\nnot parse, no file is changed. A changed "
       "file is backed up beside itself as\nhosts.toml.nodefit-backup, and "
       "DIR/.nodefit-hosts.json records what was\nchanged or created.\n\n"
       "remove undoes install exactly: changed files get their backups "
       "back, created\nfiles and directories are deleted. A file edited "
       "after install loses only\nnodefit's table and keeps the edits (said "
       "on stderr). Both are idempotent.\n\n"
       "  --certs-dir DIR  containerd's hosts directory (required; install "
       "needs it\n"
       "                   to exist)\n"
       "  --address URL    nodefit's registry endpoint, http(s)://host:port "
       "(install;\n"
       "                   default http://127.0.0.1:5055)\n"
       "  --registry HOST  only this registry's DIR/HOST/hosts.toml, "
       "created if absent;\n"
       "                   repeatable; _default is the fallback file "
       "(install). Without\n"
       "                   it: DIR/_default/hosts.toml (created if absent) "
       "and every\n"
       "                   existing DIR/*/hosts.toml\n\n"
       "Prints one line per file: added, already present, created, "
       "restored, deleted.\nExit status: 0 done, 1 I/O failure, 2 bad usage "
       "or a file nodefit will not\nedit (e.g. it does not parse; the "
       "message names the file, line and column).\n",
       {{"certs-dir"}, {"address"}, {"registry"}},
       &RunHosts},
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
