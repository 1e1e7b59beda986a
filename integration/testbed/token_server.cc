#include "integration/testbed/token_server.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "integration/testbed/pki.h"
#include "integration/testbed/subprocess.h"
#include "nlohmann/json.hpp"

namespace nodefit::testbed {
namespace {

std::string Base64Url(absl::string_view data) {
  std::string out;
  absl::WebSafeBase64Escape(data, &out);  // no padding, '-' and '_'
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TokenServer>> TokenServer::Start(
    const TokenServerOptions& options) {
  std::unique_ptr<TokenServer> t(new TokenServer(options));
  t->key_pem_text_ = ReadFileOrEmpty(options.key_pem);
  const std::string cert_pem = ReadFileOrEmpty(options.cert_pem);
  BIO* bio =
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr || t->key_pem_text_.empty()) {
    if (cert != nullptr) X509_free(cert);
    return absl::InvalidArgumentError("token server: bad key or certificate");
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_X509(cert, &der);
  t->cert_der_base64_ = absl::Base64Escape(
      absl::string_view(reinterpret_cast<char*>(der), der_len));
  OPENSSL_free(der);
  X509_free(cert);

  TokenServer* self = t.get();
  t->server_.server().Get("/token", [self](const httplib::Request& req,
                                           httplib::Response& res) {
    ++self->requests_;
    std::string subject = "anonymous";
    if (!self->options_.username.empty()) {
      const std::string expected = "Basic " + absl::Base64Escape(absl::StrCat(
                                                  self->options_.username, ":",
                                                  self->options_.password));
      if (req.get_header_value("Authorization") != expected) {
        ++self->refused_;
        res.status = 401;
        return;
      }
      subject = self->options_.username;
    }
    if (req.get_param_value("service") != self->options_.service) {
      res.status = 400;
      return;
    }
    std::vector<std::string> scopes;
    for (size_t i = 0; i < req.get_param_value_count("scope"); ++i) {
      scopes.push_back(req.get_param_value("scope", i));
    }
    absl::StatusOr<std::string> jwt = self->Sign(subject, scopes);
    if (!jwt.ok()) {
      res.status = 500;
      return;
    }
    res.set_content(nlohmann::json{{"token", *jwt},
                                   {"expires_in", self->options_.expires_in}}
                        .dump(),
                    "application/json");
  });
  t->server_.Start();
  return t;
}

TokenServer::~TokenServer() { server_.Stop(); }

absl::StatusOr<std::string> TokenServer::Sign(
    const std::string& subject, const std::vector<std::string>& scopes) const {
  nlohmann::json access = nlohmann::json::array();
  // "repository:cv/tf:pull,push" -> one access entry per scope parameter (a
  // mount asks for two: push on the target, pull on the source).
  for (const std::string& scope : scopes) {
    std::vector<std::string> parts = absl::StrSplit(scope, ':');
    if (parts.size() == 3) {
      access.push_back({{"type", parts[0]},
                        {"name", parts[1]},
                        {"actions", absl::StrSplit(parts[2], ',')}});
    }
  }
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  const std::string header = nlohmann::json{
      {"typ", "JWT"},
      {"alg", "RS256"},
      {"x5c",
       {cert_der_base64_}}}.dump();
  const std::string claims = nlohmann::json{
      {"iss", options_.issuer},
      {"sub", subject},
      {"aud", options_.service},
      {"exp", now + options_.expires_in},
      {"nbf", now - 10},
      {"iat", now},
      {"jti", absl::StrCat("nodefit-", now, "-", requests_.load())},
      {"access", access}}.dump();
  const std::string signing_input =
      absl::StrCat(Base64Url(header), ".", Base64Url(claims));

  BIO* bio = BIO_new_mem_buf(key_pem_text_.data(),
                             static_cast<int>(key_pem_text_.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) return absl::InternalError("cannot read signing key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t sig_len = 0;
  std::string signature;
  bool ok = EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestSign(
                ctx, nullptr, &sig_len,
                reinterpret_cast<const unsigned char*>(signing_input.data()),
                signing_input.size()) == 1;
  if (ok) {
    signature.resize(sig_len);
    ok = EVP_DigestSign(
             ctx, reinterpret_cast<unsigned char*>(signature.data()), &sig_len,
             reinterpret_cast<const unsigned char*>(signing_input.data()),
             signing_input.size()) == 1;
    signature.resize(sig_len);
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (!ok) return absl::InternalError("signing failed");
  return absl::StrCat(signing_input, ".", Base64Url(signature));
}

absl::StatusOr<std::unique_ptr<TokenServer>> StartSignedTokenServer(
    const std::string& dir, const std::string& username,
    const std::string& password) {
  absl::StatusOr<SigningFiles> signing = MakeSigningFiles(dir);
  if (!signing.ok()) return signing.status();
  TokenServerOptions options;
  options.key_pem = signing->key;
  options.cert_pem = signing->cert;
  options.username = username;
  options.password = password;
  return TokenServer::Start(options);
}

}  // namespace nodefit::testbed
