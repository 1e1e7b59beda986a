// Bench 1: selection in process (Google Benchmark).
//
//   BM_ParseSeed / BM_SelectSeed / BM_ParseSelectSeed
//       the seed's 11-entry index (tests/data/selection-cases.json, "cv-tf")
//       for the seed's node (Broadwell + Tesla M60 + driver 396.44, which
//       gets entry 10): ParseIndex alone, Select alone on the parsed index,
//       and both, as a resolution does them on a cache miss;
//   BM_SelectSynthetic/N, BM_ParseSelectSynthetic/N
//       a synthetic index of N entries (8 .. 256) of mixed CPU and GPU
//       builds, to show the growth with entries.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "benchmark/benchmark.h"
#include "nlohmann/json.hpp"
#include "resolver/select/index.h"
#include "resolver/select/platform.h"
#include "resolver/select/selector.h"

namespace nodefit {
namespace {

constexpr const char kSeedNode[] =
    "linux/amd64:broadwell:nv-compute-5-2:nvidia-396-44";

std::string DataDir() {
  const char* env = std::getenv("NODEFIT_TESTS_DATA_DIR");
  return env != nullptr ? env : NODEFIT_TESTS_DATA_DIR;
}

const std::string& SeedIndexBody() {
  static const std::string* const body = [] {
    std::ifstream in(DataDir() + "/selection-cases.json");
    std::stringstream text;
    text << in.rdbuf();
    const nlohmann::json cases = nlohmann::json::parse(text.str());
    return new std::string(cases.at("indexes").at("cv-tf").dump());
  }();
  return *body;
}

std::string SyntheticIndexBody(int entries) {
  static const char* const kCpus[] = {
      "haswell",     "broadwell", "skylake", "skylake-avx512", "icelake-server",
      "cascadelake", "znver2",    "znver3",  "x86-64-v2",      "cpu:broadwell"};
  static const char* const kGpus[] = {"nvidia-390-30", "nvidia-396-44",
                                      "nv-compute-5-2", "nv-compute-7-0",
                                      "nvcap-3.7"};
  nlohmann::json manifests = nlohmann::json::array();
  for (int i = 0; i < entries; ++i) {
    char digest[72];
    std::snprintf(digest, sizeof(digest), "sha256:%064x", i + 1);
    nlohmann::json platform = {{"os", "linux"}, {"architecture", "amd64"}};
    if (i % 8 == 7) {
      platform["architecture"] = "arm64";
      platform["variant"] = "v8";
    } else if (i % 16 == 5) {
      platform["variant"] = "v3";
    }
    nlohmann::json features = nlohmann::json::array();
    if (i > 0) features.push_back(kCpus[i % 10]);
    if (i % 3 == 1) features.push_back(kGpus[(i / 3) % 5]);
    if (i % 4 == 2) features.push_back(kGpus[(i / 4 + 1) % 5]);
    if (!features.empty()) platform["features"] = features;
    manifests.push_back(
        {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
         {"digest", digest},
         {"size", 1000 + i},
         {"platform", platform}});
  }
  return nlohmann::json{
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.index.v1+json"},
      {"manifests", manifests}}
      .dump();
}

const Selector& SeedSelector() {
  static const Selector* const selector = [] {
    const PlatformSpec spec = *ParsePlatformSpec(kSeedNode);
    return Selector::Create(NodeProfile{spec.platform, spec.features},
                            FeatureRules(), NoMatchPolicy::kFail)
        ->release();
  }();
  return *selector;
}

void Check(const Selection& s, benchmark::State& state) {
  if (s.outcome != Outcome::kSelected) state.SkipWithError("nothing selected");
}

void BM_ParseSeed(benchmark::State& state) {
  const std::string& body = SeedIndexBody();
  for (auto _ : state) {
    absl::StatusOr<ParsedIndex> index = ParseIndex(body);
    benchmark::DoNotOptimize(index);
  }
}
BENCHMARK(BM_ParseSeed)->Unit(benchmark::kMicrosecond);

void BM_SelectSeed(benchmark::State& state) {
  const ParsedIndex index = *ParseIndex(SeedIndexBody());
  const Selector& selector = SeedSelector();
  if (index.entries.size() != 11 || selector.Select(index).chosen != 10) {
    state.SkipWithError("the seed case does not choose entry 10");
    return;
  }
  for (auto _ : state) {
    Selection s = selector.Select(index);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_SelectSeed)->Unit(benchmark::kMicrosecond);

void BM_ParseSelectSeed(benchmark::State& state) {
  const std::string& body = SeedIndexBody();
  const Selector& selector = SeedSelector();
  for (auto _ : state) {
    Selection s = selector.Select(*ParseIndex(body));
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_ParseSelectSeed)->Unit(benchmark::kMicrosecond);

void BM_SelectSynthetic(benchmark::State& state) {
  const ParsedIndex index =
      *ParseIndex(SyntheticIndexBody(static_cast<int>(state.range(0))));
  const Selector& selector = SeedSelector();
  Check(selector.Select(index), state);
  for (auto _ : state) {
    Selection s = selector.Select(index);
    benchmark::DoNotOptimize(s);
  }
  state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_SelectSynthetic)
    ->RangeMultiplier(2)
    ->Range(8, 256)
    ->Complexity(benchmark::oN)
    ->Unit(benchmark::kMicrosecond);

void BM_ParseSelectSynthetic(benchmark::State& state) {
  const std::string body = SyntheticIndexBody(static_cast<int>(state.range(0)));
  const Selector& selector = SeedSelector();
  Check(selector.Select(*ParseIndex(body)), state);
  for (auto _ : state) {
    Selection s = selector.Select(*ParseIndex(body));
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(body.size()));
  state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_ParseSelectSynthetic)
    ->RangeMultiplier(2)
    ->Range(8, 256)
    ->Complexity(benchmark::oN)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace nodefit

BENCHMARK_MAIN();
