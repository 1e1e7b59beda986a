#include "plugin/containerd/hosts_toml.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"
#include "plugin/containerd/toml_parse.h"
#include "resolver/base/file_util.h"
#include "resolver/base/json_util.h"
#include "resolver/base/status_macros.h"
#include "resolver/registry/reference.h"

namespace nodefit {
namespace {

constexpr absl::string_view kComment =
    "# Added by nodefit (nodefit hosts install); nodefit hosts remove takes "
    "it out.";
constexpr absl::string_view kCarriedMirrorsComment =
    "# registry-mirrors of Docker's daemon.json, carried over by nodefit "
    "hosts install (Docker stops using them once this file lists a host); "
    "nodefit hosts remove takes them out.";
constexpr absl::string_view kCarriedInsecureComment =
    "# insecure-registries of Docker's daemon.json, carried over by nodefit "
    "hosts install (Docker stops applying it once this file lists a host); "
    "nodefit hosts remove takes it out.";
constexpr absl::string_view kHostsToml = "hosts.toml";
constexpr absl::string_view kBom = "\xEF\xBB\xBF";
constexpr size_t kMaxHostsTomlBytes = 1 << 20;
constexpr size_t kMaxStateBytes = 1 << 20;

// toml++ takes std::string_view; Debian's Abseil has its own string_view.
std::string_view Std(absl::string_view s) { return {s.data(), s.size()}; }
absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

// --- Text ------------------------------------------------------------------

// The lines of `content` with their terminators: toml++'s line N is
// lines[N - 1]. TOML ends lines with LF or CRLF, so splitting on LF is exact.
std::vector<absl::string_view> SplitLines(absl::string_view content) {
  std::vector<absl::string_view> lines;
  size_t start = 0;
  while (start < content.size()) {
    const size_t newline = content.find('\n', start);
    const size_t end =
        newline == absl::string_view::npos ? content.size() : newline + 1;
    lines.push_back(content.substr(start, end - start));
    start = end;
  }
  return lines;
}

// Byte offset where line `line` (1-based) starts; past a leading BOM, which
// toml++ skips without counting it as a column.
size_t LineOffset(const std::vector<absl::string_view>& lines, size_t line) {
  size_t offset = 0;
  for (size_t i = 0; i + 1 < line && i < lines.size(); ++i) {
    offset += lines[i].size();
  }
  if (line == 1 && !lines.empty() && absl::StartsWith(lines[0], kBom)) {
    offset = kBom.size();
  }
  return offset;
}

// Line `line` without a leading BOM.
absl::string_view LineText(const std::vector<absl::string_view>& lines,
                           size_t line) {
  absl::string_view text = lines[line - 1];
  if (line == 1) absl::ConsumePrefix(&text, kBom);
  return text;
}

// The file's own line ending, so nodefit's lines match it.
absl::string_view NewlineOf(absl::string_view content) {
  const size_t newline = content.find('\n');
  return newline != absl::string_view::npos && newline > 0 &&
                 content[newline - 1] == '\r'
             ? "\r\n"
             : "\n";
}

bool IsBlank(absl::string_view line) {
  return absl::StripAsciiWhitespace(line).empty();
}

bool IsComment(absl::string_view line) {
  return absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "#");
}

// Whether toml++'s position is the '[' of a table header: only blanks before
// it on its line. (Dotted-key tables start at a key, inline ones at '{'.)
bool IsHeaderAt(const std::vector<absl::string_view>& lines,
                const toml::source_position& position) {
  if (position.line < 1 || position.line > lines.size() ||
      position.column < 1) {
    return false;
  }
  const absl::string_view text = LineText(lines, position.line);
  const size_t column = position.column - 1;
  if (column >= text.size() || text[column] != '[') return false;
  return std::all_of(text.begin(), text.begin() + column,
                     [](char c) { return c == ' ' || c == '\t'; });
}

// --- TOML tree --------------------------------------------------------------

// Calls fn(node) on every node below `node`, depth first.
template <typename Fn>
void ForEachDescendant(const toml::node& node, const Fn& fn) {
  if (const toml::table* table = node.as_table()) {
    for (const auto& [key, child] : *table) {
      fn(child);
      ForEachDescendant(child, fn);
    }
  } else if (const toml::array* array = node.as_array()) {
    for (const toml::node& child : *array) {
      fn(child);
      ForEachDescendant(child, fn);
    }
  }
}

bool IsHeaderTable(const std::vector<absl::string_view>& lines,
                   const toml::node& node) {
  const toml::table* table = node.as_table();
  return table != nullptr && !table->is_inline() &&
         IsHeaderAt(lines, node.source().begin);
}

// The line of the first table header, or 0 when there is none.
size_t FirstHeaderLine(const toml::table& tree,
                       const std::vector<absl::string_view>& lines) {
  size_t first = 0;
  ForEachDescendant(tree, [&](const toml::node& node) {
    if (!IsHeaderTable(lines, node)) return;
    const size_t line = node.source().begin.line;
    if (first == 0 || line < first) first = line;
  });
  return first;
}

// The last line holding any part of a value that starts before `limit`:
// comment lines above the first header start after it.
size_t LastValueLineBefore(const toml::table& tree,
                           const std::vector<absl::string_view>& lines,
                           size_t limit) {
  size_t last = 0;
  ForEachDescendant(tree, [&](const toml::node& node) {
    if (IsHeaderTable(lines, node) || node.source().begin.line >= limit) {
      return;
    }
    last = std::max<size_t>(last, node.source().end.line);
  });
  return last;
}

const toml::node* FindHost(const toml::table& tree, absl::string_view address) {
  const toml::table* hosts = tree.get_as<toml::table>("host");
  return hosts == nullptr ? nullptr : hosts->get(Std(address));
}

// The tree as text without host."<address>" (and without `host` if that
// leaves it empty), so two trees that differ only there compare equal.
// Compared as text rather than with == so that nan equals nan.
std::string CanonicalWithout(toml::table tree, absl::string_view address) {
  if (toml::table* hosts = tree.get_as<toml::table>("host")) {
    hosts->erase(Std(address));
    if (hosts->empty()) tree.erase("host");
  }
  std::ostringstream out;
  out << toml::toml_formatter(tree);
  return out.str();
}

// Whether `table` is exactly what NodefitHostBlock(host) writes.
bool IsNodefitTable(const toml::table& table, const NodefitHost& host) {
  const toml::array* capabilities = table.get_as<toml::array>("capabilities");
  const size_t keys = host.ca.empty() ? 1 : 3;
  if (table.size() != keys || capabilities == nullptr ||
      capabilities->size() != 2 ||
      capabilities->get(0)->value<std::string>() != "pull" ||
      capabilities->get(1)->value<std::string>() != "resolve") {
    return false;
  }
  if (host.ca.empty()) return true;
  const toml::array* client = table.get_as<toml::array>("client");
  const toml::array* pair = client == nullptr || client->size() != 1
                                ? nullptr
                                : client->get(0)->as_array();
  return table.get("ca") != nullptr &&
         table.get("ca")->value<std::string>() == host.ca && pair != nullptr &&
         pair->size() == 2 &&
         pair->get(0)->value<std::string>() == host.client_cert &&
         pair->get(1)->value<std::string>() == host.client_key;
}

// A TOML basic string holding `s` (paths: quotes and backslashes escaped).
std::string TomlString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// The tree as text without `keys` at its root, as CanonicalWithout.
std::string CanonicalWithoutKeys(toml::table tree,
                                 const std::vector<std::string>& keys) {
  for (const std::string& key : keys) tree.erase(key);
  std::ostringstream out;
  out << toml::toml_formatter(tree);
  return out.str();
}

// What install writes for `carried` into registry `name`'s hosts.toml,
// below whatever is there: the insecure registry's server keys, then the
// mirrors as hosts (nodefit's host then goes in above them, as always just
// before the first table).
std::string CarriedText(absl::string_view name, const CarriedConfig& carried,
                        absl::string_view newline) {
  std::string text;
  if (carried.insecure) {
    absl::StrAppend(&text, kCarriedInsecureComment, newline,
                    "server = ", TomlString(absl::StrCat("http://", name)),
                    newline, "skip_verify = true", newline);
  }
  if (!carried.mirrors.empty()) {
    if (!text.empty()) absl::StrAppend(&text, newline);
    absl::StrAppend(&text, kCarriedMirrorsComment, newline);
    for (const CarriedHost& mirror : carried.mirrors) {
      absl::StrAppend(&text, "[host.", TomlString(mirror.url), "]", newline,
                      "  capabilities = [\"pull\", \"resolve\"]", newline);
      if (mirror.skip_verify) {
        absl::StrAppend(&text, "  skip_verify = true", newline);
      }
    }
  }
  return text;
}

// `content` (a registry's hosts.toml, "" when there is none) with `carried`
// written below it, proven to add exactly that: the mirrors as the only
// hosts and, into an empty file, the insecure registry's keys.
[[nodiscard]] absl::StatusOr<std::string> WithCarried(
    absl::string_view content, absl::string_view path, absl::string_view name,
    const CarriedConfig& carried) {
  ASSIGN_OR_RETURN(const toml::table before, ParseToml(content, path));
  auto cannot = [&](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot carry Docker's daemon.json settings for ", name,
                     " into ", path, ": ", why));
  };
  if (before.get("host") != nullptr) return cannot("it lists hosts already");
  if (carried.insecure && !before.empty()) {
    return cannot(absl::StrCat(
        "it has settings of its own; Docker stops treating ", name,
        " as insecure once it lists nodefit's host, so add server = "
        "\"http://",
        name, "\" and skip_verify = true to it first"));
  }
  const absl::string_view newline = NewlineOf(content);
  std::string out(content);
  if (!out.empty()) {
    if (out.back() != '\n') absl::StrAppend(&out, newline);
    absl::StrAppend(&out, newline);
  }
  absl::StrAppend(&out, CarriedText(name, carried, newline));
  absl::StatusOr<toml::table> after = ParseToml(out, path);
  if (!after.ok()) return cannot("the result would not parse");
  const toml::table* hosts = after->get_as<toml::table>("host");
  if (hosts == nullptr ? !carried.mirrors.empty()
                       : hosts->size() != carried.mirrors.size()) {
    return cannot("the mirrors did not come out as written");
  }
  for (const CarriedHost& mirror : carried.mirrors) {
    if (FindHost(*after, mirror.url) == nullptr) {
      return cannot("the mirrors did not come out as written");
    }
  }
  std::vector<std::string> added = {"host"};
  if (carried.insecure) {
    added.insert(added.end(), {"server", "skip_verify"});
  }
  if (CanonicalWithoutKeys(*std::move(after), added) !=
      CanonicalWithoutKeys(before, added)) {
    return cannot("the rest of the file would read differently");
  }
  return out;
}

