#include "plugin/faces/proxy_face.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "plugin/faces/proxy_route.h"
#include "resolver/base/json_util.h"
#include "resolver/decide/decide.h"
#include "resolver/registry/reference.h"
#include "resolver/select/report.h"

namespace nodefit {

constexpr absl::string_view kFace = "proxy";

struct ProxyFace::Client {
  std::string login;  // central mode; empty in local mode
  const Selector* selector = nullptr;
};

namespace {

constexpr size_t kMaxListingBytes = 1 << 20;  // tags list, referrers

bool CentralMode(const Engine& engine) {
  return !engine.config.proxy.profiles.empty();
}

// The request's Host as a token realm may name it: letters, digits and
// the punctuation of host:port and [v6]:port only, else the listen address.
std::string RealmHost(const ServerRequest& req, const std::string& listen) {
  std::string host = req.Header("host");
  if (host.empty() || host.size() > 255) return listen;
  for (char c : host) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '-' && c != ':' &&
        c != '[' && c != ']') {
      return listen;
    }
  }
  return host;
}

// A query string that may go upstream as is (listings' n, last,
// artifactType): unreserved characters, percent escapes, '=' and '&'.
bool SafeQuery(absl::string_view query) {
  if (query.size() > 1024) return false;
  for (char c : query) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '.' && c != '_' &&
        c != '~' && c != '%' && c != '=' && c != '&' && c != '+') {
      return false;
    }
  }
  return true;
}

void Json200(ServerResponse& res, std::string body) {
  res.status = 200;
  res.headers = {{"Docker-Distribution-Api-Version", "registry/2.0"},
                 {"Content-Type", "application/json"}};
  res.body = std::move(body);
}

}  // namespace

ProxyFace::ProxyFace(const ProxyFaceOptions& options, const EngineSlot* engines,
                     Metrics* metrics, Logger* logger,
                     std::unique_ptr<TokenIssuer> tokens)
    : options_(options),
      engines_(engines),
      metrics_(metrics),
      logger_(logger),
      tokens_(std::move(tokens)),
      no_match_(options.no_match_bytes) {}

ProxyFace::~ProxyFace() { Stop(); }

void ProxyFace::Stop() {
  if (server_ != nullptr) server_->Stop(absl::Seconds(15));
}

absl::StatusOr<std::unique_ptr<ProxyFace>> ProxyFace::Start(
    const ProxyFaceOptions& options, const EngineSlot* engines,
    Metrics* metrics, Logger* logger) {
  absl::StatusOr<std::unique_ptr<TokenIssuer>> tokens =
      TokenIssuer::Create(options.token_ttl);
  if (!tokens.ok()) return tokens.status();
  std::unique_ptr<ProxyFace> face(
      new ProxyFace(options, engines, metrics, logger, *std::move(tokens)));
  ProxyFace* self = face.get();
  HttpServerOptions serving = options.limits;
  serving.listen = options.listen;
  serving.tls = options.tls;
  serving.on_limit = [metrics](absl::string_view limit) {
    metrics->CountLimit(absl::StrCat("proxy_", limit));
  };
  absl::StatusOr<std::unique_ptr<HttpServer>> server = HttpServer::Start(
      serving, [self](const ServerRequest& req, ServerResponse& res) {
        self->Serve(req, res);
      });
  if (!server.ok()) return server.status();
  face->server_ = *std::move(server);
  return face;
}

