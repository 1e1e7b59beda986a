// A closed-loop HTTP/1.1 load generator modelled on wrk: T threads, each
// driving its share of C keep-alive connections with epoll, one request in
// flight per connection, latencies recorded per request.
//
// Why not wrk itself: Debian's wrk 4.1.0 cannot measure HEAD. Its response
// parser is never told the request was a HEAD, so it waits for the body
// that Content-Length announces and no HEAD ever completes (0 requests in a
// second against docker-registry). bench/run calibrates this generator
// against wrk on a GET that both can do (figure resolver.calibration_*).
#ifndef NODEFIT_BENCH_HTTP_LOAD_H_
#define NODEFIT_BENCH_HTTP_LOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace nodefit::bench {

struct HttpLoadOptions {
  int port = 0;  // on 127.0.0.1
  // Whole requests ("HEAD /v2/... HTTP/1.1\r\nHost: ...\r\n\r\n"), sent in
  // turn (request n is requests[n % size]).
  std::vector<std::string> requests;
  bool head = true;  // responses carry no body
  int connections = 1;
  int threads = 1;
  absl::Duration duration = absl::Seconds(5);
  int64_t max_requests = 0;  // > 0: stop after this many instead
};

struct HttpLoadResult {
  int64_t requests = 0;  // completed with any status
  int64_t non_2xx = 0;
  int64_t errors = 0;  // connect, read, write, parse
  // Requests resent once on a new connection after the server closed a
  // keep-alive connection under them (not errors; latency includes it).
  int64_t reconnects = 0;
  double seconds = 0;
  // Connections that completed at least one request: fewer than asked
  // means the server left some waiting the whole time (their requests
  // have no latency sample at all).
  int connections_served = 0;
  double connect_ms = 0;  // opening every connection, before the clock
  std::vector<double> latencies_us;  // one per completed request

  double rps() const {
    return seconds > 0 ? static_cast<double>(requests) / seconds : 0;
  }
  double PercentileUs(double p) const;
};

HttpLoadResult RunHttpLoad(const HttpLoadOptions& options);

// "METHOD path HTTP/1.1" with Host and the given extra header lines
// ("Accept: ...").
std::string HttpRequest(const std::string& method, const std::string& path,
                        int port, const std::vector<std::string>& headers = {});

}  // namespace nodefit::bench

#endif  // NODEFIT_BENCH_HTTP_LOAD_H_
