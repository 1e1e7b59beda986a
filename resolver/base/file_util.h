// Whole-file reads and atomic writes with errors that name the file.
#ifndef NODEFIT_RESOLVER_BASE_FILE_UTIL_H_
#define NODEFIT_RESOLVER_BASE_FILE_UTIL_H_

#include <sys/types.h>

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

// As ReadFileToString, for a path that may be under a directory others can
// write: a symlink is refused (O_NOFOLLOW, ELOOP) and so is anything but a
// regular file (FailedPrecondition), so nodefit never reads through a link
// or blocks on a FIFO someone put there.
[[nodiscard]] absl::StatusOr<std::string> ReadFileNoFollow(
    const std::string& path, size_t max_bytes);

// Writes `content` to a temporary file beside `path`, fsyncs it and renames
// it over `path`, so readers see the old or the new file, never half of one.
[[nodiscard]] absl::Status WriteFileAtomically(const std::string& path,
                                               absl::string_view content,
                                               int mode = 0644);

// The same inside the directory open as `dir_fd` (opened with O_NOFOLLOW by
// the caller, so a directory swapped for a symlink is never written
// through): the temporary file is created O_EXCL|O_NOFOLLOW, given `mode`
// and, unless -1, owner `uid`:`gid` (fchmod/fchown on the open file, so no
// path is followed), fsynced and renamed over `name`. `display` names the
// file in messages.
[[nodiscard]] absl::Status WriteFileAtomicallyAt(
    int dir_fd, const std::string& name, absl::string_view display,
    absl::string_view content, int mode, uid_t uid = -1, gid_t gid = -1);

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_BASE_FILE_UTIL_H_
