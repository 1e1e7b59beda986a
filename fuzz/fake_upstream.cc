#include "fuzz/fake_upstream.h"

#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "nlohmann/json.hpp"
#include "resolver/config/config.h"
#include "resolver/registry/digest.h"
#include "resolver/select/platform.h"

namespace nodefit::fuzz {
namespace {

constexpr char kManifestType[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kIndexType[] = "application/vnd.oci.image.index.v1+json";

class UpstreamClient : public HttpClient {
 public:
  explicit UpstreamClient(const FakeUpstream* upstream) : upstream_(upstream) {}
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    return upstream_->Handle(request);
  }

 private:
  const FakeUpstream* const upstream_;
};

}  // namespace

bool LeaksPassword(absl::string_view input, absl::string_view output) {
  const std::string password = absl::AsciiStrToLower(kRegistryPassword);
  return absl::StrContains(absl::AsciiStrToLower(output), password) &&
         !absl::StrContains(absl::AsciiStrToLower(input), password);
}

FakeUpstream::FakeUpstream(bool bearer) : bearer_(bearer) {
  // The builds of the README's example: generic, skylake, skylake-avx512.
  auto manifest = [&](const std::string& build) {
    const std::string body =
        nlohmann::json{
            {"schemaVersion", 2},
            {"mediaType", kManifestType},
            {"config",
             {{"mediaType", "application/vnd.oci.image.config.v1+json"},
              {"digest", Sha256Digest("config " + build)},
              {"size", 1}}},
            {"layers", nlohmann::json::array()}}
            .dump();
    const std::string digest = Sha256Digest(body);
    docs_[digest] = {kManifestType, body};
    return digest;
  };
  auto entry = [&](const std::string& build,
                   const std::vector<std::string>& features) {
    const std::string digest = manifest(build);
    nlohmann::json platform = {{"os", "linux"}, {"architecture", "amd64"}};
    if (!features.empty()) platform["features"] = features;
    return nlohmann::json{{"mediaType", kManifestType},
                          {"digest", digest},
                          {"size", docs_[digest].second.size()},
                          {"platform", platform}};
  };
  const std::string index =
      nlohmann::json{{"schemaVersion", 2},
                     {"mediaType", kIndexType},
                     {"manifests",
                      {entry("generic", {}), entry("skylake", {"skylake"}),
                       entry("avx512", {"skylake-avx512"})}}}
          .dump();
  index_digest_ = Sha256Digest(index);
  docs_[index_digest_] = {kIndexType, index};
}

absl::StatusOr<HttpResponse> FakeUpstream::Handle(
    const HttpRequest& request) const {
  if (observe) observe(request);
  HttpResponse response;
  response.url = request.url;
  if (request.method == "POST" || request.url.find('?') != std::string::npos) {
    response.status = 200;
    response.headers = {{"content-type", "application/json"}};
    response.body = token_body;
    return response;
  }
  if (bearer_) {
    bool authorized = false;
    for (const auto& [name, value] : request.headers) {
      if (absl::EqualsIgnoreCase(name, "authorization") &&
          absl::StartsWith(value, "Bearer ")) {
        authorized = true;
      }
    }
    if (!authorized) {
      response.status = 401;
      response.headers = {{"www-authenticate", challenge}};
      return response;
    }
  }
  const size_t at = request.url.rfind("/manifests/");
  if (at == std::string::npos) {
    response.status = 404;
    return response;
  }
  std::string ref = request.url.substr(at + sizeof("/manifests/") - 1);
  if (!absl::StartsWith(ref, "sha256:")) ref = index_digest_;
  auto doc = docs_.find(ref);
  if (doc == docs_.end()) {
    response.status = 404;
    return response;
  }
  response.status = 200;
  response.headers = {
      {"content-type", doc->second.first},
      {"docker-content-digest", ref},
      {"content-length", std::to_string(doc->second.second.size())}};
  if (request.method == "GET") response.body = doc->second.second;
  return response;
}

std::shared_ptr<HttpClient> FakeUpstream::Client() const {
  return std::make_shared<UpstreamClient>(this);
}

std::shared_ptr<const Engine> NewEngine(
    std::shared_ptr<HttpClient> http, Metrics* metrics,
    const std::function<void(Config&)>& adjust) {
  Config config;
  config.platform = *ParsePlatform("linux/amd64");
  config.features = {"skylake"};
  config.registries["reg.example"].username = kRegistryUser;
  config.registries["reg.example"].password = kRegistryPassword;
  // No Docker config.json of the machine's: only the credentials above.
  setenv("DOCKER_CONFIG", "/nonexistent/nodefit-fuzz", 1);
  if (adjust) adjust(config);
  absl::StatusOr<std::shared_ptr<const Engine>> engine =
      BuildEngine(config, config.ConfiguredNode(), http, metrics);
  NODEFIT_FUZZ_CHECK(engine.ok());
  return *std::move(engine);
}

}  // namespace nodefit::fuzz
