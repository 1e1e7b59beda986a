// nodefit_soak: hours of mixed load on both faces of one `nodefit serve`,
// against the real docker-registry and containerd, with upstream faults on
// nodefit's way to the registry and a SIGHUP reload every minute; nodefit's
// resident set, threads and open file descriptors are sampled every minute
// and their trend fitted (tracker issue 15, "Soak").
//
//   nodefit_soak [--minutes M] [--nodefit BINARY] [--json FILE]
//                [--fault-rate R] [--seed N] [--sample-seconds S]
//                [--reload-seconds S] [--warmup-fraction F]
//
// The load, from five threads at once:
//  - resolver face, two threads (one keeps its TLS connection, one opens a
//    new one per request): HEAD (70%) or GET (30%)
//    /v2/soak/res/manifests/<tag>?ns=<registry>, half of them on 10 hot tags
//    (the index cache's hits), half walking 500 distinct tags (each its own
//    index; the index cache is bounded at 256 KiB so they evict); a 200 must
//    name the skylake build, a 404 is a step-aside;
//  - CRI face, PullImage through nodefit's socket of 40 small images (two
//    builds each, no payload; 5 hot, 35 walked in turn), most removed again
//    (RemoveImage through nodefit) so containerd keeps pulling; the image id
//    says whether the skylake build (nodefit chose) or the generic one
//    (nodefit stepped aside) was pulled;
//  - CRI passthrough: ListImages and ImageStatus through nodefit;
//  - containerd's own resolver through nodefit's hosts.toml host: `ctr
//    images pull --hosts-dir` of 20 more images, one every 3 s, removed
//    after;
//  - faults: nodefit reaches the registry through a FaultProxy (config
//    `registries.<host>.endpoint`), containerd reaches it directly; of the
//    manifest requests on nodefit's way, --fault-rate (default 5%) get a
//    fault: a quarter each 500, 429 with Retry-After, a chunked body cut
//    mid-stream, a body truncated under its Content-Length; a tenth of the
//    rate (0.5%) stalls 3 s (nodefit's request timeout is 2 s).
//  - SIGHUP every --reload-seconds, half-way between two samples.
// A failed pull counts as lost only when the same pull straight to
// containerd (CRI on containerd's socket; ctr with the plain hosts.toml)
// succeeds right after; the same for a failed passthrough call. With faults
// only on nodefit's way, every pull should succeed.
//
// Samples: VmRSS, RssAnon, Threads (/proc/<pid>/status) and the entries of
// /proc/<pid>/fd, every --sample-seconds, one line each. Trend: the
// least-squares slope of each over time, in % of its mean per hour, on the
// samples after the warm-up (the first --warmup-fraction of the run,
// default 10%: 6 minutes of an hour), and on the second half alone as a
// check. Defaults: runs of 10 minutes or more sample every 60 s and reload
// every 60 s; shorter runs (the 2-minute smoke) every 10 s and 30 s.
//
// Exit status: 1 when a pull or call was lost, nodefit or the load died, or
// (runs of 30 minutes or more) a slope of RSS, threads or fds after the
// warm-up is >= 1 %/h; 2 on bad usage; 0 otherwise.
#include <dirent.h>
#include <sys/wait.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bench_env.h"
#include "bench/bench_util.h"
#include "httplib.h"
#include "integration/testbed/containerd.h"
#include "integration/testbed/cri_client.h"
#include "integration/testbed/fault_proxy.h"
#include "integration/testbed/image_builder.h"
#include "integration/testbed/nodefit_process.h"
#include "integration/testbed/registry.h"
#include "nlohmann/json.hpp"

namespace nodefit::bench {
namespace {

using testbed::Fault;

constexpr char kManifests[] = R"(/v2/.*/manifests/.*)";
constexpr char kAccept[] =
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json";
constexpr int kHotTags = 10;
constexpr int kDistinctTags = 500;
constexpr int kCriImages = 40;
constexpr int kCriHot = 5;
constexpr int kCtrImages = 20;
constexpr int kShownFailures = 20;

struct Options {
  double minutes = 60;
  std::string nodefit = NODEFIT_BINARY;
  std::string json;
  double fault_rate = 0.05;
  uint64_t seed = 1;
  double sample_seconds = 0;  // 0: by run length
  double reload_seconds = 0;
  double warmup_fraction = 0.1;
};

bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "-h" || a == "--help") return false;
    if (i + 1 >= argc) return false;
    const std::string v = argv[++i];
    bool ok = true;
    if (a == "--minutes") {
      ok = absl::SimpleAtod(v, &o->minutes) && o->minutes > 0;
    } else if (a == "--nodefit") {
      o->nodefit = v;
    } else if (a == "--json") {
      o->json = v;
    } else if (a == "--fault-rate") {
      ok = absl::SimpleAtod(v, &o->fault_rate) && o->fault_rate >= 0 &&
           o->fault_rate <= 0.9;
    } else if (a == "--seed") {
      ok = absl::SimpleAtoi(v, &o->seed);
    } else if (a == "--sample-seconds") {
      ok = absl::SimpleAtod(v, &o->sample_seconds) && o->sample_seconds > 0;
    } else if (a == "--reload-seconds") {
      ok = absl::SimpleAtod(v, &o->reload_seconds) && o->reload_seconds > 0;
    } else if (a == "--warmup-fraction") {
      ok = absl::SimpleAtod(v, &o->warmup_fraction) &&
           o->warmup_fraction >= 0 && o->warmup_fraction < 0.9;
    } else {
      ok = false;
    }
    if (!ok) return false;
  }
  if (o->sample_seconds == 0) o->sample_seconds = o->minutes >= 10 ? 60 : 10;
  if (o->reload_seconds == 0) o->reload_seconds = o->minutes >= 10 ? 60 : 30;
  return true;
}

