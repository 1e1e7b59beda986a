// The CRI face through real gRPC channels on temp unix sockets, in front of
// a fake upstream (an echo service with the four RPC kinds, and fake CRI and
// containerd Images services). The real containerd is in
// integration/cri_face_test.cc.
#include "plugin/faces/cri_face.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "cri/runtime/v1/api.grpc.pb.h"
#include "echo.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "resolver/registry/digest.h"
#include "tests/resolver/registry/fake_http_client.h"
#include "tests/test_util.h"

namespace nodefit {
namespace {

using ::nodefit::testing::FakeHttpClient;
using ::testing::HasSubstr;
using Note = ::nodefit::testing::Note;

constexpr char kManifestType[] = "application/vnd.oci.image.manifest.v1+json";
constexpr char kIndexType[] = "application/vnd.oci.image.index.v1+json";
constexpr char kSandboxBytes[] = "\x1a\x05hello";  // field 3, 5 bytes

std::string FirstValue(const grpc::ServerContext* ctx, const std::string& k) {
  auto it = ctx->client_metadata().find(k);
  return it == ctx->client_metadata().end()
             ? ""
             : std::string(it->second.data(), it->second.size());
}

// What a call through the face got back as initial metadata `key`.
std::string InitialValue(const grpc::ClientContext& ctx,
                         const std::string& key) {
  auto it = ctx.GetServerInitialMetadata().find(key);
  return it == ctx.GetServerInitialMetadata().end()
             ? ""
             : std::string(it->second.data(), it->second.size());
}

// --- The fake upstream ------------------------------------------------------

// The scripted answer of the fakes' unary methods, keyed on one word of the
// request: metadata echoed both ways; "sleep" waits up to 10 s for the call
// to be cancelled (recorded in `saw_cancel`); "fail" is PERMISSION_DENIED.
grpc::Status Scripted(grpc::ServerContext* ctx, const std::string& word,
                      std::atomic<bool>* saw_cancel) {
  ctx->AddInitialMetadata("x-echo", FirstValue(ctx, "x-test"));
  ctx->AddTrailingMetadata("x-trailer", "t");
  if (word == "sleep") {
    const absl::Time end = absl::Now() + absl::Seconds(10);
    while (!ctx->IsCancelled() && absl::Now() < end) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    *saw_cancel = ctx->IsCancelled();
    return grpc::Status::CANCELLED;
  }
  if (word == "fail") {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "nope");
  }
  return grpc::Status::OK;
}

class EchoService final : public nodefit::testing::Echo::Service {
 public:
  std::atomic<bool> saw_cancel{false};

  grpc::Status Unary(grpc::ServerContext* ctx, const Note* in,
                     Note* out) override {
    grpc::Status status = Scripted(ctx, in->text(), &saw_cancel);
    if (status.ok()) *out = *in;
    return status;
  }
  grpc::Status ServerStream(grpc::ServerContext*, const Note* in,
                            grpc::ServerWriter<Note>* writer) override {
    for (int i = 0; i < in->index(); ++i) {
      Note n;
      n.set_index(i);
      writer->Write(n);
    }
    return grpc::Status::OK;
  }
  grpc::Status ClientStream(grpc::ServerContext*,
                            grpc::ServerReader<Note>* reader,
                            Note* out) override {
    Note n;
    int count = 0;
    while (reader->Read(&n)) {
      ++count;
      out->set_text(out->text() + n.text());
    }
    out->set_index(count);
    return grpc::Status::OK;
  }
  grpc::Status Bidi(grpc::ServerContext* ctx,
                    grpc::ServerReaderWriter<Note, Note>* stream) override {
    Note n;
    while (stream->Read(&n)) stream->Write(n);
    saw_cancel = ctx->IsCancelled();
    return grpc::Status::OK;
  }
};

// containerd, as far as nodefit's pulls see it: CRI PullImage/ImageStatus,
// RuntimeService/Version, Images Create/Update.
struct FakeContainerd {
  absl::Mutex mu;
  std::vector<std::string> pull_requests ABSL_GUARDED_BY(mu);      // raw bytes
  std::map<std::string, std::string> records ABSL_GUARDED_BY(mu);  // name->dgst
  std::map<std::string, std::map<std::string, std::string>> labels
      ABSL_GUARDED_BY(mu);
  std::map<std::string, std::string> config_of;  // manifest digest -> id
  std::atomic<bool> list_saw_cancel{false};

