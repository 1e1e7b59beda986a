#include "integration/testbed/docker.h"

#include <curl/curl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "integration/testbed/containerd.h"
#include "resolver/base/status_macros.h"

namespace nodefit::testbed {
namespace {

constexpr const char* kRunDocker = "/run/docker";
constexpr const char* kRunDockerPlugins = "/run/docker/plugins";

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

size_t Append(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

std::string Escape(const std::string& s) {
  char* escaped = curl_escape(s.data(), static_cast<int>(s.size()));
  std::string out = escaped != nullptr ? escaped : "";
  curl_free(escaped);
  return out;
}

// "host/repo:tag" as the Engine API wants it: fromImage and tag apart.
std::pair<std::string, std::string> SplitTag(const std::string& image) {
  const size_t slash = image.rfind('/');
  const size_t colon = image.rfind(':');
  if (image.find('@') != std::string::npos || colon == std::string::npos ||
      (slash != std::string::npos && colon < slash)) {
    return {image, ""};
  }
  return {image.substr(0, colon), image.substr(colon + 1)};
}

// Mount points at or under `dir` (from /proc/self/mountinfo), deepest first.
std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> mounts;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 5) continue;
    const std::string& point = fields[4];
    if (point == dir || absl::StartsWith(point, dir + "/")) {
      mounts.push_back(point);
    }
  }
  std::sort(mounts.begin(), mounts.end(),
            [](const std::string& a, const std::string& b) {
              return a.size() > b.size();
            });
  return mounts;
}

std::vector<std::string> ListTree(const std::string& root) {
  std::vector<std::string> paths;
  std::error_code error;
  for (auto it = std::filesystem::recursive_directory_iterator(root, error);
       !error && it != std::filesystem::recursive_directory_iterator();
       it.increment(error)) {
    std::string rel = std::filesystem::relative(it->path(), root).string();
    if (it->is_directory() && !it->is_symlink()) rel += "/";
    paths.push_back(rel);
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace

absl::StatusOr<DockerdPeer> DockerdPeer::FromEnvironment() {
  const char* binary = std::getenv("NODEFIT_DOCKERD");
  const char* version = std::getenv("NODEFIT_DOCKERD_VERSION");
  if (binary == nullptr || version == nullptr) {
    return absl::FailedPreconditionError(
        "NODEFIT_DOCKERD and NODEFIT_DOCKERD_VERSION are not set (CTest sets "
        "them from integration/peers/versions)");
  }
  DockerdPeer peer{binary, version};
  if (access(binary, X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        binary, " is missing: scripts/install-peers builds dockerd ", version,
        " (integration/peers/versions)"));
  }
  // "Docker version 2.0.0-beta.24, build nodefit-peer"
  ASSIGN_OR_RETURN(std::string out, RunCommand({binary, "--version"}));
  if (!absl::StrContains(out, absl::StrCat("version ", version, ","))) {
    return absl::FailedPreconditionError(
        absl::StrCat(binary, " is not dockerd ", version, ": ",
                     absl::StripAsciiWhitespace(out)));
  }
  return peer;
}

absl::StatusOr<std::unique_ptr<DockerServer>> DockerServer::Start(
    const DockerOptions& options) {
  if (options.containerd_socket.empty()) {
    return absl::InvalidArgumentError("DockerOptions.containerd_socket");
  }
  std::string binary = options.dockerd;
  if (binary.empty()) {
    ASSIGN_OR_RETURN(DockerdPeer peer, DockerdPeer::FromEnvironment());
    binary = peer.binary;
  }
  // Short: the API socket and libnetwork's sockets live under it.
  const std::string dir = ShortTempDir();
  if (dir.empty()) return absl::InternalError("mkdtemp");
  nlohmann::json config = {{"debug", true}};
  // The containerd store is Docker's default on a fresh data root (moby:
  // daemon/image_store_choice.go), so it is left to the default.
  if (options.store == DockerImageStore::kClassic) {
    config["features"] = {{"containerd-snapshotter", false}};
    config["storage-driver"] = "vfs";  // needs nothing of the kernel
  }
  if (!options.registry_mirrors.empty()) {
    config["registry-mirrors"] = options.registry_mirrors;
  }
  if (!options.insecure_registries.empty()) {
    config["insecure-registries"] = options.insecure_registries;
  }
  std::ofstream(dir + "/daemon.json") << config.dump(2) << "\n";
  const bool made_run_docker = !Exists(kRunDocker);
  absl::StatusOr<std::unique_ptr<Subprocess>> process =
      Subprocess::Start({binary,
                         "--config-file",
                         dir + "/daemon.json",
                         "--containerd",
                         options.containerd_socket,
                         "--containerd-namespace",
                         options.containerd_namespace,
                         "--containerd-plugins-namespace",
                         options.containerd_namespace + "-plugins",
                         "--data-root",
                         dir + "/data",
                         "--exec-root",
                         dir + "/x",
                         "--pidfile",
                         dir + "/d.pid",
                         "-H",
                         "unix://" + dir + "/d.sock",
                         "--bridge",
                         "none",
                         "--iptables=false",
                         "--ip6tables=false",
                         "--userland-proxy=false"},
                        dir + "/dockerd.log");
  if (!process.ok()) return process.status();
  std::unique_ptr<DockerServer> server(
      new DockerServer(dir, *std::move(process), made_run_docker));
  absl::Status ready = WaitFor(
      [&] {
        if (!server->process_->Running()) return true;  // reported below
        absl::StatusOr<EngineResponse> ping =
            server->Request("GET", "/_ping", "", absl::Seconds(2));
        return ping.ok() && ping->status == 200;
      },
      absl::Seconds(60), "dockerd");
  if (!ready.ok() || !server->process_->Running()) {
    return absl::UnavailableError(
        absl::StrCat("dockerd did not become ready; log:\n", server->log()));
  }
  return server;
}

DockerServer::~DockerServer() {
  Stop();
  for (const std::string& mount : MountsUnder(dir_)) {
    umount2(mount.c_str(), MNT_DETACH);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void DockerServer::Stop() {
  // dockerd shuts its containerd clients down before exiting.
  process_->Stop(absl::Seconds(20));
  if (made_run_docker_) {
    rmdir(kRunDockerPlugins);
    rmdir(kRunDocker);
  }
}

absl::StatusOr<EngineResponse> DockerServer::Request(
    const std::string& method, const std::string& path,
    const std::string& json_body, absl::Duration timeout) const {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("curl_easy_init");
  EngineResponse response;
  const std::string sock = socket();
  const std::string url = "http://docker" + path;
  curl_slist* headers = nullptr;
  curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  if (method == "POST" || method == "PUT") {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json_body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
                     static_cast<long>(json_body.size()));
  }
  const CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (code != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat(method, " ", path, ": ", curl_easy_strerror(code)));
  }
  return response;
}

namespace {

absl::StatusOr<nlohmann::json> JsonOf(const EngineResponse& response,
                                      const std::string& what) {
  if (response.status / 100 != 2) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": HTTP ", response.status, ": ", response.body));
  }
  nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
  if (doc.is_discarded()) {
    return absl::InternalError(
        absl::StrCat(what, ": not JSON: ", response.body));
  }
  return doc;
}

}  // namespace

