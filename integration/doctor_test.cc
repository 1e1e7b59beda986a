// `nodefit doctor` on a node set up for real (each containerd of the matrix,
// a running nodefit, hosts.toml written by `hosts install`, a kubelet
// config): every check passes; then, one at a time, each check's part of
// the node is broken and that check, and only that check, reports the
// problem with its fix.
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/nodefit_process.h"
#include "nlohmann/json.hpp"
#include "plugin/containerd/pull_path.h"
#include "resolver/base/command_runner.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;

struct Report {
  int exit_code = -1;
  std::string text;
  nlohmann::json json;
  // check name -> its results (hosts-toml has one per file)
  std::map<std::string, std::vector<nlohmann::json>> checks;

  bool Has(const std::string& check, const std::string& result) const {
    auto it = checks.find(check);
    if (it == checks.end()) return false;
    for (const nlohmann::json& c : it->second) {
      if (c["result"] == result) return true;
    }
    return false;
  }
  std::string Problem(const std::string& check) const {
    for (const nlohmann::json& c : checks.at(check)) {
      if (c["result"] == "problem") {
        return c["message"].get<std::string>() +
               " | fix: " + c["fix"].get<std::string>();
      }
    }
    return "";
  }
  // Every check other than `except` passed or was skipped.
  bool OthersFine(const std::string& except) const {
    for (const auto& [name, results] : checks) {
      if (name == except) continue;
      for (const nlohmann::json& c : results) {
        if (c["result"] == "problem") return false;
      }
    }
    return true;
  }
};

class DoctorIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testbed::ShortTempDir());
    const std::string& d = *dir_;
    std::filesystem::create_directories(d + "/certs.d");
    std::filesystem::create_directories(d + "/ctd");
    absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> containerd =
        testbed::ContainerdServer::Start({d + "/ctd", d + "/certs.d"});
    ASSERT_TRUE(containerd.ok()) << containerd.status();
    containerd_ = containerd->release();
    absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> p =
        testbed::NodefitProcess::Start(
            NODEFIT_BINARY, d, "nf",
            {{"detect", false},
             {"cri",
              {{"listen", "unix://" + d + "/nf.sock"},
               {"containerd", containerd_->address()}}},
             {"containerd",
              {{"config", containerd_->config_path()},
               {"binary", containerd_->peer().containerd()}}}});
    ASSERT_TRUE(p.ok()) << p.status();
    nodefit_ = p->release();
    ASSERT_TRUE(
        testbed::RunCommand(nodefit_->HostsInstall(d + "/certs.d")).ok());
    std::ofstream(d + "/kubelet.yaml")
        << "apiVersion: kubelet.config.k8s.io/v1beta1\n"
        << "kind: KubeletConfiguration\n"
        << "containerRuntimeEndpoint: " << containerd_->address() << "\n"
        << "imageServiceEndpoint: unix://" << d << "/nf.sock\n";
    std::ifstream in(nodefit_->config_path());
    config_ = new nlohmann::json(nlohmann::json::parse(in));
  }

  static void TearDownTestSuite() {
    delete nodefit_;
    delete containerd_;
    delete config_;
    if (dir_ != nullptr) std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  // `nodefit doctor --json` with nodefit's config changed by `patch` (a
  // JSON merge patch) and `flags` added.
  static Report Doctor(const nlohmann::json& patch = nlohmann::json::object(),
                       const std::vector<std::string>& flags = {}) {
    nlohmann::json config = *config_;
    if (patch.is_object()) config.merge_patch(patch);
    const std::string path = *dir_ + "/doctor-config.json";
    std::ofstream(path) << config.dump();
    std::vector<std::string> argv = {
        NODEFIT_BINARY, "doctor",           "--config",
        path,           "--kubelet-config", *dir_ + "/kubelet.yaml"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    Report report;
    const testing::RunResult text = testing::Run(argv);
    report.text = text.out;
    argv.push_back("--json");
    const testing::RunResult json = testing::Run(argv);
    report.exit_code = json.exit_code;
    report.json = nlohmann::json::parse(json.out, nullptr, false);
    EXPECT_FALSE(report.json.is_discarded()) << json.out << json.err;
    EXPECT_EQ(text.exit_code, json.exit_code);
    if (!report.json.is_discarded()) {
      for (const nlohmann::json& c : report.json["checks"]) {
        report.checks[c["check"].get<std::string>()].push_back(c);
      }
    }
    return report;
  }

  static std::string* dir_;
  static testbed::ContainerdServer* containerd_;
  static testbed::NodefitProcess* nodefit_;
  static nlohmann::json* config_;
};

std::string* DoctorIntegrationTest::dir_ = nullptr;
testbed::ContainerdServer* DoctorIntegrationTest::containerd_ = nullptr;
testbed::NodefitProcess* DoctorIntegrationTest::nodefit_ = nullptr;
nlohmann::json* DoctorIntegrationTest::config_ = nullptr;

TEST_F(DoctorIntegrationTest, ANodeSetUpRightPassesEveryCheck) {
  const Report report = Doctor();
  std::cout << report.text;
  EXPECT_EQ(report.exit_code, 0) << report.text;
  EXPECT_EQ(report.json["ok"], true);
  for (const char* check : {"containerd", "containerd-config", "hosts-toml",
                            "http-face", "cri-face", "kubelet"}) {
    EXPECT_TRUE(report.Has(check, "ok")) << check << "\n" << report.text;
  }
  // As containerd's Version API says it (Debian's: "1.6.20~ds1").
  EXPECT_THAT(report.text,
              HasSubstr("containerd " + containerd_->peer().version));
  EXPECT_THAT(report.text, HasSubstr("answers on " + containerd_->address()));
}

TEST_F(DoctorIntegrationTest, ContainerdNotAnswering) {
  const Report report =
      Doctor({{"cri", {{"containerd", "unix://" + *dir_ + "/none.sock"}}}});
  EXPECT_EQ(report.exit_code, 1);
  EXPECT_THAT(report.Problem("containerd"),
              HasSubstr("containerd does not answer on unix://" + *dir_ +
                        "/none.sock"));
  EXPECT_THAT(report.Problem("containerd"), HasSubstr("fix: start containerd"));
}

TEST_F(DoctorIntegrationTest, ContainerdConfigWithoutItsConfigPath) {
  // The node's containerd config without config_path: before 2.2 CRI reads
  // no hosts.toml; from 2.2 the default is a list the transfer service
  // cannot read.
  const std::string bad = *dir_ + "/bad-containerd.toml";
  std::ofstream(bad) << "version = 2\n";
  const Report report = Doctor({}, {"--containerd-config", bad});
  EXPECT_EQ(report.exit_code, 1);
  const std::string problem = report.Problem("containerd-config");
  if (containerd_->peer().AtLeast(2, 2)) {
    EXPECT_THAT(problem, HasSubstr("(containerd's default), a list"));
  } else {
    EXPECT_THAT(problem, HasSubstr("config_path is not set"));
  }
  EXPECT_THAT(problem,
              HasSubstr("fix: set config_path = \"/etc/containerd/certs.d\""));
}

TEST_F(DoctorIntegrationTest, AHostsTomlThatSkipsNodefit) {
  const std::string registry_dir = *dir_ + "/certs.d/registry.example";
  std::filesystem::create_directories(registry_dir);
  std::ofstream(registry_dir + "/hosts.toml")
      << "server = \"https://registry.example\"\n"
      << "[host.\"https://mirror.example\"]\n"
      << "  capabilities = [\"pull\", \"resolve\"]\n";
  const Report report = Doctor();
  std::filesystem::remove_all(registry_dir);
  EXPECT_EQ(report.exit_code, 1);
  EXPECT_TRUE(report.OthersFine("hosts-toml")) << report.text;
  EXPECT_THAT(report.Problem("hosts-toml"),
              HasSubstr(registry_dir +
                        "/hosts.toml does not name nodefit's "
                        "host " +
                        nodefit_->address()));
  EXPECT_THAT(report.Problem("hosts-toml"),
              HasSubstr("fix: nodefit hosts install --certs-dir " + *dir_ +
                        "/certs.d --registry registry.example"));
}

TEST_F(DoctorIntegrationTest, TheHttpFaceNotAnswering) {
  const Report report = Doctor(
      {{"http",
        {{"listen", absl::StrCat("127.0.0.1:", testbed::FreePort())},
         {"health_listen", absl::StrCat("127.0.0.1:", testbed::FreePort())}}}});
  EXPECT_EQ(report.exit_code, 1);
  EXPECT_THAT(report.Problem("http-face"), HasSubstr("(its health listener)"));
}

// The node PKI: a key readable by others, and a server certificate that
// expires within the warning period (issued with the openssl CLI by the
// node CA), each a problem with the rotate command as its fix.
TEST_F(DoctorIntegrationTest, TheCertificatesTheirModesAndExpiry) {
  const std::string pki = *dir_ + "/pki-copy";
  const std::string original = (*config_)["http"]["pki_dir"];
  ASSERT_TRUE(testbed::RunCommand({"cp", "-a", original, pki}).ok());
  ASSERT_EQ(chmod((pki + "/client-key.pem").c_str(), 0644), 0);
  // A request for the existing server key, then a short certificate.
  absl::StatusOr<std::string> csr = testbed::RunCommand(
      {"openssl", "req", "-new", "-key", pki + "/server-key.pem", "-subj",
       "/CN=127.0.0.1", "-out", pki + "/server.csr"});
  ASSERT_TRUE(csr.ok()) << csr.status();
  absl::StatusOr<std::string> issued = testbed::RunCommand(
      {"openssl", "x509", "-req", "-in", pki + "/server.csr", "-days", "10",
       "-CA", pki + "/ca.pem", "-CAkey", pki + "/ca-key.pem", "-set_serial",
       "7", "-out", pki + "/server.pem"});
  ASSERT_TRUE(issued.ok()) << issued.status();
  const Report report = Doctor({{"http", {{"pki_dir", pki}}}});
  EXPECT_EQ(report.exit_code, 1);
  EXPECT_TRUE(report.OthersFine("tls")) << report.text;
  EXPECT_THAT(report.text,
              HasSubstr(pki + "/client-key.pem must be a regular file of uid "
                              "0 with mode 0600"));
  EXPECT_THAT(report.text, HasSubstr(pki + "/server.pem expires on "));
  EXPECT_THAT(report.text, HasSubstr("nodefit pki rotate --dir " + pki));
  EXPECT_THAT(report.text, HasSubstr(pki + "/ca.pem valid until"));
}

TEST_F(DoctorIntegrationTest, TheCriFaceNotAnswering) {
  const Report report =
      Doctor({{"cri", {{"listen", "unix://" + *dir_ + "/gone.sock"}}}},
             {"--kubelet-config", *dir_ + "/no-kubelet.yaml"});
  EXPECT_EQ(report.exit_code, 1);
  EXPECT_TRUE(report.OthersFine("cri-face")) << report.text;
  EXPECT_THAT(report.Problem("cri-face"),
              HasSubstr("nodefit's CRI socket does not answer"));
}

TEST_F(DoctorIntegrationTest, KubeletNotPointedAtNodefitOrAbsent) {
  const std::string plain = *dir_ + "/kubelet-plain.yaml";
  std::ofstream(plain) << "kind: KubeletConfiguration\n"
                       << "containerRuntimeEndpoint: " << containerd_->address()
                       << "\n";
  Report report = Doctor({}, {"--kubelet-config", plain});
  EXPECT_EQ(report.exit_code, 1);
  EXPECT_TRUE(report.OthersFine("kubelet")) << report.text;
  EXPECT_THAT(report.Problem("kubelet"),
              HasSubstr("sets no imageServiceEndpoint"));
  EXPECT_THAT(report.Problem("kubelet"),
              HasSubstr("fix: set imageServiceEndpoint: unix://" + *dir_ +
                        "/nf.sock in " + plain));
  // No kubelet on the node: skipped, and the doctor still passes.
  report = Doctor({}, {"--kubelet-config", *dir_ + "/absent.yaml"});
  EXPECT_EQ(report.exit_code, 0) << report.text;
  EXPECT_TRUE(report.Has("kubelet", "skipped"));
}

}  // namespace
}  // namespace nodefit

