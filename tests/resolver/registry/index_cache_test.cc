#include "resolver/registry/index_cache.h"

#include "gtest/gtest.h"

namespace nodefit {
namespace {

std::shared_ptr<const CachedDocument> Doc(size_t bytes) {
  auto doc = std::make_shared<CachedDocument>();
  doc->body = std::string(bytes, 'x');
  return doc;
}

TEST(IndexCacheTest, EvictsLeastRecentlyUsedByBytes) {
  const int64_t one = Doc(1000)->ChargedBytes();
  IndexCache cache(3 * one);
  cache.Put("a", Doc(1000));
  cache.Put("b", Doc(1000));
  cache.Put("c", Doc(1000));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.bytes(), 3 * one);
  ASSERT_NE(cache.Get("a"), nullptr);  // a is now most recent
  cache.Put("d", Doc(1000));           // evicts b
  EXPECT_EQ(cache.Get("b"), nullptr);
  EXPECT_NE(cache.Get("a"), nullptr);
  EXPECT_NE(cache.Get("c"), nullptr);
  EXPECT_NE(cache.Get("d"), nullptr);
  EXPECT_LE(cache.bytes(), 3 * one);
}

TEST(IndexCacheTest, OversizeIsNotKeptAndReplaceKeepsAccounting) {
  IndexCache cache(Doc(100)->ChargedBytes());
  cache.Put("big", Doc(10000));
  EXPECT_EQ(cache.Get("big"), nullptr);
  EXPECT_EQ(cache.bytes(), 0);
  cache.Put("k", Doc(100));
  cache.Put("k", Doc(100));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.bytes(), Doc(100)->ChargedBytes());
}

TEST(IndexCacheTest, EvictedEntriesStayAliveForTheirUsers) {
  IndexCache cache(Doc(10)->ChargedBytes());
  cache.Put("a", Doc(10));
  std::shared_ptr<const CachedDocument> held = cache.Get("a");
  cache.Put("b", Doc(10));
  EXPECT_EQ(cache.Get("a"), nullptr);
  EXPECT_EQ(held->body.size(), 10u);
}

}  // namespace
}  // namespace nodefit
