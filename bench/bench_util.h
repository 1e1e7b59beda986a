// What every end-to-end benchmark shares: figures with their targets,
// percentiles, a process's resident set, and the JSON the driver writes.
#ifndef NODEFIT_BENCH_BENCH_UTIL_H_
#define NODEFIT_BENCH_BENCH_UTIL_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace nodefit::bench {

// One measured figure. `op` is "<=" or ">=" when the figure has a target,
// empty for a figure reported for information only.
struct Figure {
  std::string name;  // "resolver.ratio_c8"
  double value = 0;
  std::string unit;  // "us", "ms", "req/s", "x", "MB", "requests", ...
  std::string op;
  double target = 0;
  std::string note;  // what it means, one short phrase

  bool has_target() const { return !op.empty(); }
  bool pass() const;
};

Figure Info(std::string name, double value, std::string unit,
            std::string note = "");
Figure AtMost(std::string name, double value, double target, std::string unit,
              std::string note = "");
Figure AtLeast(std::string name, double value, double target, std::string unit,
               std::string note = "");

// "selection.parse_select_11 = 23.4 us (target <= 50 us) PASS"
std::string FormatFigure(const Figure& figure);
nlohmann::json FigureJson(const Figure& figure);
// The inverse of FigureJson (for the report step).
Figure FigureFromJson(const nlohmann::json& json);

// Collects the figures and free-form details of one benchmark and writes
// them as {"bench": name, "figures": [...], "details": {...}}.
class Results {
 public:
  explicit Results(std::string bench) : bench_(std::move(bench)) {}
  // Prints the figure's line at once and keeps it.
  void Add(Figure figure);
  nlohmann::json& details() { return details_; }
  const std::vector<Figure>& figures() const { return figures_; }
  void Write(const std::string& path) const;

 private:
  std::string bench_;
  std::vector<Figure> figures_;
  nlohmann::json details_ = nlohmann::json::object();
};

// Nearest-rank percentile (0 < p <= 100) of `values`, sorted in place.
// 0 for an empty vector.
double Percentile(std::vector<double>* values, double p);
double Median(std::vector<double> values);
double Mean(const std::vector<double>& values);

// VmRSS of `pid` in bytes, from /proc/<pid>/status; -1 if unreadable.
int64_t ResidentBytes(pid_t pid);

// VmRSS of `pid` split by mapping, from /proc/<pid>/smaps: "main_heap"
// ([heap], glibc's main arena), "thread_stacks" (anonymous 8 MiB mappings),
// "other_anon" (the other threads' malloc arenas and large mmap'd blocks),
// "files" (the binary and libraries), "other".
std::map<std::string, int64_t> ResidentByKind(pid_t pid);

// The 1-minute load average, from /proc/loadavg; -1 if unreadable.
double LoadAverage();

// Elapsed wall time, monotonic.
class Stopwatch {
 public:
  Stopwatch();
  absl::Duration Elapsed() const;
  double Micros() const { return absl::ToDoubleMicroseconds(Elapsed()); }
  double Millis() const { return absl::ToDoubleMilliseconds(Elapsed()); }

 private:
  int64_t start_ns_;
};

int64_t MonotonicNanos();

}  // namespace nodefit::bench

#endif  // NODEFIT_BENCH_BENCH_UTIL_H_
