// The attacks of issue 14 that involve containerd, run against each
// containerd of the matrix, unprivileged steps as `nobody` (runuser):
//  - a local user's server on nodefit's port while nodefit is down (the
//    port stand-in): containerd must get the registry's build or fail TLS,
//    never the stand-in's image, and a restarted nodefit names who holds
//    its port;
//  - containerd's other APIs through nodefit's CRI socket;
//  - a private index's contents in a FAILED_PRECONDITION to a caller that
//    sent no credentials.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/cri_client.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/pki.h"
#include "integration/testbed/registry.h"

namespace nodefit {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kAttacker[] = "nobody";

// `argv` run as the unprivileged attacker.
std::vector<std::string> AsNobody(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"runuser", "-u", kAttacker, "--"});
  return argv;
}

// A directory the attacker owns, under a fresh short temp dir it can reach.
std::string AttackerDir(const std::string& name) {
  const std::string dir = testbed::ShortTempDir();
  chmod(dir.c_str(), 0755);
  const std::string own = dir + "/" + name;
  std::filesystem::create_directories(own);
  return own;
}

absl::Status GiveToAttacker(const std::string& path) {
  return testbed::RunCommand({"chown", "-R", "nobody:nogroup", path}).status();
}

class SecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testbed::ShortTempDir());
    const std::string& d = *dir_;
    testbed::RegistryOptions plain;
    plain.storage_dir = d + "/storage";
    plain.work_dir = d;
    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> r =
        testbed::RegistryServer::Start(plain);
    ASSERT_TRUE(r.ok()) << r.status();
    registry_ = r->release();
    absl::StatusOr<testbed::PushedImage> app = testbed::PushMultiBuildImage(
        registry_->host_port(), "app/stand", "latest",
        {{"generic", "linux", "amd64", "", {}, 0},
         {"skylake", "linux", "amd64", "", {"skylake"}, 0}});
    ASSERT_TRUE(app.ok()) << app.status();
    ASSERT_TRUE(
        testbed::PushMultiBuildImage(
            registry_->host_port(), "private/app", "latest",
            {{"private-avx512", "linux", "amd64", "", {"skylake-avx512"}, 0}})
            .ok());

    // The same storage behind Basic auth: the private registry, whose
    // credentials only nodefit's config holds.
    testbed::RegistryOptions basic = plain;
    basic.name = "private";
    r = testbed::StartBasicAuthRegistry(basic, "node",
                                        "node-registry-password");
    ASSERT_TRUE(r.ok()) << r.status();
    private_ = r->release();

    for (const testbed::RegistryServer* reg : {registry_, private_}) {
      reg->WriteHostsToml(d + "/certs");
    }
    std::filesystem::create_directories(d + "/ctd");
    absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> c =
        testbed::ContainerdServer::Start({d + "/ctd", d + "/certs"});
    ASSERT_TRUE(c.ok()) << c.status();
    containerd_ = c->release();
  }

  static void TearDownTestSuite() {
    delete containerd_;
    delete private_;
    delete registry_;
    if (dir_ != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*dir_, ignored);
    }
    delete dir_;
  }

  // nodefit for a Skylake node, its CRI socket in front of containerd and
  // the private registry's credentials in its config.
  static absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> StartNodefit(
      const std::string& name, int port = 0,
      nlohmann::json http = nlohmann::json::object()) {
    nlohmann::json config = {
        {"platform", "linux/amd64"},
        {"features", {"skylake"}},
        {"detect", false},
        {"on_no_match", "fail"},
        {"registries",
         {{private_->host_port(),
           {{"username", "node"}, {"password", "node-registry-password"}}}}},
        {"cri",
         {{"listen",
           absl::StrCat("unix://", *dir_, "/", name, "-run/cri.sock")},
          {"containerd", containerd_->address()}}}};
    if (port != 0) http["listen"] = absl::StrCat("127.0.0.1:", port);
    config["http"] = std::move(http);
    return testbed::NodefitProcess::Start(NODEFIT_BINARY, *dir_, name, config);
  }

  static std::string Ref(const testbed::RegistryServer& r,
                         const std::string& repo) {
    return absl::StrCat(r.host_port(), "/", repo, ":latest");
  }

  static std::string* dir_;
  static testbed::RegistryServer* registry_;
  static testbed::RegistryServer* private_;
  static testbed::ContainerdServer* containerd_;
};

std::string* SecurityTest::dir_ = nullptr;
testbed::RegistryServer* SecurityTest::registry_ = nullptr;
testbed::RegistryServer* SecurityTest::private_ = nullptr;
testbed::ContainerdServer* SecurityTest::containerd_ = nullptr;

