// Bench 3: the CRI face's passthrough cost. One process, two channels — one
// to containerd's socket, one to nodefit's — the same calls alternating
// (ABBA order), containerd holding N distinct images.
#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "bench/benches.h"
#include "integration/testbed/cri_client.h"
#include "resolver/base/status_macros.h"

namespace nodefit::bench {
namespace {

using Call = std::function<absl::Status(testbed::CriClient&, int64_t)>;

absl::Status ImageStatusCall(const std::vector<std::string>& refs,
                             testbed::CriClient& client, int64_t i) {
  absl::StatusOr<runtime::v1::ImageStatusResponse> r =
      client.ImageStatus(refs[static_cast<size_t>(i) % refs.size()]);
  if (!r.ok()) return r.status();
  if (!r->has_image()) return absl::NotFoundError("ImageStatus: no image");
  return absl::OkStatus();
}

absl::Status ListImagesCall(size_t expected, testbed::CriClient& client,
                            int64_t /*i*/) {
  absl::StatusOr<runtime::v1::ListImagesResponse> r = client.ListImages();
  if (!r.ok()) return r.status();
  if (static_cast<size_t>(r->images_size()) < expected) {
    return absl::InternalError("ListImages: fewer images than pulled");
  }
  return absl::OkStatus();
}

absl::Status Context(const absl::Status& status, const std::string& method,
                     const std::string& path) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(method, " ", path, ": ", status.message()));
}

// Calls from `threads` threads for `duration`; the number completed.
absl::StatusOr<int64_t> Throughput(testbed::CriClient& client, const Call& call,
                                   int threads, absl::Duration duration) {
  std::atomic<int64_t> done{0};
  absl::Mutex mu;
  absl::Status failure;
  const Stopwatch clock;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int64_t i = t; clock.Elapsed() < duration; i += threads) {
        absl::Status status = call(client, i);
        if (!status.ok()) {
          absl::MutexLock lock(&mu);
          failure = std::move(status);
        }
        ++done;
      }
    });
  }
  for (std::thread& t : pool) t.join();
  if (!failure.ok()) {
    return absl::Status(failure.code(),
                        absl::StrCat("during throughput: ", failure.message()));
  }
  return done.load();
}

}  // namespace

absl::Status RunCriBench(BenchEnv& env, Results* results) {
  const int images = env.smoke() ? 20 : 200;
  ASSIGN_OR_RETURN(testbed::ContainerdServer * containerd,
                   env.ContainerdWithImages(images));
  const std::string socket = absl::StrCat(env.SubDir("cri"), "/nf.sock");
  ASSIGN_OR_RETURN(
      std::unique_ptr<testbed::NodefitProcess> nodefit,
      env.StartNodefit("cri", {{"cri",
                                {{"listen", "unix://" + socket},
                                 {"containerd", containerd->address()}}}}));
  testbed::CriClient direct(containerd->address());
  testbed::CriClient via("unix://" + socket);
  const std::vector<std::string>& refs = env.image_refs();

  struct Method {
    std::string name;
    Call call;
    int iterations;
  };
  const std::vector<Method> methods = {
      {"imagestatus",
       [&refs](testbed::CriClient& c, int64_t i) {
         return ImageStatusCall(refs, c, i);
       },
       env.smoke() ? 200 : 4000},
      {"listimages",
       [&refs](testbed::CriClient& c, int64_t i) {
         return ListImagesCall(refs.size(), c, i);
       },
       env.smoke() ? 50 : 1000},
  };
  nlohmann::json& details = results->details();
  details["images"] = images;
  absl::StatusOr<runtime::v1::ListImagesResponse> listed = via.ListImages();
  if (!listed.ok()) return listed.status();
  details["listimages_entries"] = listed->images_size();
  details["listimages_bytes"] = listed->ByteSizeLong();

  for (const Method& m : methods) {
    // Warm both paths (connections, containerd's caches).
    for (int i = 0; i < 50; ++i) {
      RETURN_IF_ERROR(Context(m.call(direct, i), m.name, "direct warm-up"));
      RETURN_IF_ERROR(Context(m.call(via, i), m.name, "nodefit warm-up"));
    }
    std::vector<double> direct_us;
    std::vector<double> via_us;
    for (int i = 0; i < m.iterations; ++i) {
      // ABBA: direct first on even rounds, nodefit first on odd ones.
      for (int k = 0; k < 2; ++k) {
        const bool use_via = (i % 2 == 0) == (k == 1);
        const Stopwatch clock;
        RETURN_IF_ERROR(Context(m.call(use_via ? via : direct, i), m.name,
                                use_via ? "nodefit" : "direct"));
        (use_via ? via_us : direct_us).push_back(clock.Micros());
      }
    }
    const double direct_mean = Mean(direct_us);
    const double via_mean = Mean(via_us);
    const double d50 = Percentile(&direct_us, 50);
    const double d99 = Percentile(&direct_us, 99);
    const double v50 = Percentile(&via_us, 50);
    const double v99 = Percentile(&via_us, 99);
    const std::string p = absl::StrCat("cri.", m.name);
    results->Add(Info(p + "_direct_p50", d50, "us"));
    results->Add(Info(p + "_via_p50", v50, "us"));
    results->Add(AtMost(p + "_p50_added", v50 - d50, 100, "us",
                        "nodefit p50 - containerd p50"));
    results->Add(Info(p + "_direct_p99", d99, "us"));
    results->Add(Info(p + "_via_p99", v99, "us"));
    results->Add(AtMost(p + "_p99_added", v99 - d99, 1000, "us",
                        "nodefit p99 - containerd p99"));
    details[m.name]["sequential"] = {
        {"calls_each", m.iterations}, {"direct_mean_us", direct_mean},
        {"via_mean_us", via_mean},    {"direct_p50_us", d50},
        {"via_p50_us", v50},          {"direct_p99_us", d99},
        {"via_p99_us", v99}};

    // Throughput with 4 concurrent callers, blocks alternating.
    const absl::Duration block =
        env.smoke() ? absl::Milliseconds(500) : absl::Seconds(3);
    int64_t direct_calls = 0;
    int64_t via_calls = 0;
    for (int b = 0; b < 4; ++b) {
      const bool use_via = b % 2 == 1;
      ASSIGN_OR_RETURN(int64_t n,
                       Throughput(use_via ? via : direct, m.call, 4, block));
      (use_via ? via_calls : direct_calls) += n;
    }
    const double seconds = 2 * absl::ToDoubleSeconds(block);
    details[m.name]["throughput"] = {
        {"callers", 4},
        {"direct_per_s", static_cast<double>(direct_calls) / seconds},
        {"via_per_s", static_cast<double>(via_calls) / seconds}};
    results->Add(Info(p + "_direct_calls_per_s",
                      static_cast<double>(direct_calls) / seconds, "calls/s",
                      "4 concurrent callers"));
    results->Add(
        AtLeast(p + "_throughput_ratio",
                static_cast<double>(via_calls) /
                    std::max<double>(1, static_cast<double>(direct_calls)),
                0.9, "x", "through nodefit / direct, 4 callers"));
  }
  return absl::OkStatus();
}

}  // namespace nodefit::bench
