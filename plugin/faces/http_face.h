// The resolver face: an HTTP/1.1 registry host that containerd is pointed at
// through hosts.toml ([host."https://127.0.0.1:505"] with ca and client,
// capabilities = ["pull", "resolve"]), so every containerd client gets the
// best build. Served with mutual TLS: only a client holding the node's
// client certificate (containerd) gets an answer.
//
// Routes:
//   GET /v2/                         200 {}
//   HEAD|GET /v2/<repo>/manifests/<tag>?ns=<registry>
//        selected:    200 with the chosen manifest's Content-Type,
//                     Docker-Content-Digest and Content-Length (GET: bytes)
//        passthrough: 200 with the upstream descriptor, unchanged
//        no match (policy fail): 200 with an empty index served under its
//                     own digest, which containerd rejects ("no match for
//                     platform"); the reason is logged and counted
//        any failure inside nodefit: 404, so containerd goes upstream itself
//   HEAD|GET /v2/<repo>/manifests/<digest>
//        that empty index: 200 with its bytes; anything else: 404 at once
//   blobs, other methods, anything else: 404 (405 for writes) with a
//        distribution-spec JSON error body
//   missing or invalid ns, bad repository, tag or digest: 400
// /healthz, /readyz and /metrics are served on a separate plain listener
// (health_listen) that reveals nothing private and that a flood of
// connections to the face cannot block. Both run on plugin/net's bounded
// server.
#ifndef NODEFIT_PLUGIN_FACES_HTTP_FACE_H_
#define NODEFIT_PLUGIN_FACES_HTTP_FACE_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "plugin/daemon/bypass.h"
#include "plugin/daemon/engine.h"
#include "plugin/daemon/log.h"
#include "plugin/daemon/metrics.h"
#include "plugin/faces/registry_answers.h"
#include "plugin/net/http_server.h"

namespace nodefit {

struct HttpFaceOptions {
  std::string listen = "127.0.0.1:505";  // host:port; port 0 picks one
  std::string health_listen = "127.0.0.1:5055";
  // Mutual TLS on `listen`; unset only in the insecure plain-http mode.
  std::optional<TlsServerOptions> tls;
  // The face's bounds (connections, workers, headers, deadline); listen is
  // taken from above.
  HttpServerOptions limits;
  // Total bytes of the empty indexes kept for "no build fits".
  size_t no_match_bytes = 1 << 20;
  // Told about every tag the face is asked to resolve (may be null; must
  // outlive the face).
  BypassDetector* bypass = nullptr;
};

class HttpFace {
 public:
  // `engines`, `metrics` and `logger` must outlive the face.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpFace>> Start(
      const HttpFaceOptions& options, const EngineSlot* engines,
      Metrics* metrics, Logger* logger);
  ~HttpFace();
  HttpFace(const HttpFace&) = delete;
  HttpFace& operator=(const HttpFace&) = delete;

  int port() const { return face_->port(); }
  int health_port() const { return health_->port(); }
  // /readyz answers 200 only once the daemon says every face is up.
  void set_ready(bool ready) { ready_ = ready; }
  // Reads the TLS certificate and key again (SIGHUP after a rotation).
  [[nodiscard]] absl::Status ReloadTls() { return face_->ReloadTls(); }
  // Stops accepting and waits for requests in flight.
  void Stop();

 private:
  HttpFace(const EngineSlot* engines, Metrics* metrics, Logger* logger,
           BypassDetector* bypass, size_t no_match_bytes);
  void Serve(const ServerRequest& req, ServerResponse& res);
  void ServeHealth(const ServerRequest& req, ServerResponse& res);
  void HandleTag(const ServerRequest& req, ServerResponse& res,
                 const std::string& repository, const std::string& tag);

  const EngineSlot* const engines_;
  Metrics* const metrics_;
  Logger* const logger_;
  BypassDetector* const bypass_;
  std::unique_ptr<NoMatchStore> no_match_;
  std::atomic<bool> ready_{false};
  // Last: they call the handlers above until stopped.
  std::unique_ptr<HttpServer> health_;
  std::unique_ptr<HttpServer> face_;
};

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_FACES_HTTP_FACE_H_
