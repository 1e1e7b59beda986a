// The resolver face's requests: any bytes sent over a connection to the
// face and to its health listener, as containerd (or anyone who reaches
// the port) would send them. This covers plugin/net's request-head parse
// (request line, headers, pipelining, the bounds) and the face's routing
// (path, query, ns, repository, tag or digest) down to resolution against
// the in-memory registry. Checked: the connection is answered and closed
// (no hang), every answer is HTTP/1.1, and none holds the configured
// registry password.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "fuzz/fake_upstream.h"
#include "fuzz/loopback.h"
#include "plugin/faces/http_face.h"

namespace {

struct World {
  nodefit::fuzz::FakeUpstream upstream{/*bearer=*/true};
  nodefit::Metrics metrics;
  nodefit::Logger logger{nodefit::LogFormat::kJson, nodefit::LogLevel::kDebug,
                         [](const std::string&) {}};
  nodefit::EngineSlot engines;
  std::unique_ptr<nodefit::HttpFace> face;
  World() {
    engines.Set(nodefit::fuzz::NewEngine(upstream.Client(), &metrics));
    nodefit::HttpFaceOptions options;
    options.listen = "127.0.0.1:0";
    options.health_listen = "127.0.0.1:0";
    options.limits.workers = 2;
    absl::StatusOr<std::unique_ptr<nodefit::HttpFace>> started =
        nodefit::HttpFace::Start(options, &engines, &metrics, &logger);
    NODEFIT_FUZZ_CHECK(started.ok());
    face = *std::move(started);
    face->set_ready(true);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  for (int port : {world->face->port(), world->face->health_port()}) {
    const std::string answer = nodefit::fuzz::Exchange(port, bytes);
    NODEFIT_FUZZ_CHECK(answer.empty() || absl::StartsWith(answer, "HTTP/1.1 "));
    NODEFIT_FUZZ_CHECK(!nodefit::fuzz::LeaksPassword(bytes, answer));
  }
  return 0;
}
