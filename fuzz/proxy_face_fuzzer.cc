// The proxy face's requests: any bytes sent over a connection to a proxy
// face in local mode and to one in central mode, as any client that
// reaches the port would send them. Covers plugin/net's request-head parse,
// the proxy's routing (ParseProxyPath, UpstreamFor), its login (Basic
// parse, crypt(3) check, token issue) and token check (Bearer parse, MAC,
// expiry, scopes), down to resolution against the in-memory registry.
// Checked: the connection is answered and closed (no hang), every answer
// is HTTP/1.1, and none holds the registry's password or the login's.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "fuzz/fake_upstream.h"
#include "fuzz/loopback.h"
#include "plugin/faces/proxy_face.h"

namespace {

// The central mode's one login; its hash has bcrypt's lowest cost, so a
// fuzzed login costs a millisecond, not a quarter second.
constexpr char kLogin[] = "fuzz-login";
constexpr char kLoginPassword[] = "fuzz-login-pass";
constexpr char kLoginHash[] =
    "$2b$04$VKbeXEqZ4swcsD8Z/BEouOCIZOm/cTP0B1qXujCWz44E.nKnpBFTK";

struct Proxy {
  nodefit::EngineSlot engines;
  std::unique_ptr<nodefit::ProxyFace> face;
};

struct World {
  nodefit::fuzz::FakeUpstream upstream{/*bearer=*/true};
  nodefit::Metrics metrics;
  nodefit::Logger logger{nodefit::LogFormat::kJson, nodefit::LogLevel::kDebug,
                         [](const std::string&) {}};
  Proxy local, central;
  World() {
    for (Proxy* proxy : {&local, &central}) {
      const bool logins = proxy == &central;
      proxy->engines.Set(nodefit::fuzz::NewEngine(
          upstream.Client(), &metrics, [logins](nodefit::Config& config) {
            config.proxy.listen = "127.0.0.1:0";
            config.proxy.default_registry = "reg.example";
            config.proxy.prefixes["reg"] = "reg.example";
            config.proxy.upstream_credentials = true;
            if (logins) {
              config.proxy.profiles[kLogin].password_hash = kLoginHash;
              config.proxy.profiles[kLogin].features = {"skylake-avx512"};
            }
          }));
      nodefit::ProxyFaceOptions options;
      options.listen = "127.0.0.1:0";
      options.limits.workers = 2;
      absl::StatusOr<std::unique_ptr<nodefit::ProxyFace>> started =
          nodefit::ProxyFace::Start(options, &proxy->engines, &metrics,
                                    &logger);
      NODEFIT_FUZZ_CHECK(started.ok());
      proxy->face = *std::move(started);
    }
  }
};

bool LeaksLoginPassword(absl::string_view input, absl::string_view output) {
  return !absl::StrContains(input, kLoginPassword) &&
         absl::StrContains(output, kLoginPassword);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  for (const Proxy* proxy : {&world->local, &world->central}) {
    const std::string answer =
        nodefit::fuzz::Exchange(proxy->face->port(), bytes);
    NODEFIT_FUZZ_CHECK(answer.empty() || absl::StartsWith(answer, "HTTP/1.1 "));
    NODEFIT_FUZZ_CHECK(!nodefit::fuzz::LeaksPassword(bytes, answer));
    NODEFIT_FUZZ_CHECK(!LeaksLoginPassword(bytes, answer));
  }
  return 0;
}
