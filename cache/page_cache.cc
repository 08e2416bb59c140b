// cache/page_cache.cc: the shared decompressed-page cache (see page_cache.h).
#include "cache/page_cache.h"

#include "cache/block_arena.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace blaze::cache {

namespace {

constexpr size_t kHeaderBytes = 64;  // the page starts one cache line into its block
constexpr uint32_t kMinPage = 512;
constexpr uint32_t kMaxPage = 65536;
constexpr int kClasses = 8;  // 512 .. 65536
constexpr size_t kInitialBuckets = 64;
// Hash buckets per live entry, at most: a lookup walks a chain of entries, and every
// entry it passes on the way is a miss to memory for a cache larger than the CPU's. At
// one bucket per entry a hit passed half an entry on average, at two a quarter: cached
// xRead of a 20 MB set fell from 1.49x the cost of a bare 4 KiB memcpy to 1.24x
// (bench/page_read_bench, 6 alternating runs each). The price, outside the budget: 2 to
// 4 buckets of 8 bytes per entry, and as many ghost slots (S3-FIFO), 32 to 64 bytes in
// all: under 2% of a 4 KiB page's block, 6 to 11% of a 512-byte page's.
constexpr size_t kBucketsPerEntry = 2;

bool ValidPageSize(size_t n) {
  return n >= kMinPage && n <= kMaxPage && std::has_single_bit(n);
}
int ClassOf(uint32_t size) { return std::countr_zero(size) - std::countr_zero(kMinPage); }

uint64_t Mix(uint64_t id, uint32_t page) {
  uint64_t x = (id * 0x9E3779B97F4A7C15ull) ^ page;
  x ^= x >> 31;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  return x;
}

// S3-FIFO's key for the ghost: the high half of the hash (the shard and the hash table
// use low bits), never 0 (an empty ghost slot).
uint32_t Fingerprint(uint64_t id, uint32_t page) {
  const auto f = static_cast<uint32_t>(Mix(id, page) >> 32);
  return f != 0 ? f : 1;
}

// S3-FIFO: a page leaves the small queue for main if it was hit at least this often
// since it was put. One hit means the page was read twice (the miss that put it, then
// the hit), the paper's "accessed more than once" filter for one-hit wonders; a
// threshold of 2 measured within 0.15 points of it on bench/cache_trace.
constexpr uint8_t kPromoteHits = 1;
constexpr uint8_t kMaxFreq = 3;  // the 2-bit counter

enum : uint8_t { kMainQueue = 0, kSmallQueue = 1 };

}  // namespace

std::string_view PolicyName(Policy p) {
  switch (p) {
    case Policy::kLru: return "lru";
    case Policy::kS3Fifo: return "s3fifo";
    case Policy::kSieve: break;
  }
  return "sieve";
}

std::optional<Policy> ParsePolicy(std::string_view name) {
  if (name == "sieve") return Policy::kSieve;
  if (name == "lru") return Policy::kLru;
  if (name == "s3fifo") return Policy::kS3Fifo;
  return std::nullopt;
}

uint64_t BlockBytes(uint32_t page_size) { return kHeaderBytes + page_size; }

// A block: this header, then the page. Live entries are in their shard's hash table and
// one of its eviction queues; a live entry replaced or erased while pinned is "detached"
// (in the shard's detached list) until its last Unpin; free blocks sit in a per-class
// free list.
struct Entry {
  Client* owner;  // null once detached from a client that is gone
  Shard* shard;
  uint64_t client_id;
  uint32_t page;
  uint32_t size;
  uint32_t pins;
  uint8_t cls;
  uint8_t freq;   // SIEVE's mark (0 or 1); S3-FIFO's hit counter (0..kMaxFreq)
  bool live;      // in the hash table and an eviction queue
  uint8_t queue;  // kMainQueue, or kSmallQueue (S3-FIFO only)
  Entry* hnext;   // hash chain; free list
  Entry* prev;    // eviction queue (toward the head) or detached list
  Entry* next;    // eviction queue (toward the tail) or detached list

