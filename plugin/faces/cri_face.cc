#include "plugin/faces/cri_face.h"

#include <errno.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/byte_buffer.h"
#include "resolver/base/bounded_executor.h"
#include "resolver/base/status_macros.h"

namespace nodefit {
namespace {

// Headers gRPC itself owns; everything else is the caller's metadata.
bool Forwardable(absl::string_view key) {
  return !key.empty() && key[0] != ':' && !absl::StartsWith(key, "grpc-") &&
         key != "content-type" && key != "te" && key != "user-agent" &&
         key != "host";
}

std::string ToString(const grpc::string_ref& s) {
  return std::string(s.data(), s.size());
}

MetadataList ClientMetadata(const grpc::GenericCallbackServerContext* ctx) {
  MetadataList out;
  for (const auto& [key, value] : ctx->client_metadata()) {
    if (Forwardable(absl::string_view(key.data(), key.size()))) {
      out.emplace_back(ToString(key), ToString(value));
    }
  }
  return out;
}

// The upstream call carries the caller's deadline and metadata.
void PrepareUpstream(const grpc::GenericCallbackServerContext* ctx,
                     grpc::ClientContext* upstream) {
  upstream->set_deadline(ctx->deadline());
  for (const auto& [key, value] : ClientMetadata(ctx)) {
    upstream->AddMetadata(key, value);
  }
}

// containerd's initial and trailing metadata, for the caller.
void ForwardInitialMetadata(const grpc::ClientContext& upstream,
                            grpc::GenericCallbackServerContext* ctx) {
  for (const auto& [key, value] : upstream.GetServerInitialMetadata()) {
    if (Forwardable(absl::string_view(key.data(), key.size()))) {
      ctx->AddInitialMetadata(ToString(key), ToString(value));
    }
  }
}
void ForwardTrailingMetadata(const grpc::ClientContext& upstream,
                             grpc::GenericCallbackServerContext* ctx) {
  for (const auto& [key, value] : upstream.GetServerTrailingMetadata()) {
    if (Forwardable(absl::string_view(key.data(), key.size()))) {
      ctx->AddTrailingMetadata(ToString(key), ToString(value));
    }
  }
}

// "/runtime.v1.ImageService/PullImage" -> "ImageService/PullImage"; a
// method name the caller made up counts as "ImageService/other" and any
// other forwarded service's as "other", so the metric's labels stay a
// fixed set.
std::string MethodLabel(const std::string& method) {
  static const auto* const kKnown = new std::set<std::string>{
      "ListImages", "ImageStatus", "PullImage", "RemoveImage", "ImageFsInfo"};
  if (!absl::StartsWith(method, "/runtime.v1.ImageService/")) return "other";
  const std::string name = method.substr(method.rfind('/') + 1);
  return absl::StrCat("ImageService/",
                      kKnown->count(name) > 0 ? name : "other");
}

std::string CodeLabel(grpc::StatusCode code) {
  static const char* const kNames[] = {"OK",
                                       "CANCELLED",
                                       "UNKNOWN",
                                       "INVALID_ARGUMENT",
                                       "DEADLINE_EXCEEDED",
                                       "NOT_FOUND",
                                       "ALREADY_EXISTS",
                                       "PERMISSION_DENIED",
                                       "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION",
                                       "ABORTED",
                                       "OUT_OF_RANGE",
                                       "UNIMPLEMENTED",
                                       "INTERNAL",
                                       "UNAVAILABLE",
                                       "DATA_LOSS",
                                       "UNAUTHENTICATED"};
  const int i = static_cast<int>(code);
  return i >= 0 && i < 17 ? kNames[i] : absl::StrCat(i);
}

// Forwards one call of any kind to containerd as two message streams.
class ProxyReactor final : public grpc::ServerGenericBidiReactor {
 public:
  ProxyReactor(grpc::GenericCallbackServerContext* ctx, grpc::GenericStub* stub,
               Metrics* metrics)
      : ctx_(ctx), metrics_(metrics), upstream_(this) {
    PrepareUpstream(ctx, &client_ctx_);
    stub->PrepareBidiStreamingCall(&client_ctx_, ctx->method(),
                                   grpc::StubOptions(), &upstream_);
    // Two holds keep the upstream call alive while nodefit may still start
    // operations on it: one until the caller's requests end (CloseWrites),
    // one until containerd's responses end (UpstreamReadDone(false)).
    // Without the second, containerd's status could end the call while a
    // response is still being written to the caller, and the next read
    // would touch a finished call.
    upstream_.AddMultipleHolds(2);
    StartRead(&request_);
    upstream_.StartRead(&response_);
    upstream_.StartCall();
  }

