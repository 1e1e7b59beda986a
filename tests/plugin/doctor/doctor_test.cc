// plugin/doctor/doctor.h with a fake node: which check says what, the text
// and JSON forms. The same checks against a real containerd and a real
// nodefit are in integration/doctor_test.cc.
#include "plugin/doctor/doctor.h"

#include <map>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;

class FakeNode : public NodeProbe {
 public:
  absl::StatusOr<std::string> ContainerdVersion(const std::string&) override {
    if (containerd_version.empty()) {
      return absl::UnavailableError("connection refused");
    }
    return containerd_version;
  }
  absl::StatusOr<std::string> ContainerdConfigDump(
      const std::string&, const std::string&) override {
    return config;
  }
  absl::StatusOr<std::string> ContainerdBinaryVersion(
      const std::string&) override {
    return absl::NotFoundError("no binary");
  }
  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    auto it = files.find(path);
    if (it == files.end()) return absl::NotFoundError(path);
    return it->second;
  }
  absl::StatusOr<std::vector<std::string>> ListDirectories(
      const std::string& dir) override {
    std::vector<std::string> names;
    for (const auto& [path, content] : files) {
      if (absl::StartsWith(path, dir + "/") &&
          absl::EndsWith(path, "/hosts.toml")) {
        names.push_back(
            path.substr(dir.size() + 1, path.size() - dir.size() - 12));
      }
    }
    return names;
  }
  absl::StatusOr<int> HttpGet(const std::string&) override { return http; }
  absl::StatusOr<bool> GrpcServing(const std::string&) override { return cri; }
  std::vector<PkiFinding> InspectPki(const std::string& dir) override {
    pki_dir_asked = dir;
    return pki;
  }

  std::string containerd_version = "2.4.2";
  std::string config =
      "version = 3\n[plugins.'io.containerd.cri.v1.images'.registry]\n"
      "  config_path = '/etc/containerd/certs.d'\n";
  std::map<std::string, std::string> files = {
      {"/etc/containerd/certs.d/_default/hosts.toml",
       "[host.\"https://127.0.0.1:505\"]\n  capabilities = [\"pull\", "
       "\"resolve\"]\n"},
      {"/var/lib/kubelet/config.yaml",
       "kind: KubeletConfiguration\nimageServiceEndpoint: "
       "unix:///run/nodefit/cri.sock\n"}};
  int http = 200;
  bool cri = true;
  std::vector<PkiFinding> pki = {
      {true, "/etc/nodefit/pki/server.pem: valid until 2027-12-01"}};
  std::string pki_dir_asked;
};

std::map<std::string, DoctorCheck> ByName(const std::vector<DoctorCheck>& c) {
  std::map<std::string, DoctorCheck> out;
  for (const DoctorCheck& check : c) {
    if (!out.count(check.name) || check.result != DoctorCheck::Result::kOk) {
      out[check.name] = check;
    }
  }
  return out;
}

TEST(DoctorTest, AHealthyNodePassesEveryCheck) {
  FakeNode node;
  const std::vector<DoctorCheck> checks = RunDoctor(DoctorOptions(), node);
  EXPECT_TRUE(AllPassed(checks)) << DoctorToText(checks);
  EXPECT_EQ(checks.size(), 7u);
  EXPECT_EQ(node.pki_dir_asked, "/etc/nodefit/pki");
  const std::string text = DoctorToText(checks);
  EXPECT_THAT(text, HasSubstr("ok       containerd        containerd 2.4.2 "
                              "answers on unix:///run/containerd/"
                              "containerd.sock\n"));
  EXPECT_THAT(text, HasSubstr("go through the transfer service and read "
                              "hosts.toml from /etc/containerd/certs.d"));
  const nlohmann::json json = DoctorToJson(checks);
  EXPECT_EQ(json["ok"], true);
  EXPECT_EQ(json["checks"][0]["check"], "containerd");
  EXPECT_EQ(json["checks"][0]["result"], "ok");
  EXPECT_FALSE(json["checks"][0].contains("fix"));
}