  std::byte* data() { return reinterpret_cast<std::byte*>(this) + kHeaderBytes; }
  static Entry* FromData(const std::byte* p) {
    return reinterpret_cast<Entry*>(const_cast<std::byte*>(p) - kHeaderBytes);
  }
};
static_assert(sizeof(Entry) <= kHeaderBytes);
static_assert(kClasses <= BlockArena::kMaxSizes);

namespace {

// One eviction list of live entries, newest at the head.
struct Queue {
  Entry* head = nullptr;
  Entry* tail = nullptr;
  uint64_t bytes = 0;  // of its entries' blocks
  uint64_t pages = 0;

  void PushHead(Entry* e) {
    e->prev = nullptr;
    e->next = head;
    (head != nullptr ? head->prev : tail) = e;
    head = e;
    bytes += BlockBytes(e->size);
    pages += 1;
  }
  void Erase(Entry* e) {
    (e->prev != nullptr ? e->prev->next : head) = e->next;
    (e->next != nullptr ? e->next->prev : tail) = e->prev;
    bytes -= BlockBytes(e->size);
    pages -= 1;
  }
};

// S3-FIFO's ghost queue: keys of the pages lately evicted from the small queue, without
// their data. Not a list but a lossy table of 4-slot buckets; a slot holds a key's
// Fingerprint and the ghost's clock (the count of keys added so far) when it came. A key
// is in the ghost while fewer than `window` keys came after it, which makes it a FIFO of
// `window` keys. A new key takes the stalest slot of its bucket. The table has two slots
// per entry the shard's hash table is sized for, and the window is below the shard's
// page count, so at most half the slots are in the window and a key seldom leaves early.
// It grows with the hash table, while the cache warms up; nothing is allocated per
// operation.
class Ghost {
 public:
  static constexpr size_t kWays = 4;

  // At least `n` slots (a power of two, at least kWays); keeps what it holds.
  void Fit(size_t n) {
    if (n <= slots_.size()) return;
    std::vector<uint64_t> old(std::bit_ceil(std::max(n, kWays)), 0);
    old.swap(slots_);
    for (uint64_t slot : old) {
      if (slot != 0) Place(slot);
    }
  }

  void Add(uint32_t fp) {
    if (slots_.empty()) return;
    Place((uint64_t{clock_} << 32) | fp);
    clock_ += 1;
  }

  // True, and the key leaves the ghost, if `fp` is among the last `window` keys added.
  bool Take(uint32_t fp, uint32_t window) {
    if (slots_.empty()) return false;
    uint64_t* b = Bucket(fp);
    for (size_t i = 0; i < kWays; ++i) {
      if (b[i] != 0 && static_cast<uint32_t>(b[i]) == fp && Age(b[i]) <= window) {
        b[i] = 0;
        return true;
      }
    }
    return false;
  }

 private:
  uint64_t* Bucket(uint32_t fp) {
    return slots_.data() + (fp & (slots_.size() / kWays - 1)) * kWays;
  }
  // How many keys were added since this slot's (1: the latest); a clock that wraps
  // makes a key 2^32 additions old look new again, once: a stray main insertion.
  uint32_t Age(uint64_t slot) const { return clock_ - static_cast<uint32_t>(slot >> 32); }

  void Place(uint64_t slot) {
    uint64_t* b = Bucket(static_cast<uint32_t>(slot));
    uint64_t* into = b;
    for (size_t i = 0; i < kWays; ++i) {
      if (b[i] == 0) {
        into = b + i;
        break;
      }
      if (Age(b[i]) > Age(*into)) into = b + i;
    }
    *into = slot;
  }

  std::vector<uint64_t> slots_;  // (clock << 32) | fingerprint; 0: empty
  uint32_t clock_ = 0;
};

}  // namespace

struct alignas(64) Shard {
  std::mutex mu;
  BlockArena* arena = nullptr;
  int index = 0;
  Policy policy = Policy::kSieve;
  uint64_t budget = 0;
  uint64_t bytes = 0;  // every block held
  uint64_t live = 0;
  uint64_t pins = 0;
  uint64_t free_count = 0;
  std::vector<Entry*> buckets;
  // SIEVE and LRU keep every live entry in `main`. S3-FIFO puts new pages in `small`
  // and moves those hit there to `main`; it records the keys it evicts from `small` in
  // `ghost`, whose pages go straight to `main` when they are put again.
  Queue main;
  Queue small;
  Ghost ghost;
  Entry* hand = nullptr;  // SIEVE: the next entry of main to look at (null: the tail)
  Entry* detached = nullptr;
  std::array<Entry*, kClasses> free{};

