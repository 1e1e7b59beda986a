// A TCP proxy on 127.0.0.1 that puts a fixed one-way delay on every byte in
// each direction, as a registry across a WAN link would, and counts what
// passes: connections, HTTP request lines (from the client side), bytes.
//
// What it models: a link with `one_way_delay` latency each way and, when
// set, a bandwidth per direction. Each direction has a reader that takes
// whatever bytes arrive and queues them with a due time (now + delay) and a
// writer that sends each chunk when it is due, so bytes in flight overlap (a
// 20 MB layer is not serialised behind per-read sleeps). A new connection
// also pays the TCP handshake: its first client bytes are not delivered
// before accept + 3 delays (SYN, SYN-ACK, then the data). Not modelled:
// loss, and TCP's window growth over a long-RTT path (the endpoints see
// loopback RTTs, so slow start never limits them); without a bandwidth the
// proxy buffers without bound.
#ifndef NODEFIT_BENCH_LATENCY_PROXY_H_
#define NODEFIT_BENCH_LATENCY_PROXY_H_

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace nodefit::bench {

struct LatencyProxyOptions {
  int upstream_port = 0;  // on 127.0.0.1
  absl::Duration one_way_delay = absl::Milliseconds(10);
  // Each direction of each connection carries at most this many bytes a
  // second (0: no limit): a link's bandwidth, enforced by reading no
  // faster, so TCP flow control holds the sender back.
  double bytes_per_second = 0;
};

class LatencyProxy {
 public:
  struct Counters {
    int64_t connections = 0;
    int64_t requests = 0;            // HTTP/1.x request lines seen
    int64_t bytes_to_server = 0;     // client -> upstream
    int64_t bytes_to_client = 0;     // upstream -> client
    std::vector<std::string> lines;  // "HEAD /v2/x/manifests/latest", in order
  };

  [[nodiscard]] static absl::StatusOr<std::unique_ptr<LatencyProxy>> Start(
      const LatencyProxyOptions& options);
  ~LatencyProxy();
  LatencyProxy(const LatencyProxy&) = delete;
  LatencyProxy& operator=(const LatencyProxy&) = delete;

  int port() const { return port_; }
  std::string url() const;  // "http://127.0.0.1:PORT"
  Counters Snapshot() const;
  void Reset();

  struct Connection;

 private:
  LatencyProxy(LatencyProxyOptions options, int listen_fd, int port);
  void AcceptLoop();
  void CountClientBytes(Connection* conn, const char* data, size_t size);
  void ReapFinished() ABSL_EXCLUSIVE_LOCKS_REQUIRED(conns_mu_);

  const LatencyProxyOptions options_;
  const int listen_fd_;
  const int port_;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;

  absl::Mutex conns_mu_;
  std::list<std::unique_ptr<Connection>> conns_ ABSL_GUARDED_BY(conns_mu_);

  mutable absl::Mutex counters_mu_;
  Counters counters_ ABSL_GUARDED_BY(counters_mu_);
};

}  // namespace nodefit::bench

#endif  // NODEFIT_BENCH_LATENCY_PROXY_H_
