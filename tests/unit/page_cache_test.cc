// tests/unit/page_cache_test.cc: the shared page cache (cache/page_cache.h): contents, budget and shares, pinning, eviction order, scan resistance, threads.
//
// Every page the tests put carries its identity: each 8-byte word holds the page number
// in its low half and a version in its high half, so a read can tell a page from its
// neighbour, an old version from a new one, and a torn copy from a whole one.
#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <thread>
#include <vector>

#include "cache/page_cache.h"

namespace {

using blaze::cache::BlockBytes;
using blaze::cache::CacheFigures;
using blaze::cache::Client;
using blaze::cache::kShards;
using blaze::cache::PageCache;
using blaze::cache::Policy;
using Bytes = std::vector<std::byte>;

constexpr std::array<Policy, 3> kPolicies = {Policy::kSieve, Policy::kLru, Policy::kS3Fifo};

constexpr std::array<uint32_t, 8> kPageSizes = {512, 1024, 2048, 4096, 8192, 16384, 32768,
                                                65536};

uint64_t Word(uint32_t page, uint32_t version) { return (uint64_t{version} << 32) | page; }

Bytes PageBytes(uint32_t page, uint32_t size, uint32_t version = 0) {
  Bytes b(size);
  const uint64_t w = Word(page, version);
  for (size_t at = 0; at < size; at += 8) std::memcpy(b.data() + at, &w, 8);
  return b;
}

// True if `p` holds `size` bytes of one version of `page`, untorn; its version in *version.
bool HoldsPage(const std::byte* p, size_t size, uint32_t page, uint32_t* version = nullptr) {
  uint64_t first = 0;
  std::memcpy(&first, p, 8);
  if (static_cast<uint32_t>(first) != page) return false;
  for (size_t at = 8; at < size; at += 8) {
    uint64_t w = 0;
    std::memcpy(&w, p + at, 8);
    if (w != first) return false;
  }
  if (version != nullptr) *version = static_cast<uint32_t>(first >> 32);
  return true;
}

bool Same(const std::byte* p, const Bytes& b) { return std::memcmp(p, b.data(), b.size()) == 0; }

// Reads `page` whole; on a miss puts it (version 0), as the store does. True on a hit.
bool ReadOrPut(Client& c, uint32_t page, uint32_t size, Bytes& buf) {
  buf.resize(size);
  if (c.Read(page, 0, buf)) return true;
  (void)c.Put(page, PageBytes(page, size));
  return false;
}

// The first n pages of `c` (from `first` up) that share a shard with `first`. Every
// shard is made to hold one 512-byte page: a Put evicts `first` only from its own shard.
// Leaves `c` empty and the budget and policy as they were; the search runs under LRU,
// so that S3-FIFO's ghost does not remember the pages it evicted.
std::vector<uint32_t> SameShard(PageCache& cache, Client& c, uint32_t first, size_t n) {
  const uint64_t budget = cache.budget();
  const Policy policy = cache.policy();
  cache.SetPolicy(Policy::kLru);
  cache.SetBudget(kShards * BlockBytes(512));
  std::vector<uint32_t> out{first};
  std::array<std::byte, 8> probe{};
  REQUIRE(c.Put(first, PageBytes(first, 512)));
  for (uint32_t p = first + 1; out.size() < n; ++p) {
    REQUIRE(c.Put(p, PageBytes(p, 512)));
    if (!c.Read(first, 0, probe)) {
      out.push_back(p);
      REQUIRE(c.Put(first, PageBytes(first, 512)));
    }
  }
  c.EraseAll();
  cache.SetBudget(budget);
  cache.SetPolicy(policy);
  return out;
}

bool Cached(Client& c, uint32_t page) {
  std::array<std::byte, 8> probe{};
  return c.Read(page, 0, probe, /*count=*/false);
}

}  // namespace

// ---- contents ----

TEST_CASE("page cache: a put page reads back whole, at every page size", "[cache]") {
  PageCache cache(64 << 20);
  auto c = cache.Connect();
  uint32_t page = 1;
  for (uint32_t size : kPageSizes) {
    INFO("page size " << size);
    const Bytes b = PageBytes(page, size, 7);
    REQUIRE(c->Put(page, b));
    Bytes out(size);
    REQUIRE(c->Read(page, 0, out));
    CHECK(out == b);
    const std::byte* p = c->Pin(page);
    REQUIRE(p != nullptr);
    CHECK(Same(p, b));
    PageCache::Unpin(p);
    ++page;
  }
  const auto f = c->Figures();
  CHECK(f.pages == kPageSizes.size());
  CHECK(f.inserts == kPageSizes.size());
  CHECK(f.hits == 2 * kPageSizes.size());
  CHECK(f.misses == 0);
  uint64_t bytes = 0;
  for (uint32_t size : kPageSizes) bytes += BlockBytes(size);
  CHECK(f.bytes == bytes);
  CHECK(cache.Figures().bytes == bytes);
  CHECK(BlockBytes(4096) == 64 + 4096);
}

TEST_CASE("page cache: partial reads at offsets in a page", "[cache]") {
  PageCache cache(1 << 20);
  auto c = cache.Connect();
  Bytes b(4096);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>((i * 7 + i / 256) & 0xff);
  REQUIRE(c->Put(9, b));
  for (size_t in_page : {size_t{0}, size_t{1}, size_t{100}, size_t{2048}, size_t{4000}}) {
    for (size_t n : {size_t{1}, size_t{24}, size_t{96}}) {
      INFO("in_page " << in_page << " n " << n);
      Bytes out(n);
      REQUIRE(c->Read(9, in_page, out));
      CHECK(std::memcmp(out.data(), b.data() + in_page, n) == 0);
    }
  }
  Bytes tail(96);
  REQUIRE(c->Read(9, 4096 - 96, tail));
  CHECK(std::memcmp(tail.data(), b.data() + 4000, 96) == 0);
  // Past the end of the page: a miss, and dst untouched.
  Bytes over(97, std::byte{0xAA});
  CHECK_FALSE(c->Read(9, 4096 - 96, over));
  CHECK(over == Bytes(97, std::byte{0xAA}));
}