  Client::PerShard& Of(Client* c) { return c->per_shard_[static_cast<size_t>(index)]; }

  Entry*& Bucket(uint64_t id, uint32_t page) {
    return buckets[(Mix(id, page) >> 8) & (buckets.size() - 1)];
  }

  Entry* Find(uint64_t id, uint32_t page) {
    for (Entry* e = Bucket(id, page); e != nullptr; e = e->hnext) {
      if (e->page == page && e->client_id == id) return e;
    }
    return nullptr;
  }

  void Grow() {
    std::vector<Entry*> old(buckets.size() * 2, nullptr);
    old.swap(buckets);
    for (Entry* chain : old) {
      while (chain != nullptr) {
        Entry* next = chain->hnext;
        Entry*& b = Bucket(chain->client_id, chain->page);
        chain->hnext = b;
        b = chain;
        chain = next;
      }
    }
    if (policy == Policy::kS3Fifo) ghost.Fit(GhostSlots());
  }

  // The ghost keeps two keys per entry the hash table is sized for.
  size_t GhostSlots() const { return 2 * buckets.size() / kBucketsPerEntry; }

  // Calls f(e) for every live entry; f may Remove e.
  template <class F>
  void ForEachLive(F f) {
    for (Queue* q : {&main, &small}) {
      for (Entry* e = q->head; e != nullptr;) {
        Entry* next = e->next;
        f(e);
        e = next;
      }
    }
  }

  // S3-FIFO's ghost holds as many keys as the main queue holds pages once the shard is
  // full (nine tenths of them).
  uint32_t GhostWindow() const { return static_cast<uint32_t>(live - live / 10); }

  // Into the hash table, at the head of eviction queue `queue`.
  void Link(Entry* e, uint8_t queue) {
    if ((live + 1) * kBucketsPerEntry > buckets.size()) Grow();
    Entry*& b = Bucket(e->client_id, e->page);
    e->hnext = b;
    b = e;
    e->queue = queue;
    (queue == kSmallQueue ? small : main).PushHead(e);
    e->live = true;
    live += 1;
    Client::PerShard& ps = Of(e->owner);
    ps.bytes += BlockBytes(e->size);
    ps.pages += 1;
  }

  // Out of the hash table and the eviction list.
  void Unlink(Entry* e) {
    for (Entry** p = &Bucket(e->client_id, e->page); *p != nullptr; p = &(*p)->hnext) {
      if (*p == e) {
        *p = e->hnext;
        break;
      }
    }
    if (hand == e) hand = e->prev;
    (e->queue == kSmallQueue ? small : main).Erase(e);
    e->live = false;
    live -= 1;
    Client::PerShard& ps = Of(e->owner);
    ps.bytes -= BlockBytes(e->size);
    ps.pages -= 1;
    e->owner->held_.fetch_sub(BlockBytes(e->size), std::memory_order_relaxed);
  }

  void Touch(Entry* e) {
    switch (policy) {
      case Policy::kSieve:
        if (e->freq == 0) e->freq = 1;  // a hit on a marked page writes nothing
        break;
      case Policy::kS3Fifo:
        if (e->freq < kMaxFreq) e->freq += 1;
        break;
      case Policy::kLru:
        if (main.head != e) {
          if (hand == e) hand = e->prev;
          main.Erase(e);
          main.PushHead(e);
        }
        break;
    }
  }

