// `nodefit index create|lint|matrix`: the publisher's side. A thin adapter
// over resolver/publish/ (building and pushing, lint, matrix) and the
// registry client; no selection logic here.
#include <filesystem>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "plugin/cli/cli.h"
#include "plugin/cli/commands.h"
#include "resolver/base/file_util.h"
#include "resolver/base/json_util.h"
#include "resolver/base/status_macros.h"
#include "resolver/publish/index_create.h"
#include "resolver/publish/index_lint.h"
#include "resolver/publish/index_matrix.h"
#include "resolver/registry/http_client.h"
#include "resolver/registry/reference.h"
#include "resolver/registry/registry_client.h"
#include "resolver/select/index.h"

namespace nodefit {
namespace {

constexpr char kCommand[] = "nodefit index";

int Fail(std::ostream& err, int code, absl::string_view message) {
  err << kCommand << ": " << message << "\n";
  return code;
}

absl::StatusOr<std::unique_ptr<RegistryClient>> RegistryForCli(
    const Config& config) {
  ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> http, NewCurlHttpClient());
  return NewRegistryClient(RegistryClientOptions::FromConfig(config),
                           std::move(http));
}

// REF|FILE: an existing file is read as an index document; anything else
// is an image reference resolved from its registry. On failure
// `error_exit` says whose fault it was (usage or the registry).
absl::StatusOr<ParsedIndex> LoadIndex(const std::string& argument,
                                      const Config& config, int* error_exit) {
  *error_exit = kExitUsage;
  std::error_code ec;
  if (std::filesystem::is_regular_file(argument, ec)) {
    ASSIGN_OR_RETURN(std::string body,
                     ReadFileToString(argument, kMaxManifestBytes));
    absl::StatusOr<ParsedIndex> parsed = ParseIndex(body);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(argument, ": ", parsed.status().message()));
    }
    return parsed;
  }
  ASSIGN_OR_RETURN(Reference reference, ParseReference(argument));
  ASSIGN_OR_RETURN(std::unique_ptr<RegistryClient> registry,
                   RegistryForCli(config));
  *error_exit = kExitUpstream;
  ASSIGN_OR_RETURN(Resolution resolution,
                   registry->Resolve(reference, nullptr));
  return resolution.document->parsed;
}

int RunCreate(const ParsedFlags& flags, const Config& config, std::ostream& out,
              std::ostream& err) {
  if (flags.positional.size() != 2) {
    return Fail(err, kExitUsage, "create: expected one SPEC file");
  }
  absl::StatusOr<std::string> text =
      ReadFileToString(flags.positional[1], kMaxIndexSpecBytes);
  if (!text.ok()) return Fail(err, kExitUsage, text.status().message());
  absl::StatusOr<IndexSpec> spec = ParseIndexSpec(*text);
  if (!spec.ok()) {
    return Fail(
        err, kExitUsage,
        absl::StrCat(flags.positional[1], ": ", spec.status().message()));
  }
  std::optional<Reference> target;
  if (flags.Has("push")) {
    absl::StatusOr<Reference> ref = ParseReference(flags.Get("push"));
    if (!ref.ok() || !ref->digest.empty()) {
      return Fail(err, kExitUsage,
                  absl::StrCat("--push: ", ref.ok() ? "must name a tag"
                                                    : ref.status().message()));
    }
    target = *ref;
  }
  absl::StatusOr<std::unique_ptr<const Vocabulary>> vocabulary =
      Vocabulary::Create(config.rules);
  if (!vocabulary.ok()) {
    return Fail(err, kExitUsage, vocabulary.status().message());
  }
  absl::StatusOr<std::unique_ptr<RegistryClient>> registry =
      RegistryForCli(config);
  if (!registry.ok()) return Fail(err, kExitUsage, registry.status().message());

  RegistryWriter writer(registry->get());
  CreateOptions options;
  options.docker_list = flags.Has("docker");
  if (flags.Has("canonical")) options.canonical = vocabulary->get();
  absl::StatusOr<CreatedIndex> index = BuildIndex(*spec, options, &writer);
  if (!index.ok()) return Fail(err, kExitUpstream, index.status().message());
  if (flags.Has("output")) {
    absl::Status written =
        WriteFileAtomically(flags.Get("output"), index->body, 0644);
    if (!written.ok()) return Fail(err, kExitFailure, written.message());
  } else if (!target.has_value()) {
    out << index->body << "\n";
  }
  absl::StatusOr<ParsedIndex> built = ParseIndex(index->body);
  if (!built.ok()) {
    // What nodefit would not read back, nodes would not either.
    return Fail(err, kExitUsage,
                absl::StrCat("the index built: ", built.status().message()));
  }
  const LintReport lint = LintIndex(*built, **vocabulary);
  for (const LintProblem& problem : lint.problems) {
    err << kCommand << ": lint: "
        << (problem.severity == LintSeverity::kError ? "error" : "warning")
        << " " << problem.check << ": " << problem.message << "\n";
  }
  if (target.has_value()) {
    absl::Status pushed = PushIndex(*index, *target, spec->tags, &writer);
    if (!pushed.ok()) return Fail(err, kExitUpstream, pushed.message());
    const WriterStats& stats = writer.stats();
    out << "pushed " << target->String() << "@" << index->digest << " ("
        << index->entries.size() << " entries; blobs: " << stats.blobs_mounted
        << " mounted, " << stats.blobs_copied << " copied ("
        << stats.bytes_copied << " bytes), " << stats.blobs_present
        << " already there)\n";
  } else {
    err << kCommand << ": built " << index->digest << " ("
        << index->entries.size() << " entries); not pushed (no --push)\n";
  }
  return kExitOk;
}

