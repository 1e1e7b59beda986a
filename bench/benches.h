// The end-to-end benchmarks of tracker issue 8 (2 to 6; 1 is the Google
// Benchmark binary selection_bench). Each adds its figures, printed as they
// come, and details to `results`.
#ifndef NODEFIT_BENCH_BENCHES_H_
#define NODEFIT_BENCH_BENCHES_H_

#include "absl/status/status.h"
#include "bench/bench_env.h"
#include "bench/bench_util.h"

namespace nodefit::bench {

// 2. The resolver face with the index cached: HEAD throughput and latency
// at 1, 8 and 64 connections, against the registry's own tag HEAD.
[[nodiscard]] absl::Status RunResolverBench(BenchEnv& env, Results* results);
// 3. CRI passthrough: ImageStatus and ListImages through nodefit and
// straight to containerd, alternating.
[[nodiscard]] absl::Status RunCriBench(BenchEnv& env, Results* results);
// 4. PullImage of a multi-build image behind a 10 ms latency proxy.
[[nodiscard]] absl::Status RunPullBench(BenchEnv& env, Results* results);
// 5. Resident memory idle and after many resolutions and CRI calls.
[[nodiscard]] absl::Status RunMemoryBench(BenchEnv& env, Results* results);
// 6. From exec to /readyz answering 200.
[[nodiscard]] absl::Status RunStartupBench(BenchEnv& env, Results* results);
// 7. The proxy face: blob throughput against the registry's own, and the
// p50 it adds to a manifest by tag.
[[nodiscard]] absl::Status RunProxyBench(BenchEnv& env, Results* results);

}  // namespace nodefit::bench

#endif  // NODEFIT_BENCH_BENCHES_H_
