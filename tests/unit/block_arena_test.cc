// tests/unit/block_arena_test.cc: the page cache's block arena (cache/block_arena.h):
// alignment, chunks filled and given back, and a random run of allocations and frees
// checked against the bytes each block was filled with.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "cache/block_arena.h"

namespace {

using blaze::cache::BlockArena;

constexpr size_t kChunk = BlockArena::kChunkBytes;

size_t PerChunk(size_t block_bytes) { return (kChunk - BlockArena::kLineBytes) / block_bytes; }

}  // namespace

TEST_CASE("block arena: blocks are aligned, distinct and inside one chunk until it is full",
          "[cache][arena]") {
  BlockArena a;
  const size_t bytes = 64 + 4096;
  const size_t n = PerChunk(bytes);
  std::vector<std::byte*> blocks;
  for (size_t i = 0; i < n; ++i) {
    auto* b = static_cast<std::byte*>(a.Allocate(3, bytes));
    REQUIRE(b != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(b) % 64 == 0);
    std::memset(b, static_cast<int>(i & 0xff), bytes);  // the whole block is writable
    blocks.push_back(b);
  }
  CHECK(a.mapped_bytes() == kChunk);
  const auto chunk_of = [](std::byte* b) { return reinterpret_cast<uintptr_t>(b) & ~(kChunk - 1); };
  for (std::byte* b : blocks) CHECK(chunk_of(b) == chunk_of(blocks[0]));
  std::vector<std::byte*> sorted = blocks;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < sorted.size(); ++i) {
    CHECK(sorted[i] - sorted[i - 1] >= static_cast<ptrdiff_t>(bytes));
  }
  for (size_t i = 0; i < n; ++i) CHECK(blocks[i][bytes - 1] == static_cast<std::byte>(i & 0xff));

  std::byte* more = static_cast<std::byte*>(a.Allocate(3, bytes));  // the next chunk
  REQUIRE(more != nullptr);
  CHECK(chunk_of(more) != chunk_of(blocks[0]));
  CHECK(a.mapped_bytes() == 2 * kChunk);

  // A freed block is handed out again before anything new is carved.
  a.Free(3, blocks[7]);
  CHECK(a.Allocate(3, bytes) == blocks[7]);

  // Emptying both chunks keeps one of them mapped, for the next allocation.
  a.Free(3, more);
  for (std::byte* b : blocks) a.Free(3, b);
  CHECK(a.mapped_bytes() == kChunk);
  void* again = a.Allocate(3, bytes);
  CHECK(again != nullptr);
  CHECK(a.mapped_bytes() == kChunk);
  a.Free(3, again);
}

TEST_CASE("block arena: every page size's block, a chunk per size", "[cache][arena]") {
  BlockArena a;
  std::vector<std::pair<int, void*>> held;
  for (int size = 0; size < 8; ++size) {
    const size_t bytes = 64 + (size_t{512} << size);
    for (int i = 0; i < 3; ++i) {
      void* b = a.Allocate(size, bytes);
      REQUIRE(b != nullptr);
      std::memset(b, size, bytes);
      held.emplace_back(size, b);
    }
  }
  CHECK(a.mapped_bytes() == 8 * kChunk);
  CHECK(PerChunk(64 + 65536) == 31);
  for (auto [size, b] : held) {
    const size_t bytes = 64 + (size_t{512} << size);
    CHECK(static_cast<std::byte*>(b)[bytes - 1] == static_cast<std::byte>(size));
  }
  for (auto [size, b] : held) a.Free(size, b);
  CHECK(a.mapped_bytes() == 8 * kChunk);  // one empty chunk kept per size
}

TEST_CASE("block arena: a random run keeps every block's bytes and gives chunks back",
          "[cache][arena]") {
  BlockArena a;
  std::mt19937 rng(7);
  struct Held {
    int size;
    std::byte* p;
    uint8_t fill;
  };
  std::vector<Held> held;
  size_t peak = 0;
  for (int step = 0; step < 60000; ++step) {
    const bool grow = step < 30000 ? rng() % 3 != 0 : rng() % 3 == 0;
    if (grow || held.empty()) {
      const int size = static_cast<int>(rng() % 3);  // 512, 1024, 2048 pages
      const size_t bytes = 64 + (size_t{512} << size);
      auto* p = static_cast<std::byte*>(a.Allocate(size, bytes));
      REQUIRE(p != nullptr);
      const auto fill = static_cast<uint8_t>(rng());
      std::memset(p, fill, bytes);
      held.push_back({size, p, fill});
    } else {
      const size_t i = rng() % held.size();
      const Held h = held[i];
      const size_t bytes = 64 + (size_t{512} << h.size);
      REQUIRE(h.p[0] == static_cast<std::byte>(h.fill));
      REQUIRE(h.p[bytes - 1] == static_cast<std::byte>(h.fill));
      a.Free(h.size, h.p);
      held[i] = held.back();
      held.pop_back();
    }
    peak = std::max<size_t>(peak, a.mapped_bytes());
  }
  for (const Held& h : held) {
    const size_t bytes = 64 + (size_t{512} << h.size);
    REQUIRE(h.p[bytes / 2] == static_cast<std::byte>(h.fill));
    a.Free(h.size, h.p);
  }
  INFO("peak mapped " << peak);
  CHECK(peak > 3 * kChunk);
  CHECK(a.mapped_bytes() == 3 * kChunk);  // all given back but one chunk per size
}
