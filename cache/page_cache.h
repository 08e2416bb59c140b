// cache/page_cache.h: the process's cache of decompressed pages, shared by every
// connection of every store, and the pool its page buffers come from.
//
// What it holds: whole decoded pages, keyed by (client, page number). A client is one
// open store (vfs/store.h), shared by the connections that opened that file; the cache
// knows nothing else about it. Whoever holds a client keeps the cache *exact*: an entry
// is always what a read of that page would return now, so a store puts every page it
// writes and erases every page another process changed before serving a read.
//
// Sharding: pages spread over kShards shards by a hash of (client, page); each shard has
// its own mutex, hash table, eviction queues and free blocks, and a 1/kShards slice of the
// budget and of every client's share. Connections on several threads touch one shard
// lock per page and nothing else.
//
// Memory: every block the cache holds (live pages, pages pinned after they were replaced,
// free blocks kept for reuse) counts against the budget, which the cache never exceeds: a
// page that cannot be placed (everything pinned) is simply not cached. A block is a 64-byte
// header followed by the page, in eight size classes (512..65536 bytes), carved from the
// cache's huge-page chunks (cache/block_arena.h); the arena maps a chunk at a time, so
// the memory taken from the system may exceed the blocks held by up to a chunk per size
// class in use plus the chunks that blocks freed at random keep partly used. Once the
// cache is warm a miss reuses the block of the page it evicts and a hit copies out under
// the shard lock: neither allocates.
//
// Eviction (Policy): S3-FIFO (default), SIEVE or LRU, per shard, newest at the head.
// S3-FIFO (Yang et al., SOSP 2023) has a small FIFO of about a tenth of the shard's live
// bytes, a main FIFO, and a ghost: the keys (not the pages) lately evicted from small. A
// hit only counts (2 bits, at most 3). A new page enters small, or main if the ghost
// remembers it. Small's tail moves to main if it was hit since it was put, else it is
// evicted into the ghost; main's tail goes back to main's head with one hit less, or is
// evicted when it has none. Pages read once, as by a scan, leave from small before any
// page read twice. SIEVE keeps one list: a hit marks the page, a hand walks from the tail
// toward the head clearing marks and evicts the first unmarked page. LRU keeps one list,
// moves a page to the head on every hit and evicts from the tail. Put(keep=true) (the
// store passes b-tree interior pages) inserts a page as if hit once (SIEVE: marked, it
// survives one pass of the hand) and, under S3-FIFO, into main. Pinned pages are never
// evicted. docs/design/cache.md has the details and bench/cache_trace's hit ratios.
//
// Pinning: Pin returns a pointer to the cached bytes that stays valid, with the same
// bytes, until Unpin, even if the page is rewritten (the new version goes to a new
// block; the old one is freed at its last Unpin) or its client is erased.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace blaze::cache {

enum class Policy : uint8_t { kSieve, kLru, kS3Fifo };
std::string_view PolicyName(Policy p);
std::optional<Policy> ParsePolicy(std::string_view name);

inline constexpr int kShards = 16;
inline constexpr uint64_t kDefaultBudget = uint64_t{64} << 20;
// Bytes a page of `page_size` costs against the budget (its block: header + page).
uint64_t BlockBytes(uint32_t page_size);

// One client's use of the cache (what blaze_stats shows per store).
struct ClientFigures {
  uint64_t hits = 0;       // Read/Pin calls that found the page
  uint64_t misses = 0;     // Read/Pin calls that did not
  uint64_t inserts = 0;    // pages placed by Put
  uint64_t evictions = 0;  // pages evicted to make room (not erased by the client)
  uint64_t pinned = 0;     // pins outstanding
  uint64_t pages = 0;      // pages cached
  uint64_t bytes = 0;      // bytes of their blocks
};

// The whole cache.
struct CacheFigures {
  uint64_t budget = 0;
  uint64_t bytes = 0;        // held: live, pinned-and-replaced and free blocks
  uint64_t pages = 0;        // live pages
  uint64_t pinned = 0;       // pins outstanding
  uint64_t free_blocks = 0;  // blocks kept for reuse
  uint64_t mapped = 0;       // memory the blocks are carved from (cache/block_arena.h)
};

