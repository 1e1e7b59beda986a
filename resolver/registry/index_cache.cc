#include "resolver/registry/index_cache.h"

namespace nodefit {

int64_t CachedDocument::ChargedBytes() const {
  // Live: the body plus, per entry, a few hundred bytes of strings and
  // maps. Charged at five times the body so the bound also covers the
  // allocator's overhead (see CachedDocument::ChargedBytes).
  return static_cast<int64_t>(body.size()) * 5 +
         static_cast<int64_t>(parsed.entries.size()) * 512 + 1024;
}

std::shared_ptr<const CachedDocument> IndexCache::Get(const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->doc;
}

void IndexCache::Put(const std::string& key,
                     std::shared_ptr<const CachedDocument> doc) {
  const int64_t charged = doc->ChargedBytes();
  absl::MutexLock lock(&mu_);
  if (auto it = slots_.find(key); it != slots_.end()) {
    bytes_ -= it->second->charged;
    lru_.erase(it->second);
    slots_.erase(it);
  }
  if (charged > capacity_) return;
  lru_.push_front({key, std::move(doc), charged});
  slots_[key] = lru_.begin();
  bytes_ += charged;
  EvictLocked();
}

void IndexCache::EvictLocked() {
  while (bytes_ > capacity_ && !lru_.empty()) {
    bytes_ -= lru_.back().charged;
    slots_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

int64_t IndexCache::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

size_t IndexCache::size() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

}  // namespace nodefit
