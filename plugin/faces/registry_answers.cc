#include "plugin/faces/registry_answers.h"

#include "resolver/base/json_util.h"
#include "resolver/base/limits.h"
#include "resolver/registry/digest.h"

namespace nodefit {
namespace {

constexpr absl::string_view kNoMatchAnnotation = "io.nodefit.no-match";
// Enough to explain it; the whole report is in nodefit's log.
constexpr size_t kMaxNoMatchReason = 4096;

}  // namespace

void RegistryError(ServerResponse& res, int status, absl::string_view code,
                   absl::string_view message) {
  res.status = status;
  res.headers = {{"Docker-Distribution-Api-Version", "registry/2.0"},
                 {"Content-Type", "application/json"}};
  res.body = DumpJson({{"errors",
                        {{{"code", std::string(code)},
                          {"message", std::string(message)},
                          {"detail", nlohmann::json::object()}}}}}) +
             "\n";
}

void ManifestAnswer(ServerResponse& res, const Descriptor& descriptor,
                    const std::string* body, bool head) {
  res.status = 200;
  res.headers = {{"Docker-Distribution-Api-Version", "registry/2.0"},
                 {"Docker-Content-Digest", descriptor.digest},
                 {"Content-Type", descriptor.media_type}};
  if (head || body == nullptr) {
    res.content_length = descriptor.size;
  } else {
    res.body = *body;
  }
}

std::string NoMatchIndex(const std::string& reason) {
  return DumpJson({{"schemaVersion", 2},
                   {"mediaType", std::string(kOciIndexType)},
                   {"manifests", nlohmann::json::array()},
                   {"annotations",
                    {{std::string(kNoMatchAnnotation),
                      reason.size() <= kMaxNoMatchReason
                          ? reason
                          : reason.substr(0, kMaxNoMatchReason) + "…"}}}});
}

std::string NoMatchStore::Put(const std::string& body) {
  std::string digest = Sha256Digest(body);
  absl::MutexLock lock(&mu_);
  const uint64_t evicted = bodies_.evictions();
  bodies_.Put(digest, body, digest.size() + body.size());
  if (bodies_.evictions() != evicted) ReportLimit("no_match_store");
  return digest;
}

std::optional<std::string> NoMatchStore::Get(const std::string& digest) {
  absl::MutexLock lock(&mu_);
  const std::string* body = bodies_.Get(digest);
  if (body == nullptr) return std::nullopt;
  return *body;
}

}  // namespace nodefit
