#include "plugin/faces/cri_pull.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cri/runtime/v1/api.pb.h"
#include "resolver/decide/decide.h"
#include "resolver/registry/digest.h"
#include "resolver/select/report.h"

namespace nodefit {
namespace {

constexpr absl::string_view kFace = "cri";

std::chrono::system_clock::time_point Earlier(
    std::chrono::system_clock::time_point a, absl::Duration from_now) {
  const auto b =
      std::chrono::system_clock::now() + absl::ToChronoNanoseconds(from_now);
  return a < b ? a : b;
}

}  // namespace

std::string CriImageName(const Reference& reference) {
  return reference.digest.empty()
             ? absl::StrCat(reference.Name(), ":", reference.tag)
             : absl::StrCat(reference.Name(), "@", reference.digest);
}

PullAction PullHandler::Handle(const std::string& request,
                               const CallOptions& options) {
  // Identical concurrent pulls (same bytes: image, auth, sandbox config)
  // share one resolution and one pull.
  return flights_.Do(Sha256Digest(request),
                     [&] { return HandleUncached(request, options); });
}

PullAction PullHandler::HandleUncached(const std::string& request,
                                       const CallOptions& options) {
  const absl::Time start = absl::Now();
  PullAction forward;  // kForwardOriginal
  runtime::v1::PullImageRequest pull;
  if (!pull.ParseFromString(request)) {
    metrics_->CountStepAside(kFace, "malformed_request");
    logger_->Warning("step aside: PullImage request does not parse",
                     {{"face", std::string(kFace)}});
    return forward;
  }
  const std::string& image = pull.image().image();
  absl::StatusOr<Reference> reference = ParseReference(image);
  if (!reference.ok()) {
    if (reference.status().code() == absl::StatusCode::kInvalidArgument) {
      metrics_->CountResolution(kFace, "invalid");
      return {PullAction::Kind::kFail, "",
              grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           std::string(reference.status().message()))};
    }
    return forward;  // e.g. a sha512 digest: containerd's business
  }
  if (bypass_ != nullptr) bypass_->Asked(*reference);
  const std::shared_ptr<const Engine> engine = engines_->Get();
  if (engine == nullptr) return forward;
  const runtime::v1::AuthConfig& auth = pull.auth();
  absl::StatusOr<Credentials> credentials =
      CredentialsFromAuthFields(auth.username(), auth.password(), auth.auth(),
                                auth.identity_token(), auth.registry_token());
  if (!credentials.ok()) return forward;  // containerd says what is wrong

  nlohmann::json fields = {{"face", std::string(kFace)},
                           {"image", reference->String()}};
  auto step_aside = [&](const absl::Status& status) {
    const std::string reason = StepAsideReason(status);
    metrics_->CountResolution(kFace, "stepaside");
    metrics_->CountStepAside(kFace, reason);
    fields["outcome"] = "stepaside";
    fields["reason"] = reason;
    fields["error"] = std::string(status.message());
    logger_->Warning("step aside: containerd pulls the request as sent",
                     fields);
    return forward;
  };

  absl::StatusOr<Decision> decision =
      Decide(*engine->registry, *engine->selector, *reference, &*credentials);
  if (!decision.ok()) return step_aside(decision.status());
  metrics_->ObserveSelection(decision->selection_time);
  fields["outcome"] = std::string(OutcomeName(decision->outcome()));
  fields["index"] = decision->resolution.document->digest;
  switch (decision->outcome()) {
    case Outcome::kPassthrough:
      metrics_->CountResolution(kFace, "passthrough");
      fields["reason"] = decision->selection.reason;
      logger_->Info("resolution", fields);
      return forward;
    case Outcome::kNoMatch: {
      const std::string message = NoMatchMessage(
          reference->String(), decision->selection, engine->selector->node());
      metrics_->CountResolution(kFace, "no_match");
      fields["reason"] = message;
      logger_->Warning("no build fits this node; refusing the pull", fields);
      // The reasons name every build of the index. A caller that sent no
      // credentials of its own may have been answered with nodefit's, for a
      // private index: it learns only that nothing fits.
      return {
          PullAction::Kind::kFail, "",
          grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                       credentials->empty()
                           ? absl::StrCat("no build of ", reference->String(),
                                          " fits this node (nodefit's "
                                          "log says why)")
                           : message)};
    }
    case Outcome::kSelected:
      break;
  }

  // Pull the chosen manifest by digest, with the caller's auth and sandbox
  // config (kept as an unknown field).
  const Descriptor& chosen = decision->descriptor;
  runtime::v1::PullImageRequest chosen_pull = pull;
  chosen_pull.mutable_image()->set_image(
      absl::StrCat(reference->Name(), "@", chosen.digest));
  UnaryResult pulled = containerd_->Forward(
      kPullImageMethod, chosen_pull.SerializeAsString(), options);
  runtime::v1::PullImageResponse response;
  if (!pulled.status.ok() || !response.ParseFromString(pulled.response)) {
    return step_aside(absl::UnavailableError(
        absl::StrCat("containerd could not pull the chosen build: ",
                     pulled.status.error_message())));
  }

  // Name it as the request named it.
  const std::string name = CriImageName(*reference);
  const CandidateReport& report =
      decision->selection.candidates[decision->selection.chosen];
  std::vector<std::string> met;
  for (const Requirement& r : report.requirements) met.push_back(r.feature);
  const std::map<std::string, std::string> labels = {
      {"io.cri-containerd.image", "managed"},
      {"io.nodefit.chosen", chosen.digest},
      {"io.nodefit.index", decision->resolution.document->digest},
      {"io.nodefit.features", absl::StrJoin(met, ",")},
      {"io.nodefit.node", engine->selector->node().platform().String()},
  };
  const std::string& ns = engine->config.cri.namespace_name;
  if (absl::Status s =
          containerd_->PutImage(ns, name, chosen, labels,
                                Earlier(options.deadline, absl::Seconds(30)));
      !s.ok()) {
    return step_aside(s);
  }
  // kubelet asks ImageStatus right after the pull: make sure CRI already
  // answers with the chosen build.
  const absl::Time wait_until = absl::Now() + kImageStatusWait;
  bool visible = false;
  while (absl::Now() < wait_until) {
    absl::StatusOr<std::string> id = containerd_->CriImageId(
        name, Earlier(options.deadline, absl::Seconds(2)));
    if (id.ok() && *id == response.image_ref()) {
      visible = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  fields["chosen"] = chosen.digest;
  fields["image_ref"] = response.image_ref();
  fields["features"] = met;
  fields["duration_ms"] = absl::ToDoubleMilliseconds(absl::Now() - start);
  if (!visible) {
    logger_->Warning("CRI did not show the chosen build in time", fields);
  }
  metrics_->CountResolution(kFace, "selected");
  logger_->Info("resolution", fields);
  return {PullAction::Kind::kRespond, pulled.response, grpc::Status::OK};
}

}  // namespace nodefit
