#include "resolver/registry/blob_stream.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace nodefit {

BlobStream::BlobStream(const BlobStreamOptions& options, std::string digest,
                       bool verify)
    : options_(options), digest_(std::move(digest)), verify_(verify) {}

absl::StatusOr<std::unique_ptr<BlobStream>> BlobStream::Open(
    std::shared_ptr<RegistryClient> registry, const Reference& repository,
    const std::string& digest, const std::string& range,
    const BlobStreamOptions& options) {
  if (absl::Status s = ValidateDigest(digest); !s.ok()) return s;
  std::unique_ptr<BlobStream> stream(
      new BlobStream(options, digest, /*verify=*/range.empty()));
  BlobStream* self = stream.get();
  stream->thread_ =
      std::thread([self, registry = std::move(registry), repository, range] {
        self->Transfer(registry, repository, range);
      });
  absl::Status error;
  {
    absl::MutexLock lock(&stream->mu_);
    stream->mu_.Await(absl::Condition(
        +[](BlobStream* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
          return s->answered_ || s->finished_;
        },
        self));
    if (!stream->answered_) error = stream->error_;
  }
  if (!error.ok()) return error;  // the destructor joins the thread
  return stream;
}

BlobStream::~BlobStream() {
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void BlobStream::Transfer(const std::shared_ptr<RegistryClient>& registry,
                          const Reference& repository,
                          const std::string& range) {
  HttpRequest request;
  request.url = absl::StrCat("/v2/", repository.repository, "/blobs/", digest_);
  if (!range.empty()) request.headers.emplace_back("Range", range);
  request.timeout = options_.timeout;
  request.stall_timeout = options_.stall_timeout;
  request.max_body_bytes = 64 << 10;  // an error body, not the blob
  request.on_body_start = [this](int status, const HeaderList& headers) {
    BlobHead head;
    head.status = status;
    for (const auto& [name, value] : headers) {
      if (name == "content-length") {
        if (!absl::SimpleAtoi(value, &head.content_length)) {
          head.content_length = -1;
        }
      } else if (name == "content-range") {
        head.content_range = value;
      }
    }
    absl::MutexLock lock(&mu_);
    head_ = std::move(head);
    answered_ = true;
  };
  request.body_sink = [this](absl::string_view piece) { return Accept(piece); };
  absl::StatusOr<HttpResponse> response =
      registry->SendToRepository(repository.registry, repository.repository,
                                 std::move(request), {}, nullptr);

  absl::Status error;
  BlobHead head;
  if (!response.ok()) {
    error = response.status();
  } else if (!response->body_streamed) {
    // No body went through the sink: an error status, or an empty body.
    head.status = response->status;
    head.content_length = 0;
    if (std::optional<std::string> r = response->Header("content-range")) {
      head.content_range = *r;
    }
    if (verify_ && response->status == 200 && digest_ != Sha256Digest("")) {
      error = absl::DataLossError(
          absl::StrCat("blob ", digest_, " of ", repository.Name(),
                       ": the registry sent ", "an empty body"));
    }
  } else if (verify_) {
    const std::string actual = hash_.Finish();
    if (actual != digest_) {
      error = absl::DataLossError(absl::StrCat("blob ", digest_, " of ",
                                               repository.Name(),
                                               ": content hashes to ", actual));
    }
  }
  absl::MutexLock lock(&mu_);
  if (!answered_ && response.ok()) {
    head_ = std::move(head);
    answered_ = true;
  }
  if (error.ok() && answered_ && head_.content_length >= 0 && response.ok() &&
      response->body_streamed && received_ != head_.content_length) {
    error = absl::DataLossError(absl::StrCat(
        "blob ", digest_, " of ", repository.Name(), ": the registry sent ",
        received_, " of the ", head_.content_length, " bytes it announced"));
  }
  error_ = std::move(error);
  finished_ = true;
}

bool BlobStream::Accept(absl::string_view piece) {
  if (verify_) hash_.Update(piece);
  received_ += static_cast<int64_t>(piece.size());
  absl::MutexLock lock(&mu_);
  // Room for the piece, or an empty buffer (a piece larger than the bound
  // is taken alone rather than never).
  auto room = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopped_ || buffered_ == 0 ||
           buffered_ + piece.size() <= options_.buffer_bytes;
  };
  mu_.Await(absl::Condition(&room));
  if (stopped_) return false;
  buffered_ += piece.size();
  pieces_.emplace_back(piece);
  return true;
}

size_t BlobStream::Releasable() const {
  if (!error_.ok()) return 0;
  // Hold the last byte of a whole blob back until the transfer is done and
  // the content verified.
  if (verify_ && !finished_ && buffered_ > 0) return buffered_ - 1;
  return buffered_;
}

absl::StatusOr<std::string> BlobStream::Read(size_t max_bytes) {
  absl::MutexLock lock(&mu_);
  auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return finished_ || Releasable() > 0;
  };
  mu_.Await(absl::Condition(&ready));
  if (!error_.ok()) return error_;
  size_t want = std::min(max_bytes, Releasable());
  if (want == 0) return absl::OutOfRangeError("end of the blob");
  // One piece, or its rest, at a time: moved out whole when it can be
  // (pieces are the HTTP client's reads, at most 192 KB, so nothing here
  // allocates large buffers), never concatenated.
  std::string& front = pieces_.front();
  std::string out;
  if (front_offset_ == 0 && front.size() <= want) {
    out = std::move(front);
    pieces_.pop_front();
  } else {
    const size_t take = std::min(want, front.size() - front_offset_);
    out = front.substr(front_offset_, take);
    front_offset_ += take;
    if (front_offset_ == front.size()) {
      pieces_.pop_front();
      front_offset_ = 0;
    }
  }
  buffered_ -= out.size();
  return out;
}

}  // namespace nodefit
