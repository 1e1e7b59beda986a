// containerd going around nodefit, on each containerd of the matrix: its
// CRI's config_path is a list of two directories (the shape of 2.2's
// default, "/etc/containerd/certs.d:/etc/docker/certs.d"), the first one
// holding nodefit's hosts.toml. containerd before 2.1 splits the list and
// asks nodefit; 2.1 and later pull through the transfer service, which reads
// one directory, so every CRI pull skips nodefit without a word. This test
// shows which happened (the build containerd unpacked), and that
// `hosts install` and `nodefit doctor` name the problem with its fix and
// `nodefit serve` logs and counts the bypass within 5 s of the pull.
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/cri_client.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/registry.h"
#include "nlohmann/json.hpp"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The value of one series in Prometheus text, or -1.
int MetricValue(const std::string& metrics, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      return std::stoi(std::string(line.substr(series.size() + 1)));
    }
  }
  return -1;
}

TEST(BypassTest, AConfigPathListOnTheTransferServiceGoesAroundNodefit) {
  const std::string dir = testbed::ShortTempDir();
  testbed::RegistryOptions options;
  options.storage_dir = dir + "/storage";
  options.work_dir = dir;
  absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> registry =
      testbed::RegistryServer::Start(options);
  ASSERT_TRUE(registry.ok()) << registry.status();
  const std::string host = (*registry)->host_port();
  absl::StatusOr<testbed::PushedImage> tf = testbed::PushMultiBuildImage(
      host, "cv/tf", "latest", testbed::SeedBuilds());
  ASSERT_TRUE(tf.ok()) << tf.status();
  ASSERT_TRUE(testbed::PushMultiBuildImage(host, "cv/tf", "via-nodefit",
                                           testbed::SeedBuilds())
                  .ok());
  ASSERT_TRUE(testbed::PushMultiBuildImage(host, "imported/app", "1",
                                           testbed::SeedBuilds())
                  .ok());

  // Both directories of the list hold the registry's hosts.toml (plain
  // http); nodefit is added to the first.
  const std::string certs = dir + "/certs.d";
  const std::string docker_certs = dir + "/docker-certs.d";
  for (const std::string& d : {certs, docker_certs}) {
    (*registry)->WriteHostsToml(d);
  }
  std::filesystem::create_directories(dir + "/ctd");
  absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> containerd =
      testbed::ContainerdServer::Start(
          {dir + "/ctd", certs + ":" + docker_certs});
  ASSERT_TRUE(containerd.ok()) << containerd.status();
  const testbed::ContainerdPeer& peer = (*containerd)->peer();
  const bool bypassed = peer.CriPullsThroughTransferService();
  std::cout << peer.Name() << ": CRI pulls "
            << (bypassed ? "should go around nodefit" : "should ask nodefit")
            << "\n";

  const std::string socket = dir + "/nf.sock";
  absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> nodefit =
      testbed::NodefitProcess::Start(
          NODEFIT_BINARY, dir, "nodefit",
          {{"platform", "linux/amd64"},
           {"features", {"skylake"}},
           {"detect", false},
           {"cri",
            {{"listen", "unix://" + socket},
             {"containerd", (*containerd)->address()}}},
           {"containerd",
            {{"config", (*containerd)->config_path()},
             {"binary", peer.containerd()}}}});
  ASSERT_TRUE(nodefit.ok()) << nodefit.status();
  ASSERT_TRUE(testbed::WaitFor(
                  [&] {
                    return absl::StrContains(
                        (*nodefit)->log(),
                        "watching containerd's image events");
                  },
                  absl::Seconds(10), "the event stream")
                  .ok())
      << (*nodefit)->log();

  // hosts install names the problem where it can tell.
  std::vector<std::string> install = (*nodefit)->HostsInstall(certs);
  install.insert(install.end(),
                 {"--containerd-config", (*containerd)->config_path(),
                  "--containerd-bin", peer.containerd()});
  absl::StatusOr<std::string> installed = testbed::RunCommand(install);
  ASSERT_TRUE(installed.ok()) << installed.status();
  if (bypassed) {
    EXPECT_THAT(*installed, HasSubstr("warning: config_path is \"" + certs +
                                      ":" + docker_certs + "\", a list"));
    EXPECT_THAT(*installed, HasSubstr("fix: set config_path = \"" + certs +
                                      "\" (one directory)"));
  } else {
    EXPECT_THAT(*installed, Not(HasSubstr("warning")));
  }

  // kubelet's pull, straight to containerd's CRI.
  const std::string ref = host + "/cv/tf:latest";
  testbed::CriClient cri((*containerd)->address());
  absl::StatusOr<runtime::v1::PullImageResponse> pulled = cri.PullImage(ref);
  ASSERT_TRUE(pulled.ok()) << pulled.status();
  const std::string warning = "without asking nodefit";
  const std::string about_ref =
      "containerd pulled or imported " + ref + " " + warning;
  auto counted = [&] {
    absl::StatusOr<std::string> metrics = (*nodefit)->Get("/metrics");
    return metrics.ok()
               ? MetricValue(
                     *metrics,
                     R"(nodefit_bypassed_pulls_total{namespace="k8s.io"})")
               : -1;
  };
  if (bypassed) {
    // Logged and counted within 5 s of the pull.
    EXPECT_TRUE(testbed::WaitFor(
                    [&] {
                      return absl::StrContains((*nodefit)->log(), about_ref) &&
                             counted() == 1;
                    },
                    absl::Seconds(5), "the bypass warning and count")
                    .ok())
        << (*nodefit)->log();
    // The likely cause is the doctor's finding.
    EXPECT_THAT((*nodefit)->log(),
                HasSubstr("a list: containerd " + peer.version));
  }
  EXPECT_EQ(*(*containerd)->ReadImageFile("k8s.io", ref, "etc/variant"),
            bypassed ? "generic\n" : "skylake\n");

  // The same image through nodefit's own CRI face: never a bypass.
  const std::string via = host + "/cv/tf:via-nodefit";
  testbed::CriClient face("unix://" + socket);
  absl::StatusOr<runtime::v1::PullImageResponse> through = face.PullImage(via);
  ASSERT_TRUE(through.ok()) << through.status();
  EXPECT_EQ(through->image_ref(), tf->Find("skylake")->config_digest);

  // A pull nodefit is never asked about, on every version: ctr without
  // --hosts-dir. Events arrive in order, so once its warning is logged,
  // every earlier bypass has been too.
  const std::string imported = host + "/imported/app:1";
  ASSERT_TRUE((*containerd)
                  ->Ctr("k8s.io", {"images", "pull", "--plain-http",
                                   "--snapshotter", "native", imported})
                  .ok());
  ASSERT_TRUE(testbed::WaitFor(
                  [&] {
                    return absl::StrContains((*nodefit)->log(),
                                             "containerd pulled or imported " +
                                                 imported + " " + warning);
                  },
                  absl::Seconds(5), "the bypass warning")
                  .ok())
      << (*nodefit)->log();
  const std::string log = (*nodefit)->log();
  EXPECT_THAT(log, Not(HasSubstr("containerd pulled or imported " + via)));
  if (!bypassed) {
    EXPECT_THAT(log, Not(HasSubstr(about_ref)));
  }
  EXPECT_EQ(counted(), bypassed ? 2 : 1);

  // nodefit doctor names the problem and its fix.
  const testing::RunResult doctor = testing::Run(
      {NODEFIT_BINARY, "doctor", "--json", "--config",
       (*nodefit)->config_path(), "--kubelet-config", dir + "/no-kubelet"});
  ASSERT_FALSE(doctor.out.empty()) << doctor.exit_code << " " << doctor.err;
  const nlohmann::json report = nlohmann::json::parse(doctor.out);
  bool named = false;
  for (const nlohmann::json& check : report["checks"]) {
    if (check["check"] == "containerd-config" && check["result"] == "problem") {
      named =
          absl::StrContains(check["message"].get<std::string>(), "a list") &&
          absl::StrContains(check["fix"].get<std::string>(),
                            "config_path = \"" + certs + "\"");
    }
  }
  EXPECT_EQ(named, bypassed) << doctor.out;
  EXPECT_EQ(doctor.exit_code, bypassed ? 1 : 0) << doctor.out;

  (*nodefit)->Stop();
  (*containerd)->Stop();
  (*registry)->Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nodefit

namespace nodefit {
namespace {

// containerd restarts under a running nodefit: the event stream ends,
// nodefit reconnects on its own, and a bypass after the restart is seen.
TEST(BypassTest, TheWatcherReconnectsWhenContainerdRestarts) {
  const std::string dir = testbed::ShortTempDir();
  testbed::RegistryOptions options;
  options.storage_dir = dir + "/storage";
  options.work_dir = dir;
  absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> registry =
      testbed::RegistryServer::Start(options);
  ASSERT_TRUE(registry.ok()) << registry.status();
  const std::string host = (*registry)->host_port();
  ASSERT_TRUE(testbed::PushMultiBuildImage(host, "after/restart", "1",
                                           testbed::SeedBuilds())
                  .ok());
  std::filesystem::create_directories(dir + "/ctd");
  const testbed::ContainerdOptions containerd_options(dir + "/ctd",
                                                      dir + "/certs.d");
  absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> containerd =
      testbed::ContainerdServer::Start(containerd_options);
  ASSERT_TRUE(containerd.ok()) << containerd.status();
  absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> nodefit =
      testbed::NodefitProcess::Start(
          NODEFIT_BINARY, dir, "nodefit",
          {{"detect", false},
           {"cri",
            {{"listen", "unix://" + dir + "/nf.sock"},
             {"containerd", (*containerd)->address()}}}});
  ASSERT_TRUE(nodefit.ok()) << nodefit.status();
  auto count = [&](const std::string& text) {
    const std::string log = (*nodefit)->log();
    int n = 0;
    for (size_t at = log.find(text); at != std::string::npos;
         at = log.find(text, at + 1)) {
      ++n;
    }
    return n;
  };
  const std::string watching = "watching containerd's image events";
  ASSERT_TRUE(testbed::WaitFor([&] { return count(watching) == 1; },
                               absl::Seconds(10), "the event stream")
                  .ok());

  (*containerd)->Stop();
  ASSERT_TRUE(testbed::WaitFor(
                  [&] { return count("containerd's event stream ended") >= 1; },
                  absl::Seconds(10), "the stream's end")
                  .ok())
      << (*nodefit)->log();
  containerd = testbed::ContainerdServer::Start(containerd_options);
  ASSERT_TRUE(containerd.ok()) << containerd.status();
  ASSERT_TRUE(testbed::WaitFor([&] { return count(watching) >= 2; },
                               absl::Seconds(30), "the reconnection")
                  .ok())
      << (*nodefit)->log();

  const std::string ref = host + "/after/restart:1";
  ASSERT_TRUE((*containerd)
                  ->Ctr("k8s.io", {"images", "pull", "--plain-http",
                                   "--snapshotter", "native", ref})
                  .ok());
  EXPECT_TRUE(
      testbed::WaitFor(
          [&] { return count("containerd pulled or imported " + ref) == 1; },
          absl::Seconds(5), "the bypass warning")
          .ok())
      << (*nodefit)->log();
  EXPECT_EQ((*nodefit)->Stop(), 0);
  (*containerd)->Stop();
  (*registry)->Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nodefit