  class Cri final : public runtime::v1::ImageService::Service {
   public:
    explicit Cri(FakeContainerd* c) : c_(c) {}
    grpc::Status PullImage(grpc::ServerContext*,
                           const runtime::v1::PullImageRequest* in,
                           runtime::v1::PullImageResponse* out) override {
      absl::MutexLock lock(&c_->mu);
      c_->pull_requests.push_back(in->SerializeAsString());
      const std::string& image = in->image().image();
      const size_t at = image.find('@');
      const std::string digest =
          at == std::string::npos ? "" : image.substr(at + 1);
      auto id = c_->config_of.find(digest);
      out->set_image_ref(id == c_->config_of.end() ? "sha256:original"
                                                   : id->second);
      c_->records[image] = digest;
      return grpc::Status::OK;
    }
    // Scripted on the filter's image, like EchoService::Unary.
    grpc::Status ListImages(grpc::ServerContext* ctx,
                            const runtime::v1::ListImagesRequest* in,
                            runtime::v1::ListImagesResponse* out) override {
      const std::string& image = in->filter().image().image();
      grpc::Status status = Scripted(ctx, image, &c_->list_saw_cancel);
      if (status.ok()) out->add_images()->set_id(image);
      return status;
    }
    grpc::Status ImageStatus(grpc::ServerContext*,
                             const runtime::v1::ImageStatusRequest* in,
                             runtime::v1::ImageStatusResponse* out) override {
      absl::MutexLock lock(&c_->mu);
      auto r = c_->records.find(in->image().image());
      if (r != c_->records.end() && c_->config_of.count(r->second) > 0) {
        out->mutable_image()->set_id(c_->config_of[r->second]);
      }
      return grpc::Status::OK;
    }

   private:
    FakeContainerd* const c_;
  };
  class Runtime final : public runtime::v1::RuntimeService::Service {
   public:
    grpc::Status Version(grpc::ServerContext*,
                         const runtime::v1::VersionRequest*,
                         runtime::v1::VersionResponse* out) override {
      out->set_runtime_name("fake");
      return grpc::Status::OK;
    }
  };
  class Images final
      : public containerd::services::images::v1::Images::Service {
   public:
    explicit Images(FakeContainerd* c) : c_(c) {}
    grpc::Status Create(
        grpc::ServerContext* ctx,
        const containerd::services::images::v1::CreateImageRequest* in,
        containerd::services::images::v1::CreateImageResponse*) override {
      if (FirstValue(ctx, "containerd-namespace") != "k8s.io") {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "namespace");
      }
      absl::MutexLock lock(&c_->mu);
      if (c_->records.count(in->image().name()) > 0) {
        return grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "exists");
      }
      Save(in->image());
      return grpc::Status::OK;
    }
    grpc::Status Update(
        grpc::ServerContext*,
        const containerd::services::images::v1::UpdateImageRequest* in,
        containerd::services::images::v1::UpdateImageResponse*) override {
      absl::MutexLock lock(&c_->mu);
      Save(in->image());
      return grpc::Status::OK;
    }

   private:
    void Save(const containerd::services::images::v1::Image& image)
        ABSL_EXCLUSIVE_LOCKS_REQUIRED(c_->mu) {
      c_->records[image.name()] = image.target().digest();
      for (const auto& [k, v] : image.labels()) c_->labels[image.name()][k] = v;
    }
    FakeContainerd* const c_;
  };

  Cri cri{this};
  Runtime runtime;
  Images images{this};
};

class Upstream {
 public:
  explicit Upstream(const std::string& path) : path_(path) { Start(); }
  ~Upstream() { Stop(); }
  void Start() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix://" + path_,
                             grpc::InsecureServerCredentials());
    builder.RegisterService(&echo);
    builder.RegisterService(&containerd.cri);
    builder.RegisterService(&containerd.runtime);
    builder.RegisterService(&containerd.images);
    server_ = builder.BuildAndStart();
  }
  void Stop() {
    if (server_ != nullptr) {
      server_->Shutdown(std::chrono::system_clock::now());
      server_.reset();
    }
  }
  EchoService echo;
  FakeContainerd containerd;

 private:
  std::string path_;
  std::unique_ptr<grpc::Server> server_;
};

