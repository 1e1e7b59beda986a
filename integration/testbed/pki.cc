#include "integration/testbed/pki.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "integration/testbed/subprocess.h"
#include "resolver/base/status_macros.h"

namespace nodefit::testbed {

absl::StatusOr<TlsFiles> MakeTlsFiles(const std::string& dir) {
  TlsFiles f;
  f.ca_cert = dir + "/ca.pem";
  const std::string ca_key = dir + "/ca.key";
  f.server_cert = dir + "/server.pem";
  f.server_key = dir + "/server.key";
  const std::string csr = dir + "/server.csr";
  const std::string ext = dir + "/server.ext";
  std::ofstream(ext) << "subjectAltName=IP:127.0.0.1\n"
                     << "basicConstraints=CA:FALSE\n"
                     << "keyUsage=digitalSignature,keyEncipherment\n"
                     << "extendedKeyUsage=serverAuth\n";
  RETURN_IF_ERROR(RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048",
                              "-nodes", "-keyout", ca_key, "-out", f.ca_cert,
                              "-days", "2", "-subj", "/CN=nodefit test CA"})
                      .status());
  RETURN_IF_ERROR(
      RunCommand({"openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                  f.server_key, "-out", csr, "-subj", "/CN=127.0.0.1"})
          .status());
  RETURN_IF_ERROR(
      RunCommand({"openssl", "x509", "-req", "-in", csr, "-CA", f.ca_cert,
                  "-CAkey", ca_key, "-CAcreateserial", "-out", f.server_cert,
                  "-days", "2", "-extfile", ext})
          .status());
  return f;
}

absl::StatusOr<SigningFiles> MakeSigningFiles(const std::string& dir) {
  SigningFiles f;
  f.key = dir + "/token-signer.key";
  f.cert = dir + "/token-signer.pem";
  RETURN_IF_ERROR(
      RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                  "-keyout", f.key, "-out", f.cert, "-days", "2", "-subj",
                  "/CN=nodefit test token signer"})
          .status());
  return f;
}

absl::StatusOr<std::string> MakeHtpasswd(const std::string& dir,
                                         const std::string& user,
                                         const std::string& password) {
  ASSIGN_OR_RETURN(std::string line,
                   RunCommand({"htpasswd", "-Bbn", user, password}));
  const std::string path = dir + "/htpasswd";
  std::ofstream(path) << line;
  return path;
}

}  // namespace nodefit::testbed
