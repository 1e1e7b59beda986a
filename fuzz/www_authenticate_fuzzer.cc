// WWW-Authenticate challenges: ParseWwwAuthenticate on any header value,
// then the same value as a registry's 401 answer to the registry client,
// whose realm checks decide where the configured credentials go. Checked:
// the parse's own promises (lower-cased schemes and keys), and that Basic
// credentials reach only https or the registry's own host.
#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "fuzz/fake_upstream.h"
#include "resolver/registry/credentials.h"
#include "resolver/registry/registry_client.h"

namespace {

// Scheme and host of `url` as libcurl, the real transport, reads it (with
// the flags it uses for CURLOPT_URL); false when it would refuse it.
bool CurlView(const std::string& url, std::string* scheme, std::string* host) {
  CURLU* handle = curl_url();
  bool ok =
      curl_url_set(handle, CURLUPART_URL, url.c_str(),
                   CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK;
  for (auto [part, out] :
       {std::pair{CURLUPART_SCHEME, scheme}, std::pair{CURLUPART_HOST, host}}) {
    char* text = nullptr;
    ok = ok && curl_url_get(handle, part, &text, 0) == CURLUE_OK;
    if (ok) *out = absl::AsciiStrToLower(text);
    curl_free(text);
  }
  curl_url_cleanup(handle);
  return ok;
}

void CheckCredentialsStayHome(const nodefit::HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if (!absl::EqualsIgnoreCase(name, "authorization") ||
        !absl::StartsWith(value, "Basic ")) {
      continue;
    }
    // The registry is https://reg.example: credentials go over https, or
    // to its own host.
    std::string scheme, host;
    if (!CurlView(request.url, &scheme, &host)) continue;
    NODEFIT_FUZZ_CHECK(scheme == "https" || host == "reg.example");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string header(reinterpret_cast<const char*>(data), size);
  for (const nodefit::AuthChallenge& c :
       nodefit::ParseWwwAuthenticate(header)) {
    NODEFIT_FUZZ_CHECK(!c.scheme.empty());
    NODEFIT_FUZZ_CHECK(c.scheme == absl::AsciiStrToLower(c.scheme));
    for (const auto& [key, value] : c.params) {
      NODEFIT_FUZZ_CHECK(key == absl::AsciiStrToLower(key));
    }
  }

  static nodefit::fuzz::FakeUpstream* upstream = [] {
    auto* u = new nodefit::fuzz::FakeUpstream(/*bearer=*/true);
    u->observe = CheckCredentialsStayHome;
    setenv("DOCKER_CONFIG", "/nonexistent/nodefit-fuzz", 1);
    return u;
  }();
  upstream->challenge = header;
  // A fresh client per input: the challenge it learns is remembered per
  // registry.
  nodefit::RegistryClientOptions options;
  options.registries["reg.example"].username = nodefit::fuzz::kRegistryUser;
  options.registries["reg.example"].password = nodefit::fuzz::kRegistryPassword;
  absl::StatusOr<std::unique_ptr<nodefit::RegistryClient>> client =
      nodefit::NewRegistryClient(options, upstream->Client());
  NODEFIT_FUZZ_CHECK(client.ok());
  const nodefit::Reference ref = *nodefit::ParseReference("reg.example/cv/tf");
  const absl::StatusOr<nodefit::Resolution> resolution =
      (*client)->Resolve(ref, nullptr);
  if (!resolution.ok()) {
    NODEFIT_FUZZ_CHECK(
        !nodefit::fuzz::LeaksPassword(header, resolution.status().message()));
  }
  return 0;
}