  // From the caller.
  void OnReadDone(bool ok) override {
    if (writes_closed_.load()) return;
    if (ok) {
      upstream_.StartWrite(&request_);
      return;
    }
    // A cancelled caller must reach containerd as a cancellation, not as a
    // clean end of stream.
    if (ctx_->IsCancelled()) client_ctx_.TryCancel();
    CloseWrites();
  }
  // To the caller.
  void OnWriteDone(bool ok) override {
    if (ok) {
      upstream_.StartRead(&response_);
    } else {
      client_ctx_.TryCancel();
      upstream_.StartRead(&response_);  // completes at once, not ok
    }
  }
  void OnCancel() override { client_ctx_.TryCancel(); }
  void OnDone() override {
    metrics_->CountCri(MethodLabel(ctx_->method()), CodeLabel(final_code_));
    Unref();
  }

 private:
  class Upstream final
      : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
   public:
    explicit Upstream(ProxyReactor* owner) : owner_(owner) {}
    void OnWriteDone(bool ok) override { owner_->UpstreamWriteDone(ok); }
    void OnReadDone(bool ok) override { owner_->UpstreamReadDone(ok); }
    void OnDone(const grpc::Status& status) override {
      owner_->UpstreamDone(status);
    }

   private:
    ProxyReactor* const owner_;
  };

  void CloseWrites() {
    if (writes_closed_.exchange(true)) return;
    upstream_.StartWritesDone();
    upstream_.RemoveHold();
  }
  void UpstreamWriteDone(bool ok) {
    if (ok) {
      StartRead(&request_);
    } else {
      CloseWrites();  // containerd stopped listening; its status follows
    }
  }
  void UpstreamReadDone(bool ok) {
    if (!ok) {
      upstream_.RemoveHold();  // no more reads: the status comes with OnDone
      return;
    }
    CopyInitialMetadata();
    StartWrite(&response_);
  }
  void UpstreamDone(const grpc::Status& status) {
    CopyInitialMetadata();
    ForwardTrailingMetadata(client_ctx_, ctx_);
    final_code_ = status.error_code();
    Finish(status);
    Unref();
  }
  void CopyInitialMetadata() {
    if (initial_copied_) return;
    initial_copied_ = true;
    ForwardInitialMetadata(client_ctx_, ctx_);
  }
  // Deleted once both the caller's call and containerd's are done.
  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  grpc::GenericCallbackServerContext* const ctx_;
  Metrics* const metrics_;
  grpc::ClientContext client_ctx_;
  Upstream upstream_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::atomic<bool> writes_closed_{false};
  bool initial_copied_ = false;  // touched by upstream callbacks only
  grpc::StatusCode final_code_ = grpc::StatusCode::UNKNOWN;
  std::atomic<int> refs_{2};
};

// The only calls the socket forwards: the CRI image service (what
// kubelet's imageServiceEndpoint and crictl's image-endpoint use). Anything
// else of containerd's API (runtime, namespaces, content ...) would make
// the socket as powerful as containerd's own.
constexpr absl::string_view kImageServicePrefix = "/runtime.v1.ImageService/";

// Its methods whose kind the API fixes as unary, forwarded as one unary
// call; any other ImageService method takes the stream path.
bool IsKnownUnary(const std::string& method) {
  static const auto* const kMethods = new std::set<std::string>{
      "ListImages", "ImageStatus", "RemoveImage", "ImageFsInfo"};
  return absl::StartsWith(method, kImageServicePrefix) &&
         kMethods->count(method.substr(kImageServicePrefix.size())) > 0;
}

// Refuses a call the socket does not forward, naming it.
class DenyReactor final : public grpc::ServerGenericBidiReactor {
 public:
  DenyReactor(grpc::GenericCallbackServerContext* ctx,
              const std::vector<std::string>& forwarded, Metrics* metrics)
      : metrics_(metrics) {
    Finish(grpc::Status(
        grpc::StatusCode::PERMISSION_DENIED,
        absl::StrCat("nodefit's CRI socket serves ",
                     absl::StrJoin(forwarded, ", "), " only; ",
                     ctx->method().substr(0, 200),
                     " is not forwarded (use containerd's own socket)")));
  }
  void OnDone() override {
    metrics_->CountCri("denied", "PERMISSION_DENIED");
    delete this;
  }

