// Whole-file reads and atomic writes with errors that name the file.
#ifndef NODEFIT_RESOLVER_BASE_FILE_UTIL_H_
#define NODEFIT_RESOLVER_BASE_FILE_UTIL_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace nodefit {

// Reads a whole file ("-" reads standard input). NotFound when it does not
// exist, InvalidArgument when it is larger than `max_bytes`, other errors
// with errno's text.
[[nodiscard]] absl::StatusOr<std::string> ReadFileToString(
    const std::string& path, size_t max_bytes);

// Writes `content` to a temporary file beside `path`, fsyncs it and renames
// it over `path`, so readers see the old or the new file, never half of one.
[[nodiscard]] absl::Status WriteFileAtomically(const std::string& path,
                                               absl::string_view content,
                                               int mode = 0644);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_BASE_FILE_UTIL_H_