int RunLint(const ParsedFlags& flags, const Config& config, std::ostream& out,
            std::ostream& err) {
  if (flags.positional.size() != 2) {
    return Fail(err, kExitUsage, "lint: expected one REF or FILE");
  }
  int error_exit = kExitOk;
  absl::StatusOr<ParsedIndex> index =
      LoadIndex(flags.positional[1], config, &error_exit);
  if (!index.ok()) return Fail(err, error_exit, index.status().message());
  absl::StatusOr<std::unique_ptr<const Vocabulary>> vocabulary =
      Vocabulary::Create(config.rules);
  if (!vocabulary.ok()) {
    return Fail(err, kExitUsage, vocabulary.status().message());
  }
  const LintReport report = LintIndex(*index, **vocabulary);
  if (flags.Has("json")) {
    out << DumpJson(LintToJson(report), 2) << "\n";
  } else {
    out << LintToText(report);
  }
  return report.ExitCode();
}

int RunMatrix(const ParsedFlags& flags, const Config& config, std::ostream& out,
              std::ostream& err) {
  if (flags.positional.size() != 2) {
    return Fail(err, kExitUsage, "matrix: expected one REF or FILE");
  }
  const std::string format = flags.Get("format", "text");
  if (format != "text" && format != "json" && format != "markdown" &&
      format != "html") {
    return Fail(err, kExitUsage,
                absl::StrCat("--format: \"", format,
                             "\" is not one of text, json, markdown, html"));
  }
  Platform default_platform = HostBuildPlatform();
  if (flags.Has("platform")) {
    absl::StatusOr<Platform> p = ParsePlatform(flags.Get("platform"));
    if (!p.ok()) return Fail(err, kExitUsage, p.status().message());
    default_platform = *p;
  }
  std::vector<MatrixProfile> profiles;
  for (const std::string& path : flags.GetAll("nodes")) {
    absl::StatusOr<std::string> text = ReadFileToString(path, 1 << 20);
    if (!text.ok()) return Fail(err, kExitUsage, text.status().message());
    absl::StatusOr<std::vector<MatrixProfile>> more =
        ParseMatrixProfiles(*text, path, config.nfd, default_platform);
    if (!more.ok()) return Fail(err, kExitUsage, more.status().message());
    profiles.insert(profiles.end(), more->begin(), more->end());
  }
  if (profiles.empty()) profiles = BuiltInMatrixProfiles();
  int error_exit = kExitOk;
  absl::StatusOr<ParsedIndex> index =
      LoadIndex(flags.positional[1], config, &error_exit);
  if (!index.ok()) return Fail(err, error_exit, index.status().message());
  absl::StatusOr<Matrix> matrix =
      BuildMatrix(*index, profiles, config.rules, config.on_no_match);
  if (!matrix.ok()) return Fail(err, kExitUsage, matrix.status().message());
  if (format == "json") {
    out << DumpJson(MatrixToJson(*matrix), 2) << "\n";
  } else if (format == "markdown") {
    out << MatrixToMarkdown(*matrix);
  } else if (format == "html") {
    out << MatrixToHtml(*matrix, flags.positional[1]);
  } else {
    out << MatrixToText(*matrix);
  }
  return kExitOk;
}

