#include "plugin/tls/pki.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "openssl/bn.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"
#include "resolver/base/file_util.h"
#include "resolver/base/status_macros.h"

namespace nodefit {
namespace {

constexpr absl::Duration kCaValidity = absl::Hours(24 * 3650);
constexpr absl::Duration kLeafValidity = absl::Hours(24 * 365);
constexpr size_t kMaxPemBytes = 64 << 10;

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

absl::Status OpenSslError(absl::string_view what) {
  return absl::InternalError(absl::StrCat("openssl: ", what));
}

enum class Kind { kCa, kServer, kClient };

// The directory, made 0700 if missing; refused unless it is a real
// directory of this user that nobody else can write.
absl::Status SafeDirectory(const std::string& dir) {
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::InternalError(
          absl::StrCat("cannot inspect ", dir, ": ", std::strerror(errno)));
    }
    const size_t slash = dir.rfind('/');
    if (slash != std::string::npos && slash > 0) {
      struct stat parent;
      if (lstat(dir.substr(0, slash).c_str(), &parent) != 0 &&
          mkdir(dir.substr(0, slash).c_str(), 0755) != 0 && errno != EEXIST) {
        return absl::InternalError(absl::StrCat("cannot create ",
                                                dir.substr(0, slash), ": ",
                                                std::strerror(errno)));
      }
    }
    if (mkdir(dir.c_str(), 0700) != 0) {
      return absl::InternalError(
          absl::StrCat("cannot create ", dir, ": ", std::strerror(errno)));
    }
    if (lstat(dir.c_str(), &st) != 0) {
      return absl::InternalError(absl::StrCat("cannot inspect ", dir));
    }
  }
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " is not a directory (a symlink is refused)"));
  }
  if (st.st_uid != geteuid()) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " belongs to uid ", st.st_uid, ", not to uid ", geteuid(),
        ": nodefit keeps its keys only in a "
        "directory of its own"));
  }
  if ((st.st_mode & 022) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " is writable by group or others (mode ",
        absl::StrFormat("%04o", st.st_mode & 0777), "); chmod 700 it"));
  }
  return absl::OkStatus();
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

Key NewKey() { return Key(EVP_EC_gen("P-256")); }

absl::Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid,
                          const char* value) {
  std::unique_ptr<X509_EXTENSION, Free> ext(
      X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return OpenSslError(absl::StrCat("extension ", value));
  }
  return absl::OkStatus();
}

absl::StatusOr<Cert> Issue(EVP_PKEY* key, Kind kind, X509* ca, EVP_PKEY* ca_key,
                           absl::Time now) {
  Cert cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), 2) != 1) {
    return OpenSslError("X509_new");
  }
  std::unique_ptr<BIGNUM, Free> serial(BN_new());
  if (serial == nullptr ||
      BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ==
          nullptr) {
    return OpenSslError("serial number");
  }
  const int64_t start = absl::ToUnixSeconds(now) - 300;  // clock skew
  const int64_t end =
      start +
      absl::ToInt64Seconds(kind == Kind::kCa ? kCaValidity : kLeafValidity);
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), start) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), end) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return OpenSslError("validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  const char* cn = kind == Kind::kCa       ? "nodefit node CA"
                   : kind == Kind::kServer ? "nodefit"
                                           : "containerd";
  if (X509_NAME_add_entry_by_txt(
          name, "O", MBSTRING_ASC,
          reinterpret_cast<const unsigned char*>("nodefit"), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(cn), -1,
                                 -1, 0) != 1) {
    return OpenSslError("subject");
  }
  X509* issuer = kind == Kind::kCa ? cert.get() : ca;
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer)) != 1) {
    return OpenSslError("issuer");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert.get(), nullptr, nullptr, 0);
  RETURN_IF_ERROR(
      AddExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (kind == Kind::kCa) {
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints,
                                 "critical,CA:TRUE,pathlen:0"));
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage,
                                 "critical,keyCertSign,cRLSign"));
  } else {
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_basic_constraints,
                                 "critical,CA:FALSE"));
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_key_usage,
                                 "critical,digitalSignature"));
    RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_authority_key_identifier,
                                 "keyid:always"));
    RETURN_IF_ERROR(
        AddExtension(cert.get(), &ctx, NID_ext_key_usage,
                     kind == Kind::kServer ? "serverAuth" : "clientAuth"));
    if (kind == Kind::kServer) {
      RETURN_IF_ERROR(AddExtension(cert.get(), &ctx, NID_subject_alt_name,
                                   "IP:127.0.0.1,IP:::1,DNS:localhost"));
    }
  }
  if (X509_sign(cert.get(), kind == Kind::kCa ? key : ca_key, EVP_sha256()) <=
      0) {
    return OpenSslError("signing");
  }
  return cert;
}

