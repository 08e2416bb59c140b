// bench/first_touch.cc: what this machine charges for the first write to fresh memory (a page fault per 4 KiB page), the cost a growing page cache pays per page it caches.
//
// Usage: first_touch [MiB] (default 64). Maps MiB of anonymous memory, writes one byte
// per 4 KiB page, unmaps, four times over, and prints microseconds per page each time;
// then the same with the range already touched (the steady state of a warm cache).
#include <sys/mman.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr size_t kPage = 4096;

double MicrosPerPage(char* p, size_t bytes) {
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t at = 0; at < bytes; at += kPage) p[at] = static_cast<char>(at);
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::micro>(t1 - t0).count() / static_cast<double>(bytes / kPage);
}

}  // namespace

int main(int argc, char** argv) {
  const size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
  const size_t bytes = mib << 20;
  for (int rep = 1; rep <= 4; ++rep) {
    void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 1;
    const double first = MicrosPerPage(static_cast<char*>(m), bytes);
    const double again = MicrosPerPage(static_cast<char*>(m), bytes);
    std::printf("rep %d: first touch %.2f us per 4 KiB page, touched again %.3f us\n", rep, first,
                again);
    munmap(m, bytes);
  }
  return 0;
}
