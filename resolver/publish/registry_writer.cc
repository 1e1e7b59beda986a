#include "resolver/publish/registry_writer.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "resolver/base/status_macros.h"
#include "resolver/registry/digest.h"

namespace nodefit {
namespace {

std::string PullScope(const Reference& r) {
  return absl::StrCat("repository:", r.repository, ":pull");
}
std::string PushScope(const Reference& r) {
  return absl::StrCat("repository:", r.repository, ":pull,push");
}
std::string What(absl::string_view kind, const Reference& r,
                 absl::string_view detail) {
  return absl::StrCat(kind, " ", r.repository, detail.empty() ? "" : " ",
                      detail);
}

// The registry's next upload URL; relative ones are paths on its endpoint.
absl::StatusOr<std::string> UploadLocation(const HttpResponse& response,
                                           const Reference& to) {
  std::optional<std::string> location = response.Header("location");
  if (!location.has_value() || location->empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("registry ", to.registry, " started a blob upload to ",
                     to.repository, " without a Location"));
  }
  return *location;
}

}  // namespace

absl::StatusOr<HttpResponse> RegistryWriter::Send(
    const Reference& repository, HttpRequest request,
    const std::vector<std::string>& scopes) {
  return client_->SendToRepository(repository.registry, repository.repository,
                                   std::move(request), scopes, nullptr);
}

absl::StatusOr<FetchedManifest> RegistryWriter::GetManifest(
    const Reference& reference) {
  // The pull side's resolution: the same Accept list, verification against
  // the digest asked for (or the one the registry names), bounds and cache.
  ASSIGN_OR_RETURN(Resolution resolution, client_->Resolve(reference, nullptr));
  const CachedDocument& doc = *resolution.document;
  return FetchedManifest{doc.media_type, doc.digest, doc.body};
}

absl::StatusOr<std::string> RegistryWriter::GetSmallBlob(
    const Reference& repository, const BlobRef& blob, int64_t max_bytes) {
  const std::string what = What("blob", repository, blob.digest);
  if (blob.size > max_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, " is ", blob.size, " bytes, more than ", max_bytes));
  }
  HttpRequest request;
  request.url =
      absl::StrCat("/v2/", repository.repository, "/blobs/", blob.digest);
  request.max_body_bytes = static_cast<size_t>(max_bytes);
  ASSIGN_OR_RETURN(HttpResponse response, Send(repository, std::move(request),
                                               {PullScope(repository)}));
  if (response.status != 200) {
    return RegistryStatusError(repository.registry, what, response.status,
                               false);
  }
  RETURN_IF_ERROR(
      VerifyDigest(response.body, blob.digest,
                   absl::StrCat(what, " from ", repository.registry)));
  return std::move(response.body);
}

absl::StatusOr<bool> RegistryWriter::HasBlob(const Reference& repository,
                                             const BlobRef& blob) {
  HttpRequest request;
  request.method = "HEAD";
  request.url =
      absl::StrCat("/v2/", repository.repository, "/blobs/", blob.digest);
  ASSIGN_OR_RETURN(HttpResponse response, Send(repository, std::move(request),
                                               {PushScope(repository)}));
  if (response.status == 200) return true;
  if (response.status == 404) return false;
  return RegistryStatusError(repository.registry,
                             What("blob", repository, blob.digest),
                             response.status, false);
}

absl::StatusOr<BlobTransfer> RegistryWriter::CopyBlob(const Reference& from,
                                                      const Reference& to,
                                                      const BlobRef& blob) {
  RETURN_IF_ERROR(ValidateDigest(blob.digest));
  ASSIGN_OR_RETURN(bool present, HasBlob(to, blob));
  if (present) {
    ++stats_.blobs_present;
    return BlobTransfer::kPresent;
  }
  const bool same_registry = from.registry == to.registry;
  HttpRequest start;
  start.method = "POST";
  start.url = absl::StrCat("/v2/", to.repository, "/blobs/uploads/");
  std::vector<std::string> scopes = {PushScope(to)};
  if (same_registry && from.repository != to.repository) {
    // A mount needs read access to the source as well.
    absl::StrAppend(&start.url, "?mount=", blob.digest,
                    "&from=", from.repository);
    scopes.push_back(PullScope(from));
  }
  ASSIGN_OR_RETURN(HttpResponse started, Send(to, std::move(start), scopes));
  if (started.status == 201) {
    ++stats_.blobs_mounted;
    return BlobTransfer::kMounted;
  }
  if (started.status != 202) {
    return RegistryStatusError(to.registry,
                               What("blob upload to", to, blob.digest),
                               started.status, false);
  }
  // No mount (another registry, or the registry declined): copy.
  ASSIGN_OR_RETURN(std::string location, UploadLocation(started, to));
  RETURN_IF_ERROR(Upload(from, to, blob, std::move(location)));
  ++stats_.blobs_copied;
  stats_.bytes_copied += blob.size;
  return BlobTransfer::kCopied;
}

