// Bench 7: the proxy face (tracker issue 18), side by side with the real
// docker-registry it reads, alternating run by run on the same two cores:
//   blob      GET of one large layer straight from the registry, then the
//             same through nodefit's proxy (streamed, verified before its
//             last byte), by the same client; throughput ratio. Twice:
//             across a modelled link (the registry behind bench's latency
//             proxy: 5 ms each way, 1 Gbit/s), as a node reaches a
//             registry, which is the target; and on bare loopback, where
//             nothing but CPU limits either path and nodefit's copy of
//             every byte competes for the same two cores with the
//             registry and the client (reported, no target);
//   manifest  GET of a multi-build tag straight from the registry (the
//             index), then through the proxy (the chosen build: a tag HEAD
//             upstream, the index from cache, the build's manifest), one
//             request at a time; the p50 nodefit adds.
#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/benches.h"
#include "bench/latency_proxy.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "resolver/base/status_macros.h"
#include "resolver/registry/registry_client.h"

namespace nodefit::bench {
namespace {

// Seconds to GET `path` whole, reading and dropping the body; an error
// unless 200 and `expected_bytes` came.
absl::StatusOr<double> TimeGet(int port, const std::string& path,
                               uint64_t expected_bytes) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(600, 0);
  uint64_t received = 0;
  const Stopwatch clock;
  auto res = client.Get(path, [&](const char*, size_t length) {
    received += length;
    return true;
  });
  const double seconds = clock.Millis() / 1000.0;
  if (!res || res->status != 200 || received != expected_bytes) {
    return absl::InternalError(absl::StrCat(
        "GET ", path, " on port ", port, ": status ", res ? res->status : 0,
        ", ", received, " of ", expected_bytes, " bytes"));
  }
  return seconds;
}

}  // namespace