void Usage() {
  std::cerr << "usage: nodefit_soak [--minutes M] [--nodefit BINARY] "
               "[--json FILE] [--fault-rate R] [--seed N]\n"
               "                    [--sample-seconds S] [--reload-seconds S] "
               "[--warmup-fraction F]\n";
}

// What every load thread counts. Cumulative; read by the sampler.
struct Counters {
  // Resolver face, our own client.
  std::atomic<int64_t> res_requests{0}, res_head{0}, res_get{0}, res_best{0},
      res_stepaside{0}, res_wrong{0}, res_error{0};
  // CRI face: PullImage.
  std::atomic<int64_t> cri_pulls{0}, cri_best{0}, cri_generic{0}, cri_other{0},
      cri_failed{0}, cri_lost{0};
  // CRI face: passthrough calls.
  std::atomic<int64_t> cri_calls{0}, cri_list{0}, cri_status{0}, cri_remove{0},
      cri_calls_failed{0}, cri_calls_lost{0};
  // containerd's resolver through nodefit's hosts.toml host.
  std::atomic<int64_t> ctr_pulls{0}, ctr_best{0}, ctr_generic{0}, ctr_other{0},
      ctr_failed{0}, ctr_lost{0};
  int64_t Failed() const {
    return cri_failed + cri_calls_failed + ctr_failed + res_error;
  }
  int64_t Lost() const { return cri_lost + cri_calls_lost + ctr_lost; }
};

// Failure lines, the first kShownFailures of them.
class FailureLog {
 public:
  explicit FailureLog(absl::Time start) : start_(start) {}
  void Add(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    ++count_;
    const std::string line = absl::StrFormat(
        "  [%7.1f s] %s", absl::ToDoubleSeconds(absl::Now() - start_), what);
    if (count_ <= kShownFailures) {
      std::cout << line << std::endl;
      lines_.push_back(line);
    }
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }

 private:
  const absl::Time start_;
  std::mutex mu_;
  int count_ = 0;
  std::vector<std::string> lines_;
};

struct Sample {
  double seconds = 0;  // since the load started
  double rss_mb = 0, anon_mb = 0;
  int threads = 0, fds = 0;
  int64_t resolver = 0, cri_pulls = 0, cri_calls = 0, ctr_pulls = 0;
  int64_t faults = 0, failed = 0, lost = 0;
  double load = 0;
};

// VmRSS, RssAnon (MB) and Threads of `pid`; false if it is gone.
bool ReadStatus(pid_t pid, Sample* s) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  if (!in) return false;
  std::string line;
  bool any = false;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    auto kb = [&](absl::string_view prefix, double* mb) {
      if (!absl::ConsumePrefix(&rest, prefix)) return;
      rest = absl::StripAsciiWhitespace(rest);
      absl::ConsumeSuffix(&rest, "kB");
      int64_t v = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &v)) {
        *mb = static_cast<double>(v) * 1024 / 1e6;
        any = true;
      }
    };
    kb("VmRSS:", &s->rss_mb);
    kb("RssAnon:", &s->anon_mb);
    if (absl::ConsumePrefix(&rest, "Threads:")) {
      (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &s->threads);
    }
  }
  return any;
}