void ProxyFace::Serve(const ServerRequest& req, ServerResponse& res) {
  const ProxyPath path = ParseProxyPath(req.path);
  const bool read = req.method == "GET" || req.method == "HEAD";
  std::string route = "proxy_other";
  const std::shared_ptr<const Engine> engine = engines_->Get();
  if (engine == nullptr) {
    RegistryError(res, 503, "UNAVAILABLE", "nodefit is starting");
  } else if (engine->proxy_registry == nullptr) {
    RegistryError(res, 503, "UNAVAILABLE",
                  "the proxy was turned off in the config; it stops when "
                  "nodefit restarts");
  } else if (!read) {
    route = "proxy_write";
    RegistryError(res, 405, "UNSUPPORTED",
                  "nodefit's proxy is pull-only; push to the registry");
  } else if (path.route == ProxyRoute::kToken) {
    route = "proxy_token";
    ServeToken(req, res, *engine);
  } else if (path.route == ProxyRoute::kOther) {
    RegistryError(res, 404, "NOT_FOUND", "unknown path");
  } else {
    Client client;
    if (Authorize(req, res, *engine, path.name, &client)) {
      if (path.route == ProxyRoute::kBase) {
        route = "proxy_v2";
        Json200(res, "{}");
      } else if (absl::StatusOr<Reference> upstream =
                     UpstreamFor(path.name, engine->config.proxy);
                 !upstream.ok()) {
        const bool denied =
            upstream.status().code() == absl::StatusCode::kPermissionDenied;
        RegistryError(res, denied ? 404 : 400,
                      denied ? "NAME_UNKNOWN" : "NAME_INVALID",
                      upstream.status().message());
      } else {
        switch (path.route) {
          case ProxyRoute::kManifest:
            route = "proxy_manifest";
            ServeManifest(req, res, *engine, client, *upstream, path.reference);
            break;
          case ProxyRoute::kBlob:
            route = "proxy_blob";
            ServeBlob(req, res, *engine, *upstream, path.reference);
            break;
          case ProxyRoute::kTags:
            route = "proxy_tags";
            ServeListing(
                req, res, *engine, *upstream, path.name,
                absl::StrCat("/v2/", upstream->repository, "/tags/list"));
            break;
          case ProxyRoute::kReferrers:
            route = "proxy_referrers";
            if (absl::Status s = ValidateDigest(path.reference); !s.ok()) {
              RegistryError(res, 400, "DIGEST_INVALID", s.message());
              break;
            }
            ServeListing(req, res, *engine, *upstream, path.name,
                         absl::StrCat("/v2/", upstream->repository,
                                      "/referrers/", path.reference));
            break;
          default:
            RegistryError(res, 404, "NOT_FOUND", "unknown path");
        }
      }
    }
  }
  if (req.method == "HEAD" && !res.content_length.has_value()) {
    res.content_length = static_cast<int64_t>(res.body.size());
  }
  metrics_->CountHttp(route, res.status);
}

bool ProxyFace::Authorize(const ServerRequest& req, ServerResponse& res,
                          const Engine& engine, const std::string& name,
                          Client* client) {
  if (!CentralMode(engine)) {
    client->selector = engine.selector.get();
    return true;
  }
  auto challenge = [&](absl::string_view message) {
    RegistryError(res, 401, "UNAUTHORIZED", message);
    std::string value = absl::StrCat(
        "Bearer realm=\"", options_.tls.has_value() ? "https" : "http", "://",
        RealmHost(req, options_.listen), "/token\",service=\"nodefit\"");
    if (!name.empty()) {
      absl::StrAppend(&value, ",scope=\"repository:", name, ":pull\"");
    }
    res.headers.emplace_back("WWW-Authenticate", std::move(value));
  };
  absl::StatusOr<TokenIssuer::Grant> grant =
      tokens_->Check(req.Header("authorization"));
  if (!grant.ok()) {
    challenge(
        absl::StrCat("log in to this proxy (", grant.status().message(), ")"));
    return false;
  }
  auto selector = engine.profile_selectors.find(grant->login);
  if (selector == engine.profile_selectors.end()) {
    challenge("this login is no longer configured; log in again");
    return false;
  }
  if (!name.empty() &&
      std::find(grant->repositories.begin(), grant->repositories.end(), name) ==
          grant->repositories.end()) {
    challenge(absl::StrCat("the token does not grant pull of ", name));
    return false;
  }
  client->login = grant->login;
  client->selector = selector->second.get();
  return true;
}