absl::StatusOr<std::string> CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return OpenSslError("PEM certificate");
  }
  char* data = nullptr;
  const int64_t size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

absl::StatusOr<std::string> KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return OpenSslError("PEM key");
  }
  char* data = nullptr;
  const int64_t size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

absl::StatusOr<Cert> LoadCert(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadFileNoFollow(path, kMaxPemBytes));
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no PEM certificate"));
  }
  return cert;
}

absl::StatusOr<Key> LoadKey(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadFileNoFollow(path, kMaxPemBytes));
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " holds no PEM private key"));
  }
  return key;
}

// Writes a key (0600) and its certificate (0644): the key first, so a
// certificate on disk never names a key that is not there.
absl::Status WritePair(const std::string& cert_path,
                       const std::string& key_path, X509* cert, EVP_PKEY* key) {
  ASSIGN_OR_RETURN(std::string key_pem, KeyPem(key));
  ASSIGN_OR_RETURN(std::string cert_pem, CertPem(cert));
  RETURN_IF_ERROR(WriteFileAtomically(key_path, key_pem, 0600));
  return WriteFileAtomically(cert_path, cert_pem, 0644);
}

absl::Status IssueLeaf(const std::string& cert_path,
                       const std::string& key_path, Kind kind, X509* ca,
                       EVP_PKEY* ca_key, absl::Time now, PkiReport* report) {
  Key key = NewKey();
  if (key == nullptr) return OpenSslError("key generation");
  ASSIGN_OR_RETURN(Cert cert, Issue(key.get(), kind, ca, ca_key, now));
  RETURN_IF_ERROR(WritePair(cert_path, key_path, cert.get(), key.get()));
  report->lines.push_back(absl::StrCat(
      cert_path, ": issued (", kind == Kind::kServer ? "server" : "client",
      ", key in ", key_path, ")"));
  return absl::OkStatus();
}

absl::Status Build(const PkiPaths& paths, bool rotate, bool new_ca,
                   absl::Time now, PkiReport* report) {
  RETURN_IF_ERROR(SafeDirectory(paths.dir));
  // A directory someone else's tooling made (kubelet makes a hostPath
  // 0755) is made nodefit's alone: SafeDirectory saw a real directory of
  // ours, not a link.
  if (chmod(paths.dir.c_str(), 0700) != 0) {
    return absl::InternalError(absl::StrCat("cannot chmod 700 ", paths.dir,
                                            ": ", std::strerror(errno)));
  }
  Key ca_key;
  Cert ca;
  const bool have_ca = Exists(paths.ca_cert()) && Exists(paths.ca_key());
  if (have_ca && !new_ca) {
    ASSIGN_OR_RETURN(ca, LoadCert(paths.ca_cert()));
    ASSIGN_OR_RETURN(ca_key, LoadKey(paths.ca_key()));
    if (X509_check_private_key(ca.get(), ca_key.get()) != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat(paths.ca_key(), " is not the key of ", paths.ca_cert(),
                       "; run `nodefit pki rotate --new-ca`"));
    }
    report->lines.push_back(absl::StrCat(paths.ca_cert(), ": kept"));
  } else {
    ca_key = NewKey();
    if (ca_key == nullptr) return OpenSslError("key generation");
    ASSIGN_OR_RETURN(ca, Issue(ca_key.get(), Kind::kCa, nullptr, nullptr, now));
    RETURN_IF_ERROR(
        WritePair(paths.ca_cert(), paths.ca_key(), ca.get(), ca_key.get()));
    report->lines.push_back(absl::StrCat(paths.ca_cert(), ": created"));
  }
  const bool reissue = rotate || new_ca || !have_ca;
  for (const auto& [cert_path, key_path, kind] :
       {std::make_tuple(paths.server_cert(), paths.server_key(), Kind::kServer),
        std::make_tuple(paths.client_cert(), paths.client_key(),
                        Kind::kClient)}) {
    if (!reissue && Exists(cert_path) && Exists(key_path)) {
      report->lines.push_back(absl::StrCat(cert_path, ": kept"));
      continue;
    }
    RETURN_IF_ERROR(IssueLeaf(cert_path, key_path, kind, ca.get(), ca_key.get(),
                              now, report));
  }
  return absl::OkStatus();
}

