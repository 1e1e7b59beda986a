#include "resolver/publish/index_create.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "resolver/base/json_util.h"
#include "resolver/base/status_macros.h"
#include "resolver/registry/digest.h"
#include "resolver/select/index.h"
#include "resolver/select/platform.h"

namespace nodefit {
namespace {

// An image config larger than this is not a config.
constexpr int64_t kMaxConfigBytes = 4 << 20;

// Non-throwing reads of a parsed document (ParseJson's contract).
std::string JsonStringAt(const nlohmann::json& j, const char* key) {
  auto it = j.is_object() ? j.find(key) : j.end();
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
int64_t JsonIntAt(const nlohmann::json& j, const char* key) {
  auto it = j.is_object() ? j.find(key) : j.end();
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
}
const nlohmann::json* JsonObjectAt(const nlohmann::json& j, const char* key) {
  auto it = j.is_object() ? j.find(key) : j.end();
  return it != j.end() && it->is_object() ? &*it : nullptr;
}
const nlohmann::json* JsonArrayAt(const nlohmann::json& j, const char* key) {
  auto it = j.is_object() ? j.find(key) : j.end();
  return it != j.end() && it->is_array() ? &*it : nullptr;
}

absl::Status Bad(const std::string& where, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", what));
}

Reference RepositoryOf(const Reference& r) {
  Reference repo = r;
  repo.tag.clear();
  repo.digest.clear();
  return repo;
}

// The platform an entry of a source index must have for `wanted`.
bool PlatformMatches(const IndexEntry& entry, const SpecPlatform& wanted) {
  if (!entry.has_platform || entry.is_attestation) return false;
  Platform want =
      NormalizePlatform({wanted.os, wanted.architecture, wanted.variant});
  if (entry.platform.os != want.os ||
      entry.platform.architecture != want.architecture) {
    return false;
  }
  return wanted.variant.empty() || entry.platform.variant == want.variant;
}

struct Descriptor {
  Reference source;
  FetchedManifest manifest;
  nlohmann::json platform = nlohmann::json::object();
  std::map<std::string, std::string> annotations;
};

absl::StatusOr<nlohmann::json> ConfigPlatform(const Reference& source,
                                              const FetchedManifest& manifest,
                                              RegistryWriter* writer,
                                              const std::string& where) {
  ASSIGN_OR_RETURN(nlohmann::json doc, ParseJson(manifest.body, "manifest"));
  const nlohmann::json* config = JsonObjectAt(doc, "config");
  if (config == nullptr) return Bad(where, "the image manifest has no config");
  BlobRef blob{JsonStringAt(*config, "digest"), JsonIntAt(*config, "size")};
  ASSIGN_OR_RETURN(std::string body,
                   writer->GetSmallBlob(source, blob, kMaxConfigBytes));
  ASSIGN_OR_RETURN(nlohmann::json image, ParseJson(body, "image config"));
  nlohmann::json platform = nlohmann::json::object();
  for (const char* key : {"architecture", "os", "variant", "os.version"}) {
    const std::string value = JsonStringAt(image, key);
    if (!value.empty()) platform[key] = value;
  }
  if (const nlohmann::json* f = JsonArrayAt(image, "os.features")) {
    platform["os.features"] = *f;
  }
  return platform;
}

absl::StatusOr<Descriptor> Resolve(const SpecEntry& entry, size_t position,
                                   const CreateOptions& options,
                                   RegistryWriter* writer) {
  const std::string where =
      absl::StrCat("manifests[", position, "] (", entry.image.String(), ")");
  Descriptor d;
  d.source = RepositoryOf(entry.image);
  ASSIGN_OR_RETURN(FetchedManifest fetched, writer->GetManifest(entry.image));
  ASSIGN_OR_RETURN(ParsedIndex parsed,
                   ParseIndex(fetched.body, fetched.media_type));
  nlohmann::json base_platform = nlohmann::json::object();
  if (parsed.kind == DocumentKind::kIndex) {
    if (!entry.has_platform || entry.platform.os.empty() ||
        entry.platform.architecture.empty()) {
      return Bad(where,
                 "is an index: give platform.os and platform.architecture to "
                 "say which of its entries to take");
    }
    std::vector<const IndexEntry*> matches;
    for (const IndexEntry& e : parsed.entries) {
      if (PlatformMatches(e, entry.platform)) matches.push_back(&e);
    }
    if (matches.size() != 1) {
      return Bad(
          where,
          absl::StrCat("is an index with ", matches.size(), " entries for ",
                       entry.platform.os, "/", entry.platform.architecture,
                       entry.platform.variant.empty() ? "" : "/",
                       entry.platform.variant,
                       matches.empty() ? "" : "; give the variant"));
    }
    const IndexEntry& chosen = *matches.front();
    d.annotations = chosen.annotations;
    const nlohmann::json* entries = JsonArrayAt(parsed.document, "manifests");
    if (entries != nullptr) {
      const nlohmann::json* p =
          JsonObjectAt((*entries)[chosen.position], "platform");
      if (p != nullptr) base_platform = *p;
    }
    Reference child = d.source;
    child.digest = chosen.digest;
    ASSIGN_OR_RETURN(d.manifest, writer->GetManifest(child));
  } else {
    d.manifest = std::move(fetched);
  }
  if (!IsImageManifestMediaType(d.manifest.media_type)) {
    return Bad(where, absl::StrCat("is a ", d.manifest.media_type,
                                   ", not an image manifest"));
  }
  const SpecPlatform& p = entry.platform;
  if (base_platform.empty()) {
    // The image's own config: it fills what the spec leaves out, and a
    // spec that contradicts it (an arm64 build listed as amd64) would send
    // nodes a build they cannot run.
    ASSIGN_OR_RETURN(base_platform,
                     ConfigPlatform(d.source, d.manifest, writer, where));
    const Platform built =
        NormalizePlatform({JsonStringAt(base_platform, "os"),
                           JsonStringAt(base_platform, "architecture"), ""});
    const Platform said = NormalizePlatform({p.os, p.architecture, ""});
    if ((!p.os.empty() && !built.os.empty() && said.os != built.os) ||
        (!p.architecture.empty() && !built.architecture.empty() &&
         said.architecture != built.architecture)) {
      return Bad(where,
                 absl::StrCat("the spec says ", said.os, "/", said.architecture,
                              " but the image config says ", built.os, "/",
                              built.architecture));
    }
  }
  d.platform = base_platform;
  auto set = [&](const char* key, const std::string& value) {
    if (!value.empty()) d.platform[key] = value;
  };
  set("os", p.os);
  set("architecture", p.architecture);
  set("variant", p.variant);
  set("os.version", p.os_version);
  if (!p.os_features.empty()) d.platform["os.features"] = p.os_features;
  if (!p.features.empty()) {
    std::vector<std::string> features;
    for (const std::string& f : p.features) {
      features.push_back(
          options.canonical != nullptr ? options.canonical->Canonical(f) : f);
    }
    d.platform["features"] = features;
  }
  if (JsonStringAt(d.platform, "os").empty() ||
      JsonStringAt(d.platform, "architecture").empty()) {
    return Bad(where,
               "has no os/architecture in the spec or in its image config");
  }
  for (const auto& [key, value] : entry.annotations) d.annotations[key] = value;
  return d;
}

// The blobs an image manifest refers to, foreign layers (which registries
// do not hold) left out.
absl::StatusOr<std::vector<BlobRef>> BlobsOf(const FetchedManifest& m) {
  ASSIGN_OR_RETURN(nlohmann::json doc, ParseJson(m.body, "manifest"));
  std::vector<BlobRef> blobs;
  if (const nlohmann::json* config = JsonObjectAt(doc, "config")) {
    blobs.push_back(
        {JsonStringAt(*config, "digest"), JsonIntAt(*config, "size")});
  }
  if (const nlohmann::json* layers = JsonArrayAt(doc, "layers")) {
    for (const nlohmann::json& layer : *layers) {
      if (!layer.is_object() || layer.contains("urls")) continue;
      blobs.push_back(
          {JsonStringAt(layer, "digest"), JsonIntAt(layer, "size")});
    }
  }
  return blobs;
}

}  // namespace

absl::StatusOr<CreatedIndex> BuildIndex(const IndexSpec& spec,
                                        const CreateOptions& options,
                                        RegistryWriter* writer) {
  CreatedIndex out;
  out.media_type =
      std::string(options.docker_list ? kDockerListType : kOciIndexType);
  nlohmann::json manifests = nlohmann::json::array();
  for (size_t i = 0; i < spec.manifests.size(); ++i) {
    ASSIGN_OR_RETURN(Descriptor d,
                     Resolve(spec.manifests[i], i, options, writer));
    nlohmann::json desc = {{"mediaType", d.manifest.media_type},
                           {"digest", d.manifest.digest},
                           {"size", d.manifest.body.size()},
                           {"platform", d.platform}};
    if (!d.annotations.empty()) desc["annotations"] = d.annotations;
    manifests.push_back(std::move(desc));
    out.entries.push_back({d.source, std::move(d.manifest)});
  }
  out.body = DumpJson(nlohmann::json{{"schemaVersion", 2},
                                     {"mediaType", out.media_type},
                                     {"manifests", std::move(manifests)}});
  out.digest = Sha256Digest(out.body);
  return out;
}

absl::Status PushIndex(const CreatedIndex& index, const Reference& target,
                       const std::vector<std::string>& tags,
                       RegistryWriter* writer) {
  const Reference to = RepositoryOf(target);
  for (const CreatedEntry& entry : index.entries) {
    if (entry.source.registry != to.registry ||
        entry.source.repository != to.repository) {
      ASSIGN_OR_RETURN(std::vector<BlobRef> blobs, BlobsOf(entry.manifest));
      for (const BlobRef& blob : blobs) {
        ASSIGN_OR_RETURN(BlobTransfer done,
                         writer->CopyBlob(entry.source, to, blob));
        (void)done;
      }
    }
    RETURN_IF_ERROR(writer->PutManifest(to, entry.manifest.digest,
                                        entry.manifest.media_type,
                                        entry.manifest.body));
  }
  std::vector<std::string> all = {target.tag};
  all.insert(all.end(), tags.begin(), tags.end());
  for (const std::string& tag : all) {
    RETURN_IF_ERROR(writer->PutManifest(to, tag, index.media_type, index.body));
  }
  return absl::OkStatus();
}

}  // namespace nodefit
