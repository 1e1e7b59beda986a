// Log lines on stderr: one JSON object per line ({"time", "level", "msg",
// fields...}) or, for people, "time level msg key=value ...".
//
// Fields are whatever the caller passes; by convention nothing secret is
// ever passed (no credentials, tokens or Authorization values), and errors
// from nodefit's own libraries never contain one. Thread-safe.
#ifndef NODEFIT_PLUGIN_DAEMON_LOG_H_
#define NODEFIT_PLUGIN_DAEMON_LOG_H_

#include <functional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace nodefit {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class LogFormat { kJson, kText };

[[nodiscard]] absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text);
[[nodiscard]] absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text);

class Logger {
 public:
  using Sink = std::function<void(const std::string& line)>;

  // Writes to stderr.
  Logger(LogFormat format, LogLevel level);
  // Writes each line (with its newline) to `sink`; for tests.
  Logger(LogFormat format, LogLevel level, Sink sink);

  void Log(LogLevel level, absl::string_view message,
           const nlohmann::json& fields = nlohmann::json::object());
  void Debug(absl::string_view m, const nlohmann::json& f = {}) {
    Log(LogLevel::kDebug, m, f);
  }
  void Info(absl::string_view m, const nlohmann::json& f = {}) {
    Log(LogLevel::kInfo, m, f);
  }
  void Warning(absl::string_view m, const nlohmann::json& f = {}) {
    Log(LogLevel::kWarning, m, f);
  }
  void Error(absl::string_view m, const nlohmann::json& f = {}) {
    Log(LogLevel::kError, m, f);
  }

  void set_level(LogLevel level);

 private:
  const LogFormat format_;
  Sink sink_;
  absl::Mutex mu_;
  LogLevel level_ ABSL_GUARDED_BY(mu_);
};

}  // namespace nodefit

#endif  // NODEFIT_PLUGIN_DAEMON_LOG_H_
