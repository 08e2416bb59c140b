// wal/checksum.h: XXH3-64, the checksum of every stored byte (store log header and
// frames, page-file headers and blocks), at the speed the CPU allows.
//
// What it does: computes exactly XXH3_64bits_withSeed of libxxhash, so the formats do not
// depend on which implementation ran. Every page a read serves is checked by it (a 4 KiB
// page stored in about 2.7 KiB of lz4), which put it on the miss path of every read:
// libxxhash's exported function runs its SSE2 code behind a call into the shared library
// (about 0.3 µs for 2.7 KiB on the bench machine). Here the library's header is compiled
// into Blaze (XXH_INLINE_ALL): once for the build's baseline (SSE2 on x86-64) and, on
// x86-64, once more with AVX2 (checksum_avx2.cc), chosen at the first call when the CPU
// and the OS support it (about 0.07 µs for the same bytes).
//
// What it does not do: stream. Each call hashes one contiguous range.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace blaze::wal {

// XXH3-64 of `bytes` with `seed`, by the fastest implementation this CPU runs.
uint64_t Xxh3(std::span<const std::byte> bytes, uint64_t seed = 0);

// For tests: the implementation Xxh3 uses ("avx2" or "baseline"), and each one directly.
const char* Xxh3Implementation();
uint64_t Xxh3Baseline(std::span<const std::byte> bytes, uint64_t seed);
// Null when this build has no AVX2 implementation or the CPU cannot run it.
using Xxh3Fn = uint64_t (*)(const void* data, size_t size, uint64_t seed);
Xxh3Fn Xxh3Avx2();

}  // namespace blaze::wal
