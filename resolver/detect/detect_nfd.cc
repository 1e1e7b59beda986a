#include "resolver/detect/detect_nfd.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "resolver/base/file_util.h"

namespace nodefit {
namespace {

constexpr size_t kMaxNfdFileBytes = size_t{1} << 20;

}  // namespace

Detection ParseNfdFeatures(absl::string_view text, const NfdConfig& nfd,
                           absl::string_view origin) {
  Detection out;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    const size_t eq = line.find('=');
    const absl::string_view name =
        absl::StripAsciiWhitespace(line.substr(0, eq));
    const bool has_value = eq != absl::string_view::npos;
    const absl::string_view value =
        has_value ? absl::StripAsciiWhitespace(line.substr(eq + 1))
                  : absl::string_view();
    const std::string detail = absl::StrCat(origin, ":", number, ": ", line);
    if (has_value) {
      auto it = nfd.map.find(absl::StrCat(name, "=", value));
      if (it != nfd.map.end()) {
        out.features.push_back({it->second, std::string(kSourceNfd), detail});
        continue;
      }
    }
    if (auto it = nfd.map.find(std::string(name)); it != nfd.map.end()) {
      out.features.push_back({it->second, std::string(kSourceNfd), detail});
      continue;
    }
    absl::string_view rest = name;
    if (!nfd.prefix.empty() && absl::ConsumePrefix(&rest, nfd.prefix) &&
        !rest.empty() && value != "false") {
      out.features.push_back(
          {std::string(rest), std::string(kSourceNfd), detail});
    }
  }
  return out;
}

Detection ReadNfdFeatures(const NfdConfig& nfd) {
  Detection out;
  DIR* dir = opendir(nfd.features_dir.c_str());
  if (dir == nullptr) {
    const int error = errno;
    out.notes.push_back(
        error == ENOENT
            ? absl::StrCat("nfd: ", nfd.features_dir,
                           " does not exist (Node Feature Discovery files)")
            : absl::StrCat("nfd: cannot read ", nfd.features_dir, ": ",
                           std::strerror(error)));
    return out;
  }
  std::vector<std::string> names;
  while (const dirent* entry = readdir(dir)) {
    const absl::string_view name = entry->d_name;
    // Hidden files include "." and ".."; temporary files are half written.
    if (name.empty() || name.front() == '.' ||
        absl::StrContains(name, ".nodefit-tmp-")) {
      continue;
    }
    names.emplace_back(name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string path = absl::StrCat(nfd.features_dir, "/", name);
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    absl::StatusOr<std::string> text = ReadFileToString(path, kMaxNfdFileBytes);
    if (!text.ok()) {
      out.notes.push_back(absl::StrCat("nfd: ", text.status().message()));
      continue;
    }
    Detection file = ParseNfdFeatures(*text, nfd, path);
    for (SourcedFeature& f : file.features) {
      out.features.push_back(std::move(f));
    }
  }
  return out;
}

std::string FormatNfdFeatures(const std::vector<std::string>& features,
                              absl::string_view prefix) {
  std::string out =
      "# Written by `nodefit features --write-nfd`: the features nodefit "
      "detected on this node. nodefit replaces this file; do not edit.\n";
  for (const std::string& feature : features) {
    absl::StrAppend(&out, prefix, feature, "\n");
  }
  return out;
}

absl::Status WriteNfdFeatures(const std::string& path,
                              const std::vector<std::string>& features,
                              absl::string_view prefix) {
  return WriteFileAtomically(path, FormatNfdFeatures(features, prefix));
}

}  // namespace nodefit
