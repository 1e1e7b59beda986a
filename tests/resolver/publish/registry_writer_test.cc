// RegistryWriter against a scripted registry behind our HttpClient seam:
// the order and shape of what it sends (mounts, chunked copies, commits),
// and that nothing is committed when the content is wrong. The same
// against the real docker-registry is integration/index_create_test.cc.
#include "resolver/publish/registry_writer.h"

#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "resolver/registry/digest.h"
#include "tests/resolver/registry/fake_http_client.h"

namespace nodefit {
namespace {

using ::nodefit::testing::FakeHttpClient;
using ::nodefit::testing::RequestHeader;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kBlob[] = "twenty bytes of blob";  // 20 bytes

// A registry at https://reg.example holding kBlob in src/app, with what the
// test wants it to do differently.
struct ScriptedRegistry {
  std::string blob = kBlob;
  bool target_has_blob = false;
  bool mount_succeeds = false;
  bool honour_range = true;
  // Where uploads continue: empty for a path on the registry itself.
  std::string upload_origin;

  absl::StatusOr<HttpResponse> Handle(const HttpRequest& r) {
    HttpResponse res;
    // The registry wants Basic credentials; its blob storage does not.
    if (!absl::StartsWith(r.url, "https://storage.example/") &&
        RequestHeader(r, "Authorization").empty()) {
      res.status = 401;
      res.headers = {{"www-authenticate", "Basic realm=\"reg\""}};
      return res;
    }
    const std::string path = r.url.substr(r.url.find('/', 8));
    if (r.method == "HEAD" && absl::StartsWith(path, "/v2/dst/app/blobs/")) {
      res.status = target_has_blob ? 200 : 404;
    } else if (r.method == "POST") {
      res.status =
          absl::StrContains(path, "mount=") && mount_succeeds ? 201 : 202;
      res.headers = {{"location", upload_origin + "/upload/1?_state=a"}};
    } else if (r.method == "GET" &&
               absl::StartsWith(path, "/v2/src/app/blobs/")) {
      const std::string range = RequestHeader(r, "Range");
      int64_t from = 0, to = 0;
      std::vector<std::string> parts =
          absl::StrSplit(absl::StripPrefix(range, "bytes="), '-');
      if (honour_range && parts.size() == 2 &&
          absl::SimpleAtoi(parts[0], &from) &&
          absl::SimpleAtoi(parts[1], &to)) {
        res.status = 206;
        res.body = blob.substr(from, to - from + 1);
      } else {
        res.status = 200;
        res.body = blob;
      }
    } else if (r.method == "PATCH") {
      res.status = 202;
      res.headers = {{"location", upload_origin + "/upload/1?_state=b"}};
    } else if (r.method == "PUT") {
      res.status = 201;
    } else {
      res.status = 404;
    }
    return res;
  }
};

class RegistryWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("DOCKER_CONFIG", "/nonexistent/nodefit-test", 1);
    http_ = std::make_shared<FakeHttpClient>(
        [this](const HttpRequest& r) { return registry_.Handle(r); });
    RegistryClientOptions options;
    options.registries["reg.example"].username = "publisher";
    options.registries["reg.example"].password = "publisher-secret";
    options.registries["other.example"] = options.registries["reg.example"];
    client_ = *NewRegistryClient(std::move(options), http_);
  }

  // What was sent with credentials (the registry's 401s left out).
  std::vector<std::string> Sent() {
    std::vector<std::string> out;
    for (const HttpRequest& r : http_->requests()) {
      if (RequestHeader(r, "Authorization").empty()) continue;
      out.push_back(
          absl::StrCat(r.method, " ", r.url.substr(r.url.find('/', 8))));
    }
    return out;
  }

  ScriptedRegistry registry_;
  std::shared_ptr<FakeHttpClient> http_;
  std::unique_ptr<RegistryClient> client_;
  const Reference src_{"reg.example", "src/app", "", ""};
  const Reference dst_{"reg.example", "dst/app", "", ""};
  const Reference other_{"other.example", "dst/app", "", ""};
  const BlobRef blob_{Sha256Digest(kBlob), 20};
};

TEST_F(RegistryWriterTest, PresentBlobsAreLeftAlone) {
  registry_.target_has_blob = true;
  RegistryWriter writer(client_.get(), 8);
  EXPECT_EQ(*writer.CopyBlob(src_, dst_, blob_), BlobTransfer::kPresent);
  EXPECT_THAT(Sent(), ElementsAre("HEAD /v2/dst/app/blobs/" + blob_.digest));
}

