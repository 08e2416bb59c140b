// tests/support/alloc_counter.h: counts calls to the global operator new, for tests that promise no allocation.
//
// alloc_counter.cc replaces every form of the global operator new and operator delete
// (plain, array, nothrow, aligned, sized), so a program that links it counts each
// allocation made through them by any code in the process; the malloc family is not
// counted. Link it into its own test program only (meson: cache_alloc_test): replacing
// operator new is a whole-program decision.
//
// Counting is off until StartCountingNews(). The counter is process-wide: nothing else
// may allocate on another thread while it counts.
#pragma once

#include <cstdint>

namespace blaze::test {

void StartCountingNews();     // resets the count to zero and counts from now on
uint64_t StopCountingNews();  // stops counting; returns the count
uint64_t NewCount();          // the count so far

}  // namespace blaze::test
