// bench/alloc_count.h: counts heap allocations of the whole bench process.
//
// alloc_count.cc defines malloc, calloc, realloc, posix_memalign, aligned_alloc and
// memalign in the executable, so they interpose on every caller in the process:
// libsqlite3, blaze.so (operator new ends in malloc), libstdc++ and the bench itself.
// Each forwards to glibc's __libc_* entry point and, while counting is on, adds one
// to the count (realloc counts as one allocation). free is not wrapped.
//
// Counting is off until StartCountingAllocs(); the bench turns it on only around the
// measured phase of a workload.
#pragma once

#include <cstdint>

namespace blaze::bench {

void StartCountingAllocs();  // resets the count to zero
void StopCountingAllocs();
void ResumeCountingAllocs();  // after a Stop, keeps the count
uint64_t AllocCount();

}  // namespace blaze::bench