// Proves that `edited` is `original` plus nodefit's host, first by position,
// and nothing else.
[[nodiscard]] absl::Status VerifyAdded(const toml::table& original,
                                       absl::string_view edited,
                                       absl::string_view path,
                                       const NodefitHost& host) {
  const std::string& address = host.address;
  auto cannot = [&](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot add nodefit's host to ", path,
                     " without changing anything else: ", why));
  };
  absl::StatusOr<toml::table> tree = ParseToml(edited, path);
  if (!tree.ok()) {
    return cannot(absl::StrCat("the result would not parse (",
                               tree.status().message(),
                               "); is `host` an inline table?"));
  }
  const toml::node* ours = FindHost(*tree, address);
  const toml::table* table = ours == nullptr ? nullptr : ours->as_table();
  if (table == nullptr || table->is_inline() || !IsNodefitTable(*table, host)) {
    return cannot("nodefit's table did not come out as written");
  }
  for (const auto& [key, host] : *tree->get_as<toml::table>("host")) {
    if (Absl(key.str()) != address &&
        !(ours->source().begin < host.source().begin)) {
      return cannot(absl::StrCat("host \"", Absl(key.str()),
                                 "\" is defined before the first table "
                                 "header, so nodefit's host cannot come "
                                 "first"));
    }
  }
  if (CanonicalWithout(*std::move(tree), address) !=
      CanonicalWithout(original, address)) {
    return cannot("the rest of the file would read differently");
  }
  return absl::OkStatus();
}

// Proves that `edited` is `original` without nodefit's host.
[[nodiscard]] absl::Status VerifyRemoved(const toml::table& original,
                                         absl::string_view edited,
                                         absl::string_view path,
                                         absl::string_view address) {
  auto cannot = [&](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot take nodefit's host out of ", path, ": ", why,
                     "; remove [host.\"", address, "\"] by hand"));
  };
  absl::StatusOr<toml::table> tree = ParseToml(edited, path);
  if (!tree.ok()) return cannot("the result would not parse");
  if (FindHost(*tree, address) != nullptr) {
    return cannot("it is still defined elsewhere");
  }
  if (CanonicalWithout(*std::move(tree), address) !=
      CanonicalWithout(original, address)) {
    return cannot("the rest of the file would read differently");
  }
  return absl::OkStatus();
}

// --- Files -------------------------------------------------------------------

absl::Status ErrnoError(absl::string_view action, absl::string_view path,
                        int error) {
  const std::string message =
      absl::StrCat("cannot ", action, " ", path, ": ", std::strerror(error));
  if (error == EACCES || error == EPERM) {
    return absl::PermissionDeniedError(message);
  }
  return absl::InternalError(message);  // an I/O failure, never bad usage
}

enum class Kind { kMissing, kFile, kDirectory, kOther };

struct FileInfo {
  Kind kind = Kind::kMissing;
  struct stat st = {};
};

// lstat: nodefit follows no symbolic links, so it never writes outside the
// certs directory.
[[nodiscard]] absl::StatusOr<FileInfo> Inspect(const std::string& path) {
  FileInfo info;
  if (lstat(path.c_str(), &info.st) != 0) {
    if (errno == ENOENT) return info;
    return ErrnoError("inspect", path, errno);
  }
  if (S_ISREG(info.st.st_mode)) {
    info.kind = Kind::kFile;
  } else if (S_ISDIR(info.st.st_mode)) {
    info.kind = Kind::kDirectory;
  } else {
    info.kind = Kind::kOther;
  }
  return info;
}

int ModeOf(const FileInfo& info) {
  return static_cast<int>(info.st.st_mode & 07777);
}

// A registry directory opened without following a symlink: every write
// below goes through it (openat, renameat, unlinkat), so a directory or
// file swapped for a symlink after it was checked is never written
// through, and nothing outside the certs directory changes.
class DirFd {
 public:
  [[nodiscard]] absl::Status Open(const std::string& dir) {
    fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd_ < 0) {
      return errno == ELOOP || errno == ENOTDIR
                 ? absl::FailedPreconditionError(absl::StrCat(
                       dir,
                       " became a symlink or not a directory; nodefit "
                       "leaves it alone"))
                 : ErrnoError("open", dir, errno);
    }
    return absl::OkStatus();
  }
  ~DirFd() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

