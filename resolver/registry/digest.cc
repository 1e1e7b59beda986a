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

}  // namespace nodefit
