#include "plugin/containerd/image_events.h"

#include <algorithm>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "containerd/events/image.pb.h"
#include "containerd/services/events/v1/events.grpc.pb.h"
#include "plugin/containerd/containerd_client.h"

namespace nodefit {
namespace {

constexpr char kCreate[] = "/images/create";
constexpr char kUpdate[] = "/images/update";

// One Subscribe stream, read with gRPC's callback API until it ends.
class Stream : public grpc::ClientReadReactor<containerd::types::Envelope> {
 public:
  Stream(containerd::services::events::v1::Events::Stub* stub,
         const std::vector<std::string>& filters,
         const std::function<void(const ImageEvent&)>* on_event)
      : on_event_(on_event) {
    for (const std::string& filter : filters) request_.add_filters(filter);
    stub->async()->Subscribe(&context_, &request_, this);
    StartRead(&envelope_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows
    if (envelope_.topic() == kCreate || envelope_.topic() == kUpdate) {
      // ImageCreate and ImageUpdate share their fields and numbers.
      containerd::services::images::v1::ImageCreate image;
      if (image.ParseFromString(envelope_.event().value())) {
        ImageEvent event;
        event.ns = envelope_.namespace_();
        event.topic = envelope_.topic();
        event.name = image.name();
        event.labels.insert(image.labels().begin(), image.labels().end());
        (*on_event_)(event);
      }
    }
    StartRead(&envelope_);
  }

  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    done_ = true;
  }

  void Cancel() { context_.TryCancel(); }

  grpc::Status Wait() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
    return status_;
  }

 private:
  const std::function<void(const ImageEvent&)>* on_event_;
  grpc::ClientContext context_;
  containerd::services::events::v1::SubscribeRequest request_;
  containerd::types::Envelope envelope_;
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
};

class Watcher : public ImageEventWatcher {
 public:
  Watcher(ImageEventWatcherOptions options,
          std::function<void(const ImageEvent&)> on_event,
          std::function<void(bool)> on_connected)
      : options_(std::move(options)),
        filters_(ImageEventFilters(options_.namespaces)),
        on_event_(std::move(on_event)),
        on_connected_(std::move(on_connected)),
        thread_([this] { Run(); }) {}

  ~Watcher() override {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      if (stream_ != nullptr) stream_->Cancel();
    }
    thread_.join();
  }

 private:
  void Run() {
    absl::Duration backoff = options_.initial_backoff;
    while (!Stopping()) {
      std::shared_ptr<grpc::Channel> channel =
          NewContainerdChannel(options_.address);
      const bool connected = channel->WaitForConnected(
          std::chrono::system_clock::now() + std::chrono::seconds(1));
      if (connected) {
        auto stub = containerd::services::events::v1::Events::NewStub(channel);
        auto stream =
            std::make_unique<Stream>(stub.get(), filters_, &on_event_);
        {
          absl::MutexLock lock(&mu_);
          stream_ = stream.get();
          if (stopping_) stream_->Cancel();
        }
        if (on_connected_) on_connected_(true);
        const absl::Time started = absl::Now();
        (void)stream->Wait();
        {
          absl::MutexLock lock(&mu_);
          stream_ = nullptr;
        }
        if (on_connected_) on_connected_(false);
        // A stream that lived a while was a real connection: start over.
        if (absl::Now() - started > options_.max_backoff) {
          backoff = options_.initial_backoff;
        }
      }
      if (Stopping()) break;
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), backoff);
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
  }

  bool Stopping() {
    absl::MutexLock lock(&mu_);
    return stopping_;
  }

  const ImageEventWatcherOptions options_;
  const std::vector<std::string> filters_;
  const std::function<void(const ImageEvent&)> on_event_;
  const std::function<void(bool)> on_connected_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;

  std::thread thread_;  // last: starts once everything above exists
};

}  // namespace

std::vector<std::string> ImageEventFilters(
    const std::vector<std::string>& namespaces) {
  std::vector<std::string> filters;
  for (const std::string& ns : namespaces) {
    for (const char* topic : {kCreate, kUpdate}) {
      filters.push_back(
          absl::StrCat("namespace==\"", ns, "\",topic==\"", topic, "\""));
    }
  }
  return filters;
}

absl::StatusOr<std::unique_ptr<ImageEventWatcher>> ImageEventWatcher::Start(
    const ImageEventWatcherOptions& options,
    std::function<void(const ImageEvent&)> on_event,
    std::function<void(bool)> on_connected) {
  if (options.namespaces.empty()) {
    return absl::InvalidArgumentError("no namespace to watch");
  }
  return std::unique_ptr<ImageEventWatcher>(
      new Watcher(options, std::move(on_event), std::move(on_connected)));
}

}  // namespace nodefit
