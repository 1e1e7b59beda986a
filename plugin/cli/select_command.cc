// `nodefit select`: the selection engine on an index file.
#include "absl/strings/str_cat.h"
#include "plugin/cli/cli.h"
#include "plugin/cli/commands.h"
#include "resolver/base/file_util.h"
#include "resolver/base/json_util.h"
#include "resolver/select/index.h"
#include "resolver/select/report.h"
#include "resolver/select/selector.h"

namespace nodefit {

namespace {

int RunSelect(const ParsedFlags& flags, std::ostream& out, std::ostream& err) {
  auto usage_error = [&err](absl::string_view message) {
    err << "nodefit select: " << message << "\n";
    return kExitUsage;
  };
  if (!flags.positional.empty()) {
    return usage_error(
        absl::StrCat("unexpected argument \"", flags.positional[0], "\""));
  }
  if (!flags.Has("index")) return usage_error("--index FILE is required");

  absl::StatusOr<Config> config = LoadConfigForCli(flags);
  if (!config.ok()) return usage_error(config.status().message());
  absl::StatusOr<NodeProfile> node = NodeForCli(*config, flags);
  if (!node.ok()) return usage_error(node.status().message());
  absl::StatusOr<std::unique_ptr<const Selector>> selector =
      Selector::Create(*node, config->rules, config->on_no_match);
  if (!selector.ok()) return usage_error(selector.status().message());

  const std::string path = flags.Get("index");
  absl::StatusOr<std::string> body = ReadFileToString(path, kMaxManifestBytes);
  if (!body.ok()) return usage_error(body.status().message());
  absl::StatusOr<ParsedIndex> index = ParseIndex(*body);
  if (!index.ok()) {
    return usage_error(absl::StrCat(path == "-" ? "standard input" : path, ": ",
                                    index.status().message()));
  }

  const Selection selection = (*selector)->Select(*index);
  if (flags.Has("json")) {
    out << DumpJson(SelectionToJson(selection, (*selector)->node()), 2) << "\n";
  } else {
    out << SelectionToText(selection, (*selector)->node());
  }
  return selection.outcome == Outcome::kNoMatch ? kExitNoMatch : kExitOk;
}

}  // namespace

Command SelectCommand() {
  return Command{
      "select",
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
      &RunSelect};
}

}  // namespace nodefit
