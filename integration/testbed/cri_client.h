// A small CRI client for tests: runtime.v1 ImageService and
// RuntimeService.Version over a unix socket (containerd's or nodefit's),
// plus raw calls to any method name, to see what a server does with it.
#ifndef NODEFIT_INTEGRATION_TESTBED_CRI_CLIENT_H_
#define NODEFIT_INTEGRATION_TESTBED_CRI_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cri/runtime/v1/api.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace nodefit::testbed {

class CriClient {
 public:
  // `address`: "unix:///path/to.sock".
  explicit CriClient(const std::string& address);

  absl::StatusOr<runtime::v1::PullImageResponse> PullImage(
      const std::string& image, const runtime::v1::AuthConfig* auth = nullptr);
  absl::StatusOr<runtime::v1::ImageStatusResponse> ImageStatus(
      const std::string& image);
  absl::StatusOr<runtime::v1::ListImagesResponse> ListImages();
  absl::StatusOr<runtime::v1::RemoveImageResponse> RemoveImage(
      const std::string& image);
  absl::StatusOr<runtime::v1::ImageFsInfoResponse> ImageFsInfo();
  absl::StatusOr<runtime::v1::VersionResponse> Version();
  // A unary call of `method` ("/pkg.Service/Method") with raw bytes.
  absl::StatusOr<std::string> RawCall(
      const std::string& method, const std::string& request,
      absl::Duration timeout = absl::Seconds(10));

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<runtime::v1::ImageService::Stub> images_;
  std::unique_ptr<runtime::v1::RuntimeService::Stub> runtime_;
};

// grpc::Status -> absl::Status with the same code and message.
absl::Status FromGrpc(const grpc::Status& status);

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_CRI_CLIENT_H_
