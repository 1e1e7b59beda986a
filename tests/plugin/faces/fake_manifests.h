// The documents the HTTP faces' unit tests serve from their scripted
// registry: manifests by digest, tags, and a three-build index (generic,
// skylake, skylake-avx512 builds, generic first).
#ifndef NODEFIT_TESTS_PLUGIN_FACES_FAKE_MANIFESTS_H_
#define NODEFIT_TESTS_PLUGIN_FACES_FAKE_MANIFESTS_H_

#include <map>
#include <string>

#include "nlohmann/json.hpp"
#include "resolver/registry/digest.h"
#include "resolver/registry/http_client.h"

namespace nodefit::testing {

inline constexpr char kManifestType[] =
    "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kIndexType[] = "application/vnd.oci.image.index.v1+json";

struct FakeManifests {
  std::map<std::string, std::string> tags;    // tag -> digest
  std::map<std::string, std::string> bodies;  // digest -> body
  std::map<std::string, std::string> types;   // digest -> media type

  // Stores `body`; returns its digest.
  std::string Add(const std::string& body, const std::string& type) {
    std::string digest = Sha256Digest(body);
    bodies[digest] = body;
    types[digest] = type;
    return digest;
  }

  // The builds "generic", "skylake" and "avx512" (an image manifest each)
  // and, under `tag`, an index of them with features none, skylake and
  // skylake-avx512; returns build -> manifest digest.
  std::map<std::string, std::string> AddThreeBuilds(const std::string& tag) {
    std::map<std::string, std::string> manifests;
    for (const char* build : {"generic", "skylake", "avx512"}) {
      manifests[build] = Add(nlohmann::json{{"schemaVersion", 2},
                                            {"mediaType", kManifestType},
                                            {"config",
                                             {{"mediaType", "x"},
                                              {"digest", Sha256Digest(build)},
                                              {"size", 1}}},
                                            {"layers", nlohmann::json::array()}}
                                 .dump(),
                             kManifestType);
    }
    tags[tag] =
        Add(nlohmann::json{{"schemaVersion", 2},
                           {"mediaType", kIndexType},
                           {"manifests",
                            {Entry(manifests["generic"], {}),
                             Entry(manifests["skylake"], {"skylake"}),
                             Entry(manifests["avx512"], {"skylake-avx512"})}}}
                .dump(),
            kIndexType);
    return manifests;
  }

  // An index entry for manifest `digest` (linux/amd64, `features`).
  nlohmann::json Entry(const std::string& digest,
                       const nlohmann::json& features) {
    nlohmann::json platform = {{"os", "linux"}, {"architecture", "amd64"}};
    if (!features.empty()) platform["features"] = features;
    return nlohmann::json{{"mediaType", kManifestType},
                          {"digest", digest},
                          {"size", bodies[digest].size()},
                          {"platform", platform}};
  }

  // The answer to a manifest request for `reference` (tag or digest):
  // 200 with the document (its bytes for GET), or 404.
  HttpResponse Answer(const std::string& reference, const std::string& method) {
    HttpResponse res;
    const std::string digest =
        tags.count(reference) > 0 ? tags[reference] : reference;
    if (bodies.count(digest) == 0) {
      res.status = 404;
      return res;
    }
    res.status = 200;
    res.headers = {{"content-type", types[digest]},
                   {"docker-content-digest", digest},
                   {"content-length", std::to_string(bodies[digest].size())}};
    if (method == "GET") res.body = bodies[digest];
    return res;
  }
};

}  // namespace nodefit::testing

#endif  // NODEFIT_TESTS_PLUGIN_FACES_FAKE_MANIFESTS_H_
