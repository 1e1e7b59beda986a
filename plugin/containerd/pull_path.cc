#include "plugin/containerd/pull_path.h"

#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "plugin/containerd/toml_parse.h"
#include "resolver/base/status_macros.h"

namespace nodefit {
namespace {

// containerd's default from 2.2 (plugins/cri/images/plugin.go).
constexpr absl::string_view kDefaultConfigPath22 =
    "/etc/containerd/certs.d:/etc/docker/certs.d";
constexpr absl::string_view kCertsDir = "/etc/containerd/certs.d";

std::string_view Std(absl::string_view s) { return {s.data(), s.size()}; }

// The table at `path` (each element one key), or null.
const toml::table* TableAt(const toml::table& root,
                           const std::vector<std::string>& path) {
  const toml::table* table = &root;
  for (const std::string& key : path) {
    table = table->get_as<toml::table>(key);
    if (table == nullptr) return nullptr;
  }
  return table;
}

std::string StringOr(const toml::table* table, absl::string_view key,
                     absl::string_view fallback) {
  if (table == nullptr) return std::string(fallback);
  return table->get(Std(key)) == nullptr
             ? std::string(fallback)
             : table->get(Std(key))->value_or(std::string(fallback));
}

template <typename T>
T ValueOr(const toml::table* table, absl::string_view key, T fallback) {
  if (table == nullptr || table->get(Std(key)) == nullptr) return fallback;
  return table->get(Std(key))->value_or(fallback);
}

bool NonEmptyTable(const toml::table* table, absl::string_view key) {
  if (table == nullptr) return false;
  const toml::table* sub = table->get_as<toml::table>(Std(key));
  return sub != nullptr && !sub->empty();
}

std::string TableName(const std::vector<std::string>& path) {
  std::vector<std::string> parts;
  parts.reserve(path.size());
  for (const std::string& key : path) {
    parts.push_back(absl::StrContains(key, '.') ? absl::StrCat("\"", key, "\"")
                                                : key);
  }
  return absl::StrJoin(parts, ".");
}

std::string HostPlatform() {
#if defined(__x86_64__)
  return "linux/amd64";
#elif defined(__aarch64__)
  return "linux/arm64";
#else
  return "linux";
#endif
}

}  // namespace

absl::StatusOr<ContainerdVersion> ContainerdVersion::Parse(
    absl::string_view text) {
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  if (absl::StartsWith(rest, "v")) rest.remove_prefix(1);
  const size_t end = rest.find_first_not_of("0123456789.");
  const absl::string_view numbers = rest.substr(0, end);
  std::vector<absl::string_view> parts = absl::StrSplit(numbers, '.');
  ContainerdVersion version;
  if (parts.size() < 2 || parts.size() > 3 ||
      !absl::SimpleAtoi(parts[0], &version.major) ||
      !absl::SimpleAtoi(parts[1], &version.minor) ||
      (parts.size() == 3 && !absl::SimpleAtoi(parts[2], &version.patch))) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a containerd version: \"", text, "\""));
  }
  version.text = std::string(numbers);
  return version;
}

bool ContainerdVersion::AtLeast(int major_at_least, int minor_at_least) const {
  return major > major_at_least ||
         (major == major_at_least && minor >= minor_at_least);
}