void ProxyFace::ServeToken(const ServerRequest& req, ServerResponse& res,
                           const Engine& engine) {
  if (!CentralMode(engine)) {
    RegistryError(res, 404, "NOT_FOUND",
                  "this proxy has no logins (proxy.profiles is empty)");
    return;
  }
  auto refuse = [&](absl::string_view message) {
    RegistryError(res, 401, "UNAUTHORIZED", message);
    res.headers.emplace_back("WWW-Authenticate",
                             "Basic realm=\"nodefit proxy\"");
  };
  absl::StatusOr<BasicCredentials> basic =
      ParseBasic(req.Header("authorization"));
  if (!basic.ok()) {
    refuse(
        "log in with the user name and password of a proxy.profiles entry "
        "(docker login, podman login)");
    return;
  }
  const auto profile = engine.config.proxy.profiles.find(basic->user);
  const std::string no_hash;
  const bool known = profile != engine.config.proxy.profiles.end();
  // An unknown login is checked too, against a hash nobody matches, so the
  // answer takes as long.
  if (!PasswordMatches(basic->password,
                       known ? profile->second.password_hash : no_hash) ||
      !known) {
    logger_->Warning("proxy login refused",
                     {{"face", std::string(kFace)}, {"login", basic->user}});
    refuse("wrong user name or password");
    return;
  }
  TokenIssuer::Grant grant;
  grant.login = basic->user;
  std::vector<std::string> scopes;
  for (const std::string& value : req.Params("scope")) {
    for (absl::string_view scope :
         absl::StrSplit(value, ' ', absl::SkipEmpty())) {
      scopes.emplace_back(scope);
    }
  }
  grant.repositories = PullScopes(scopes);
  const std::string token = tokens_->Issue(grant);
  const int64_t ttl = absl::ToInt64Seconds(tokens_->ttl());
  Json200(
      res,
      DumpJson({{"token", token},
                {"access_token", token},
                {"expires_in", ttl},
                {"issued_at", absl::FormatTime(absl::RFC3339_sec, absl::Now(),
                                               absl::UTCTimeZone())}}));
  res.headers.emplace_back("Cache-Control", "no-store");
}

void ProxyFace::UpstreamFailed(ServerResponse& res, const absl::Status& status,
                               absl::string_view unknown_code) {
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      RegistryError(res, 404, unknown_code, status.message());
      return;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      RegistryError(res, 403, "DENIED",
                    absl::StrCat(status.message(),
                                 " (nodefit's proxy reads registries "
                                 "anonymously unless "
                                 "proxy.upstream_credentials is set)"));
      return;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
      RegistryError(res, 503, "UNAVAILABLE", status.message());
      return;
    default:
      RegistryError(res, 502, "UNKNOWN", status.message());
  }
}

