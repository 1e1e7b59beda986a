// Parsing of image indexes (OCI image index, Docker manifest list) into the
// per-entry facts selection needs, with everything else kept as JSON.
//
// ParseIndex never throws and never crashes on hostile input: a body over
// kMaxManifestBytes, malformed JSON, a wrong JSON type, an entry without a
// valid digest, media type or size, or more than kMaxIndexEntries entries
// gets InvalidArgument naming the problem ("index: manifests[3].digest: ...").
// A single image manifest (not an index) parses successfully with kind
// kManifest and no entries, so callers can hand it back untouched.
#ifndef NODEFIT_RESOLVER_SELECT_INDEX_H_
#define NODEFIT_RESOLVER_SELECT_INDEX_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "resolver/select/platform.h"

namespace nodefit {

// containerd's limit on the size of a manifest or index it will read.
inline constexpr size_t kMaxManifestBytes = 4'393'216;
// No real index has more; a bigger one is refused rather than scored.
inline constexpr size_t kMaxIndexEntries = 4096;

inline constexpr absl::string_view kOciIndexType =
    "application/vnd.oci.image.index.v1+json";
inline constexpr absl::string_view kDockerListType =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr absl::string_view kOciManifestType =
    "application/vnd.oci.image.manifest.v1+json";
inline constexpr absl::string_view kDockerManifestType =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr absl::string_view kDockerSchema1Type =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr absl::string_view kDockerSchema1SignedType =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

bool IsIndexMediaType(absl::string_view media_type);
bool IsImageManifestMediaType(absl::string_view media_type);

struct IndexEntry {
  int position = 0;  // 0-based, in index order
  std::string media_type;
  std::string digest;
  int64_t size = 0;

  bool has_platform = false;
  Platform platform;  // normalised
  std::vector<std::string> os_features;
  std::vector<std::string> features;  // platform.features, as written
  std::map<std::string, std::string> annotations;

  // Not a runnable image: platform unknown/unknown or an annotation
  // vnd.docker.reference.type (BuildKit attestations).
  bool is_attestation = false;
};

enum class DocumentKind { kIndex, kManifest };

struct ParsedIndex {
  DocumentKind kind = DocumentKind::kIndex;
  std::string media_type;
  std::vector<IndexEntry> entries;  // empty for kManifest
  // The whole document, unknown fields included.
  nlohmann::json document;
};

// Parses `body`. `content_type` (the registry's Content-Type, may be empty)
// is used only when the body has no mediaType of its own.
[[nodiscard]] absl::StatusOr<ParsedIndex> ParseIndex(
    absl::string_view body, absl::string_view content_type = "");

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_SELECT_INDEX_H_
