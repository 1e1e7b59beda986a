// Renders a Selection for people (a table) and for programs (one JSON
// object), and the one-paragraph no-match message the faces return.
//
// The JSON shape is the contract of `nodefit select --json`:
//   {"outcome": "selected"|"passthrough"|"no_match", "reason": "...",
//    "chosen": {"position", "digest", "mediaType", "size"} | null,
//    "node": {"platform", "features"},
//    "candidates": [{"position", "digest", "mediaType", "size", "platform",
//                    "requirements", "met", "missing", "eligible", "score",
//                    "reason"}]}
#ifndef NODEFIT_RESOLVER_SELECT_REPORT_H_
#define NODEFIT_RESOLVER_SELECT_REPORT_H_

#include <string>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "resolver/select/node_profile.h"
#include "resolver/select/selector.h"

namespace nodefit {

nlohmann::json SelectionToJson(const Selection& selection,
                               const NodeClosure& node);

std::string SelectionToText(const Selection& selection,
                            const NodeClosure& node);

// "no build of <image> fits node linux/amd64 with features [broadwell]:
//  #1 linux/amd64 lacks skylake; #2 ..." — for logs and client errors.
std::string NoMatchMessage(absl::string_view image, const Selection& selection,
                           const NodeClosure& node);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_SELECT_REPORT_H_
