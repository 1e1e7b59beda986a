#include "plugin/faces/http_face.h"

#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "httplib.h"
#include "resolver/base/json_util.h"
#include "resolver/decide/decide.h"
#include "resolver/registry/digest.h"
#include "resolver/registry/reference.h"
#include "resolver/select/report.h"

namespace nodefit {

constexpr absl::string_view kFace = "http";
constexpr absl::string_view kNoMatchAnnotation = "io.nodefit.no-match";

// The empty indexes served for "no build fits": containerd asks for the
// digest right after the tag, so a small bounded store suffices.
class NoMatchStore {
 public:
  // Returns the digest the body is stored under.
  std::string Put(const std::string& body) {
    std::string digest = Sha256Digest(body);
    absl::MutexLock lock(&mu_);
    if (bodies_.emplace(digest, body).second) {
      order_.push_back(digest);
      if (order_.size() > kMaxEntries) {
        bodies_.erase(order_.front());
        order_.pop_front();
      }
    }
    return digest;
  }
  std::optional<std::string> Get(const std::string& digest) {
    absl::MutexLock lock(&mu_);
    auto it = bodies_.find(digest);
    if (it == bodies_.end()) return std::nullopt;
    return it->second;
  }

 private:
  static constexpr size_t kMaxEntries = 1024;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::string> bodies_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> order_ ABSL_GUARDED_BY(mu_);
};

namespace {

// A distribution-spec error body.
void Error(httplib::Response& res, int status, absl::string_view code,
           absl::string_view message) {
  res.status = status;
  res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
  res.set_content(DumpJson({{"errors",
                             {{{"code", std::string(code)},
                               {"message", std::string(message)},
                               {"detail", nlohmann::json::object()}}}}}) +
                      "\n",
                  "application/json");
}

void Descriptor200(httplib::Response& res, const Descriptor& d,
                   const std::string* body, bool head) {
  res.status = 200;
  res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
  res.set_header("Docker-Content-Digest", d.digest);
  if (head || body == nullptr) {
    res.set_header("Content-Type", d.media_type);
    res.set_header("Content-Length", absl::StrCat(d.size));
  } else {
    res.set_content(*body, d.media_type);
  }
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

// The empty index served for "no build fits", deterministic per image and
// reason so HEAD and the following GET agree.
std::string EmptyIndex(const std::string& reason) {
  return DumpJson(
      {{"schemaVersion", 2},
       {"mediaType", "application/vnd.oci.image.index.v1+json"},
       {"manifests", nlohmann::json::array()},
       {"annotations", {{std::string(kNoMatchAnnotation), reason}}}});
}

}  // namespace

HttpFace::HttpFace(const EngineSlot* engines, Metrics* metrics, Logger* logger,
                   BypassDetector* bypass)
    : engines_(engines),
      metrics_(metrics),
      logger_(logger),
      bypass_(bypass),
      server_(std::make_unique<httplib::Server>()),
      no_match_(std::make_unique<NoMatchStore>()) {}

HttpFace::~HttpFace() { Stop(); }

void HttpFace::Stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

absl::StatusOr<std::unique_ptr<HttpFace>> HttpFace::Start(
    const HttpFaceOptions& options, const EngineSlot* engines, Metrics* metrics,
    Logger* logger) {
  const size_t colon = options.listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(options.listen.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("http.listen \"", options.listen, "\" is not host:port"));
  }
  std::string host = options.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::unique_ptr<HttpFace> face(
      new HttpFace(engines, metrics, logger, options.bypass));
  httplib::Server& server = *face->server_;
  const int threads = std::max(1, options.threads);
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  // A worker serves one connection for as long as it stays busy, so with
  // more open connections than workers the rest would wait indefinitely.
  // Closing a connection after 100 requests (clients reconnect) makes them
  // take turns.
  server.set_keep_alive_max_count(100);
  // Stop() waits for idle keep-alive connections to time out; keep that
  // short so SIGTERM is prompt (containerd simply reconnects).
  server.set_keep_alive_timeout(2);
  server.set_read_timeout(10, 0);
  server.set_write_timeout(30, 0);
  server.set_payload_max_length(size_t{64} * 1024);
  face->Install();
  const int bound = port == 0 ? server.bind_to_any_port(host)
                              : (server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen,
                     " (in use, or not a local address)"));
  }
  face->port_ = bound;
  HttpFace* self = face.get();
  face->thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  while (!server.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return face;
}

