#include "resolver/base/json_util.h"

#include "absl/strings/str_cat.h"
#include "resolver/base/limits.h"

namespace nodefit {

namespace {

// Thrown by the parser callback to stop at a bound; caught below.
struct TooBig {
  const char* what;
};

}  // namespace

absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text,
                                         absl::string_view what) {
  int64_t values = 0;
  const nlohmann::json::parser_callback_t bounds =
      [&values](int depth, nlohmann::json::parse_event_t event,
                nlohmann::json&) {
        const bool opens =
            event == nlohmann::json::parse_event_t::object_start ||
            event == nlohmann::json::parse_event_t::array_start;
        // `depth` counts the containers already open around this event.
        if (opens && depth >= kJsonMaxDepth) {
          throw TooBig{"nested too deeply"};
        }
        if (opens || event == nlohmann::json::parse_event_t::value) {
          if (++values > kJsonMaxValues) throw TooBig{"too many values"};
        }
        return true;
      };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), bounds);
  } catch (const TooBig& e) {
    ReportLimit("json");
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": JSON ", e.what, " (at most depth ", kJsonMaxDepth,
                     " and ", kJsonMaxValues, " values)"));
  } catch (const nlohmann::json::exception& e) {
    // e.what() reads like "[json.exception.parse_error.101] parse error at
    // line 1, column 2: syntax error ..."; drop the bracketed id.
    absl::string_view reason = e.what();
    if (size_t close = reason.find("] "); close != absl::string_view::npos) {
      reason.remove_prefix(close + 2);
    }
    // "…; last read: '<text>'; expected …": the text read is the document's
    // own (a password in a config, a token), so it never goes into a
    // message; the position says where to look.
    std::string message(reason);
    if (const size_t read = message.find("; last read: ");
        read != std::string::npos) {
      const size_t expected = message.rfind("'; expected");
      message = message.substr(0, read) +
                (expected != std::string::npos && expected > read
                     ? message.substr(expected + 1)
                     : std::string());
    }
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": malformed JSON: ", message));
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