TEST_CASE("page cache: a page never put is a miss, counted unless asked not to", "[cache]") {
  PageCache cache(1 << 20);
  auto c = cache.Connect();
  Bytes out(512, std::byte{0x5A});
  CHECK_FALSE(c->Read(3, 0, out));
  CHECK(out == Bytes(512, std::byte{0x5A}));
  CHECK(c->Pin(3) == nullptr);
  CHECK_FALSE(c->Read(3, 0, out, /*count=*/false));
  CHECK(c->Pin(3, /*count=*/false) == nullptr);
  auto f = c->Figures();
  CHECK(f.misses == 2);
  CHECK(f.hits == 0);
  REQUIRE(c->Put(4, PageBytes(4, 512)));
  CHECK_FALSE(c->Read(3, 0, out));  // a neighbour is no hit
  CHECK(c->Figures().misses == 3);
}

TEST_CASE("page cache: a put of a bad size is refused and drops the page", "[cache]") {
  PageCache cache(1 << 20);
  auto c = cache.Connect();
  REQUIRE(c->Put(5, PageBytes(5, 1024)));
  CHECK_FALSE(c->Put(5, Bytes(1000)));
  CHECK_FALSE(Cached(*c, 5));
  CHECK_FALSE(c->Put(6, Bytes(256)));
  CHECK_FALSE(c->Put(6, Bytes(131072)));
  CHECK(cache.Figures().pages == 0);
}

TEST_CASE("page cache: a second put replaces the page, also at another size", "[cache]") {
  PageCache cache(1 << 20);
  auto c = cache.Connect();
  REQUIRE(c->Put(2, PageBytes(2, 1024, 1)));
  REQUIRE(c->Put(2, PageBytes(2, 1024, 2)));
  Bytes out(1024);
  REQUIRE(c->Read(2, 0, out));
  uint32_t v = 0;
  CHECK(HoldsPage(out.data(), out.size(), 2, &v));
  CHECK(v == 2);
  REQUIRE(c->Put(2, PageBytes(2, 2048, 3)));
  out.resize(2048);
  REQUIRE(c->Read(2, 0, out));
  CHECK(HoldsPage(out.data(), out.size(), 2, &v));
  CHECK(v == 3);
  CHECK(c->Figures().pages == 1);
  CHECK(c->Figures().bytes == BlockBytes(2048));
}

TEST_CASE("page cache: Erase, EraseAbove and EraseAll drop exactly their pages", "[cache]") {
  PageCache cache(8 << 20);
  auto c = cache.Connect();
  auto other = cache.Connect();
  for (uint32_t p = 1; p <= 100; ++p) {
    REQUIRE(c->Put(p, PageBytes(p, 1024)));
    REQUIRE(other->Put(p, PageBytes(p, 1024, 9)));
  }
  c->Erase(50);
  c->Erase(1000);  // absent: nothing happens
  for (uint32_t p = 1; p <= 100; ++p) CHECK(Cached(*c, p) == (p != 50));
  CHECK(c->Figures().pages == 99);
  CHECK(cache.Figures().free_blocks == 1);

  c->EraseAbove(80);
  for (uint32_t p = 1; p <= 100; ++p) CHECK(Cached(*c, p) == (p != 50 && p <= 80));
  CHECK(c->Figures().pages == 79);
  c->EraseAbove(100);  // nothing above
  c->EraseAbove(1000);
  CHECK(c->Figures().pages == 79);

  c->EraseAll();
  for (uint32_t p = 1; p <= 100; ++p) CHECK_FALSE(Cached(*c, p));
  CHECK(c->Figures().pages == 0);
  CHECK(c->Figures().bytes == 0);
  // The other client's pages were never touched.
  CHECK(other->Figures().pages == 100);
  Bytes out(1024);
  for (uint32_t p = 1; p <= 100; ++p) {
    REQUIRE(other->Read(p, 0, out));
    uint32_t v = 0;
    CHECK(HoldsPage(out.data(), out.size(), p, &v));
    CHECK(v == 9);
  }
  // Blocks of erased pages are kept for reuse, within the budget.
  const CacheFigures f = cache.Figures();
  CHECK(f.free_blocks == 100);
  CHECK(f.bytes == 200 * BlockBytes(1024));
  CHECK(c->Figures().evictions == 0);
}

TEST_CASE("page cache: EraseAbove(0) drops every page but page 0", "[cache]") {
  PageCache cache(1 << 20);
  auto c = cache.Connect();
  for (uint32_t p = 0; p < 10; ++p) REQUIRE(c->Put(p, PageBytes(p, 512)));
  c->EraseAbove(0);
  CHECK(Cached(*c, 0));
  CHECK(c->Figures().pages == 1);
}

TEST_CASE("page cache: two clients with the same page numbers are kept apart", "[cache]") {
  PageCache cache(8 << 20);
  auto a = cache.Connect();
  auto b = cache.Connect();
  for (uint32_t p = 1; p <= 200; ++p) {
    REQUIRE(a->Put(p, PageBytes(p, 2048, 1)));
    if (p % 2 == 0) REQUIRE(b->Put(p, PageBytes(p, 2048, 2)));
  }
  Bytes out(2048);
  for (uint32_t p = 1; p <= 200; ++p) {
    uint32_t v = 0;
    REQUIRE(a->Read(p, 0, out));
    CHECK(HoldsPage(out.data(), out.size(), p, &v));
    CHECK(v == 1);
    if (p % 2 == 0) {
      REQUIRE(b->Read(p, 0, out));
      CHECK(HoldsPage(out.data(), out.size(), p, &v));
      CHECK(v == 2);
    } else {
      CHECK_FALSE(b->Read(p, 0, out));
    }
  }
  b->Erase(2);
  CHECK(Cached(*a, 2));
  a->EraseAll();
  CHECK(b->Figures().pages == 99);
  a.reset();  // destroying a client drops its pages only
  CHECK(b->Figures().pages == 99);
  CHECK(cache.Figures().pages == 99);
}

// ---- budget and shares ----

