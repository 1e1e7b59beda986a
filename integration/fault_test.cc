// nodefit's promise under faults, with mutual TLS on and the real
// containerd (1.6.20 and the newest 2.x): no pull is lost that containerd
// alone would have made.
//  - A registry failing while nodefit resolves (errors, rate limits, bodies
//    cut short, a wrong length, stalls, TLS failing): on both faces the
//    pull goes ahead as containerd alone makes it (nodefit steps aside).
//  - A registry failing for containerd too: the pull fails as it does
//    without nodefit.
//  - containerd restarted under CRI calls: the calls fail as direct ones
//    do, health goes NOT_SERVING then SERVING, nothing leaks.
//  - nodefit killed (SIGKILL) at random points of pulls on both faces, 20
//    times each: no pull lost, a clean restart, the next pull the best.
//  - A cancelled PullImage cancels the pull nodefit asked of containerd.
#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/cri_client.h"
#include "integration/testbed/fault_proxy.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/registry.h"

namespace nodefit {
namespace {

using testbed::Fault;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kManifests[] = R"(/v2/.*/manifests/.*)";
constexpr char kBlobs[] = R"(/v2/.*/blobs/.*)";
constexpr int kKills = 20;

int CountEntries(const std::string& dir) {
  int n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n;
}

int Threads(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "Threads:")) return std::stoi(line.substr(8));
  }
  return -1;
}

class FaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testbed::ShortTempDir());
    const std::string& d = *dir_;
    testbed::RegistryOptions options;
    options.storage_dir = d + "/storage";
    options.work_dir = d;
    absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> r =
        testbed::RegistryServer::Start(options);
    ASSERT_TRUE(r.ok()) << r.status();
    registry_ = r->release();
    // Four ways to the registry: nodefit's way for registry_'s host (faults
    // only nodefit sees), one both see, one that drips blobs (slow pulls),
    // and one nodefit is told to reach over https (TLS fails).
    for (testbed::FaultProxy** proxy :
         {&nodefit_way_, &both_way_, &slow_way_, &tls_way_}) {
      absl::StatusOr<std::unique_ptr<testbed::FaultProxy>> p =
          testbed::FaultProxy::Start(registry_->port());
      ASSERT_TRUE(p.ok()) << p.status();
      *proxy = p->release();
    }
    slow_way_->SetFaults({{Fault::Kind::kDrip, ".*", kBlobs, 0, "",
                           absl::Milliseconds(40), 16 << 10, -1}});

    // Plain hosts.toml for every name containerd pulls, in two trees: one
    // for containerd alone (CRI's config_path), one nodefit is installed in.
    for (const std::string& tree :
         {std::string("/plain"), std::string("/nf")}) {
      for (const std::string& host :
           {registry_->host_port(), both_way_->host_port(),
            slow_way_->host_port(), tls_way_->host_port()}) {
        std::filesystem::create_directories(d + tree + "/" + host);
        std::ofstream(d + tree + "/" + host + "/hosts.toml")
            << "server = \"http://" << host << "\"\n";
      }
    }
    std::filesystem::create_directories(d + "/ctd");
    StartContainerd();
    StartNodefit();
    ASSERT_NE(nodefit_, nullptr);
    absl::StatusOr<std::string> installed =
        testbed::RunCommand(nodefit_->HostsInstall(d + "/nf"));
    ASSERT_TRUE(installed.ok()) << installed.status();
    std::cout << containerd_->peer().Name() << "\n";
  }

  // Every static is cleared: the parameterized suite below sets up its own.
  static void TearDownTestSuite() {
    delete nodefit_;
    nodefit_ = nullptr;
    delete containerd_;
    containerd_ = nullptr;
    for (testbed::FaultProxy** p :
         {&nodefit_way_, &both_way_, &slow_way_, &tls_way_}) {
      delete *p;
      *p = nullptr;
    }
    delete registry_;
    registry_ = nullptr;
    delete config_;
    config_ = nullptr;
    if (dir_ != nullptr) {
      std::error_code ignored;
      std::filesystem::remove_all(*dir_, ignored);
    }
    delete dir_;
    dir_ = nullptr;
  }

  static void StartContainerd() {
    absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> c =
        testbed::ContainerdServer::Start({*dir_ + "/ctd", *dir_ + "/plain"});
    ASSERT_TRUE(c.ok()) << c.status();
    containerd_ = c->release();
  }

  // nodefit on fixed ports and socket, so a restart is the same nodefit.
  static void StartNodefit() {
    if (config_ == nullptr) {
      config_ = new nlohmann::json{
          {"platform", "linux/amd64"},
          {"features", {"skylake"}},
          {"detect", false},
          {"on_no_match", "fail"},
          {"upstream", {{"request_timeout_ms", 1500}}},
          {"registries",
           {{registry_->host_port(), {{"endpoint", nodefit_way_->url()}}},
            {tls_way_->host_port(),
             {{"endpoint", absl::StrCat("https://", tls_way_->host_port())}}}}},
          {"http",
           {{"listen", absl::StrCat("127.0.0.1:", testbed::FreePort())},
            {"health_listen",
             absl::StrCat("127.0.0.1:", testbed::FreePort())}}},
          {"cri",
           {{"listen", absl::StrCat("unix://", *dir_, "/nf-run/cri.sock")},
            {"containerd", containerd_->address()}}}};
    }
    absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> n =
        testbed::NodefitProcess::Start(NODEFIT_BINARY, *dir_, "nodefit",
                                       *config_);
    ASSERT_TRUE(n.ok()) << n.status();
    nodefit_ = n->release();
  }

  static std::string CriSocket() {
    return absl::StrCat("unix://", *dir_, "/nf-run/cri.sock");
  }

  // Pushes `tag` of `repo` (generic first, then skylake; `payload` bytes of
  // its own in each) and returns the reference through `host`.
  static std::string Push(const std::string& host, const std::string& repo,
                          const std::string& tag, uint64_t payload = 0) {
    absl::StatusOr<testbed::PushedImage> pushed = testbed::PushMultiBuildImage(
        registry_->host_port(), repo, tag,
        {{"generic-" + tag, "linux", "amd64", "", {}, payload},
         {"skylake-" + tag, "linux", "amd64", "", {"skylake"}, payload}});
    EXPECT_TRUE(pushed.ok()) << pushed.status();
    return absl::StrCat(host, "/", repo, ":", tag);
  }

  // The resolver face: ctr pull through the tree nodefit is installed in.
  static absl::StatusOr<std::string> PullViaHosts(const std::string& ns,
                                                  const std::string& ref) {
    absl::StatusOr<std::string> pulled =
        containerd_->Pull(ns, ref, *dir_ + "/nf");
    if (!pulled.ok()) return pulled.status();
    return containerd_->ReadImageFile(ns, ref, "etc/variant");
  }

  // The CRI face: PullImage through nodefit's socket.
  static absl::StatusOr<std::string> PullViaCri(const std::string& ref) {
    testbed::CriClient via(CriSocket());
    absl::StatusOr<runtime::v1::PullImageResponse> pulled = via.PullImage(ref);
    if (!pulled.ok()) return pulled.status();
    return containerd_->ReadImageFile("k8s.io", ref, "etc/variant");
  }

  static std::string* dir_;
  static testbed::RegistryServer* registry_;
  static testbed::FaultProxy* nodefit_way_;
  static testbed::FaultProxy* both_way_;
  static testbed::FaultProxy* slow_way_;
  static testbed::FaultProxy* tls_way_;
  static testbed::ContainerdServer* containerd_;
  static testbed::NodefitProcess* nodefit_;
  static nlohmann::json* config_;
};

std::string* FaultTest::dir_ = nullptr;
testbed::RegistryServer* FaultTest::registry_ = nullptr;
testbed::FaultProxy* FaultTest::nodefit_way_ = nullptr;
testbed::FaultProxy* FaultTest::both_way_ = nullptr;
testbed::FaultProxy* FaultTest::slow_way_ = nullptr;
testbed::FaultProxy* FaultTest::tls_way_ = nullptr;
testbed::ContainerdServer* FaultTest::containerd_ = nullptr;
testbed::NodefitProcess* FaultTest::nodefit_ = nullptr;
nlohmann::json* FaultTest::config_ = nullptr;

struct FaultCase {
  std::string name;
  std::vector<Fault> faults;  // on nodefit's way to the registry
  bool tls = false;           // through the way nodefit reaches over https
};