 private:
  Metrics* const metrics_;
};

// Forwards one call of a known unary method as one unary call upstream: a
// single batch of operations instead of a stream's separate start, write,
// half-close, read and status steps, each a trip through gRPC's threads.
class UnaryProxyReactor final : public grpc::ServerGenericBidiReactor {
 public:
  UnaryProxyReactor(grpc::GenericCallbackServerContext* ctx,
                    grpc::GenericStub* stub, Metrics* metrics)
      : ctx_(ctx), stub_(stub), metrics_(metrics) {
    PrepareUpstream(ctx, &client_ctx_);
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // no request arrived: the caller went away
      final_code_ = grpc::StatusCode::CANCELLED;
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "no request message"));
      return;
    }
    // Finish is called only from here on, so OnDone (which deletes this)
    // cannot run before the upstream call has completed.
    stub_->UnaryCall(&client_ctx_, ctx_->method(), grpc::StubOptions(),
                     &request_, &response_, [this](const grpc::Status& status) {
                       UpstreamDone(status);
                     });
  }
  void OnCancel() override { client_ctx_.TryCancel(); }
  void OnDone() override {
    metrics_->CountCri(MethodLabel(ctx_->method()), CodeLabel(final_code_));
    delete this;
  }

 private:
  void UpstreamDone(const grpc::Status& status) {
    ForwardInitialMetadata(client_ctx_, ctx_);
    ForwardTrailingMetadata(client_ctx_, ctx_);
    final_code_ = status.error_code();
    if (status.ok()) {
      StartWriteAndFinish(&response_, grpc::WriteOptions(), status);
    } else {
      Finish(status);
    }
  }

  grpc::GenericCallbackServerContext* const ctx_;
  grpc::GenericStub* const stub_;
  Metrics* const metrics_;
  grpc::ClientContext client_ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::StatusCode final_code_ = grpc::StatusCode::UNKNOWN;
};

// What a PullImage call needs after its reactor has handed work to a thread.
struct PullContext {
  std::shared_ptr<PullHandler> pulls;
  std::shared_ptr<ContainerdClient> containerd;
  Metrics* metrics;
  std::shared_ptr<BoundedExecutor> executor;
  grpc::GenericStub* stub;  // for pulls beyond the executor's bound
};

