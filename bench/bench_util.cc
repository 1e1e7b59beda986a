#include "bench/bench_util.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace nodefit::bench {

bool Figure::pass() const {
  if (op == "<=") return value <= target;
  if (op == ">=") return value >= target;
  return true;
}

Figure Info(std::string name, double value, std::string unit,
            std::string note) {
  return {std::move(name), value, std::move(unit), "", 0, std::move(note)};
}

Figure AtMost(std::string name, double value, double target, std::string unit,
              std::string note) {
  return {
      std::move(name), value, std::move(unit), "<=", target, std::move(note)};
}

Figure AtLeast(std::string name, double value, double target, std::string unit,
               std::string note) {
  return {
      std::move(name), value, std::move(unit), ">=", target, std::move(note)};
}

namespace {

// Three significant digits, no exponent for everyday magnitudes.
std::string Number(double v) {
  if (v == 0 || !std::isfinite(v)) return absl::StrFormat("%g", v);
  const double a = std::fabs(v);
  if (a < 1e9 && v == std::round(v)) return absl::StrFormat("%.0f", v);
  if (a >= 1000) return absl::StrFormat("%.0f", v);
  if (a >= 100) return absl::StrFormat("%.1f", v);
  if (a >= 10) return absl::StrFormat("%.2f", v);
  if (a >= 1) return absl::StrFormat("%.3f", v);
  return absl::StrFormat("%.3g", v);
}

std::string WithUnit(double v, const std::string& unit) {
  if (unit.empty()) return Number(v);
  if (unit == "x" || unit == "%") return absl::StrCat(Number(v), unit);
  return absl::StrCat(Number(v), " ", unit);
}

}  // namespace

std::string FormatFigure(const Figure& f) {
  std::string line = absl::StrCat(f.name, " = ", WithUnit(f.value, f.unit));
  if (f.has_target()) {
    absl::StrAppend(&line, " (target ", f.op, " ", WithUnit(f.target, f.unit),
                    ") ", f.pass() ? "PASS" : "MISS");
  }
  if (!f.note.empty()) absl::StrAppend(&line, "  # ", f.note);
  return line;
}

nlohmann::json FigureJson(const Figure& f) {
  nlohmann::json j = {{"name", f.name}, {"value", f.value}, {"unit", f.unit}};
  if (f.has_target()) {
    j["op"] = f.op;
    j["target"] = f.target;
    j["pass"] = f.pass();
  }
  if (!f.note.empty()) j["note"] = f.note;
  return j;
}

Figure FigureFromJson(const nlohmann::json& j) {
  Figure f;
  f.name = j.value("name", "");
  f.value = j.value("value", 0.0);
  f.unit = j.value("unit", "");
  f.op = j.value("op", "");
  f.target = j.value("target", 0.0);
  f.note = j.value("note", "");
  return f;
}

void Results::Add(Figure figure) {
  std::cout << FormatFigure(figure) << std::endl;
  figures_.push_back(std::move(figure));
}

void Results::Write(const std::string& path) const {
  nlohmann::json figures = nlohmann::json::array();
  for (const Figure& f : figures_) figures.push_back(FigureJson(f));
  std::ofstream(path) << nlohmann::json{{"bench", bench_},
                                        {"figures", figures},
                                        {"details", details_}}
                             .dump(2)
                      << "\n";
}

double Percentile(std::vector<double>* values, double p) {
  if (values->empty()) return 0;
  std::sort(values->begin(), values->end());
  const double rank =
      std::ceil(p / 100.0 * static_cast<double>(values->size()));
  const size_t index = std::min(
      values->size() - 1, static_cast<size_t>(std::max(1.0, rank)) - size_t{1});
  return (*values)[index];
}

double Median(std::vector<double> values) { return Percentile(&values, 50); }

double Mean(const std::vector<double>& values) {
  if (values.empty()) return 0;
  return std::accumulate(values.begin(), values.end(), 0.0) /
         static_cast<double>(values.size());
}

int64_t ResidentBytes(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "VmRSS:")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    absl::ConsumeSuffix(&rest, "kB");
    int64_t kb = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &kb)) {
      return kb * 1024;
    }
  }
  return -1;
}

std::map<std::string, int64_t> ResidentByKind(pid_t pid) {
  std::map<std::string, int64_t> out;
  std::ifstream in(absl::StrCat("/proc/", pid, "/smaps"));
  std::string line;
  std::string kind = "other";
  int64_t size_kb = 0;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "Size:")) {
      rest = absl::StripAsciiWhitespace(rest);
      absl::ConsumeSuffix(&rest, "kB");
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &size_kb)) {
        size_kb = 0;
      }
      continue;
    }
    if (absl::ConsumePrefix(&rest, "Rss:")) {
      rest = absl::StripAsciiWhitespace(rest);
      absl::ConsumeSuffix(&rest, "kB");
      int64_t kb = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &kb)) {
        const std::string k =
            kind == "anon" ? (size_kb == 8192 ? "thread_stacks" : "other_anon")
                           : kind;
        out[k] += kb * 1024;
      }
      continue;
    }
    // A mapping's header: "start-end perms offset dev inode [path]".
    const std::vector<absl::string_view> cols =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (cols.size() >= 5 && absl::StrContains(cols[0], "-") &&
        cols[1].size() == 4) {
      if (cols.size() == 5) {
        kind = "anon";
      } else if (cols[5] == "[heap]") {
        kind = "main_heap";
      } else if (absl::StartsWith(cols[5], "/")) {
        kind = "files";
      } else {
        kind = "other";
      }
    }
  }
  return out;
}

double LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string first;
  double load = -1;
  if (in >> first && absl::SimpleAtod(first, &load)) return load;
  return -1;
}

int64_t MonotonicNanos() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Stopwatch::Stopwatch() : start_ns_(MonotonicNanos()) {}

absl::Duration Stopwatch::Elapsed() const {
  return absl::Nanoseconds(MonotonicNanos() - start_ns_);
}

}  // namespace nodefit::bench