std::string Base(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

// Writes `path` (in `dir`) atomically with the mode and owner `like` had:
// both are set on the new file before it is renamed into place (a new
// inode is owned by whoever wrote it).
[[nodiscard]] absl::Status WriteLike(const DirFd& dir, const std::string& path,
                                     absl::string_view content,
                                     const FileInfo& like) {
  return WriteFileAtomicallyAt(dir.fd(), Base(path), path, content,
                               ModeOf(like), like.st.st_uid, like.st.st_gid);
}

[[nodiscard]] absl::Status RemoveFile(const DirFd& dir,
                                      const std::string& path) {
  if (unlinkat(dir.fd(), Base(path).c_str(), 0) != 0 && errno != ENOENT) {
    return ErrnoError("delete", path, errno);
  }
  return absl::OkStatus();
}

// Holds an exclusive flock on the certs directory, so two runs never
// interleave their plans and writes.
class DirectoryLock {
 public:
  DirectoryLock() = default;
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  ~DirectoryLock() {
    if (fd_ >= 0) close(fd_);
  }

  [[nodiscard]] absl::Status Acquire(const std::string& dir) {
    fd_ = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) return ErrnoError("open", dir, errno);
    while (flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) return ErrnoError("lock", dir, errno);
    }
    return absl::OkStatus();
  }

 private:
  int fd_ = -1;
};

// Files in a registry directory that containerd loads only while there is
// no hosts.toml there (Docker's certs.d layout).
[[nodiscard]] absl::StatusOr<std::vector<std::string>> LegacyCertFiles(
    const std::string& dir) {
  std::vector<std::string> found;
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) return ErrnoError("list", dir, errno);
  while (const dirent* entry = readdir(handle)) {
    const absl::string_view name = entry->d_name;
    if (absl::EndsWith(name, ".crt") || absl::EndsWith(name, ".cert") ||
        absl::EndsWith(name, ".key")) {
      found.emplace_back(name);
    }
  }
  closedir(handle);
  std::sort(found.begin(), found.end());
  return found;
}

[[nodiscard]] absl::StatusOr<std::vector<std::string>> ListDirectory(
    const std::string& dir) {
  std::vector<std::string> names;
  DIR* handle = opendir(dir.c_str());
  if (handle == nullptr) return ErrnoError("list", dir, errno);
  while (const dirent* entry = readdir(handle)) {
    const absl::string_view name = entry->d_name;
    if (!absl::StartsWith(name, ".")) names.emplace_back(name);
  }
  closedir(handle);
  std::sort(names.begin(), names.end());
  return names;
}

// --- State -------------------------------------------------------------------

// What install did, by registry directory name, so remove can undo exactly
// that and nothing else.
struct HostsState {
  NodefitHost host{""};
  std::set<std::string> changed;       // hosts.toml edited, backup beside it
  std::set<std::string> created;       // hosts.toml created
  std::set<std::string> created_dirs;  // registry directory created
  // Docker's settings written below nodefit's host, by registry.
  std::map<std::string, CarriedConfig> carried;

  bool operator==(const HostsState& other) const {
    return host == other.host && changed == other.changed &&
           created == other.created && created_dirs == other.created_dirs &&
           carried == other.carried;
  }
  bool operator!=(const HostsState& other) const { return !(*this == other); }
};

std::string StatePath(const std::string& certs_dir) {
  return absl::StrCat(certs_dir, "/", kHostsStateFile);
}

nlohmann::json CarriedToJson(
    const std::map<std::string, CarriedConfig>& carried) {
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& [name, config] : carried) {
    nlohmann::json mirrors = nlohmann::json::array();
    for (const CarriedHost& mirror : config.mirrors) {
      mirrors.push_back(
          {{"url", mirror.url}, {"skip_verify", mirror.skip_verify}});
    }
    doc[name] = {{"mirrors", mirrors}, {"insecure", config.insecure}};
  }
  return doc;
}

// The "carried" object of nodefit's state file or note; its names and URLs
// are checked, since they are written into hosts.toml again.
[[nodiscard]] absl::StatusOr<std::map<std::string, CarriedConfig>>
CarriedFromJson(const nlohmann::json& doc, absl::string_view what) {
  auto damaged = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is damaged: \"carried\": ", why));
  };
  std::map<std::string, CarriedConfig> carried;
  if (!doc.is_object()) return damaged("not an object");
  for (const auto& [name, entry] : doc.items()) {
    if (absl::Status s = ValidateHostsDirName(name); !s.ok()) {
      return damaged(s.message());
    }
    const auto mirrors = entry.find("mirrors");
    const auto insecure = entry.find("insecure");
    if (!entry.is_object() || mirrors == entry.end() || !mirrors->is_array() ||
        insecure == entry.end() || !insecure->is_boolean()) {
      return damaged(name);
    }
    CarriedConfig config;
    config.insecure = insecure->get<bool>();
    for (const nlohmann::json& mirror : *mirrors) {
      const auto url = mirror.find("url");
      const auto skip = mirror.find("skip_verify");
      if (!mirror.is_object() || url == mirror.end() || !url->is_string() ||
          skip == mirror.end() || !skip->is_boolean()) {
        return damaged(name);
      }
      CarriedHost host{url->get<std::string>(), skip->get<bool>()};
      if (absl::Status s = ValidateCarriedUrl(host.url); !s.ok()) {
        return damaged(s.message());
      }
      config.mirrors.push_back(std::move(host));
    }
    carried[name] = std::move(config);
  }
  return carried;
}

// The state file; `exists` false (and an empty state) when there is none.
[[nodiscard]] absl::StatusOr<HostsState> LoadState(const std::string& certs_dir,
                                                   bool* exists) {
  const std::string path = StatePath(certs_dir);
  absl::StatusOr<std::string> text = ReadFileNoFollow(path, kMaxStateBytes);
  *exists = false;
  if (absl::IsNotFound(text.status())) return HostsState();
  if (!text.ok()) return text.status();
  *exists = true;
  const std::string what = absl::StrCat("nodefit's state file ", path);
  ASSIGN_OR_RETURN(const nlohmann::json doc, ParseJson(*text, what));
  auto damaged = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is damaged: ", why));
  };
  if (!doc.is_object()) return damaged("not an object");
  HostsState state;
  const auto address = doc.find("address");
  if (address == doc.end() || !address->is_string()) {
    return damaged("no \"address\"");
  }
  state.host.address = address->get<std::string>();
  if (absl::Status s = ValidateNodefitAddress(state.host.address); !s.ok()) {
    return damaged(s.message());
  }
  for (auto [key, field] :
       {std::pair<const char*, std::string*>{"ca", &state.host.ca},
        {"client_cert", &state.host.client_cert},
        {"client_key", &state.host.client_key}}) {
    const auto value = doc.find(key);
    if (value == doc.end()) continue;
    if (!value->is_string()) return damaged(absl::StrCat("\"", key, "\""));
    *field = value->get<std::string>();
  }
  for (auto [key, names] : {std::pair<const char*, std::set<std::string>*>{
                                "changed", &state.changed},
                            {"created", &state.created},
                            {"created_dirs", &state.created_dirs}}) {
    const auto list = doc.find(key);
    if (list == doc.end()) continue;
    if (!list->is_array()) return damaged(absl::StrCat("\"", key, "\""));
    for (const nlohmann::json& name : *list) {
      // The names become paths that remove deletes: never trust them blindly.
      if (!name.is_string()) return damaged(absl::StrCat("\"", key, "\""));
      if (absl::Status s = ValidateHostsDirName(name.get<std::string>());
          !s.ok()) {
        return damaged(s.message());
      }
      names->insert(name.get<std::string>());
    }
  }
  if (const auto carried = doc.find("carried"); carried != doc.end()) {
    ASSIGN_OR_RETURN(state.carried, CarriedFromJson(*carried, what));
  }
  return state;
}

