// The resolver face: an HTTP/1.1 registry host that containerd is pointed at
// through hosts.toml ([host."http://127.0.0.1:5055"] capabilities = ["pull",
// "resolve"]), so every containerd client gets the best build.
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
//   /metrics (Prometheus text), /healthz, /readyz
// Listens where told (loopback by default), keep-alive on, a bounded worker
// pool, request bodies refused.
#ifndef NODEFIT_PLUGIN_FACES_HTTP_FACE_H_
#define NODEFIT_PLUGIN_FACES_HTTP_FACE_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "plugin/daemon/bypass.h"
#include "plugin/daemon/engine.h"
#include "plugin/daemon/log.h"
#include "plugin/daemon/metrics.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace nodefit {

struct HttpFaceOptions {
  std::string listen = "127.0.0.1:5055";  // host:port; port 0 picks one
  int threads = 8;
  // Told about every tag the face is asked to resolve (may be null; must
  // outlive the face).
  BypassDetector* bypass = nullptr;
};

class NoMatchStore;

class HttpFace {
 public:
  // `engines`, `metrics` and `logger` must outlive the face.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpFace>> Start(
      const HttpFaceOptions& options, const EngineSlot* engines,
      Metrics* metrics, Logger* logger);
  ~HttpFace();
  HttpFace(const HttpFace&) = delete;
  HttpFace& operator=(const HttpFace&) = delete;

  int port() const { return port_; }
  // /readyz answers 200 only once the daemon says every face is up.
  void set_ready(bool ready) { ready_ = ready; }
  // Stops accepting and waits for requests in flight.
  void Stop();

 private:
  HttpFace(const EngineSlot* engines, Metrics* metrics, Logger* logger,
           BypassDetector* bypass);
  void Install();
  void HandleTag(const httplib::Request& req, httplib::Response& res,
                 const std::string& repository, const std::string& tag);

  const EngineSlot* const engines_;
  Metrics* const metrics_;
  Logger* const logger_;
  BypassDetector* const bypass_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<NoMatchStore> no_match_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> ready_{false};
};

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_FACES_HTTP_FACE_H_