namespace nodefit {
namespace {

// deploy/containerd's config for this version (v2 for 1.x, v3 for 2.x), as
// this containerd itself reads it (`config dump`): its CRI pulls read
// /etc/containerd/certs.d and nothing keeps them from it.
TEST(DeployedContainerdConfigTest, PutsNodefitInThePullPath) {
  absl::StatusOr<testbed::ContainerdPeer> peer =
      testbed::ContainerdPeer::FromEnvironment();
  ASSERT_TRUE(peer.ok()) << peer.status();
  const std::string file =
      absl::StrCat(NODEFIT_SOURCE_DIR, "/deploy/containerd/config-v",
                   peer->ConfigV3() ? 3 : 2, ".toml");
  // Standard output only: 2.2+ warns about cgroup v1 on standard error.
  SubprocessRunner runner;
  CommandLimits limits;
  limits.max_output_bytes = 1 << 20;
  absl::StatusOr<CommandResult> dump = runner.Run(
      {peer->containerd(), "--config", file, "config", "dump"}, limits);
  ASSERT_TRUE(dump.ok()) << dump.status();
  ASSERT_EQ(dump->exit_code, 0) << dump->error_output;
  absl::StatusOr<ContainerdVersion> version =
      ContainerdVersion::Parse(peer->version);
  ASSERT_TRUE(version.ok());
  absl::StatusOr<PullPath> path = AnalyzePullPath(*version, dump->output, file);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(path->hosts_dirs,
            std::vector<std::string>{"/etc/containerd/certs.d"});
  EXPECT_TRUE(path->problems.empty()) << path->problems[0].problem;
  EXPECT_EQ(path->transfer_service, peer->CriPullsThroughTransferService());
}

}  // namespace
}  // namespace nodefit