TEST_CASE("page cache: the budget holds after every put, mixed page sizes", "[cache]") {
  for (Policy policy : kPolicies) {
    INFO("policy " << blaze::cache::PolicyName(policy));
    const uint64_t budget = 4 << 20;
    PageCache cache(budget, policy);
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < 3; ++i) clients.push_back(cache.Connect());
    std::mt19937 rng(11);
    uint64_t refused = 0;
    for (int i = 0; i < 6000; ++i) {
      Client& c = *clients[rng() % clients.size()];
      const uint32_t page = rng() % 3000;
      const uint32_t size = kPageSizes[rng() % (i % 2 == 0 ? 4 : kPageSizes.size())];
      if (!c.Put(page, PageBytes(page, size))) ++refused;
      const CacheFigures f = cache.Figures();
      REQUIRE(f.bytes <= budget);
      REQUIRE(f.pinned == 0);
    }
    CHECK(refused == 0);  // nothing pinned: there is always room
    uint64_t evictions = 0;
    for (auto& c : clients) evictions += c->Figures().evictions;
    CHECK(evictions > 0);
    // The budget is used, not just respected: less than one largest block is idle per
    // shard, beyond the free blocks.
    const CacheFigures f = cache.Figures();
    CHECK(f.bytes + kShards * BlockBytes(65536) > budget);

    // Shrinking takes effect at once, and holds afterwards.
    const uint64_t small = budget / 3;
    cache.SetBudget(small);
    REQUIRE(cache.Figures().bytes <= small);
    CHECK(cache.Figures().budget == small);
    for (int i = 0; i < 3000; ++i) {
      Client& c = *clients[rng() % clients.size()];
      const uint32_t page = rng() % 3000;
      REQUIRE(c.Put(page, PageBytes(page, kPageSizes[rng() % 5])));
      REQUIRE(cache.Figures().bytes <= small);
    }
    cache.SetBudget(0);
    CHECK(cache.Figures().bytes == 0);
    CHECK(cache.Figures().pages == 0);
    CHECK_FALSE(clients[0]->Put(1, PageBytes(1, 512)));
    CHECK(cache.Figures().bytes == 0);
  }
}

TEST_CASE("page cache: the budget holds while pages are read and put", "[cache]") {
  // The store's pattern, Read then Put on a miss (some with keep), switching policy
  // every 5,000 reads through every pair of policies.
  const uint64_t budget = 2 << 20;
  PageCache cache(budget);
  auto c = cache.Connect();
  std::mt19937 rng(5);
  Bytes buf;
  const Policy order[] = {Policy::kSieve, Policy::kS3Fifo, Policy::kLru, Policy::kS3Fifo,
                          Policy::kSieve, Policy::kLru, Policy::kSieve};
  uint64_t hits = 0;
  for (Policy policy : order) {
    INFO("policy " << blaze::cache::PolicyName(policy));
    cache.SetPolicy(policy);
    for (int i = 0; i < 5000; ++i) {
      const uint32_t page = rng() % 2000;
      buf.resize(4096);
      if (!c->Read(page, 0, buf)) {
        REQUIRE(c->Put(page, PageBytes(page, 4096), /*keep=*/page % 32 == 0));
      } else {
        REQUIRE(HoldsPage(buf.data(), buf.size(), page));
      }
      if (i % 16 == 0) REQUIRE(cache.Figures().bytes <= budget);
    }
    CHECK(cache.policy() == policy);
    REQUIRE(cache.Figures().bytes <= budget);
    CHECK(c->Figures().hits > hits);
    hits = c->Figures().hits;
  }
  // Every page is in the table and in an eviction list: erasing them all empties both.
  CHECK(cache.Figures().pages == c->Figures().pages);
  c->EraseAll();
  CHECK(cache.Figures().pages == 0);
  CHECK(c->Figures().bytes == 0);
}

TEST_CASE("page cache: a client holds no more than its share", "[cache]") {
  for (Policy policy : kPolicies) {
    INFO("policy " << blaze::cache::PolicyName(policy));
    const uint64_t budget = 8 << 20;
    const uint64_t share = 1 << 20;
    PageCache cache(budget, policy);
    auto small = cache.Connect(share);
    auto big = cache.Connect();
    std::mt19937 rng(3);
    for (int i = 0; i < 4000; ++i) {
      const uint32_t page = rng() % 2000;
      const uint32_t size = kPageSizes[rng() % 4];
      REQUIRE(small->Put(page, PageBytes(page, size)));
      REQUIRE(small->Figures().bytes <= share);
      if (i % 4 == 0) REQUIRE(big->Put(page, PageBytes(page, 4096)));
      REQUIRE(cache.Figures().bytes <= budget);
    }
    CHECK(small->Figures().evictions > 0);
    CHECK(small->share() == share);
    // The other client is not squeezed by the small one's share.
    CHECK(big->Figures().pages == big->Figures().inserts);

    small->set_share(share / 4);
    CHECK(small->Figures().bytes <= share / 4);
    small->set_share(0);
    CHECK(small->Figures().bytes == 0);
    CHECK(small->Figures().pages == 0);
    CHECK_FALSE(small->Put(1, PageBytes(1, 512)));
    CHECK(big->Figures().pages == big->Figures().inserts);
  }
}

// A share is split over the shards, but one below a block per shard must not turn the
// cache off for the client: each shard may hold one block of it, the share still holds.
TEST_CASE("page cache: a share of fewer blocks than shards caches up to the share", "[cache]") {
  for (Policy policy : kPolicies) {
    INFO("policy " << blaze::cache::PolicyName(policy));
    PageCache cache(64 << 20, policy);
    const uint64_t block = BlockBytes(4096);
    for (uint64_t blocks : {uint64_t{1}, uint64_t{3}, uint64_t{kShards - 1}}) {
      INFO(blocks << " blocks");
      auto c = cache.Connect(blocks * block);
      uint64_t most = 0;
      for (uint32_t page = 1; page <= 400; ++page) {
        (void)c->Put(page, PageBytes(page, 4096));
        REQUIRE(c->Figures().bytes <= blocks * block);
        most = std::max(most, c->Figures().pages);
      }
      // 400 pages over 16 shards reach every shard: the share fills.
      CHECK(most == blocks);
      // What it holds reads back.
      Bytes buf(4096);
      uint64_t hits = 0;
      for (uint32_t page = 1; page <= 400; ++page) {
        if (c->Read(page, 0, buf, false)) {
          ++hits;
          REQUIRE(HoldsPage(buf.data(), buf.size(), page));
        }
      }
      CHECK(hits == c->Figures().pages);
      c->set_share(block);
      CHECK(c->Figures().bytes <= block);
      c->set_share(0);
      CHECK(c->Figures().pages == 0);
    }
  }
}

// ---- pinning ----