absl::Status RunProxyBench(BenchEnv& env, Results* results) {
  const uint64_t payload = env.smoke() ? (8u << 20) : (256u << 20);
  const int blob_runs = env.smoke() ? 1 : 5;
  const int manifest_requests = env.smoke() ? 20 : 300;
  ASSIGN_OR_RETURN(testbed::RegistryServer * registry, env.Registry());
  ASSIGN_OR_RETURN(
      testbed::PushedImage big,
      env.Image("bench/proxyblob", "latest",
                {{"big", "linux", "amd64", "", {"skylake"}, payload}}));
  ASSIGN_OR_RETURN(testbed::PushedImage image,
                   env.Image("bench/proxy", "latest", testbed::SeedBuilds()));
  LatencyProxyOptions link_options;
  link_options.upstream_port = registry->port();
  link_options.one_way_delay = absl::Milliseconds(5);
  link_options.bytes_per_second = 125e6;  // 1 Gbit/s
  ASSIGN_OR_RETURN(std::unique_ptr<LatencyProxy> link,
                   LatencyProxy::Start(link_options));
  const int proxy_port = testbed::FreePort();
  ASSIGN_OR_RETURN(
      std::unique_ptr<testbed::NodefitProcess> nodefit,
      env.StartNodefit(
          "proxy",
          {{"proxy",
            {{"listen", absl::StrCat("127.0.0.1:", proxy_port)},
             {"default_registry", registry->host_port()},
             {"prefixes",
              {{"link", absl::StrCat("127.0.0.1:", link->port())}}}}}}));

  // The layer: its digest and size from the build's manifest.
  httplib::Client registry_client("127.0.0.1", registry->port());
  auto manifest =
      registry_client.Get(absl::StrCat("/v2/bench/proxyblob/manifests/",
                                       big.builds[0].manifest_digest),
                          {{"Accept", std::string(kManifestAccept)}});
  if (!manifest || manifest->status != 200) {
    return absl::InternalError("cannot read the big build's manifest");
  }
  const nlohmann::json layer =
      nlohmann::json::parse(manifest->body)["layers"][0];
  const std::string blob_path = absl::StrCat(
      "/v2/bench/proxyblob/blobs/", layer["digest"].get<std::string>());
  const uint64_t blob_bytes = layer["size"].get<uint64_t>();
  const double mb = static_cast<double>(blob_bytes) / (1 << 20);

  // Direct and through nodefit, alternating; medians in MB/s.
  auto compare = [&](const std::string& name, int direct_port,
                     const std::string& proxy_path) -> absl::Status {
    // One unmeasured GET each: page cache and connections warm alike.
    RETURN_IF_ERROR(TimeGet(direct_port, blob_path, blob_bytes).status());
    RETURN_IF_ERROR(TimeGet(proxy_port, proxy_path, blob_bytes).status());
    std::vector<double> direct_mbps, proxy_mbps;
    for (int i = 0; i < blob_runs; ++i) {
      ASSIGN_OR_RETURN(double direct,
                       TimeGet(direct_port, blob_path, blob_bytes));
      ASSIGN_OR_RETURN(double through,
                       TimeGet(proxy_port, proxy_path, blob_bytes));
      direct_mbps.push_back(mb / direct);
      proxy_mbps.push_back(mb / through);
    }
    const double direct = Median(direct_mbps);
    const double through = Median(proxy_mbps);
    const std::string prefix = absl::StrCat("proxy.blob_", name);
    results->Add(Info(prefix + "_direct", direct, "MB/s",
                      absl::StrCat("median of ", blob_runs, ", ",
                                   static_cast<int>(mb), " MB layer")));
    results->Add(Info(prefix + "_proxy", through, "MB/s"));
    if (name == "link") {
      results->Add(AtLeast(prefix + "_ratio", through / direct, 0.9, "x",
                           "through nodefit / straight, 1 Gbit/s 5 ms link"));
    } else {
      results->Add(Info(prefix + "_ratio", through / direct, "x",
                        "no link: CPU-bound on the shared cores"));
    }
    results->details()[prefix + "_direct_mbps"] = direct_mbps;
    results->details()[prefix + "_proxy_mbps"] = proxy_mbps;
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(
      compare("link", link->port(), "/v2/link" + blob_path.substr(3)));
  RETURN_IF_ERROR(compare("loopback", registry->port(), blob_path));
  results->details()["blob_bytes"] = blob_bytes;

  // Manifest by tag, one request at a time, alternating.
  const std::string tag_path = "/v2/bench/proxy/manifests/latest";
  const std::string expected = image.Find("skylake")->manifest_digest;
  httplib::Client direct_client("127.0.0.1", registry->port());
  httplib::Client proxy_client("127.0.0.1", proxy_port);
  const httplib::Headers accept = {{"Accept", std::string(kManifestAccept)}};
  std::vector<double> direct_us, proxy_us;
  for (int i = 0; i < manifest_requests + 1; ++i) {
    Stopwatch d;
    auto a = direct_client.Get(tag_path, accept);
    const double direct_time = d.Micros();
    Stopwatch p;
    auto b = proxy_client.Get(tag_path, accept);
    const double proxy_time = p.Micros();
    if (!a || a->status != 200 || !b || b->status != 200) {
      return absl::InternalError("manifest GET failed");
    }
    if (b->get_header_value("Docker-Content-Digest") != expected) {
      return absl::InternalError(absl::StrCat(
          "the proxy served ", b->get_header_value("Docker-Content-Digest"),
          ", not the skylake build ", expected));
    }
    if (i == 0) continue;  // the first fills nodefit's cache
    direct_us.push_back(direct_time);
    proxy_us.push_back(proxy_time);
  }
  const double direct_p50 = Percentile(&direct_us, 50) / 1000.0;
  const double proxy_p50 = Percentile(&proxy_us, 50) / 1000.0;
  results->Add(Info("proxy.manifest_direct_p50", direct_p50, "ms",
                    "GET of the tag (the index) from the registry"));
  results->Add(Info("proxy.manifest_proxy_p50", proxy_p50, "ms",
                    "the chosen build through the proxy"));
  results->Add(Info("proxy.manifest_added_p50", proxy_p50 - direct_p50, "ms",
                    absl::StrCat(manifest_requests, " sequential requests")));
  return absl::OkStatus();
}

}  // namespace nodefit::bench
