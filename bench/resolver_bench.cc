// Bench 2: the resolver face with the index cached.
//
// Three targets get the same closed-loop HEAD load, in turn, on the same two
// cores as the registry and nodefit themselves:
//   registry   HEAD /v2/bench/tf/manifests/latest on docker-registry, with
//              containerd's Accept list: what containerd costs without us;
//   nodefit    HEAD ...?ns=<registry> on nodefit (tag_cache_ms 0, the
//              default): one upstream tag HEAD per request, index cached;
//   cacheonly  the same on a nodefit with tag_cache_ms 10 min: no upstream
//              call at all, nodefit's own ceiling.
#include <algorithm>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/benches.h"
#include "bench/http_load.h"
#include "httplib.h"
#include "integration/testbed/subprocess.h"
#include "resolver/base/status_macros.h"
#include "resolver/registry/registry_client.h"

namespace nodefit::bench {
namespace {

// wrk's done() hook, printing one JSON line (latencies in microseconds).
constexpr const char kWrkReport[] = R"lua(
done = function(summary, latency, requests)
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
)lua";

struct Totals {
  int64_t requests = 0;
  int64_t non_2xx = 0;
  int64_t errors = 0;
  int64_t reconnects = 0;
  double seconds = 0;
  int min_served = 1 << 30;
  double upstream = 0;  // nodefit's upstream exchanges during the runs
  double connect_ms = 0;
  std::vector<double> latencies_us;

  void Add(const HttpLoadResult& r) {
    min_served = std::min(min_served, r.connections_served);
    connect_ms = std::max(connect_ms, r.connect_ms);
    requests += r.requests;
    reconnects += r.reconnects;
    non_2xx += r.non_2xx;
    errors += r.errors;
    seconds += r.seconds;
    latencies_us.insert(latencies_us.end(), r.latencies_us.begin(),
                        r.latencies_us.end());
  }
  double rps() const {
    return seconds > 0 ? static_cast<double>(requests) / seconds : 0;
  }
  double PercentileMs(double p) const {
    std::vector<double> copy = latencies_us;
    return Percentile(&copy, p) / 1000.0;
  }
};

// HEAD through httplib, to check what a target answers before loading it.
absl::StatusOr<std::string> HeadDigest(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  auto res = client.Head(path, {{"Accept", std::string(kManifestAccept)}});
  if (!res) return absl::UnavailableError(absl::StrCat("no answer: ", path));
  if (res->status != 200) {
    return absl::InternalError(
        absl::StrCat("status ", res->status, " for HEAD ", path));
  }
  return res->get_header_value("Docker-Content-Digest");
}

double UpstreamRequests(const testbed::NodefitProcess* nodefit) {
  if (nodefit == nullptr) return 0;
  absl::StatusOr<std::string> metrics = nodefit->Get("/metrics");
  return metrics.ok() ? SumMetric(*metrics, "nodefit_upstream_requests_total")
                      : 0;
}

}  // namespace

