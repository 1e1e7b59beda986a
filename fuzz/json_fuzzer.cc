// ParseJson, the one place untrusted bytes become JSON: it must turn every
// input into a value or a status (nlohmann throws; its bounds on depth and
// values must hold), and what it accepts must survive DumpJson and parse
// back equal (the HTTP face serves documents it re-serialised).
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "resolver/base/json_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<nlohmann::json> doc = nodefit::ParseJson(text, "fuzz");
  if (!doc.ok()) {
    NODEFIT_FUZZ_CHECK(
        doc.status().code() == absl::StatusCode::kInvalidArgument ||
        doc.status().code() == absl::StatusCode::kResourceExhausted);
    return 0;
  }
  for (int indent : {-1, 2}) {
    const std::string dumped = nodefit::DumpJson(*doc, indent);
    const absl::StatusOr<nlohmann::json> again =
        nodefit::ParseJson(dumped, "fuzz dump");
    NODEFIT_FUZZ_CHECK(again.ok());
    NODEFIT_FUZZ_CHECK(*again == *doc);
  }
  return 0;
}
