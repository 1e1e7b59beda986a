// A map bounded by entry count and by bytes, evicting the least recently
// used entries first. Not thread-safe: its owner holds the lock. Used for
// every cache whose keys an outside party chooses (registries, tokens), so
// none can grow past its bound however many keys arrive.
#ifndef NODEFIT_RESOLVER_BASE_LRU_MAP_H_
#define NODEFIT_RESOLVER_BASE_LRU_MAP_H_

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace nodefit {

template <typename V>
class LruMap {
 public:
  LruMap(size_t max_entries, size_t max_bytes)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // The value for `key` (now the most recently used), or null.
  const V* Get(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->value;
  }

  // Inserts or replaces; `bytes` is what the entry is charged (key and value
  // together). An entry larger than the whole bound is not kept.
  void Put(const std::string& key, V value, size_t bytes) {
    Erase(key);
    if (bytes > max_bytes_ || max_entries_ == 0) {
      ++evictions_;
      return;
    }
    order_.push_front(Entry{key, std::move(value), bytes});
    index_[key] = order_.begin();
    bytes_ += bytes;
    while (order_.size() > max_entries_ || bytes_ > max_bytes_) {
      const Entry& last = order_.back();
      bytes_ -= last.bytes;
      index_.erase(last.key);
      order_.pop_back();
      ++evictions_;
    }
  }

  void Erase(const std::string& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return;
    bytes_ -= it->second->bytes;
    order_.erase(it->second);
    index_.erase(it);
  }

  size_t size() const { return order_.size(); }
  size_t bytes() const { return bytes_; }
  // Entries dropped to stay within the bounds, since construction.
  uint64_t evictions() const { return evictions_; }

 private:
  struct Entry {
    std::string key;
    V value;
    size_t bytes;
  };
  const size_t max_entries_;
  const size_t max_bytes_;
  std::list<Entry> order_;  // most recently used first
  absl::flat_hash_map<std::string, typename std::list<Entry>::iterator> index_;
  size_t bytes_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_BASE_LRU_MAP_H_