// --- The fixture -------------------------------------------------------------

class CriFaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdtemp(dir_), dir_);
    upstream_ = std::make_unique<Upstream>(absl::StrCat(dir_, "/up.sock"));
    registry_ = std::make_shared<FakeHttpClient>(
        [this](const HttpRequest& r) { return Registry(r); });
    BuildImages();
    StartEngine({"skylake"});
    CriFaceOptions options;
    options.listen = absl::StrCat("unix://", dir_, "/run/cri.sock");
    options.containerd = absl::StrCat("unix://", dir_, "/up.sock");
    options.health_interval = absl::Milliseconds(100);
    // The pass-through tests use a service of their own.
    options.forwarded_services.push_back("nodefit.testing.Echo");
    absl::StatusOr<std::unique_ptr<CriFace>> face =
        CriFace::Start(options, &engines_, &metrics_, &logger_);
    ASSERT_TRUE(face.ok()) << face.status();
    face_ = *std::move(face);
    channel_ =
        grpc::CreateChannel(options.listen, grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    face_.reset();
    upstream_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartEngine(const std::vector<std::string>& features,
                   const std::string& platform = "linux/amd64") {
    Config config;
    config.platform = *ParsePlatform(platform);
    config.features = features;
    setenv("DOCKER_CONFIG", "/nonexistent/nodefit-test", 1);
    engines_.Set(
        *BuildEngine(config, config.ConfiguredNode(), registry_, &metrics_));
  }

  // Two repositories at reg.example: cv/tf (generic, skylake) and plain/app
  // (no feature data).
  void BuildImages() {
    auto manifest = [&](const std::string& build) {
      const std::string config_id = Sha256Digest("config " + build);
      const std::string body =
          nlohmann::json{
              {"schemaVersion", 2},
              {"mediaType", kManifestType},
              {"config",
               {{"mediaType", "x"}, {"digest", config_id}, {"size", 1}}},
              {"layers", nlohmann::json::array()}}
              .dump();
      std::string digest = Sha256Digest(body);
      docs_[digest] = {kManifestType, body};
      upstream_->containerd.config_of[digest] = config_id;
      return digest;
    };
    generic_ = manifest("generic");
    skylake_ = manifest("skylake");
    auto entry = [&](const std::string& digest,
                     const std::vector<std::string>& features) {
      nlohmann::json platform = {{"os", "linux"}, {"architecture", "amd64"}};
      if (!features.empty()) platform["features"] = features;
      return nlohmann::json{{"mediaType", kManifestType},
                            {"digest", digest},
                            {"size", docs_[digest].second.size()},
                            {"platform", platform}};
    };
    auto index = [&](nlohmann::json entries) {
      const std::string body = nlohmann::json{
          {"schemaVersion", 2},
          {"mediaType", kIndexType},
          {"manifests", entries}}.dump();
      std::string digest = Sha256Digest(body);
      docs_[digest] = {kIndexType, body};
      return digest;
    };
    tf_index_ = index({entry(generic_, {}), entry(skylake_, {"skylake"})});
    plain_index_ = index({entry(generic_, {})});
  }

  absl::StatusOr<HttpResponse> Registry(const HttpRequest& r) {
    HttpResponse res;
    if (registry_down_) return absl::UnavailableError("registry down");
    std::string ref = r.url.substr(r.url.rfind('/') + 1);
    if (r.url.find("/cv/tf/") != std::string::npos && ref == "latest") {
      ref = tf_index_;
    }
    if (r.url.find("/plain/app/") != std::string::npos && ref == "latest") {
      ref = plain_index_;
    }
    auto doc = docs_.find(ref);
    if (doc == docs_.end()) {
      res.status = 404;
      return res;
    }
    res.status = 200;
    res.headers = {{"content-type", doc->second.first},
                   {"docker-content-digest", ref}};
    if (r.method == "GET") res.body = doc->second.second;
    return res;
  }

  // PullImageRequest bytes with an unknown field 3 (a sandbox config).
  static std::string PullBytes(const std::string& image) {
    runtime::v1::PullImageRequest request;
    request.mutable_image()->set_image(image);
    request.mutable_auth()->set_username("kubelet-user");
    return request.SerializeAsString() + std::string(kSandboxBytes, 7);
  }

  // A raw unary call through the face, as any client would make it.
  UnaryResult Call(const std::string& method, const std::string& request) {
    CallOptions options;
    options.deadline =
        std::chrono::system_clock::now() + std::chrono::seconds(30);
    return NewGrpcContainerdClient(channel_)->Forward(method, request, options);
  }

  grpc::Status Pull(const std::string& image,
                    runtime::v1::PullImageResponse* response) {
    UnaryResult result = Call(kPullImageMethod, PullBytes(image));
    if (result.status.ok()) response->ParseFromString(result.response);
    return result.status;
  }

  std::vector<std::string> PullRequests() {
    absl::MutexLock lock(&upstream_->containerd.mu);
    return upstream_->containerd.pull_requests;
  }

  char dir_[32] = "/tmp/nf-cri-XXXXXX";
  std::unique_ptr<Upstream> upstream_;
  std::shared_ptr<FakeHttpClient> registry_;
  bool registry_down_ = false;
  std::map<std::string, std::pair<std::string, std::string>> docs_;
  std::string generic_, skylake_, tf_index_, plain_index_;
  Metrics metrics_;
  Logger logger_{LogFormat::kJson, LogLevel::kError, [](const std::string&) {}};
  EngineSlot engines_;
  std::unique_ptr<CriFace> face_;
  std::shared_ptr<grpc::Channel> channel_;
};