std::vector<FaultCase> ResolutionFaults() {
  auto on_manifests = [](Fault fault) {
    fault.path = kManifests;
    return std::vector<Fault>{fault};
  };
  return {
      {"500", on_manifests(Fault::HttpStatus(500))},
      {"429", on_manifests(Fault::HttpStatus(429, "1"))},
      {"reset", on_manifests(Fault::OfKind(Fault::Kind::kCloseChunked))},
      {"truncated", on_manifests(Fault::OfKind(Fault::Kind::kTruncate))},
      {"short-length", on_manifests(Fault::OfKind(Fault::Kind::kShortLength))},
      // nodefit's request timeout is 1.5 s.
      {"stall", on_manifests(Fault::Stall(absl::Seconds(4)))},
      {"tls", {}, true}};
}

// Without a fault nodefit is in the path on both faces: the best build.
TEST_F(FaultTest, WithoutFaultsBothFacesGetTheBestBuild) {
  nodefit_way_->SetFaults({});
  const std::string hosts = Push(registry_->host_port(), "f/hosts", "none");
  absl::StatusOr<std::string> variant = PullViaHosts("none", hosts);
  ASSERT_TRUE(variant.ok()) << variant.status();
  EXPECT_EQ(*variant, "skylake-none\n");
  const std::string cri = Push(registry_->host_port(), "f/cri", "none");
  variant = PullViaCri(cri);
  ASSERT_TRUE(variant.ok()) << variant.status();
  EXPECT_EQ(*variant, "skylake-none\n");
}

// A fault on nodefit's way only: the pull is the one containerd alone
// makes (its first entry), and nodefit says it stepped aside. One test per
// fault and face.
class ResolutionFaultTest
    : public FaultTest,
      public ::testing::WithParamInterface<std::tuple<int, std::string>> {};

TEST_P(ResolutionFaultTest, StepsAsideAndThePullIsContainerdsOwn) {
  const FaultCase c = ResolutionFaults()[std::get<0>(GetParam())];
  const std::string face = std::get<1>(GetParam());
  const std::string host =
      c.tls ? tls_way_->host_port() : registry_->host_port();
  nodefit_way_->SetFaults(c.faults);
  const std::string ref = Push(host, "f/" + face, c.name);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> variant =
      face == "hosts" ? PullViaHosts("fault-" + c.name, ref) : PullViaCri(ref);
  nodefit_way_->SetFaults({});
  ASSERT_TRUE(variant.ok()) << variant.status() << "\n" << nodefit_->log();
  EXPECT_EQ(*variant, "generic-" + c.name + "\n");
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  absl::StatusOr<std::string> metrics = nodefit_->Get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(*metrics,
              HasSubstr(absl::StrCat("nodefit_stepaside_total{face=\"",
                                     face == "hosts" ? "http" : "cri", "\"")));
}

INSTANTIATE_TEST_SUITE_P(
    EveryFaultBothFaces, ResolutionFaultTest,
    ::testing::Combine(::testing::Range(0, 7),
                       ::testing::Values("hosts", "cri")),
    [](const ::testing::TestParamInfo<std::tuple<int, std::string>>& info) {
      std::string name = ResolutionFaults()[std::get<0>(info.param)].name;
      std::replace(name.begin(), name.end(), '-', '_');
      return name + "_" + std::get<1>(info.param);
    });

// A fault containerd meets too (the registry answers 500 to everyone): the
// pull fails with nodefit as it fails without it.
TEST_F(FaultTest, AFaultContainerdAloneMeetsFailsTheSame) {
  const std::string ref = Push(both_way_->host_port(), "f/both", "down");
  Fault down = Fault::HttpStatus(500);
  down.path = kManifests;
  both_way_->SetFaults({down});
  // CRI: through nodefit and straight to containerd, the same status.
  testbed::CriClient via(CriSocket());
  testbed::CriClient direct(containerd_->address());
  absl::StatusOr<runtime::v1::PullImageResponse> through = via.PullImage(ref);
  absl::StatusOr<runtime::v1::PullImageResponse> alone = direct.PullImage(ref);
  ASSERT_FALSE(through.ok());
  ASSERT_FALSE(alone.ok());
  EXPECT_EQ(through.status().code(), alone.status().code());
  EXPECT_EQ(through.status().message(), alone.status().message());
  // hosts.toml: ctr with nodefit's tree and with the plain one.
  absl::StatusOr<std::string> with_nodefit =
      containerd_->Pull("both-nf", ref, *dir_ + "/nf");
  absl::StatusOr<std::string> without =
      containerd_->Pull("both-plain", ref, *dir_ + "/plain");
  both_way_->SetFaults({});
  ASSERT_FALSE(with_nodefit.ok());
  ASSERT_FALSE(without.ok());
  EXPECT_THAT(std::string(with_nodefit.status().message()), HasSubstr("500"));
  EXPECT_THAT(std::string(without.status().message()), HasSubstr("500"));
}

