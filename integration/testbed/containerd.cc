#include "integration/testbed/containerd.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "resolver/base/status_macros.h"

namespace nodefit::testbed {

std::string ShortTempDir() {
  char path[] = "/tmp/nf-XXXXXX";
  if (mkdtemp(path) == nullptr) return "";
  return path;
}

absl::StatusOr<ContainerdPeer> ContainerdPeer::FromEnvironment() {
  ContainerdPeer peer;
  const char* version = std::getenv("NODEFIT_CONTAINERD_VERSION");
  const char* bin = std::getenv("NODEFIT_CONTAINERD_BIN");
  if (bin != nullptr) peer.bin_dir = bin;
  for (const std::string& binary : {peer.containerd(), peer.ctr()}) {
    if (!peer.bin_dir.empty() && access(binary.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          binary, " is missing: scripts/install-peers builds containerd ",
          version != nullptr ? version : "", " (integration/peers/versions)"));
    }
  }
  // `containerd --version`: "containerd <module> <version> <revision>".
  ASSIGN_OR_RETURN(std::string out,
                   RunCommand({peer.containerd(), "--version"}));
  std::vector<std::string> words =
      absl::StrSplit(absl::StripAsciiWhitespace(out), ' ', absl::SkipEmpty());
  if (words.size() < 3) {
    return absl::InternalError("unexpected containerd --version: " + out);
  }
  peer.version = std::string(absl::StripPrefix(words[2], "v"));
  // Debian's says "1.6.20~ds1"; keep the release only.
  peer.version = peer.version.substr(0, peer.version.find_first_of("~+-"));
  if (version != nullptr && peer.version != version) {
    return absl::FailedPreconditionError(absl::StrCat(
        peer.containerd(), " is ", peer.version, ", not ", version));
  }
  std::vector<std::string> parts = absl::StrSplit(peer.version, '.');
  if (parts.size() < 2 || !absl::SimpleAtoi(parts[0], &peer.major) ||
      !absl::SimpleAtoi(parts[1], &peer.minor)) {
    return absl::InternalError("unexpected containerd version " + peer.version);
  }
  return peer;
}

std::string ContainerdPeer::containerd() const {
  return bin_dir.empty() ? "containerd" : bin_dir + "/containerd";
}

std::string ContainerdPeer::ctr() const {
  return bin_dir.empty() ? "ctr" : bin_dir + "/ctr";
}

bool ContainerdPeer::AtLeast(int major_at_least, int minor_at_least) const {
  return major > major_at_least ||
         (major == major_at_least && minor >= minor_at_least);
}