absl::Status RegistryWriter::Upload(const Reference& from, const Reference& to,
                                    const BlobRef& blob, std::string location) {
  const std::string what = What("blob", from, blob.digest);
  Sha256Stream digest;
  int64_t offset = 0;
  std::string last_chunk;  // a blob of one chunk goes up with the PUT
  while (offset < blob.size || (blob.size == 0 && offset == 0)) {
    const int64_t end = std::min(blob.size, offset + chunk_bytes_) - 1;
    HttpRequest get;
    get.url = absl::StrCat("/v2/", from.repository, "/blobs/", blob.digest);
    get.max_body_bytes = static_cast<size_t>(chunk_bytes_);
    if (blob.size > 0) {
      get.headers.emplace_back("Range",
                               absl::StrCat("bytes=", offset, "-", end));
    }
    absl::StatusOr<HttpResponse> got =
        Send(from, std::move(get), {PullScope(from)});
    if (!got.ok()) {
      if (got.status().code() == absl::StatusCode::kResourceExhausted) {
        return absl::ResourceExhaustedError(absl::StrCat(
            what, " from ", from.registry,
            ": the registry ignored a Range request and sent more than one "
            "chunk; nodefit does not hold a whole blob in memory"));
      }
      return got.status();
    }
    if (got->status != 206 && !(got->status == 200 && offset == 0)) {
      return RegistryStatusError(from.registry, what, got->status, false);
    }
    const int64_t want = blob.size == 0 ? 0 : end - offset + 1;
    if (static_cast<int64_t>(got->body.size()) != want) {
      return absl::DataLossError(
          absl::StrCat(what, " from ", from.registry, ": asked for bytes ",
                       offset, "-", end, ", got ", got->body.size(), " bytes"));
    }
    digest.Update(got->body);
    const bool last = end + 1 >= blob.size;
    if (last && offset == 0) {
      last_chunk = std::move(got->body);  // monolithic: one PUT
      offset = blob.size;
      break;
    }
    HttpRequest patch;
    patch.method = "PATCH";
    patch.url = location;
    patch.headers.emplace_back("Content-Type", "application/octet-stream");
    patch.headers.emplace_back("Content-Range", absl::StrCat(offset, "-", end));
    patch.body = std::move(got->body);
    ASSIGN_OR_RETURN(HttpResponse patched,
                     Send(to, std::move(patch), {PushScope(to)}));
    if (patched.status != 202) {
      return RegistryStatusError(to.registry,
                                 What("blob upload to", to, blob.digest),
                                 patched.status, false);
    }
    ASSIGN_OR_RETURN(location, UploadLocation(patched, to));
    offset = end + 1;
  }
  const std::string actual = digest.Finish();
  if (actual != blob.digest) {
    return absl::DataLossError(absl::StrCat(what, " from ", from.registry,
                                            ": content hashes to ", actual));
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = absl::StrCat(
      location, location.find('?') == std::string::npos ? "?" : "&",
      "digest=", absl::StrReplaceAll(blob.digest, {{":", "%3A"}}));
  put.headers.emplace_back("Content-Type", "application/octet-stream");
  put.body = std::move(last_chunk);
  ASSIGN_OR_RETURN(HttpResponse done,
                   Send(to, std::move(put), {PushScope(to)}));
  if (done.status != 201) {
    return RegistryStatusError(to.registry,
                               What("blob upload to", to, blob.digest),
                               done.status, false);
  }
  return absl::OkStatus();
}

absl::Status RegistryWriter::PutManifest(const Reference& to,
                                         absl::string_view tag_or_digest,
                                         absl::string_view media_type,
                                         absl::string_view body) {
  HttpRequest put;
  put.method = "PUT";
  put.url = absl::StrCat("/v2/", to.repository, "/manifests/", tag_or_digest);
  put.headers.emplace_back("Content-Type", std::string(media_type));
  put.body = std::string(body);
  ASSIGN_OR_RETURN(HttpResponse response,
                   Send(to, std::move(put), {PushScope(to)}));
  const std::string what = What("manifest", to, tag_or_digest);
  if (response.status != 201) {
    return RegistryStatusError(to.registry, what, response.status, false);
  }
  const std::string digest = Sha256Digest(body);
  std::optional<std::string> stored = response.Header("docker-content-digest");
  if (stored.has_value() && *stored != digest) {
    return absl::DataLossError(absl::StrCat(what, " on ", to.registry,
                                            ": the registry stored ", *stored,
                                            ", nodefit sent ", digest));
  }
  return absl::OkStatus();
}

}  // namespace nodefit