[[nodiscard]] absl::Status SaveState(const std::string& certs_dir,
                                     const HostsState& state) {
  nlohmann::json doc = {
      {"address", state.host.address},
      {"changed", state.changed},
      {"created", state.created},
      {"created_dirs", state.created_dirs},
  };
  if (!state.host.ca.empty()) {
    doc["ca"] = state.host.ca;
    doc["client_cert"] = state.host.client_cert;
    doc["client_key"] = state.host.client_key;
  }
  if (!state.carried.empty()) doc["carried"] = CarriedToJson(state.carried);
  return WriteFileAtomically(StatePath(certs_dir),
                             absl::StrCat(DumpJson(doc, 2), "\n"), 0644);
}

// --- Plans -------------------------------------------------------------------

// One registry directory's hosts.toml and what to do with it.
struct FilePlan {
  enum class Action {
    kNone,     // leave the file alone
    kAdd,      // back it up, write new_content
    kCreate,   // create it (and its directory if create_dir)
    kRestore,  // rename its backup over it
    kRewrite,  // write new_content, keeping mode and owner
    kDelete,   // delete it
  };
  std::string name;  // registry directory name
  std::string dir;
  std::string path;
  std::string backup;
  Action action = Action::kNone;
  bool create_dir = false;
  bool drop_backup = false;  // delete the backup afterwards
  FileInfo info;
  std::string old_content;
  std::string new_content;
  std::string line;  // what was done, for stdout
};

FilePlan NewPlan(const std::string& certs_dir, const std::string& name) {
  FilePlan plan;
  plan.name = name;
  plan.dir = absl::StrCat(certs_dir, "/", name);
  plan.path = absl::StrCat(plan.dir, "/", kHostsToml);
  plan.backup = absl::StrCat(plan.path, kHostsBackupSuffix);
  return plan;
}

// `carried`: Docker's settings to write below nodefit's host (null: none).
[[nodiscard]] absl::Status PlanInstall(const NodefitHost& host,
                                       const CarriedConfig* carried,
                                       FilePlan* plan, HostsReport* report) {
  ASSIGN_OR_RETURN(const FileInfo dir, Inspect(plan->dir));
  if (dir.kind != Kind::kDirectory && dir.kind != Kind::kMissing) {
    return absl::InvalidArgumentError(absl::StrCat(
        plan->dir,
        " is not a directory (nodefit follows no symbolic links there)"));
  }
  ASSIGN_OR_RETURN(plan->info, Inspect(plan->path));
  if (plan->info.kind == Kind::kMissing) {
    plan->action = FilePlan::Action::kCreate;
    plan->create_dir = dir.kind == Kind::kMissing;
    plan->new_content = NodefitHostBlock(host);
    if (carried != nullptr) {
      ASSIGN_OR_RETURN(const std::string base,
                       WithCarried("", plan->path, plan->name, *carried));
      ASSIGN_OR_RETURN(plan->new_content,
                       AddNodefitHost(base, plan->path, host));
    }
    plan->line = absl::StrCat(plan->path, ": created",
                              plan->create_dir ? " (and its directory)" : "");
    if (!plan->create_dir) {
      ASSIGN_OR_RETURN(const std::vector<std::string> certs,
                       LegacyCertFiles(plan->dir));
      if (!certs.empty()) {
        report->notes.push_back(absl::StrCat(
            plan->dir, " holds ", absl::StrJoin(certs, ", "),
            ", which containerd reads only while there is no hosts.toml; "
            "name them in hosts.toml (ca, client) if they are still needed"));
      }
    }
    return absl::OkStatus();
  }
  if (plan->info.kind != Kind::kFile) {
    return absl::InvalidArgumentError(absl::StrCat(
        plan->path,
        " is not a regular file (nodefit follows no symbolic links there)"));
  }
  ASSIGN_OR_RETURN(plan->old_content,
                   ReadFileNoFollow(plan->path, kMaxHostsTomlBytes));
  std::string base = plan->old_content;
  if (carried != nullptr) {
    ASSIGN_OR_RETURN(
        base, WithCarried(plan->old_content, plan->path, plan->name, *carried));
  }
  ASSIGN_OR_RETURN(plan->new_content, AddNodefitHost(base, plan->path, host));
  if (plan->new_content == plan->old_content) {
    plan->line = absl::StrCat(plan->path, ": already present");
    return absl::OkStatus();
  }
  plan->action = FilePlan::Action::kAdd;
  plan->line =
      absl::StrCat(plan->path, ": added ", host.address, " (backup in ",
                   kHostsToml, kHostsBackupSuffix, ")");
  return absl::OkStatus();
}

// What install writes into a registry's file, from what was there before
// (`before`; "" for a file install created) and Docker's settings carried
// into it.
[[nodiscard]] absl::StatusOr<std::string> Installed(const std::string& before,
                                                    const FilePlan& plan,
                                                    const HostsState& state) {
  std::string base = before;
  if (const auto carried = state.carried.find(plan.name);
      carried != state.carried.end()) {
    ASSIGN_OR_RETURN(
        base, WithCarried(before, plan.path, plan.name, carried->second));
  }
  return base;
}

