// The proxy face: a pull-through registry endpoint that any client speaking
// the distribution API can use (Docker, Podman, skopeo, CRI-O, Apptainer),
// as a registries.conf mirror, a Docker registry-mirror or a name of its
// own ("<proxy>/qnib/cv-tf"). Off unless proxy.listen is set; docs/proxy.md.
//
// Such clients take the manifest and the blobs from the same endpoint, and
// restart from the next one on any failure, so this face is a whole
// registry (read-only):
//   GET  /v2/                          200 {} (central mode: 401 + challenge
//                                      without a valid token)
//   GET  /token?service&scope          central mode: Basic login -> token
//   HEAD|GET /v2/<name>/manifests/<tag>
//        the build the engine chose for the client's profile, served under
//        the tag (its own digest and media type); passthrough documents
//        unchanged; no build fits: an empty index clients refuse
//   HEAD|GET /v2/<name>/manifests/<digest>   passthrough, verified
//   HEAD|GET /v2/<name>/blobs/<digest>       streamed from upstream (Range
//        relayed, redirects to blob storage followed by nodefit, bounded
//        buffer, a whole blob verified before its last byte)
//   GET  /v2/<name>/tags/list, /v2/<name>/referrers/<digest>  passthrough
//   writes: 405; anything else: 404; distribution-spec error bodies.
// Whose profile: the node's (local mode), or in central mode the login's
// (proxy.profiles), from the bearer token the proxy issued; a token of a
// login no longer configured is refused, never served another profile.
// Upstream reads are anonymous unless proxy.upstream_credentials; the
// client's credentials are never sent upstream. No selection logic here:
// Decide() chooses.
#ifndef NODEFIT_PLUGIN_FACES_PROXY_FACE_H_
#define NODEFIT_PLUGIN_FACES_PROXY_FACE_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "plugin/daemon/engine.h"
#include "plugin/daemon/log.h"
#include "plugin/daemon/metrics.h"
#include "plugin/faces/proxy_auth.h"
#include "plugin/faces/registry_answers.h"
#include "plugin/net/http_server.h"
#include "resolver/registry/blob_stream.h"

namespace nodefit {

struct ProxyFaceOptions {
  std::string listen;  // host:port; port 0 picks one
  // Server TLS (no client certificate asked); unset: plain http, which the
  // config allows on loopback only.
  std::optional<TlsServerOptions> tls;
  HttpServerOptions limits;  // listen and tls are taken from above
  BlobStreamOptions blobs;
  absl::Duration token_ttl = absl::Minutes(5);
  size_t no_match_bytes = 1 << 20;
};

class ProxyFace {
 public:
  // `engines`, `metrics` and `logger` must outlive the face. Central mode is
  // on while the engine's config has proxy.profiles.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ProxyFace>> Start(
      const ProxyFaceOptions& options, const EngineSlot* engines,
      Metrics* metrics, Logger* logger);
  ~ProxyFace();
  ProxyFace(const ProxyFace&) = delete;
  ProxyFace& operator=(const ProxyFace&) = delete;

  int port() const { return server_->port(); }
  [[nodiscard]] absl::Status ReloadTls() { return server_->ReloadTls(); }
  void Stop();

 private:
  struct Client;  // who asks, and for which profile

  ProxyFace(const ProxyFaceOptions& options, const EngineSlot* engines,
            Metrics* metrics, Logger* logger,
            std::unique_ptr<TokenIssuer> tokens);
  void Serve(const ServerRequest& req, ServerResponse& res);
  void ServeToken(const ServerRequest& req, ServerResponse& res,
                  const Engine& engine);
  // Central mode: the login behind the request's token, or a 401 answered.
  bool Authorize(const ServerRequest& req, ServerResponse& res,
                 const Engine& engine, const std::string& name, Client* client);
  void ServeManifest(const ServerRequest& req, ServerResponse& res,
                     const Engine& engine, const Client& client,
                     const Reference& upstream, const std::string& reference);
  void ServeBlob(const ServerRequest& req, ServerResponse& res,
                 const Engine& engine, const Reference& upstream,
                 const std::string& digest);
  void ServeListing(const ServerRequest& req, ServerResponse& res,
                    const Engine& engine, const Reference& upstream,
                    const std::string& name, const std::string& path);
  // An upstream failure, answered so a mirror client moves on.
  void UpstreamFailed(ServerResponse& res, const absl::Status& status,
                      absl::string_view what);

  const ProxyFaceOptions options_;
  const EngineSlot* const engines_;
  Metrics* const metrics_;
  Logger* const logger_;
  const std::unique_ptr<TokenIssuer> tokens_;
  NoMatchStore no_match_;
  std::unique_ptr<HttpServer> server_;  // last: calls the handlers above
};

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_FACES_PROXY_FACE_H_