absl::StatusOr<nlohmann::json> DockerServer::Version() const {
  ASSIGN_OR_RETURN(EngineResponse r, Request("GET", "/version"));
  return JsonOf(r, "GET /version");
}

absl::StatusOr<nlohmann::json> DockerServer::Info() const {
  ASSIGN_OR_RETURN(EngineResponse r, Request("GET", "/info"));
  return JsonOf(r, "GET /info");
}

absl::StatusOr<std::string> DockerServer::Pull(const std::string& image) const {
  const auto [from, tag] = SplitTag(image);
  std::string path = "/images/create?fromImage=" + Escape(from);
  if (!tag.empty()) absl::StrAppend(&path, "&tag=", Escape(tag));
  ASSIGN_OR_RETURN(EngineResponse r,
                   Request("POST", path, "", absl::Seconds(180)));
  if (r.status != 200) {
    return absl::FailedPreconditionError(
        absl::StrCat("docker pull ", image, ": HTTP ", r.status, ": ", r.body));
  }
  // Progress messages, one JSON object per line; a failure is one with
  // "error", still under status 200.
  for (absl::string_view line : absl::StrSplit(r.body, '\n')) {
    nlohmann::json message = nlohmann::json::parse(line, nullptr, false);
    if (message.is_object() && message.contains("error")) {
      return absl::FailedPreconditionError(
          absl::StrCat("docker pull ", image, ": ", message["error"].dump()));
    }
  }
  return r.body;
}

absl::StatusOr<nlohmann::json> DockerServer::InspectImage(
    const std::string& image) const {
  ASSIGN_OR_RETURN(EngineResponse r,
                   Request("GET", "/images/" + image + "/json"));
  return JsonOf(r, "inspect " + image);
}

absl::StatusOr<std::string> DockerServer::ImageTarget(
    const std::string& image) const {
  ASSIGN_OR_RETURN(nlohmann::json inspect, InspectImage(image));
  const nlohmann::json* descriptor =
      inspect.contains("Descriptor") ? &inspect["Descriptor"] : nullptr;
  if (descriptor == nullptr || !descriptor->is_object() ||
      !descriptor->contains("digest") || !(*descriptor)["digest"].is_string()) {
    return absl::NotFoundError(absl::StrCat(
        image, " has no target descriptor (the classic image store?): ",
        inspect.dump()));
  }
  return (*descriptor)["digest"].get<std::string>();
}