// --- Pass-through -----------------------------------------------------------

TEST_F(CriFaceTest, AllFourRpcKindsPassThroughWithMetadata) {
  auto stub = nodefit::testing::Echo::NewStub(channel_);
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-test", "hello-meta");
    Note in, out;
    in.set_text("ping");
    grpc::Status s = stub->Unary(&ctx, in, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(out.text(), "ping");
    EXPECT_EQ(InitialValue(ctx, "x-echo"), "hello-meta");
    EXPECT_EQ(ctx.GetServerTrailingMetadata().count("x-trailer"), 1u);
  }
  {
    grpc::ClientContext ctx;
    Note in;
    in.set_index(5);
    auto reader = stub->ServerStream(&ctx, in);
    Note n;
    std::vector<int> got;
    while (reader->Read(&n)) got.push_back(n.index());
    EXPECT_TRUE(reader->Finish().ok());
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
  }
  {
    grpc::ClientContext ctx;
    Note out;
    auto writer = stub->ClientStream(&ctx, &out);
    for (const char* t : {"a", "b", "c"}) {
      Note n;
      n.set_text(t);
      writer->Write(n);
    }
    writer->WritesDone();
    EXPECT_TRUE(writer->Finish().ok());
    EXPECT_EQ(out.index(), 3);
    EXPECT_EQ(out.text(), "abc");
  }
  {
    grpc::ClientContext ctx;
    auto stream = stub->Bidi(&ctx);
    for (int i = 0; i < 4; ++i) {
      Note n, back;
      n.set_index(i);
      ASSERT_TRUE(stream->Write(n));
      ASSERT_TRUE(stream->Read(&back));
      EXPECT_EQ(back.index(), i);
    }
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
  }
  // A service other than the image service has one label for all. A
  // call counts when the server is done with it, just after the client
  // saw its status.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (metrics_.Value("nodefit_cri_requests_total", {"other", "OK"}) < 4 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(metrics_.Value("nodefit_cri_requests_total", {"other", "OK"}), 4u);
}

