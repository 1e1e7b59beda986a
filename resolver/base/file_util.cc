#include "resolver/base/file_util.h"

#include <fcntl.h>
#include <sys/random.h>
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

namespace {

// Reads `fd` to its end, at most `max_bytes`; `name` in messages.
absl::StatusOr<std::string> ReadAll(int fd, absl::string_view name,
                                    size_t max_bytes) {
  std::string out;
  char buffer[64 * 1024];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read", name, errno);
    }
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " is larger than ", max_bytes, " bytes"));
    }
    out.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace

absl::StatusOr<std::string> ReadFileToString(const std::string& path,
                                             size_t max_bytes) {
  if (path == "-") return ReadAll(STDIN_FILENO, "standard input", max_bytes);
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("read", path, errno);
  absl::StatusOr<std::string> out = ReadAll(fd, path, max_bytes);
  close(fd);
  return out;
}

absl::StatusOr<std::string> ReadFileNoFollow(const std::string& path,
                                             size_t max_bytes) {
  const int fd =
      open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ELOOP) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is a symlink; nodefit does not follow it"));
    }
    return ErrnoError("read", path, errno);
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a regular file"));
  }
  absl::StatusOr<std::string> out = ReadAll(fd, path, max_bytes);
  close(fd);
  return out;
}

namespace {

// Writes all of `content` to `fd`, retrying short writes and EINTR; false
// with errno set on a failure.
bool WriteAll(int fd, absl::string_view content) {
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n =
        write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    written += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

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
  if (!WriteAll(fd, content)) return fail("write");
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

absl::Status WriteFileAtomicallyAt(int dir_fd, const std::string& name,
                                   absl::string_view display,
                                   absl::string_view content, int mode,
                                   uid_t uid, gid_t gid) {
  std::string temp;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 16; ++attempt) {
    uint64_t random = 0;
    if (getrandom(&random, sizeof(random), 0) != sizeof(random)) {
      random = static_cast<uint64_t>(getpid()) * 2654435761u + attempt;
    }
    temp = absl::StrCat(name, ".nodefit-tmp-", absl::Hex(random));
    fd = openat(dir_fd, temp.c_str(),
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return ErrnoError("create a temporary file for", display, errno);
  auto fail = [&](absl::string_view action) {
    const int error = errno;
    close(fd);
    unlinkat(dir_fd, temp.c_str(), 0);
    return ErrnoError(action, display, error);
  };
  if (!WriteAll(fd, content)) return fail("write");
  if (fchmod(fd, static_cast<mode_t>(mode)) != 0) return fail("chmod");
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) &&
      fchown(fd, uid, gid) != 0) {
    return fail("give the owner to");
  }
  if (fsync(fd) != 0) return fail("sync");
  if (close(fd) != 0) {
    const int error = errno;
    unlinkat(dir_fd, temp.c_str(), 0);
    return ErrnoError("close", display, error);
  }
  if (renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()) != 0) {
    const int error = errno;
    unlinkat(dir_fd, temp.c_str(), 0);
    return ErrnoError("rename into", display, error);
  }
  return absl::OkStatus();
}

}  // namespace nodefit