class BlockArena;
class PageCache;
struct Shard;
struct Entry;

// A store's handle on the cache. Every member may be called from any thread.
class Client {
 public:
  ~Client();  // erases the client's pages (pinned ones live on until their Unpin)
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Copies dst.size() bytes at in_page of `page` into dst: true on a hit. `count`
  // false: a miss is not counted (the caller looks again, counted, under its own lock).
  bool Read(uint32_t page, size_t in_page, std::span<std::byte> dst, bool count = true);
  // The cached bytes of `page`, valid and unchanged until PageCache::Unpin; null on a
  // miss. `count` false: neither a hit nor a miss is counted (a second look).
  const std::byte* Pin(uint32_t page, bool count = true);
  // Places `bytes` (one whole page, 512..65536, a power of two) as the page's content,
  // replacing what was cached. False if there was no room (the page is then not cached).
  // `scan`: the page was read by a sequential scan too large to keep (the caller
  // decides). Under S3-FIFO it enters the small queue as any new page does, but while
  // the shard's small queue holds a tenth of the shard's budget, its tail makes room
  // (promoted if it was hit, else evicted) even when the cache has room to spare: such a
  // scan cycles through a tenth of the cache instead of filling all of it with pages read
  // once. Other policies ignore it.
  bool Put(uint32_t page, std::span<const std::byte> bytes, bool keep = false, bool scan = false);
  void Erase(uint32_t page);
  void EraseAbove(uint32_t page);  // every page numbered above `page`
  void EraseAll();

  // The most this client may hold (0: nothing is cached for it).
  void set_share(uint64_t bytes);
  uint64_t share() const { return share_.load(std::memory_order_relaxed); }
  // The most this client can hold now: its share, or the cache's budget if smaller.
  uint64_t capacity() const;
  ClientFigures Figures() const;

 private:
  friend class PageCache;
  friend struct Shard;
  Client(PageCache* cache, uint64_t id, uint64_t share);
  Shard& ShardOf(uint32_t page) const;
  template <class Pred>
  void EraseIf(Pred pred);

  PageCache* const cache_;
  const uint64_t id_;
  std::atomic<uint64_t> share_;
  // Per shard, guarded by that shard's mutex.
  struct alignas(64) PerShard {
    uint64_t bytes = 0, pages = 0, hits = 0, misses = 0, inserts = 0, evictions = 0;
    uint64_t pinned = 0;
  };
  std::array<PerShard, kShards> per_shard_{};
  // Bytes of this client's blocks over all shards (reserved by Shard::Allocate, given back
  // when a block leaves the table), so that the share holds however it is split.
  std::atomic<uint64_t> held_{0};
  std::atomic<uint32_t> max_page_{0};  // no page above this was ever put
};

class PageCache {
 public:
  // The process's cache (kDefaultBudget, S3-FIFO until told otherwise).
  static PageCache& Process();

  explicit PageCache(uint64_t budget = kDefaultBudget, Policy policy = Policy::kS3Fifo);
  ~PageCache();  // REQUIRES: every client gone and every pin released
  PageCache(const PageCache&) = delete;
  PageCache& operator=(const PageCache&) = delete;

  // A new client that may hold up to `share` bytes (more than the budget: the budget).
  std::unique_ptr<Client> Connect(uint64_t share = UINT64_MAX);

  // Releases a pointer from Client::Pin.
  static void Unpin(const std::byte* data);

  // Evicts (and frees blocks) down to a smaller budget at once.
  void SetBudget(uint64_t bytes);
  uint64_t budget() const { return budget_.load(std::memory_order_relaxed); }
  // Drops nothing; the next eviction follows `p`. Pages already cached count as S3-FIFO's
  // main queue; leaving S3-FIFO, its small queue joins the head of the one list.
  void SetPolicy(Policy p);
  Policy policy() const { return policy_.load(std::memory_order_relaxed); }
  CacheFigures Figures() const;

 private:
  friend class Client;
  std::unique_ptr<BlockArena> arena_;  // outlives the shards, whose blocks it holds
  std::unique_ptr<Shard[]> shards_;
  std::atomic<uint64_t> budget_;
  std::atomic<Policy> policy_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace blaze::cache
