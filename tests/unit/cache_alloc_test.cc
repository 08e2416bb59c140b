// tests/unit/cache_alloc_test.cc: a warm page cache serves reads, puts, pins and erases without one heap allocation.
//
// Its own program (meson test cache-alloc): it links tests/support/alloc_counter.cc,
// which replaces the global operator new to count calls.
#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <random>
#include <vector>

#include "cache/page_cache.h"
#include "tests/support/alloc_counter.h"

namespace {

using blaze::cache::BlockBytes;
using blaze::cache::Client;
using blaze::cache::kShards;
using blaze::cache::PageCache;
using blaze::cache::Policy;
using blaze::test::StartCountingNews;
using blaze::test::StopCountingNews;

constexpr uint32_t kSize = 4096;

void Fill(std::array<std::byte, kSize>& b, uint32_t page, uint32_t version) {
  const uint64_t w = (uint64_t{version} << 32) | page;
  for (size_t at = 0; at < kSize; at += 8) std::memcpy(b.data() + at, &w, 8);
}

// The store's use of the cache, on two clients: Read and Put on a miss, rewrites, pins
// (some held across later puts of their page), unpins, erases. Allocates nothing itself:
// every buffer is on the stack.
class Workload {
 public:
  Workload(PageCache& cache, uint32_t pages, uint64_t seed)
      : a_(cache.Connect()), b_(cache.Connect()), pages_(pages), rng_(seed) {}

  void Fill() {
    for (uint32_t p = 1; p <= pages_; ++p) {
      ::Fill(page_, p, 0);
      (void)a_->Put(p, page_);
      (void)b_->Put(p, page_);
    }
  }

  void Run(int ops) {
    for (int i = 0; i < ops; ++i) Step();
  }

  void UnpinAll() {
    for (size_t i = 0; i < held_; ++i) blaze::cache::PageCache::Unpin(pins_[i]);
    held_ = 0;
  }

  uint64_t Evictions() const { return a_->Figures().evictions + b_->Figures().evictions; }

  uint64_t bad = 0;  // reads or pins that returned another page's bytes

 private:
  void Step() {
    Client& c = (rng_() & 1) != 0 ? *a_ : *b_;
    const auto page = static_cast<uint32_t>(1 + rng_() % pages_);
    const uint64_t op = rng_() % 100;
    if (op < 45) {
      if (c.Read(page, 0, page_)) {
        uint32_t got = 0;
        std::memcpy(&got, page_.data(), 4);
        if (got != page) ++bad;
      } else {
        Put(c, page);
      }
    } else if (op < 65) {
      Put(c, page);
    } else if (op < 80) {
      if (held_ < pins_.size()) {
        if (const std::byte* p = c.Pin(page); p != nullptr) {
          uint32_t got = 0;
          std::memcpy(&got, p, 4);
          if (got != page) ++bad;
          pins_[held_++] = p;
        } else {
          Put(c, page);
        }
      }
    } else if (op < 95) {
      if (held_ > 0) {
        const size_t i = rng_() % held_;
        blaze::cache::PageCache::Unpin(pins_[i]);
        pins_[i] = pins_[--held_];
      }
    } else {
      c.Erase(page);
    }
  }

  void Put(Client& c, uint32_t page) {
    ::Fill(page_, page, ++version_);
    (void)c.Put(page, page_, /*keep=*/(page % 16) == 0);
  }

  std::unique_ptr<Client> a_, b_;
  const uint32_t pages_;
  std::mt19937_64 rng_;
  std::array<std::byte, kSize> page_{};
  std::array<const std::byte*, 8> pins_{};
  size_t held_ = 0;
  uint32_t version_ = 0;
};

}  // namespace

TEST_CASE("alloc counter: sees operator new in all its forms", "[alloc]") {
  StartCountingNews();
  int* volatile one = new int(7);
  delete one;
  volatile size_t n = 100;
  std::vector<int> v(n);
  void* aligned = ::operator new(100, std::align_val_t{64}, std::nothrow);
  const uint64_t count = StopCountingNews();
  const bool is_aligned = reinterpret_cast<uintptr_t>(aligned) % 64 == 0;
  ::operator delete(aligned, std::align_val_t{64});
  CHECK(v.size() == 100);
  CHECK(is_aligned);
  CHECK(count == 3);
}

TEST_CASE("page cache: no allocation once warm", "[cache][alloc]") {
  for (Policy policy : {Policy::kSieve, Policy::kLru, Policy::kS3Fifo}) {
    INFO("policy " << blaze::cache::PolicyName(policy));
    // 252 pages a shard, 4,032 in all, for a working set of two clients x 3,000 pages:
    // most misses evict.
    const uint64_t budget = kShards * 252 * BlockBytes(kSize);
    PageCache cache(budget, policy);
    Workload w(cache, 3000, 42);
    w.Fill();  // every shard full: its hash table is as large as it will be
    w.Run(50000);
    REQUIRE(cache.Figures().bytes <= budget);
    const auto before = cache.Figures();
    const uint64_t evictions = w.Evictions();

    StartCountingNews();
    w.Run(100000);
    const uint64_t news = StopCountingNews();

    const auto after = cache.Figures();
    CHECK(w.Evictions() - evictions > 10000);  // misses took evicted pages' blocks
    w.UnpinAll();
    CHECK(w.bad == 0);
    CHECK(after.bytes <= budget);
    CHECK(after.bytes == before.bytes);  // no block allocated or freed
    CHECK(news == 0);
  }
}

// A switch of policy may allocate (S3-FIFO's ghost is sized then), but the steady state
// after it does not.
TEST_CASE("page cache: no allocation once warm after a switch of policy", "[cache][alloc]") {
  const uint64_t budget = kShards * 252 * BlockBytes(kSize);
  PageCache cache(budget, Policy::kSieve);
  Workload w(cache, 3000, 43);
  w.Fill();
  w.Run(20000);
  for (Policy policy : {Policy::kS3Fifo, Policy::kLru, Policy::kS3Fifo, Policy::kSieve}) {
    INFO("policy " << blaze::cache::PolicyName(policy));
    cache.SetPolicy(policy);
    w.Run(20000);
    const uint64_t evictions = w.Evictions();
    StartCountingNews();
    w.Run(50000);
    const uint64_t news = StopCountingNews();
    CHECK(w.Evictions() - evictions > 5000);
    CHECK(news == 0);
    CHECK(cache.Figures().bytes <= budget);
  }
  w.UnpinAll();
  CHECK(w.bad == 0);
}
