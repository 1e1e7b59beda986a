// nodefit_bench_driver: the end-to-end benchmarks (2-6) and the report.
//
//   nodefit_bench_driver run --out DIR [--smoke] [--only a,b,...]
//                            [--nodefit BINARY]
//       runs resolver, cri, pull, memory, startup, proxy (or those named),
//       printing each figure as it comes and writing DIR/<bench>.json;
//   nodefit_bench_driver report --out DIR [--smoke] [--command TEXT]
//                               [--load-before X]
//       reads DIR/selection.json (Google Benchmark's JSON) and
//       DIR/<bench>.json, prints every figure with its target and PASS/MISS,
//       and writes DIR/summary.json.
//
// Exit status: 0 when every benchmark ran (MISS is a finding, not a
// failure), 1 when one could not run, 2 on bad usage.
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/bench_env.h"
#include "bench/bench_util.h"
#include "bench/benches.h"

namespace nodefit::bench {
namespace {

using BenchFn = std::function<absl::Status(BenchEnv&, Results*)>;

const std::vector<std::pair<std::string, BenchFn>>& AllBenches() {
  static const auto* const benches =
      new std::vector<std::pair<std::string, BenchFn>>{
          {"resolver", RunResolverBench}, {"cri", RunCriBench},
          {"pull", RunPullBench},         {"memory", RunMemoryBench},
          {"startup", RunStartupBench},   {"proxy", RunProxyBench}};
  return *benches;
}

struct Args {
  std::string command;
  std::string out;
  std::string nodefit = NODEFIT_BINARY;
  std::set<std::string> only;
  bool smoke = false;
  std::string run_command;
  double load_before = -1;
};

bool ParseArgs(int argc, char** argv, Args* args) {
  if (argc < 2) return false;
  args->command = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--smoke") {
      args->smoke = true;
    } else if (a == "--out") {
      if (!value(&args->out)) return false;
    } else if (a == "--nodefit") {
      if (!value(&args->nodefit)) return false;
    } else if (a == "--only") {
      if (!value(&v)) return false;
      for (absl::string_view name : absl::StrSplit(v, ',', absl::SkipEmpty())) {
        args->only.insert(std::string(name));
      }
    } else if (a == "--command") {
      if (!value(&args->run_command)) return false;
    } else if (a == "--load-before") {
      if (!value(&v) || !absl::SimpleAtod(v, &args->load_before)) return false;
    } else {
      return false;
    }
  }
  return !args->out.empty() &&
         (args->command == "run" || args->command == "report");
}

int Run(const Args& args) {
  BenchEnv env(args.nodefit, args.smoke);
  int failed = 0;
  for (const auto& [name, fn] : AllBenches()) {
    if (!args.only.empty() && args.only.count(name) == 0) continue;
    std::cout << "=== bench " << name << (args.smoke ? " (smoke)" : "")
              << " — load " << LoadAverage() << std::endl;
    Results results(name);
    const Stopwatch clock;
    const absl::Status status = fn(env, &results);
    results.details()["seconds"] = absl::ToDoubleSeconds(clock.Elapsed());
    if (!status.ok()) {
      ++failed;
      std::cout << "bench " << name << " FAILED: " << status << std::endl;
      results.details()["error"] = std::string(status.message());
    }
    results.Write(absl::StrCat(args.out, "/", name, ".json"));
  }
  return failed == 0 ? 0 : 1;
}

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str(), nullptr, false);
}

// Google Benchmark's JSON -> CPU time in microseconds per run name (the
// median aggregate when repetitions were asked for).
std::map<std::string, double> SelectionTimes(const nlohmann::json& gb) {
  std::map<std::string, double> plain;
  std::map<std::string, double> median;
  if (!gb.is_object() || !gb.contains("benchmarks")) return plain;
  for (const nlohmann::json& b : gb["benchmarks"]) {
    const std::string run = b.value("run_name", b.value("name", ""));
    double t = b.value("cpu_time", 0.0);
    const std::string unit = b.value("time_unit", "us");
    if (unit == "ns") t /= 1000;
    if (unit == "ms") t *= 1000;
    if (b.value("run_type", "") == "aggregate") {
      if (b.value("aggregate_name", "") == "median") median[run] = t;
    } else if (b.contains("iterations")) {
      plain[run] = t;  // the last repetition if there is no median
    }
  }
  for (const auto& [k, v] : median) plain[k] = v;
  return plain;
}