  // The entry to evict next, if any; only `only`'s pages when it is given.
  Entry* Victim(const Client* only) {
    if (policy == Policy::kS3Fifo) return VictimS3Fifo(only);
    if (policy == Policy::kLru) {
      for (Entry* e = main.tail; e != nullptr; e = e->prev) {
        if (e->pins == 0 && (only == nullptr || e->owner == only)) return e;
      }
      return nullptr;
    }
    Entry* e = hand != nullptr ? hand : main.tail;
    // Two passes: the first may only clear marks.
    for (uint64_t steps = 2 * live + 1; steps > 0 && e != nullptr; --steps) {
      Entry* prev = e->prev != nullptr ? e->prev : main.tail;
      if (e->pins == 0 && (only == nullptr || e->owner == only)) {
        if (e->freq == 0) {
          hand = e->prev;
          return e;
        }
        e->freq = 0;
      }
      e = prev;
    }
    hand = e;
    return nullptr;
  }

  // A scan's page of `c` is about to enter the small queue (Client::Put with `scan`):
  // while small holds a tenth of the shard's budget, c's entries near its tail leave as
  // VictimS3Fifo would move them (to main if hit, else evicted, the block freed for the
  // new page). Other clients' entries are passed over: one store's scan does not evict
  // another's pages while the cache has room. The walk is bounded: when c's own pages
  // are not near the tail, the new page simply takes new memory.
  void MakeRoomInSmall(const Client* c, uint64_t need) {
    constexpr int kLook = 16;
    int looked = 0;
    for (Entry* e = small.tail;
         e != nullptr && looked < kLook && (small.bytes + need) * 10 > budget; ++looked) {
      Entry* next = e->prev;
      if (e->pins == 0 && e->owner == c) {
        if (e->freq < kPromoteHits) {
          Remove(e, true);
        } else {
          small.Erase(e);
          e->queue = kMainQueue;
          main.PushHead(e);
        }
      }
      e = next;
    }
  }

  // S3-FIFO. While the small queue holds at least a tenth of the live bytes, its tail
  // goes first: to main if it was hit since it was put (its count goes along), else it
  // is the victim (and Remove records it in the ghost). Otherwise main's tail: back to
  // main's head with one hit less if it has any, else the victim. Pinned pages, and
  // other clients' pages when `only` is given, are passed over where they stand: each
  // queue has a cursor that walks from the tail toward the head.
  Entry* VictimS3Fifo(const Client* only) {
    auto candidate = [only](const Entry* e) {
      return e->pins == 0 && (only == nullptr || e->owner == only);
    };
    Entry* s = small.tail;  // the next entry of each queue to look at
    Entry* m = main.tail;
    // Each entry is looked at no more than 1 + 1 + kMaxFreq times.
    for (uint64_t steps = (kMaxFreq + 2) * live + 1; steps > 0; --steps) {
      if (s != nullptr && (m == nullptr || small.bytes * 10 >= small.bytes + main.bytes)) {
        Entry* e = s;
        s = e->prev;
        if (!candidate(e)) continue;
        if (e->freq < kPromoteHits) return e;
        small.Erase(e);
        e->queue = kMainQueue;
        main.PushHead(e);
        if (m == nullptr) m = e;  // main's cursor had passed its head: this is next
        continue;
      }
      if (m == nullptr) return nullptr;
      Entry* e = m;
      m = e->prev;
      if (!candidate(e)) continue;
      if (e->freq == 0) return e;
      e->freq -= 1;
      main.Erase(e);
      main.PushHead(e);
      if (m == nullptr) m = e;  // it was the head: it is also the next to look at
    }
    return nullptr;
  }

  // Every entry of the small queue to main's head, oldest first (a switch away from
  // S3-FIFO: the other policies keep one list).
  void MergeSmallIntoMain() {
    while (Entry* e = small.tail) {
      small.Erase(e);
      e->queue = kMainQueue;
      main.PushHead(e);
    }
  }

  void PushFree(Entry* e) {
    e->hnext = free[e->cls];
    free[e->cls] = e;
    free_count += 1;
  }

  void Delete(Entry* e) {
    bytes -= BlockBytes(e->size);
    arena->Free(e->cls, e);
  }

  bool DropOneFree() {
    for (Entry*& f : free) {
      if (f != nullptr) {
        Entry* e = f;
        f = e->hnext;
        free_count -= 1;
        Delete(e);
        return true;
      }
    }
    return false;
  }

