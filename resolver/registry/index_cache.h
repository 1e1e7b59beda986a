// An in-memory LRU of fetched manifests and indexes, bounded in bytes.
//
// Entries are immutable (content-addressed by digest) and shared: Get()
// hands out a shared_ptr, so an entry evicted while in use stays alive for
// its users. Keys name the repository too ("ghcr.io/org/app@sha256:…"), so
// a document is only served for the repository it was fetched from.
// Thread-safe.
#ifndef NODEFIT_RESOLVER_REGISTRY_INDEX_CACHE_H_
#define NODEFIT_RESOLVER_REGISTRY_INDEX_CACHE_H_

#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "resolver/select/index.h"

namespace nodefit {

// A verified document and its parse.
struct CachedDocument {
  std::string digest;
  std::string media_type;
  std::string body;
  ParsedIndex parsed;

  // What the cache charges for this entry: deliberately more than the
  // live bytes (the body and the extracted entries; the JSON tree is not
  // kept), so that what the allocator keeps around them fits in the bound
  // too. bench memory measures RSS growth against it.
  int64_t ChargedBytes() const;
};

class IndexCache {
 public:
  explicit IndexCache(int64_t capacity_bytes) : capacity_(capacity_bytes) {}

  std::shared_ptr<const CachedDocument> Get(const std::string& key);
  // Inserts (or replaces) and evicts least recently used entries until the
  // total fits. A document larger than the whole capacity is not kept.
  void Put(const std::string& key, std::shared_ptr<const CachedDocument> doc);

  int64_t bytes() const;
  size_t size() const;

 private:
  struct Slot {
    std::string key;
    std::shared_ptr<const CachedDocument> doc;
    int64_t charged;
  };
  void EvictLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int64_t capacity_;
  mutable absl::Mutex mu_;
  std::list<Slot> lru_ ABSL_GUARDED_BY(mu_);  // most recent first
  absl::flat_hash_map<std::string, std::list<Slot>::iterator> slots_
      ABSL_GUARDED_BY(mu_);
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace nodefit

#endif  // NODEFIT_RESOLVER_REGISTRY_INDEX_CACHE_H_
