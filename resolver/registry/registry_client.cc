#include "resolver/registry/registry_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdlib>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "resolver/base/json_util.h"
#include "resolver/base/limits.h"
#include "resolver/base/lru_map.h"
#include "resolver/base/single_flight.h"
#include "resolver/base/status_macros.h"
#include "resolver/registry/digest.h"

namespace nodefit {
namespace {

constexpr size_t kMaxTokenResponseBytes = 1 << 20;
constexpr absl::Duration kDefaultTokenLifetime = absl::Seconds(60);

// containerd's docker.MatchLocalhost (remotes/docker/registry.go): plain
// http for "localhost", ::1 and every IPv4 loopback address (127.0.0.0/8).
bool IsLoopbackRegistry(absl::string_view registry) {
  const absl::string_view host =
      registry.front() == '[' ? registry.substr(0, registry.find(']') + 1)
                              : registry.substr(0, registry.find(':'));
  if (host == "localhost" || host == "[::1]") return true;
  in_addr ip{};
  return inet_pton(AF_INET, std::string(host).c_str(), &ip) == 1 &&
         (ntohl(ip.s_addr) >> 24) == 127;
}

std::string UrlEncode(absl::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' ||
        c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(
          &out, "%",
          absl::AsciiStrToUpper(absl::BytesToHexString(
              absl::string_view(reinterpret_cast<const char*>(&c), 1))));
    }
  }
  return out;
}

std::string BasicAuthorization(const Credentials& c) {
  return absl::StrCat(
      "Basic ", absl::Base64Escape(absl::StrCat(c.username, ":", c.password)));
}