TEST_CASE("page cache: pinned pages are never evicted", "[cache]") {
  for (Policy policy : kPolicies) {
    INFO("policy " << blaze::cache::PolicyName(policy));
    const uint64_t budget = kShards * 32 * BlockBytes(1024);  // 512 pages
    PageCache cache(budget, policy);
    auto c = cache.Connect();
    std::vector<const std::byte*> pins;
    for (uint32_t p = 1; p <= 40; ++p) {
      REQUIRE(c->Put(p, PageBytes(p, 1024, 1)));
      pins.push_back(c->Pin(p));
      REQUIRE(pins.back() != nullptr);
    }
    CHECK(cache.Figures().pinned == 40);
    CHECK(c->Figures().pinned == 40);
    // A flood of ten times the cache, read and put, with hits on the flood's own pages.
    Bytes buf;
    for (uint32_t p = 1000; p < 6000; ++p) {
      ReadOrPut(*c, p, 1024, buf);
      ReadOrPut(*c, p, 1024, buf);
      REQUIRE(cache.Figures().bytes <= budget);
    }
    CHECK(c->Figures().evictions > 4000);
    Bytes out(1024);
    for (uint32_t p = 1; p <= 40; ++p) {
      INFO("page " << p);
      uint32_t v = 0;
      CHECK(HoldsPage(pins[p - 1], 1024, p, &v));
      CHECK(v == 1);
      REQUIRE(c->Read(p, 0, out));  // still live, not only alive
      CHECK(Same(pins[p - 1], out));
    }
    for (const std::byte* p : pins) PageCache::Unpin(p);
    CHECK(cache.Figures().pinned == 0);
    CHECK(c->Figures().pinned == 0);
    // Unpinned, they are ordinary pages again: the next flood takes them.
    for (uint32_t p = 10000; p < 15000; ++p) {
      ReadOrPut(*c, p, 1024, buf);
      ReadOrPut(*c, p, 1024, buf);
    }
    for (uint32_t p = 1; p <= 40; ++p) CHECK_FALSE(Cached(*c, p));
  }
}

TEST_CASE("page cache: pins of one page nest", "[cache]") {
  PageCache cache(1 << 20);
  auto c = cache.Connect();
  REQUIRE(c->Put(1, PageBytes(1, 512)));
  const std::byte* a = c->Pin(1);
  const std::byte* b = c->Pin(1);
  REQUIRE(a != nullptr);
  CHECK(a == b);
  CHECK(cache.Figures().pinned == 2);
  c->Erase(1);
  PageCache::Unpin(a);
  CHECK(HoldsPage(b, 512, 1));  // one pin left: the block is still the page
  CHECK(cache.Figures().free_blocks == 0);
  PageCache::Unpin(b);
  CHECK(cache.Figures().free_blocks == 1);
  CHECK(cache.Figures().pinned == 0);
}

TEST_CASE("page cache: a page put while pinned keeps the old bytes under the pin",
          "[cache]") {
  PageCache cache(4 << 20);
  auto c = cache.Connect();
  const Bytes v1 = PageBytes(7, 4096, 1);
  const Bytes v2 = PageBytes(7, 4096, 2);
  REQUIRE(c->Put(7, v1));
  const std::byte* old = c->Pin(7);
  REQUIRE(old != nullptr);
  REQUIRE(c->Put(7, v2));
  CHECK(Same(old, v1));
  Bytes out(4096);
  REQUIRE(c->Read(7, 0, out));
  CHECK(out == v2);
  const std::byte* now = c->Pin(7);
  REQUIRE(now != nullptr);
  CHECK(now != old);
  CHECK(Same(now, v2));
  PageCache::Unpin(now);

  CacheFigures f = cache.Figures();
  CHECK(f.pages == 1);
  CHECK(f.pinned == 1);
  CHECK(f.bytes == 2 * BlockBytes(4096));  // the replaced block still counts
  CHECK(f.free_blocks == 0);
  CHECK(c->Figures().bytes == BlockBytes(4096));  // the client owns its live page only

  // The last Unpin frees the old block for reuse.
  const auto old_address = reinterpret_cast<uintptr_t>(old);
  PageCache::Unpin(old);
  f = cache.Figures();
  CHECK(f.pinned == 0);
  CHECK(f.free_blocks == 1);
  CHECK(f.bytes == 2 * BlockBytes(4096));
  // A new page placed in that shard takes the free block: no growth, same address.
  bool reused = false;
  for (uint32_t p = 100; p < 1100 && !reused; ++p) {
    const uint64_t before = cache.Figures().bytes;
    REQUIRE(c->Put(p, PageBytes(p, 4096)));
    f = cache.Figures();
    if (f.free_blocks == 0) {
      reused = true;
      CHECK(f.bytes == before);
      const std::byte* q = c->Pin(p);
      REQUIRE(q != nullptr);
      CHECK(reinterpret_cast<uintptr_t>(q) == old_address);
      PageCache::Unpin(q);
    } else {
      CHECK(f.bytes == before + BlockBytes(4096));
    }
  }
  CHECK(reused);
}

TEST_CASE("page cache: a pinned page erased or dropped with its client stays readable",
          "[cache]") {
  PageCache cache(4 << 20);
  auto c = cache.Connect();
  REQUIRE(c->Put(1, PageBytes(1, 8192, 1)));
  REQUIRE(c->Put(2, PageBytes(2, 8192, 1)));
  const std::byte* p1 = c->Pin(1);
  REQUIRE(p1 != nullptr);
  REQUIRE(c->Put(1, PageBytes(1, 8192, 2)));  // p1 is now a replaced block
  const std::byte* p1b = c->Pin(1);
  const std::byte* p2 = c->Pin(2);
  REQUIRE(p1b != nullptr);
  REQUIRE(p2 != nullptr);
  c->EraseAll();
  CHECK(cache.Figures().pages == 0);
  CHECK(cache.Figures().pinned == 3);
  CHECK(c->Figures().pinned == 3);
  REQUIRE(c->Put(2, PageBytes(2, 8192, 3)));
  c.reset();  // the client goes with three pins out
  CacheFigures f = cache.Figures();
  CHECK(f.pages == 0);
  CHECK(f.pinned == 3);
  CHECK(f.bytes == 4 * BlockBytes(8192));
  uint32_t v = 0;
  CHECK(HoldsPage(p1, 8192, 1, &v));
  CHECK(v == 1);
  CHECK(HoldsPage(p1b, 8192, 1, &v));
  CHECK(v == 2);
  CHECK(HoldsPage(p2, 8192, 2, &v));
  CHECK(v == 1);
  PageCache::Unpin(p1);
  PageCache::Unpin(p2);
  PageCache::Unpin(p1b);
  f = cache.Figures();
  CHECK(f.pinned == 0);
  CHECK(f.free_blocks == 4);
  // A new client at the same address must not inherit anything.
  auto d = cache.Connect();
  CHECK(d->Figures().pinned == 0);
  CHECK(d->Figures().pages == 0);
  REQUIRE(d->Put(1, PageBytes(1, 8192)));
  CHECK(d->Figures().pages == 1);
  CHECK(cache.Figures().pinned == 0);
}

