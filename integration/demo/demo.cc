// nodefit-demo: the whole product in one run, with real peers.
//
// Starts docker-registry and pushes one image with five builds (generic,
// broadwell, skylake, skylake-avx512, broadwell + Tesla M60 + driver
// 396.44; each layer's /etc/variant names its build), starts containerd and
// one nodefit per node profile, then pulls the same tag as each node through
// both faces (containerd's hosts.toml resolver via ctr, and the CRI face),
// reads /etc/variant from what was unpacked, and prints a table beside what
// containerd alone pulls.
//
// usage: nodefit-demo --dir DIR --nodefit PATH
// DIR must be a short, empty, private directory; the caller removes it (and
// anything left running in it, if this program is killed).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/cri_client.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/registry.h"
#include "integration/testbed/subprocess.h"

namespace nodefit::demo {
namespace {

struct Node {
  std::string name;
  std::string profile;  // the seeds' platform syntax
  std::vector<std::string> features;
  std::string expected;  // the build it should get
};

const std::vector<Node>& Nodes() {
  static const std::vector<Node>* const kNodes = new std::vector<Node>{
      {"generic", "linux/amd64", {}, "generic"},
      {"skylake", "linux/amd64:skylake", {"skylake"}, "skylake"},
      {"cascadelake",
       "linux/amd64:cascadelake",
       {"cascadelake"},
       "skylake-avx512"},
      {"m60",
       "linux/amd64:broadwell:nv-compute-5-2:nvidia-396-44",
       {"broadwell", "nv-compute-5-2", "nvidia-396-44"},
       "broadwell-nvcap52-nvidia39644"},
  };
  return *kNodes;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

int Fail(const std::string& what, const absl::Status& status) {
  std::cerr << "nodefit-demo: " << what << ": " << status.message() << "\n";
  return 1;
}

int Run(const std::string& dir, const std::string& nodefit) {
  std::cerr << "starting docker-registry, pushing 5 builds and their index "
               "(made by `nodefit index create`)...\n";
  testbed::RegistryOptions registry_options;
  registry_options.storage_dir = dir + "/storage";
  registry_options.work_dir = dir;
  absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> registry =
      testbed::RegistryServer::Start(registry_options);
  if (!registry.ok()) return Fail("registry", registry.status());
  const std::string host = (*registry)->host_port();
  absl::StatusOr<testbed::PushedImage> image = testbed::PushMultiBuildImage(
      host, "demo/tf", "latest", testbed::SeedBuilds());
  if (!image.ok()) return Fail("push", image.status());
  const std::string ref = host + "/demo/tf:latest";

  // containerd's own hosts.toml tree: the registry, plain http.
  const std::string plain_certs = dir + "/certs-plain";
  (*registry)->WriteHostsToml(plain_certs);

  std::cerr << "starting containerd...\n";
  std::filesystem::create_directories(dir + "/ctd");
  absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> containerd =
      testbed::ContainerdServer::Start({dir + "/ctd", plain_certs});
  if (!containerd.ok()) return Fail("containerd", containerd.status());

  // What containerd alone pulls, through each path.
  if (absl::Status s = (*containerd)->Pull("alone", ref, plain_certs).status();
      !s.ok()) {
    return Fail("ctr pull without nodefit", s);
  }
  const std::string alone_ctr = Trim(
      (*containerd)->ReadImageFile("alone", ref, "etc/variant").value_or("?"));
  testbed::CriClient direct((*containerd)->address());
  absl::StatusOr<runtime::v1::PullImageResponse> direct_pull =
      direct.PullImage(ref);
  if (!direct_pull.ok())
    return Fail("CRI pull without nodefit", direct_pull.status());
  const std::string alone_cri = Trim(
      (*containerd)->ReadImageFile("k8s.io", ref, "etc/variant").value_or("?"));
  (void)direct.RemoveImage(ref);

  struct Row {
    std::string profile, face, picked, alone, expected;
  };
  std::vector<Row> rows;
  for (const Node& node : Nodes()) {
    std::cerr << "node " << node.name << ": starting nodefit...\n";
    const std::string certs = dir + "/certs-" + node.name;
    std::filesystem::create_directories(certs);
    std::filesystem::copy(plain_certs, certs,
                          std::filesystem::copy_options::recursive);
    absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> p =
        testbed::NodefitProcess::Start(
            nodefit, dir, "nodefit-" + node.name,
            {{"platform", "linux/amd64"},
             {"features", node.features},
             {"detect", false},
             {"cri",
              {{"listen",
                absl::StrCat("unix://", dir, "/", node.name, ".sock")},
               {"containerd", (*containerd)->address()}}}});
    if (!p.ok()) return Fail("nodefit " + node.name, p.status());
    if (absl::Status s =
            testbed::RunCommand((*p)->HostsInstall(certs)).status();
        !s.ok()) {
      return Fail("nodefit hosts install", s);
    }

    // Face 1: containerd's resolver through hosts.toml (ctr; any client).
    const std::string ns = "node-" + node.name;
    std::string picked = "pull failed";
    if ((*containerd)->Pull(ns, ref, certs).ok()) {
      picked = Trim(
          (*containerd)->ReadImageFile(ns, ref, "etc/variant").value_or("?"));
    }
    rows.push_back(
        {node.profile, "hosts.toml", picked, alone_ctr, node.expected});

    // Face 2: the CRI face, as kubelet would call it.
    testbed::CriClient cri(
        absl::StrCat("unix://", dir, "/", node.name, ".sock"));
    picked = "pull failed";
    if (cri.PullImage(ref).ok()) {
      picked = Trim((*containerd)
                        ->ReadImageFile("k8s.io", ref, "etc/variant")
                        .value_or("?"));
      (void)cri.RemoveImage(ref);
    }
    rows.push_back({node.profile, "CRI", picked, alone_cri, node.expected});
    (void)testbed::RunCommand(
        {nodefit, "hosts", "remove", "--certs-dir", certs});
  }

  bool all_as_expected = true;
  std::cout << "\n"
            << absl::StrFormat("%-52s %-11s %-30s %s\n", "node profile", "face",
                               "nodefit picked", "containerd alone");
  for (const Row& row : rows) {
    const bool ok = row.picked == row.expected;
    all_as_expected = all_as_expected && ok;
    std::cout << absl::StrFormat(
        "%-52s %-11s %-30s %s%s\n", row.profile, row.face, row.picked,
        row.alone, ok ? "" : "   (expected " + row.expected + ")");
  }
  std::cout << "\nimage " << ref << " (index " << image->index_digest << ")\n"
            << (*containerd)->peer().Name()
            << (((*containerd)->peer().CriPullsThroughTransferService())
                    ? " (its CRI pulls through the transfer service)"
                    : "")
            << "\nEvery node pulled the same tag; nodefit chose the build "
               "for the node.\n";
  return all_as_expected ? 0 : 3;
}

}  // namespace
}  // namespace nodefit::demo

int main(int argc, char** argv) {
  std::string dir, nodefit;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--dir") dir = argv[i + 1];
    if (flag == "--nodefit") nodefit = argv[i + 1];
  }
  if (dir.empty() || nodefit.empty()) {
    std::cerr << "usage: nodefit-demo --dir DIR --nodefit PATH\n";
    return 2;
  }
  return nodefit::demo::Run(dir, nodefit);
}