class PullReactor final : public grpc::ServerGenericBidiReactor {
 public:
  PullReactor(grpc::GenericCallbackServerContext* ctx, PullContext shared)
      : ctx_(ctx), shared_(std::move(shared)) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Respond(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                           "no PullImage request"),
              "", {}, {});
      return;
    }
    CallOptions options;
    options.metadata = ClientMetadata(ctx_);
    options.deadline = ctx_->deadline();
    options.cancellation = cancellation_;
    std::string request = ByteBufferToString(request_);
    // Resolution and pulling block; keep them off gRPC's threads, on a
    // bounded pool. Beyond its bound the pull goes to containerd as sent,
    // asynchronously: a flood of pulls never makes one fail.
    // The task holds the handler and client, not the executor itself.
    const bool queued = shared_.executor->TrySubmit(
        [this, pulls = shared_.pulls, containerd = shared_.containerd, request,
         options]() {
          PullAction action = pulls->Handle(request, options);
          switch (action.kind) {
            case PullAction::Kind::kRespond:
              Respond(grpc::Status::OK, action.response, {}, {});
              return;
            case PullAction::Kind::kFail:
              Respond(action.status, "", {}, {});
              return;
            case PullAction::Kind::kForwardOriginal: {
              UnaryResult r =
                  containerd->Forward(kPullImageMethod, request, options);
              Respond(r.status, r.response, r.initial_metadata,
                      r.trailing_metadata);
              return;
            }
          }
        });
    if (!queued) {
      shared_.metrics->CountLimit("cri_pull_queue");
      PrepareUpstream(ctx_, &client_ctx_);
      shared_.stub->UnaryCall(
          &client_ctx_, kPullImageMethod, grpc::StubOptions(), &request_,
          &upstream_response_, [this](const grpc::Status& status) {
            ForwardInitialMetadata(client_ctx_, ctx_);
            ForwardTrailingMetadata(client_ctx_, ctx_);
            code_ = status.error_code();
            if (status.ok()) {
              StartWriteAndFinish(&upstream_response_, grpc::WriteOptions(),
                                  status);
            } else {
              Finish(status);
            }
          });
    }
  }
  void OnWriteDone(bool) override {}
  // The caller hung up (or its deadline passed): whatever nodefit asked of
  // containerd for it stops too, so containerd does not go on pulling an
  // image nobody waits for.
  void OnCancel() override {
    cancellation_->Cancel();
    client_ctx_.TryCancel();
  }
  void OnDone() override {
    shared_.metrics->CountCri("ImageService/PullImage", CodeLabel(code_));
    delete this;
  }

 private:
  // The last thing a worker does with this reactor.
  void Respond(const grpc::Status& status, const std::string& response,
               const MetadataList& initial, const MetadataList& trailing) {
    for (const auto& [k, v] : initial) {
      if (Forwardable(k)) ctx_->AddInitialMetadata(k, v);
    }
    for (const auto& [k, v] : trailing) {
      if (Forwardable(k)) ctx_->AddTrailingMetadata(k, v);
    }
    code_ = status.error_code();
    if (!status.ok()) {
      Finish(status);
      return;
    }
    grpc::Slice slice(response);
    response_ = grpc::ByteBuffer(&slice, 1);
    StartWriteAndFinish(&response_, grpc::WriteOptions(), status);
  }

  grpc::GenericCallbackServerContext* const ctx_;
  const PullContext shared_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::ClientContext client_ctx_;  // the untouched forward only
  const std::shared_ptr<CallCancellation> cancellation_ =
      std::make_shared<CallCancellation>();
  grpc::ByteBuffer upstream_response_;
  grpc::StatusCode code_ = grpc::StatusCode::UNKNOWN;
};

}  // namespace

class ProxyService final : public grpc::CallbackGenericService {
 public:
  ProxyService(std::shared_ptr<grpc::Channel> upstream, PullContext pulls,
               std::vector<std::string> forwarded_services)
      : stub_(std::move(upstream)),
        pulls_(std::move(pulls)),
        forwarded_services_(std::move(forwarded_services)) {
    pulls_.stub = &stub_;
  }

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* ctx) override {
    if (!Forwarded(ctx->method())) {
      return new DenyReactor(ctx, forwarded_services_, pulls_.metrics);
    }
    if (ctx->method() == kPullImageMethod) {
      return new PullReactor(ctx, pulls_);
    }
    if (IsKnownUnary(ctx->method())) {
      return new UnaryProxyReactor(ctx, &stub_, pulls_.metrics);
    }
    return new ProxyReactor(ctx, &stub_, pulls_.metrics);
  }

 private:
  // "/SERVICE/METHOD" with SERVICE one of forwarded_services_.
  bool Forwarded(const std::string& method) const {
    for (const std::string& service : forwarded_services_) {
      if (method.size() > service.size() + 2 && method[0] == '/' &&
          method.compare(1, service.size(), service) == 0 &&
          method[service.size() + 1] == '/') {
        return true;
      }
    }
    return false;
  }

  grpc::GenericStub stub_;
  PullContext pulls_;
  const std::vector<std::string> forwarded_services_;
};