TEST_CASE("page cache: with every page pinned a put finds no room and the budget holds",
          "[cache]") {
  for (Policy policy : kPolicies) {
    INFO("policy " << blaze::cache::PolicyName(policy));
    const uint64_t budget = kShards * 4 * BlockBytes(1024);
    PageCache cache(budget, policy);
    auto c = cache.Connect();
    for (uint32_t p = 1; p <= 1000; ++p) REQUIRE(c->Put(p, PageBytes(p, 1024)));
    std::vector<const std::byte*> pins;
    for (uint32_t p = 1; p <= 1000; ++p) {
      if (const std::byte* q = c->Pin(p); q != nullptr) pins.push_back(q);
    }
    REQUIRE(pins.size() == kShards * 4);  // every shard full
    CHECK(cache.Figures().pages == pins.size());
    for (uint32_t p = 2000; p < 2200; ++p) {
      CHECK_FALSE(c->Put(p, PageBytes(p, 1024)));
      CHECK_FALSE(c->Put(p, PageBytes(p, 512)));  // not even a smaller page
      REQUIRE(cache.Figures().bytes <= budget);
    }
    // A new version of a pinned page has no room either: the page is dropped, the pinned
    // block lives on.
    uint32_t first = 0;
    std::memcpy(&first, pins[0], 4);
    CHECK_FALSE(c->Put(first, PageBytes(first, 1024, 5)));
    CHECK_FALSE(Cached(*c, first));
    CHECK(HoldsPage(pins[0], 1024, first));
    REQUIRE(cache.Figures().bytes <= budget);
    for (const std::byte* q : pins) PageCache::Unpin(q);
    CHECK(cache.Figures().pinned == 0);
    CHECK(c->Put(3000, PageBytes(3000, 1024)));
    REQUIRE(cache.Figures().bytes <= budget);
  }
}

TEST_CASE("page cache: shrinking the budget below the pinned pages frees them at Unpin",
          "[cache]") {
  const uint64_t budget = kShards * 8 * BlockBytes(2048);
  PageCache cache(budget);
  auto c = cache.Connect();
  std::vector<const std::byte*> pins;
  for (uint32_t p = 1; p <= 40; ++p) {
    REQUIRE(c->Put(p, PageBytes(p, 2048)));
    pins.push_back(c->Pin(p));
  }
  cache.SetBudget(0);
  CHECK(cache.Figures().pages == 40);  // pinned pages stay until released
  for (const std::byte* q : pins) PageCache::Unpin(q);
  CHECK(cache.Figures().bytes == 0);
  CHECK(cache.Figures().pages == 0);
}

// ---- eviction order ----

TEST_CASE("page cache: eviction order in one shard, each policy", "[cache]") {
  // Three pages per shard; a..f land in one shard. After put a,b,c; read a; put d, all
  // evict b (LRU: a moved to the head; SIEVE: a's mark cleared; S3-FIFO: a, hit in the
  // small queue, moved to main). Then put e, f: LRU evicts c and a; SIEVE evicts c and
  // d (its hand has passed a), so a stays; S3-FIFO evicts c and d from the small queue
  // (a third of the pages, over its tenth), so a stays in main. Looking is touching, so
  // the first check is made on a run that stops after d.
  for (Policy policy : kPolicies) {
    for (bool stop_after_d : {true, false}) {
      INFO("policy " << blaze::cache::PolicyName(policy) << " stop after d " << stop_after_d);
      PageCache cache(kShards * 3 * BlockBytes(512), policy);
      auto c = cache.Connect();
      const std::vector<uint32_t> s = SameShard(cache, *c, 1, 6);
      const uint32_t a = s[0], b = s[1], cc = s[2], d = s[3], e = s[4], f = s[5];
      Bytes buf;
      for (uint32_t p : {a, b, cc}) REQUIRE(c->Put(p, PageBytes(p, 512)));
      REQUIRE(ReadOrPut(*c, a, 512, buf));
      REQUIRE(c->Put(d, PageBytes(d, 512)));
      if (stop_after_d) {
        CHECK_FALSE(Cached(*c, b));
        CHECK(Cached(*c, a));
        CHECK(Cached(*c, cc));
        CHECK(Cached(*c, d));
        continue;
      }
      for (uint32_t p : {e, f}) REQUIRE(c->Put(p, PageBytes(p, 512)));
      CHECK_FALSE(Cached(*c, b));
      CHECK_FALSE(Cached(*c, cc));
      CHECK(Cached(*c, e));
      CHECK(Cached(*c, f));
      if (policy != Policy::kLru) {
        CHECK(Cached(*c, a));
        CHECK_FALSE(Cached(*c, d));
      } else {
        CHECK_FALSE(Cached(*c, a));
        CHECK(Cached(*c, d));
      }
    }
  }
}

// SIEVE: a keep page survives one pass of the hand. S3-FIFO: it goes to main, and the
// pages put after it leave from the small queue.
TEST_CASE("page cache: a page put with keep outlives pages put after it without",
          "[cache]") {
  for (Policy policy : {Policy::kSieve, Policy::kS3Fifo}) {
    for (bool keep : {true, false}) {
      INFO("policy " << blaze::cache::PolicyName(policy) << " keep " << keep);
      PageCache cache(kShards * 3 * BlockBytes(512), policy);
      auto c = cache.Connect();
      const std::vector<uint32_t> s = SameShard(cache, *c, 1, 6);
      REQUIRE(c->Put(s[0], PageBytes(s[0], 512), keep));
      for (size_t i = 1; i < 6; ++i) REQUIRE(c->Put(s[i], PageBytes(s[i], 512)));
      CHECK(Cached(*c, s[0]) == keep);
    }
  }
}

