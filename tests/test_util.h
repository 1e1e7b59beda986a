// Helpers shared by the tests: temporary directories, running a program and
// capturing its output, and the selection cases.
#ifndef NODEFIT_TESTS_TEST_UTIL_H_
#define NODEFIT_TESTS_TEST_UTIL_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace nodefit::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

struct RunResult {
  int exit_code = -1;  // -1 when the program did not exit normally
  std::string out;
  std::string err;
};

// Runs argv[0] with arguments (no shell) and waits for it.
RunResult Run(const std::vector<std::string>& argv);

struct SelectionCaseFile {
  std::string path;
  nlohmann::json cases;  // {"indexes": {...}, "cases": [...]}
};

// The selection cases, parsed: the repository's own
// tests/data/selection-cases.json (required: throws if it is missing or
// does not parse), then NODEFIT_SHARED_DIR/selection-cases.json when that
// exists (CI has it; a clone on its own does not, and nothing fails for that).
std::vector<SelectionCaseFile> LoadSelectionCaseFiles();

}  // namespace nodefit::testing

#endif  // NODEFIT_TESTS_TEST_UTIL_H_