[[nodiscard]] absl::Status PlanRemove(const HostsState& state, bool created,
                                      FilePlan* plan, HostsReport* report) {
  ASSIGN_OR_RETURN(plan->info, Inspect(plan->path));
  ASSIGN_OR_RETURN(const FileInfo backup, Inspect(plan->backup));
  plan->drop_backup = backup.kind == Kind::kFile;
  if (plan->info.kind == Kind::kMissing) {
    plan->line = absl::StrCat(plan->path, ": already gone");
    if (!created) {
      report->notes.push_back(
          absl::StrCat(plan->path, " was deleted after install; left deleted"));
    }
    return absl::OkStatus();
  }
  if (plan->info.kind != Kind::kFile) {
    return absl::FailedPreconditionError(absl::StrCat(
        plan->path, " is no longer a regular file; nodefit leaves it alone"));
  }
  ASSIGN_OR_RETURN(plan->old_content,
                   ReadFileNoFollow(plan->path, kMaxHostsTomlBytes));
  // What install wrote, from what was there before.
  std::string before;
  bool know_before = created;
  if (!created && backup.kind == Kind::kFile) {
    ASSIGN_OR_RETURN(before,
                     ReadFileNoFollow(plan->backup, kMaxHostsTomlBytes));
    know_before = true;
  }
  // What the file was with Docker's carried settings and without nodefit's
  // host; unknown when its backup is gone or no longer parses.
  absl::StatusOr<std::string> base =
      absl::NotFoundError("what was there before is unknown");
  if (know_before) base = Installed(before, *plan, state);
  auto undo = [&] {
    if (created) {
      plan->action = FilePlan::Action::kDelete;
      plan->line = absl::StrCat(plan->path, ": deleted");
    } else {
      plan->action = FilePlan::Action::kRestore;
      plan->drop_backup = false;  // the rename consumes it
      plan->line = absl::StrCat(plan->path, ": restored");
    }
    return absl::OkStatus();
  };
  if (know_before) {
    if (plan->old_content == before && !created) {
      plan->line = absl::StrCat(plan->path, ": unchanged");
      return absl::OkStatus();
    }
    // A backup that no longer parses simply matches nothing.
    const absl::StatusOr<std::string> installed =
        base.ok() ? AddNodefitHost(*base, plan->path, state.host) : base;
    if (installed.ok() && plan->old_content == *installed) return undo();
  }
  // Edited since install (or its backup is gone): take out only nodefit's
  // table and keep everything else.
  ASSIGN_OR_RETURN(
      plan->new_content,
      RemoveNodefitHost(plan->old_content, plan->path, state.host.address));
  // Only nodefit's table had changed: Docker's settings go with it.
  if (base.ok() && state.carried.count(plan->name) > 0 &&
      plan->new_content == *base) {
    return undo();
  }
  if (plan->new_content == plan->old_content) {
    plan->line = absl::StrCat(plan->path, ": left as is (no nodefit host)");
    if (know_before) {
      report->notes.push_back(
          absl::StrCat(plan->path,
                       " was edited after install and no longer has "
                       "nodefit's host; left as is"));
    }
    return absl::OkStatus();
  }
  if (created && IsBlank(plan->new_content)) {
    plan->action = FilePlan::Action::kDelete;
    plan->line = absl::StrCat(plan->path, ": deleted");
    return absl::OkStatus();
  }
  plan->action = FilePlan::Action::kRewrite;
  plan->line =
      absl::StrCat(plan->path, ": removed nodefit's host, kept other edits");
  report->notes.push_back(absl::StrCat(
      plan->path, know_before ? " was edited after install" : " has no backup",
      ": removed only nodefit's host and kept the rest",
      state.carried.count(plan->name) > 0
          ? ", including what install carried over from Docker's daemon.json"
          : ""));
  return absl::OkStatus();
}

[[nodiscard]] absl::Status ExecuteInstall(const FilePlan& plan) {
  if (plan.action != FilePlan::Action::kAdd &&
      plan.action != FilePlan::Action::kCreate) {
    return absl::OkStatus();
  }
  if (plan.action == FilePlan::Action::kCreate && plan.create_dir) {
    // mkdir does not follow a symlink at the last component.
    if (mkdir(plan.dir.c_str(), 0755) != 0) {
      return ErrnoError("create", plan.dir, errno);
    }
  }
  DirFd dir;
  RETURN_IF_ERROR(dir.Open(plan.dir));
  if (plan.action == FilePlan::Action::kCreate) {
    // mkdir's mode is filtered by the umask; containerd needs to read it.
    if (plan.create_dir && fchmod(dir.fd(), 0755) != 0) {
      return ErrnoError("chmod", plan.dir, errno);
    }
    return WriteFileAtomicallyAt(dir.fd(), kHostsToml.data(), plan.path,
                                 plan.new_content, 0644);
  }
  // The backup first: a crash then leaves the file as it was.
  RETURN_IF_ERROR(WriteLike(dir, plan.backup, plan.old_content, plan.info));
  return WriteLike(dir, plan.path, plan.new_content, plan.info);
}

[[nodiscard]] absl::Status ExecuteRemove(const FilePlan& plan) {
  if (plan.action == FilePlan::Action::kNone && !plan.drop_backup) {
    return absl::OkStatus();
  }
  DirFd dir;
  RETURN_IF_ERROR(dir.Open(plan.dir));
  switch (plan.action) {
    case FilePlan::Action::kRestore:
      // One rename puts back the original bytes and mode, atomically.
      if (renameat(dir.fd(), Base(plan.backup).c_str(), dir.fd(),
                   Base(plan.path).c_str()) != 0) {
        return ErrnoError("restore", plan.path, errno);
      }
      break;
    case FilePlan::Action::kRewrite:
      RETURN_IF_ERROR(WriteLike(dir, plan.path, plan.new_content, plan.info));
      break;
    case FilePlan::Action::kDelete:
      RETURN_IF_ERROR(RemoveFile(dir, plan.path));
      break;
    default:
      break;
  }
  if (plan.drop_backup) RETURN_IF_ERROR(RemoveFile(dir, plan.backup));
  return absl::OkStatus();
}

[[nodiscard]] absl::Status CheckCertsDir(const std::string& certs_dir,
                                         bool* exists) {
  if (certs_dir.empty()) {
    return absl::InvalidArgumentError("--certs-dir is required");
  }
  struct stat st;
  *exists = stat(certs_dir.c_str(), &st) == 0;
  if (!*exists) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoError("inspect", certs_dir, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--certs-dir ", certs_dir, " is not a directory"));
  }
  return absl::OkStatus();
}

// The registry directories under `certs_dir` that hold a hosts.toml nodefit
// may edit; what it skips (links, names containerd never reads) is noted.
[[nodiscard]] absl::StatusOr<std::set<std::string>> ExistingHostsFiles(
    const std::string& certs_dir, HostsReport* report) {
  std::set<std::string> names;
  ASSIGN_OR_RETURN(const std::vector<std::string> entries,
                   ListDirectory(certs_dir));
  for (const std::string& name : entries) {
    const FilePlan probe = NewPlan(certs_dir, name);
    ASSIGN_OR_RETURN(const FileInfo dir, Inspect(probe.dir));
    if (dir.kind == Kind::kOther) {
      struct stat st;
      if (stat(probe.path.c_str(), &st) == 0) {
        report->notes.push_back(
            absl::StrCat("skipped ", probe.path, ": ", probe.dir,
                         " is a symbolic link (add it with --registry ", name,
                         " after replacing the link)"));
      }
      continue;
    }
    if (dir.kind != Kind::kDirectory) continue;
    ASSIGN_OR_RETURN(const FileInfo file, Inspect(probe.path));
    if (file.kind == Kind::kMissing) continue;
    if (absl::Status s = ValidateHostsDirName(name); !s.ok()) {
      report->notes.push_back(absl::StrCat(
          "skipped ", probe.path, ": \"", name,
          "\" is not a registry host, so containerd never reads it"));
      continue;
    }
    if (file.kind != Kind::kFile) {
      report->notes.push_back(absl::StrCat(
          "skipped ", probe.path,
          ": not a regular file (nodefit follows no symbolic links)"));
      continue;
    }
    names.insert(name);
  }
  return names;
}