  // Takes a live entry out: its block is freed, or detached while pinned.
  void Remove(Entry* e, bool evicted) {
    if (evicted) {
      Of(e->owner).evictions += 1;
      if (e->queue == kSmallQueue) ghost.Add(Fingerprint(e->client_id, e->page));
    }
    Unlink(e);
    if (e->pins == 0) {
      PushFree(e);
      return;
    }
    e->prev = nullptr;
    e->next = detached;
    if (detached != nullptr) detached->prev = e;
    detached = e;
  }

  // Frees blocks and evicts until the shard holds no more than its budget (pinned
  // pages may keep it above until they are released).
  void Trim() {
    while (bytes > budget) {
      if (DropOneFree()) continue;
      Entry* v = Victim(nullptr);
      if (v == nullptr) return;
      Remove(v, true);
    }
  }

  // A block for a page of `size` bytes owned by `c`, evicting to make room within the
  // shard's budget and c's slice of its share. Null when there is no room.
  Entry* Allocate(Client* c, uint32_t size) {
    const uint64_t need = BlockBytes(size);
    const int cls = ClassOf(size);
    // The client's share is split evenly over the shards, but a shard may always hold
    // one block of it: a share smaller than a block per shard still caches what fits
    // (held_, the client's bytes over all shards, keeps the share itself exact).
    const uint64_t share = c->share();
    const uint64_t slice = std::max(share / kShards, need);
    Client::PerShard& ps = Of(c);
    if (need > share || need > budget) return nullptr;
    while (ps.bytes + need > slice) {
      Entry* v = Victim(c);
      if (v == nullptr) return nullptr;
      Remove(v, true);
    }
    for (uint64_t held = c->held_.load(std::memory_order_relaxed);;) {
      if (held + need <= share) {
        if (c->held_.compare_exchange_weak(held, held + need, std::memory_order_relaxed)) break;
        continue;
      }
      Entry* v = Victim(c);  // over the share through other shards: give up one here
      if (v == nullptr) return nullptr;
      Remove(v, true);
      held = c->held_.load(std::memory_order_relaxed);
    }
    for (;;) {
      if (Entry* f = free[static_cast<size_t>(cls)]; f != nullptr) {
        free[static_cast<size_t>(cls)] = f->hnext;
        free_count -= 1;
        return f;
      }
      void* p = bytes + need <= budget ? arena->Allocate(cls, need) : nullptr;
      if (p != nullptr) {
        bytes += need;
        auto* e = static_cast<Entry*>(p);
        e->cls = static_cast<uint8_t>(cls);
        e->size = size;
        return e;
      }
      if (bytes + need <= budget) break;  // out of memory
      if (DropOneFree()) continue;
      Entry* v = Victim(nullptr);
      if (v == nullptr) break;
      Remove(v, true);
    }
    c->held_.fetch_sub(need, std::memory_order_relaxed);  // the block Link would count
    return nullptr;
  }

  ~Shard() {
    auto drop = [this](Entry* e) { arena->Free(e->cls, e); };
    ForEachLive(drop);
    for (Entry* e = detached; e != nullptr;) {
      Entry* next = e->next;
      drop(e);
      e = next;
    }
    for (Entry* f : free) {
      while (f != nullptr) {
        Entry* next = f->hnext;
        drop(f);
        f = next;
      }
    }
  }
};

// ---- Client ----

Client::Client(PageCache* cache, uint64_t id, uint64_t share)
    : cache_(cache), id_(id), share_(share) {}

Client::~Client() {
  for (int i = 0; i < kShards; ++i) {
    Shard& s = cache_->shards_[static_cast<size_t>(i)];
    std::lock_guard lock(s.mu);
    s.ForEachLive([&](Entry* e) {
      if (e->owner == this) s.Remove(e, false);
    });
    for (Entry* e = s.detached; e != nullptr; e = e->next) {
      if (e->owner == this) e->owner = nullptr;
    }
  }
}

Shard& Client::ShardOf(uint32_t page) const {
  return cache_->shards_[Mix(id_, page) & (kShards - 1)];
}