// Finding 1, as it was done: nodefit crashes (SIGKILL: its hosts entries
// stay) and a local user serves an image of its own for the same name on
// nodefit's port. StandIn runs it: nodefit on `name`'s config (plain http
// when `plain`), hosts install, a pull, the crash, the stand-in (over TLS
// with a certificate of its own unless `plain`), the same pull again in
// another namespace; the second pull's /etc/variant, or its error.
struct StandInResult {
  absl::StatusOr<std::string> variant;
  std::string stand_in_log;
  int stand_in_requests = 0;
  absl::Status restarted;  // nodefit started again on the taken port
};

class StandInTest : public SecurityTest {
 protected:
  static StandInResult StandIn(const std::string& name, bool plain) {
    StandInResult result;
    nlohmann::json http = nlohmann::json::object();
    if (plain) http["insecure_plain_http"] = true;
    absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> nodefit =
        StartNodefit(name, 0, http);
    EXPECT_TRUE(nodefit.ok()) << nodefit.status();
    if (!nodefit.ok()) return result;
    const int port = (*nodefit)->port();
    const std::string certs = *dir_ + "/certs-" + name;
    std::filesystem::create_directories(certs);
    absl::StatusOr<std::string> installed =
        testbed::RunCommand((*nodefit)->HostsInstall(certs));
    EXPECT_TRUE(installed.ok()) << installed.status();
    const std::string ref = Ref(*registry_, "app/stand");
    absl::StatusOr<std::string> pulled =
        containerd_->Pull(name + "-before", ref, certs);
    EXPECT_TRUE(pulled.ok()) << pulled.status();
    EXPECT_EQ(containerd_->ReadImageFile(name + "-before", ref, "etc/variant")
                  .value_or(""),
              "skylake\n");

    // The stand-in's image: same repository and tag, one build that would
    // fit this node best.
    const std::string attacker = AttackerDir("attacker");
    {
      testbed::RegistryOptions push;
      push.storage_dir = attacker + "/storage";
      push.work_dir = attacker;
      push.name = "push";
      absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> pusher =
          testbed::RegistryServer::Start(push);
      EXPECT_TRUE(pusher.ok()) << pusher.status();
      if (!pusher.ok()) return result;
      EXPECT_TRUE(testbed::PushMultiBuildImage(
                      (*pusher)->host_port(), "app/stand", "latest",
                      {{"attacker", "linux", "amd64", "", {"skylake"}, 0}})
                      .ok());
    }
    absl::StatusOr<testbed::TlsFiles> own_tls = testbed::MakeTlsFiles(attacker);
    EXPECT_TRUE(own_tls.ok()) << own_tls.status();
    EXPECT_TRUE(GiveToAttacker(attacker).ok());

    (*nodefit)->process().Signal(SIGKILL);
    (*nodefit)->process().Wait(absl::Seconds(10));
    testbed::RegistryOptions stand_in;
    stand_in.storage_dir = attacker + "/storage";
    stand_in.work_dir = attacker;
    stand_in.name = "stand-in";
    if (!plain && own_tls.ok()) {
      stand_in.tls_cert = own_tls->server_cert;
      stand_in.tls_key = own_tls->server_key;
    }
    stand_in.port = port;
    stand_in.run_as = kAttacker;
    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> server =
        testbed::RegistryServer::Start(stand_in);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return result;

    absl::StatusOr<std::string> after =
        containerd_->Pull(name + "-after", ref, certs);
    result.variant = after.ok() ? containerd_->ReadImageFile(name + "-after",
                                                             ref, "etc/variant")
                                : absl::StatusOr<std::string>(after.status());
    result.stand_in_log = (*server)->log();
    result.stand_in_requests = (*server)->CountRequests("GET", "/v2/") +
                               (*server)->CountRequests("HEAD", "/v2/");
    absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> again =
        StartNodefit(name + "-again", port, http);
    result.restarted = again.status();
    return result;
  }
};

// With mutual TLS (the default), containerd refuses the stand-in (its
// certificate is not signed by the node CA) and falls through to the
// registry: the registry's first build, never the stand-in's. The stand-in
// completes no request, and nodefit started again names who holds its port.
TEST_F(StandInTest, AStandInOnTheCrashedNodefitsPortServesNothing) {
  const StandInResult result = StandIn("standin", /*plain=*/false);
  if (result.variant.ok()) {
    EXPECT_EQ(*result.variant, "generic\n");
  } else {
    EXPECT_THAT(
        std::string(result.variant.status().message()),
        AnyOf(HasSubstr("certificate"), HasSubstr("tls"), HasSubstr("x509")));
  }
  EXPECT_EQ(result.stand_in_requests, 0) << result.stand_in_log;
  EXPECT_THAT(result.stand_in_log, HasSubstr("TLS handshake error"));
  ASSERT_FALSE(result.restarted.ok());
  const std::string message(result.restarted.message());
  EXPECT_THAT(message, HasSubstr("the port is held by pid"));
  EXPECT_THAT(message, HasSubstr("uid 65534"));
  EXPECT_THAT(message, HasSubstr("docker-registry"));
}

