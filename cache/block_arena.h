// cache/block_arena.h: the memory the page cache's blocks come from: 2 MiB chunks, each
// asked to be backed by one huge page and carved into blocks of a single size.
//
// Why not operator new: a cache that is still growing touches fresh memory for every page
// it places, and the kernel faults it in 4 KiB at a time. On the virtual machines the
// benchmarks run on a fault costs about 11 µs, ten times the decode it follows, so a cold
// scan spent most of its time in faults (docs/design/cache.md, "Memory"). A chunk that is
// 2 MiB aligned and marked MADV_HUGEPAGE is faulted in once, as one huge page, where the
// kernel has transparent huge pages (its "madvise" or "always" setting); where it has not,
// the chunk behaves as ordinary memory and nothing is lost.
//
// Layout: a chunk starts with its header (one 64-byte line); blocks follow at 64-byte
// steps, all of one size, carved on first use (the untouched rest of a chunk costs no
// memory without huge pages). A freed block goes on its chunk's free list; a chunk whose
// every block is free is unmapped, except the last one of its size (so that a cache
// hovering at one block does not map and unmap a chunk per page).
//
// Thread safety: every member may be called from any thread; each size has its own
// mutex. The cache calls Allocate only when a shard has no free block of its own and
// Free only when it gives memory back, so these locks are off the steady-state path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>

namespace blaze::cache {

class BlockArena {
 public:
  static constexpr size_t kChunkBytes = size_t{2} << 20;
  static constexpr size_t kLineBytes = 64;
  // Sizes served: block sizes up to the largest that fits a chunk twice.
  static constexpr int kMaxSizes = 8;

  BlockArena() = default;
  ~BlockArena();  // unmaps every chunk; REQUIRES every block freed
  BlockArena(const BlockArena&) = delete;
  BlockArena& operator=(const BlockArena&) = delete;

  // A block of `block_bytes` (a multiple of 64, at most kChunkBytes / 2), 64-byte aligned,
  // for size index `size` (0..kMaxSizes-1; every call with one index passes the same
  // block_bytes). Null when the system has no memory left.
  void* Allocate(int size, size_t block_bytes);
  // Returns a block from Allocate(size, ...).
  void Free(int size, void* block);

  // Bytes mapped in chunks (what the arena holds from the system, used or not).
  uint64_t mapped_bytes() const;

 private:
  struct Chunk;
  struct Size {
    mutable std::mutex mu;
    Chunk* partial = nullptr;  // chunks with a free or uncarved block, most recent first
    Chunk* empty = nullptr;    // the one chunk kept with no block in use, if any
    uint64_t chunks = 0;
  };
  static Chunk* ChunkOf(void* block);
  static Chunk* MapChunk(uint32_t block_bytes);
  static void Unlink(Chunk*& list, Chunk* c);
  static void Push(Chunk*& list, Chunk* c);

  std::array<Size, kMaxSizes> sizes_;
};

}  // namespace blaze::cache
