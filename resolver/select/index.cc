#include "resolver/select/index.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "resolver/base/json_util.h"
#include "resolver/base/status_macros.h"
#include "resolver/registry/reference.h"

namespace nodefit {
namespace {

constexpr absl::string_view kWhat = "index";
constexpr absl::string_view kReferenceTypeAnnotation =
    "vnd.docker.reference.type";

absl::Status Bad(absl::string_view path, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(kWhat, ": ", path, ": ", why));
}

absl::Status ReadString(const nlohmann::json& object, absl::string_view key,
                        absl::string_view path, bool required,
                        std::string* out) {
  auto it = object.find(key);
  if (it == object.end()) {
    return required ? Bad(path, absl::StrCat("missing \"", key, "\""))
                    : absl::OkStatus();
  }
  if (!it->is_string()) {
    return JsonTypeError(kWhat, absl::StrCat(path, ".", key), "string", *it);
  }
  *out = it->get_ref<const std::string&>();
  return absl::OkStatus();
}

absl::Status ReadStringList(const nlohmann::json& object, absl::string_view key,
                            absl::string_view path,
                            std::vector<std::string>* out) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return absl::OkStatus();
  const std::string where = absl::StrCat(path, ".", key);
  if (!it->is_array()) return JsonTypeError(kWhat, where, "array", *it);
  out->reserve(it->size());
  for (size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& item = (*it)[i];
    if (!item.is_string()) {
      return JsonTypeError(kWhat, absl::StrCat(where, "[", i, "]"), "string",
                           item);
    }
    out->push_back(item.get_ref<const std::string&>());
  }
  return absl::OkStatus();
}

absl::Status ParsePlatformObject(const nlohmann::json& platform,
                                 absl::string_view path, IndexEntry* entry) {
  if (!platform.is_object()) {
    return JsonTypeError(kWhat, path, "object", platform);
  }
  Platform p;
  RETURN_IF_ERROR(ReadString(platform, "os", path, true, &p.os));
  RETURN_IF_ERROR(
      ReadString(platform, "architecture", path, true, &p.architecture));
  RETURN_IF_ERROR(ReadString(platform, "variant", path, false, &p.variant));
  RETURN_IF_ERROR(
      ReadStringList(platform, "os.features", path, &entry->os_features));
  RETURN_IF_ERROR(ReadStringList(platform, "features", path, &entry->features));
  entry->platform = NormalizePlatform(std::move(p));
  entry->has_platform = true;
  return absl::OkStatus();
}

absl::Status ParseEntry(const nlohmann::json& item, int position,
                        IndexEntry* entry) {
  const std::string path = absl::StrCat("manifests[", position, "]");
  if (!item.is_object()) return JsonTypeError(kWhat, path, "object", item);
  entry->position = position;
  RETURN_IF_ERROR(
      ReadString(item, "mediaType", path, true, &entry->media_type));
  RETURN_IF_ERROR(ReadString(item, "digest", path, true, &entry->digest));
  if (absl::Status s = ValidateDigest(entry->digest); !s.ok()) {
    return absl::Status(
        s.code(), absl::StrCat(kWhat, ": ", path, ".digest: ", s.message()));
  }
  auto size = item.find("size");
  if (size == item.end()) return Bad(path, "missing \"size\"");
  if (!size->is_number_integer()) {
    return JsonTypeError(kWhat, path + ".size", "integer", *size);
  }
  if (size->is_number_unsigned()
          ? size->get<uint64_t>() >
                static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
          : size->get<int64_t>() < 0) {
    return Bad(path + ".size", "must be a non-negative 64-bit integer");
  }
  entry->size = size->get<int64_t>();

  if (auto platform = item.find("platform");
      platform != item.end() && !platform->is_null()) {
    RETURN_IF_ERROR(ParsePlatformObject(*platform, path + ".platform", entry));
  }
  if (auto annotations = item.find("annotations");
      annotations != item.end() && !annotations->is_null()) {
    if (!annotations->is_object()) {
      return JsonTypeError(kWhat, path + ".annotations", "object",
                           *annotations);
    }
    for (const auto& [key, value] : annotations->items()) {
      if (!value.is_string()) {
        return JsonTypeError(kWhat, absl::StrCat(path, ".annotations.", key),
                             "string", value);
      }
      entry->annotations.emplace(key, value.get_ref<const std::string&>());
    }
  }
  entry->is_attestation =
      (entry->has_platform && IsUnknownPlatform(entry->platform)) ||
      entry->annotations.count(std::string(kReferenceTypeAnnotation)) > 0;
  return absl::OkStatus();
}

absl::string_view StripParameters(absl::string_view content_type) {
  if (size_t semi = content_type.find(';'); semi != absl::string_view::npos) {
    content_type = content_type.substr(0, semi);
  }
  return absl::StripAsciiWhitespace(content_type);
}

}  // namespace

bool IsIndexMediaType(absl::string_view media_type) {
  return media_type == kOciIndexType || media_type == kDockerListType;
}

bool IsImageManifestMediaType(absl::string_view media_type) {
  return media_type == kOciManifestType || media_type == kDockerManifestType;
}

absl::StatusOr<ParsedIndex> ParseIndex(absl::string_view body,
                                       absl::string_view content_type) {
  if (body.size() > kMaxManifestBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhat, ": ", body.size(), " bytes is over the ",
                     kMaxManifestBytes, "-byte limit for a manifest"));
  }
  ParsedIndex index;
  ASSIGN_OR_RETURN(index.document, ParseJson(body, kWhat));
  const nlohmann::json& doc = index.document;
  if (!doc.is_object()) return JsonTypeError(kWhat, "document", "object", doc);

  RETURN_IF_ERROR(
      ReadString(doc, "mediaType", "document", false, &index.media_type));
  if (index.media_type.empty()) {
    index.media_type = std::string(StripParameters(content_type));
  }
  const bool has_manifests = doc.contains("manifests");
  const bool looks_like_manifest = doc.contains("config") ||
                                   doc.contains("layers") ||
                                   doc.contains("fsLayers");
  if (IsImageManifestMediaType(index.media_type) ||
      index.media_type == kDockerSchema1Type ||
      index.media_type == kDockerSchema1SignedType ||
      (!has_manifests && looks_like_manifest &&
       !IsIndexMediaType(index.media_type))) {
    index.kind = DocumentKind::kManifest;
    return index;
  }
  if (!index.media_type.empty() && !IsIndexMediaType(index.media_type)) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhat, ": media type \"", index.media_type,
                     "\" is neither an image index nor an image manifest"));
  }
  auto manifests = doc.find("manifests");
  if (manifests == doc.end()) return Bad("document", "missing \"manifests\"");
  if (!manifests->is_array()) {
    return JsonTypeError(kWhat, "manifests", "array", *manifests);
  }
  if (manifests->size() > kMaxIndexEntries) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhat, ": ", manifests->size(), " entries is over the ",
                     kMaxIndexEntries, "-entry limit"));
  }
  index.entries.resize(manifests->size());
  for (size_t i = 0; i < manifests->size(); ++i) {
    RETURN_IF_ERROR(
        ParseEntry((*manifests)[i], static_cast<int>(i), &index.entries[i]));
  }
  if (index.media_type.empty()) index.media_type = std::string(kOciIndexType);
  return index;
}

}  // namespace nodefit