// The control: the same attack on a nodefit in plain http (what the first
// version wrote into hosts.toml; now only http.insecure_plain_http, for
// tests) succeeds. This is what the test above would see without TLS.
TEST_F(StandInTest, WithoutTlsTheStandInWins) {
  const StandInResult result = StandIn("plain", /*plain=*/true);
  ASSERT_TRUE(result.variant.ok()) << result.variant.status();
  EXPECT_EQ(*result.variant, "attacker\n");
  EXPECT_GT(result.stand_in_requests, 0);
}

// The default port is privileged: a local user cannot take it at all.
TEST_F(SecurityTest, TheDefaultPortIsOneALocalUserCannotBind) {
  ASSERT_EQ(
      testbed::ReadFileOrEmpty("/proc/sys/net/ipv4/ip_unprivileged_port_start"),
      "1024\n");
  const std::string attacker = AttackerDir("bind");
  ASSERT_TRUE(GiveToAttacker(attacker).ok());
  testbed::RegistryOptions stand_in;
  stand_in.storage_dir = attacker + "/storage";
  stand_in.work_dir = attacker;
  stand_in.port = 505;
  stand_in.run_as = kAttacker;
  absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> server =
      testbed::RegistryServer::Start(stand_in);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(std::string(server.status().message()),
              HasSubstr("permission denied"));
}

// Finding 6. containerd's own API through nodefit's socket: refused by
// name; and a local user cannot reach the socket at all.
TEST_F(SecurityTest, TheCriSocketForwardsTheImageServiceOnly) {
  absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> nodefit =
      StartNodefit("crisock");
  ASSERT_TRUE(nodefit.ok()) << nodefit.status();
  const std::string socket = *dir_ + "/crisock-run/cri.sock";
  absl::StatusOr<std::string> created =
      testbed::RunCommand({containerd_->peer().ctr(), "-a", socket,
                           "namespaces", "create", "evil"});
  ASSERT_FALSE(created.ok());
  EXPECT_THAT(
      std::string(created.status().message()),
      HasSubstr("/containerd.services.namespaces.v1.Namespaces/Create is not "
                "forwarded"));
  absl::StatusOr<std::string> namespaces =
      containerd_->Ctr("default", {"namespaces", "ls", "-q"});
  ASSERT_TRUE(namespaces.ok()) << namespaces.status();
  EXPECT_THAT(*namespaces, Not(HasSubstr("evil")));

  // The socket's directory is root's alone.
  struct stat st;
  ASSERT_EQ(stat((*dir_ + "/crisock-run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(chmod(dir_->c_str(), 0755), 0);  // let nobody reach the dir
  absl::StatusOr<std::string> as_nobody = testbed::RunCommand(
      AsNobody({containerd_->peer().ctr(), "-a", socket, "images", "ls"}));
  ASSERT_EQ(chmod(dir_->c_str(), 0700), 0);
  ASSERT_FALSE(as_nobody.ok());
  EXPECT_THAT(std::string(as_nobody.status().message()),
              HasSubstr("permission denied"));
}

// Finding 7. A PullImage without credentials, of a private index nodefit
// can read with its own: the caller learns only that nothing fits (where
// containerd alone would say it is unauthorized); the reasons, with the
// index's builds, go to nodefit's log.
TEST_F(SecurityTest, APrivateIndexDoesNotLeakThroughFailedPrecondition) {
  absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> nodefit =
      StartNodefit("private");
  ASSERT_TRUE(nodefit.ok()) << nodefit.status();
  testbed::CriClient via("unix://" + *dir_ + "/private-run/cri.sock");
  testbed::CriClient direct(containerd_->address());
  const std::string ref = Ref(*private_, "private/app");
  absl::StatusOr<runtime::v1::PullImageResponse> pulled = via.PullImage(ref);
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(pulled.status().message(),
            "no build of " + ref + " fits this node (nodefit's log says why)");
  EXPECT_THAT(std::string(pulled.status().message()), Not(HasSubstr("sha256")));
  EXPECT_THAT((*nodefit)->log(), HasSubstr("lacks skylake-avx512"));
  EXPECT_THAT((*nodefit)->log(), Not(HasSubstr("node-registry-password")));
  absl::StatusOr<runtime::v1::PullImageResponse> alone = direct.PullImage(ref);
  ASSERT_FALSE(alone.ok());
  EXPECT_THAT(std::string(alone.status().message()),
              AnyOf(HasSubstr("401"), HasSubstr("nauthorized"),
                    HasSubstr("authorization failed")));
}

}  // namespace
}  // namespace nodefit