// What the registry said, and what to check, without any secret.
absl::Status StatusError(const RegistryEndpoint& ep, absl::string_view what,
                         int status, bool had_credentials) {
  const std::string head =
      absl::StrCat(status, " from ", ep.registry, " for ", what);
  switch (status) {
    case 401:
      return absl::UnauthenticatedError(
          had_credentials
              ? absl::StrCat(head, ": the credentials were refused")
              : absl::StrCat(
                    head,
                    ": no credentials configured for this registry (set "
                    "registries.\"",
                    ep.registry,
                    "\".username/password in the config, or log in with a "
                    "Docker config.json)"));
    case 403:
      return absl::PermissionDeniedError(
          absl::StrCat(head, ": access denied for these credentials"));
    case 404:
      return absl::NotFoundError(
          absl::StrCat(head, ": not found (check the image name and tag)"));
    case 429:
      return absl::UnavailableError(
          absl::StrCat(head, ": rate limited by the registry"));
    default:
      break;
  }
  if (status >= 500) {
    return absl::UnavailableError(absl::StrCat(head, ": registry error"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat(head, ": unexpected HTTP status"));
}

absl::Status TransportError(const RegistryEndpoint& ep,
                            const absl::Status& status) {
  std::string hint;
  if (absl::StrContains(status.message(), "TLS failed")) {
    hint =
        absl::StrCat("; if the registry uses a private CA, set registries.\"",
                     ep.registry, "\".ca in the config");
  } else if (status.code() == absl::StatusCode::kUnavailable ||
             status.code() == absl::StatusCode::kDeadlineExceeded) {
    hint = "; check the endpoint, the network and proxy settings";
  }
  return absl::Status(status.code(),
                      absl::StrCat("registry ", ep.registry, " (", ep.base_url,
                                   "): ", status.message(), hint));
}

struct Counters {
  int registry = 0;
  int token = 0;
};

// What a registry told us about how it wants to be authenticated.
struct AuthState {
  std::string scheme;  // "bearer" or "basic"
  std::string realm;
  std::string service;
};

struct CachedToken {
  std::string value;
  absl::Time expires;
};

class DistributionClient : public RegistryClient {
 public:
  DistributionClient(RegistryClientOptions options,
                     std::shared_ptr<HttpClient> http,
                     std::optional<DockerConfig> docker_config)
      : options_(std::move(options)),
        http_(std::move(http)),
        docker_config_(std::move(docker_config)),
        cache_(options_.cache_bytes) {}

  absl::StatusOr<Resolution> Resolve(const Reference& reference,
                                     const Credentials* credentials) override;
  absl::StatusOr<std::shared_ptr<const CachedDocument>> FetchByDigest(
      const Reference& reference, absl::string_view digest,
      const Credentials* credentials) override;
  absl::StatusOr<HttpResponse> SendToRepository(
      const std::string& registry, const std::string& repository,
      HttpRequest request, const std::vector<std::string>& scopes,
      const Credentials* credentials) override;

 private:
  Credentials CredentialsFor(const RegistryEndpoint& ep,
                             const Credentials* explicit_credentials) const;
  absl::StatusOr<Resolution> ResolveUncached(const Reference& reference,
                                             const Credentials& credentials);
  absl::StatusOr<std::shared_ptr<const CachedDocument>> FetchDocument(
      const RegistryEndpoint& ep, const Reference& reference,
      const std::string& digest, const Credentials& credentials,
      Counters* counters);

  // One request to the registry with the auth dance around it, for a pull
  // of `repository` (manifest Accept header) or, when `scopes` are given,
  // for those token scopes.
  absl::StatusOr<HttpResponse> Send(
      const RegistryEndpoint& ep, const std::string& repository,
      HttpRequest request, const Credentials& credentials, Counters* counters,
      const std::vector<std::string>& scopes = {});
  absl::StatusOr<std::string> Token(const RegistryEndpoint& ep,
                                    const AuthState& auth,
                                    const std::string& scope,
                                    const Credentials& credentials,
                                    bool refresh, Counters* counters);
  absl::StatusOr<HttpResponse> Exchange(const HttpRequest& request);
  // A turn among the manifest bodies fetched and parsed at once (each may
  // be as large as a request allows, and its parse costs as much again),
  // waited for up to the request timeout; give it back when the document
  // is stored or dropped.
  [[nodiscard]] absl::Status TakeBodyTurn(absl::string_view what);
  void GiveBackBodyTurn();
  // Parses a verified body and keeps it in the cache under `key`.
  absl::StatusOr<std::shared_ptr<const CachedDocument>> StoreDocument(
      const std::string& key, std::string digest, HttpResponse response,
      absl::string_view what);
  HttpRequest NewRequest(const RegistryEndpoint& ep, std::string method,
                         std::string url) const;

  const RegistryClientOptions options_;
  const std::shared_ptr<HttpClient> http_;
  const std::optional<DockerConfig> docker_config_;
  IndexCache cache_;

  absl::Mutex auth_mu_;
  // Keyed by what registries (and their challenges) choose: bounded.
  LruMap<AuthState> auth_by_registry_ ABSL_GUARDED_BY(auth_mu_){
      options_.auth_registries, options_.auth_registries * 4096};
  LruMap<CachedToken> tokens_ ABSL_GUARDED_BY(auth_mu_){
      options_.token_cache_entries, options_.token_cache_bytes};

  struct CachedTag {
    std::string digest;
    absl::Time expires;
  };
  absl::Mutex tags_mu_;
  absl::flat_hash_map<std::string, CachedTag> tags_ ABSL_GUARDED_BY(tags_mu_);

  SingleFlight<absl::StatusOr<Resolution>> flights_;

  absl::Mutex bodies_mu_;
  int bodies_in_flight_ ABSL_GUARDED_BY(bodies_mu_) = 0;
};

HttpRequest DistributionClient::NewRequest(const RegistryEndpoint& ep,
                                           std::string method,
                                           std::string url) const {
  HttpRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  request.connect_timeout = options_.connect_timeout;
  request.timeout = options_.request_timeout;
  request.ca_file = ep.ca_file;
  request.verify_tls = !ep.insecure;
  request.allow_internal_redirects = options_.allow_internal_redirects;
  return request;
}

absl::StatusOr<HttpResponse> DistributionClient::Exchange(
    const HttpRequest& request) {
  absl::StatusOr<HttpResponse> response = http_->Send(request);
  if (options_.on_upstream_response) {
    options_.on_upstream_response(response.ok() ? response->status : 0);
  }
  return response;
}

absl::Status DistributionClient::TakeBodyTurn(absl::string_view what) {
  absl::MutexLock lock(&bodies_mu_);
  auto turn = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(bodies_mu_) {
    return bodies_in_flight_ < options_.upstream_bodies;
  };
  if (!bodies_mu_.AwaitWithTimeout(absl::Condition(&turn),
                                   options_.request_timeout)) {
    ReportLimit("upstream_bodies");
    return absl::DeadlineExceededError(
        absl::StrCat(what, ": no turn among the manifest bodies in flight (",
                     options_.upstream_bodies, " at once)"));
  }
  ++bodies_in_flight_;
  return absl::OkStatus();
}

void DistributionClient::GiveBackBodyTurn() {
  absl::MutexLock lock(&bodies_mu_);
  --bodies_in_flight_;
}

Credentials DistributionClient::CredentialsFor(
    const RegistryEndpoint& ep, const Credentials* explicit_credentials) const {
  if (explicit_credentials != nullptr && !explicit_credentials->empty()) {
    return *explicit_credentials;
  }
  if (auto it = options_.registries.find(ep.registry);
      it != options_.registries.end()) {
    Credentials c;
    c.username = it->second.username;
    c.password = it->second.password;
    c.identity_token = it->second.identity_token;
    if (!c.empty()) return c;
  }
  if (docker_config_.has_value()) {
    if (std::optional<Credentials> c = docker_config_->Lookup(ep.registry)) {
      return *c;
    }
  }
  return Credentials();
}

absl::StatusOr<std::string> DistributionClient::Token(
    const RegistryEndpoint& ep, const AuthState& auth, const std::string& scope,
    const Credentials& credentials, bool refresh, Counters* counters) {
  if (!credentials.registry_token.empty()) return credentials.registry_token;
  const std::string key =
      absl::StrCat(ep.registry, "\n", scope, "\n", credentials.Fingerprint());
  if (!refresh) {
    absl::MutexLock lock(&auth_mu_);
    const CachedToken* cached = tokens_.Get(key);
    if (cached != nullptr && cached->expires > options_.clock->Now()) {
      return cached->value;
    }
  }

  // The realm decides where credentials go: it must be https, or on the
  // registry's own host, or the registry must be marked insecure.
  const std::string realm_host = UrlHost(auth.realm);
  const std::string realm_origin = UrlOrigin(auth.realm);
  if (realm_origin.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("registry ", ep.registry,
                     " sent an unusable token realm; refusing to fetch a "
                     "token"));
  }
  const bool https = absl::StartsWith(realm_origin, "https://");
  if (!https && !ep.insecure && realm_host != UrlHost(ep.base_url)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "registry ", ep.registry, " asks for a token from ", realm_origin,
        ", plain http on another host; refusing to send credentials there "
        "(mark the registry insecure in the config only if you trust that "
        "host)"));
  }

  HttpRequest request = NewRequest(ep, "GET", "");
  request.max_body_bytes = kMaxTokenResponseBytes;
  // Several scopes (a mount reads one repository and writes another) are
  // one scope parameter each.
  std::string query = absl::StrCat("service=", UrlEncode(auth.service));
  for (absl::string_view one : absl::StrSplit(scope, ' ', absl::SkipEmpty())) {
    absl::StrAppend(&query, "&scope=", UrlEncode(one));
  }
  if (!credentials.identity_token.empty()) {
    // An OAuth2 refresh token goes in a POST body, never in a URL.
    request.method = "POST";
    request.url = auth.realm;
    request.headers.emplace_back("Content-Type",
                                 "application/x-www-form-urlencoded");
    request.body =
        absl::StrCat("grant_type=refresh_token&client_id=nodefit&", query,
                     "&refresh_token=", UrlEncode(credentials.identity_token));
  } else {
    request.url = absl::StrCat(
        auth.realm, auth.realm.find('?') == std::string::npos ? "?" : "&",
        query);
    if (credentials.has_password()) {
      request.headers.emplace_back("Authorization",
                                   BasicAuthorization(credentials));
    }
  }
  ++counters->token;
  absl::StatusOr<HttpResponse> response = Exchange(request);
  if (!response.ok()) {
    return absl::Status(response.status().code(),
                        absl::StrCat("token server for ", ep.registry, ": ",
                                     response.status().message()));
  }
  if (response->status != 200) {
    const std::string head =
        absl::StrCat(response->status, " from the token server ", realm_host,
                     " of ", ep.registry, " for ", scope);
    if (response->status == 401) {
      return absl::UnauthenticatedError(absl::StrCat(
          head, credentials.empty()
                    ? ": anonymous access refused; configure credentials"
                    : ": the credentials were refused"));
    }
    if (response->status == 403) {
      return absl::PermissionDeniedError(absl::StrCat(head, ": access denied"));
    }
    return absl::UnavailableError(absl::StrCat(head, ": token request failed"));
  }
  // Parse without echoing the body: a malformed answer may hold a secret.
  absl::StatusOr<nlohmann::json> doc = ParseJson(response->body, "token");
  if (!doc.ok() || !doc->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "token response from ", realm_host, " is not a JSON object"));
  }
  std::string token;
  for (const char* field : {"token", "access_token"}) {
    auto it = doc->find(field);
    if (it != doc->end() && it->is_string() &&
        !it->get<std::string>().empty()) {
      token = it->get<std::string>();
      break;
    }
  }
  if (token.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("token response from ", realm_host,
                     " has neither \"token\" nor \"access_token\""));
  }
  absl::Duration lifetime = kDefaultTokenLifetime;
  if (auto it = doc->find("expires_in");
      it != doc->end() && it->is_number_integer() && it->get<int64_t>() > 60) {
    lifetime = absl::Seconds(it->get<int64_t>());
  }
  // Renew a little early so a token never expires in flight.
  const absl::Duration margin = std::min(lifetime / 10, absl::Seconds(10));
  absl::MutexLock lock(&auth_mu_);
  const uint64_t evicted = tokens_.evictions();
  tokens_.Put(key, {token, options_.clock->Now() + lifetime - margin},
              key.size() + token.size());
  if (tokens_.evictions() != evicted && options_.on_bound) {
    options_.on_bound("token_cache");
  }
  return token;
}

