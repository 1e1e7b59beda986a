#include "resolver/base/bounded_executor.h"

#include <algorithm>
#include <utility>

namespace nodefit {

BoundedExecutor::BoundedExecutor(int threads, size_t queue)
    : max_waiting_(queue) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    workers_.emplace_back([this] { Work(); });
  }
}

BoundedExecutor::~BoundedExecutor() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : workers_) t.join();
}

bool BoundedExecutor::TrySubmit(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  // An idle worker takes it at once; otherwise it waits, within the bound.
  const size_t waiting_after = tasks_.size() + 1;
  if (waiting_after > static_cast<size_t>(idle_) + max_waiting_) return false;
  tasks_.push_back(std::move(task));
  return true;
}

void BoundedExecutor::Work() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      ++idle_;
      mu_.Await(absl::Condition(this, &BoundedExecutor::HasWork));
      --idle_;
      if (tasks_.empty()) return;  // stopping, nothing left
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace nodefit
