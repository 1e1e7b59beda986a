// An HTTP proxy in front of a registry that injects faults, for the
// robustness tests: it forwards GET and HEAD to the registry (HEAD as a GET
// whose body is dropped, so the length and digest headers are the
// registry's), and the first rule whose method and path match a request
// decides what happens to it instead:
//  - kStatus: answer `status` (with `retry_after` as Retry-After if set);
//  - kStall: wait `delay`, then forward;
//  - kDrip: forward, sending the body `chunk` bytes every `delay`;
//  - kTruncate: announce the whole body, send half, close;
//  - kCloseChunked: send half the body chunked, then close mid-stream;
//  - kShortLength: announce and send only half the body (a wrong
//    Content-Length: the rest never arrives).
// A rule applies `times` times (-1: always), each time with `probability`
// (drawn from a seeded generator, so a run is repeatable); a matching rule
// that does not fire lets the later rules be tried. Requests are counted by
// path, and the faults injected in all.
#ifndef NODEFIT_INTEGRATION_TESTBED_FAULT_PROXY_H_
#define NODEFIT_INTEGRATION_TESTBED_FAULT_PROXY_H_

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "httplib.h"

namespace nodefit::testbed {

struct Fault {
  enum class Kind {
    kStatus,
    kStall,
    kDrip,
    kTruncate,
    kCloseChunked,
    kShortLength
  };
  Kind kind = Kind::kStatus;
  std::string method = ".*";  // regular expressions, whole match
  std::string path = ".*";
  int status = 500;
  std::string retry_after;
  absl::Duration delay = absl::Seconds(5);
  size_t chunk = 16 << 10;
  int times = -1;
  double probability = 1.0;

  // The faults the suites use, by name.
  static Fault HttpStatus(int status, std::string retry_after = "") {
    Fault f;
    f.status = status;
    f.retry_after = std::move(retry_after);
    return f;
  }
  static Fault OfKind(Kind kind) {
    Fault f;
    f.kind = kind;
    return f;
  }
  static Fault Stall(absl::Duration delay) {
    Fault f = OfKind(Kind::kStall);
    f.delay = delay;
    return f;
  }
};

class FaultProxy {
 public:
  // Forwards to http://127.0.0.1:`upstream_port`.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<FaultProxy>> Start(
      int upstream_port);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  int port() const { return port_; }
  std::string host_port() const;  // "127.0.0.1:PORT"
  std::string url() const;        // "http://127.0.0.1:PORT"

  // Replaces the rules (none: a plain proxy).
  void SetFaults(std::vector<Fault> faults);
  // Requests seen whose path contains `part`, faulted or not.
  int Count(const std::string& part) const;
  // Dripped bodies whose client hung up before the end.
  int Abandoned() const;
  // Requests a rule fired on.
  int Injected() const;
  // Reseeds the generator `probability` is drawn from (default seed 1).
  void Seed(uint64_t seed);

 private:
  FaultProxy(int upstream_port) : upstream_port_(upstream_port) {}
  void Handle(const httplib::Request& req, httplib::Response& res);

  const int upstream_port_;
  int port_ = 0;
  httplib::Server server_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  std::vector<Fault> faults_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> seen_ ABSL_GUARDED_BY(mu_);
  int abandoned_ ABSL_GUARDED_BY(mu_) = 0;
  int injected_ ABSL_GUARDED_BY(mu_) = 0;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(mu_){1};
};

}  // namespace nodefit::testbed

#endif  // NODEFIT_INTEGRATION_TESTBED_FAULT_PROXY_H_