// S3-FIFO in one shard of ten 512-byte pages: the small queue's tenth is one page, so
// while it holds any page the next victim comes from it. Reads are the store's (Read,
// Put on a miss); Cached (which touches) is only called at the end.
TEST_CASE("page cache: S3-FIFO evicts one-hit wonders from the small queue before a page "
          "read twice", "[cache]") {
  for (bool read_twice : {true, false}) {
    INFO("first page read twice " << read_twice);
    PageCache cache(kShards * 10 * BlockBytes(512), Policy::kS3Fifo);
    auto c = cache.Connect();
    const std::vector<uint32_t> s = SameShard(cache, *c, 1, 40);
    const uint64_t evicted = c->Figures().evictions;  // by SameShard
    Bytes buf;
    REQUIRE_FALSE(ReadOrPut(*c, s[0], 512, buf));
    if (read_twice) REQUIRE(ReadOrPut(*c, s[0], 512, buf));
    for (size_t i = 1; i < 10; ++i) REQUIRE_FALSE(ReadOrPut(*c, s[i], 512, buf));
    REQUIRE(c->Figures().evictions == evicted);  // the shard is full
    // 30 pages read once each. The first eviction finds s[0] at the small queue's tail:
    // hit, it moves to main; else it goes. Every later one takes the oldest page of the
    // small queue.
    for (size_t i = 10; i < 40; ++i) REQUIRE_FALSE(ReadOrPut(*c, s[i], 512, buf));
    CHECK(c->Figures().evictions - evicted == 30);
    CHECK(Cached(*c, s[0]) == read_twice);
    const size_t first_left = read_twice ? 31 : 30;
    for (size_t i = 1; i < 40; ++i) {
      INFO("page " << i);
      CHECK(Cached(*c, s[i]) == (i >= first_left));
    }
  }
}

TEST_CASE("page cache: S3-FIFO puts a page the ghost remembers straight into main, for "
          "about as many evictions as main holds pages", "[cache]") {
  // Also in a cache made with another policy and switched to S3-FIFO.
  const Policy made_with = GENERATE(Policy::kS3Fifo, Policy::kSieve);
  INFO("made with " << blaze::cache::PolicyName(made_with));
  PageCache cache(kShards * 10 * BlockBytes(512), made_with);
  cache.SetPolicy(Policy::kS3Fifo);
  auto c = cache.Connect();
  const std::vector<uint32_t> s = SameShard(cache, *c, 1, 60);
  Bytes buf;
  for (size_t i = 0; i <= 10; ++i) REQUIRE_FALSE(ReadOrPut(*c, s[i], 512, buf));
  // s[10] evicted s[0] from the small queue into the ghost. Read again at once, s[0]
  // enters main (evicting s[1]): the 30 one-hit pages after it pass it by.
  REQUIRE_FALSE(ReadOrPut(*c, s[0], 512, buf));
  for (size_t i = 11; i <= 40; ++i) REQUIRE_FALSE(ReadOrPut(*c, s[i], 512, buf));
  // They evicted s[2]..s[31], in that order. s[31], the latest, is in the ghost; s[5]
  // left it after 9 more (the ghost holds nine tenths of the shard's ten pages).
  REQUIRE_FALSE(ReadOrPut(*c, s[31], 512, buf));  // to main
  REQUIRE_FALSE(ReadOrPut(*c, s[5], 512, buf));   // to the small queue
  for (size_t i = 41; i <= 50; ++i) REQUIRE_FALSE(ReadOrPut(*c, s[i], 512, buf));
  CHECK(Cached(*c, s[0]));
  CHECK(Cached(*c, s[31]));
  CHECK_FALSE(Cached(*c, s[5]));
  for (size_t i = 32; i <= 40; ++i) CHECK_FALSE(Cached(*c, s[i]));
  for (size_t i = 43; i <= 50; ++i) CHECK(Cached(*c, s[i]));
}

TEST_CASE("page cache: S3-FIFO's ghost sends a page to main once per eviction from the "
          "small queue", "[cache]") {
  PageCache cache(kShards * 10 * BlockBytes(512), Policy::kS3Fifo);
  auto c = cache.Connect();
  const std::vector<uint32_t> s = SameShard(cache, *c, 1, 21);
  const uint64_t evicted = c->Figures().evictions;  // by SameShard
  Bytes buf;
  for (size_t i = 0; i <= 10; ++i) REQUIRE_FALSE(ReadOrPut(*c, s[i], 512, buf));
  REQUIRE_FALSE(ReadOrPut(*c, s[0], 512, buf));  // evicted by s[10]: to main, from the ghost
  // Erased (not evicted, so not remembered) and read again: the small queue, which the
  // ten pages read after it take it from.
  c->Erase(s[0]);
  REQUIRE_FALSE(ReadOrPut(*c, s[0], 512, buf));
  for (size_t i = 11; i <= 20; ++i) REQUIRE_FALSE(ReadOrPut(*c, s[i], 512, buf));
  CHECK(c->Figures().evictions - evicted == 12);
  CHECK_FALSE(Cached(*c, s[0]));
  for (size_t i = 12; i <= 20; ++i) CHECK(Cached(*c, s[i]));
}

TEST_CASE("page cache: S3-FIFO's main queue gives a page hit since its last pass one more "
          "pass", "[cache]") {
  // keep puts go straight to main, each counted as one hit. k[3] is hit once more.
  PageCache cache(kShards * 10 * BlockBytes(512), Policy::kS3Fifo);
  auto c = cache.Connect();
  const std::vector<uint32_t> k = SameShard(cache, *c, 1, 16);
  const uint64_t evicted = c->Figures().evictions;  // by SameShard
  for (size_t i = 0; i < 10; ++i) REQUIRE(c->Put(k[i], PageBytes(k[i], 512), /*keep=*/true));
  Bytes buf;
  REQUIRE(ReadOrPut(*c, k[3], 512, buf));
  // k[10]'s put passes every page once, taking one hit off each, and evicts k[0], the
  // oldest; k[11], k[12] evict k[1], k[2]; k[13] passes k[3] (its last hit) and evicts
  // k[4]; k[14] evicts k[5].
  for (size_t i = 10; i < 15; ++i) REQUIRE(c->Put(k[i], PageBytes(k[i], 512), /*keep=*/true));
  // A page evicted from main is no ghost: k[0], read again, evicts k[6] and enters the
  // small queue, which k[15] then takes it from.
  REQUIRE_FALSE(ReadOrPut(*c, k[0], 512, buf));
  REQUIRE_FALSE(ReadOrPut(*c, k[15], 512, buf));
  CHECK(c->Figures().evictions - evicted == 7);
  for (size_t i = 0; i < 16; ++i) {
    INFO("page " << i);
    CHECK(Cached(*c, k[i]) == (i == 3 || i >= 7));
  }
}