bool Client::Read(uint32_t page, size_t in_page, std::span<std::byte> dst, bool count) {
  Shard& s = ShardOf(page);
  std::lock_guard lock(s.mu);
  Entry* e = s.Find(id_, page);
  PerShard& ps = per_shard_[static_cast<size_t>(s.index)];
  if (e == nullptr || in_page + dst.size() > e->size) {
    if (count) ps.misses += 1;
    return false;
  }
  std::memcpy(dst.data(), e->data() + in_page, dst.size());
  ps.hits += 1;
  s.Touch(e);
  return true;
}

const std::byte* Client::Pin(uint32_t page, bool count) {
  Shard& s = ShardOf(page);
  std::lock_guard lock(s.mu);
  Entry* e = s.Find(id_, page);
  PerShard& ps = per_shard_[static_cast<size_t>(s.index)];
  if (e == nullptr) {
    if (count) ps.misses += 1;
    return nullptr;
  }
  e->pins += 1;
  s.pins += 1;
  ps.pinned += 1;
  if (count) ps.hits += 1;
  s.Touch(e);
  return e->data();
}

bool Client::Put(uint32_t page, std::span<const std::byte> bytes, bool keep, bool scan) {
  if (!ValidPageSize(bytes.size())) {
    Erase(page);
    return false;
  }
  const auto size = static_cast<uint32_t>(bytes.size());
  for (uint32_t m = max_page_.load(std::memory_order_relaxed);
       page > m && !max_page_.compare_exchange_weak(m, page, std::memory_order_relaxed);) {
  }
  Shard& s = ShardOf(page);
  std::lock_guard lock(s.mu);
  Entry* e = s.Find(id_, page);
  if (e != nullptr && e->pins == 0 && e->size == size) {
    std::memcpy(e->data(), bytes.data(), size);
    s.Touch(e);
    return true;
  }
  // S3-FIFO: a page goes to the small queue unless the ghost remembers it, its old
  // version was in main, or it comes with `keep` (b-tree interior pages: read by every
  // lookup, they skip the one-hit-wonder filter and enter main as if hit once, as
  // SIEVE's mark lets them survive one pass of the hand).
  const bool was_main = e != nullptr && e->queue == kMainQueue;
  if (e != nullptr) s.Remove(e, false);
  const bool small = s.policy == Policy::kS3Fifo && !keep && !was_main &&
                     !s.ghost.Take(Fingerprint(id_, page), s.GhostWindow());
  if (small && scan && BlockBytes(size) <= share()) s.MakeRoomInSmall(this, BlockBytes(size));
  Entry* n = s.Allocate(this, size);
  if (n == nullptr) return false;
  n->owner = this;
  n->shard = &s;
  n->client_id = id_;
  n->page = page;
  n->pins = 0;
  n->freq = keep ? 1 : 0;
  std::memcpy(n->data(), bytes.data(), size);
  s.Link(n, small ? kSmallQueue : kMainQueue);
  per_shard_[static_cast<size_t>(s.index)].inserts += 1;
  return true;
}

void Client::Erase(uint32_t page) {
  Shard& s = ShardOf(page);
  std::lock_guard lock(s.mu);
  if (Entry* e = s.Find(id_, page); e != nullptr) s.Remove(e, false);
}

template <class Pred>
void Client::EraseIf(Pred pred) {
  for (int i = 0; i < kShards; ++i) {
    Shard& s = cache_->shards_[static_cast<size_t>(i)];
    std::lock_guard lock(s.mu);
    if (per_shard_[static_cast<size_t>(i)].pages == 0) continue;
    s.ForEachLive([&](Entry* e) {
      if (e->owner == this && pred(e->page)) s.Remove(e, false);
    });
  }
}

void Client::EraseAbove(uint32_t page) {
  if (page >= max_page_.load(std::memory_order_relaxed)) return;
  EraseIf([page](uint32_t p) { return p > page; });
}

void Client::EraseAll() {
  EraseIf([](uint32_t) { return true; });
}

