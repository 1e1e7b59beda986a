// Image references, parsed and normalised as Docker and containerd do.
//
//   ubuntu                      -> docker.io/library/ubuntu:latest
//   ghcr.io/org/app:1.2         -> ghcr.io/org/app:1.2
//   127.0.0.1:5000/app@sha256:… -> 127.0.0.1:5000/app@sha256:…
//   app:1.2@sha256:…            -> docker.io/library/app:1.2@sha256:…
//
// ParseReference returns InvalidArgument naming the offending part for a
// malformed reference, and Unimplemented for a well-formed digest whose
// algorithm nodefit cannot verify (only sha256), so callers can step aside
// rather than reject.
#ifndef NODEFIT_RESOLVER_REGISTRY_REFERENCE_H_
#define NODEFIT_RESOLVER_REGISTRY_REFERENCE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nodefit {

struct Reference {
  std::string registry;    // "docker.io", "127.0.0.1:5000", "[::1]:5000"
  std::string repository;  // "library/ubuntu"
  std::string tag;         // empty when only a digest was given
  std::string digest;      // "sha256:<64 lowercase hex>" or empty

  // registry + "/" + repository.
  std::string Name() const;
  // The canonical form: Name() [":" tag] ["@" digest].
  std::string String() const;
  // The tag, or the digest when there is no tag: what follows
  // /v2/<repository>/manifests/ in a registry URL.
  const std::string& TagOrDigest() const;

  friend bool operator==(const Reference& a, const Reference& b) {
    return a.registry == b.registry && a.repository == b.repository &&
           a.tag == b.tag && a.digest == b.digest;
  }
};

// Parses and normalises a reference. A reference without tag or digest gets
// the tag "latest".
[[nodiscard]] absl::StatusOr<Reference> ParseReference(absl::string_view text);

// Checks "sha256:<64 lowercase hex>". InvalidArgument names what is wrong;
// Unimplemented for another well-formed algorithm.
[[nodiscard]] absl::Status ValidateDigest(absl::string_view digest);

// Checks a repository path ("library/ubuntu") against the distribution
// grammar; rejects upper case, empty and dot components, and "..".
[[nodiscard]] absl::Status ValidateRepository(absl::string_view repository);

// Checks a registry host ("docker.io", "localhost:5000", "[::1]:5000").
[[nodiscard]] absl::Status ValidateRegistryHost(absl::string_view host);

// Checks a tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
[[nodiscard]] absl::Status ValidateTag(absl::string_view tag);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_REGISTRY_REFERENCE_H_
