// hosts.toml edits: AddNodefitHost then RemoveNodefitHost on any file, for
// nodefit's deployed host (https with the node PKI's files). Checked, as
// tests/plugin/containerd/hosts_toml_test.cc asserts for its cases: what
// Add returns is valid TOML with nodefit's host tried first, adding again
// changes nothing, and when Add changed the file, Remove gives back the
// input (but for the newline Add ends an unterminated last line with).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "plugin/containerd/hosts_toml.h"

namespace {

constexpr absl::string_view kPath =
    "/etc/containerd/certs.d/_default/hosts.toml";

const nodefit::NodefitHost& Host() {
  static const auto* host = new nodefit::NodefitHost(
      nodefit::kDefaultNodefitAddress, "/etc/nodefit/pki/ca.pem",
      "/etc/nodefit/pki/client.pem", "/etc/nodefit/pki/client-key.pem");
  return *host;
}

bool Expected(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
         status.code() == absl::StatusCode::kFailedPrecondition;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view content(reinterpret_cast<const char*>(data), size);
  const bool parses = nodefit::CheckHostsToml(content, kPath).ok();

  const absl::StatusOr<std::string> added =
      nodefit::AddNodefitHost(content, kPath, Host());
  if (!added.ok()) {
    NODEFIT_FUZZ_CHECK(Expected(added.status()));
    NODEFIT_FUZZ_CHECK(!parses || added.status().code() !=
                                      absl::StatusCode::kInvalidArgument);
  } else {
    NODEFIT_FUZZ_CHECK(parses);
    NODEFIT_FUZZ_CHECK(nodefit::CheckHostsToml(*added, kPath).ok());
    const absl::StatusOr<std::string> again =
        nodefit::AddNodefitHost(*added, kPath, Host());
    NODEFIT_FUZZ_CHECK(again.ok() && *again == *added);
    if (*added != content) {
      NODEFIT_FUZZ_CHECK(
          nodefit::CheckNodefitFirst(*added, kPath, Host().address).ok());
      const absl::StatusOr<std::string> removed =
          nodefit::RemoveNodefitHost(*added, kPath, Host().address);
      NODEFIT_FUZZ_CHECK(removed.ok());
      // By design (hosts_toml_test's NoTablesAppendsAfterABlankLine) a last
      // line without its newline gets one when the block goes after it, and
      // keeps it: "a = 1" and "a = 1\n" give the same file.
      const bool appended = absl::StartsWith(*added, content) &&
                            !content.empty() && content.back() != '\n';
      NODEFIT_FUZZ_CHECK(
          *removed == content ||
          (appended && (*removed == absl::StrCat(content, "\n") ||
                        *removed == absl::StrCat(content, "\r\n"))));
    }
  }

  // Remove on its own (a file someone else edited): valid TOML in, valid
  // TOML out, and taking it out twice is taking it out once.
  const absl::StatusOr<std::string> removed =
      nodefit::RemoveNodefitHost(content, kPath, Host().address);
  if (!removed.ok()) {
    NODEFIT_FUZZ_CHECK(Expected(removed.status()));
    return 0;
  }
  NODEFIT_FUZZ_CHECK(parses);
  NODEFIT_FUZZ_CHECK(nodefit::CheckHostsToml(*removed, kPath).ok());
  const absl::StatusOr<std::string> twice =
      nodefit::RemoveNodefitHost(*removed, kPath, Host().address);
  NODEFIT_FUZZ_CHECK(twice.ok() && *twice == *removed);
  return 0;
}