TEST(DoctorTest, EachProblemComesWithItsFix) {
  FakeNode node;
  node.config =
      "version = 3\n[plugins.'io.containerd.cri.v1.images'.registry]\n"
      "  config_path = ''\n";
  node.files["/etc/containerd/certs.d/docker.io/hosts.toml"] =
      "[host.\"https://mirror.example\"]\n";
  node.files["/var/lib/kubelet/config.yaml"] = "kind: KubeletConfiguration\n";
  node.http = 503;
  node.cri = false;
  const std::vector<DoctorCheck> checks = RunDoctor(DoctorOptions(), node);
  EXPECT_FALSE(AllPassed(checks));
  std::map<std::string, DoctorCheck> by_name = ByName(checks);
  EXPECT_THAT(by_name["containerd-config"].message,
              HasSubstr("(containerd's default), a list"));
  // The default list's directories are not read at all on 2.4: nothing
  // else to check there.
  EXPECT_EQ(by_name.count("hosts-toml"), 1u);
  EXPECT_THAT(by_name["http-face"].message, HasSubstr("HTTP 503"));
  EXPECT_THAT(by_name["cri-face"].message,
              HasSubstr("cannot reach containerd"));
  EXPECT_THAT(by_name["kubelet"].message,
              HasSubstr("sets no imageServiceEndpoint"));
  for (const DoctorCheck& check : checks) {
    if (check.result == DoctorCheck::Result::kProblem) {
      EXPECT_FALSE(check.fix.empty()) << check.name;
    }
  }
  const nlohmann::json json = DoctorToJson(checks);
  EXPECT_EQ(json["ok"], false);
}

TEST(DoctorTest, HostsFilesThatDoNotPutNodefitFirst) {
  FakeNode node;
  node.files["/etc/containerd/certs.d/docker.io/hosts.toml"] =
      "[host.\"https://mirror.example\"]\n[host.\"https://127.0.0.1:505\"]\n";
  const std::vector<DoctorCheck> checks = RunDoctor(DoctorOptions(), node);
  const std::string text = DoctorToText(checks);
  EXPECT_THAT(text, HasSubstr("containerd tries host \"https://mirror."
                              "example\" before nodefit's"));
  EXPECT_THAT(text, HasSubstr("fix: nodefit hosts install --certs-dir "
                              "/etc/containerd/certs.d --registry docker.io"));
}

TEST(DoctorTest, NoKubeletIsSkippedNotFailed) {
  FakeNode node;
  node.files.erase("/var/lib/kubelet/config.yaml");
  const std::vector<DoctorCheck> checks = RunDoctor(DoctorOptions(), node);
  EXPECT_TRUE(AllPassed(checks));
  EXPECT_EQ(ByName(checks)["kubelet"].result, DoctorCheck::Result::kSkipped);
  EXPECT_THAT(DoctorToText(checks), HasSubstr("skipped  kubelet"));
}

TEST(DoctorTest, ContainerdDownIsAProblemAndItsVersionUnknown) {
  FakeNode node;
  node.containerd_version.clear();
  const std::vector<DoctorCheck> checks = RunDoctor(DoctorOptions(), node);
  std::map<std::string, DoctorCheck> by_name = ByName(checks);
  EXPECT_EQ(by_name["containerd"].result, DoctorCheck::Result::kProblem);
  EXPECT_THAT(by_name["containerd-config"].message,
              HasSubstr("cannot tell containerd's version"));
}

TEST(DoctorTest, CertificateProblemsNameTheRotateCommand) {
  FakeNode node;
  node.pki = {{true, "/etc/nodefit/pki/ca.pem: valid until 2036-12-01"},
              {false, "/etc/nodefit/pki/client-key.pem: mode 0644, want 0600"}};
  const std::vector<DoctorCheck> checks = RunDoctor(DoctorOptions(), node);
  EXPECT_FALSE(AllPassed(checks));
  const std::string text = DoctorToText(checks);
  EXPECT_THAT(text, HasSubstr("client-key.pem: mode 0644, want 0600"));
  EXPECT_THAT(text, HasSubstr("nodefit pki rotate --dir /etc/nodefit/pki"));
}

TEST(DoctorTest, PlainHttpIsAProblem) {
  FakeNode node;
  DoctorOptions options;
  options.config.http.insecure_plain_http = true;
  const std::vector<DoctorCheck> checks = RunDoctor(options, node);
  std::map<std::string, DoctorCheck> by_name = ByName(checks);
  EXPECT_EQ(by_name["tls"].result, DoctorCheck::Result::kProblem);
  EXPECT_THAT(by_name["tls"].message, HasSubstr("insecure_plain_http"));
  EXPECT_TRUE(node.pki_dir_asked.empty());
}

}  // namespace
}  // namespace nodefit
