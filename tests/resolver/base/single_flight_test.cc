#include "resolver/base/single_flight.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace nodefit {
namespace {

TEST(SingleFlightTest, ConcurrentCallersShareOneRun) {
  SingleFlight<int> flights;
  absl::Notification release;
  std::atomic<int> runs{0}, joined{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  std::vector<int> results(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      bool j = false;
      results[i] = flights.Do(
          "k",
          [&] {
            ++runs;
            release.WaitForNotification();
            return 42;
          },
          &j);
      if (j) ++joined;
    });
  }
  // Release the run only once the seven others wait for it.
  while (flights.Waiting("k") < 7) absl::SleepFor(absl::Milliseconds(1));
  release.Notify();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(joined.load(), 7);
  for (int r : results) EXPECT_EQ(r, 42);
}

TEST(SingleFlightTest, NothingIsKeptAfterwardsAndKeysAreSeparate) {
  SingleFlight<int> flights;
  int runs = 0;
  EXPECT_EQ(flights.Do("a", [&] { return ++runs; }), 1);
  EXPECT_EQ(flights.Do("a", [&] { return ++runs; }), 2);
  EXPECT_EQ(flights.Do("b", [&] { return ++runs; }), 3);
}

}  // namespace
}  // namespace nodefit
