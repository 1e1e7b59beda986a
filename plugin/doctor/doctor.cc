#include "plugin/doctor/doctor.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "plugin/containerd/containerd_client.h"
#include "plugin/containerd/hosts_toml.h"
#include "resolver/base/command_runner.h"
#include "resolver/base/file_util.h"
#include "resolver/base/status_macros.h"
#include "resolver/registry/http_client.h"
#include "yaml-cpp/yaml.h"

namespace nodefit {
namespace {

using Result = DoctorCheck::Result;

constexpr size_t kMaxFileBytes = size_t{1} << 20;
constexpr auto kProbeTimeout = std::chrono::seconds(3);

DoctorCheck Ok(std::string name, std::string message) {
  return {std::move(name), Result::kOk, std::move(message), ""};
}
DoctorCheck Problem(std::string name, std::string message, std::string fix) {
  return {std::move(name), Result::kProblem, std::move(message),
          std::move(fix)};
}
DoctorCheck Skipped(std::string name, std::string message) {
  return {std::move(name), Result::kSkipped, std::move(message), ""};
}

std::string UnixPath(const std::string& address) {
  return std::string(absl::StripPrefix(address, "unix://"));
}

// --- The real node -----------------------------------------------------------

class RealNodeProbe : public NodeProbe {
 public:
  absl::StatusOr<std::string> ContainerdVersion(
      const std::string& address) override {
    std::unique_ptr<ContainerdClient> client =
        NewGrpcContainerdClient(NewContainerdChannel(address));
    return client->Version(std::chrono::system_clock::now() + kProbeTimeout);
  }

  absl::StatusOr<std::string> ContainerdConfigDump(
      const std::string& binary, const std::string& file) override {
    struct stat st;
    std::vector<std::string> argv = {binary, "config", "default"};
    if (stat(file.c_str(), &st) == 0) {
      argv = {binary, "--config", file, "config", "dump"};
    }
    CommandLimits limits;
    limits.max_output_bytes = kMaxFileBytes;
    ASSIGN_OR_RETURN(CommandResult result, runner_.Run(argv, limits));
    if (result.exit_code != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          absl::StrJoin(argv, " "),
          " failed: ", absl::StripAsciiWhitespace(result.error_output)));
    }
    return result.output;
  }

  absl::StatusOr<std::string> ContainerdBinaryVersion(
      const std::string& binary) override {
    ASSIGN_OR_RETURN(CommandResult result,
                     runner_.Run({binary, "--version"}, CommandLimits()));
    // "containerd <module> <version> <revision>"
    std::vector<std::string> words =
        absl::StrSplit(result.output, ' ', absl::SkipWhitespace());
    if (result.exit_code != 0 || words.size() < 3) {
      return absl::FailedPreconditionError(
          absl::StrCat(binary, " --version: unexpected output"));
    }
    return words[2];
  }

  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    return ReadFileToString(path, kMaxFileBytes);
  }

  absl::StatusOr<std::vector<std::string>> ListDirectories(
      const std::string& dir) override {
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) {
      if (errno == ENOENT) return absl::NotFoundError(dir + " does not exist");
      return absl::InternalError(absl::StrCat("cannot read ", dir));
    }
    std::vector<std::string> names;
    while (dirent* entry = readdir(d)) {
      const std::string name = entry->d_name;
      struct stat st;
      if (name == "." || name == ".." ||
          lstat(absl::StrCat(dir, "/", name).c_str(), &st) != 0 ||
          !S_ISDIR(st.st_mode)) {
        continue;
      }
      names.push_back(name);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  absl::StatusOr<int> HttpGet(const std::string& url) override {
    ASSIGN_OR_RETURN(std::unique_ptr<HttpClient> client, NewCurlHttpClient());
    HttpRequest request;
    request.url = url;
    request.timeout = absl::Seconds(3);
    request.connect_timeout = absl::Seconds(2);
    ASSIGN_OR_RETURN(HttpResponse response, client->Send(request));
    return response.status;
  }

  std::vector<PkiFinding> InspectPki(const std::string& dir) override {
    return ::nodefit::InspectPki(PkiPaths{dir}, absl::Now(),
                                 absl::Hours(24 * 30));
  }

  absl::StatusOr<bool> GrpcServing(const std::string& address) override {
    auto stub = grpc::health::v1::Health::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kProbeTimeout);
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status s = stub->Check(&context, request, &response);
    if (!s.ok()) {
      return absl::UnavailableError(
          absl::StrCat(address, ": ", s.error_message()));
    }
    return response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  }

 private:
  SubprocessRunner runner_;
};