int RunIndex(const ParsedFlags& flags, std::ostream& out, std::ostream& err) {
  if (flags.positional.empty()) {
    return Fail(err, kExitUsage,
                "expected an action: create, lint or matrix (see `nodefit "
                "help index`)");
  }
  absl::StatusOr<Config> config = LoadConfigForCli(flags);
  if (!config.ok()) return Fail(err, kExitUsage, config.status().message());
  const std::string& action = flags.positional[0];
  if (action == "create") return RunCreate(flags, *config, out, err);
  if (action == "lint") return RunLint(flags, *config, out, err);
  if (action == "matrix") return RunMatrix(flags, *config, out, err);
  return Fail(err, kExitUsage,
              absl::StrCat("unknown action \"", action,
                           "\"; expected create, lint or matrix"));
}

}  // namespace

Command IndexCommand() {
  return Command{
      "index",
      "build, check and push a feature-tagged index (for publishers)",
      "usage: nodefit index create SPEC [--push REF] [--output FILE] "
      "[--docker]\n"
      "                            [--canonical] [--config FILE]\n"
      "       nodefit index lint REF|FILE [--json] [--config FILE]\n"
      "       nodefit index matrix REF|FILE [--nodes FILE]... [--platform P]\n"
      "                            [--format text|json|markdown|html] "
      "[--config FILE]\n\n"
      "create reads SPEC, manifest-tool's YAML (image, tags, "
      "manifests[].image,\n"
      "manifests[].platform.{architecture, os, variant, features, osversion,\n"
      "osfeatures}, manifests[].annotations) or the same as JSON, resolves "
      "each\nsource image to its manifest (a source that is an index gives "
      "its entry for\nthe platform; platform fields left out come from the "
      "image config, and a\nspec that contradicts the config is refused) "
      "and writes an OCI image index\n(--docker: a Docker manifest list) "
      "with platform.features as written\n(--canonical: in canonical "
      "spelling). --output writes it\nto FILE; without --push and "
      "--output it goes to stdout. --push REF\npushes it to REF's repository "
      "under REF's tag and the spec's tags: each\nbuild's blobs are mounted "
      "from their repository when it is on the same\nregistry, else copied "
      "in chunks (never held whole in memory), then each\nbuild's manifest, "
      "then the index. The bytes pushed are the bytes --output\nwrites. "
      "Credentials: the config's registries, then a Docker config.json; the\n"
      "token scope asked for is pull,push. lint's findings are printed on "
      "stderr.\n\n"
      "lint prints every problem of an index (a pushed image, or a file) with "
      "the\nentries it concerns: unknown feature spellings (with the nearest "
      "known one),\nentries no node can get, entries that tie so their order "
      "decides, an\nos/architecture without a featureless fallback, a variant "
      "its features\ncontradict, features on attestations or non-image "
      "entries, os.features\n(containerd 2.3+ never matches them on a default "
      "pull).\n\n"
      "matrix shows which entry each node profile gets and why the others "
      "lose:\nfor built-in common profiles, or those in --nodes files (one "
      "\"[NAME =]\nos/arch[/variant]:feature...\" per line; a file without a "
      "platform on any\nline is an NFD feature file, one profile with "
      "--platform, default this\nhost's). html is one self-contained page.\n\n"
      "Exit status: create and matrix 0 done; lint 0 clean, 1 warnings, 2 "
      "errors;\n2 bad usage or input, 4 a registry could not be read or "
      "written (the\nmessage names the registry, the repository and the HTTP "
      "status).\n",
      {{"push"},
       {"output"},
       {"docker", false},
       {"canonical", false},
       {"json", false},
       {"nodes"},
       {"platform"},
       {"format"},
       {"config"}},
      &RunIndex};
}

}  // namespace nodefit
