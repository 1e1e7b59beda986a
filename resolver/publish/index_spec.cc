#include "resolver/publish/index_spec.h"

#include <exception>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "resolver/base/status_macros.h"
#include "resolver/select/index.h"
#include "yaml-cpp/yaml.h"

namespace nodefit {
namespace {

absl::Status Bad(absl::string_view where, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("index spec: ", where, ": ", what));
}

// Every key of `node` must be one of `known`.
absl::Status CheckKeys(const YAML::Node& node, absl::string_view where,
                       const std::set<std::string>& known) {
  for (const auto& item : node) {
    const std::string key = item.first.Scalar();
    if (known.count(key) == 0) {
      return Bad(where.empty() ? key : absl::StrCat(where, ".", key),
                 absl::StrCat(
                     "unknown key (known: ", absl::StrJoin(known, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Scalar(const YAML::Node& node,
                                   absl::string_view where) {
  if (!node.IsScalar()) return Bad(where, "must be a string");
  return node.Scalar();
}

absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& node,
                                                    absl::string_view where) {
  if (!node.IsSequence()) return Bad(where, "must be a list of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < node.size(); ++i) {
    ASSIGN_OR_RETURN(std::string s,
                     Scalar(node[i], absl::StrCat(where, "[", i, "]")));
    if (s.empty()) return Bad(absl::StrCat(where, "[", i, "]"), "is empty");
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<Reference> ImageReference(const YAML::Node& node,
                                         absl::string_view where) {
  ASSIGN_OR_RETURN(std::string text, Scalar(node, where));
  absl::StatusOr<Reference> ref = ParseReference(text);
  if (!ref.ok()) return Bad(where, ref.status().message());
  return ref;
}

absl::StatusOr<SpecPlatform> ParsePlatformNode(const YAML::Node& node,
                                               const std::string& where) {
  if (!node.IsMap()) return Bad(where, "must be a mapping");
  RETURN_IF_ERROR(CheckKeys(node, where,
                            {"architecture", "os", "variant", "features",
                             "osversion", "osfeatures"}));
  SpecPlatform p;
  auto field = [&](const char* key, std::string* out) -> absl::Status {
    if (!node[key]) return absl::OkStatus();
    ASSIGN_OR_RETURN(*out, Scalar(node[key], absl::StrCat(where, ".", key)));
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(field("architecture", &p.architecture));
  RETURN_IF_ERROR(field("os", &p.os));
  RETURN_IF_ERROR(field("variant", &p.variant));
  RETURN_IF_ERROR(field("osversion", &p.os_version));
  if (node["features"]) {
    ASSIGN_OR_RETURN(p.features, StringList(node["features"],
                                            absl::StrCat(where, ".features")));
  }
  if (node["osfeatures"]) {
    ASSIGN_OR_RETURN(
        p.os_features,
        StringList(node["osfeatures"], absl::StrCat(where, ".osfeatures")));
  }
  return p;
}

absl::StatusOr<IndexSpec> ParseRoot(const YAML::Node& root) {
  if (!root.IsMap()) return Bad("document", "must be a mapping");
  RETURN_IF_ERROR(CheckKeys(root, "", {"image", "tags", "manifests"}));
  IndexSpec spec;
  if (!root["image"]) return Bad("image", "missing: the index's name");
  ASSIGN_OR_RETURN(spec.image, ImageReference(root["image"], "image"));
  if (!spec.image.digest.empty()) {
    return Bad("image", "must name a tag, not a digest");
  }
  if (root["tags"]) {
    ASSIGN_OR_RETURN(spec.tags, StringList(root["tags"], "tags"));
    for (size_t i = 0; i < spec.tags.size(); ++i) {
      absl::Status valid = ValidateTag(spec.tags[i]);
      if (!valid.ok()) {
        return Bad(absl::StrCat("tags[", i, "]"), valid.message());
      }
    }
  }
  const YAML::Node manifests = root["manifests"];
  if (!manifests || !manifests.IsSequence() || manifests.size() == 0) {
    return Bad("manifests", "must be a non-empty list");
  }
  if (manifests.size() > kMaxIndexEntries) {
    return Bad("manifests",
               absl::StrCat("more than ", kMaxIndexEntries, " entries"));
  }
  for (size_t i = 0; i < manifests.size(); ++i) {
    const std::string where = absl::StrCat("manifests[", i, "]");
    const YAML::Node m = manifests[i];
    if (!m.IsMap()) return Bad(where, "must be a mapping");
    RETURN_IF_ERROR(CheckKeys(m, where, {"image", "platform", "annotations"}));
    SpecEntry entry;
    if (!m["image"]) return Bad(where + ".image", "missing");
    ASSIGN_OR_RETURN(entry.image, ImageReference(m["image"], where + ".image"));
    if (m["platform"]) {
      entry.has_platform = true;
      ASSIGN_OR_RETURN(entry.platform,
                       ParsePlatformNode(m["platform"], where + ".platform"));
    }
    if (m["annotations"]) {
      const YAML::Node a = m["annotations"];
      if (!a.IsMap()) return Bad(where + ".annotations", "must be a mapping");
      for (const auto& item : a) {
        const std::string key = item.first.Scalar();
        ASSIGN_OR_RETURN(
            entry.annotations[key],
            Scalar(item.second, absl::StrCat(where, ".annotations.", key)));
      }
    }
    spec.manifests.push_back(std::move(entry));
  }
  return spec;
}

}  // namespace

absl::StatusOr<IndexSpec> ParseIndexSpec(absl::string_view text) {
  if (text.size() > kMaxIndexSpecBytes) {
    return Bad("document",
               absl::StrCat("larger than ", kMaxIndexSpecBytes, " bytes"));
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
    return ParseRoot(root);
  } catch (const std::exception& e) {
    // yaml-cpp reports malformed input, and wrong node types it meets while
    // reading, by throwing; its message names the line and column.
    return Bad("document", e.what());
  }
}

}  // namespace nodefit
