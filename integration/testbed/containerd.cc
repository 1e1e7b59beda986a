#include "integration/testbed/containerd.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

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

absl::StatusOr<std::unique_ptr<ContainerdServer>> ContainerdServer::Start(
    const ContainerdOptions& options) {
  const std::string& d = options.dir;
  const std::string config_path = d + "/containerd.toml";
  {
    std::ofstream config(config_path);
    config << "version = 2\n"
           << "root = \"" << d << "/root\"\n"
           << "state = \"" << d << "/state\"\n"
           << "[grpc]\n  address = \"" << d << "/c.sock\"\n"
           << "[ttrpc]\n  address = \"" << d << "/c.sock.ttrpc\"\n"
           << "[debug]\n  level = \"info\"\n"
           << "[plugins.\"io.containerd.grpc.v1.cri\"]\n"
           << "  stream_server_address = \"127.0.0.1\"\n"
           << "  stream_server_port = \"0\"\n"
           << "  [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
           << "    snapshotter = \"native\"\n"
           << "  [plugins.\"io.containerd.grpc.v1.cri\".registry]\n"
           << "    config_path = \"" << options.certs_dir << "\"\n";
  }
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(
      {"containerd", "--config", config_path}, d + "/containerd.log");
  if (!process.ok()) return process.status();
  std::unique_ptr<ContainerdServer> server(
      new ContainerdServer(d, *std::move(process)));
  absl::Status ready = WaitFor(
      [&] {
        return server->Ctr("default", {"version"}, absl::Seconds(5)).ok();
      },
      absl::Seconds(30), "containerd");
  if (!ready.ok()) {
    return absl::Status(
        ready.code(), absl::StrCat(ready.message(), "; log:\n", server->log()));
  }
  return server;
}

absl::StatusOr<std::string> ContainerdServer::Ctr(
    const std::string& ns, const std::vector<std::string>& args,
    absl::Duration timeout) const {
  std::vector<std::string> argv = {"ctr", "--address", socket(), "-n", ns};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout);
}

absl::StatusOr<std::string> ContainerdServer::Pull(
    const std::string& ns, const std::string& ref,
    const std::string& hosts_dir) const {
  return Ctr(ns, {"images", "pull", "--snapshotter", "native", "--hosts-dir",
                  hosts_dir, ref});
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
