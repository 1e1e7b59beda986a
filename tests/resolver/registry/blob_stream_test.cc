// BlobStream against a real HTTP server on loopback (cpp-httplib) through
// the real registry client and libcurl.
#include "resolver/registry/blob_stream.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "resolver/registry/digest.h"
#include "tests/http_test_server.h"

namespace nodefit {
namespace {

using ::testing::HasSubstr;

class BlobStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.server().Get(
        R"(/v2/team/app/blobs/(.+))",
        [this](const httplib::Request& req, httplib::Response& res) {
          const std::string digest = req.matches[1];
          if (digest != good_digest_ && digest != bad_digest_) {
            res.status = 404;
            res.set_content(R"({"errors":[{"code":"BLOB_UNKNOWN"}]})",
                            "application/json");
            return;
          }
          if (req.has_header("Range")) {
            // httplib answers the range itself: 206 and Content-Range.
            res.set_content(blob_, "application/octet-stream");
            return;
          }
          // Produced as the client takes it, so the test sees how far the
          // upstream got.
          res.set_content_provider(
              blob_.size(), "application/octet-stream",
              [this](size_t offset, size_t length, httplib::DataSink& sink) {
                const size_t n = std::min<size_t>(length, 64 << 10);
                produced_ = offset + n;
                return sink.write(blob_.data() + offset, n);
              });
        });
    server_.Start();
    absl::StatusOr<std::unique_ptr<HttpClient>> http = NewCurlHttpClient({});
    ASSERT_TRUE(http.ok());
    RegistryClientOptions options;
    options.docker_config = "/nonexistent/none.json";
    options.anonymous = true;
    absl::StatusOr<std::unique_ptr<RegistryClient>> client =
        NewRegistryClient(options, *std::move(http));
    ASSERT_TRUE(client.ok()) << client.status();
    registry_ = *std::move(client);
    repository_.registry = server_.HostPort();
    repository_.repository = "team/app";
  }

  absl::StatusOr<std::unique_ptr<BlobStream>> Open(
      const std::string& digest, const std::string& range = "") {
    BlobStreamOptions options;
    options.buffer_bytes = 1 << 20;
    return BlobStream::Open(registry_, repository_, digest, range, options);
  }

  // Reads to the end; the bytes, or the first error.
  static absl::StatusOr<std::string> ReadAll(BlobStream& stream) {
    std::string all;
    while (true) {
      absl::StatusOr<std::string> piece = stream.Read(256 << 10);
      if (!piece.ok()) {
        if (piece.status().code() == absl::StatusCode::kOutOfRange) break;
        return piece.status();
      }
      EXPECT_FALSE(piece->empty());
      all += *piece;
    }
    return all;
  }

  const std::string blob_ = [] {
    std::string b(40 << 20, '\0');
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<char>(i * 7);
    return b;
  }();
  const std::string good_digest_ = Sha256Digest(blob_);
  const std::string bad_digest_ = Sha256Digest("something else");
  std::atomic<size_t> produced_{0};
  testing::HttpTestServer server_;
  std::shared_ptr<RegistryClient> registry_;
  Reference repository_;
};

TEST_F(BlobStreamTest, AWholeBlobStreamsAtTheReadersPace) {
  absl::StatusOr<std::unique_ptr<BlobStream>> stream = Open(good_digest_);
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ((*stream)->head().status, 200);
  EXPECT_EQ((*stream)->head().content_length,
            static_cast<int64_t>(blob_.size()));
  // Nobody reads: the upstream stops once the buffer (and the sockets'
  // own buffers) are full, far short of the blob.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_LT(produced_.load(), blob_.size() / 2);
  absl::StatusOr<std::string> all = ReadAll(**stream);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), blob_.size());
  EXPECT_TRUE(*all == blob_);
}

TEST_F(BlobStreamTest, ContentThatDoesNotVerifyLosesItsLastByte) {
  absl::StatusOr<std::unique_ptr<BlobStream>> stream = Open(bad_digest_);
  ASSERT_TRUE(stream.ok()) << stream.status();
  size_t got = 0;
  absl::Status end;
  while (true) {
    absl::StatusOr<std::string> piece = (*stream)->Read(1 << 20);
    if (!piece.ok()) {
      end = piece.status();
      break;
    }
    got += piece->size();
  }
  EXPECT_EQ(end.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(end.message()), HasSubstr("content hashes to"));
  EXPECT_LT(got, blob_.size());
}

TEST_F(BlobStreamTest, ARangeIsRelayedAsAsked) {
  absl::StatusOr<std::unique_ptr<BlobStream>> stream =
      Open(good_digest_, "bytes=100-199");
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ((*stream)->head().status, 206);
  EXPECT_EQ((*stream)->head().content_length, 100);
  EXPECT_EQ((*stream)->head().content_range,
            absl::StrCat("bytes 100-199/", blob_.size()));
  absl::StatusOr<std::string> all = ReadAll(**stream);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, blob_.substr(100, 100));
}

TEST_F(BlobStreamTest, AnErrorStatusIsAHeadWithoutBody) {
  absl::StatusOr<std::unique_ptr<BlobStream>> stream =
      Open(Sha256Digest("absent"));
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ((*stream)->head().status, 404);
  EXPECT_EQ((*stream)->Read(10).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(BlobStreamTest, AnUnreachableRegistryAndABadDigestAreErrors) {
  EXPECT_EQ(Open("sha256:short").status().code(),
            absl::StatusCode::kInvalidArgument);
  server_.Stop();
  absl::StatusOr<std::unique_ptr<BlobStream>> stream = Open(good_digest_);
  ASSERT_FALSE(stream.ok());
  EXPECT_EQ(stream.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(BlobStreamTest, AReaderLeavingMidwayStopsTheTransfer) {
  absl::StatusOr<std::unique_ptr<BlobStream>> stream = Open(good_digest_);
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE((*stream)->Read(1000).ok());
  const absl::Time start = absl::Now();
  stream->reset();  // cancels and joins
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_LT(produced_.load(), blob_.size());
}

}  // namespace
}  // namespace nodefit
