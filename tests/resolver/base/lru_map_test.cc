// LruMap: both bounds hold whatever is put, the least recently used entry
// goes first, and an entry larger than the whole bound is not kept.
#include "resolver/base/lru_map.h"

#include <string>

#include "gtest/gtest.h"

namespace nodefit {
namespace {

TEST(LruMapTest, EntryBoundEvictsTheLeastRecentlyUsed) {
  LruMap<int> map(/*max_entries=*/2, /*max_bytes=*/1000);
  map.Put("a", 1, 10);
  map.Put("b", 2, 10);
  ASSERT_NE(map.Get("a"), nullptr);  // a is now the most recent
  map.Put("c", 3, 10);
  EXPECT_EQ(map.Get("b"), nullptr);
  ASSERT_NE(map.Get("a"), nullptr);
  EXPECT_EQ(*map.Get("a"), 1);
  EXPECT_EQ(*map.Get("c"), 3);
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(map.evictions(), 1u);
}

TEST(LruMapTest, ByteBoundHoldsAndReplacingRecharges) {
  LruMap<std::string> map(100, /*max_bytes=*/25);
  map.Put("a", "x", 10);
  map.Put("b", "y", 10);
  map.Put("a", "z", 12);  // replaces: 10 + 12
  EXPECT_EQ(map.bytes(), 22u);
  map.Put("c", "w", 10);  // 32 > 25: b (least recent) goes
  EXPECT_EQ(map.Get("b"), nullptr);
  EXPECT_EQ(*map.Get("a"), "z");
  EXPECT_EQ(map.bytes(), 22u);
  EXPECT_LE(map.bytes(), 25u);
}

TEST(LruMapTest, AnEntryLargerThanTheBoundIsNotKept) {
  LruMap<int> map(10, 100);
  map.Put("small", 1, 50);
  map.Put("huge", 2, 101);
  EXPECT_EQ(map.Get("huge"), nullptr);
  EXPECT_NE(map.Get("small"), nullptr);  // and it displaced nothing
  EXPECT_EQ(map.evictions(), 1u);
  LruMap<int> none(0, 100);
  none.Put("a", 1, 1);
  EXPECT_EQ(none.size(), 0u);
}

TEST(LruMapTest, ManyKeysStayWithinBothBounds) {
  LruMap<std::string> map(64, 4096);
  for (int i = 0; i < 100'000; ++i) {
    map.Put("key" + std::to_string(i), std::string(100, 'v'), 110);
    ASSERT_LE(map.size(), 64u);
    ASSERT_LE(map.bytes(), 4096u);
  }
  map.Erase("key99999");
  EXPECT_EQ(map.Get("key99999"), nullptr);
}

}  // namespace
}  // namespace nodefit