void ProxyFace::ServeManifest(const ServerRequest& req, ServerResponse& res,
                              const Engine& engine, const Client& client,
                              const Reference& upstream,
                              const std::string& reference) {
  const bool head = req.method == "HEAD";
  Reference ref = upstream;
  if (reference.find(':') != std::string::npos) {
    if (std::optional<std::string> body = no_match_.Get(reference)) {
      ManifestAnswer(res,
                     {std::string(kOciIndexType), reference,
                      static_cast<int64_t>(body->size())},
                     &*body, head);
      return;
    }
    if (absl::Status s = ValidateDigest(reference); !s.ok()) {
      RegistryError(res, 400, "DIGEST_INVALID", s.message());
      return;
    }
    ref.digest = reference;
    absl::StatusOr<std::shared_ptr<const CachedDocument>> doc =
        engine.proxy_registry->FetchByDigest(ref, reference, nullptr);
    if (!doc.ok()) {
      UpstreamFailed(res, doc.status(), "MANIFEST_UNKNOWN");
      return;
    }
    ManifestAnswer(res,
                   {(*doc)->media_type, (*doc)->digest,
                    static_cast<int64_t>((*doc)->body.size())},
                   &(*doc)->body, head);
    return;
  }
  if (absl::Status s = ValidateTag(reference); !s.ok()) {
    RegistryError(res, 400, "TAG_INVALID", s.message());
    return;
  }
  ref.tag = reference;
  const absl::Time start = absl::Now();
  nlohmann::json fields = {{"face", std::string(kFace)},
                           {"image", ref.String()}};
  if (!client.login.empty()) fields["login"] = client.login;
  absl::StatusOr<Decision> decision =
      Decide(*engine.proxy_registry, *client.selector, ref, nullptr);
  if (!decision.ok()) {
    const std::string reason = StepAsideReason(decision.status());
    metrics_->CountResolution(kFace, "upstream_error");
    metrics_->CountStepAside(kFace, reason);
    fields["outcome"] = "upstream_error";
    fields["reason"] = reason;
    fields["error"] = std::string(decision.status().message());
    logger_->Warning("proxy: the registry could not be read", fields);
    UpstreamFailed(res, decision.status(), "MANIFEST_UNKNOWN");
    return;
  }
  metrics_->ObserveSelection(decision->selection_time);
  const CachedDocument& document = *decision->resolution.document;
  fields["outcome"] = std::string(OutcomeName(decision->outcome()));
  fields["index"] = document.digest;
  switch (decision->outcome()) {
    case Outcome::kPassthrough:
      fields["reason"] = decision->selection.reason;
      ManifestAnswer(res, decision->descriptor, &document.body, head);
      break;
    case Outcome::kSelected: {
      fields["chosen"] = decision->descriptor.digest;
      absl::StatusOr<std::shared_ptr<const CachedDocument>> manifest =
          engine.proxy_registry->FetchByDigest(ref, decision->descriptor.digest,
                                               nullptr);
      if (!manifest.ok()) {
        UpstreamFailed(res, manifest.status(), "MANIFEST_UNKNOWN");
        return;
      }
      ManifestAnswer(res, decision->descriptor, &(*manifest)->body, head);
      break;
    }
    case Outcome::kNoMatch: {
      const std::string reason = NoMatchMessage(
          ref.String(), decision->selection, client.selector->node());
      std::string body = NoMatchIndex(reason);
      const int64_t size = static_cast<int64_t>(body.size());
      const std::string digest = no_match_.Put(body);
      fields["reason"] = reason;
      logger_->Warning("proxy: no build fits this profile; refusing the pull",
                       fields);
      ManifestAnswer(res, {std::string(kOciIndexType), digest, size}, &body,
                     head);
      break;
    }
  }
  fields["duration_ms"] = absl::ToDoubleMilliseconds(absl::Now() - start);
  metrics_->CountResolution(kFace, OutcomeName(decision->outcome()));
  if (decision->outcome() != Outcome::kNoMatch) {
    logger_->Info("resolution", fields);
  }
}