absl::StatusOr<HttpResponse> DistributionClient::Send(
    const RegistryEndpoint& ep, const std::string& repository,
    HttpRequest request, const Credentials& credentials, Counters* counters,
    const std::vector<std::string>& scopes) {
  const std::string scope =
      scopes.empty() ? absl::StrCat("repository:", repository, ":pull")
                     : absl::StrJoin(scopes, " ");
  if (scopes.empty()) {
    request.headers.emplace_back("Accept", std::string(kManifestAccept));
  }
  const size_t auth_header = request.headers.size();

  std::optional<AuthState> known;
  {
    absl::MutexLock lock(&auth_mu_);
    if (const AuthState* state = auth_by_registry_.Get(ep.registry)) {
      known = *state;
    }
  }
  bool sent_authorization = false;
  auto authorize = [&](const AuthState& auth,
                       bool refresh) -> absl::StatusOr<bool> {
    request.headers.resize(auth_header);
    if (auth.scheme == "bearer") {
      ASSIGN_OR_RETURN(std::string token,
                       Token(ep, auth, scope, credentials, refresh, counters));
      request.headers.emplace_back("Authorization",
                                   absl::StrCat("Bearer ", token));
      return true;
    }
    if (auth.scheme == "basic" && credentials.has_password()) {
      request.headers.emplace_back("Authorization",
                                   BasicAuthorization(credentials));
      return true;
    }
    return false;
  };
  if (known.has_value()) {
    ASSIGN_OR_RETURN(sent_authorization, authorize(*known, false));
  }

  for (int attempt = 0;; ++attempt) {
    ++counters->registry;
    absl::StatusOr<HttpResponse> response = Exchange(request);
    if (!response.ok()) return TransportError(ep, response.status());
    if (response->status != 401 || attempt == 1) return response;

    // Learn the challenge and retry once, with a fresh token.
    AuthState auth;
    for (const AuthChallenge& c : ParseWwwAuthenticate(
             response->Header("www-authenticate").value_or(""))) {
      if (c.scheme == "bearer" && c.params.count("realm") > 0) {
        auth = {"bearer", c.params.at("realm"),
                c.params.count("service") ? c.params.at("service") : ""};
        break;
      }
      if (c.scheme == "basic") auth = {"basic", "", ""};
    }
    if (auth.scheme.empty()) return response;
    {
      absl::MutexLock lock(&auth_mu_);
      const uint64_t evicted = auth_by_registry_.evictions();
      auth_by_registry_.Put(ep.registry, auth,
                            ep.registry.size() + auth.realm.size() +
                                auth.service.size() + auth.scheme.size());
      if (auth_by_registry_.evictions() != evicted && options_.on_bound) {
        options_.on_bound("auth_state");
      }
    }
    ASSIGN_OR_RETURN(bool authorized,
                     authorize(auth, /*refresh=*/sent_authorization));
    if (!authorized) return response;  // Basic challenge, no credentials
    sent_authorization = true;
  }
}