int CountFds(pid_t pid) {
  int n = 0;
  if (DIR* d = opendir(absl::StrCat("/proc/", pid, "/fd").c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    closedir(d);
  }
  return n;
}

struct Trend {
  double mean = 0, max = 0, slope_pct_per_hour = 0;
  int n = 0;
};

// Least-squares slope of `y` over `x` (hours), in % of mean(y) per hour.
Trend Fit(const std::vector<double>& x, const std::vector<double>& y) {
  Trend t;
  t.n = static_cast<int>(x.size());
  if (t.n == 0) return t;
  double mx = 0, my = 0;
  for (int i = 0; i < t.n; ++i) {
    mx += x[i];
    my += y[i];
    t.max = i == 0 ? y[i] : std::max(t.max, y[i]);
  }
  mx /= t.n;
  my /= t.n;
  t.mean = my;
  double sxy = 0, sxx = 0;
  for (int i = 0; i < t.n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
  }
  if (t.n >= 2 && sxx > 0 && my != 0) {
    t.slope_pct_per_hour = sxy / sxx / my * 100;
  }
  return t;
}

class Soak {
 public:
  explicit Soak(Options options) : o_(std::move(options)) {}
  ~Soak() {
    nodefit_.reset();
    containerd_.reset();
    proxy_.reset();
    registry_.reset();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  absl::Status SetUp();
  int Run();

 private:
  std::string RegistryHost() const { return registry_->host_port(); }
  std::string CriSocket() const {
    return absl::StrCat("unix://", dir_, "/nf-run/cri.sock");
  }
  bool Stopping() const { return stop_.load(); }
  // Sleeps `d` in small steps; false once the soak is stopping.
  bool Pause(absl::Duration d) const;

  void ResolverLoop(int index, bool keep_alive);
  void CriPullLoop();
  void CriCallLoop();
  void CtrPullLoop();

  const Options o_;
  std::string dir_;
  std::unique_ptr<testbed::RegistryServer> registry_;
  std::unique_ptr<testbed::FaultProxy> proxy_;
  std::unique_ptr<testbed::ContainerdServer> containerd_;
  std::unique_ptr<testbed::NodefitProcess> nodefit_;
  std::string best_res_manifest_;  // skylake build of soak/res
  std::vector<testbed::PushedImage> cri_images_, ctr_images_;
  std::atomic<int64_t> distinct_next_{0};
  std::atomic<bool> stop_{false};
  Counters c_;
  std::unique_ptr<FailureLog> failures_;
};

absl::Status Soak::SetUp() {
  dir_ = testbed::ShortTempDir();
  testbed::RegistryOptions ro;
  ro.storage_dir = dir_ + "/storage";
  ro.work_dir = dir_;
  absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> r =
      testbed::RegistryServer::Start(ro);
  if (!r.ok()) return r.status();
  registry_ = *std::move(r);
  absl::StatusOr<std::unique_ptr<testbed::FaultProxy>> p =
      testbed::FaultProxy::Start(registry_->port());
  if (!p.ok()) return p.status();
  proxy_ = *std::move(p);
  proxy_->Seed(o_.seed);

  // The images. Resolver face: one index (generic, skylake) under 10 hot
  // and 500 distinct tags, each with its own annotation (its own digest).
  const std::string host = RegistryHost();
  auto two_builds = [](const std::string& tag) {
    return std::vector<testbed::BuildSpec>{
        {"generic-" + tag, "linux", "amd64", "", {}, 0},
        {"skylake-" + tag, "linux", "amd64", "", {"skylake"}, 0}};
  };
  absl::StatusOr<testbed::PushedImage> base =
      testbed::PushMultiBuildImage(host, "soak/res", "base", two_builds("res"));
  if (!base.ok()) return base.status();
  best_res_manifest_ = base->Find("skylake-res")->manifest_digest;
  nlohmann::json doc = nlohmann::json::parse(base->index_body);
  for (int i = 0; i < kHotTags + kDistinctTags; ++i) {
    const std::string tag =
        i < kHotTags ? absl::StrCat("h", i) : absl::StrCat("d", i - kHotTags);
    doc["annotations"]["io.nodefit.soak.tag"] = tag;
    if (absl::Status s =
            PutManifest(registry_->port(), "soak/res", tag, doc.dump());
        !s.ok()) {
      return s;
    }
  }
  // CRI and ctr pulls: images of their own (distinct layers).
  for (int i = 0; i < kCriImages + kCtrImages; ++i) {
    const bool cri = i < kCriImages;
    const std::string tag =
        cri ? absl::StrCat("c", i) : absl::StrCat("k", i - kCriImages);
    absl::StatusOr<testbed::PushedImage> image = testbed::PushMultiBuildImage(
        host, cri ? "soak/cri" : "soak/ctr", tag, two_builds(tag));
    if (!image.ok()) return image.status();
    (cri ? cri_images_ : ctr_images_).push_back(*std::move(image));
  }

  // hosts.toml trees: /plain for containerd alone (its CRI config_path and
  // the direct ctr pulls), /nf with nodefit's host installed.
  for (const std::string tree : {"/plain", "/nf"}) {
    std::filesystem::create_directories(dir_ + tree + "/" + host);
    std::ofstream(dir_ + tree + "/" + host + "/hosts.toml")
        << "server = \"http://" << host << "\"\n";
  }
  std::filesystem::create_directories(dir_ + "/ctd");
  absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> ctd =
      testbed::ContainerdServer::Start({dir_ + "/ctd", dir_ + "/plain"});
  if (!ctd.ok()) return ctd.status();
  containerd_ = *std::move(ctd);

  const nlohmann::json config = {
      {"platform", "linux/amd64"},
      {"features", {"skylake"}},
      {"detect", false},
      {"on_no_match", "fail"},
      {"upstream",
       {{"request_timeout_ms", 2000}, {"index_cache_bytes", 256 << 10}}},
      {"registries", {{host, {{"endpoint", proxy_->url()}}}}},
      {"cri",
       {{"listen", CriSocket()}, {"containerd", containerd_->address()}}}};
  absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> n =
      testbed::NodefitProcess::Start(o_.nodefit, dir_, "nodefit", config);
  if (!n.ok()) return n.status();
  nodefit_ = *std::move(n);
  absl::StatusOr<std::string> installed =
      testbed::RunCommand(nodefit_->HostsInstall(dir_ + "/nf"));
  if (!installed.ok()) return installed.status();

  // The faults, on nodefit's way only. Rules are tried in order and each
  // fires with its own probability, so each gets the conditional chance
  // that makes its share of all manifest requests what is asked.
  const double rate = o_.fault_rate;
  std::vector<std::pair<Fault, double>> wanted = {
      {Fault::HttpStatus(500), rate / 4},
      {Fault::HttpStatus(429, "1"), rate / 4},
      {Fault::OfKind(Fault::Kind::kCloseChunked), rate / 4},
      {Fault::OfKind(Fault::Kind::kTruncate), rate / 4},
      {Fault::Stall(absl::Seconds(3)), rate / 10}};
  std::vector<Fault> rules;
  double left = 1;
  for (auto& [fault, share] : wanted) {
    if (share <= 0) continue;
    fault.path = kManifests;
    fault.probability = std::min(1.0, share / left);
    left -= share;
    rules.push_back(fault);
  }
  proxy_->SetFaults(rules);
  return absl::OkStatus();
}

bool Soak::Pause(absl::Duration d) const {
  const absl::Time until = absl::Now() + d;
  while (!Stopping()) {
    const absl::Duration left = until - absl::Now();
    if (left <= absl::ZeroDuration()) return true;
    absl::SleepFor(std::min(left, absl::Milliseconds(200)));
  }
  return false;
}

void Soak::ResolverLoop(int index, bool keep_alive) {
  std::mt19937_64 rng(o_.seed * 100 + static_cast<uint64_t>(index));
  std::uniform_real_distribution<double> u(0, 1);
  std::unique_ptr<httplib::Client> client = nodefit_->FaceClient();
  client->set_keep_alive(keep_alive);
  client->set_connection_timeout(5, 0);
  client->set_read_timeout(30, 0);
  const httplib::Headers headers = {{"Accept", kAccept}};
  const std::string ns = RegistryHost();
  while (!Stopping()) {
    const bool hot = u(rng) < 0.5;
    const std::string tag =
        hot ? absl::StrCat("h", rng() % kHotTags)
            : absl::StrCat("d", distinct_next_++ % kDistinctTags);
    const bool head = u(rng) < 0.7;
    const std::string path =
        absl::StrCat("/v2/soak/res/manifests/", tag, "?ns=", ns);
    httplib::Result res =
        head ? client->Head(path, headers) : client->Get(path, headers);
    ++c_.res_requests;
    ++(head ? c_.res_head : c_.res_get);
    if (!res) {
      ++c_.res_error;
      failures_->Add(absl::StrCat("resolver ", head ? "HEAD " : "GET ", tag,
                                  ": no answer (",
                                  httplib::to_string(res.error()), ")"));
    } else if (res->status == 200) {
      if (res->get_header_value("Docker-Content-Digest") ==
          best_res_manifest_) {
        ++c_.res_best;
      } else {
        ++c_.res_wrong;
        failures_->Add(
            absl::StrCat("resolver ", tag, ": 200 naming ",
                         res->get_header_value("Docker-Content-Digest"),
                         ", not the skylake build"));
      }
    } else if (res->status == 404) {
      ++c_.res_stepaside;
    } else {
      ++c_.res_error;
      failures_->Add(absl::StrCat("resolver ", head ? "HEAD " : "GET ", tag,
                                  ": status ", res->status));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

void Soak::CriPullLoop() {
  std::mt19937_64 rng(o_.seed * 100 + 10);
  std::uniform_real_distribution<double> u(0, 1);
  testbed::CriClient via(CriSocket());
  testbed::CriClient direct(containerd_->address());
  int next = 0;
  while (!Stopping()) {
    const bool hot = u(rng) < 0.4;
    const int i = hot ? static_cast<int>(rng() % kCriHot)
                      : kCriHot + next++ % (kCriImages - kCriHot);
    const testbed::PushedImage& image = cri_images_[i];
    const std::string ref =
        absl::StrCat(RegistryHost(), "/soak/cri:", image.tag);
    absl::StatusOr<runtime::v1::PullImageResponse> pulled = via.PullImage(ref);
    ++c_.cri_pulls;
    if (pulled.ok()) {
      const testbed::PushedBuild* build =
          image.FindByConfig(pulled->image_ref());
      if (build != nullptr && absl::StartsWith(build->name, "skylake-")) {
        ++c_.cri_best;
      } else if (build != nullptr) {
        ++c_.cri_generic;
      } else {
        ++c_.cri_other;
        failures_->Add(absl::StrCat("CRI PullImage ", ref, ": image ",
                                    pulled->image_ref(), " is no build"));
      }
    } else {
      ++c_.cri_failed;
      absl::StatusOr<runtime::v1::PullImageResponse> alone =
          direct.PullImage(ref);
      if (alone.ok()) ++c_.cri_lost;
      failures_->Add(absl::StrCat(
          "CRI PullImage ", ref, " failed: ", pulled.status().ToString(),
          alone.ok() ? " — LOST: straight to containerd it succeeds"
                     : absl::StrCat(" — containerd alone fails too: ",
                                    alone.status().ToString())));
    }
    if (u(rng) < (hot ? 0.1 : 0.7)) {
      absl::StatusOr<runtime::v1::RemoveImageResponse> removed =
          via.RemoveImage(ref);
      ++c_.cri_calls;
      ++c_.cri_remove;
      if (!removed.ok()) {
        ++c_.cri_calls_failed;
        absl::StatusOr<runtime::v1::RemoveImageResponse> alone =
            direct.RemoveImage(ref);
        if (alone.ok()) ++c_.cri_calls_lost;
        failures_->Add(absl::StrCat("CRI RemoveImage ", ref,
                                    " failed: ", removed.status().ToString(),
                                    alone.ok() ? " — LOST" : ""));
      }
    }
    Pause(absl::Milliseconds(50));
  }
}

void Soak::CriCallLoop() {
  std::mt19937_64 rng(o_.seed * 100 + 11);
  std::uniform_real_distribution<double> u(0, 1);
  testbed::CriClient via(CriSocket());
  testbed::CriClient direct(containerd_->address());
  while (!Stopping()) {
    const bool list = u(rng) < 0.5;
    absl::Status status;
    std::string ref;
    if (list) {
      status = via.ListImages().status();
      ++c_.cri_list;
    } else {
      ref = absl::StrCat(RegistryHost(),
                         "/soak/cri:", cri_images_[rng() % kCriImages].tag);
      status = via.ImageStatus(ref).status();
      ++c_.cri_status;
    }
    ++c_.cri_calls;
    if (!status.ok()) {
      ++c_.cri_calls_failed;
      const absl::Status alone = list ? direct.ListImages().status()
                                      : direct.ImageStatus(ref).status();
      if (alone.ok()) ++c_.cri_calls_lost;
      failures_->Add(absl::StrCat("CRI ", list ? "ListImages" : "ImageStatus ",
                                  ref, " failed: ", status.ToString(),
                                  alone.ok() ? " — LOST" : ""));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void Soak::CtrPullLoop() {
  int next = 0;
  while (Pause(absl::Seconds(3))) {
    const testbed::PushedImage& image = ctr_images_[next++ % kCtrImages];
    const std::string ref =
        absl::StrCat(RegistryHost(), "/soak/ctr:", image.tag);
    ++c_.ctr_pulls;
    absl::StatusOr<std::string> pulled =
        containerd_->Pull("soak", ref, dir_ + "/nf");
    if (pulled.ok()) {
      absl::StatusOr<std::string> target =
          containerd_->ImageTarget("soak", ref);
      const testbed::PushedBuild* build =
          target.ok() ? image.FindByManifest(*target) : nullptr;
      if (build != nullptr && absl::StartsWith(build->name, "skylake-")) {
        ++c_.ctr_best;
      } else if (target.ok() && *target == image.index_digest) {
        ++c_.ctr_generic;  // containerd resolved the tag itself
      } else {
        ++c_.ctr_other;
        failures_->Add(
            absl::StrCat("ctr pull ", ref, ": record points at ",
                         target.ok() ? *target : target.status().ToString()));
      }
      (void)containerd_->Ctr("soak", {"images", "rm", "--sync", ref});
    } else {
      ++c_.ctr_failed;
      absl::StatusOr<std::string> alone =
          containerd_->Pull("soak-direct", ref, dir_ + "/plain");
      if (alone.ok()) ++c_.ctr_lost;
      failures_->Add(absl::StrCat(
          "ctr pull ", ref,
          " with nodefit's hosts.toml failed: ", pulled.status().ToString(),
          alone.ok() ? " — LOST: with the plain hosts.toml it succeeds"
                     : " — fails without nodefit too"));
      (void)containerd_->Ctr("soak-direct", {"images", "rm", "--sync", ref});
    }
  }
}

int Soak::Run() {
  const pid_t pid = nodefit_->process().pid();
  const absl::Duration length = absl::Seconds(o_.minutes * 60);
  const absl::Duration sample_every = absl::Seconds(o_.sample_seconds);
  const absl::Duration reload_every = absl::Seconds(o_.reload_seconds);
  const std::string version = containerd_->peer().Name();
  std::cout << "=== soak: " << o_.minutes << " min, " << version << ", nodefit "
            << o_.nodefit << " (pid " << pid << ")\n"
            << "    faults on " << absl::StrFormat("%.1f", o_.fault_rate * 100)
            << "% of nodefit's manifest requests, SIGHUP every "
            << o_.reload_seconds << " s, a sample every " << o_.sample_seconds
            << " s, seed " << o_.seed << ", load " << LoadAverage()
            << std::endl;

  std::vector<Sample> samples;
  auto take = [&](double seconds, Sample* s) {
    s->seconds = seconds;
    if (!ReadStatus(pid, s)) return false;
    s->fds = CountFds(pid);
    s->resolver = c_.res_requests;
    s->cri_pulls = c_.cri_pulls;
    s->cri_calls = c_.cri_calls;
    s->ctr_pulls = c_.ctr_pulls;
    s->faults = proxy_->Injected();
    s->failed = c_.Failed();
    s->lost = c_.Lost();
    s->load = LoadAverage();
    return true;
  };
  auto print = [](const Sample& s) {
    std::cout << absl::StrFormat(
                     "%7.1f %7.2f %7.2f %7d %5d %9d %9d %9d %9d %7d %6d %5d "
                     "%5.2f",
                     s.seconds / 60, s.rss_mb, s.anon_mb, s.threads, s.fds,
                     s.resolver, s.cri_pulls, s.cri_calls, s.ctr_pulls,
                     s.faults, s.failed, s.lost, s.load)
              << std::endl;
  };
  std::cout << "  t_min  rss_MB anon_MB threads   fds  resolver cri_pulls "
               "cri_calls ctr_pulls  faults failed  lost  load\n";
  Sample idle;
  take(0, &idle);
  print(idle);

  const absl::Time start = absl::Now();
  failures_ = std::make_unique<FailureLog>(start);
  std::vector<std::thread> threads;
  threads.emplace_back([this] { ResolverLoop(0, true); });
  threads.emplace_back([this] { ResolverLoop(1, false); });
  threads.emplace_back([this] { CriPullLoop(); });
  threads.emplace_back([this] { CriCallLoop(); });
  threads.emplace_back([this] { CtrPullLoop(); });

  bool crashed = false;
  int sighups = 0;
  absl::Time next_sample = start + sample_every;
  absl::Time next_reload = start + reload_every / 2;
  const absl::Time end = start + length;
  while (true) {
    const absl::Time now = absl::Now();
    if (!nodefit_->process().Running()) {
      crashed = true;
      std::cout << "nodefit is gone after " << absl::FormatDuration(now - start)
                << std::endl;
      break;
    }
    if (now >= next_reload && next_reload < end) {
      nodefit_->process().Signal(SIGHUP);
      ++sighups;
      next_reload += reload_every;
    }
    if (now >= next_sample) {
      Sample s;
      if (!take(absl::ToDoubleSeconds(now - start), &s)) {
        crashed = true;
        break;
      }
      samples.push_back(s);
      print(s);
      next_sample += sample_every;
      if (next_sample > end + absl::Seconds(1)) break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  stop_ = true;
  for (std::thread& t : threads) t.join();
  const absl::Duration ran = absl::Now() - start;

  // nodefit's own view.
  absl::StatusOr<std::string> metrics = nodefit_->Get("/metrics");
  const std::string m = metrics.ok() ? *metrics : "";
  const std::string log = nodefit_->log();
  auto count_in_log = [&](const std::string& what) {
    int64_t n = 0;
    for (size_t at = log.find(what); at != std::string::npos;
         at = log.find(what, at + what.size())) {
      ++n;
    }
    return n;
  };
  const int64_t reloaded = count_in_log("config reloaded");
  const int64_t reload_failed = count_in_log("reload failed");
  const int manifest_requests = proxy_->Count("/manifests/");
  const int injected = proxy_->Injected();

  // Trend after the warm-up, and over the second half alone.
  const double warmup_s = o_.warmup_fraction * o_.minutes * 60;
  const double half_s = o_.minutes * 30;
  struct Series {
    std::string name;
    double Sample::*d = nullptr;
    int Sample::*i = nullptr;
    double value(const Sample& s) const {
      return d != nullptr ? s.*d : static_cast<double>(s.*i);
    }
  };
  const std::vector<Series> series = {{"rss_MB", &Sample::rss_mb, nullptr},
                                      {"anon_MB", &Sample::anon_mb, nullptr},
                                      {"threads", nullptr, &Sample::threads},
                                      {"fds", nullptr, &Sample::fds}};
  int fitted = 0;
  for (const Sample& s : samples) fitted += s.seconds > warmup_s ? 1 : 0;
  std::cout << "\n=== soak results (" << absl::FormatDuration(ran) << ", "
            << version << ")\n"
            << "samples: " << samples.size() << " after the idle one, every "
            << o_.sample_seconds << " s; warm-up: the first "
            << absl::StrFormat("%.0f", warmup_s) << " s ("
            << o_.warmup_fraction * 100 << "% of the run) left out, " << fitted
            << " fitted\n"
            << absl::StrFormat("%-8s %8s %8s %8s %12s %14s\n", "", "idle",
                               "mean", "max", "slope %/h", "2nd half %/h");
  nlohmann::json trends = nlohmann::json::object();
  bool flat = true;
  std::vector<std::string> reasons;
  for (const Series& se : series) {
    std::vector<double> x, y, x2, y2;
    double max_all = 0;
    for (const Sample& s : samples) {
      max_all = std::max(max_all, se.value(s));
      if (s.seconds > warmup_s) {
        x.push_back(s.seconds / 3600);
        y.push_back(se.value(s));
      }
      if (s.seconds > half_s) {
        x2.push_back(s.seconds / 3600);
        y2.push_back(se.value(s));
      }
    }
    const Trend t = Fit(x, y);
    const Trend t2 = Fit(x2, y2);
    std::cout << absl::StrFormat("%-8s %8.2f %8.2f %8.2f %12.3f %14.3f\n",
                                 se.name, se.value(idle), t.mean, max_all,
                                 t.slope_pct_per_hour, t2.slope_pct_per_hour);
    trends[se.name] = {
        {"idle", se.value(idle)},
        {"mean", t.mean},
        {"max", max_all},
        {"slope_pct_per_hour", t.slope_pct_per_hour},
        {"second_half_slope_pct_per_hour", t2.slope_pct_per_hour},
        {"fitted", t.n}};
    // anon_MB is part of rss_MB: shown for the diagnosis, not judged alone.
    if (se.name != "anon_MB" && t.slope_pct_per_hour >= 1.0) {
      flat = false;
      reasons.push_back(absl::StrCat(
          se.name, " slope ", absl::StrFormat("%.2f", t.slope_pct_per_hour),
          " %/h >= 1"));
    }
  }

  const double minutes_ran = absl::ToDoubleMinutes(ran);
  std::cout << "resolver face: " << c_.res_requests.load() << " requests ("
            << c_.res_head.load() << " HEAD, " << c_.res_get.load()
            << " GET): " << c_.res_best.load()
            << " answered with the skylake build, " << c_.res_stepaside.load()
            << " stepped aside (404), " << c_.res_wrong.load()
            << " another build, " << c_.res_error.load() << " errors; "
            << absl::StrFormat("%.1f", c_.res_requests / (minutes_ran * 60))
            << " req/s\n"
            << "CRI face: " << c_.cri_pulls.load() << " PullImage ("
            << c_.cri_best.load() << " the skylake build, "
            << c_.cri_generic.load()
            << " the generic one (nodefit stepped aside), "
            << c_.cri_other.load() << " other), " << c_.cri_failed.load()
            << " failed, " << c_.cri_lost.load() << " lost; "
            << c_.cri_calls.load() << " passthrough calls ("
            << c_.cri_list.load() << " ListImages, " << c_.cri_status.load()
            << " ImageStatus, " << c_.cri_remove.load() << " RemoveImage), "
            << c_.cri_calls_failed.load() << " failed, "
            << c_.cri_calls_lost.load() << " lost\n"
            << "containerd's resolver via nodefit's hosts.toml (ctr pull): "
            << c_.ctr_pulls.load() << " pulls (" << c_.ctr_best.load()
            << " the skylake build, " << c_.ctr_generic.load()
            << " resolved by containerd itself, " << c_.ctr_other.load()
            << " other), " << c_.ctr_failed.load() << " failed, "
            << c_.ctr_lost.load() << " lost\n"
            << "faults injected: " << injected << " of " << manifest_requests
            << " manifest requests on nodefit's way ("
            << absl::StrFormat("%.2f",
                               manifest_requests > 0
                                   ? 100.0 * injected / manifest_requests
                                   : 0.0)
            << "%)\n"
            << "nodefit: " << sighups << " SIGHUPs, " << reloaded
            << " \"config reloaded\", " << reload_failed << " reload failures; "
            << "metrics: resolutions "
            << SumMetric(m, "nodefit_resolutions_total") << ", step-asides "
            << SumMetric(m, "nodefit_stepaside_total") << ", upstream requests "
            << SumMetric(m, "nodefit_upstream_requests_total") << "\n";

  bool failed = false;
  if (crashed) {
    failed = true;
    reasons.push_back("nodefit died");
    std::cout << "nodefit's log, last 4000 bytes:\n"
              << log.substr(log.size() > 4000 ? log.size() - 4000 : 0) << "\n";
  }
  if (c_.Lost() > 0) {
    failed = true;
    reasons.push_back(absl::StrCat(c_.Lost(), " lost pulls or calls"));
  }
  const bool judged = o_.minutes >= 30;
  if (judged && !flat) failed = true;
  if (!judged && !flat) {
    reasons.push_back("(slopes not judged: run shorter than 30 minutes)");
  }
  int exit_status = -1;
  if (!crashed) {
    exit_status = nodefit_->Stop();
    std::cout << "nodefit stopped: "
              << (WIFEXITED(exit_status)
                      ? absl::StrCat("exit ", WEXITSTATUS(exit_status))
                      : absl::StrCat("signal ", WTERMSIG(exit_status)))
              << "\n";
  }
  std::cout << "soak: " << (failed ? "FAIL" : "PASS");
  for (const std::string& r : reasons) std::cout << "; " << r;
  std::cout << std::endl;

  if (!o_.json.empty()) {
    nlohmann::json out = {{"minutes", o_.minutes},
                          {"seconds_ran", absl::ToDoubleSeconds(ran)},
                          {"containerd", version},
                          {"nodefit", o_.nodefit},
                          {"fault_rate", o_.fault_rate},
                          {"seed", o_.seed},
                          {"sample_seconds", o_.sample_seconds},
                          {"reload_seconds", o_.reload_seconds},
                          {"warmup_seconds", warmup_s},
                          {"trends", trends},
                          {"counts",
                           {{"resolver_requests", c_.res_requests.load()},
                            {"resolver_best", c_.res_best.load()},
                            {"resolver_stepaside", c_.res_stepaside.load()},
                            {"resolver_wrong", c_.res_wrong.load()},
                            {"resolver_errors", c_.res_error.load()},
                            {"cri_pulls", c_.cri_pulls.load()},
                            {"cri_best", c_.cri_best.load()},
                            {"cri_generic", c_.cri_generic.load()},
                            {"cri_failed", c_.cri_failed.load()},
                            {"cri_lost", c_.cri_lost.load()},
                            {"cri_calls", c_.cri_calls.load()},
                            {"cri_calls_failed", c_.cri_calls_failed.load()},
                            {"cri_calls_lost", c_.cri_calls_lost.load()},
                            {"ctr_pulls", c_.ctr_pulls.load()},
                            {"ctr_best", c_.ctr_best.load()},
                            {"ctr_generic", c_.ctr_generic.load()},
                            {"ctr_failed", c_.ctr_failed.load()},
                            {"ctr_lost", c_.ctr_lost.load()},
                            {"faults_injected", injected},
                            {"manifest_requests", manifest_requests},
                            {"sighups", sighups},
                            {"reloaded", reloaded},
                            {"reload_failed", reload_failed}}},
                          {"failures", failures_->lines()},
                          {"result", failed ? "FAIL" : "PASS"},
                          {"reasons", reasons}};
    nlohmann::json rows = nlohmann::json::array();
    for (const Sample& s : samples) {
      rows.push_back({{"seconds", s.seconds},
                      {"rss_mb", s.rss_mb},
                      {"anon_mb", s.anon_mb},
                      {"threads", s.threads},
                      {"fds", s.fds},
                      {"resolver", s.resolver},
                      {"cri_pulls", s.cri_pulls},
                      {"cri_calls", s.cri_calls},
                      {"ctr_pulls", s.ctr_pulls},
                      {"faults", s.faults},
                      {"failed", s.failed},
                      {"lost", s.lost},
                      {"load", s.load}});
    }
    out["samples"] = rows;
    out["idle"] = {{"rss_mb", idle.rss_mb},
                   {"anon_mb", idle.anon_mb},
                   {"threads", idle.threads},
                   {"fds", idle.fds}};
    std::ofstream(o_.json) << out.dump(2) << "\n";
    std::cout << "soak: " << o_.json << std::endl;
  }
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace nodefit::bench

int main(int argc, char** argv) {
  nodefit::bench::Options options;
  if (!nodefit::bench::ParseArgs(argc, argv, &options)) {
    nodefit::bench::Usage();
    return 2;
  }
  nodefit::bench::Soak soak(options);
  if (absl::Status s = soak.SetUp(); !s.ok()) {
    std::cerr << "soak: set-up failed: " << s << std::endl;
    return 1;
  }
  return soak.Run();
}