// grpc.health.v1.Health: SERVING while containerd answers. A poller keeps
// the state, so checks never wait on containerd.
class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  HealthService(std::shared_ptr<ContainerdClient> containerd,
                absl::Duration interval)
      : containerd_(std::move(containerd)), interval_(interval) {
    Poll();
    poller_ = std::thread([this] {
      while (!stop_.WaitForNotificationWithTimeout(interval_)) Poll();
    });
  }
  ~HealthService() override { Stop(); }

  void Stop() {
    if (!stop_.HasBeenNotified()) stop_.Notify();
    if (poller_.joinable()) poller_.join();
  }

  grpc::ServerUnaryReactor* Check(
      grpc::CallbackServerContext* ctx,
      const grpc::health::v1::HealthCheckRequest* request,
      grpc::health::v1::HealthCheckResponse* response) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    if (!Known(request->service())) {
      reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                   "unknown service " + request->service()));
      return reactor;
    }
    response->set_status(Current());
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext*,
      const grpc::health::v1::HealthCheckRequest* request) override {
    return new Watcher(this, Known(request->service()));
  }

 private:
  using Status = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // Streams the status, then every change, until cancelled.
  class Watcher final
      : public grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse> {
   public:
    Watcher(HealthService* service, bool known)
        : service_(service), known_(known) {
      service_->AddWatcher(this);
      Update();
    }
    void Update() {
      const Status status =
          known_ ? service_->Current()
                 : grpc::health::v1::HealthCheckResponse::SERVICE_UNKNOWN;
      absl::MutexLock lock(&mu_);
      if (status == last_sent_ || writing_ || done_) return;
      writing_ = true;
      last_sent_ = status;
      response_.set_status(status);
      StartWrite(&response_);
    }
    void OnWriteDone(bool ok) override {
      {
        absl::MutexLock lock(&mu_);
        writing_ = false;
        if (!ok) return;
      }
      Update();
    }
    void OnCancel() override {
      absl::MutexLock lock(&mu_);
      if (done_) return;
      done_ = true;
      Finish(grpc::Status::CANCELLED);
    }
    void OnDone() override {
      service_->RemoveWatcher(this);
      delete this;
    }

   private:
    HealthService* const service_;
    const bool known_;
    absl::Mutex mu_;
    bool writing_ ABSL_GUARDED_BY(mu_) = false;
    bool done_ ABSL_GUARDED_BY(mu_) = false;
    Status last_sent_ ABSL_GUARDED_BY(mu_) =
        grpc::health::v1::HealthCheckResponse::UNKNOWN;
    grpc::health::v1::HealthCheckResponse response_;
  };

  static bool Known(const std::string& service) {
    return service.empty() || service == "runtime.v1.ImageService" ||
           service == "runtime.v1.RuntimeService";
  }
  Status Current() const {
    return serving_.load() ? grpc::health::v1::HealthCheckResponse::SERVING
                           : grpc::health::v1::HealthCheckResponse::NOT_SERVING;
  }
  void Poll() {
    const bool serving =
        containerd_
            ->Ping(std::chrono::system_clock::now() + std::chrono::seconds(1))
            .ok();
    if (serving_.exchange(serving) == serving) return;
    absl::MutexLock lock(&mu_);
    for (Watcher* w : watchers_) w->Update();
  }
  void AddWatcher(Watcher* w) {
    absl::MutexLock lock(&mu_);
    watchers_.insert(w);
  }
  void RemoveWatcher(Watcher* w) {
    absl::MutexLock lock(&mu_);
    watchers_.erase(w);
  }

  const std::shared_ptr<ContainerdClient> containerd_;
  const absl::Duration interval_;
  std::atomic<bool> serving_{false};
  absl::Notification stop_;
  std::thread poller_;
  absl::Mutex mu_;
  std::set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::string> UnixSocketPath(const std::string& address) {
  absl::string_view path = address;
  if (!absl::ConsumePrefix(&path, "unix://") || path.empty() ||
      path.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", address, "\" is not unix:///absolute/path"));
  }
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("socket path ", path, " is longer than ",
                     sizeof(sockaddr_un::sun_path) - 1, " bytes"));
  }
  return std::string(path);
}

