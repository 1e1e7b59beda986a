// Node Feature Discovery feature files (docs/configuration.md): the
// "features.d" directory NFD's local source reads, one "name[=value]" per
// line, '#' starting a comment (NFD's "# +directive" lines included).
//
// Reading, as an optional source of node features under the config's
// `nfd` mapping:
//   - a line whose "name=value", or else whose "name", is a key of nfd.map
//     gives the mapped feature;
//   - else a name starting with nfd.prefix gives the rest as a feature
//     ("nodefit-skylake" -> "skylake"), unless its value is "false";
//   - other lines are ignored (they are other tools' labels).
// Files are read in name order; hidden files and WriteFileAtomically's
// temporary files (".nodefit-tmp-") are skipped; so are directories.
//
// Writing (`nodefit features --write-nfd FILE`): one "<prefix><feature>"
// line per feature after a comment saying nodefit wrote the file, replaced
// atomically, so NFD turns them into node labels.
#ifndef NODEFIT_RESOLVER_DETECT_DETECT_NFD_H_
#define NODEFIT_RESOLVER_DETECT_DETECT_NFD_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "resolver/config/config.h"
#include "resolver/detect/detect_feature.h"

namespace nodefit {

// Features from one file's text; `origin` (its path) goes into each
// feature's detail as "origin:line".
Detection ParseNfdFeatures(absl::string_view text, const NfdConfig& nfd,
                           absl::string_view origin);

// Features from every file in nfd.features_dir. A missing directory is a
// note (NFD is not installed); an unreadable file is a note too.
Detection ReadNfdFeatures(const NfdConfig& nfd);

// The text --write-nfd writes.
std::string FormatNfdFeatures(const std::vector<std::string>& features,
                              absl::string_view prefix);

// Writes FormatNfdFeatures(...) to `path` atomically.
[[nodiscard]] absl::Status WriteNfdFeatures(
    const std::string& path, const std::vector<std::string>& features,
    absl::string_view prefix);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_DETECT_DETECT_NFD_H_
