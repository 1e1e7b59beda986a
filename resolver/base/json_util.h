// The one place nodefit turns untrusted bytes into JSON.
//
// nlohmann::json reports errors by throwing; ParseJson catches every such
// exception and turns it into an InvalidArgument status naming `what` (for
// example "config /etc/nodefit/config.json" or "index") and the parser's
// reason with its byte position. Callers then read the tree with the
// non-throwing accessors (is_string(), find(), ...) and never call get<T>()
// on a value whose type they have not checked.
#ifndef NODEFIT_RESOLVER_BASE_JSON_UTIL_H_
#define NODEFIT_RESOLVER_BASE_JSON_UTIL_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace nodefit {

// Bounds on every parsed document, whatever its size in bytes: nesting
// depth and the number of values. An OCI index of 4096 entries has about
// 125,000 values and a depth of 6; without them a 4 MB `[[[…]]]` costs
// hundreds of megabytes. Hitting one is ResourceExhausted, reported as the
// limit "json".
inline constexpr int kJsonMaxDepth = 64;
inline constexpr int64_t kJsonMaxValues = 150'000;

// Parses `text` as one JSON document. Duplicate keys keep the last value, as
// Go's encoding/json (and so containerd) does.
[[nodiscard]] absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text,
                                                       absl::string_view what);

// Serialises without ever throwing: invalid UTF-8 in strings is replaced by
// U+FFFD. `indent` < 0 gives the compact form.
std::string DumpJson(const nlohmann::json& value, int indent = -1);

// "<what>: <path>: expected <expected>, got <actual type>".
absl::Status JsonTypeError(absl::string_view what, absl::string_view path,
                           absl::string_view expected,
                           const nlohmann::json& actual);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_BASE_JSON_UTIL_H_