void Client::set_share(uint64_t bytes) {
  share_.store(bytes, std::memory_order_relaxed);
  const uint64_t slice = bytes / kShards;
  for (int i = 0; i < kShards; ++i) {
    Shard& s = cache_->shards_[static_cast<size_t>(i)];
    std::lock_guard lock(s.mu);
    PerShard& ps = per_shard_[static_cast<size_t>(i)];
    // As Allocate places them: one block per shard may exceed the slice, none the share.
    while ((ps.bytes > slice && ps.pages > 1) ||
           (ps.pages > 0 && held_.load(std::memory_order_relaxed) > bytes)) {
      Entry* v = s.Victim(this);
      if (v == nullptr) break;
      s.Remove(v, true);
    }
  }
}

uint64_t Client::capacity() const { return std::min(share(), cache_->budget()); }

ClientFigures Client::Figures() const {
  ClientFigures f;
  for (int i = 0; i < kShards; ++i) {
    Shard& s = cache_->shards_[static_cast<size_t>(i)];
    std::lock_guard lock(s.mu);
    const PerShard& ps = per_shard_[static_cast<size_t>(i)];
    f.hits += ps.hits;
    f.misses += ps.misses;
    f.inserts += ps.inserts;
    f.evictions += ps.evictions;
    f.pinned += ps.pinned;
    f.pages += ps.pages;
    f.bytes += ps.bytes;
  }
  return f;
}

// ---- PageCache ----

PageCache& PageCache::Process() {
  static auto* cache = new PageCache();  // never destroyed: clients may outlive statics
  return *cache;
}

PageCache::PageCache(uint64_t budget, Policy policy)
    : arena_(std::make_unique<BlockArena>()),
      shards_(new Shard[kShards]),
      budget_(budget),
      policy_(policy) {
  for (int i = 0; i < kShards; ++i) {
    Shard& s = shards_[static_cast<size_t>(i)];
    s.arena = arena_.get();
    s.index = i;
    s.policy = policy;
    s.budget = budget / kShards;
    s.buckets.assign(kInitialBuckets, nullptr);
    if (policy == Policy::kS3Fifo) s.ghost.Fit(s.GhostSlots());
  }
}

PageCache::~PageCache() = default;

std::unique_ptr<Client> PageCache::Connect(uint64_t share) {
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  return std::unique_ptr<Client>(new Client(this, id, share));
}

void PageCache::Unpin(const std::byte* data) {
  Entry* e = Entry::FromData(data);
  Shard& s = *e->shard;
  std::lock_guard lock(s.mu);
  e->pins -= 1;
  s.pins -= 1;
  if (e->owner != nullptr) s.Of(e->owner).pinned -= 1;
  if (e->pins == 0 && !e->live) {
    (e->prev != nullptr ? e->prev->next : s.detached) = e->next;
    if (e->next != nullptr) e->next->prev = e->prev;
    s.PushFree(e);
  }
  if (s.bytes > s.budget) s.Trim();
}

void PageCache::SetBudget(uint64_t bytes) {
  budget_.store(bytes, std::memory_order_relaxed);
  for (int i = 0; i < kShards; ++i) {
    Shard& s = shards_[static_cast<size_t>(i)];
    std::lock_guard lock(s.mu);
    s.budget = bytes / kShards;
    s.Trim();
  }
}

void PageCache::SetPolicy(Policy p) {
  policy_.store(p, std::memory_order_relaxed);
  for (int i = 0; i < kShards; ++i) {
    Shard& s = shards_[static_cast<size_t>(i)];
    std::lock_guard lock(s.mu);
    // Pages cached under another policy are all in main (with SIEVE's mark as one hit);
    // leaving S3-FIFO, the small queue joins main at its head.
    if (p == Policy::kS3Fifo) {
      s.ghost.Fit(s.GhostSlots());
    } else {
      s.MergeSmallIntoMain();
    }
    s.policy = p;
    s.hand = nullptr;
  }
}

CacheFigures PageCache::Figures() const {
  CacheFigures f;
  f.budget = budget();
  for (int i = 0; i < kShards; ++i) {
    Shard& s = shards_[static_cast<size_t>(i)];
    std::lock_guard lock(s.mu);
    f.bytes += s.bytes;
    f.pages += s.live;
    f.pinned += s.pins;
    f.free_blocks += s.free_count;
  }
  f.mapped = arena_->mapped_bytes();
  return f;
}

}  // namespace blaze::cache