// A PullImage cancelled by its caller: nodefit cancels the pull it asked
// of containerd, which stops fetching (its blob download is abandoned)
// within a second, and no image record appears.
TEST_F(FaultTest, CancellingAPullImageCancelsContainerdsPull) {
  const std::string ref =
      Push(slow_way_->host_port(), "f/cancel", "slow", 1 << 20);
  const int abandoned = slow_way_->Abandoned();
  auto channel =
      grpc::CreateChannel(CriSocket(), grpc::InsecureChannelCredentials());
  auto stub = runtime::v1::ImageService::NewStub(channel);
  grpc::ClientContext ctx;
  runtime::v1::PullImageRequest request;
  request.mutable_image()->set_image(ref);
  runtime::v1::PullImageResponse response;
  std::atomic<bool> finished{false};
  grpc::Status status;
  std::thread call([&] {
    status = stub->PullImage(&ctx, request, &response);
    finished = true;
  });
  // Until containerd is downloading a blob.
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (slow_way_->Count("/blobs/") == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_GT(slow_way_->Count("/blobs/"), 0);
  absl::SleepFor(absl::Milliseconds(300));
  ctx.TryCancel();
  const absl::Time cancelled = absl::Now();
  while (slow_way_->Abandoned() == abandoned &&
         absl::Now() - cancelled < absl::Seconds(5)) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const absl::Duration stopped = absl::Now() - cancelled;
  call.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_GT(slow_way_->Abandoned(), abandoned);
  EXPECT_LT(stopped, absl::Seconds(1)) << "containerd kept downloading";
  std::cout << "containerd stopped downloading " << stopped
            << " after the cancel\n";
  // The whole layer would take 64 x 40 ms: wait that out, no image.
  absl::SleepFor(absl::Seconds(3));
  absl::StatusOr<std::string> images =
      containerd_->Ctr("k8s.io", {"images", "ls", "-q"});
  ASSERT_TRUE(images.ok());
  EXPECT_THAT(*images, ::testing::Not(HasSubstr("f/cancel:slow")));
}

// containerd restarted while CRI calls are in flight: through nodefit they
// fail as they do straight to containerd; health follows containerd; no
// thread or file descriptor is left behind.
TEST_F(FaultTest, ContainerdRestartedUnderCriCalls) {
  const pid_t pid = nodefit_->process().pid();
  // Warm: the first calls set up channels and pools that stay.
  testbed::CriClient via(CriSocket());
  ASSERT_TRUE(via.ListImages().ok());
  absl::SleepFor(absl::Milliseconds(500));
  const int fds_before = CountEntries(absl::StrCat("/proc/", pid, "/fd"));
  const int threads_before = Threads(pid);

  const std::string through_ref =
      Push(slow_way_->host_port(), "f/restart", "via", 1 << 20);
  const std::string direct_ref =
      Push(slow_way_->host_port(), "f/restart", "direct", 1 << 20);
  absl::StatusOr<runtime::v1::PullImageResponse> through_result;
  absl::StatusOr<runtime::v1::PullImageResponse> direct_result;
  std::thread a([&] {
    through_result = testbed::CriClient(CriSocket()).PullImage(through_ref);
  });
  std::thread b([&] {
    direct_result =
        testbed::CriClient(containerd_->address()).PullImage(direct_ref);
  });
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (slow_way_->Count("/f/restart/blobs/") < 2 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  absl::SleepFor(absl::Milliseconds(300));
  delete containerd_;  // SIGTERM, then SIGKILL after 5 s
  containerd_ = nullptr;
  a.join();
  b.join();
  ASSERT_FALSE(through_result.ok());
  ASSERT_FALSE(direct_result.ok());
  EXPECT_EQ(through_result.status().code(), direct_result.status().code())
      << through_result.status() << " vs " << direct_result.status();

  // Health: NOT_SERVING while containerd is away, SERVING once it is back.
  auto health = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(CriSocket(), grpc::InsecureChannelCredentials()));
  auto serving = [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(2));
    grpc::health::v1::HealthCheckRequest check;
    grpc::health::v1::HealthCheckResponse answer;
    grpc::Status s = health->Check(&ctx, check, &answer);
    return s.ok() &&
           answer.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  };
  ASSERT_TRUE(testbed::WaitFor([&] { return !serving(); }, absl::Seconds(10),
                               "NOT_SERVING")
                  .ok());
  StartContainerd();
  ASSERT_TRUE(
      testbed::WaitFor(serving, absl::Seconds(15), "SERVING again").ok());
  // Calls work again, through the same nodefit.
  ASSERT_TRUE(testbed::WaitFor([&] { return via.ListImages().ok(); },
                               absl::Seconds(10), "ListImages")
                  .ok());
  absl::SleepFor(absl::Seconds(1));
  const int fds_after = CountEntries(absl::StrCat("/proc/", pid, "/fd"));
  const int threads_after = Threads(pid);
  std::cout << "fds " << fds_before << " -> " << fds_after << ", threads "
            << threads_before << " -> " << threads_after << "\n";
  EXPECT_LE(fds_after, fds_before + 2);
  EXPECT_LE(threads_after, threads_before + 2);
}

