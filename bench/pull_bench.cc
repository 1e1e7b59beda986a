// Bench 4: end-to-end CRI PullImage of a multi-build image, the registry
// behind our latency proxy (10 ms each way). Every run gets a fresh
// containerd (new root) and, when used, a fresh nodefit (cold cache): a node
// pulling the image for the first time. Modes, alternating run by run:
//   direct    kubelet -> containerd; hosts.toml: the registry (via proxy);
//   nodefit   kubelet -> nodefit's CRI face -> containerd, nodefit's
//             resolver face also installed in hosts.toml (the deployment of
//             docs/architecture.md), nodefit just started: it has to open
//             its own connection to the registry (the target figure);
//   nodefit_warm  the same, but nodefit has talked to the registry just
//             before (one resolution of a missing tag, untimed), as a
//             daemon that keeps its connection does; the image is still
//             new to it (cold cache);
//   resolver  kubelet -> containerd, with nodefit's resolver face in
//             hosts.toml only (containerd's own pulls); for information.
// Both containerd and nodefit reach the registry only through the proxy,
// which counts every upstream request and byte.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "bench/benches.h"
#include "bench/latency_proxy.h"
#include "integration/testbed/cri_client.h"
#include "resolver/base/status_macros.h"

namespace nodefit::bench {
namespace {

struct RunResult {
  double wall_ms = 0;
  LatencyProxy::Counters counters;
};

}  // namespace

absl::Status RunPullBench(BenchEnv& env, Results* results) {
  const uint64_t payload = env.smoke() ? (1u << 20) : 20u * 1000 * 1000;
  const int runs = env.smoke() ? 1 : 5;
  ASSIGN_OR_RETURN(testbed::RegistryServer * registry, env.Registry());
  ASSIGN_OR_RETURN(
      testbed::PushedImage image,
      env.Image("bench/pull", "latest", testbed::SeedBuilds(payload)));
  LatencyProxyOptions proxy_options;
  proxy_options.upstream_port = registry->port();
  proxy_options.one_way_delay = absl::Milliseconds(10);
  ASSIGN_OR_RETURN(std::unique_ptr<LatencyProxy> proxy,
                   LatencyProxy::Start(proxy_options));

  const std::string host = registry->host_port();
  const std::string ref = absl::StrCat(host, "/bench/pull:latest");
  const std::map<std::string, std::string> expected = {
      {"direct", image.builds[0].config_digest},  // first match: generic
      {"nodefit", image.Find("skylake")->config_digest},
      {"nodefit_warm", image.Find("skylake")->config_digest},
      {"resolver", image.Find("skylake")->config_digest}};
  const std::vector<std::string> modes = {"direct", "nodefit", "nodefit_warm",
                                          "resolver"};
  std::map<std::string, std::vector<RunResult>> by_mode;

  for (int run = 0; run < runs; ++run) {
    for (size_t k = 0; k < modes.size(); ++k) {
      const std::string& mode =
          modes[(k + static_cast<size_t>(run)) % modes.size()];
      const std::string name = absl::StrCat("pull-", mode, "-", run);
      const std::string dir = env.SubDir(name);
      const std::string certs = dir + "/certs";
      std::filesystem::create_directories(certs + "/" + host);
      // containerd 1.6.20 ignores a hosts.toml holding only `server` (it
      // then goes to the registry itself); an explicit host entry works.
      std::ofstream(certs + "/" + host + "/hosts.toml")
          << "server = \"" << proxy->url() << "\"\n\n[host.\"" << proxy->url()
          << "\"]\n  capabilities = [\"pull\", \"resolve\"]\n";
      std::filesystem::create_directories(dir + "/ctd");
      ASSIGN_OR_RETURN(std::unique_ptr<testbed::ContainerdServer> containerd,
                       testbed::ContainerdServer::Start({dir + "/ctd", certs}));
      std::unique_ptr<testbed::NodefitProcess> nodefit;
      std::string cri_address = containerd->address();
      if (mode != "direct") {
        ASSIGN_OR_RETURN(
            nodefit,
            env.StartNodefit(
                name, {{"registries", {{host, {{"endpoint", proxy->url()}}}}},
                       {"http", {{"insecure_plain_http", false}}},
                       {"cri",
                        {{"listen", absl::StrCat("unix://", dir, "/n.sock")},
                         {"containerd", containerd->address()}}}}));
        RETURN_IF_ERROR(
            testbed::RunCommand(nodefit->HostsInstall(certs)).status());
        if (mode == "nodefit" || mode == "nodefit_warm") {
          cri_address = absl::StrCat("unix://", dir, "/n.sock");
        }
        if (mode == "nodefit_warm") {
          // A tag the registry does not have: nodefit's answer is a 404,
          // and its connection to the registry stays open in its pool.
          (void)nodefit->Get(
              absl::StrCat("/v2/bench/pull/manifests/warm-up?ns=", host));
        }
      }
      testbed::CriClient client(cri_address);
      // Connect the channel first: what is timed is the pull.
      absl::StatusOr<runtime::v1::ImageFsInfoResponse> fs =
          client.ImageFsInfo();
      if (!fs.ok()) return fs.status();
      proxy->Reset();
      const Stopwatch clock;
      absl::StatusOr<runtime::v1::PullImageResponse> pulled =
          client.PullImage(ref);
      RunResult result;
      result.wall_ms = clock.Millis();
      // Let straggling bytes (connection close) land before counting.
      absl::SleepFor(absl::Milliseconds(50));
      result.counters = proxy->Snapshot();
      if (!pulled.ok()) {
        return absl::Status(
            pulled.status().code(),
            absl::StrCat(mode, " pull: ", pulled.status().message()));
      }
      if (pulled->image_ref() != expected.at(mode)) {
        return absl::InternalError(
            absl::StrCat(mode, " pull got ", pulled->image_ref(), ", expected ",
                         expected.at(mode)));
      }
      std::cout << "  pull " << mode << " run " << run << ": " << result.wall_ms
                << " ms, " << result.counters.requests << " requests, "
                << result.counters.bytes_to_client << " bytes" << std::endl;
      by_mode[mode].push_back(std::move(result));
      nodefit.reset();
      containerd.reset();
      if (std::getenv("NODEFIT_BENCH_KEEP") == nullptr) {
        std::error_code ignored;
        std::filesystem::remove_all(dir, ignored);
      }
    }
  }

  nlohmann::json& details = results->details();
  details["payload_bytes_per_build"] = payload;
  details["builds"] = image.builds.size();
  details["runs_each"] = runs;
  std::map<std::string, double> wall;
  std::map<std::string, double> requests;
  for (const std::string& mode : modes) {
    std::vector<double> ms;
    std::vector<double> reqs;
    std::vector<double> bytes;
    nlohmann::json list = nlohmann::json::array();
    for (const RunResult& r : by_mode[mode]) {
      ms.push_back(r.wall_ms);
      reqs.push_back(static_cast<double>(r.counters.requests));
      bytes.push_back(static_cast<double>(r.counters.bytes_to_client));
      list.push_back({{"wall_ms", r.wall_ms},
                      {"requests", r.counters.requests},
                      {"connections", r.counters.connections},
                      {"bytes_to_client", r.counters.bytes_to_client},
                      {"bytes_to_server", r.counters.bytes_to_server}});
    }
    details[mode]["runs"] = list;
    details[mode]["request_lines_first_run"] =
        by_mode[mode].front().counters.lines;
    wall[mode] = Median(ms);
    requests[mode] = Median(reqs);
    results->Add(Info(absl::StrCat("pull.", mode, "_wall"), wall[mode], "ms",
                      absl::StrCat("median of ", ms.size())));
    results->Add(Info(absl::StrCat("pull.", mode, "_upstream_requests"),
                      requests[mode], "requests", "median, at the proxy"));
    results->Add(Info(absl::StrCat("pull.", mode, "_bytes"),
                      Median(bytes) / 1e6, "MB", "upstream -> node, median"));
    std::vector<double> connections;
    for (const RunResult& r : by_mode[mode]) {
      connections.push_back(static_cast<double>(r.counters.connections));
    }
    results->Add(Info(absl::StrCat("pull.", mode, "_connections"),
                      Median(connections), "connections",
                      "opened to the registry, median"));
  }
  results->Add(AtMost("pull.wall_ratio", wall["nodefit"] / wall["direct"], 1.05,
                      "x", "median through nodefit / median direct"));
  results->Add(AtMost("pull.request_ratio",
                      requests["nodefit"] / requests["direct"], 1.0, "x",
                      "upstream requests through nodefit / direct"));
  results->Add(Info("pull.warm_wall_ratio",
                    wall["nodefit_warm"] / wall["direct"], "x",
                    "nodefit's registry connection already open / direct"));
  results->Add(Info("pull.resolver_face_wall_ratio",
                    wall["resolver"] / wall["direct"], "x",
                    "containerd with nodefit's hosts.toml only / direct"));
  results->Add(Info("pull.resolver_face_request_ratio",
                    requests["resolver"] / requests["direct"], "x"));
  return absl::OkStatus();
}

}  // namespace nodefit::bench