std::string Describe(const ASN1_TIME* time) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || ASN1_TIME_print(bio.get(), time) != 1) return "?";
  char* data = nullptr;
  const int64_t size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace

absl::Status EnsurePki(const PkiPaths& paths, absl::Time now,
                       PkiReport* report) {
  return Build(paths, /*rotate=*/false, /*new_ca=*/false, now, report);
}

absl::Status RotatePki(const PkiPaths& paths, bool new_ca, absl::Time now,
                       PkiReport* report) {
  return Build(paths, /*rotate=*/true, new_ca, now, report);
}

absl::StatusOr<bool> RenewExpiringPki(const PkiPaths& paths, absl::Time now,
                                      absl::Duration window,
                                      PkiReport* report) {
  const time_t soon = absl::ToTimeT(now + window);
  bool expiring = false;
  for (const std::string& path : {paths.server_cert(), paths.client_cert()}) {
    ASSIGN_OR_RETURN(const Cert cert, LoadCert(path));
    expiring = expiring || X509_cmp_time(X509_get0_notAfter(cert.get()),
                                         const_cast<time_t*>(&soon)) <= 0;
  }
  if (!expiring) return false;
  RETURN_IF_ERROR(RotatePki(paths, /*new_ca=*/false, now, report));
  return true;
}

std::vector<PkiFinding> InspectPki(const PkiPaths& paths, absl::Time now,
                                   absl::Duration warn_before) {
  std::vector<PkiFinding> findings;
  auto bad = [&](std::string message) {
    findings.push_back({false, std::move(message)});
  };
  if (absl::Status dir = SafeDirectory(paths.dir);
      !dir.ok() || !Exists(paths.dir)) {
    bad(std::string(dir.message()));
    return findings;
  }
  for (const std::string& key :
       {paths.ca_key(), paths.server_key(), paths.client_key()}) {
    struct stat st;
    if (lstat(key.c_str(), &st) != 0) {
      bad(absl::StrCat(key, " is missing"));
    } else if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
               st.st_uid != geteuid()) {
      bad(absl::StrCat(key, " must be a regular file of uid ", geteuid(),
                       " with mode 0600"));
    }
  }
  absl::StatusOr<Cert> ca = LoadCert(paths.ca_cert());
  if (!ca.ok()) {
    bad(std::string(ca.status().message()));
    return findings;
  }
  EVP_PKEY* ca_public = X509_get0_pubkey(ca->get());
  const time_t now_t = absl::ToTimeT(now);
  const time_t soon_t = absl::ToTimeT(now + warn_before);
  for (const std::string& path :
       {paths.ca_cert(), paths.server_cert(), paths.client_cert()}) {
    absl::StatusOr<Cert> cert = LoadCert(path);
    if (!cert.ok()) {
      bad(std::string(cert.status().message()));
      continue;
    }
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 && (st.st_mode & 022) != 0) {
      bad(absl::StrCat(path, " is writable by group or others"));
    }
    if (X509_verify(cert->get(), ca_public) != 1) {
      bad(absl::StrCat(path, " is not signed by ", paths.ca_cert(),
                       "; run `nodefit pki rotate`"));
      continue;
    }
    const ASN1_TIME* not_after = X509_get0_notAfter(cert->get());
    const std::string until = Describe(not_after);
    if (X509_cmp_time(not_after, const_cast<time_t*>(&now_t)) <= 0) {
      bad(absl::StrCat(path, " expired on ", until,
                       "; run `nodefit pki rotate`"));
    } else if (X509_cmp_time(not_after, const_cast<time_t*>(&soon_t)) <= 0) {
      bad(absl::StrCat(path, " expires on ", until,
                       "; run `nodefit pki rotate` before then"));
    } else {
      findings.push_back({true, absl::StrCat(path, " valid until ", until)});
    }
  }
  return findings;
}

}  // namespace nodefit