absl::StatusOr<std::shared_ptr<const CachedDocument>>
DistributionClient::FetchDocument(const RegistryEndpoint& ep,
                                  const Reference& reference,
                                  const std::string& digest,
                                  const Credentials& credentials,
                                  Counters* counters) {
  const std::string key = absl::StrCat(reference.Name(), "@", digest);
  if (std::shared_ptr<const CachedDocument> hit = cache_.Get(key)) return hit;
  RETURN_IF_ERROR(TakeBodyTurn(
      absl::StrCat(ep.registry, " ", reference.repository, "@", digest)));
  absl::Cleanup give_back = [this] { GiveBackBodyTurn(); };
  HttpRequest request =
      NewRequest(ep, "GET",
                 absl::StrCat(ep.base_url, "/v2/", reference.repository,
                              "/manifests/", digest));
  ASSIGN_OR_RETURN(HttpResponse response,
                   Send(ep, reference.repository, std::move(request),
                        credentials, counters));
  const std::string what =
      absl::StrCat("repository ", reference.repository, "@", digest);
  if (response.status != 200) {
    return StatusError(ep, what, response.status, !credentials.empty());
  }
  RETURN_IF_ERROR(
      VerifyDigest(response.body, digest,
                   absl::StrCat("manifest ", what, " from ", ep.registry)));
  return StoreDocument(key, digest, std::move(response),
                       absl::StrCat("manifest ", what, " from ", ep.registry));
}

