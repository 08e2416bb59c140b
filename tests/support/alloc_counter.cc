// tests/support/alloc_counter.cc: the global operator new and delete, replaced to count allocations (see alloc_counter.h).
//
// Every operator new ends in malloc or posix_memalign and every operator delete in free,
// so the pairs match under AddressSanitizer too (it intercepts malloc and free).
#include "tests/support/alloc_counter.h"

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace blaze::test {
namespace {

std::atomic<bool> g_counting{false};
std::atomic<uint64_t> g_news{0};

void* Allocate(size_t size, size_t alignment) noexcept {
  if (g_counting.load(std::memory_order_relaxed)) g_news.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;  // every new returns a distinct pointer
  if (alignment <= alignof(std::max_align_t)) return std::malloc(size);
  void* p = nullptr;
  return posix_memalign(&p, alignment, size) == 0 ? p : nullptr;
}

void* AllocateOrThrow(size_t size, size_t alignment) {
  for (;;) {
    if (void* p = Allocate(size, alignment); p != nullptr) return p;
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

}  // namespace

void StartCountingNews() {
  g_news.store(0, std::memory_order_relaxed);
  g_counting.store(true, std::memory_order_seq_cst);
}

uint64_t StopCountingNews() {
  g_counting.store(false, std::memory_order_seq_cst);
  return g_news.load(std::memory_order_relaxed);
}

uint64_t NewCount() { return g_news.load(std::memory_order_relaxed); }

}  // namespace blaze::test

using blaze::test::Allocate;
using blaze::test::AllocateOrThrow;

namespace {
constexpr size_t kPlain = 0;
size_t Align(std::align_val_t a) { return static_cast<size_t>(a); }
}  // namespace

void* operator new(size_t size) { return AllocateOrThrow(size, kPlain); }
void* operator new[](size_t size) { return AllocateOrThrow(size, kPlain); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return Allocate(size, kPlain); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept {
  return Allocate(size, kPlain);
}
void* operator new(size_t size, std::align_val_t a) { return AllocateOrThrow(size, Align(a)); }
void* operator new[](size_t size, std::align_val_t a) { return AllocateOrThrow(size, Align(a)); }
void* operator new(size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return Allocate(size, Align(a));
}
void* operator new[](size_t size, std::align_val_t a, const std::nothrow_t&) noexcept {
  return Allocate(size, Align(a));
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  std::free(p);
}
