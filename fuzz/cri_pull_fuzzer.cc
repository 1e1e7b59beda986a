// The CRI face's PullImage: PullHandler::Handle on any request bytes (the
// decode of PullImageRequest, the image name and the AuthConfig fields,
// then resolution, selection and the rewritten request), with the
// registry and containerd in memory. Checked: only a malformed name or "no
// build fits" fails the call; a rewritten pull names a build of the index
// by digest and keeps every other byte of the caller's request (auth,
// sandbox config as unknown fields); no answer holds the configured
// registry password.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cri/runtime/v1/api.pb.h"
#include "fuzz/fake_upstream.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "plugin/daemon/log.h"
#include "plugin/daemon/metrics.h"
#include "plugin/faces/cri_pull.h"

namespace {

constexpr char kImageRef[] = "sha256:fuzz-image-ref";

// containerd, answering every call at once. Single-threaded: the fuzzer
// calls Handle from its one thread.
class FakeContainerd : public nodefit::ContainerdClient {
 public:
  nodefit::UnaryResult Forward(const std::string& method,
                               const std::string& request,
                               const nodefit::CallOptions&) override {
    NODEFIT_FUZZ_CHECK(method == nodefit::kPullImageMethod);
    forwarded = request;
    runtime::v1::PullImageResponse response;
    response.set_image_ref(kImageRef);
    return {grpc::Status::OK, response.SerializeAsString(), {}, {}};
  }
  absl::Status PutImage(const std::string&, const std::string& name,
                        const nodefit::Descriptor&,
                        const std::map<std::string, std::string>&,
                        std::chrono::system_clock::time_point) override {
    put_name = name;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> CriImageId(
      const std::string&, std::chrono::system_clock::time_point) override {
    return std::string(kImageRef);
  }
  absl::Status Ping(std::chrono::system_clock::time_point) override {
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Version(
      std::chrono::system_clock::time_point) override {
    return std::string("2.2.0");
  }

  std::string forwarded;
  std::string put_name;
};

struct World {
  nodefit::fuzz::FakeUpstream upstream{/*bearer=*/true};
  nodefit::Metrics metrics;
  // Debug: every log line is formatted (hostile names included), then
  // dropped.
  nodefit::Logger logger{nodefit::LogFormat::kJson, nodefit::LogLevel::kDebug,
                         [](const std::string&) {}};
  nodefit::EngineSlot engines;
  FakeContainerd containerd;
  nodefit::PullHandler handler{&engines, &containerd, &metrics, &logger};
  World() {
    // Invalid UTF-8 in a string field is a parse failure the handler
    // reports itself; protobuf's own log line for it is noise here.
    google::protobuf::SetLogHandler([](google::protobuf::LogLevel, const char*,
                                       int, const std::string&) {});
    engines.Set(nodefit::fuzz::NewEngine(upstream.Client(), &metrics));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World* world = new World();
  const std::string request(reinterpret_cast<const char*>(data), size);
  world->containerd.forwarded.clear();
  nodefit::CallOptions options;
  options.deadline = std::chrono::system_clock::now() + std::chrono::seconds(5);
  const nodefit::PullAction action = world->handler.Handle(request, options);

  switch (action.kind) {
    case nodefit::PullAction::Kind::kForwardOriginal:
      break;
    case nodefit::PullAction::Kind::kFail:
      NODEFIT_FUZZ_CHECK(
          action.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
          action.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
      NODEFIT_FUZZ_CHECK(!nodefit::fuzz::LeaksPassword(
          request, action.status.error_message()));
      break;
    case nodefit::PullAction::Kind::kRespond: {
      runtime::v1::PullImageRequest original;
      NODEFIT_FUZZ_CHECK(original.ParseFromString(request));
      runtime::v1::PullImageRequest forwarded;
      NODEFIT_FUZZ_CHECK(
          forwarded.ParseFromString(world->containerd.forwarded));
      const absl::StatusOr<nodefit::Reference> asked =
          nodefit::ParseReference(original.image().image());
      NODEFIT_FUZZ_CHECK(asked.ok());
      const std::string& image = forwarded.image().image();
      const size_t at = image.rfind('@');
      NODEFIT_FUZZ_CHECK(at != std::string::npos);
      NODEFIT_FUZZ_CHECK(image.substr(0, at) == asked->Name());
      NODEFIT_FUZZ_CHECK(world->upstream.IsManifest(image.substr(at + 1)));
      NODEFIT_FUZZ_CHECK(world->containerd.put_name ==
                         nodefit::CriImageName(*asked));
      // Everything but the image name went to containerd as the caller
      // sent it.
      forwarded.mutable_image()->set_image(original.image().image());
      NODEFIT_FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(
          forwarded, original));
      runtime::v1::PullImageResponse response;
      NODEFIT_FUZZ_CHECK(response.ParseFromString(action.response));
      NODEFIT_FUZZ_CHECK(response.image_ref() == kImageRef);
      break;
    }
  }
  return 0;
}
