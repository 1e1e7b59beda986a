#include "plugin/containerd/toml_parse.h"

#include <string_view>

#include "absl/strings/str_cat.h"

namespace nodefit {

absl::StatusOr<toml::table> ParseToml(absl::string_view content,
                                      absl::string_view path) {
  const std::string_view text(content.data(), content.size());
  const std::string_view name(path.data(), path.size());
  try {
    return toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const std::string_view description = e.description();
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot parse ", path, ": line ", e.source().begin.line, ", column ",
        e.source().begin.column, ": ",
        absl::string_view(description.data(), description.size())));
  }
}

}  // namespace nodefit