TEST_F(RegistryWriterTest, SameRegistryMountsAndReadsNothing) {
  registry_.mount_succeeds = true;
  RegistryWriter writer(client_.get(), 8);
  EXPECT_EQ(*writer.CopyBlob(src_, dst_, blob_), BlobTransfer::kMounted);
  EXPECT_THAT(Sent(), ElementsAre("HEAD /v2/dst/app/blobs/" + blob_.digest,
                                  "POST /v2/dst/app/blobs/uploads/?mount=" +
                                      blob_.digest + "&from=src/app"));
  EXPECT_EQ(writer.stats().blobs_mounted, 1);
}

TEST_F(RegistryWriterTest, DeclinedMountIsCopiedInChunksThenCommitted) {
  RegistryWriter writer(client_.get(), 8);
  EXPECT_EQ(*writer.CopyBlob(src_, dst_, blob_), BlobTransfer::kCopied);
  std::vector<std::string> ranges, content_ranges;
  std::string commit;
  for (const HttpRequest& r : http_->requests()) {
    if (r.method == "GET") ranges.push_back(RequestHeader(r, "Range"));
    if (r.method == "PATCH") {
      content_ranges.push_back(RequestHeader(r, "Content-Range"));
      EXPECT_LE(r.body.size(), 8U);
    }
    if (r.method == "PUT") commit = r.url;
  }
  EXPECT_THAT(ranges, ElementsAre("bytes=0-7", "bytes=8-15", "bytes=16-19"));
  EXPECT_THAT(content_ranges, ElementsAre("0-7", "8-15", "16-19"));
  EXPECT_EQ(commit, "https://reg.example/upload/1?_state=b&digest=" +
                        absl::StrReplaceAll(blob_.digest, {{":", "%3A"}}));
  EXPECT_EQ(writer.stats().bytes_copied, 20);
}

TEST_F(RegistryWriterTest, ABlobOfOneChunkGoesUpWithTheCommit) {
  RegistryWriter writer(client_.get(), 64);
  ASSERT_TRUE(writer.CopyBlob(src_, other_, blob_).ok());
  const std::vector<HttpRequest> sent = http_->requests();
  EXPECT_EQ(sent.back().method, "PUT");
  EXPECT_EQ(sent.back().body, kBlob);
  for (const HttpRequest& r : sent) EXPECT_NE(r.method, "PATCH");
  // Another registry: no mount asked for.
  for (const HttpRequest& r : sent) {
    EXPECT_FALSE(absl::StrContains(r.url, "mount=")) << r.url;
  }
}

TEST_F(RegistryWriterTest, WrongContentIsNeverCommitted) {
  registry_.blob = "twenty bytes of blub";  // same size, other digest
  RegistryWriter writer(client_.get(), 8);
  absl::StatusOr<BlobTransfer> copied = writer.CopyBlob(src_, dst_, blob_);
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(copied.status().message(), HasSubstr("content hashes to"));
  for (const HttpRequest& r : http_->requests()) EXPECT_NE(r.method, "PUT");
}

TEST_F(RegistryWriterTest, ARegistryIgnoringRangeIsRefusedNotBuffered) {
  registry_.honour_range = false;
  RegistryWriter writer(client_.get(), 8);
  absl::StatusOr<BlobTransfer> copied = writer.CopyBlob(src_, dst_, blob_);
  ASSERT_FALSE(copied.ok());
  EXPECT_EQ(copied.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(copied.status().message(), HasSubstr("asked for bytes 0-7"));
  for (const HttpRequest& r : http_->requests()) EXPECT_NE(r.method, "PUT");
}

TEST_F(RegistryWriterTest, UploadsToAnotherOriginCarryNoCredentials) {
  registry_.upload_origin = "https://storage.example";
  RegistryWriter writer(client_.get(), 8);
  ASSERT_TRUE(writer.CopyBlob(src_, dst_, blob_).ok());
  int elsewhere = 0;
  for (const HttpRequest& r : http_->requests()) {
    if (absl::StartsWith(r.url, "https://storage.example/")) {
      ++elsewhere;
      EXPECT_EQ(RequestHeader(r, "Authorization"), "") << r.url;
    }
  }
  // The registry itself got them.
  EXPECT_THAT(Sent(), ::testing::Contains(::testing::StartsWith(
                          "POST /v2/dst/app/blobs/uploads/")));
  EXPECT_EQ(elsewhere, 4);  // three PATCHes and the commit
}

TEST_F(RegistryWriterTest, ManifestPutChecksTheStoredDigest) {
  RegistryWriter writer(client_.get());
  EXPECT_TRUE(writer.PutManifest(dst_, "1", "application/x", "{}").ok());
  const HttpRequest put = http_->requests().back();
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(RequestHeader(put, "Content-Type"), "application/x");
  EXPECT_EQ(put.body, "{}");
}

}  // namespace
}  // namespace nodefit