std::vector<Figure> SelectionFigures(const std::map<std::string, double>& t) {
  std::vector<Figure> out;
  auto get = [&t](const std::string& name) {
    auto it = t.find(name);
    return it == t.end() ? -1.0 : it->second;
  };
  out.push_back(AtMost("selection.parse_select_11", get("BM_ParseSelectSeed"),
                       50, "us", "seed cv-tf index, parse + select"));
  out.push_back(AtMost("selection.select_11", get("BM_SelectSeed"), 2, "us",
                       "already-parsed index"));
  out.push_back(Info("selection.parse_11", get("BM_ParseSeed"), "us"));
  out.push_back(Info("selection.parse_select_256",
                     get("BM_ParseSelectSynthetic/256"), "us", "synthetic"));
  out.push_back(
      Info("selection.select_256", get("BM_SelectSynthetic/256"), "us"));
  for (const char* kind : {"Select", "ParseSelect"}) {
    const double small = get(absl::StrCat("BM_", kind, "Synthetic/16"));
    const double big = get(absl::StrCat("BM_", kind, "Synthetic/256"));
    const double ratio = small > 0 ? (big / 256) / (small / 16) : -1;
    out.push_back(AtMost(
        std::string(kind) == "Select" ? "selection.select_linearity"
                                      : "selection.parse_select_linearity",
        ratio, 1.5, "x", "per-entry cost at 256 entries / at 16 (1 = linear)"));
  }
  return out;
}

int Report(const Args& args) {
  std::vector<std::pair<std::string, std::vector<Figure>>> sections;
  nlohmann::json details = nlohmann::json::object();
  nlohmann::json errors = nlohmann::json::object();
  const nlohmann::json gb = ReadJson(args.out + "/selection.json");
  if (gb.is_object()) {
    sections.emplace_back("selection", SelectionFigures(SelectionTimes(gb)));
    details["selection"] = {{"context", gb.value("context", nlohmann::json())}};
  }
  for (const auto& [name, fn] : AllBenches()) {
    (void)fn;
    const nlohmann::json j =
        ReadJson(absl::StrCat(args.out, "/", name, ".json"));
    if (!j.is_object()) continue;  // not asked for (--only)
    std::vector<Figure> figures;
    for (const nlohmann::json& f :
         j.value("figures", nlohmann::json::array())) {
      figures.push_back(FigureFromJson(f));
    }
    sections.emplace_back(name, std::move(figures));
    details[name] = j.value("details", nlohmann::json::object());
    if (details[name].contains("error")) errors[name] = details[name]["error"];
  }

  std::cout << "\n==== nodefit benchmarks" << (args.smoke ? " (smoke)" : "")
            << " ====\n";
  int pass = 0;
  int miss = 0;
  nlohmann::json all = nlohmann::json::array();
  for (const auto& [name, figures] : sections) {
    std::cout << "-- " << name << "\n";
    for (const Figure& f : figures) {
      std::cout << FormatFigure(f) << "\n";
      all.push_back(FigureJson(f));
      if (f.has_target()) (f.pass() ? pass : miss)++;
    }
  }
  for (const auto& [name, error] : errors.items()) {
    std::cout << "-- " << name << ": ERROR " << error.get<std::string>()
              << "\n";
  }
  const double load_after = LoadAverage();
  std::cout << "targets: " << pass << " PASS, " << miss << " MISS"
            << (args.smoke ? " (smoke: too short to judge)" : "")
            << "; load average " << args.load_before << " before, "
            << load_after << " after, " << sysconf(_SC_NPROCESSORS_ONLN)
            << " CPUs\n";
  utsname uts{};
  uname(&uts);
  const nlohmann::json summary = {{"command", args.run_command},
                                  {"smoke", args.smoke},
                                  {"machine",
                                   {{"cpus", sysconf(_SC_NPROCESSORS_ONLN)},
                                    {"kernel", std::string(uts.release)},
                                    {"load_before", args.load_before},
                                    {"load_after", load_after}}},
                                  {"pass", pass},
                                  {"miss", miss},
                                  {"figures", all},
                                  {"errors", errors},
                                  {"details", details}};
  std::ofstream(args.out + "/summary.json") << summary.dump(2) << "\n";
  std::cout << "summary: " << args.out << "/summary.json" << std::endl;
  return errors.empty() ? 0 : 1;
}

}  // namespace
}  // namespace nodefit::bench

int main(int argc, char** argv) {
  nodefit::bench::Args args;
  if (!nodefit::bench::ParseArgs(argc, argv, &args)) {
    std::cerr
        << "usage: nodefit_bench_driver run|report --out DIR [--smoke] "
           "[--only resolver,cri,pull,memory,startup,proxy] [--nodefit BIN] "
           "[--command TEXT] [--load-before X]\n";
    return 2;
  }
  return args.command == "run" ? nodefit::bench::Run(args)
                               : nodefit::bench::Report(args);
}
