// cache/block_arena.cc: 2 MiB huge-page chunks carved into cache blocks (see block_arena.h).
#include "cache/block_arena.h"

#include <sys/mman.h>

#include <cassert>
#include <cstdint>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define BLAZE_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define BLAZE_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define BLAZE_POISON(p, n) ((void)(p), (void)(n))
#define BLAZE_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace blaze::cache {

// The first line of every chunk.
struct BlockArena::Chunk {
  Chunk* prev;         // in its size's partial list
  Chunk* next;
  void* free;          // freed blocks, linked through their first word
  uint32_t block_bytes;
  uint32_t capacity;   // blocks that fit after this header
  uint32_t carved;     // blocks handed out at least once (the next comes from here)
  uint32_t used;       // blocks handed out and not freed
  bool listed;         // in the partial list

  std::byte* base() { return reinterpret_cast<std::byte*>(this); }
};

BlockArena::Chunk* BlockArena::ChunkOf(void* block) {
  return reinterpret_cast<Chunk*>(reinterpret_cast<uintptr_t>(block) & ~(kChunkBytes - 1));
}

// Maps kChunkBytes aligned to kChunkBytes (maps twice that and trims both ends), and asks
// for a huge page. Null when mmap fails.
BlockArena::Chunk* BlockArena::MapChunk(uint32_t block_bytes) {
  static_assert(sizeof(Chunk) <= kLineBytes);
  const size_t span = 2 * kChunkBytes;
  void* m = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return nullptr;
  const auto at = reinterpret_cast<uintptr_t>(m);
  const uintptr_t start = (at + kChunkBytes - 1) & ~(kChunkBytes - 1);
  if (start > at) munmap(m, start - at);
  if (const uintptr_t end = start + kChunkBytes; end < at + span) {
    munmap(reinterpret_cast<void*>(end), at + span - end);
  }
  void* p = reinterpret_cast<void*>(start);
#ifdef MADV_HUGEPAGE
  madvise(p, kChunkBytes, MADV_HUGEPAGE);  // advice only: without THP it is ignored
#endif
  auto* c = static_cast<Chunk*>(p);
  c->prev = c->next = nullptr;
  c->free = nullptr;
  c->block_bytes = block_bytes;
  c->capacity = static_cast<uint32_t>((kChunkBytes - kLineBytes) / block_bytes);
  c->carved = 0;
  c->used = 0;
  c->listed = false;
  BLAZE_POISON(c->base() + kLineBytes, kChunkBytes - kLineBytes);
  return c;
}

void BlockArena::Push(Chunk*& list, Chunk* c) {
  c->prev = nullptr;
  c->next = list;
  if (list != nullptr) list->prev = c;
  list = c;
  c->listed = true;
}

void BlockArena::Unlink(Chunk*& list, Chunk* c) {
  (c->prev != nullptr ? c->prev->next : list) = c->next;
  if (c->next != nullptr) c->next->prev = c->prev;
  c->prev = c->next = nullptr;
  c->listed = false;
}

void* BlockArena::Allocate(int size, size_t block_bytes) {
  assert(size >= 0 && size < kMaxSizes);
  assert(block_bytes % kLineBytes == 0 && block_bytes <= kChunkBytes / 2);
  Size& s = sizes_[static_cast<size_t>(size)];
  std::lock_guard lock(s.mu);
  Chunk* c = s.partial;
  if (c == nullptr) {
    c = MapChunk(static_cast<uint32_t>(block_bytes));
    if (c == nullptr) return nullptr;
    s.chunks += 1;
    Push(s.partial, c);
  }
  assert(c->block_bytes == block_bytes);
  if (c == s.empty) s.empty = nullptr;
  void* b;
  if (c->free != nullptr) {
    b = c->free;
    BLAZE_UNPOISON(b, sizeof(void*));
    c->free = *static_cast<void**>(b);
  } else {
    b = c->base() + kLineBytes + size_t{c->carved} * c->block_bytes;
    c->carved += 1;
  }
  c->used += 1;
  if (c->free == nullptr && c->carved == c->capacity) Unlink(s.partial, c);
  BLAZE_UNPOISON(b, block_bytes);
  return b;
}

void BlockArena::Free(int size, void* block) {
  Size& s = sizes_[static_cast<size_t>(size)];
  Chunk* c = ChunkOf(block);
  std::lock_guard lock(s.mu);
  assert(c->used > 0);
  BLAZE_POISON(block, c->block_bytes);
  BLAZE_UNPOISON(block, sizeof(void*));
  *static_cast<void**>(block) = c->free;
  BLAZE_POISON(block, sizeof(void*));
  c->free = block;
  c->used -= 1;
  if (!c->listed) Push(s.partial, c);
  if (c->used > 0) return;
  if (s.empty == nullptr) {  // keep one empty chunk of each size
    s.empty = c;
    return;
  }
  Unlink(s.partial, c);
  s.chunks -= 1;
  BLAZE_UNPOISON(c->base(), kChunkBytes);
  munmap(c, kChunkBytes);
}

uint64_t BlockArena::mapped_bytes() const {
  uint64_t chunks = 0;
  for (const Size& s : sizes_) {
    std::lock_guard lock(s.mu);
    chunks += s.chunks;
  }
  return chunks * kChunkBytes;
}

BlockArena::~BlockArena() {
  for (Size& s : sizes_) {
    while (Chunk* c = s.partial) {
      assert(c->used == 0);
      Unlink(s.partial, c);
      BLAZE_UNPOISON(c->base(), kChunkBytes);
      munmap(c, kChunkBytes);
    }
  }
}

}  // namespace blaze::cache