absl::Status RunResolverBench(BenchEnv& env, Results* results) {
  ASSIGN_OR_RETURN(testbed::RegistryServer * registry, env.Registry());
  ASSIGN_OR_RETURN(testbed::PushedImage image,
                   env.Image("bench/tf", "latest", testbed::SeedBuilds()));
  ASSIGN_OR_RETURN(std::unique_ptr<testbed::NodefitProcess> nodefit,
                   env.StartNodefit("resolver", nlohmann::json::object()));
  ASSIGN_OR_RETURN(
      std::unique_ptr<testbed::NodefitProcess> cached,
      env.StartNodefit("resolver-cached",
                       {{"upstream", {{"tag_cache_ms", 600'000}}}}));

  // The index under 64 tags (one digest, so one cache entry): concurrent
  // requests name different tags, so none can share another's upstream
  // HEAD, and each nodefit request costs exactly one.
  constexpr int kTags = 64;
  for (int i = 0; i < kTags; ++i) {
    RETURN_IF_ERROR(PutManifest(registry->port(), "bench/tf",
                                absl::StrCat("r", i), image.index_body));
  }
  const std::string path = "/v2/bench/tf/manifests/";
  const std::string ns = absl::StrCat("?ns=", registry->host_port());
  const std::string expected = image.Find("skylake")->manifest_digest;
  for (int i = 0; i < kTags; ++i) {
    const std::string tag = absl::StrCat("r", i);
    ASSIGN_OR_RETURN(std::string upstream,
                     HeadDigest(registry->port(), path + tag));
    if (upstream != image.index_digest) {
      return absl::InternalError("registry HEAD does not give the index");
    }
    for (const testbed::NodefitProcess* p : {nodefit.get(), cached.get()}) {
      ASSIGN_OR_RETURN(std::string chosen,
                       HeadDigest(p->port(), path + tag + ns));
      if (chosen != expected) {
        return absl::InternalError(absl::StrCat("nodefit chose ", chosen,
                                                ", expected the skylake build ",
                                                expected));
      }
    }
  }

  const std::vector<std::string> accept = {
      absl::StrCat("Accept: ", kManifestAccept)};
  struct Target {
    std::string name;
    testbed::NodefitProcess* nodefit;  // null for the registry
    int port;
    std::vector<std::string> requests;
  };
  auto requests = [&](int port, const std::string& query, bool one_tag) {
    std::vector<std::string> out;
    for (int i = 0; i < (one_tag ? 1 : kTags); ++i) {
      out.push_back(HttpRequest(
          "HEAD",
          absl::StrCat(path, one_tag ? "latest" : absl::StrCat("r", i), query),
          port, accept));
    }
    return out;
  };
  const std::vector<Target> targets = {
      {"registry", nullptr, registry->port(),
       requests(registry->port(), "", false)},
      {"nodefit", nodefit.get(), nodefit->port(),
       requests(nodefit->port(), ns, false)},
      {"cacheonly", cached.get(), cached->port(),
       requests(cached->port(), ns, false)},
      {"sametag", nodefit.get(), nodefit->port(),
       requests(nodefit->port(), ns, true)},
  };
  const std::vector<int> levels = {1, 8, 64};
  const int rounds = env.smoke() ? 1 : 2;
  const absl::Duration duration =
      env.smoke() ? absl::Seconds(1) : absl::Seconds(5);

  std::map<std::string, Totals> totals;  // "nodefit/8"
  for (int round = 0; round < rounds; ++round) {
    for (int level : levels) {
      for (size_t k = 0; k < targets.size(); ++k) {
        // Rotate the order each round so no target always runs first.
        const Target& t =
            targets[(k + static_cast<size_t>(round)) % targets.size()];
        HttpLoadOptions options;
        options.port = t.port;
        options.requests = t.requests;
        options.head = true;
        options.connections = level;
        options.threads = level == 1 ? 1 : 2;
        options.duration = duration;
        const double before = UpstreamRequests(t.nodefit);
        Totals& total = totals[absl::StrCat(t.name, "/", level)];
        total.Add(RunHttpLoad(options));
        total.upstream += UpstreamRequests(t.nodefit) - before;
      }
    }
  }

  nlohmann::json& details = results->details();
  for (int level : levels) {
    for (const Target& t : targets) {
      const Totals& s = totals[absl::StrCat(t.name, "/", level)];
      const std::string suffix = absl::StrCat("_c", level);
      details["load"][absl::StrCat(t.name, suffix)] = {
          {"requests", s.requests},
          {"seconds", s.seconds},
          {"rps", s.rps()},
          {"p50_ms", s.PercentileMs(50)},
          {"p99_ms", s.PercentileMs(99)},
          {"non_2xx", s.non_2xx},
          {"errors", s.errors},
          {"connections_served_min", s.min_served},
          {"connect_ms_max", s.connect_ms},
          {"upstream_per_request",
           s.upstream / std::max<double>(1, static_cast<double>(s.requests))}};
      results->Add(Info(absl::StrCat("resolver.", t.name, "_rps", suffix),
                        s.rps(), "req/s"));
      if (t.name == "sametag") continue;  // throughput only
      results->Add(Info(absl::StrCat("resolver.", t.name, "_p50", suffix),
                        s.PercentileMs(50), "ms"));
      if (t.name == "nodefit" && level == 8) {
        results->Add(
            AtMost("resolver.nodefit_p99_c8", s.PercentileMs(99), 5, "ms"));
      } else {
        results->Add(Info(absl::StrCat("resolver.", t.name, "_p99", suffix),
                          s.PercentileMs(99), "ms"));
      }
      if (s.min_served < level) {
        results->Add(
            Info(absl::StrCat("resolver.", t.name, "_starved", suffix),
                 level - s.min_served, "connections",
                 "open the whole run without one answer: no latency sample"));
      }
      if (s.non_2xx > 0 || s.errors > 0) {
        results->Add(
            Info(absl::StrCat("resolver.", t.name, "_failures", suffix),
                 static_cast<double>(s.non_2xx + s.errors), "requests",
                 "non-2xx or broken: figures suspect"));
      }
    }
    const double ratio =
        totals[absl::StrCat("nodefit/", level)].rps() /
        std::max(1.0, totals[absl::StrCat("registry/", level)].rps());
    if (level == 8) {
      results->Add(AtLeast("resolver.ratio_c8", ratio, 0.5, "x",
                           "nodefit rps / registry tag-HEAD rps"));
    } else {
      results->Add(Info(absl::StrCat("resolver.ratio_c", level), ratio, "x",
                        "nodefit rps / registry tag-HEAD rps"));
    }
  }
  double nf_upstream = 0;
  double nf_requests = 0;
  for (int level : levels) {
    nf_upstream += totals[absl::StrCat("nodefit/", level)].upstream;
    nf_requests +=
        static_cast<double>(totals[absl::StrCat("nodefit/", level)].requests);
  }
  results->Add(Info("resolver.nodefit_upstream_per_request",
                    nf_upstream / std::max(1.0, nf_requests), "x",
                    "upstream exchanges per HEAD, distinct tags (expect 1)"));
  const Totals& same = totals["sametag/8"];
  results->Add(Info(
      "resolver.sametag_upstream_per_request_c8",
      same.upstream / std::max<double>(1, static_cast<double>(same.requests)),
      "x", "one tag on every connection: concurrent HEADs shared"));
  details["cacheonly_upstream_requests"] = totals["cacheonly/1"].upstream +
                                           totals["cacheonly/8"].upstream +
                                           totals["cacheonly/64"].upstream;

  // Calibration: wrk and this generator on the same GET, same settings.
  const std::string script = absl::StrCat(env.dir(), "/wrk-report.lua");
  std::ofstream(script) << kWrkReport;
  const int seconds = env.smoke() ? 1 : 5;
  absl::StatusOr<std::string> wrk = testbed::RunCommand(
      {"wrk", "-t2", "-c8", absl::StrCat("-d", seconds, "s"), "-s", script,
       absl::StrCat("http://127.0.0.1:", registry->port(), "/v2/")},
      absl::Seconds(seconds + 30));
  HttpLoadOptions get;
  get.port = registry->port();
  get.requests = {HttpRequest("GET", "/v2/", registry->port())};
  get.head = false;
  get.connections = 8;
  get.threads = 2;
  get.duration = absl::Seconds(seconds);
  const HttpLoadResult ours = RunHttpLoad(get);
  double wrk_rps = 0;
  if (wrk.ok()) {
    for (absl::string_view line : absl::StrSplit(*wrk, '\n')) {
      if (line.empty() || line[0] != '{') continue;
      const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.value("duration_us", 0.0) > 0) {
        wrk_rps =
            j.value("requests", 0.0) / (j["duration_us"].get<double>() / 1e6);
        details["calibration"]["wrk"] = j;
      }
    }
  } else {
    details["calibration"]["wrk_error"] = std::string(wrk.status().message());
  }
  details["calibration"]["ours"] = {{"rps", ours.rps()},
                                    {"p50_us", ours.PercentileUs(50)},
                                    {"p99_us", ours.PercentileUs(99)}};
  results->Add(Info("resolver.calibration_wrk_get_rps_c8", wrk_rps, "req/s",
                    "wrk, GET /v2/ on the registry"));
  results->Add(Info("resolver.calibration_ours_get_rps_c8", ours.rps(), "req/s",
                    "bench_driver's generator, same GET"));
  return absl::OkStatus();
}

}  // namespace nodefit::bench
