#include "resolver/registry/digest.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "resolver/registry/reference.h"

namespace nodefit {

std::string Sha256Digest(absl::string_view data) {
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), hash, &length, EVP_sha256(), nullptr);
  return absl::StrCat("sha256:",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(hash), length)));
}

absl::Status VerifyDigest(absl::string_view data, absl::string_view digest,
                          absl::string_view what) {
  if (absl::Status s = ValidateDigest(digest); !s.ok()) return s;
  const std::string actual = Sha256Digest(data);
  if (actual != digest) {
    return absl::DataLossError(absl::StrCat(
        what, ": content hashes to ", actual, ", not the expected ", digest));
  }
  return absl::OkStatus();
}

struct Sha256Stream::Context {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(),
                                                              &EVP_MD_CTX_free};
};

Sha256Stream::Sha256Stream() : context_(std::make_unique<Context>()) {
  EVP_DigestInit_ex(context_->ctx.get(), EVP_sha256(), nullptr);
}

Sha256Stream::~Sha256Stream() = default;

void Sha256Stream::Update(absl::string_view data) {
  EVP_DigestUpdate(context_->ctx.get(), data.data(), data.size());
}

std::string Sha256Stream::Finish() {
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context_->ctx.get(), hash, &length);
  return absl::StrCat("sha256:",
                      absl::BytesToHexString(absl::string_view(
                          reinterpret_cast<const char*>(hash), length)));
}

}  // namespace nodefit
