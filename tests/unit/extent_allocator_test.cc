// tests/unit/extent_allocator_test.cc: the page file's free-space allocator
// (vfs/extent_allocator.h): best fit, coalescing, the end of the file, Rebuild; and a
// random run checked against a byte map.
#include <catch2/catch.hpp>

#include <cstdint>
#include <iterator>
#include <map>
#include <random>
#include <vector>

#include "vfs/extent_allocator.h"
#include "vfs/page_format.h"

namespace {

using blaze::vfs::Extent;
using blaze::vfs::ExtentAllocator;
using blaze::vfs::kDataStart;

constexpr uint64_t S = kDataStart;

}  // namespace

TEST_CASE("extent allocator: an empty allocator hands out the end", "[extent]") {
  ExtentAllocator a;
  CHECK(a.end() == S);
  CHECK(a.Allocate(64) == S);
  CHECK(a.Allocate(32) == S + 64);
  CHECK(a.end() == S + 96);
  CHECK(a.hole_count() == 0);
  CHECK(a.free_bytes_below_end() == 0);
}

TEST_CASE("extent allocator: best fit, lowest offset among equals", "[extent]") {
  ExtentAllocator a;
  // Used: [S,S+16) [S+64,S+80) [S+112,S+128) [S+256,S+272) [S+304, S+320)
  // Holes: [S+16,+48) [S+80,+32) [S+128,+128) [S+272,+32)
  a.Rebuild({{S, 16}, {S + 64, 16}, {S + 112, 16}, {S + 256, 16}, {S + 304, 16}});
  CHECK(a.hole_count() == 4);
  CHECK(a.free_bytes_below_end() == 48 + 32 + 128 + 32);
  CHECK(a.end() == S + 320);
  CHECK(a.Allocate(32) == S + 80);    // exact fit, lower of the two 32-byte holes
  CHECK(a.Allocate(32) == S + 272);   // the other one
  CHECK(a.Allocate(48) == S + 16);    // exact fit beats the larger hole
  CHECK(a.Allocate(16) == S + 128);   // smallest hole that fits: the 128-byte one, split
  CHECK(a.hole_count() == 1);
  CHECK(a.free_bytes_below_end() == 112);
  CHECK(a.Allocate(112) == S + 144);
  CHECK(a.Allocate(16) == S + 320);   // no hole left: the end
  CHECK(a.end() == S + 336);
  CHECK(a.free_bytes_below_end() == 0);
}

TEST_CASE("extent allocator: freed extents coalesce with both neighbours", "[extent]") {
  ExtentAllocator a;
  std::vector<uint64_t> at;
  for (int i = 0; i < 6; ++i) at.push_back(a.Allocate(64));
  CHECK(a.end() == S + 6 * 64);
  a.Free(at[1], 64);
  a.Free(at[3], 64);
  CHECK(a.hole_count() == 2);
  a.Free(at[2], 64);  // joins [1] and [3]
  CHECK(a.hole_count() == 1);
  CHECK(a.free_bytes_below_end() == 3 * 64);
  CHECK(a.Allocate(3 * 64) == at[1]);  // the whole coalesced hole
  CHECK(a.hole_count() == 0);
  a.Free(at[1], 3 * 64);
  a.Free(at[0], 64);  // joins with the hole after it
  CHECK(a.hole_count() == 1);
  CHECK(a.Allocate(4 * 64) == S);
}

TEST_CASE("extent allocator: freeing the last extents shrinks the end", "[extent]") {
  ExtentAllocator a;
  const uint64_t x = a.Allocate(64);
  const uint64_t y = a.Allocate(64);
  const uint64_t z = a.Allocate(64);
  a.Free(y, 64);
  CHECK(a.end() == S + 192);
  a.Free(z, 64);  // z joins the hole of y, and both leave with the end
  CHECK(a.end() == S + 64);
  CHECK(a.hole_count() == 0);
  CHECK(a.free_bytes_below_end() == 0);
  a.Free(x, 64);
  CHECK(a.end() == S);
  CHECK(a.Allocate(16) == S);
  a.Free(S + 16, 0);  // length 0 is a no-op
  CHECK(a.hole_count() == 0);
  CHECK(a.end() == S + 16);
}

TEST_CASE("extent allocator: Rebuild from extents in any order", "[extent]") {
  ExtentAllocator a;
  a.Allocate(1 << 20);  // state Rebuild must forget
  a.Rebuild({{S + 1000 * 16, 32}, {S + 16, 16}, {S + 200 * 16, 64}});
  CHECK(a.end() == S + 1000 * 16 + 32);
  CHECK(a.hole_count() == 3);  // before S+16, between, between
  CHECK(a.free_bytes_below_end() == 16 + (200 * 16 - 32) + (1000 * 16 - 200 * 16 - 64));
  a.Rebuild({});
  CHECK(a.end() == S);
  CHECK(a.hole_count() == 0);
  a.Rebuild({{S, 16}, {S + 16, 16}});  // back to back: no hole
  CHECK(a.hole_count() == 0);
  CHECK(a.end() == S + 32);
}

TEST_CASE("extent allocator: random allocations never overlap and free space adds up",
          "[extent]") {
  std::mt19937_64 rng(42);
  ExtentAllocator a;
  std::map<uint64_t, uint64_t> used;  // offset -> length
  for (int step = 0; step < 20000; ++step) {
    if (used.empty() || rng() % 5 < 3) {
      const uint64_t length = 16 * (1 + rng() % 64);
      const uint64_t at = a.Allocate(length);
      REQUIRE(at >= S);
      REQUIRE(at % 16 == 0);
      auto next = used.lower_bound(at);
      if (next != used.end()) REQUIRE(at + length <= next->first);
      if (next != used.begin()) {
        auto prev = std::prev(next);
        REQUIRE(prev->first + prev->second <= at);
      }
      used[at] = length;
    } else {
      auto it = used.begin();
      std::advance(it, static_cast<long>(rng() % used.size()));
      a.Free(it->first, it->second);
      used.erase(it);
    }
    if (step % 500 == 0 || used.empty()) {
      const uint64_t end = used.empty() ? S : used.rbegin()->first + used.rbegin()->second;
      REQUIRE(a.end() == end);  // the end always shrinks to the last extent in use
      uint64_t in_use = 0;
      for (const auto& [o, l] : used) in_use += l;
      REQUIRE(a.free_bytes_below_end() == end - S - in_use);
      // Rebuild from the same extents gives the same free space.
      std::vector<Extent> extents;
      for (const auto& [o, l] : used) extents.push_back(Extent{o, static_cast<uint32_t>(l)});
      ExtentAllocator b;
      b.Rebuild(extents);
      REQUIRE(b.end() == a.end());
      REQUIRE(b.free_bytes_below_end() == a.free_bytes_below_end());
      REQUIRE(b.hole_count() == a.hole_count());  // holes coalesced the same way
    }
  }
}