absl::StatusOr<std::shared_ptr<const CachedDocument>>
DistributionClient::StoreDocument(const std::string& key, std::string digest,
                                  HttpResponse response,
                                  absl::string_view what) {
  auto doc = std::make_shared<CachedDocument>();
  doc->digest = std::move(digest);
  doc->media_type = response.Header("content-type").value_or("");
  absl::StatusOr<ParsedIndex> parsed =
      ParseIndex(response.body, doc->media_type);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", parsed.status().message()));
  }
  doc->parsed = *std::move(parsed);
  // The JSON tree takes about four times the body's size and nothing reads
  // it once the entries are extracted; the body itself is kept.
  doc->parsed.document = nlohmann::json();
  if (!doc->parsed.media_type.empty()) doc->media_type = doc->parsed.media_type;
  doc->body = std::move(response.body);
  cache_.Put(key, doc);
  return std::shared_ptr<const CachedDocument>(std::move(doc));
}

absl::StatusOr<Resolution> DistributionClient::ResolveUncached(
    const Reference& reference, const Credentials& credentials) {
  const RegistryEndpoint ep =
      EndpointFor(reference.registry, options_.registries);
  Resolution resolution;
  resolution.reference = reference;
  resolution.endpoint = ep.base_url;
  Counters counters;
  auto finish = [&](std::shared_ptr<const CachedDocument> doc, bool hit) {
    resolution.document = std::move(doc);
    resolution.cache_hit = hit;
    resolution.registry_requests = counters.registry;
    resolution.token_requests = counters.token;
    return resolution;
  };

  std::string digest = reference.digest;
  const std::string tag_key =
      absl::StrCat(reference.String(), "\n", credentials.Fingerprint());
  // The digest this tag had when last resolved, if its document is still
  // cached: then a HEAD (no body) tells whether the cached document is still
  // current. Without one a GET of the tag answers digest and document in one
  // exchange, where HEAD + GET by digest would take two.
  bool head_first = false;
  if (digest.empty()) {
    std::string last;
    {
      absl::MutexLock lock(&tags_mu_);
      auto it = tags_.find(tag_key);
      if (it != tags_.end()) {
        last = it->second.digest;
        if (it->second.expires > options_.clock->Now()) {
          digest = last;
          resolution.tag_cache_hit = true;
        }
      }
    }
    head_first = !last.empty() && digest.empty() &&
                 cache_.Get(absl::StrCat(reference.Name(), "@", last));
  }
  const std::string what =
      absl::StrCat("repository ", reference.repository, " tag ", reference.tag);
  const std::string tag_url = absl::StrCat(
      ep.base_url, "/v2/", reference.repository, "/manifests/", reference.tag);
  auto remember = [&](const std::string& tag_digest) {
    absl::MutexLock lock(&tags_mu_);
    if (tags_.size() > 10'000) tags_.clear();  // a bound, not an LRU
    tags_[tag_key] = {tag_digest, options_.clock->Now() + options_.tag_ttl};
  };
  // GET of the tag: the digest is computed from the body, and must equal
  // Docker-Content-Digest when the registry sends one.
  auto get_tag = [&]() -> absl::StatusOr<Resolution> {
    RETURN_IF_ERROR(TakeBodyTurn(absl::StrCat(ep.registry, " ", what)));
    absl::Cleanup give_back = [this] { GiveBackBodyTurn(); };
    ASSIGN_OR_RETURN(HttpResponse body, Send(ep, reference.repository,
                                             NewRequest(ep, "GET", tag_url),
                                             credentials, &counters));
    if (body.status != 200) {
      return StatusError(ep, what, body.status, !credentials.empty());
    }
    const std::string described =
        absl::StrCat("manifest for ", what, " from ", ep.registry);
    std::string computed;
    if (std::optional<std::string> sent = body.Header("docker-content-digest");
        sent && !sent->empty()) {
      RETURN_IF_ERROR(VerifyDigest(body.body, *sent, described));
      computed = *std::move(sent);  // verified: the body hashes to it
    } else {
      computed = Sha256Digest(body.body);
    }
    const std::string key = absl::StrCat(reference.Name(), "@", computed);
    ASSIGN_OR_RETURN(std::shared_ptr<const CachedDocument> doc,
                     StoreDocument(key, computed, std::move(body), described));
    remember(computed);
    return finish(std::move(doc), false);
  };
  if (digest.empty() && !head_first) return get_tag();
  if (digest.empty()) {
    ASSIGN_OR_RETURN(
        HttpResponse response,
        Send(ep, reference.repository, NewRequest(ep, "HEAD", tag_url),
             credentials, &counters));
    if (response.status != 200) {
      return StatusError(ep, what, response.status, !credentials.empty());
    }
    digest = response.Header("docker-content-digest").value_or("");
    if (digest.empty()) return get_tag();  // a registry that omits it
    if (absl::Status s = ValidateDigest(digest); !s.ok()) {
      return absl::Status(
          s.code(), absl::StrCat(ep.registry, " answered ", what,
                                 " with an unusable digest: ", s.message()));
    }
    remember(digest);
  }

  const std::string key = absl::StrCat(reference.Name(), "@", digest);
  if (std::shared_ptr<const CachedDocument> hit = cache_.Get(key)) {
    return finish(std::move(hit), true);
  }
  ASSIGN_OR_RETURN(
      std::shared_ptr<const CachedDocument> doc,
      FetchDocument(ep, reference, digest, credentials, &counters));
  return finish(std::move(doc), false);
}

absl::StatusOr<Resolution> DistributionClient::Resolve(
    const Reference& reference, const Credentials* credentials) {
  const RegistryEndpoint ep =
      EndpointFor(reference.registry, options_.registries);
  const Credentials effective = CredentialsFor(ep, credentials);
  const std::string key =
      absl::StrCat(reference.String(), "\n", effective.Fingerprint());

  bool joined = false;
  absl::StatusOr<Resolution> result = flights_.Do(
      key, [&] { return ResolveUncached(reference, effective); }, &joined);
  if (joined && result.ok()) {
    // The exchange was someone else's: this caller cost nothing upstream.
    result->shared = true;
    result->registry_requests = 0;
    result->token_requests = 0;
  }
  return result;
}

absl::StatusOr<std::shared_ptr<const CachedDocument>>
DistributionClient::FetchByDigest(const Reference& reference,
                                  absl::string_view digest,
                                  const Credentials* credentials) {
  RETURN_IF_ERROR(ValidateDigest(digest));
  const RegistryEndpoint ep =
      EndpointFor(reference.registry, options_.registries);
  Counters counters;
  return FetchDocument(ep, reference, std::string(digest),
                       CredentialsFor(ep, credentials), &counters);
}

std::string DefaultDockerConfigPath() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir) {
    return absl::StrCat(dir, "/config.json");
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return absl::StrCat(home, "/.docker/config.json");
  }
  return "";
}

}  // namespace