TEST_F(CriFaceTest, ErrorsDeadlinesAndCancellationPassThrough) {
  auto stub = nodefit::testing::Echo::NewStub(channel_);
  {
    grpc::ClientContext ctx;
    Note in, out;
    in.set_text("fail");
    grpc::Status s = stub->Unary(&ctx, in, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(s.error_message(), "nope");
    EXPECT_EQ(ctx.GetServerTrailingMetadata().count("x-trailer"), 1u);
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(300));
    Note in, out;
    in.set_text("sleep");
    const absl::Time start = absl::Now();
    grpc::Status s = stub->Unary(&ctx, in, &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    // Well before the upstream's own 10 s: the deadline ended the call.
    EXPECT_LT(absl::Now() - start, absl::Seconds(5));
    // The deadline reached containerd's side too.
    for (int i = 0; i < 500 && !upstream_->echo.saw_cancel; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_TRUE(upstream_->echo.saw_cancel.load());
  }
  {
    upstream_->echo.saw_cancel = false;
    grpc::ClientContext ctx;
    auto stream = stub->Bidi(&ctx);
    Note n, back;
    ASSERT_TRUE(stream->Write(n));
    ASSERT_TRUE(stream->Read(&back));
    ctx.TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
    for (int i = 0; i < 500 && !upstream_->echo.saw_cancel; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    EXPECT_TRUE(upstream_->echo.saw_cancel.load());
  }
}

// ListImages, ImageStatus and the like take the unary path (one upstream
// call, not a stream): the same guarantees as the stream path.
TEST_F(CriFaceTest, KnownUnaryCriMethodsKeepMetadataErrorsAndDeadlines) {
  auto stub = runtime::v1::ImageService::NewStub(channel_);
  auto request = [](const std::string& image) {
    runtime::v1::ListImagesRequest r;
    r.mutable_filter()->mutable_image()->set_image(image);
    return r;
  };
  {
    grpc::ClientContext ctx;
    ctx.AddMetadata("x-test", "hello-meta");
    runtime::v1::ListImagesResponse out;
    grpc::Status s = stub->ListImages(&ctx, request("img-1"), &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(out.images_size(), 1);
    EXPECT_EQ(out.images(0).id(), "img-1");
    EXPECT_EQ(InitialValue(ctx, "x-echo"), "hello-meta");
    EXPECT_EQ(ctx.GetServerTrailingMetadata().count("x-trailer"), 1u);
  }
  {
    grpc::ClientContext ctx;
    runtime::v1::ListImagesResponse out;
    grpc::Status s = stub->ListImages(&ctx, request("fail"), &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(s.error_message(), "nope");
    EXPECT_EQ(ctx.GetServerTrailingMetadata().count("x-trailer"), 1u);
  }
  auto wait_for_upstream_cancel = [this] {
    for (int i = 0; i < 500 && !upstream_->containerd.list_saw_cancel; ++i) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    return upstream_->containerd.list_saw_cancel.exchange(false);
  };
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(300));
    runtime::v1::ListImagesResponse out;
    const absl::Time start = absl::Now();
    grpc::Status s = stub->ListImages(&ctx, request("sleep"), &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_LT(absl::Now() - start, absl::Seconds(5));
    EXPECT_TRUE(wait_for_upstream_cancel());
  }
  {
    grpc::ClientContext ctx;
    runtime::v1::ListImagesResponse out;
    std::thread canceller([&ctx] {
      absl::SleepFor(absl::Milliseconds(200));
      ctx.TryCancel();
    });
    grpc::Status s = stub->ListImages(&ctx, request("sleep"), &out);
    canceller.join();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::CANCELLED);
    EXPECT_TRUE(wait_for_upstream_cancel());
  }
  EXPECT_EQ(metrics_.Value("nodefit_cri_requests_total",
                           {"ImageService/ListImages", "OK"}),
            1u);
  EXPECT_EQ(metrics_.Value("nodefit_cri_requests_total",
                           {"ImageService/ListImages", "PERMISSION_DENIED"}),
            1u);
}

TEST_F(CriFaceTest, UnknownImageServiceMethodsGetTheUpstreamsAnswer) {
  EXPECT_EQ(Call("/runtime.v1.ImageService/Nope", "").status.error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(CriFaceTest, OtherServicesArePermissionDeniedByName) {
  for (const char* method :
       {"/runtime.v1.RuntimeService/Version", "/made.up.Service/Nope",
        "/containerd.services.namespaces.v1.Namespaces/Create",
        "/runtime.v1.ImageServiceX/PullImage"}) {
    SCOPED_TRACE(method);
    const grpc::Status status = Call(method, "").status;
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(status.error_message(), HasSubstr(method));
    EXPECT_THAT(status.error_message(),
                HasSubstr("serves runtime.v1.ImageService, "
                          "nodefit.testing.Echo only"));
  }
  // Counted when the server is done with a call, just after its caller
  // saw the status.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (metrics_.Value("nodefit_cri_requests_total",
                        {"denied", "PERMISSION_DENIED"}) < 4 &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(metrics_.Value("nodefit_cri_requests_total",
                           {"denied", "PERMISSION_DENIED"}),
            4u);
}

// --- PullImage --------------------------------------------------------------

TEST_F(CriFaceTest, PullImageChoosesPullsByDigestAndRenames) {
  runtime::v1::PullImageResponse response;
  grpc::Status s = Pull("reg.example/cv/tf:latest", &response);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(response.image_ref(), upstream_->containerd.config_of[skylake_]);
  std::vector<std::string> pulls = PullRequests();
  ASSERT_EQ(pulls.size(), 1u);
  // containerd got the chosen digest with the same auth and, byte for
  // byte, the same sandbox config.
  EXPECT_EQ(pulls[0], PullBytes("reg.example/cv/tf@" + skylake_));
  absl::MutexLock lock(&upstream_->containerd.mu);
  EXPECT_EQ(upstream_->containerd.records["reg.example/cv/tf:latest"],
            skylake_);
  const auto& labels = upstream_->containerd.labels["reg.example/cv/tf:latest"];
  EXPECT_EQ(labels.at("io.cri-containerd.image"), "managed");
  EXPECT_EQ(labels.at("io.nodefit.chosen"), skylake_);
  EXPECT_EQ(labels.at("io.nodefit.index"), tf_index_);
  EXPECT_EQ(labels.at("io.nodefit.features"), "skylake");
}

TEST_F(CriFaceTest, DigestPinnedIndexGetsTheBestBuildToo) {
  runtime::v1::PullImageResponse response;
  const std::string pinned = "reg.example/cv/tf@" + tf_index_;
  ASSERT_TRUE(Pull(pinned, &response).ok());
  EXPECT_EQ(response.image_ref(), upstream_->containerd.config_of[skylake_]);
  absl::MutexLock lock(&upstream_->containerd.mu);
  EXPECT_EQ(upstream_->containerd.records[pinned], skylake_);
}

TEST_F(CriFaceTest, NoFeatureDataOrFailuresForwardTheOriginal) {
  runtime::v1::PullImageResponse response;
  ASSERT_TRUE(Pull("reg.example/plain/app:latest", &response).ok());
  registry_down_ = true;
  ASSERT_TRUE(Pull("reg.example/cv/tf:latest", &response).ok());
  std::vector<std::string> pulls = PullRequests();
  ASSERT_EQ(pulls.size(), 2u);
  EXPECT_EQ(pulls[0], PullBytes("reg.example/plain/app:latest"));
  EXPECT_EQ(pulls[1], PullBytes("reg.example/cv/tf:latest"));
  EXPECT_EQ(metrics_.Value("nodefit_stepaside_total", {"cri", "unreachable"}),
            1u);
}

TEST_F(CriFaceTest, NoMatchIsFailedPreconditionNamingWhatIsMissing) {
  StartEngine({}, "linux/arm64");
  runtime::v1::PullImageResponse response;
  grpc::Status s = Pull("reg.example/cv/tf:latest", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(),
              HasSubstr("no build of reg.example/cv/tf:latest fits node "
                        "linux/arm64 with features []"));
  EXPECT_THAT(s.error_message(), HasSubstr("does not run on linux/arm64"));
  EXPECT_TRUE(PullRequests().empty());
}

TEST_F(CriFaceTest, MalformedReferenceIsInvalidArgument) {
  runtime::v1::PullImageResponse response;
  grpc::Status s = Pull("reg.example/CV/tf:latest", &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("must be lowercase"));
}

// --- Health and the socket ---------------------------------------------------

TEST_F(CriFaceTest, HealthFollowsContainerd) {
  auto health = grpc::health::v1::Health::NewStub(channel_);
  auto check = [&](const std::string& service) {
    grpc::ClientContext ctx;
    grpc::health::v1::HealthCheckRequest in;
    in.set_service(service);
    grpc::health::v1::HealthCheckResponse out;
    grpc::Status s = health->Check(&ctx, in, &out);
    return s.ok() ? static_cast<int>(out.status()) : -s.error_code();
  };
  EXPECT_EQ(check(""), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(check("runtime.v1.ImageService"),
            grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(check("no.such.Service"), -grpc::StatusCode::NOT_FOUND);

  grpc::ClientContext watch_ctx;
  grpc::health::v1::HealthCheckRequest watch_in;
  auto watch = health->Watch(&watch_ctx, watch_in);
  grpc::health::v1::HealthCheckResponse first;
  ASSERT_TRUE(watch->Read(&first));
  EXPECT_EQ(first.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  upstream_->Stop();
  grpc::health::v1::HealthCheckResponse next;
  ASSERT_TRUE(watch->Read(&next));
  EXPECT_EQ(next.status(), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(check(""), grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  watch_ctx.TryCancel();
  (void)watch->Finish();
}

TEST_F(CriFaceTest, SocketModesAndShutdownRemovesIt) {
  const std::string dir = absl::StrCat(dir_, "/run");
  const std::string path = dir + "/cri.sock";
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);

  // A second face on the same live socket is refused.
  CriFaceOptions options;
  options.listen = "unix://" + path;
  absl::StatusOr<std::unique_ptr<CriFace>> second =
      CriFace::Start(options, &engines_, &metrics_, &logger_);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr("already answering"));

  face_->Shutdown(absl::Seconds(1));
  EXPECT_NE(stat(path.c_str(), &st), 0);
}

TEST(UnixSocketTest, StaleSocketsGoOtherFilesStay) {
  char dir[] = "/tmp/nf-sock-XXXXXX";
  ASSERT_EQ(mkdtemp(dir), dir);
  const std::string path = std::string(dir) + "/s.sock";
  // A socket nobody listens on: stale.
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  EXPECT_TRUE(PrepareUnixSocket(path, std::nullopt).ok());
  struct stat st;
  EXPECT_NE(stat(path.c_str(), &st), 0);
  // A regular file is not ours to remove.
  std::ofstream(path) << "x";
  absl::Status refused = PrepareUnixSocket(path, std::nullopt);
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_FALSE(UnixSocketPath("/no/scheme").ok());
  EXPECT_FALSE(UnixSocketPath("unix://" + std::string(120, 'a')).ok());
  std::filesystem::remove_all(dir);
}

TEST(UnixSocketTest, TheDirectoryIsMadeNodefitsOwn) {
  char dir[] = "/tmp/nf-sock-XXXXXX";
  ASSERT_EQ(mkdtemp(dir), dir);
  const std::string run = std::string(dir) + "/run";
  ASSERT_EQ(mkdir(run.c_str(), 0755), 0);  // as kubelet makes a hostPath
  ASSERT_TRUE(PrepareUnixSocket(run + "/cri.sock", std::nullopt).ok());
  struct stat st;
  ASSERT_EQ(stat(run.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // With a group: 0710 and that group.
  ASSERT_TRUE(PrepareUnixSocket(run + "/cri.sock", gid_t{65534}).ok());
  ASSERT_EQ(stat(run.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0710u);
  EXPECT_EQ(st.st_gid, 65534u);
  // A link, a directory of another user and shared system directories are
  // refused, and left as they were.
  const std::string link = std::string(dir) + "/link";
  ASSERT_EQ(symlink(run.c_str(), link.c_str()), 0);
  EXPECT_EQ(PrepareUnixSocket(link + "/cri.sock", std::nullopt).code(),
            absl::StatusCode::kFailedPrecondition);
  const std::string theirs = std::string(dir) + "/theirs";
  ASSERT_EQ(mkdir(theirs.c_str(), 0755), 0);
  ASSERT_EQ(chown(theirs.c_str(), 65534, 65534), 0);
  EXPECT_EQ(PrepareUnixSocket(theirs + "/cri.sock", std::nullopt).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(stat(theirs.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  for (const char* shared : {"/run/cri.sock", "/tmp/cri.sock", "/cri.sock"}) {
    const absl::Status status = PrepareUnixSocket(shared, std::nullopt);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << shared;
    EXPECT_THAT(std::string(status.message()), HasSubstr("of nodefit's own"));
  }
  ASSERT_EQ(stat("/tmp", &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nodefit