// nodefit killed (SIGKILL) at a random point of a pull, 20 times per face,
// then started again: the resolver face's pulls never fail (containerd
// goes on to the registry); a CRI pull either completes or fails with the
// broken connection its caller retries; nodefit always starts again (no
// stale socket or half-written file in its way); and the next pull of the
// same image gets the best build.
TEST_F(FaultTest, KilledMidPullLosesNothingAndRestartsClean) {
  std::mt19937 random(20261201);
  std::uniform_int_distribution<int> point_ms(0, 900);
  int completed = 0, interrupted = 0;
  for (int i = 0; i < kKills; ++i) {
    for (const std::string face : {"hosts", "cri"}) {
      SCOPED_TRACE(absl::StrCat(face, " #", i));
      const std::string tag = absl::StrCat(face, "-", i);
      const std::string ref =
          Push(slow_way_->host_port(), "f/kill", tag, 256 << 10);
      const std::string ns = "kill-" + tag;
      absl::StatusOr<std::string> variant;
      std::thread pull([&] {
        variant = face == "hosts" ? PullViaHosts(ns, ref) : PullViaCri(ref);
      });
      absl::SleepFor(absl::Milliseconds(point_ms(random)));
      nodefit_->process().Signal(SIGKILL);
      nodefit_->process().Wait(absl::Seconds(10));
      pull.join();
      if (face == "hosts") {
        ASSERT_TRUE(variant.ok()) << variant.status();
      }
      if (variant.ok()) {
        ++completed;
        EXPECT_THAT(*variant,
                    AnyOf("generic-" + tag + "\n", "skylake-" + tag + "\n"));
      } else {
        ++interrupted;
        EXPECT_EQ(variant.status().code(), absl::StatusCode::kUnavailable)
            << variant.status();
      }
      delete nodefit_;
      nodefit_ = nullptr;
      StartNodefit();
      ASSERT_NE(nodefit_, nullptr) << "nodefit did not start again";
      // The next pull of the same image: the best build.
      if (face == "hosts") {
        absl::StatusOr<std::string> again = PullViaHosts(ns + "-again", ref);
        ASSERT_TRUE(again.ok()) << again.status();
        EXPECT_EQ(*again, "skylake-" + tag + "\n");
      } else {
        (void)testbed::CriClient(containerd_->address()).RemoveImage(ref);
        absl::StatusOr<std::string> again = PullViaCri(ref);
        ASSERT_TRUE(again.ok()) << again.status();
        const std::string log = nodefit_->log();
        EXPECT_EQ(*again, "skylake-" + tag + "\n")
            << log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
      }
    }
  }
  std::cout << kKills * 2 << " kills: " << completed
            << " pulls completed anyway, " << interrupted
            << " CRI calls cut (the caller retries)\n";
}

}  // namespace
}  // namespace nodefit
