// wal/checksum.cc: XXH3-64 for the store formats, baseline or AVX2 (see checksum.h).
#include "wal/checksum.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace blaze::wal {

#if defined(BLAZE_XXH3_AVX2)
uint64_t Xxh3Avx2Impl(const void* data, size_t size, uint64_t seed);  // checksum_avx2.cc
#endif

namespace {

uint64_t BaselineImpl(const void* data, size_t size, uint64_t seed) {
  return XXH3_64bits_withSeed(data, size, seed);
}

Xxh3Fn Avx2Usable() {
#if defined(BLAZE_XXH3_AVX2)
  // libgcc's check covers the OS too: AVX2 counts only when the OS saves the YMM state.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return &Xxh3Avx2Impl;
#endif
  return nullptr;
}

// Chosen once; a function-local static, so a checksum computed during another static
// initializer still finds it set.
Xxh3Fn Chosen() {
  static const Xxh3Fn fn = [] {
    const Xxh3Fn avx2 = Avx2Usable();
    return avx2 != nullptr ? avx2 : &BaselineImpl;
  }();
  return fn;
}

}  // namespace

uint64_t Xxh3(std::span<const std::byte> bytes, uint64_t seed) {
  return Chosen()(bytes.data(), bytes.size(), seed);
}

const char* Xxh3Implementation() { return Chosen() == &BaselineImpl ? "baseline" : "avx2"; }

uint64_t Xxh3Baseline(std::span<const std::byte> bytes, uint64_t seed) {
  return BaselineImpl(bytes.data(), bytes.size(), seed);
}

Xxh3Fn Xxh3Avx2() { return Avx2Usable(); }

}  // namespace blaze::wal
