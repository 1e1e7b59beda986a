#include "integration/testbed/podman.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "integration/testbed/subprocess.h"

namespace nodefit::testbed {
namespace {

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError("cannot write " + path);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Podman>> Podman::Create(const std::string& dir) {
  std::error_code error;
  for (const char* sub : {"/root", "/run", "/tmp"}) {
    std::filesystem::create_directories(dir + sub, error);
    if (error) return absl::InternalError("cannot create " + dir + sub);
  }
  std::unique_ptr<Podman> podman(new Podman(dir));
  // containers.conf: no journald, no cgroups or network needed to pull.
  if (absl::Status s =
          WriteFile(dir + "/containers.conf",
                    "[engine]\nevents_logger = \"none\"\ncgroup_manager = "
                    "\"cgroupfs\"\n[containers]\nlog_driver = \"k8s-file\"\n");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = podman->SetMirror("", ""); !s.ok()) return s;
  // No logins yet (containers/image wants the file when it is named).
  if (absl::Status s = WriteFile(dir + "/auth.json", "{}\n"); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::string> version = RunCommand({"podman", "--version"});
  if (!version.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "podman is missing (scripts/install-deps installs Debian's): ",
        version.status().message()));
  }
  return podman;
}

Podman::~Podman() {
  // Nothing stays mounted or running once the test is done.
  (void)Run({"image", "unmount", "--all"}, absl::Seconds(30));
}

absl::Status Podman::SetMirror(const std::string& registry,
                               const std::string& mirror) {
  std::string conf = "unqualified-search-registries = []\n";
  if (!registry.empty()) {
    absl::StrAppend(&conf, "[[registry]]\nprefix = \"", registry,
                    "\"\nlocation = \"", registry, "\"\ninsecure = true\n");
    if (!mirror.empty()) {
      absl::StrAppend(&conf, "[[registry.mirror]]\nlocation = \"", mirror,
                      "\"\ninsecure = true\n");
    }
  }
  return WriteFile(dir_ + "/registries.conf", conf);
}

std::vector<std::string> Podman::Base() const {
  // A mount namespace of its own with an empty /var/lib: containers/image
  // keeps root's blob-info cache in /var/lib/containers/cache whatever the
  // flags say, and this machine's must stay as it was.
  return {"unshare",
          "--mount",
          "--propagation",
          "private",
          "--",
          "sh",
          "-c",
          "mount -t tmpfs -o size=64m,mode=0755 nodefit-testbed /var/lib && "
          "exec \"$@\"",
          "sh",
          "env",
          "CONTAINERS_REGISTRIES_CONF=" + dir_ + "/registries.conf",
          "CONTAINERS_CONF=" + dir_ + "/containers.conf",
          "REGISTRY_AUTH_FILE=" + dir_ + "/auth.json",
          "TMPDIR=" + dir_ + "/tmp"};
}

absl::StatusOr<std::string> Podman::Run(const std::vector<std::string>& args,
                                        absl::Duration timeout) const {
  std::vector<std::string> argv = Base();
  argv.insert(argv.end(), {"podman", "--root", dir_ + "/root", "--runroot",
                           dir_ + "/run", "--storage-driver", "vfs"});
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout);
}

absl::StatusOr<std::string> Podman::Skopeo(const std::vector<std::string>& args,
                                           absl::Duration timeout) const {
  std::vector<std::string> argv = Base();
  argv.insert(argv.end(),
              {"skopeo", "--registries-conf", dir_ + "/registries.conf"});
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout);
}

absl::Status Podman::Login(const std::string& host, const std::string& user,
                           const std::string& password) const {
  // The password goes on stdin; a file stands in for the terminal.
  const std::string secret = dir_ + "/tmp/login-password";
  if (absl::Status s = WriteFile(secret, password); !s.ok()) return s;
  std::vector<std::string> argv = Base();
  argv.insert(argv.end(), {"sh", "-c",
                           absl::StrCat("exec podman --root ", dir_,
                                        "/root --runroot ", dir_,
                                        "/run --storage-driver vfs login "
                                        "--tls-verify=false --username \"$0\" "
                                        "--password-stdin \"$1\" < \"$2\""),
                           user, host, secret});
  absl::StatusOr<std::string> out = RunCommand(argv, absl::Seconds(60));
  std::error_code ignored;
  std::filesystem::remove(secret, ignored);
  return out.status();
}

absl::StatusOr<std::string> Podman::Pull(const std::string& ref) const {
  absl::StatusOr<std::string> pulled =
      Run({"pull", "--tls-verify=false", "--quiet", ref});
  if (!pulled.ok()) return pulled.status();
  absl::StatusOr<std::string> digest =
      Run({"image", "inspect", "--format", "{{.Digest}}", ref});
  if (!digest.ok()) return digest.status();
  return std::string(absl::StripAsciiWhitespace(*digest));
}

absl::StatusOr<std::string> Podman::ReadFile(const std::string& ref,
                                             const std::string& path) const {
  absl::StatusOr<std::string> mounted = Run({"image", "mount", ref});
  if (!mounted.ok()) return mounted.status();
  const std::string root(absl::StripAsciiWhitespace(*mounted));
  std::string content = ReadFileOrEmpty(root + path);
  (void)Run({"image", "unmount", ref});
  if (content.empty()) {
    return absl::NotFoundError(absl::StrCat(path, " is empty or missing in ",
                                            ref, " (mounted at ", root, ")"));
  }
  return content;
}

absl::Status Podman::RemoveImages() const {
  return Run({"rmi", "--all", "--force"}).status();
}

}  // namespace nodefit::testbed
