#include "plugin/daemon/log.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "resolver/base/json_util.h"

namespace nodefit {
namespace {

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarning,
                     LogLevel::kError}) {
    if (text == LevelName(l)) return l;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level \"", text,
                   "\" (expected debug, info, warning or error)"));
}

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text) {
  if (text == "json") return LogFormat::kJson;
  if (text == "text") return LogFormat::kText;
  return absl::InvalidArgumentError(absl::StrCat("unknown log format \"", text,
                                                 "\" (expected json or text)"));
}

Logger::Logger(LogFormat format, LogLevel level)
    : Logger(format, level, [](const std::string& line) {
        std::fwrite(line.data(), 1, line.size(), stderr);
        std::fflush(stderr);
      }) {}

Logger::Logger(LogFormat format, LogLevel level, Sink sink)
    : format_(format), sink_(std::move(sink)), level_(level) {}

void Logger::set_level(LogLevel level) {
  absl::MutexLock lock(&mu_);
  level_ = level;
}

void Logger::Log(LogLevel level, absl::string_view message,
                 const nlohmann::json& fields) {
  absl::MutexLock lock(&mu_);
  if (level < level_) return;
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(),
                                            absl::UTCTimeZone());
  std::string line;
  if (format_ == LogFormat::kJson) {
    nlohmann::json entry = {{"time", time},
                            {"level", std::string(LevelName(level))},
                            {"msg", std::string(message)}};
    if (fields.is_object()) {
      for (const auto& item : fields.items()) entry[item.key()] = item.value();
    }
    line = DumpJson(entry) + "\n";
  } else {
    line = absl::StrCat(time, " ", LevelName(level), " ", message);
    if (fields.is_object()) {
      for (const auto& item : fields.items()) {
        absl::StrAppend(&line, " ", item.key(), "=",
                        item.value().is_string()
                            ? item.value().get<std::string>()
                            : DumpJson(item.value()));
      }
    }
    line += "\n";
  }
  sink_(line);
}

}  // namespace nodefit
