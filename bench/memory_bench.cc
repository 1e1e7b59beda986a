// Bench 5: nodefit's resident set (VmRSS) idle, then after 100,000
// resolutions on the resolver face and 10,000 CRI passthrough calls, then
// after the same again.
//
// The index cache is bounded at 4 MiB and the working set is made larger
// than that on purpose: K tags, each a distinct index (~11 KB charged), of
// which 50 are hot (9 requests in 10) and the rest are visited in turn (1 in
// 10), so the LRU fills, evicts and keeps serving the hot set from memory.
#include <algorithm>
#include <atomic>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "bench/benches.h"
#include "bench/http_load.h"
#include "integration/testbed/cri_client.h"
#include "resolver/base/status_macros.h"
#include "resolver/registry/registry_client.h"

namespace nodefit::bench {
namespace {

constexpr int64_t kCacheBound = 4 << 20;
constexpr int kHotTags = 50;

// Tags v0..v<count-1> of `repository`, each the index `body` with its own
// annotation (so its own digest), referencing the same builds.
absl::Status PushIndexVariants(int port, const std::string& repository,
                               const std::string& body, int count) {
  nlohmann::json doc = nlohmann::json::parse(body);
  for (int i = 0; i < count; ++i) {
    doc["annotations"]["io.nodefit.bench.variant"] = absl::StrCat(i);
    RETURN_IF_ERROR(
        PutManifest(port, repository, absl::StrCat("v", i), doc.dump()));
  }
  return absl::OkStatus();
}

double Mb(int64_t bytes) { return static_cast<double>(bytes) / 1e6; }

}  // namespace

absl::Status RunMemoryBench(BenchEnv& env, Results* results) {
  const bool smoke = env.smoke();
  const int tags = smoke ? 100 : 1000;
  const int64_t resolutions = smoke ? 3000 : 100'000;
  const int64_t cri_calls = smoke ? 500 : 10'000;
  ASSIGN_OR_RETURN(testbed::RegistryServer * registry, env.Registry());
  ASSIGN_OR_RETURN(testbed::PushedImage image,
                   env.Image("bench/mem", "base", testbed::SeedBuilds()));
  RETURN_IF_ERROR(
      PushIndexVariants(registry->port(), "bench/mem", image.index_body, tags));
  ASSIGN_OR_RETURN(testbed::ContainerdServer * containerd,
                   env.ContainerdWithImages(smoke ? 20 : 200));
  const std::string socket = absl::StrCat(env.SubDir("mem"), "/nf.sock");
  ASSIGN_OR_RETURN(
      std::unique_ptr<testbed::NodefitProcess> nodefit,
      env.StartNodefit("memory",
                       {{"upstream", {{"index_cache_bytes", kCacheBound}}},
                        {"cri",
                         {{"listen", "unix://" + socket},
                          {"containerd", containerd->address()}}}}));
  const pid_t pid = nodefit->process().pid();
  absl::SleepFor(absl::Seconds(1));
  const int64_t idle = ResidentBytes(pid);
  const std::map<std::string, int64_t> idle_kinds = ResidentByKind(pid);

  // The request pattern: 9 in 10 to the hot tags, 1 in 10 walking all.
  std::vector<std::string> requests;
  const std::vector<std::string> accept = {
      absl::StrCat("Accept: ", kManifestAccept)};
  for (int j = 0; j < 10 * tags; ++j) {
    const int tag = j % 10 == 0 ? (j / 10) % tags : j % kHotTags;
    requests.push_back(
        HttpRequest("HEAD",
                    absl::StrCat("/v2/bench/mem/manifests/v", tag,
                                 "?ns=", registry->host_port()),
                    nodefit->port(), accept));
  }
  testbed::CriClient via("unix://" + socket);
  const std::vector<std::string>& refs = env.image_refs();

  nlohmann::json& details = results->details();
  std::vector<int64_t> after;    // right after the load
  std::vector<int64_t> settled;  // 6 s later
  double rps = 0;
  for (int round = 0; round < 2; ++round) {
    HttpLoadOptions load;
    load.port = nodefit->port();
    load.requests = requests;
    load.connections = 8;
    load.threads = 2;
    load.max_requests = resolutions;
    const HttpLoadResult r = RunHttpLoad(load);
    if (r.requests != resolutions || r.non_2xx != 0) {
      return absl::InternalError(
          absl::StrCat("resolutions: ", r.requests, " done, ", r.non_2xx,
                       " non-2xx, ", r.errors, " errors"));
    }
    rps = r.rps();
    const int64_t after_http = ResidentBytes(pid);
    std::atomic<int64_t> next{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; ++t) {
      pool.emplace_back([&] {
        for (int64_t i = next++; i < cri_calls; i = next++) {
          const bool ok =
              i % 10 == 0
                  ? via.ListImages().ok()
                  : via.ImageStatus(refs[static_cast<size_t>(i) % refs.size()])
                        .ok();
          if (!ok) ++failures;
        }
      });
    }
    for (std::thread& t : pool) t.join();
    if (failures > 0) {
      return absl::InternalError(
          absl::StrCat(failures.load(), " CRI calls failed"));
    }
    after.push_back(ResidentBytes(pid));
    // The daemon returns freed pages to the kernel every 5 s when idle.
    absl::SleepFor(absl::Seconds(6));
    settled.push_back(ResidentBytes(pid));
    details["rounds"].push_back({{"rss_after_resolutions_mb", Mb(after_http)},
                                 {"rss_after_cri_mb", Mb(after.back())},
                                 {"rss_settled_mb", Mb(settled.back())},
                                 {"resolutions_per_s", r.rps()},
                                 {"reconnects", r.reconnects}});
  }
  const std::map<std::string, int64_t> after_kinds = ResidentByKind(pid);
  for (const auto& [kind, bytes] : after_kinds) {
    const auto it = idle_kinds.find(kind);
    const int64_t before = it == idle_kinds.end() ? 0 : it->second;
    details["rss_by_kind_mb"][kind] = {{"idle", Mb(before)},
                                       {"after_two_rounds", Mb(bytes)},
                                       {"growth", Mb(bytes - before)}};
  }
  ASSIGN_OR_RETURN(std::string metrics, nodefit->Get("/metrics"));
  const double upstream = SumMetric(metrics, "nodefit_upstream_requests_total");
  const double resolved = SumMetric(metrics, "nodefit_resolutions_total");
  details["cache_bound_bytes"] = kCacheBound;
  details["tags"] = tags;
  details["resolutions_per_round"] = resolutions;
  details["cri_calls_per_round"] = cri_calls;
  details["upstream_requests"] = upstream;
  details["resolutions"] = resolved;

  results->Add(AtMost("memory.idle_rss", Mb(idle), 30, "MB"));
  results->Add(Info("memory.after_rss", Mb(after[0]), "MB",
                    absl::StrCat("right after ", resolutions, " resolutions + ",
                                 cri_calls, " CRI calls")));
  results->Add(Info("memory.peak_growth", Mb(after[0] - idle), "MB",
                    "right after the load - idle"));
  results->Add(AtMost("memory.growth", Mb(settled[0] - idle), Mb(kCacheBound),
                      "MB",
                      "6 s after the load - idle; target: the cache bound"));
  results->Add(Info("memory.second_round_growth", Mb(settled[1] - settled[0]),
                    "MB", "the same load again, settled; ~0 means flat"));
  // One exchange per resolution: a HEAD while the tag's index is cached, a
  // GET of the tag once it has been evicted.
  results->Add(Info("memory.upstream_per_resolution",
                    resolved > 0 ? upstream / resolved : 0, "x",
                    "tags cycling through a bounded cache (expect 1)"));
  results->Add(Info("memory.resolutions_per_s", rps, "req/s",
                    "8 connections, last round"));
  return absl::OkStatus();
}

}  // namespace nodefit::bench