void ProxyFace::ServeBlob(const ServerRequest& req, ServerResponse& res,
                          const Engine& engine, const Reference& upstream,
                          const std::string& digest) {
  if (absl::Status s = ValidateDigest(digest); !s.ok()) {
    RegistryError(res, 400, "DIGEST_INVALID", s.message());
    return;
  }
  const std::string what =
      absl::StrCat("blob ", digest, " of ", upstream.repository);
  if (req.method == "HEAD") {
    HttpRequest head;
    head.method = "HEAD";
    head.url = absl::StrCat("/v2/", upstream.repository, "/blobs/", digest);
    absl::StatusOr<HttpResponse> answer =
        engine.proxy_registry->SendToRepository(upstream.registry,
                                                upstream.repository,
                                                std::move(head), {}, nullptr);
    if (answer.ok() && answer->status != 200) {
      answer =
          RegistryStatusError(upstream.registry, what, answer->status, false);
    }
    if (!answer.ok()) {
      UpstreamFailed(res, answer.status(), "BLOB_UNKNOWN");
      return;
    }
    int64_t length = 0;
    const std::optional<std::string> announced =
        answer->Header("content-length");
    if (!announced.has_value() || !absl::SimpleAtoi(*announced, &length)) {
      RegistryError(
          res, 502, "UNKNOWN",
          absl::StrCat(upstream.registry, " announced no length for ", what));
      return;
    }
    res.status = 200;
    res.headers = {{"Docker-Distribution-Api-Version", "registry/2.0"},
                   {"Docker-Content-Digest", digest},
                   {"Content-Type", "application/octet-stream"},
                   {"Accept-Ranges", "bytes"}};
    res.content_length = length;
    return;
  }
  absl::StatusOr<std::unique_ptr<BlobStream>> opened =
      BlobStream::Open(engine.proxy_registry, upstream, digest,
                       req.Header("range"), options_.blobs);
  if (!opened.ok()) {
    UpstreamFailed(res, opened.status(), "BLOB_UNKNOWN");
    return;
  }
  std::shared_ptr<BlobStream> stream = *std::move(opened);
  const BlobHead& head = stream->head();
  if (head.status == 416) {
    RegistryError(res, 416, "BLOB_UNKNOWN",
                  absl::StrCat("range not satisfiable for ", what));
    return;
  }
  if (head.status != 200 && head.status != 206) {
    UpstreamFailed(
        res, RegistryStatusError(upstream.registry, what, head.status, false),
        "BLOB_UNKNOWN");
    return;
  }
  if (head.content_length < 0) {
    RegistryError(res, 502, "UNKNOWN",
                  absl::StrCat(upstream.registry, " sent ", what,
                               " without a Content-Length"));
    return;
  }
  res.status = head.status;
  res.headers = {{"Docker-Distribution-Api-Version", "registry/2.0"},
                 {"Docker-Content-Digest", digest},
                 {"Content-Type", "application/octet-stream"},
                 {"Accept-Ranges", "bytes"}};
  if (head.status == 206) {
    res.headers.emplace_back("Content-Range", head.content_range);
  }
  res.content_length = head.content_length;
  if (head.content_length > 0) {
    res.stream = [stream](size_t max_bytes) { return stream->Read(max_bytes); };
  }
}

void ProxyFace::ServeListing(const ServerRequest& req, ServerResponse& res,
                             const Engine& engine, const Reference& upstream,
                             const std::string& name, const std::string& path) {
  if (!SafeQuery(req.query)) {
    RegistryError(res, 400, "UNSUPPORTED", "unsupported query parameters");
    return;
  }
  HttpRequest listing;
  listing.url = req.query.empty() ? path : absl::StrCat(path, "?", req.query);
  listing.max_body_bytes = kMaxListingBytes;
  absl::StatusOr<HttpResponse> answer = engine.proxy_registry->SendToRepository(
      upstream.registry, upstream.repository, std::move(listing), {}, nullptr);
  if (!answer.ok()) {
    UpstreamFailed(res, answer.status(), "NAME_UNKNOWN");
    return;
  }
  if (answer->status != 200) {
    UpstreamFailed(
        res,
        RegistryStatusError(upstream.registry,
                            absl::StrCat("listing of ", upstream.repository),
                            answer->status, false),
        "NAME_UNKNOWN");
    return;
  }
  res.status = 200;
  res.headers = {{"Docker-Distribution-Api-Version", "registry/2.0"},
                 {"Content-Type",
                  answer->Header("content-type").value_or("application/json")}};
  // The next page's link names the upstream repository; the client knows
  // it by its own name.
  if (std::optional<std::string> link = answer->Header("link")) {
    res.headers.emplace_back(
        "Link", absl::StrReplaceAll(
                    *link, {{absl::StrCat("/v2/", upstream.repository, "/"),
                             absl::StrCat("/v2/", name, "/")}}));
  }
  if (std::optional<std::string> filters =
          answer->Header("oci-filters-applied")) {
    res.headers.emplace_back("OCI-Filters-Applied", *filters);
  }
  // tags/list names the repository too.
  if (absl::EndsWith(path, "/tags/list")) {
    absl::StatusOr<nlohmann::json> doc = ParseJson(answer->body, "tags list");
    if (doc.ok() && doc->is_object() && doc->contains("name")) {
      (*doc)["name"] = name;
      res.body = DumpJson(*doc);
      return;
    }
  }
  res.body = std::move(answer->body);
}

}  // namespace nodefit
