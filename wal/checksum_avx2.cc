// wal/checksum_avx2.cc: libxxhash's XXH3-64 compiled for AVX2 (wal/checksum.h chooses it
// at run time). Built alone with -mavx2 (wal/meson.build): it includes nothing but
// xxhash.h, whose functions are all static here (XXH_INLINE_ALL), so no function compiled
// with AVX2 can be shared with, or picked by the linker for, code that runs without it.
#define XXH_INLINE_ALL
#include <xxhash.h>

#if !defined(__AVX2__)
#error "wal/checksum_avx2.cc must be compiled with -mavx2"
#endif

namespace blaze::wal {

uint64_t Xxh3Avx2Impl(const void* data, size_t size, uint64_t seed) {
  return XXH3_64bits_withSeed(data, size, seed);
}

}  // namespace blaze::wal
