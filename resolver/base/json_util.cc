#include "resolver/base/json_util.h"

#include "absl/strings/str_cat.h"

namespace nodefit {

absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text,
                                         absl::string_view what) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    // e.what() reads like "[json.exception.parse_error.101] parse error at
    // line 1, column 2: syntax error ..."; drop the bracketed id.
    absl::string_view reason = e.what();
    if (size_t close = reason.find("] "); close != absl::string_view::npos) {
      reason.remove_prefix(close + 2);
    }
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": malformed JSON: ", reason));
  }
}

std::string DumpJson(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false,
                    nlohmann::json::error_handler_t::replace);
}

absl::Status JsonTypeError(absl::string_view what, absl::string_view path,
                           absl::string_view expected,
                           const nlohmann::json& actual) {
  return absl::InvalidArgumentError(absl::StrCat(
      what, ": ", path, ": expected ", expected, ", got ", actual.type_name()));
}

}  // namespace nodefit
