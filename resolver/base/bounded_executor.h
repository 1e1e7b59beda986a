// A fixed pool of threads with a bounded queue: work beyond it is refused
// at once (TrySubmit returns false), never queued without end. The caller
// decides what a refusal means (nodefit's CRI face forwards such a pull to
// containerd untouched). Thread-safe.
#ifndef NODEFIT_RESOLVER_BASE_BOUNDED_EXECUTOR_H_
#define NODEFIT_RESOLVER_BASE_BOUNDED_EXECUTOR_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace nodefit {

class BoundedExecutor {
 public:
  // `threads` workers (at least 1) and up to `queue` waiting tasks.
  BoundedExecutor(int threads, size_t queue);
  // Runs what is queued, then joins the workers.
  ~BoundedExecutor();
  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // Queues `task` unless every worker is busy and the queue is full.
  [[nodiscard]] bool TrySubmit(std::function<void()> task);

 private:
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !tasks_.empty();
  }
  void Work();

  const size_t max_waiting_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  int idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_BASE_BOUNDED_EXECUTOR_H_
