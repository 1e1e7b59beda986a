#include "resolver/registry/reference.h"

#include <cstddef>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace nodefit {
namespace {

// The grammar is the distribution project's reference grammar; the limits are
// its limits (name <= 255 characters, tag <= 128).
constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;
constexpr absl::string_view kDockerHub = "docker.io";

bool IsLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool IsWordChar(char c) { return absl::ascii_isalnum(c) || c == '_'; }
bool IsLowerHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
bool IsPathComponent(absl::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (true) {
    const size_t run_start = i;
    while (i < n && IsLowerAlnum(s[i])) ++i;
    if (i == run_start) return false;
    if (i == n) return true;
    const size_t sep_start = i;
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < n && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      while (i < n && s[i] == '-') ++i;
    } else {
      return false;
    }
    if (i == sep_start || i == n) return false;
  }
}

// [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool IsDomainComponent(absl::string_view s) {
  if (s.empty()) return false;
  if (!absl::ascii_isalnum(s.front()) || !absl::ascii_isalnum(s.back())) {
    return false;
  }
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '-') return false;
  }
  return true;
}

bool IsPort(absl::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return true;
}

bool LooksLikeRegistry(absl::string_view first_component) {
  // Docker's rule: a first component is a host if it has a dot or a port, is
  // "localhost", or has upper case (which a repository cannot).
  if (first_component == "localhost") return true;
  if (first_component.find_first_of(".:[") != absl::string_view::npos) {
    return true;
  }
  for (char c : first_component) {
    if (absl::ascii_isupper(c)) return true;
  }
  return false;
}

}  // namespace

std::string Reference::Name() const {
  return absl::StrCat(registry, "/", repository);
}

std::string Reference::String() const {
  std::string out = Name();
  if (!tag.empty()) absl::StrAppend(&out, ":", tag);
  if (!digest.empty()) absl::StrAppend(&out, "@", digest);
  return out;
}

const std::string& Reference::TagOrDigest() const {
  return tag.empty() ? digest : tag;
}

absl::Status ValidateDigest(absl::string_view digest) {
  const size_t colon = digest.find(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid digest \"", digest, "\": expected <algorithm>:<hex>"));
  }
  const absl::string_view algorithm = digest.substr(0, colon);
  const absl::string_view encoded = digest.substr(colon + 1);
  if (algorithm == "sha256") {
    if (encoded.size() != 64) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid digest \"", digest, "\": sha256 needs 64 hex ",
                       "characters, got ", encoded.size()));
    }
    for (char c : encoded) {
      if (!IsLowerHex(c)) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid digest \"", digest,
                         "\": sha256 must be lowercase hexadecimal"));
      }
    }
    return absl::OkStatus();
  }
  for (char c : algorithm) {
    if (!IsLowerAlnum(c) && c != '+' && c != '.' && c != '_' && c != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid digest \"", digest, "\": bad algorithm name"));
    }
  }
  if (encoded.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid digest \"", digest, "\": empty hex part"));
  }
  return absl::UnimplementedError(absl::StrCat(
      "digest algorithm \"", algorithm, "\" is not supported (only sha256)"));
}

absl::Status ValidateRepository(absl::string_view repository) {
  if (repository.empty()) {
    return absl::InvalidArgumentError("repository name is empty");
  }
  if (repository.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "repository name is longer than ", kMaxNameLength, " characters"));
  }
  for (absl::string_view component : absl::StrSplit(repository, '/')) {
    if (IsPathComponent(component)) continue;
    for (char c : component) {
      if (absl::ascii_isupper(c)) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid repository \"", repository,
                         "\": repository name must be lowercase"));
      }
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid repository \"", repository, "\": component \"", component,
        "\" must be lowercase letters and digits separated by "
        "'.', '_', '__' or '-'"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRegistryHost(absl::string_view host) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid registry host \"", host, "\": ", why));
  };
  if (host.empty()) return bad("empty");
  absl::string_view name = host;
  absl::string_view port;
  if (name.front() == '[') {
    const size_t close = name.find(']');
    if (close == absl::string_view::npos) return bad("unclosed '['");
    const absl::string_view address = name.substr(1, close - 1);
    if (address.empty()) return bad("empty IPv6 address");
    for (char c : address) {
      if (!absl::ascii_isxdigit(c) && c != ':' && c != '.') {
        return bad("bad IPv6 address");
      }
    }
    const absl::string_view rest = name.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("junk after ']'");
      port = rest.substr(1);
      if (!IsPort(port)) return bad("bad port");
    }
    return absl::OkStatus();
  }
  if (const size_t colon = name.rfind(':'); colon != absl::string_view::npos) {
    port = name.substr(colon + 1);
    name = name.substr(0, colon);
    if (!IsPort(port)) return bad("bad port");
  }
  for (absl::string_view component : absl::StrSplit(name, '.')) {
    if (!IsDomainComponent(component)) {
      return bad("host names are letters, digits and inner '-' between dots");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTag(absl::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength || !IsWordChar(tag[0])) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid tag \"", tag,
                     "\": 1 to 128 of [A-Za-z0-9_.-], not starting with "
                     "'.' or '-'"));
  }
  for (char c : tag) {
    if (!IsWordChar(c) && c != '.' && c != '-') {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid tag \"", tag, "\": character '",
                       std::string(1, c), "' is not allowed"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Reference> ParseReference(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid image reference \"", text, "\": ", why));
  };
  if (text.empty()) return bad("empty");
  if (text.size() > 4096) return bad("longer than 4096 characters");

  Reference ref;
  absl::string_view rest = text;
  if (const size_t at = rest.find('@'); at != absl::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (absl::Status s = ValidateDigest(ref.digest); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("image reference \"", text,
                                                 "\": ", s.message()));
    }
  }
  // A ':' after the last '/' starts the tag; one before it is a port.
  const size_t last_slash = rest.rfind('/');
  const size_t colon = rest.rfind(':');
  if (colon != absl::string_view::npos &&
      (last_slash == absl::string_view::npos || colon > last_slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (absl::Status s = ValidateTag(ref.tag); !s.ok()) {
      return bad(s.message());
    }
  }
  if (rest.empty()) return bad("no repository name");

  const size_t slash = rest.find('/');
  if (slash != absl::string_view::npos &&
      LooksLikeRegistry(rest.substr(0, slash))) {
    ref.registry = std::string(rest.substr(0, slash));
    ref.repository = std::string(rest.substr(slash + 1));
    if (absl::Status s = ValidateRegistryHost(ref.registry); !s.ok()) {
      return bad(s.message());
    }
  } else {
    ref.registry = std::string(kDockerHub);
    ref.repository = std::string(rest);
  }
  if (ref.registry == "index.docker.io") ref.registry = std::string(kDockerHub);
  if (absl::Status s = ValidateRepository(ref.repository); !s.ok()) {
    return bad(s.message());
  }
  if (ref.registry == kDockerHub &&
      ref.repository.find('/') == std::string::npos) {
    ref.repository = absl::StrCat("library/", ref.repository);
  }
  // The bound is on the normalised name, registry included, as containerd
  // parses it: "docker.io/library/" can take a short name over it.
  if (ref.Name().size() > kMaxNameLength) {
    return bad("name is longer than 255 characters");
  }
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace nodefit