// --- The checks
// ----------------------------------------------------------------

DoctorCheck CheckContainerd(const DoctorOptions& options, NodeProbe& probe,
                            std::string* version) {
  const std::string& address = options.config.cri.containerd;
  absl::StatusOr<std::string> v = probe.ContainerdVersion(address);
  if (!v.ok()) {
    return Problem("containerd",
                   absl::StrCat("containerd does not answer on ", address, ": ",
                                v.status().message()),
                   "start containerd, or set cri.containerd in nodefit's "
                   "config to its socket");
  }
  *version = *v;
  return Ok("containerd",
            absl::StrCat("containerd ", *v, " answers on ", address));
}

// One check per hosts.toml containerd's CRI pulls read. With several
// directories, containerd takes a registry's from the first directory that
// has one for it or a _default (HostDirFromRoot per directory, in order), so
// a _default ends the search.
void CheckHostsFiles(const DoctorOptions& options, const PullPath& path,
                     NodeProbe& probe, std::vector<DoctorCheck>& checks) {
  if (path.hosts_dirs.empty()) return;  // containerd-config said why
  const std::string address = NodefitHostAddress(options.config);
  std::set<std::string> seen;
  bool any_dir = false;
  bool has_default = false;
  for (const std::string& dir : path.hosts_dirs) {
    if (has_default) break;
    absl::StatusOr<std::vector<std::string>> names = probe.ListDirectories(dir);
    if (!names.ok()) continue;  // containerd skips it too
    any_dir = true;
    const std::string install =
        absl::StrCat("nodefit hosts install --certs-dir ", dir);
    for (const std::string& name : *names) {
      if (!seen.insert(name).second) continue;  // an earlier directory's
      if (name == "_default") has_default = true;
      const std::string file = absl::StrCat(dir, "/", name, "/hosts.toml");
      const std::string fix = name == "_default"
                                  ? install
                                  : absl::StrCat(install, " --registry ", name);
      absl::StatusOr<std::string> content = probe.ReadFile(file);
      if (!content.ok()) {
        checks.push_back(Problem(
            "hosts-toml",
            absl::StrCat(file, " is missing: containerd uses ", dir, "/", name,
                         " for that registry and never asks nodefit"),
            fix));
        continue;
      }
      const absl::Status first = CheckNodefitFirst(*content, file, address);
      if (!first.ok()) {
        checks.push_back(
            Problem("hosts-toml", std::string(first.message()), fix));
      } else {
        checks.push_back(Ok("hosts-toml", absl::StrCat(file, " tries nodefit (",
                                                       address, ") first")));
      }
    }
  }
  const std::string& first = path.hosts_dirs.front();
  const std::string install =
      absl::StrCat("nodefit hosts install --certs-dir ", first);
  if (!any_dir) {
    checks.push_back(
        Problem("hosts-toml",
                absl::StrCat("containerd reads hosts.toml from ",
                             absl::StrJoin(path.hosts_dirs, " and "),
                             ", but no such directory exists"),
                absl::StrCat("mkdir -p ", first, " && ", install)));
  } else if (!has_default) {
    checks.push_back(Problem(
        "hosts-toml",
        absl::StrCat(first,
                     "/_default is missing: pulls from registries without a "
                     "directory of their own skip nodefit"),
        install));
  }
}

void CheckTls(const DoctorOptions& options, NodeProbe& probe,
              std::vector<DoctorCheck>& checks) {
  const std::string& dir = options.config.http.pki_dir;
  if (options.config.http.insecure_plain_http) {
    checks.push_back(Problem(
        "tls",
        absl::StrCat("http.insecure_plain_http is set: any local user can "
                     "ask nodefit, or take its port and answer containerd"),
        "remove http.insecure_plain_http, run `nodefit hosts install` with "
        "the https address and reload nodefit"));
    return;
  }
  for (const PkiFinding& finding : probe.InspectPki(dir)) {
    if (finding.ok) {
      checks.push_back(Ok("tls", finding.message));
    } else {
      checks.push_back(Problem(
          "tls", finding.message,
          absl::StrCat("nodefit pki rotate --dir ", dir,
                       " (or `nodefit pki init` when files are missing), "
                       "then systemctl reload nodefit")));
    }
  }
}