absl::StatusOr<std::string> DockerServer::ReadImageFile(
    const std::string& image, const std::string& path) const {
  // Never started, so the command need not exist; no network either.
  const nlohmann::json create = {{"Image", image},
                                 {"Cmd", {"/nodefit-test-never-started"}},
                                 {"HostConfig", {{"NetworkMode", "none"}}}};
  ASSIGN_OR_RETURN(EngineResponse created,
                   Request("POST", "/containers/create", create.dump()));
  ASSIGN_OR_RETURN(nlohmann::json doc,
                   JsonOf(created, "create a container of " + image));
  if (!doc.contains("Id") || !doc["Id"].is_string()) {
    return absl::InternalError("container create: no Id: " + created.body);
  }
  const std::string id = doc["Id"].get<std::string>();
  absl::StatusOr<EngineResponse> archive = Request(
      "GET", absl::StrCat("/containers/", id, "/archive?path=", Escape(path)));
  absl::StatusOr<EngineResponse> removed =
      Request("DELETE", absl::StrCat("/containers/", id, "?force=1"));
  if (!archive.ok()) return archive.status();
  if (archive->status != 200) {
    return absl::NotFoundError(absl::StrCat("GET archive ", path, " of ", image,
                                            ": HTTP ", archive->status, ": ",
                                            archive->body));
  }
  if (!removed.ok()) return removed.status();
  if (removed->status / 100 != 2) {
    return absl::InternalError(absl::StrCat("remove container ", id, ": HTTP ",
                                            removed->status, removed->body));
  }
  return FileFromTar(archive->body, path.substr(path.rfind('/') + 1));
}

absl::Status DockerServer::RemoveImage(const std::string& image) const {
  ASSIGN_OR_RETURN(EngineResponse r,
                   Request("DELETE", "/images/" + image + "?force=1"));
  if (r.status != 200) {
    return absl::FailedPreconditionError(
        absl::StrCat("docker rmi ", image, ": HTTP ", r.status, ": ", r.body));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<DockerCertsDir>> DockerCertsDir::Create() {
  const bool made_etc_docker = !Exists("/etc/docker");
  if (made_etc_docker && mkdir("/etc/docker", 0755) != 0) {
    return absl::InternalError("cannot create /etc/docker");
  }
  const bool made_certs_dir = !Exists(kPath);
  if (made_certs_dir && mkdir(kPath, 0755) != 0) {
    if (made_etc_docker) rmdir("/etc/docker");
    return absl::InternalError(absl::StrCat("cannot create ", kPath));
  }
  return std::unique_ptr<DockerCertsDir>(
      new DockerCertsDir(made_etc_docker, made_certs_dir, ListTree(kPath)));
}

std::vector<std::string> DockerCertsDir::Listing() const {
  return ListTree(kPath);
}

DockerCertsDir::~DockerCertsDir() {
  std::vector<std::string> now = ListTree(kPath);
  // Deepest first, so a directory is emptied before it goes.
  std::reverse(now.begin(), now.end());
  for (const std::string& rel : now) {
    if (std::binary_search(before_.begin(), before_.end(), rel)) continue;
    std::error_code ignored;
    std::filesystem::remove_all(std::string(kPath) + "/" + rel, ignored);
  }
  if (made_certs_dir_) rmdir(kPath);
  if (made_etc_docker_) rmdir("/etc/docker");
}

absl::StatusOr<std::string> FileFromTar(const std::string& tar,
                                        const std::string& name) {
  size_t offset = 0;
  while (offset + 512 <= tar.size()) {
    const char* header = tar.data() + offset;
    if (header[0] == '\0') break;  // the end-of-archive blocks
    std::string path(header, strnlen(header, 100));
    uint64_t size = 0;
    const std::string size_field(header + 124, strnlen(header + 124, 12));
    for (char c : size_field) {
      if (c >= '0' && c <= '7')
        size = size * 8 + static_cast<uint64_t>(c - '0');
    }
    const char type = header[156];
    offset += 512;
    if (offset + size > tar.size()) break;
    const std::string base = path.substr(path.rfind('/') + 1);
    if ((type == '0' || type == '\0') && base == name) {
      return tar.substr(offset, size);
    }
    offset += (size + 511) / 512 * 512;
  }
  return absl::NotFoundError(absl::StrCat("no file ", name, " in the tar"));
}

}  // namespace nodefit::testbed
