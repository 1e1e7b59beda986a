#include "plugin/containerd/containerd_client.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "containerd/services/version/v1/version.grpc.pb.h"
#include "cri/runtime/v1/api.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/byte_buffer.h"

namespace nodefit {
namespace {

constexpr char kNamespaceHeader[] = "containerd-namespace";

MetadataList CopyMetadata(
    const std::multimap<grpc::string_ref, grpc::string_ref>& md) {
  MetadataList out;
  for (const auto& [key, value] : md) {
    out.emplace_back(std::string(key.data(), key.size()),
                     std::string(value.data(), value.size()));
  }
  return out;
}

absl::Status FromGrpc(const grpc::Status& s, absl::string_view what) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(what, ": ", s.error_message()));
}

class GrpcContainerdClient : public ContainerdClient {
 public:
  explicit GrpcContainerdClient(std::shared_ptr<grpc::Channel> channel)
      : channel_(std::move(channel)),
        generic_(channel_),
        images_(containerd::services::images::v1::Images::NewStub(channel_)),
        cri_images_(runtime::v1::ImageService::NewStub(channel_)),
        cri_runtime_(runtime::v1::RuntimeService::NewStub(channel_)),
        version_(
            containerd::services::version::v1::Version::NewStub(channel_)) {}

  UnaryResult Forward(const std::string& method, const std::string& request,
                      const CallOptions& options) override {
    grpc::ClientContext context;
    context.set_deadline(options.deadline);
    for (const auto& [key, value] : options.metadata) {
      context.AddMetadata(key, value);
    }
    if (options.cancellation != nullptr &&
        !options.cancellation->Attach(&context)) {
      return {grpc::Status(grpc::StatusCode::CANCELLED,
                           "the caller cancelled the call"),
              "",
              {},
              {}};
    }
    grpc::Slice slice(request);
    grpc::ByteBuffer send(&slice, 1);
    grpc::ByteBuffer received;
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    UnaryResult result;
    generic_.UnaryCall(&context, method, grpc::StubOptions(), &send, &received,
                       [&](grpc::Status status) {
                         std::lock_guard<std::mutex> lock(mu);
                         result.status = std::move(status);
                         done = true;
                         cv.notify_one();
                       });
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return done; });
    }
    if (options.cancellation != nullptr) options.cancellation->Detach(&context);
    if (result.status.ok()) result.response = ByteBufferToString(received);
    result.initial_metadata = CopyMetadata(context.GetServerInitialMetadata());
    result.trailing_metadata =
        CopyMetadata(context.GetServerTrailingMetadata());
    return result;
  }

  absl::Status PutImage(
      const std::string& ns, const std::string& name, const Descriptor& target,
      const std::map<std::string, std::string>& labels,
      std::chrono::system_clock::time_point deadline) override {
    containerd::services::images::v1::Image image;
    image.set_name(name);
    image.mutable_target()->set_media_type(target.media_type);
    image.mutable_target()->set_digest(target.digest);
    image.mutable_target()->set_size(target.size);
    for (const auto& [key, value] : labels) {
      (*image.mutable_labels())[key] = value;
    }
    {
      grpc::ClientContext context;
      context.set_deadline(deadline);
      context.AddMetadata(kNamespaceHeader, ns);
      containerd::services::images::v1::CreateImageRequest request;
      *request.mutable_image() = image;
      containerd::services::images::v1::CreateImageResponse response;
      const grpc::Status s = images_->Create(&context, request, &response);
      if (s.ok()) return absl::OkStatus();
      if (s.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
        return FromGrpc(s, absl::StrCat("containerd Images.Create ", name));
      }
    }
    // It exists: move its target and set our labels, keep everything else.
    grpc::ClientContext context;
    context.set_deadline(deadline);
    context.AddMetadata(kNamespaceHeader, ns);
    containerd::services::images::v1::UpdateImageRequest request;
    *request.mutable_image() = image;
    request.mutable_update_mask()->add_paths("target");
    for (const auto& [key, value] : labels) {
      request.mutable_update_mask()->add_paths(absl::StrCat("labels.", key));
    }
    containerd::services::images::v1::UpdateImageResponse response;
    const grpc::Status s = images_->Update(&context, request, &response);
    if (!s.ok()) {
      return FromGrpc(s, absl::StrCat("containerd Images.Update ", name));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> CriImageId(
      const std::string& image,
      std::chrono::system_clock::time_point deadline) override {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    runtime::v1::ImageStatusRequest request;
    request.mutable_image()->set_image(image);
    runtime::v1::ImageStatusResponse response;
    const grpc::Status s =
        cri_images_->ImageStatus(&context, request, &response);
    if (!s.ok()) return FromGrpc(s, "CRI ImageStatus");
    return response.has_image() ? response.image().id() : "";
  }

  absl::Status Ping(std::chrono::system_clock::time_point deadline) override {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    runtime::v1::VersionRequest request;
    runtime::v1::VersionResponse response;
    const grpc::Status s = cri_runtime_->Version(&context, request, &response);
    return s.ok() ? absl::OkStatus() : FromGrpc(s, "containerd");
  }

  absl::StatusOr<std::string> Version(
      std::chrono::system_clock::time_point deadline) override {
    grpc::ClientContext context;
    context.set_deadline(deadline);
    google::protobuf::Empty request;
    containerd::services::version::v1::VersionResponse response;
    const grpc::Status s = version_->Version(&context, request, &response);
    if (!s.ok()) return FromGrpc(s, "containerd Version");
    return response.version();
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub generic_;
  std::unique_ptr<containerd::services::images::v1::Images::Stub> images_;
  std::unique_ptr<runtime::v1::ImageService::Stub> cri_images_;
  std::unique_ptr<runtime::v1::RuntimeService::Stub> cri_runtime_;
  std::unique_ptr<containerd::services::version::v1::Version::Stub> version_;
};

}  // namespace

void CallCancellation::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (grpc::ClientContext* context : contexts_) context->TryCancel();
}

bool CallCancellation::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

bool CallCancellation::Attach(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return false;
  contexts_.push_back(context);
  return true;
}

void CallCancellation::Detach(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  contexts_.erase(std::remove(contexts_.begin(), contexts_.end(), context),
                  contexts_.end());
}

std::unique_ptr<ContainerdClient> NewGrpcContainerdClient(
    std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<GrpcContainerdClient>(std::move(channel));
}

std::string ByteBufferToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string out;
  for (const grpc::Slice& s : slices) {
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return out;
}

std::shared_ptr<grpc::Channel> NewContainerdChannel(
    const std::string& address) {
  grpc::ChannelArguments args;
  // Image lists of busy nodes exceed gRPC's 4 MiB default.
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

}  // namespace nodefit