RegistryEndpoint EndpointFor(
    absl::string_view registry,
    const std::map<std::string, RegistryConfig>& registries) {
  RegistryEndpoint ep;
  ep.registry = std::string(registry);
  if (registry == "docker.io") {
    ep.base_url = "https://registry-1.docker.io";
  } else if (IsLoopbackRegistry(registry)) {
    ep.base_url = absl::StrCat("http://", registry);
  } else {
    ep.base_url = absl::StrCat("https://", registry);
  }
  if (auto it = registries.find(std::string(registry));
      it != registries.end()) {
    const RegistryConfig& c = it->second;
    if (!c.endpoint.empty()) {
      ep.base_url = c.endpoint;
      while (absl::EndsWith(ep.base_url, "/")) ep.base_url.pop_back();
    }
    ep.ca_file = c.ca;
    ep.insecure = c.insecure;
  }
  return ep;
}

RegistryClientOptions RegistryClientOptions::FromConfig(const Config& config) {
  RegistryClientOptions options;
  options.registries = config.registries;
  options.docker_config = config.docker_config;
  options.connect_timeout =
      absl::Milliseconds(config.upstream.connect_timeout_ms);
  options.request_timeout =
      absl::Milliseconds(config.upstream.request_timeout_ms);
  options.cache_bytes = config.upstream.index_cache_bytes;
  options.tag_ttl = absl::Milliseconds(config.upstream.tag_cache_ms);
  options.allow_internal_redirects = config.upstream.allow_internal_redirects;
  options.upstream_bodies = config.limits.upstream_bodies;
  options.token_cache_entries = config.limits.token_cache_entries;
  options.token_cache_bytes = config.limits.token_cache_bytes;
  options.auth_registries = config.limits.auth_registries;
  return options;
}

