// Runs a computation once for all concurrent callers that ask for the same
// key: the first caller runs it, the others wait and get a copy of its
// result. Nothing is cached once the computation ends. Thread-safe.
#ifndef NODEFIT_RESOLVER_BASE_SINGLE_FLIGHT_H_
#define NODEFIT_RESOLVER_BASE_SINGLE_FLIGHT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"

namespace nodefit {

template <typename T>
class SingleFlight {
 public:
  // Runs `fn` unless a call for `key` is already running, in which case it
  // waits for that one. `*joined` (if given) says which happened.
  T Do(const std::string& key, const std::function<T()>& fn,
       bool* joined = nullptr) {
    std::shared_ptr<Call> call;
    bool leader = false;
    {
      absl::MutexLock lock(&mu_);
      std::shared_ptr<Call>& slot = calls_[key];
      if (slot == nullptr) {
        slot = std::make_shared<Call>();
        leader = true;
      }
      call = slot;
    }
    if (joined != nullptr) *joined = !leader;
    if (!leader) {
      {
        absl::MutexLock lock(&mu_);
        ++call->waiting;
      }
      call->done.WaitForNotification();
      return *call->result;
    }
    call->result.emplace(fn());
    {
      absl::MutexLock lock(&mu_);
      calls_.erase(key);
    }
    call->done.Notify();
    return *call->result;
  }

  // How many callers wait for the call running for `key` (0 if none runs).
  // For tests that must know every caller has joined before it ends.
  int Waiting(const std::string& key) {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(key);
    return it == calls_.end() ? 0 : it->second->waiting;
  }

 private:
  struct Call {
    absl::Notification done;
    std::optional<T> result;
    int waiting = 0;  // guarded by SingleFlight::mu_
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Call>> calls_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_BASE_SINGLE_FLIGHT_H_