namespace {

// The daemon's config: config version 2 (1.x: one CRI plugin) or 3 (2.x:
// CRI split into images and runtime plugins; the transfer service unpacks
// for CRI only onto snapshotters its unpack_config names).
std::string ConfigFor(const ContainerdPeer& peer,
                      const ContainerdOptions& options) {
  const std::string& d = options.dir;
  std::string config = absl::StrCat(
      "version = ", peer.ConfigV3() ? 3 : 2, "\n", "root = \"", d, "/root\"\n",
      "state = \"", d, "/state\"\n", "[grpc]\n  address = \"", d, "/c.sock\"\n",
      "[ttrpc]\n  address = \"", d, "/c.sock.ttrpc\"\n",
      "[debug]\n  level = \"debug\"\n");
  if (!peer.ConfigV3()) {
    absl::StrAppend(&config,
                    "[plugins.\"io.containerd.grpc.v1.cri\"]\n"
                    "  stream_server_address = \"127.0.0.1\"\n"
                    "  stream_server_port = \"0\"\n"
                    "  [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
                    "    snapshotter = \"native\"\n"
                    "  [plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
                    "    config_path = \"",
                    options.certs_dir, "\"\n");
  } else {
    absl::StrAppend(
        &config,
        "[plugins.\"io.containerd.grpc.v1.cri\"]\n"
        "  stream_server_address = \"127.0.0.1\"\n"
        "  stream_server_port = \"0\"\n"
        "[plugins.\"io.containerd.cri.v1.images\"]\n"
        "  snapshotter = \"native\"\n"
        "  [plugins.\"io.containerd.cri.v1.images\".registry]\n"
        "    config_path = \"",
        options.certs_dir,
        "\"\n"
        "[[plugins.\"io.containerd.transfer.v1.local\".unpack_config]]\n"
        "  platform = \"linux/amd64\"\n"
        "  snapshotter = \"native\"\n");
  }
  absl::StrAppend(&config, options.extra_config);
  return config;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ContainerdServer>> ContainerdServer::Start(
    const ContainerdOptions& options) {
  ContainerdPeer peer;
  if (options.peer.has_value()) {
    peer = *options.peer;
  } else {
    ASSIGN_OR_RETURN(peer, ContainerdPeer::FromEnvironment());
  }
  const std::string& d = options.dir;
  const std::string config_path = d + "/containerd.toml";
  std::ofstream(config_path) << ConfigFor(peer, options);
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(
      {peer.containerd(), "--config", config_path}, d + "/containerd.log");
  if (!process.ok()) return process.status();
  std::unique_ptr<ContainerdServer> server(
      new ContainerdServer(peer, d, *std::move(process)));
  absl::Status ready = WaitFor(
      [&] {
        return server->Ctr("default", {"version"}, absl::Seconds(5)).ok();
      },
      absl::Seconds(30), peer.Name());
  if (!ready.ok()) {
    return absl::Status(
        ready.code(), absl::StrCat(ready.message(), "; log:\n", server->log()));
  }
  return server;
}

absl::StatusOr<std::string> ContainerdServer::Ctr(
    const std::string& ns, const std::vector<std::string>& args,
    absl::Duration timeout) const {
  std::vector<std::string> argv = {peer_.ctr(), "--address", socket(), "-n",
                                   ns};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout);
}

absl::StatusOr<std::string> ContainerdServer::Pull(const std::string& ns,
                                                   const std::string& ref,
                                                   const std::string& hosts_dir,
                                                   bool local) const {
  std::vector<std::string> args = {"images", "pull",        "--snapshotter",
                                   "native", "--hosts-dir", hosts_dir};
  if (local) args.push_back("--local");
  args.push_back(ref);
  return Ctr(ns, args);
}

absl::StatusOr<std::string> ContainerdServer::Run(
    const std::string& ns, const std::string& ref, const std::string& id,
    const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"run",    "--rm", "--snapshotter",
                                   "native", ref,    id};
  argv.insert(argv.end(), args.begin(), args.end());
  return Ctr(ns, argv);
}

absl::StatusOr<std::string> ContainerdServer::ImageTarget(
    const std::string& ns, const std::string& ref) const {
  ASSIGN_OR_RETURN(std::string out, Ctr(ns, {"images", "ls"}));
  // Columns: REF TYPE DIGEST SIZE PLATFORMS LABELS
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    std::vector<absl::string_view> cols =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (cols.size() >= 3 && cols[0] == ref) return std::string(cols[2]);
  }
  return absl::NotFoundError(
      absl::StrCat("no image ", ref, " in ", ns, ":\n", out));
}

absl::StatusOr<std::string> ContainerdServer::ReadImageFile(
    const std::string& ns, const std::string& ref,
    const std::string& path) const {
  static std::atomic<int> counter{0};
  const std::string target = absl::StrCat(dir_, "/mnt-", ++counter);
  mkdir(target.c_str(), 0755);
  RETURN_IF_ERROR(
      Ctr(ns, {"images", "mount", "--snapshotter", "native", ref, target})
          .status());
  const std::string content = ReadFileOrEmpty(target + "/" + path);
  absl::Status unmounted =
      Ctr(ns, {"images", "unmount", "--rm", target}).status();
  rmdir(target.c_str());
  RETURN_IF_ERROR(unmounted);
  return content;
}

}  // namespace nodefit::testbed