// "DIR/" and "DIR" are one directory; printed paths should not say "DIR//x".
std::string CleanDir(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

// All plans' errors at once, so one run names every file to fix.
[[nodiscard]] absl::Status Combine(const std::vector<absl::Status>& errors) {
  if (errors.empty()) return absl::OkStatus();
  if (errors.size() == 1) return errors[0];
  std::vector<std::string> messages;
  bool usage = false;
  for (const absl::Status& e : errors) {
    messages.emplace_back(e.message());
    usage =
        usage || absl::IsInvalidArgument(e) || absl::IsFailedPrecondition(e);
  }
  const std::string message = absl::StrJoin(messages, "\n");
  return usage ? absl::InvalidArgumentError(message)
               : absl::InternalError(message);
}

// The directory containerd's code reads for registry `name` (its
// hostPaths: "<host>_<port>_" for a name with a port, then <name>, then
// _default), or "" when none of them exists.
[[nodiscard]] absl::StatusOr<std::string> HostsDirOf(
    const std::string& certs_dir, const std::string& name) {
  std::vector<std::string> candidates;
  if (const size_t colon = name.rfind(':');
      colon != std::string::npos && colon > 0) {
    candidates.push_back(
        absl::StrCat(name.substr(0, colon), "_", name.substr(colon + 1), "_"));
  }
  candidates.push_back(name);
  candidates.push_back("_default");
  for (const std::string& candidate : candidates) {
    ASSIGN_OR_RETURN(const FileInfo info,
                     Inspect(absl::StrCat(certs_dir, "/", candidate)));
    if (info.kind != Kind::kMissing) return candidate;
  }
  return std::string();
}

std::string CarriedWhat(const CarriedConfig& config) {
  if (config.insecure && !config.mirrors.empty()) {
    return "registry-mirrors and insecure-registries";
  }
  return config.insecure ? "insecure-registries" : "registry-mirrors";
}

// Which of options.carried this install writes, by registry: those whose
// hosts configuration it changes (their own file among `names`, or
// _default when they have no directory) and that Docker applies now (the
// file they resolve to lists no host but nodefit's). A registry that
// resolved to _default gets a file of its own, added to `names`.
[[nodiscard]] absl::StatusOr<std::map<std::string, CarriedConfig>>
DecideCarried(const std::string& certs_dir, const HostsInstallOptions& options,
              const NodefitHost& host, const HostsState& state,
              std::set<std::string>* names, HostsReport* report) {
  std::map<std::string, CarriedConfig> apply;
  for (const auto& [name, config] : options.carried) {
    RETURN_IF_ERROR(ValidateHostsDirName(name));
    if (name == "_default") {
      return absl::InvalidArgumentError(
          "Docker's settings are carried into a registry's own hosts.toml, "
          "not _default");
    }
    for (const CarriedHost& mirror : config.mirrors) {
      RETURN_IF_ERROR(ValidateCarriedUrl(mirror.url));
    }
    if (config.mirrors.empty() && !config.insecure) continue;
    if (const auto done = state.carried.find(name);
        done != state.carried.end()) {
      // An earlier install carried them; written again, as recorded, only
      // where its file has been deleted since.
      ASSIGN_OR_RETURN(
          const FileInfo file,
          Inspect(absl::StrCat(certs_dir, "/", name, "/", kHostsToml)));
      if (file.kind == Kind::kMissing) {
        apply[name] = done->second;
        names->insert(name);
      }
      continue;
    }
    ASSIGN_OR_RETURN(const std::string dir, HostsDirOf(certs_dir, name));
    const bool own = dir == name;
    const bool fallback = dir.empty() || dir == "_default";
    if (!(own && names->count(name) > 0) &&
        !(fallback && names->count("_default") > 0)) {
      continue;  // this install leaves the hosts Docker uses for it alone
    }
    const std::string what = CarriedWhat(config);
    std::string content;
    const std::string file =
        dir.empty() ? std::string()
                    : absl::StrCat(certs_dir, "/", dir, "/", kHostsToml);
    if (!file.empty()) {
      ASSIGN_OR_RETURN(const FileInfo info, Inspect(file));
      if (info.kind == Kind::kFile) {
        ASSIGN_OR_RETURN(content, ReadFileNoFollow(file, kMaxHostsTomlBytes));
      }
    }
    ASSIGN_OR_RETURN(toml::table tree, ParseToml(content, file));
    const bool has_nodefit = FindHost(tree, host.address) != nullptr;
    if (toml::table* hosts = tree.get_as<toml::table>("host")) {
      hosts->erase(Std(host.address));
      if (!hosts->empty()) {
        report->notes.push_back(absl::StrCat(
            file, " lists hosts, so Docker already ignores its daemon.json's ",
            what, " for ", name, "; nothing carried over"));
        continue;
      }
      tree.erase("host");
    }
    if (own && has_nodefit) {
      return absl::FailedPreconditionError(absl::StrCat(
          file, " has nodefit's host without Docker's ", what, " for ", name,
          ", which Docker no longer applies; run `nodefit hosts remove "
          "--certs-dir ",
          certs_dir, "`, then install again"));
    }
    if (!own) {
      if (!tree.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("cannot carry Docker's ", what, " for ", name,
                         " into a hosts.toml of its own: ", file,
                         " has settings that file would lack; write ",
                         certs_dir, "/", name, "/", kHostsToml, " first"));
      }
      names->insert(name);
    }
    apply[name] = config;
  }
  return apply;
}

}  // namespace

absl::Status ValidateCarriedUrl(absl::string_view url) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid mirror URL \"", url, "\": ", why));
  };
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "http://") &&
      !absl::ConsumePrefix(&rest, "https://")) {
    return bad("must start with http:// or https://");
  }
  for (char c : rest) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c)) || c == '"' ||
        c == '\\' || c == '?' || c == '#') {
      return bad("characters nodefit does not write into hosts.toml");
    }
  }
  if (absl::Status s = ValidateRegistryHost(rest.substr(0, rest.find('/')));
      !s.ok()) {
    return bad(s.message());
  }
  return absl::OkStatus();
}

absl::Status ValidateNodefitAddress(absl::string_view address) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid nodefit address \"", address, "\": ", why));
  };
  absl::string_view host = address;
  if (!absl::ConsumePrefix(&host, "http://") &&
      !absl::ConsumePrefix(&host, "https://")) {
    return bad("must start with http:// or https://");
  }
  const size_t colon = host.rfind(':');
  const size_t bracket = host.rfind(']');
  if (colon == absl::string_view::npos ||
      (bracket != absl::string_view::npos && colon < bracket)) {
    return bad("must be http(s)://host:port, with the port");
  }
  // Also keeps out '/', '"' and '\\', so the TOML key needs no escaping.
  if (absl::Status s = ValidateRegistryHost(host); !s.ok()) {
    return bad(s.message());
  }
  int port = 0;
  if (!absl::SimpleAtoi(host.substr(colon + 1), &port) || port < 1 ||
      port > 65535) {
    return bad("the port must be 1 to 65535");
  }
  return absl::OkStatus();
}

absl::Status ValidateHostsDirName(absl::string_view name) {
  if (name == "_default") return absl::OkStatus();
  if (name.empty() || name == "." || name == ".." ||
      name.find('/') != absl::string_view::npos ||
      name.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid registry \"", name,
                     "\": must name one directory inside --certs-dir"));
  }
  if (absl::Status s = ValidateRegistryHost(name); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid registry \"", name,
                                                   "\": ", s.message(),
                                                   " (or use _default)"));
  }
  return absl::OkStatus();
}

std::string NodefitHostBlock(const NodefitHost& host,
                             absl::string_view newline) {
  std::string block =
      absl::StrCat(kComment, newline, "[host.\"", host.address, "\"]", newline,
                   "  capabilities = [\"pull\", \"resolve\"]", newline);
  if (!host.ca.empty()) {
    absl::StrAppend(&block, "  ca = ", TomlString(host.ca), newline,
                    "  client = [[", TomlString(host.client_cert), ", ",
                    TomlString(host.client_key), "]]", newline);
  }
  return block;
}

