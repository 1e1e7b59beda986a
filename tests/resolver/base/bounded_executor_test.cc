// BoundedExecutor: at most `threads` tasks run and `queue` wait; beyond
// that TrySubmit refuses at once; the destructor runs what was queued.
#include "resolver/base/bounded_executor.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

TEST(BoundedExecutorTest, RefusesBeyondWorkersAndQueue) {
  absl::Notification release;
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  {
    BoundedExecutor executor(/*threads=*/2, /*queue=*/3);
    auto task = [&] {
      ++started;
      release.WaitForNotification();
      ++finished;
    };
    // Two tasks keep both workers busy...
    ASSERT_TRUE(executor.TrySubmit(task));
    ASSERT_TRUE(executor.TrySubmit(task));
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (started.load() < 2 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    ASSERT_EQ(started.load(), 2);
    // ...so of ten more, three wait and seven are refused.
    int accepted = 0;
    for (int i = 0; i < 10; ++i) accepted += executor.TrySubmit(task) ? 1 : 0;
    EXPECT_EQ(accepted, 3);
    absl::SleepFor(absl::Milliseconds(20));
    EXPECT_EQ(started.load(), 2);
    release.Notify();
  }  // the destructor drains the queue
  EXPECT_EQ(finished.load(), 5);
}

TEST(BoundedExecutorTest, AZeroQueueTakesOnlyWhatAnIdleWorkerCanRun) {
  absl::Notification release;
  std::atomic<int> done{0};
  {
    BoundedExecutor executor(1, 0);
    // Wait until the worker is idle, then it takes exactly one task.
    bool first = false;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while (!(first = executor.TrySubmit([&] {
      release.WaitForNotification();
      ++done;
    })) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    ASSERT_TRUE(first);
    absl::SleepFor(absl::Milliseconds(10));
    EXPECT_FALSE(executor.TrySubmit([&] { ++done; }));
    release.Notify();
  }
  EXPECT_EQ(done.load(), 1);
}

}  // namespace
}  // namespace nodefit