TEST_CASE("page cache: a policy switch keeps every page and hands them to the new "
          "policy's order", "[cache]") {
  PageCache cache(kShards * 10 * BlockBytes(512), Policy::kS3Fifo);
  auto c = cache.Connect();
  const std::vector<uint32_t> s = SameShard(cache, *c, 1, 26);
  const std::vector<uint32_t> u(s.begin() + 16, s.begin() + 21);  // five more
  const std::vector<uint32_t> v(s.begin() + 21, s.end());         // and five more
  const uint64_t evicted = c->Figures().evictions;          // by SameShard
  Bytes buf;
  // S3-FIFO: s[0] read twice, s[1]..s[10] once: s[0] moves to main, s[1] goes.
  REQUIRE_FALSE(ReadOrPut(*c, s[0], 512, buf));
  REQUIRE(ReadOrPut(*c, s[0], 512, buf));
  for (size_t i = 1; i <= 10; ++i) REQUIRE_FALSE(ReadOrPut(*c, s[i], 512, buf));
  // LRU: one list, the small queue (newer) before main. s[5] is read again; the next
  // five evict, least recently used first, s[0], s[2], s[3], s[4], s[6].
  cache.SetPolicy(Policy::kLru);
  CHECK(c->Figures().pages == 10);
  REQUIRE(ReadOrPut(*c, s[5], 512, buf));
  for (size_t i = 11; i <= 15; ++i) REQUIRE_FALSE(ReadOrPut(*c, s[i], 512, buf));
  // S3-FIFO again: the pages cached so far are all main. The first new page evicts
  // main's oldest, s[7]; the next four evict each other from the small queue, into the
  // ghost. u[0], read again, comes back to main (evicting u[4]); of the five pages read
  // once after it, the first evicts main's oldest, s[8], the others each other.
  cache.SetPolicy(Policy::kS3Fifo);
  for (uint32_t p : u) REQUIRE_FALSE(ReadOrPut(*c, p, 512, buf));
  REQUIRE_FALSE(ReadOrPut(*c, u[0], 512, buf));
  for (uint32_t p : v) REQUIRE_FALSE(ReadOrPut(*c, p, 512, buf));
  CHECK(c->Figures().evictions - evicted == 17);
  CHECK(c->Figures().pages == 10);
  for (size_t i = 0; i <= 15; ++i) {
    INFO("page s" << i);
    CHECK(Cached(*c, s[i]) == (i == 5 || i >= 9));
  }
  for (size_t i = 0; i < 5; ++i) {
    INFO("page u" << i << ", v" << i);
    CHECK(Cached(*c, u[i]) == (i == 0));
    CHECK(Cached(*c, v[i]) == (i == 4));
  }
}

TEST_CASE("page cache: a pinned page is passed over as a victim in its shard", "[cache]") {
  for (Policy policy : kPolicies) {
    INFO("policy " << blaze::cache::PolicyName(policy));
    PageCache cache(kShards * 2 * BlockBytes(512), policy);
    auto c = cache.Connect();
    const std::vector<uint32_t> s = SameShard(cache, *c, 1, 8);
    REQUIRE(c->Put(s[0], PageBytes(s[0], 512)));
    const std::byte* pin = c->Pin(s[0]);
    REQUIRE(pin != nullptr);
    for (size_t i = 1; i < s.size(); ++i) {
      REQUIRE(c->Put(s[i], PageBytes(s[i], 512)));  // one slot is left for the rest
      CHECK(Cached(*c, s[i]));
      if (i > 1) CHECK_FALSE(Cached(*c, s[i - 1]));
    }
    CHECK(Cached(*c, s[0]));
    PageCache::Unpin(pin);
  }
}

TEST_CASE("page cache: a scan leaves SIEVE's and S3-FIFO's hot set in place and flushes "
          "LRU's", "[cache]") {
  // 1,024 pages fit; a hot set of 300 is read four times, then 10,000 new pages are read
  // once each (a table scan), then the hot set again. Read, and Put on a miss.
  constexpr uint32_t kHot = 300, kScan = 10000;
  uint32_t hot_hits[3] = {0, 0, 0};
  for (Policy policy : kPolicies) {
    PageCache cache(kShards * 64 * BlockBytes(1024), policy);
    auto c = cache.Connect();
    Bytes buf;
    for (int round = 0; round < 4; ++round) {
      for (uint32_t p = 1; p <= kHot; ++p) ReadOrPut(*c, p, 1024, buf);
    }
    REQUIRE(c->Figures().hits == 3 * kHot);
    for (uint32_t p = 100000; p < 100000 + kScan; ++p) ReadOrPut(*c, p, 1024, buf);
    uint32_t hits = 0;
    for (uint32_t p = 1; p <= kHot; ++p) hits += ReadOrPut(*c, p, 1024, buf) ? 1 : 0;
    hot_hits[static_cast<size_t>(policy)] = hits;
  }
  INFO("hot-set hits after the scan: sieve " << hot_hits[0] << ", lru " << hot_hits[1]
                                             << ", s3fifo " << hot_hits[2]);
  static_assert(static_cast<int>(Policy::kSieve) == 0 && static_cast<int>(Policy::kLru) == 1 &&
                static_cast<int>(Policy::kS3Fifo) == 2);
  CHECK(hot_hits[0] >= kHot * 9 / 10);
  CHECK(hot_hits[1] == 0);
  CHECK(hot_hits[2] >= kHot * 9 / 10);
}

// ---- threads ----

