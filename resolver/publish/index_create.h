// `nodefit index create`: an image index assembled from per-build images
// as an index spec (index_spec.h) describes it, then pushed.
//
// BuildIndex resolves every source to its manifest descriptor: a source
// that is itself an index contributes its one entry for the spec's platform
// (os, architecture and, when given, variant; none or several is an error);
// platform fields the spec leaves out are read from the image's config; the
// source index entry's annotations are kept, the spec's added over them.
// platform.features go in as written, or in the vocabulary's canonical
// spelling when asked. The document is an OCI image index, or a Docker
// manifest list, serialised once: the bytes written to --output are the
// bytes pushed.
//
// PushIndex makes every entry present in the target repository (blobs
// mounted from a source repository of the same registry, else streamed;
// then the build's manifest by digest) and then PUTs the index under each
// tag. Nothing is tagged unless every entry is in place.
#ifndef NODEFIT_RESOLVER_PUBLISH_INDEX_CREATE_H_
#define NODEFIT_RESOLVER_PUBLISH_INDEX_CREATE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "resolver/publish/index_spec.h"
#include "resolver/publish/registry_writer.h"
#include "resolver/select/vocabulary.h"

namespace nodefit {

struct CreateOptions {
  bool docker_list = false;  // a Docker manifest list instead of OCI
  // Not null: features in this vocabulary's canonical spelling.
  const Vocabulary* canonical = nullptr;
};

struct CreatedEntry {
  Reference source;  // the repository the build's manifest is in
  FetchedManifest manifest;
};

struct CreatedIndex {
  std::string media_type;
  std::string body;
  std::string digest;
  std::vector<CreatedEntry> entries;  // in index order
};

[[nodiscard]] absl::StatusOr<CreatedIndex> BuildIndex(
    const IndexSpec& spec, const CreateOptions& options,
    RegistryWriter* writer);

// Pushes `index` to `target`'s repository under `target.tag` and `tags`.
[[nodiscard]] absl::Status PushIndex(const CreatedIndex& index,
                                     const Reference& target,
                                     const std::vector<std::string>& tags,
                                     RegistryWriter* writer);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_PUBLISH_INDEX_CREATE_H_