DoctorCheck CheckHttpFace(const DoctorOptions& options, NodeProbe& probe) {
  const std::string url =
      absl::StrCat("http://", options.config.http.health_listen, "/readyz");
  absl::StatusOr<int> code = probe.HttpGet(url);
  if (!code.ok() || *code != 200) {
    return Problem(
        "http-face",
        absl::StrCat("nodefit does not answer ", url,
                     " (its health listener): ",
                     code.ok() ? absl::StrCat("HTTP ", *code)
                               : std::string(code.status().message())),
        "start nodefit (systemctl start nodefit) and check its log");
  }
  return Ok("http-face", absl::StrCat(url, " answers 200"));
}

DoctorCheck CheckCriFace(const DoctorOptions& options, NodeProbe& probe) {
  const std::string& address = options.config.cri.listen;
  absl::StatusOr<bool> serving = probe.GrpcServing(address);
  if (!serving.ok()) {
    return Problem("cri-face",
                   absl::StrCat("nodefit's CRI socket does not answer: ",
                                serving.status().message()),
                   "start nodefit (systemctl start nodefit) and check its log");
  }
  if (!*serving) {
    return Problem(
        "cri-face",
        absl::StrCat(address,
                     " answers, but nodefit cannot reach containerd "
                     "at ",
                     options.config.cri.containerd),
        "start containerd, or set cri.containerd in nodefit's config to its "
        "socket");
  }
  return Ok("cri-face",
            absl::StrCat(address, " answers and reaches containerd"));
}

// kubelet's imageServiceEndpoint, from its KubeletConfiguration (YAML).
absl::StatusOr<std::string> ImageServiceEndpoint(const std::string& yaml,
                                                 const std::string& path) {
  try {
    const YAML::Node root = YAML::Load(yaml);
    const YAML::Node endpoint = root["imageServiceEndpoint"];
    return endpoint ? endpoint.as<std::string>() : std::string();
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot parse ", path, ": ", e.what()));
  }
}

DoctorCheck CheckKubelet(const DoctorOptions& options, NodeProbe& probe) {
  const std::string& path = options.kubelet_config;
  absl::StatusOr<std::string> content = probe.ReadFile(path);
  if (absl::IsNotFound(content.status())) {
    return Skipped("kubelet",
                   absl::StrCat("no kubelet config at ", path,
                                " (no kubelet on this node, or name it with "
                                "--kubelet-config)"));
  }
  if (!content.ok()) {
    return Problem("kubelet", std::string(content.status().message()),
                   "make the file readable to root");
  }
  absl::StatusOr<std::string> endpoint = ImageServiceEndpoint(*content, path);
  if (!endpoint.ok()) {
    return Problem("kubelet", std::string(endpoint.status().message()),
                   "fix the file's YAML");
  }
  const std::string& socket = options.config.cri.listen;
  const std::string fix = absl::StrCat("set imageServiceEndpoint: ", socket,
                                       " in ", path, " and restart kubelet");
  if (endpoint->empty()) {
    return Problem(
        "kubelet",
        absl::StrCat(path,
                     " sets no imageServiceEndpoint: kubelet pulls through "
                     "containerd directly, so images pinned by index digest "
                     "and kubelet's pull credentials never reach nodefit"),
        fix);
  }
  if (UnixPath(*endpoint) != UnixPath(socket)) {
    return Problem("kubelet",
                   absl::StrCat(path, " has imageServiceEndpoint ", *endpoint,
                                ", not nodefit's ", socket),
                   fix);
  }
  return Ok("kubelet", absl::StrCat("kubelet pulls through nodefit (", path,
                                    ": imageServiceEndpoint ", *endpoint, ")"));
}

}  // namespace

std::unique_ptr<NodeProbe> NewNodeProbe() {
  return std::make_unique<RealNodeProbe>();
}

std::string NodefitHostAddress(const Config& config) {
  return absl::StrCat(config.http.insecure_plain_http ? "http://" : "https://",
                      config.http.listen);
}

absl::StatusOr<PullPath> InspectPullPath(const DoctorOptions& options,
                                         NodeProbe& probe) {
  absl::StatusOr<std::string> text =
      probe.ContainerdVersion(options.config.cri.containerd);
  if (!text.ok()) {
    text = probe.ContainerdBinaryVersion(options.containerd_binary);
  }
  if (!text.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot tell containerd's version: it does not answer on ",
                     options.config.cri.containerd, " and ",
                     options.containerd_binary, " --version failed"));
  }
  ASSIGN_OR_RETURN(ContainerdVersion version, ContainerdVersion::Parse(*text));
  absl::StatusOr<std::string> config = probe.ContainerdConfigDump(
      options.containerd_binary, options.containerd_config);
  std::string source =
      absl::StrCat("`containerd config dump` of ", options.containerd_config);
  if (!config.ok()) {
    config = probe.ReadFile(options.containerd_config);
    source = options.containerd_config;
    if (absl::IsNotFound(config.status())) config = std::string();
  }
  if (!config.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read containerd's config ", options.containerd_config, ": ",
        config.status().message()));
  }
  return AnalyzePullPath(version, *config, source);
}

