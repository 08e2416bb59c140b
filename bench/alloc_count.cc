// bench/alloc_count.cc: the malloc family, interposed to count allocations (see
// alloc_count.h). Glibc only: it forwards to __libc_malloc and friends, which glibc
// exports for exactly this purpose.
#include "bench/alloc_count.h"

#include <atomic>
#include <cerrno>
#include <cstddef>

extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t n, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
}

namespace blaze::bench {
namespace {

std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_allocs{0};

inline void Count() {
  if (g_counting.load(std::memory_order_relaxed)) {
    g_allocs.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace

void StartCountingAllocs() {
  g_allocs.store(0, std::memory_order_relaxed);
  g_counting.store(true, std::memory_order_seq_cst);
}
void StopCountingAllocs() { g_counting.store(false, std::memory_order_seq_cst); }
void ResumeCountingAllocs() { g_counting.store(true, std::memory_order_seq_cst); }
uint64_t AllocCount() { return g_allocs.load(std::memory_order_relaxed); }

}  // namespace blaze::bench

using blaze::bench::Count;

extern "C" {

void* malloc(size_t size) noexcept {
  Count();
  return __libc_malloc(size);
}

void* calloc(size_t n, size_t size) noexcept {
  Count();
  return __libc_calloc(n, size);
}

void* realloc(void* p, size_t size) noexcept {
  Count();
  return __libc_realloc(p, size);
}

void* memalign(size_t alignment, size_t size) noexcept {
  Count();
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size) noexcept {
  Count();
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  Count();
  void* p = __libc_memalign(alignment, size);
  if (p == nullptr && size != 0) return ENOMEM;
  *out = p;
  return 0;
}

}  // extern "C"