absl::StatusOr<HttpResponse> DistributionClient::SendToRepository(
    const std::string& registry, const std::string& repository,
    HttpRequest request, const std::vector<std::string>& scopes,
    const Credentials* credentials) {
  const RegistryEndpoint ep = EndpointFor(registry, options_.registries);
  HttpRequest prepared = NewRequest(ep, std::move(request.method),
                                    absl::StartsWith(request.url, "/")
                                        ? absl::StrCat(ep.base_url, request.url)
                                        : std::move(request.url));
  prepared.headers = std::move(request.headers);
  prepared.body = std::move(request.body);
  prepared.max_body_bytes = request.max_body_bytes;
  prepared.timeout = std::max(prepared.timeout, request.timeout);
  prepared.body_sink = std::move(request.body_sink);
  prepared.on_body_start = std::move(request.on_body_start);
  prepared.stall_timeout = request.stall_timeout;
  Counters counters;
  if (UrlOrigin(prepared.url) != UrlOrigin(ep.base_url)) {
    // Blob storage the registry sent us to: no credentials go there.
    absl::StatusOr<HttpResponse> response = Exchange(prepared);
    if (!response.ok()) return TransportError(ep, response.status());
    return response;
  }
  return Send(ep, repository, std::move(prepared),
              CredentialsFor(ep, credentials), &counters,
              scopes.empty() ? std::vector<std::string>{absl::StrCat(
                                   "repository:", repository, ":pull")}
                             : scopes);
}

absl::Status RegistryStatusError(absl::string_view registry,
                                 absl::string_view what, int status,
                                 bool had_credentials) {
  RegistryEndpoint ep;
  ep.registry = std::string(registry);
  return StatusError(ep, what, status, had_credentials);
}

absl::StatusOr<std::unique_ptr<RegistryClient>> NewRegistryClient(
    RegistryClientOptions options, std::shared_ptr<HttpClient> http) {
  if (options.anonymous) {
    for (auto& [host, registry] : options.registries) {
      registry.username.clear();
      registry.password.clear();
      registry.identity_token.clear();
    }
  }
  const bool explicit_path = !options.docker_config.empty();
  const std::string path = options.anonymous ? ""
                           : explicit_path   ? options.docker_config
                                             : DefaultDockerConfigPath();
  std::optional<DockerConfig> docker_config;
  if (!path.empty()) {
    absl::StatusOr<DockerConfig> loaded = DockerConfig::Load(path);
    if (loaded.ok()) {
      docker_config = *std::move(loaded);
    } else if (explicit_path ||
               loaded.status().code() != absl::StatusCode::kNotFound) {
      return loaded.status();
    }
  }
  return std::unique_ptr<RegistryClient>(new DistributionClient(
      std::move(options), std::move(http), std::move(docker_config)));
}

}  // namespace nodefit