std::vector<DoctorCheck> RunDoctor(const DoctorOptions& options,
                                   NodeProbe& probe) {
  std::vector<DoctorCheck> checks;
  std::string version;
  checks.push_back(CheckContainerd(options, probe, &version));

  absl::StatusOr<PullPath> path = InspectPullPath(options, probe);
  if (!path.ok()) {
    checks.push_back(Problem(
        "containerd-config", std::string(path.status().message()),
        "give the containerd binary (--containerd-bin) or its config file "
        "(--containerd-config)"));
  } else if (!path->problems.empty()) {
    for (const PullPathProblem& p : path->problems) {
      checks.push_back(Problem("containerd-config", p.problem, p.fix));
    }
  } else {
    checks.push_back(
        Ok("containerd-config",
           absl::StrCat("containerd ", path->version.text, "'s CRI pulls ",
                        path->transfer_service
                            ? "go through the transfer service"
                            : "are made by the CRI plugin itself",
                        path->local_pull_reason.empty()
                            ? ""
                            : absl::StrCat(" (", path->local_pull_reason, ")"),
                        " and read hosts.toml from ",
                        absl::StrJoin(path->hosts_dirs, " and "))));
  }
  if (path.ok()) CheckHostsFiles(options, *path, probe, checks);
  CheckTls(options, probe, checks);
  checks.push_back(CheckHttpFace(options, probe));
  checks.push_back(CheckCriFace(options, probe));
  checks.push_back(CheckKubelet(options, probe));
  return checks;
}

std::string LikelyBypassCause(const DoctorOptions& options, NodeProbe& probe) {
  absl::StatusOr<PullPath> path = InspectPullPath(options, probe);
  if (!path.ok()) {
    return absl::StrCat("unknown (", path.status().message(),
                        "); run `nodefit doctor`");
  }
  if (!path->problems.empty()) {
    std::vector<std::string> parts;
    for (const PullPathProblem& p : path->problems) {
      parts.push_back(absl::StrCat(p.problem, "; fix: ", p.fix));
    }
    return absl::StrJoin(parts, " | ");
  }
  return absl::StrCat(
      "containerd's CRI pulls read hosts.toml from ",
      absl::StrJoin(path->hosts_dirs, " and "),
      "; the image was imported, pulled by a client that reads another hosts "
      "directory (ctr without --hosts-dir), or that directory does not name "
      "nodefit first: run `nodefit doctor`");
}

bool AllPassed(const std::vector<DoctorCheck>& checks) {
  return std::none_of(checks.begin(), checks.end(), [](const DoctorCheck& c) {
    return c.result == Result::kProblem;
  });
}

std::string DoctorToText(const std::vector<DoctorCheck>& checks) {
  std::string out;
  for (const DoctorCheck& c : checks) {
    const char* label = c.result == Result::kOk        ? "ok      "
                        : c.result == Result::kProblem ? "problem "
                                                       : "skipped ";
    absl::StrAppend(
        &out, label, " ", c.name,
        std::string(c.name.size() < 18 ? 18 - c.name.size() : 1, ' '),
        c.message);
    if (c.result == Result::kProblem) absl::StrAppend(&out, "; fix: ", c.fix);
    absl::StrAppend(&out, "\n");
  }
  return out;
}

nlohmann::json DoctorToJson(const std::vector<DoctorCheck>& checks) {
  nlohmann::json out = {{"ok", AllPassed(checks)},
                        {"checks", nlohmann::json::array()}};
  for (const DoctorCheck& c : checks) {
    nlohmann::json check = {
        {"check", c.name},
        {"result", c.result == Result::kOk        ? "ok"
                   : c.result == Result::kProblem ? "problem"
                                                  : "skipped"},
        {"message", c.message}};
    if (c.result == Result::kProblem) check["fix"] = c.fix;
    out["checks"].push_back(std::move(check));
  }
  return out;
}

}  // namespace nodefit
