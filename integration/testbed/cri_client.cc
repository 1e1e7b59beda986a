#include "integration/testbed/cri_client.h"

#include "plugin/containerd/containerd_client.h"

namespace nodefit::testbed {
namespace {

constexpr int kTimeoutSeconds = 300;

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(kTimeoutSeconds));
}

template <typename Response, typename Call>
absl::StatusOr<Response> Unary(Call call) {
  grpc::ClientContext context;
  SetDeadline(&context);
  Response response;
  grpc::Status status = call(&context, &response);
  if (!status.ok()) return FromGrpc(status);
  return response;
}

}  // namespace

absl::Status FromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

CriClient::CriClient(const std::string& address)
    : channel_(
          grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
      images_(runtime::v1::ImageService::NewStub(channel_)),
      runtime_(runtime::v1::RuntimeService::NewStub(channel_)) {}

absl::StatusOr<runtime::v1::PullImageResponse> CriClient::PullImage(
    const std::string& image, const runtime::v1::AuthConfig* auth) {
  runtime::v1::PullImageRequest request;
  request.mutable_image()->set_image(image);
  if (auth != nullptr) *request.mutable_auth() = *auth;
  return Unary<runtime::v1::PullImageResponse>(
      [&](grpc::ClientContext* c, runtime::v1::PullImageResponse* r) {
        return images_->PullImage(c, request, r);
      });
}

absl::StatusOr<runtime::v1::ImageStatusResponse> CriClient::ImageStatus(
    const std::string& image) {
  runtime::v1::ImageStatusRequest request;
  request.mutable_image()->set_image(image);
  return Unary<runtime::v1::ImageStatusResponse>(
      [&](grpc::ClientContext* c, runtime::v1::ImageStatusResponse* r) {
        return images_->ImageStatus(c, request, r);
      });
}

absl::StatusOr<runtime::v1::ListImagesResponse> CriClient::ListImages() {
  runtime::v1::ListImagesRequest request;
  return Unary<runtime::v1::ListImagesResponse>(
      [&](grpc::ClientContext* c, runtime::v1::ListImagesResponse* r) {
        return images_->ListImages(c, request, r);
      });
}

absl::StatusOr<runtime::v1::RemoveImageResponse> CriClient::RemoveImage(
    const std::string& image) {
  runtime::v1::RemoveImageRequest request;
  request.mutable_image()->set_image(image);
  return Unary<runtime::v1::RemoveImageResponse>(
      [&](grpc::ClientContext* c, runtime::v1::RemoveImageResponse* r) {
        return images_->RemoveImage(c, request, r);
      });
}

absl::StatusOr<runtime::v1::ImageFsInfoResponse> CriClient::ImageFsInfo() {
  runtime::v1::ImageFsInfoRequest request;
  return Unary<runtime::v1::ImageFsInfoResponse>(
      [&](grpc::ClientContext* c, runtime::v1::ImageFsInfoResponse* r) {
        return images_->ImageFsInfo(c, request, r);
      });
}

absl::StatusOr<runtime::v1::VersionResponse> CriClient::Version() {
  runtime::v1::VersionRequest request;
  return Unary<runtime::v1::VersionResponse>(
      [&](grpc::ClientContext* c, runtime::v1::VersionResponse* r) {
        return runtime_->Version(c, request, r);
      });
}

absl::StatusOr<std::string> CriClient::RawCall(const std::string& method,
                                               const std::string& request,
                                               absl::Duration timeout) {
  CallOptions options;
  options.deadline = absl::ToChronoTime(absl::Now() + timeout);
  UnaryResult result =
      NewGrpcContainerdClient(channel_)->Forward(method, request, options);
  if (!result.status.ok()) return FromGrpc(result.status);
  return result.response;
}

}  // namespace nodefit::testbed
