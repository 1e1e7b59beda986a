#include "plugin/faces/http_face.h"

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "plugin/faces/registry_answers.h"
#include "resolver/base/json_util.h"
#include "resolver/base/limits.h"
#include "resolver/decide/decide.h"
#include "resolver/registry/digest.h"
#include "resolver/registry/reference.h"
#include "resolver/select/report.h"

namespace nodefit {

constexpr absl::string_view kFace = "http";
namespace {

void Text(ServerResponse& res, int status, std::string body,
          absl::string_view type = "text/plain") {
  res.status = status;
  res.headers = {{"Content-Type", std::string(type)}};
  res.body = std::move(body);
}

struct ManifestPath {
  std::string repository;
  std::string reference;
};

// "/v2/<repo>/manifests/<ref>" -> parts; false for any other path.
bool ParseManifestPath(absl::string_view path, ManifestPath* out) {
  if (!absl::ConsumePrefix(&path, "/v2/")) return false;
  const size_t at = path.rfind("/manifests/");
  if (at == absl::string_view::npos) return false;
  out->repository = std::string(path.substr(0, at));
  out->reference = std::string(path.substr(at + 11));
  return !out->reference.empty() &&
         out->reference.find('/') == std::string::npos;
}

}  // namespace

HttpFace::HttpFace(const EngineSlot* engines, Metrics* metrics, Logger* logger,
                   BypassDetector* bypass, size_t no_match_bytes)
    : engines_(engines),
      metrics_(metrics),
      logger_(logger),
      bypass_(bypass),
      no_match_(std::make_unique<NoMatchStore>(no_match_bytes)) {}

HttpFace::~HttpFace() { Stop(); }

void HttpFace::Stop() {
  if (face_ != nullptr) face_->Stop(absl::Seconds(15));
  if (health_ != nullptr) health_->Stop(absl::Seconds(1));
}

absl::StatusOr<std::unique_ptr<HttpFace>> HttpFace::Start(
    const HttpFaceOptions& options, const EngineSlot* engines, Metrics* metrics,
    Logger* logger) {
  std::unique_ptr<HttpFace> face(new HttpFace(
      engines, metrics, logger, options.bypass, options.no_match_bytes));
  HttpFace* self = face.get();
  auto count_limit = [metrics](absl::string_view limit) {
    metrics->CountLimit(absl::StrCat("http_", limit));
  };
  // The health listener: plain, small, its own loop and worker.
  HttpServerOptions health;
  health.listen = options.health_listen;
  health.workers = 1;
  health.max_connections = 32;
  health.max_pending = 16;
  health.request_timeout = absl::Seconds(2);
  health.on_limit = count_limit;
  absl::StatusOr<std::unique_ptr<HttpServer>> health_server = HttpServer::Start(
      health, [self](const ServerRequest& req, ServerResponse& res) {
        self->ServeHealth(req, res);
      });
  if (!health_server.ok()) return health_server.status();
  face->health_ = *std::move(health_server);

  HttpServerOptions serving = options.limits;
  serving.listen = options.listen;
  serving.tls = options.tls;
  serving.on_limit = count_limit;
  absl::StatusOr<std::unique_ptr<HttpServer>> face_server = HttpServer::Start(
      serving, [self](const ServerRequest& req, ServerResponse& res) {
        self->Serve(req, res);
      });
  if (!face_server.ok()) return face_server.status();
  face->face_ = *std::move(face_server);
  return face;
}

void HttpFace::ServeHealth(const ServerRequest& req, ServerResponse& res) {
  const bool read = req.method == "GET" || req.method == "HEAD";
  std::string route = "other";
  if (req.path == "/metrics" && read) {
    route = "metrics";
    Text(res, 200, metrics_->Render(), "text/plain; version=0.0.4");
  } else if (req.path == "/healthz" && read) {
    route = "healthz";
    Text(res, 200, "ok\n");
  } else if (req.path == "/readyz" && read) {
    route = "readyz";
    const bool ok = ready_.load() && engines_->Get() != nullptr;
    Text(res, ok ? 200 : 503, ok ? "ready\n" : "starting\n");
  } else {
    Text(res, 404,
         "the health listener serves /healthz, /readyz and "
         "/metrics only\n");
  }
  if (req.method == "HEAD") {
    res.content_length = static_cast<int64_t>(res.body.size());
  }
  metrics_->CountHttp(route, res.status);
}

void HttpFace::Serve(const ServerRequest& req, ServerResponse& res) {
  const absl::string_view path = req.path;
  const bool read = req.method == "GET" || req.method == "HEAD";
  std::string route = "other";
  if ((path == "/v2/" || path == "/v2") && read) {
    route = "v2";
    res.headers = {{"Docker-Distribution-Api-Version", "registry/2.0"},
                   {"Content-Type", "application/json"}};
    res.body = "{}";
  } else if (!absl::StartsWith(path, "/v2/")) {
    RegistryError(res, 404, "NOT_FOUND", "nodefit serves only the /v2/ API");
  } else if (!read) {
    route = "write";
    RegistryError(
        res, 405, "UNSUPPORTED",
        "nodefit is a pull-only registry host; writes go to the registry");
  } else if (absl::StrContains(path, "/blobs/")) {
    route = "blob";
    RegistryError(res, 404, "BLOB_UNKNOWN",
                  "nodefit serves no blobs; containerd fetches them upstream");
  } else {
    ManifestPath manifest;
    if (!ParseManifestPath(path, &manifest)) {
      RegistryError(res, 404, "NOT_FOUND", "unknown /v2/ path");
    } else if (manifest.reference.find(':') != std::string::npos) {
      route = "manifest_digest";
      if (std::optional<std::string> body =
              no_match_->Get(manifest.reference)) {
        ManifestAnswer(res,
                       {"application/vnd.oci.image.index.v1+json",
                        manifest.reference, static_cast<int64_t>(body->size())},
                       &*body, req.method == "HEAD");
      } else {
        RegistryError(res, 404, "MANIFEST_UNKNOWN",
                      "nodefit resolves tags only; fetch manifests upstream");
      }
    } else {
      route = "manifest";
      HandleTag(req, res, manifest.repository, manifest.reference);
    }
  }
  if (req.method == "HEAD" && !res.content_length.has_value()) {
    res.content_length = static_cast<int64_t>(res.body.size());
  }
  metrics_->CountHttp(route, res.status);
}

void HttpFace::HandleTag(const ServerRequest& req, ServerResponse& res,
                         const std::string& repository,
                         const std::string& tag) {
  const bool head = req.method == "HEAD";
  const std::string ns = req.Param("ns");
  if (ns.empty()) {
    RegistryError(
        res, 400, "NAME_INVALID",
        "missing ?ns=<registry>: nodefit answers as a hosts.toml host, "
        "and containerd names the registry in ns");
    return;
  }
  Reference ref;
  ref.registry = ns;
  ref.repository = repository;
  ref.tag = tag;
  for (const absl::Status& s :
       {ValidateRegistryHost(ns), ValidateRepository(repository),
        ValidateTag(tag)}) {
    if (!s.ok()) {
      RegistryError(res, 400, "NAME_INVALID", s.message());
      return;
    }
  }
  if (ref.registry == "docker.io" &&
      ref.repository.find('/') == std::string::npos) {
    ref.repository = "library/" + ref.repository;
  }
  if (bypass_ != nullptr) bypass_->Asked(ref);
  const std::shared_ptr<const Engine> engine = engines_->Get();
  if (engine == nullptr) {
    RegistryError(res, 404, "MANIFEST_UNKNOWN", "nodefit is starting");
    return;
  }
  const absl::Time start = absl::Now();
  absl::StatusOr<Decision> decision =
      Decide(*engine->registry, *engine->selector, ref, nullptr);
  auto log_fields = [&](absl::string_view outcome) {
    return nlohmann::json{
        {"face", std::string(kFace)},
        {"image", ref.String()},
        {"ns", ns},
        {"outcome", std::string(outcome)},
        {"duration_ms", absl::ToDoubleMilliseconds(absl::Now() - start)}};
  };
  auto step_aside = [&](const absl::Status& status) {
    const std::string reason = StepAsideReason(status);
    metrics_->CountResolution(kFace, "stepaside");
    metrics_->CountStepAside(kFace, reason);
    nlohmann::json fields = log_fields("stepaside");
    fields["reason"] = reason;
    fields["error"] = std::string(status.message());
    logger_->Warning("step aside: containerd goes upstream itself", fields);
    RegistryError(res, 404, "MANIFEST_UNKNOWN",
                  "nodefit stepped aside; ask the registry");
  };
  if (!decision.ok()) {
    step_aside(decision.status());
    return;
  }
  metrics_->ObserveSelection(decision->selection_time);
  const CachedDocument& upstream = *decision->resolution.document;
  nlohmann::json fields = log_fields(OutcomeName(decision->outcome()));
  fields["index"] = upstream.digest;
  fields["cache_hit"] = decision->resolution.cache_hit;

  switch (decision->outcome()) {
    case Outcome::kPassthrough:
      fields["reason"] = decision->selection.reason;
      ManifestAnswer(res, decision->descriptor, &upstream.body, head);
      break;
    case Outcome::kSelected: {
      fields["chosen"] = decision->descriptor.digest;
      if (head) {
        ManifestAnswer(res, decision->descriptor, nullptr, true);
        break;
      }
      absl::StatusOr<std::shared_ptr<const CachedDocument>> manifest =
          engine->registry->FetchByDigest(ref, decision->descriptor.digest,
                                          nullptr);
      if (!manifest.ok()) {
        step_aside(manifest.status());
        return;
      }
      ManifestAnswer(res, decision->descriptor, &(*manifest)->body, false);
      break;
    }
    case Outcome::kNoMatch: {
      const std::string reason = NoMatchMessage(
          ref.String(), decision->selection, engine->selector->node());
      std::string body = NoMatchIndex(reason);
      const int64_t size = static_cast<int64_t>(body.size());
      const std::string digest = no_match_->Put(body);
      fields["reason"] = reason;
      logger_->Warning("no build fits this node; refusing the pull", fields);
      metrics_->CountResolution(kFace, "no_match");
      ManifestAnswer(res,
                     {"application/vnd.oci.image.index.v1+json", digest, size},
                     &body, head);
      return;
    }
  }
  metrics_->CountResolution(kFace, OutcomeName(decision->outcome()));
  logger_->Info("resolution", fields);
}

}  // namespace nodefit
