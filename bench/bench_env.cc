#include "bench/bench_env.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "httplib.h"
#include "integration/testbed/cri_client.h"

namespace nodefit::bench {

BenchEnv::BenchEnv(std::string nodefit_binary, bool smoke)
    : nodefit_binary_(std::move(nodefit_binary)),
      smoke_(smoke),
      dir_(testbed::ShortTempDir()) {}

BenchEnv::~BenchEnv() {
  containerd_.reset();
  registry_.reset();
  if (std::getenv("NODEFIT_BENCH_KEEP") != nullptr) {
    std::cout << "bench: kept " << dir_ << std::endl;
    return;
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string BenchEnv::SubDir(const std::string& name) const {
  const std::string d = absl::StrCat(dir_, "/", name);
  std::filesystem::create_directories(d);
  return d;
}

absl::StatusOr<testbed::RegistryServer*> BenchEnv::Registry() {
  if (registry_ != nullptr) return registry_.get();
  testbed::RegistryOptions options;
  options.storage_dir = SubDir("storage");
  options.work_dir = dir_;
  absl::StatusOr<std::unique_ptr<testbed::RegistryServer>> r =
      testbed::RegistryServer::Start(options);
  if (!r.ok()) return r.status();
  registry_ = *std::move(r);
  return registry_.get();
}

absl::StatusOr<testbed::PushedImage> BenchEnv::Image(
    const std::string& repository, const std::string& tag,
    const std::vector<testbed::BuildSpec>& builds) {
  for (const testbed::PushedImage& image : images_) {
    if (image.repository == repository && image.tag == tag) return image;
  }
  absl::StatusOr<testbed::RegistryServer*> registry = Registry();
  if (!registry.ok()) return registry.status();
  absl::StatusOr<testbed::PushedImage> image = testbed::PushMultiBuildImage(
      (*registry)->host_port(), repository, tag, builds);
  if (!image.ok()) return image.status();
  images_.push_back(*image);
  return *image;
}

absl::StatusOr<testbed::ContainerdServer*> BenchEnv::ContainerdWithImages(
    int count) {
  if (containerd_ != nullptr) return containerd_.get();
  absl::StatusOr<testbed::RegistryServer*> registry = Registry();
  if (!registry.ok()) return registry.status();
  const std::string host = (*registry)->host_port();
  image_refs_.clear();
  for (int i = 0; i < count; ++i) {
    const std::string tag = absl::StrCat("t", i);
    absl::StatusOr<testbed::PushedImage> image =
        Image("bench/many", tag,
              {{absl::StrCat("many-", i), "linux", "amd64", "", {}, 0}});
    if (!image.ok()) return image.status();
    image_refs_.push_back(absl::StrCat(host, "/bench/many:", tag));
  }
  const std::string certs = SubDir("certs-base");
  (*registry)->WriteHostsToml(certs);
  absl::StatusOr<std::unique_ptr<testbed::ContainerdServer>> c =
      testbed::ContainerdServer::Start({SubDir("ctd-base"), certs});
  if (!c.ok()) return c.status();
  containerd_ = *std::move(c);

  // Pull them over CRI, four at a time.
  std::atomic<int> next{0};
  absl::Mutex mu;
  absl::Status failure;
  std::vector<std::thread> pullers;
  for (int t = 0; t < 4; ++t) {
    pullers.emplace_back([&] {
      testbed::CriClient client(containerd_->address());
      for (int i = next++; i < count; i = next++) {
        absl::StatusOr<runtime::v1::PullImageResponse> pulled =
            client.PullImage(image_refs_[static_cast<size_t>(i)]);
        if (!pulled.ok()) {
          absl::MutexLock lock(&mu);
          failure = pulled.status();
        }
      }
    });
  }
  for (std::thread& t : pullers) t.join();
  if (!failure.ok()) return failure;
  testbed::CriClient check(containerd_->address());
  absl::StatusOr<runtime::v1::ListImagesResponse> list = check.ListImages();
  if (!list.ok()) return list.status();
  if (list->images_size() < count) {
    return absl::InternalError(absl::StrCat(
        "containerd lists ", list->images_size(), " images, expected ", count));
  }
  return containerd_.get();
}

// The face in plain HTTP: the load generators speak HTTP/1.1 without TLS,
// and keep their connections, so the handshake containerd makes once per
// connection is not what these figures are about. The pull benchmark turns
// mutual TLS back on: it measures what a node does.
nlohmann::json BenchEnv::BaseConfig() {
  return {{"platform", "linux/amd64"},
          {"features", {"skylake"}},
          {"detect", false},
          {"on_no_match", "fail"},
          {"http", {{"insecure_plain_http", true}}}};
}

absl::StatusOr<std::unique_ptr<testbed::NodefitProcess>> BenchEnv::StartNodefit(
    const std::string& name, const nlohmann::json& extra) {
  nlohmann::json config = BaseConfig();
  config.merge_patch(extra);
  return testbed::NodefitProcess::Start(nodefit_binary_, dir_, name, config);
}

absl::Status PutManifest(int port, const std::string& repository,
                         const std::string& reference, const std::string& body,
                         const std::string& media_type) {
  httplib::Client client("127.0.0.1", port);
  auto put =
      client.Put(absl::StrCat("/v2/", repository, "/manifests/", reference),
                 body, media_type);
  if (!put || put->status != 201) {
    return absl::InternalError(absl::StrCat("PUT manifest ", repository, ":",
                                            reference, ": ",
                                            put ? put->status : -1));
  }
  return absl::OkStatus();
}

double SumMetric(const std::string& metrics, const std::string& family) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (!absl::ConsumePrefix(&line, family)) continue;
    if (line.empty() || (line[0] != '{' && line[0] != ' ')) continue;
    const size_t space = line.rfind(' ');
    double v = 0;
    if (space != absl::string_view::npos &&
        absl::SimpleAtod(line.substr(space + 1), &v)) {
      sum += v;
    }
  }
  return sum;
}

}  // namespace nodefit::bench