absl::Status CheckHostsToml(absl::string_view content, absl::string_view path) {
  return ParseToml(content, path).status();
}

absl::Status CheckNodefitFirst(absl::string_view content,
                               absl::string_view path,
                               absl::string_view address) {
  ASSIGN_OR_RETURN(const toml::table tree, ParseToml(content, path));
  const toml::node* ours = FindHost(tree, address);
  if (ours == nullptr || !ours->is_table()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " does not name nodefit's host ", address));
  }
  // containerd orders hosts by where they appear in the file.
  for (const auto& [key, host] : *tree.get_as<toml::table>("host")) {
    if (host.source().begin < ours->source().begin) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, ": containerd tries host \"", Absl(key.str()),
                       "\" before nodefit's ", address));
    }
  }
  // No capabilities key means all of them (containerd's hosts.go).
  const toml::array* capabilities =
      ours->as_table()->get_as<toml::array>("capabilities");
  if (ours->as_table()->get("capabilities") == nullptr) {
    return absl::OkStatus();
  }
  for (const char* needed : {"pull", "resolve"}) {
    bool found = false;
    if (capabilities != nullptr) {
      for (const toml::node& c : *capabilities) {
        if (c.value<std::string>() == needed) found = true;
      }
    }
    if (!found) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, ": nodefit's host lacks the \"", needed,
          "\" capability (containerd asks only hosts with pull and "
          "resolve to resolve a tag)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AddNodefitHost(absl::string_view content,
                                           absl::string_view path,
                                           const NodefitHost& host) {
  ASSIGN_OR_RETURN(const toml::table tree, ParseToml(content, path));
  if (FindHost(tree, host.address) != nullptr) return std::string(content);
  const std::vector<absl::string_view> lines = SplitLines(content);
  const absl::string_view newline = NewlineOf(content);
  const std::string block = NodefitHostBlock(host, newline);
  std::vector<std::string> candidates;
  const size_t header = FirstHeaderLine(tree, lines);
  if (header == 0) {
    std::string out(content);
    if (!out.empty()) {
      if (out.back() != '\n') absl::StrAppend(&out, newline);
      absl::StrAppend(&out, newline);
    }
    absl::StrAppend(&out, block);
    candidates.push_back(std::move(out));
  } else {
    // Comment lines right above the header describe it: keep them with it.
    const size_t floor = LastValueLineBefore(tree, lines, header);
    size_t line = header;
    while (line - 1 > floor && IsComment(LineText(lines, line - 1))) --line;
    for (const size_t at : {line, header}) {
      const size_t offset = LineOffset(lines, at);
      candidates.push_back(absl::StrCat(content.substr(0, offset), block,
                                        newline, content.substr(offset)));
      if (at == header) break;
    }
  }
  // The re-parse is the proof; the plain insertion before the header line
  // is the fallback should moving above its comments ever misjudge.
  absl::Status verified;
  for (const std::string& candidate : candidates) {
    verified = VerifyAdded(tree, candidate, path, host);
    if (verified.ok()) return candidate;
  }
  return verified;
}

absl::StatusOr<std::string> RemoveNodefitHost(absl::string_view content,
                                              absl::string_view path,
                                              absl::string_view address) {
  ASSIGN_OR_RETURN(const toml::table tree, ParseToml(content, path));
  const toml::node* ours = FindHost(tree, address);
  if (ours == nullptr) return std::string(content);
  auto cannot = [&](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot take nodefit's host out of ", path, ": ", why,
                     "; remove [host.\"", address, "\"] by hand"));
  };
  const std::vector<absl::string_view> lines = SplitLines(content);
  if (!IsHeaderTable(lines, *ours)) {
    return cannot("it is not a [host.\"...\"] table of its own");
  }
  size_t first = ours->source().begin.line;
  size_t last = first;
  bool split = false;
  ForEachDescendant(*ours, [&](const toml::node& node) {
    if (IsHeaderTable(lines, node)) split = true;
    last = std::max<size_t>(last, node.source().end.line);
  });
  if (split) return cannot("it has sub-tables with headers of their own");
  if (first > 1 && absl::StripTrailingAsciiWhitespace(
                       LineText(lines, first - 1)) == kComment) {
    --first;
  }
  // The blank line install put after the block, or before it at the end.
  if (last < lines.size() && IsBlank(lines[last])) {
    ++last;
  } else if (last == lines.size() && first > 1 &&
             IsBlank(LineText(lines, first - 1))) {
    --first;
  }
  std::string out;
  if (first == 1 && !lines.empty() && absl::StartsWith(lines[0], kBom)) {
    out = std::string(kBom);
  }
  for (size_t line = 1; line <= lines.size(); ++line) {
    if (line < first || line > last) absl::StrAppend(&out, lines[line - 1]);
  }
  RETURN_IF_ERROR(VerifyRemoved(tree, out, path, address));
  return out;
}

absl::Status InstallHosts(const HostsInstallOptions& options,
                          HostsReport* report) {
  RETURN_IF_ERROR(ValidateNodefitAddress(options.address));
  const NodefitHost host(options.address, options.ca, options.client_cert,
                         options.client_key);
  const bool tls = absl::StartsWith(options.address, "https://");
  if (tls != !host.ca.empty() || host.ca.empty() != host.client_cert.empty() ||
      host.ca.empty() != host.client_key.empty()) {
    return absl::InvalidArgumentError(
        "an https address needs the CA and the client certificate and key "
        "(and an http address none of them)");
  }
  for (const std::string* file :
       {&host.ca, &host.client_cert, &host.client_key}) {
    if (!file->empty() &&
        (file->front() != '/' ||
         file->find_first_of(std::string("\n\r\0", 3)) != std::string::npos)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", *file, "\" must be an absolute path"));
    }
  }
  for (const std::string& name : options.registries) {
    RETURN_IF_ERROR(ValidateHostsDirName(name));
  }
  const std::string certs_dir = CleanDir(options.certs_dir);
  bool exists = false;
  RETURN_IF_ERROR(CheckCertsDir(certs_dir, &exists));
  if (!exists) {
    return absl::InvalidArgumentError(
        absl::StrCat("--certs-dir ", certs_dir,
                     " does not exist; it must be containerd's config_path"));
  }
  DirectoryLock lock;
  RETURN_IF_ERROR(lock.Acquire(certs_dir));
  bool have_state = false;
  ASSIGN_OR_RETURN(HostsState state, LoadState(certs_dir, &have_state));
  if (have_state && !(state.host == host)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "nodefit's host is already installed in ", certs_dir, " as ",
        state.host.address,
        state.host.ca.empty() ? "" : " (with other TLS files)",
        "; run `nodefit hosts remove --certs-dir ", certs_dir, "` first"));
  }

  // Which files: those named, or _default and every existing one.
  std::set<std::string> names(options.registries.begin(),
                              options.registries.end());
  if (names.empty()) {
    ASSIGN_OR_RETURN(names, ExistingHostsFiles(certs_dir, report));
    names.insert("_default");
  }
  ASSIGN_OR_RETURN(const auto carried, DecideCarried(certs_dir, options, host,
                                                     state, &names, report));

  // Check every file before writing any.
  std::vector<FilePlan> plans;
  std::vector<absl::Status> errors;
  for (const std::string& name : names) {
    FilePlan plan = NewPlan(certs_dir, name);
    const auto carried_here = carried.find(name);
    if (absl::Status s = PlanInstall(
            host,
            carried_here == carried.end() ? nullptr : &carried_here->second,
            &plan, report);
        !s.ok()) {
      errors.push_back(s);
      continue;
    }
    plans.push_back(std::move(plan));
  }
  RETURN_IF_ERROR(Combine(errors));

  // Record what is about to happen before it happens, so remove can undo a
  // run that stops half way.
  HostsState next = state;
  next.host = host;
  for (const FilePlan& plan : plans) {
    if (plan.action == FilePlan::Action::kAdd) {
      next.changed.insert(plan.name);
      next.created.erase(plan.name);
    } else if (plan.action == FilePlan::Action::kCreate) {
      next.created.insert(plan.name);
      next.changed.erase(plan.name);
      if (plan.create_dir) next.created_dirs.insert(plan.name);
    }
    if (plan.action != FilePlan::Action::kNone && carried.count(plan.name)) {
      next.carried[plan.name] = carried.at(plan.name);
    }
  }
  const bool recorded = !next.changed.empty() || !next.created.empty();
  if (recorded && next != state) {
    RETURN_IF_ERROR(SaveState(certs_dir, next));
  }
  for (const FilePlan& plan : plans) {
    RETURN_IF_ERROR(ExecuteInstall(plan));
    report->lines.push_back(plan.line);
  }
  return absl::OkStatus();
}