TEST_CASE("page cache: threads reading, putting, pinning and erasing see whole pages",
          "[cache][threads]") {
  constexpr uint32_t kSize = 1024, kPages = 600;
  constexpr int kThreads = 4;
  const uint64_t budget = kShards * 16 * BlockBytes(kSize);  // 256 of 1,200 pages
  const Policy policy = GENERATE(Policy::kSieve, Policy::kLru, Policy::kS3Fifo);
  INFO("policy " << blaze::cache::PolicyName(policy));
  PageCache cache(budget, policy);
  std::unique_ptr<Client> clients[2] = {cache.Connect(), cache.Connect()};
  std::atomic<uint32_t> next_version{1};
  std::atomic<uint64_t> bad_reads{0}, bad_pins{0}, over_budget{0}, reads{0}, hits{0},
      pins_taken{0};
  const auto stop_at = std::chrono::steady_clock::now() + std::chrono::seconds(1);

  auto worker = [&](int seed) {
    std::mt19937 rng(static_cast<unsigned>(seed));
    Bytes buf(kSize);
    struct Held {
      const std::byte* p;
      uint32_t page;
      Bytes copy;
    };
    std::vector<Held> held;
    for (uint64_t n = 0;; ++n) {
      if (n % 256 == 0) {
        if (std::chrono::steady_clock::now() >= stop_at) break;
        if (cache.Figures().bytes > budget) over_budget.fetch_add(1);
      }
      const int which = static_cast<int>(rng() % 2);
      Client& c = *clients[which];
      const uint32_t page = 1 + rng() % kPages;
      const uint32_t op = rng() % 100;
      if (op < 45) {
        reads.fetch_add(1, std::memory_order_relaxed);
        // Whole or in part; either way every word read must be of this page.
        const size_t in_page = (rng() % 2) ? 0 : 8 * (rng() % (kSize / 8));
        const size_t n_bytes = in_page == 0 ? kSize : 8 * (1 + rng() % ((kSize - in_page) / 8));
        std::span<std::byte> dst(buf.data(), n_bytes);
        if (c.Read(page, in_page, dst)) {
          hits.fetch_add(1, std::memory_order_relaxed);
          if (!HoldsPage(buf.data(), n_bytes, page)) bad_reads.fetch_add(1);
        } else {
          (void)c.Put(page, PageBytes(page, kSize, next_version.fetch_add(1)));
        }
      } else if (op < 65) {
        (void)c.Put(page, PageBytes(page, kSize, next_version.fetch_add(1)));
      } else if (op < 78) {
        if (held.size() < 4) {
          if (const std::byte* p = c.Pin(page); p != nullptr) {
            pins_taken.fetch_add(1, std::memory_order_relaxed);
            if (!HoldsPage(p, kSize, page)) bad_pins.fetch_add(1);
            held.push_back({p, page, Bytes(p, p + kSize)});
          }
        }
      } else if (op < 92) {
        if (!held.empty()) {
          const size_t i = rng() % held.size();
          if (!Same(held[i].p, held[i].copy)) bad_pins.fetch_add(1);
          PageCache::Unpin(held[i].p);
          held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
        }
      } else if (op < 99) {
        c.Erase(page);
      } else {
        c.EraseAbove(kPages - rng() % 50);
      }
    }
    for (const Held& h : held) {
      if (!Same(h.p, h.copy)) bad_pins.fetch_add(1);
      PageCache::Unpin(h.p);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, 100 + t);
  for (auto& t : threads) t.join();

  INFO("reads " << reads << " hits " << hits << " pins " << pins_taken);
  CHECK(bad_reads == 0);
  CHECK(bad_pins == 0);
  CHECK(over_budget == 0);
  CHECK(hits > 0);
  CHECK(pins_taken > 0);
  const CacheFigures f = cache.Figures();
  CHECK(f.bytes <= budget);
  CHECK(f.pinned == 0);
  CHECK(clients[0]->Figures().pinned == 0);
  CHECK(clients[1]->Figures().pinned == 0);
  CHECK(clients[0]->Figures().bytes + clients[1]->Figures().bytes + f.free_blocks *
            BlockBytes(kSize) == f.bytes);
  CHECK(f.pages == clients[0]->Figures().pages + clients[1]->Figures().pages);
}

TEST_CASE("page cache: a scan's pages cycle through a tenth of an S3-FIFO cache with room "
          "to spare; other policies and other puts fill it", "[cache]") {
  constexpr uint32_t kPages = 2000;
  const uint64_t budget = 4 * kPages * BlockBytes(4096);  // room for every page 4 times
  for (const Policy policy : kPolicies) {
    for (const bool scan : {true, false}) {
      INFO("policy " << blaze::cache::PolicyName(policy) << ", scan " << scan);
      PageCache cache(budget, policy);
      auto c = cache.Connect();
      // Pages 1..100 read twice first: hit in the small queue, they must survive the scan.
      std::array<std::byte, 8> probe{};
      for (uint32_t p = 1; p <= 100; ++p) {
        REQUIRE(c->Put(p, PageBytes(p, 4096), false, scan));
        REQUIRE(c->Read(p, 0, probe));
      }
      for (uint32_t p = 101; p <= kPages; ++p) {
        REQUIRE(c->Put(p, PageBytes(p, 4096), false, scan));
      }
      const uint64_t held = c->Figures().bytes;
      if (scan && policy == Policy::kS3Fifo) {
        // Each shard's small queue stays within a tenth of the shard's budget; the pages
        // hit moved to main and are all still there.
        CHECK(held <= budget / 10 + 100 * BlockBytes(4096) + kShards * BlockBytes(4096));
        CHECK(c->Figures().evictions > kPages / 2);
        CHECK(cache.Figures().free_blocks == 0);  // evicted blocks were reused, not kept
      } else {
        CHECK(held == uint64_t{kPages} * BlockBytes(4096));
        CHECK(c->Figures().evictions == 0);
      }
      for (uint32_t p = 1; p <= 100; ++p) CHECK(Cached(*c, p));
      // Whatever is cached reads back right.
      Bytes buf(4096);
      for (uint32_t p = 1; p <= kPages; ++p) {
        if (c->Read(p, 0, buf, false)) REQUIRE(Same(buf.data(), PageBytes(p, 4096)));
      }
    }
  }
}

TEST_CASE("page cache: one client's scan does not evict another client's pages while the "
          "cache has room", "[cache]") {
  const uint64_t budget = 4 * 5000 * BlockBytes(4096);
  PageCache cache(budget, Policy::kS3Fifo);
  auto b = cache.Connect();
  auto a = cache.Connect();
  for (uint32_t p = 1; p <= 3000; ++p) REQUIRE(b->Put(p, PageBytes(p, 4096)));
  for (uint32_t p = 1; p <= 5000; ++p) (void)a->Put(p, PageBytes(p, 4096), false, true);
  CHECK(b->Figures().pages == 3000);
  CHECK(b->Figures().evictions == 0);
  // (b's pages, never hit, sit at the small queue's tail: a's scan looks past a few of
  // them for its own, finds none, and takes new memory; MakeRoomInSmall's comment.)
  // A client whose share is smaller than a block caches nothing and evicts nothing.
  auto z = cache.Connect(1024);
  for (uint32_t p = 1; p <= 2000; ++p) CHECK_FALSE(z->Put(p, PageBytes(p, 4096), false, true));
  CHECK(b->Figures().pages == 3000);
}
