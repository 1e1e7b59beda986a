#include "resolver/base/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace nodefit {
namespace {

absl::Status ErrnoError(absl::string_view action, absl::string_view path,
                        int error) {
  const std::string message =
      absl::StrCat("cannot ", action, " ", path, ": ", std::strerror(error));
  if (error == ENOENT) return absl::NotFoundError(message);
  if (error == EACCES || error == EPERM) {
    return absl::PermissionDeniedError(message);
  }
  return absl::InternalError(message);
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes) {
  const bool is_stdin = path == "-";
  const int fd = is_stdin ? STDIN_FILENO : open(path.c_str(), O_RDONLY);
  if (fd < 0) return ErrnoError("read", path, errno);
  std::string out;
  char buffer[64 * 1024];
  absl::Status status;
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      status = ErrnoError("read", is_stdin ? "standard input" : path, errno);
      break;
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      status = absl::InvalidArgumentError(
          absl::StrCat(is_stdin ? "standard input" : path, " is larger than ",
                       max_bytes, " bytes"));
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  if (!is_stdin) close(fd);
  if (!status.ok()) return status;
  return out;
}

absl::Status WriteFileAtomically(const std::string& path,
                                 absl::string_view content, int mode) {
  std::string temp = absl::StrCat(path, ".nodefit-tmp-XXXXXX");
  const int fd = mkstemp(temp.data());
  if (fd < 0) return ErrnoError("create a temporary file for", path, errno);
  auto fail = [&](absl::string_view action) {
    const int error = errno;
    close(fd);
    unlink(temp.c_str());
    return ErrnoError(action, path, error);
  };
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n =
        write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    written += static_cast<size_t>(n);
  }
  if (fchmod(fd, static_cast<mode_t>(mode)) != 0) return fail("chmod");
  if (fsync(fd) != 0) return fail("sync");
  if (close(fd) != 0) {
    const int error = errno;
    unlink(temp.c_str());
    return ErrnoError("close", path, error);
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    unlink(temp.c_str());
    return ErrnoError("rename into", path, error);
  }
  return absl::OkStatus();
}

}  // namespace nodefit
