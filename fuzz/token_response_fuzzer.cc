// Token responses: any body from the token server, through the registry
// client's parse of it (DistributionClient::Token, reached by Resolve
// against a registry that asks for a Bearer token). Checked against the
// documented rule: a JSON object with a non-empty string "token" or
// "access_token" is a token, and the next request carries exactly it;
// anything else fails the resolution with InvalidArgument, without
// echoing the body or the configured password.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fuzz/fake_upstream.h"
#include "resolver/base/json_util.h"
#include "resolver/registry/registry_client.h"

namespace {

// The token the documented rule finds in `body`, or "".
std::string ExpectedToken(const std::string& body) {
  const absl::StatusOr<nlohmann::json> doc = nodefit::ParseJson(body, "oracle");
  if (!doc.ok() || !doc->is_object()) return "";
  for (const char* field : {"token", "access_token"}) {
    auto it = doc->find(field);
    if (it != doc->end() && it->is_string() &&
        !it->get<std::string>().empty()) {
      return it->get<std::string>();
    }
  }
  return "";
}

constexpr char kCanary[] = "canary-5e3f";

std::string* sent_bearer = nullptr;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static nodefit::fuzz::FakeUpstream* upstream = [] {
    sent_bearer = new std::string();
    auto* u = new nodefit::fuzz::FakeUpstream(/*bearer=*/true);
    u->observe = [](const nodefit::HttpRequest& request) {
      for (const auto& [name, value] : request.headers) {
        if (name == "Authorization" && absl::StartsWith(value, "Bearer ")) {
          *sent_bearer = value.substr(7);
        }
      }
    };
    setenv("DOCKER_CONFIG", "/nonexistent/nodefit-fuzz", 1);
    return u;
  }();
  upstream->token_body.assign(reinterpret_cast<const char*>(data), size);
  sent_bearer->clear();

  nodefit::RegistryClientOptions options;
  options.registries["reg.example"].username = nodefit::fuzz::kRegistryUser;
  options.registries["reg.example"].password = nodefit::fuzz::kRegistryPassword;
  absl::StatusOr<std::unique_ptr<nodefit::RegistryClient>> client =
      nodefit::NewRegistryClient(options, upstream->Client());
  NODEFIT_FUZZ_CHECK(client.ok());
  const nodefit::Reference ref = *nodefit::ParseReference("reg.example/cv/tf");
  const absl::StatusOr<nodefit::Resolution> resolution =
      (*client)->Resolve(ref, nullptr);

  const std::string expected = ExpectedToken(upstream->token_body);
  if (expected.empty()) {
    NODEFIT_FUZZ_CHECK(!resolution.ok());
    NODEFIT_FUZZ_CHECK(resolution.status().code() ==
                       absl::StatusCode::kInvalidArgument);
    NODEFIT_FUZZ_CHECK(sent_bearer->empty());
    // The seeds carry kCanary where a secret would be in a malformed
    // answer; the message must not repeat it.
    if (absl::StrContains(upstream->token_body, kCanary)) {
      NODEFIT_FUZZ_CHECK(
          !absl::StrContains(resolution.status().message(), kCanary));
    }
  } else {
    NODEFIT_FUZZ_CHECK(resolution.ok());
    NODEFIT_FUZZ_CHECK(*sent_bearer == expected);
    NODEFIT_FUZZ_CHECK(resolution->token_requests == 1);
  }
  if (!resolution.ok()) {
    NODEFIT_FUZZ_CHECK(!absl::StrContains(resolution.status().message(),
                                          nodefit::fuzz::kRegistryPassword));
  }
  return 0;
}