// The socket's directory is nodefit's: made if missing, and whatever its
// mode was (kubelet creates a DaemonSet's hostPath 0755), it ends 0700
// (0710 with a socket group, so that group can reach the socket and nothing
// else in it). A symlink or a directory of another user is refused.
absl::Status PrepareSocketDirectory(const std::string& dir,
                                    std::optional<gid_t> gid) {
  // Its mode is set to 0700/0710 below: never a directory others share.
  static const auto* const kShared = new std::set<std::string>{
      "/",        "/run",      "/var/run", "/tmp",  "/var/tmp", "/var",
      "/var/lib", "/etc",      "/usr",     "/home", "/root",    "/dev",
      "/dev/shm", "/run/user", "/opt",     "/srv",  "/mnt",     "/media"};
  std::string normal = dir;
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  if (kShared->count(normal) > 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the CRI socket needs a directory of nodefit's own (its mode is set "
        "to 0700), not ",
        normal, "; use e.g. unix:///run/nodefit/cri.sock"));
  }
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) {
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", dir, ": ", std::strerror(errno)));
    }
    if (lstat(dir.c_str(), &st) != 0) {
      return absl::PermissionDeniedError(absl::StrCat("cannot inspect ", dir));
    }
  }
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " is not a directory (a symlink is refused) for the CRI socket"));
  }
  if (st.st_uid != geteuid()) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " belongs to uid ", st.st_uid,
                     "; the CRI socket's directory must be nodefit's own"));
  }
  if (chown(dir.c_str(), static_cast<uid_t>(-1),
            gid.has_value() ? *gid : getegid()) != 0 ||
      chmod(dir.c_str(), gid.has_value() ? 0710 : 0700) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot set the mode of ", dir, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<gid_t>> SocketGroup(const std::string& group) {
  if (group.empty()) return std::optional<gid_t>();
  gid_t gid = 0;
  if (absl::SimpleAtoi(group, &gid)) return std::optional<gid_t>(gid);
  const struct group* entry = getgrnam(group.c_str());
  if (entry == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cri.socket_group: no group \"", group, "\""));
  }
  return std::optional<gid_t>(entry->gr_gid);
}

absl::Status PrepareUnixSocket(const std::string& path,
                               std::optional<gid_t> gid) {
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos) {
    RETURN_IF_ERROR(PrepareSocketDirectory(
        slash == 0 ? std::string("/") : path.substr(0, slash), gid));
  }
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return absl::OkStatus();
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path,
                     " exists and is not a socket; refusing to replace "
                     "it"));
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  const bool live =
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  if (live) {
    return absl::FailedPreconditionError(
        absl::StrCat("a server is already answering on ", path,
                     "; refusing to start a second one"));
  }
  if (unlink(path.c_str()) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot remove stale socket ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CriFace>> CriFace::Start(
    const CriFaceOptions& options, const EngineSlot* engines, Metrics* metrics,
    Logger* logger) {
  absl::StatusOr<std::string> path = UnixSocketPath(options.listen);
  if (!path.ok()) return path.status();
  ASSIGN_OR_RETURN(const std::optional<gid_t> gid,
                   SocketGroup(options.socket_group));
  if (absl::Status s = PrepareUnixSocket(*path, gid); !s.ok()) return s;

  std::unique_ptr<CriFace> face(new CriFace());
  face->socket_path_ = *path;
  face->upstream_ = NewContainerdChannel(options.containerd);
  std::shared_ptr<ContainerdClient> containerd =
      NewGrpcContainerdClient(face->upstream_);
  auto pulls = std::make_shared<PullHandler>(engines, containerd.get(), metrics,
                                             logger, options.bypass);
  face->health_ =
      std::make_unique<HealthService>(containerd, options.health_interval);
  face->proxy_ = std::make_unique<ProxyService>(
      face->upstream_,
      PullContext{
          pulls, containerd, metrics,
          std::make_shared<BoundedExecutor>(
              options.pull_workers, static_cast<size_t>(options.pull_queue)),
          nullptr},
      options.forwarded_services);
  face->pulls_ = nullptr;  // owned through the proxy's PullContext
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials());
  builder.RegisterService(face->health_.get());
  builder.RegisterCallbackGenericService(face->proxy_.get());
  // Callers send small requests; containerd's answers (image lists) may be
  // large and pass through unbounded.
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(-1);
  face->server_ = builder.BuildAndStart();
  if (face->server_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen));
  }
  if (chmod(face->socket_path_.c_str(), 0660) != 0 ||
      (gid.has_value() && chown(face->socket_path_.c_str(), 0, *gid) != 0)) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot set the mode or group of ", face->socket_path_,
                     ": ", std::strerror(errno)));
  }
  return face;
}

CriFace::~CriFace() { Shutdown(absl::Seconds(5)); }

void CriFace::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoNanoseconds(grace));
  }
  if (health_ != nullptr) health_->Stop();
  unlink(socket_path_.c_str());
}

}  // namespace nodefit