namespace {

// What remove undoes of install (suspend does the same, then keeps a note).
absl::Status RemoveInstalledHosts(const std::string& dir, HostsReport* report) {
  const std::string certs_dir = CleanDir(dir);
  const std::string nothing = absl::StrCat(
      certs_dir, ": nothing to remove (no nodefit hosts install there)");
  bool exists = false;
  RETURN_IF_ERROR(CheckCertsDir(certs_dir, &exists));
  if (!exists) {
    report->lines.push_back(nothing);
    return absl::OkStatus();
  }
  DirectoryLock lock;
  RETURN_IF_ERROR(lock.Acquire(certs_dir));
  bool have_state = false;
  ASSIGN_OR_RETURN(const HostsState state, LoadState(certs_dir, &have_state));
  if (!have_state) {
    report->lines.push_back(nothing);
    return absl::OkStatus();
  }

  // Check every file before changing any.
  std::vector<FilePlan> plans;
  std::vector<absl::Status> errors;
  for (const auto& [names, created] :
       {std::pair<const std::set<std::string>*, bool>{&state.changed, false},
        {&state.created, true}}) {
    for (const std::string& name : *names) {
      FilePlan plan = NewPlan(certs_dir, name);
      if (absl::Status s = PlanRemove(state, created, &plan, report); !s.ok()) {
        errors.push_back(s);
        continue;
      }
      plans.push_back(std::move(plan));
    }
  }
  RETURN_IF_ERROR(Combine(errors));

  for (const FilePlan& plan : plans) {
    RETURN_IF_ERROR(ExecuteRemove(plan));
    report->lines.push_back(plan.line);
  }
  for (const std::string& name : state.created_dirs) {
    const std::string created_dir = absl::StrCat(certs_dir, "/", name);
    if (rmdir(created_dir.c_str()) == 0) {
      report->lines.push_back(absl::StrCat(created_dir, "/: deleted"));
    } else if (errno == ENOTEMPTY || errno == EEXIST) {
      report->lines.push_back(absl::StrCat(created_dir, "/: kept"));
      report->notes.push_back(absl::StrCat(
          "kept ", created_dir, "/, which nodefit created: it is not empty"));
    } else if (errno != ENOENT) {
      return ErrnoError("delete", created_dir, errno);
    }
  }
  // Last, so a remove that fails half way can simply be run again.
  const std::string state_path = StatePath(certs_dir);
  if (unlink(state_path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError("delete", state_path, errno);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RemoveHosts(const std::string& dir, HostsReport* report) {
  RETURN_IF_ERROR(RemoveInstalledHosts(dir, report));
  // A suspended install is forgotten too, or the next start of nodefit
  // (ExecStartPre: hosts resume) would put it back.
  const std::string note =
      absl::StrCat(CleanDir(dir), "/", kHostsSuspendedFile);
  struct stat st;
  if (lstat(note.c_str(), &st) == 0) {
    if (unlink(note.c_str()) != 0) return ErrnoError("delete", note, errno);
    report->lines.push_back(absl::StrCat(
        note, ": deleted (the suspended install will not be resumed)"));
  }
  return absl::OkStatus();
}

absl::Status SuspendHosts(const std::string& dir, HostsReport* report) {
  const std::string certs_dir = CleanDir(dir);
  bool exists = false;
  RETURN_IF_ERROR(CheckCertsDir(certs_dir, &exists));
  bool have_state = false;
  HostsState state;
  if (exists) {
    ASSIGN_OR_RETURN(state, LoadState(certs_dir, &have_state));
  }
  if (!have_state) {
    report->lines.push_back(
        absl::StrCat(certs_dir, ": nothing to suspend (not installed)"));
    return absl::OkStatus();
  }
  std::set<std::string> registries = state.changed;
  registries.insert(state.created.begin(), state.created.end());
  nlohmann::json note = {{"address", state.host.address},
                         {"registries", registries}};
  if (!state.carried.empty()) note["carried"] = CarriedToJson(state.carried);
  if (!state.host.ca.empty()) {
    note["ca"] = state.host.ca;
    note["client_cert"] = state.host.client_cert;
    note["client_key"] = state.host.client_key;
  }
  // The note first: a suspend stopped half way can still be resumed.
  RETURN_IF_ERROR(
      WriteFileAtomically(absl::StrCat(certs_dir, "/", kHostsSuspendedFile),
                          absl::StrCat(DumpJson(note, 2), "\n"), 0644));
  return RemoveInstalledHosts(certs_dir, report);
}

absl::Status ResumeHosts(const std::string& dir, HostsReport* report) {
  const std::string certs_dir = CleanDir(dir);
  const std::string path = absl::StrCat(certs_dir, "/", kHostsSuspendedFile);
  absl::StatusOr<std::string> text = ReadFileNoFollow(path, kMaxStateBytes);
  if (absl::IsNotFound(text.status())) {
    report->lines.push_back(
        absl::StrCat(certs_dir, ": nothing to resume (not suspended)"));
    return absl::OkStatus();
  }
  if (!text.ok()) return text.status();
  ASSIGN_OR_RETURN(const nlohmann::json note,
                   ParseJson(*text, absl::StrCat("nodefit's note ", path)));
  HostsInstallOptions options;
  options.certs_dir = certs_dir;
  auto field = [&](const char* key) -> std::string {
    const auto it = note.find(key);
    return it != note.end() && it->is_string() ? it->get<std::string>() : "";
  };
  options.address = field("address");
  options.ca = field("ca");
  options.client_cert = field("client_cert");
  options.client_key = field("client_key");
  if (const auto it = note.find("registries");
      it != note.end() && it->is_array()) {
    for (const nlohmann::json& name : *it) {
      if (name.is_string()) {
        options.registries.push_back(name.get<std::string>());
      }
    }
  }
  if (const auto it = note.find("carried"); it != note.end()) {
    ASSIGN_OR_RETURN(
        options.carried,
        CarriedFromJson(*it, absl::StrCat("nodefit's note ", path)));
  }
  RETURN_IF_ERROR(InstallHosts(options, report));
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError("delete", path, errno);
  }
  return absl::OkStatus();
}

}  // namespace nodefit