absl::StatusOr<PullPath> AnalyzePullPath(const ContainerdVersion& version,
                                         absl::string_view config,
                                         absl::string_view source) {
  ASSIGN_OR_RETURN(toml::table root, ParseToml(config, source));
  PullPath path;
  path.version = version;
  const int file_version = ValueOr<int64_t>(&root, "version", 1);

  // Where CRI's image settings live: config version 3 on 2.x (config dump
  // migrates older files), version 2 on 1.x, plugin "cri" in version 1.
  std::vector<std::string> images;
  if (version.major >= 2 && file_version >= 3) {
    images = {"plugins", "io.containerd.cri.v1.images"};
  } else if (file_version >= 2) {
    images = {"plugins", "io.containerd.grpc.v1.cri"};
  } else {
    images = {"plugins", "cri"};
  }
  std::vector<std::string> registry = images;
  registry.push_back("registry");
  path.registry_table = TableName(registry);
  const toml::table* images_table = TableAt(root, images);
  const toml::table* registry_table = TableAt(root, registry);
  // On 1.x the snapshotter is under .containerd.
  std::string snapshotter =
      version.major >= 2 && file_version >= 3
          ? StringOr(images_table, "snapshotter", "overlayfs")
          : StringOr(images_table == nullptr
                         ? nullptr
                         : images_table->get_as<toml::table>("containerd"),
                     "snapshotter", "overlayfs");

  const bool mirrors = NonEmptyTable(registry_table, "mirrors");
  std::vector<std::string> legacy;
  for (const char* key : {"mirrors", "configs", "auths"}) {
    if (NonEmptyTable(registry_table, key)) legacy.push_back(key);
  }
  path.config_path = StringOr(registry_table, "config_path", "");
  if (path.config_path.empty() && !mirrors && version.AtLeast(2, 2)) {
    path.config_path = std::string(kDefaultConfigPath22);
    path.config_path_is_default = true;
  }

  // Which pull CRI makes (CheckLocalImagePullConfigs' list, first match).
  if (version.AtLeast(2, 1)) {
    if (ValueOr(images_table, "use_local_image_pull", false)) {
      path.local_pull_reason = "use_local_image_pull = true";
    } else if (!ValueOr(images_table, "disable_snapshot_annotations", true)) {
      path.local_pull_reason = "disable_snapshot_annotations = false";
    } else if (ValueOr(images_table, "discard_unpacked_layers", false)) {
      path.local_pull_reason = "discard_unpacked_layers = true";
    } else if (!legacy.empty()) {
      path.local_pull_reason = absl::StrCat("registry.", legacy[0], " is set");
    } else if (ValueOr<int64_t>(images_table, "max_concurrent_downloads", 3) !=
               3) {
      path.local_pull_reason = "max_concurrent_downloads is not 3";
    } else if (ValueOr(images_table, "image_pull_with_sync_fs", false)) {
      path.local_pull_reason = "image_pull_with_sync_fs = true";
    } else {
      path.transfer_service = true;
    }
  }

  const std::string where =
      absl::StrCat("[", path.registry_table, "] in ", source);
  if (path.transfer_service) {
    if (!path.config_path.empty()) path.hosts_dirs = {path.config_path};
  } else {
    for (absl::string_view dir :
         absl::StrSplit(path.config_path, ':', absl::SkipEmpty())) {
      path.hosts_dirs.emplace_back(dir);
    }
  }

  if (!legacy.empty()) {
    path.problems.push_back(
        {absl::StrCat(
             "the deprecated registry.", absl::StrJoin(legacy, ", registry."),
             " ", legacy.size() == 1 ? "is" : "are", " set in ", where,
             ": containerd then ignores config_path (or refuses to start "
             "with both), so its pulls skip hosts.toml"),
         absl::StrCat("move those settings into hosts.toml files under ",
                      kCertsDir, ", delete them from [", path.registry_table,
                      "], set config_path = \"", kCertsDir,
                      "\" there and restart containerd")});
  } else if (path.config_path.empty()) {
    path.problems.push_back(
        {absl::StrCat("config_path is not set in ", where, ": containerd ",
                      version.text,
                      "'s CRI pulls read no hosts.toml, so they never ask "
                      "nodefit"),
         absl::StrCat("set config_path = \"", kCertsDir, "\" in [",
                      path.registry_table, "] and restart containerd")});
  } else if (path.transfer_service &&
             absl::StrContains(path.config_path, ':')) {
    const std::string first(
        *absl::StrSplit(path.config_path, ':', absl::SkipEmpty()).begin());
    path.problems.push_back(
        {absl::StrCat(
             "config_path is \"", path.config_path, "\"",
             path.config_path_is_default ? " (containerd's default)" : "",
             ", a list: containerd ", version.text,
             "'s CRI pulls go through the transfer service, which reads "
             "hosts.toml from one directory only, so every CRI pull skips "
             "hosts.toml without a word in any log (containerd issue "
             "12808)"),
         absl::StrCat("set config_path = \"", first.empty() ? kCertsDir : first,
                      "\" (one directory) in [", path.registry_table,
                      "] and restart containerd")});
  }

  if (path.transfer_service) {
    // The transfer service unpacks only where its unpack_config says.
    const toml::table* transfer =
        TableAt(root, {"plugins", "io.containerd.transfer.v1.local"});
    const toml::array* unpack =
        transfer == nullptr ? nullptr
                            : transfer->get_as<toml::array>("unpack_config");
    std::vector<std::string> snapshotters;
    if (unpack == nullptr) {
      snapshotters.push_back("overlayfs");
    } else {
      for (const toml::node& entry : *unpack) {
        if (const toml::table* t = entry.as_table()) {
          const std::string platform = StringOr(t, "platform", "");
          if (platform.empty() || absl::StartsWith(HostPlatform(), platform) ||
              absl::StartsWith(platform, HostPlatform())) {
            snapshotters.push_back(StringOr(t, "snapshotter", ""));
          }
        }
      }
    }
    if (std::find(snapshotters.begin(), snapshotters.end(), snapshotter) ==
        snapshotters.end()) {
      path.problems.push_back(
          {absl::StrCat("CRI pulls unpack onto the ", snapshotter,
                        " snapshotter, but the transfer service's "
                        "unpack_config in ",
                        source, " does not name it for ", HostPlatform(),
                        ": CRI pulls fail"),
           absl::StrCat("add [[plugins.\"io.containerd.transfer.v1.local\"."
                        "unpack_config]] with platform = \"",
                        HostPlatform(), "\" and snapshotter = \"", snapshotter,
                        "\", or set use_local_image_pull = true in [",
                        TableName(images), "], and restart containerd")});
    }
  }
  return path;
}

}  // namespace nodefit