void HttpFace::Install() {
  server_->set_pre_routing_handler([this](const httplib::Request& req,
                                          httplib::Response& res) {
    const absl::string_view path = req.path;
    const bool read = req.method == "GET" || req.method == "HEAD";
    std::string route = "other";
    if (path == "/metrics" && read) {
      route = "metrics";
      res.set_content(metrics_->Render(), "text/plain; version=0.0.4");
    } else if (path == "/healthz" && read) {
      route = "healthz";
      res.set_content("ok\n", "text/plain");
    } else if (path == "/readyz" && read) {
      route = "readyz";
      const bool ok = ready_.load() && engines_->Get() != nullptr;
      res.status = ok ? 200 : 503;
      res.set_content(ok ? "ready\n" : "starting\n", "text/plain");
    } else if ((path == "/v2/" || path == "/v2") && read) {
      route = "v2";
      res.set_header("Docker-Distribution-Api-Version", "registry/2.0");
      res.set_content("{}", "application/json");
    } else if (!absl::StartsWith(path, "/v2/")) {
      Error(res, 404, "NOT_FOUND", "nodefit serves only the /v2/ API");
    } else if (!read) {
      route = "write";
      Error(res, 405, "UNSUPPORTED",
            "nodefit is a pull-only registry host; writes go to the registry");
    } else if (absl::StrContains(path, "/blobs/")) {
      route = "blob";
      Error(res, 404, "BLOB_UNKNOWN",
            "nodefit serves no blobs; containerd fetches them upstream");
    } else {
      ManifestPath manifest;
      if (!ParseManifestPath(path, &manifest)) {
        Error(res, 404, "NOT_FOUND", "unknown /v2/ path");
      } else if (manifest.reference.find(':') != std::string::npos) {
        route = "manifest_digest";
        if (std::optional<std::string> body =
                no_match_->Get(manifest.reference)) {
          Descriptor200(
              res,
              {"application/vnd.oci.image.index.v1+json", manifest.reference,
               static_cast<int64_t>(body->size())},
              &*body, req.method == "HEAD");
        } else {
          Error(res, 404, "MANIFEST_UNKNOWN",
                "nodefit resolves tags only; fetch manifests upstream");
        }
      } else {
        route = "manifest";
        HandleTag(req, res, manifest.repository, manifest.reference);
      }
    }
    metrics_->CountHttp(route, res.status == -1 ? 200 : res.status);
    return httplib::Server::HandlerResponse::Handled;
  });
}

void HttpFace::HandleTag(const httplib::Request& req, httplib::Response& res,
                         const std::string& repository,
                         const std::string& tag) {
  const bool head = req.method == "HEAD";
  const std::string ns = req.get_param_value("ns");
  if (ns.empty()) {
    Error(res, 400, "NAME_INVALID",
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
      Error(res, 400, "NAME_INVALID", s.message());
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
    Error(res, 404, "MANIFEST_UNKNOWN", "nodefit is starting");
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
    Error(res, 404, "MANIFEST_UNKNOWN",
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
      Descriptor200(res, decision->descriptor, &upstream.body, head);
      break;
    case Outcome::kSelected: {
      fields["chosen"] = decision->descriptor.digest;
      if (head) {
        Descriptor200(res, decision->descriptor, nullptr, true);
        break;
      }
      absl::StatusOr<std::shared_ptr<const CachedDocument>> manifest =
          engine->registry->FetchByDigest(ref, decision->descriptor.digest,
                                          nullptr);
      if (!manifest.ok()) {
        step_aside(manifest.status());
        return;
      }
      Descriptor200(res, decision->descriptor, &(*manifest)->body, false);
      break;
    }
    case Outcome::kNoMatch: {
      const std::string reason = NoMatchMessage(
          ref.String(), decision->selection, engine->selector->node());
      std::string body = EmptyIndex(reason);
      const int64_t size = static_cast<int64_t>(body.size());
      const std::string digest = no_match_->Put(body);
      fields["reason"] = reason;
      logger_->Warning("no build fits this node; refusing the pull", fields);
      metrics_->CountResolution(kFace, "no_match");
      Descriptor200(res,
                    {"application/vnd.oci.image.index.v1+json", digest, size},
                    &body, head);
      return;
    }
  }
  metrics_->CountResolution(kFace, OutcomeName(decision->outcome()));
  logger_->Info("resolution", fields);
}

}  // namespace nodefit
