// bench/codec_bench.cc: time EncodePage/DecodePage per 4 KiB page and report the ratio.
// Build: g++ -std=c++20 -O2 -I. bench/codec_bench.cc compress/codec.cc -llz4 -o /tmp/codec_bench
// Run from the repository root: /tmp/codec_bench [rounds]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "compress/codec.h"

namespace {

using blaze::compress::CodecId;
using blaze::compress::CodecName;
using blaze::compress::CodecSpec;
using Bytes = std::vector<std::byte>;
using Clock = std::chrono::steady_clock;

constexpr size_t kPageSize = 4096;
constexpr int kPages = 64;  // distinct pages, cycled, so the branch predictor learns no one page

// The same generator as tests/compress_test.cc: words and numbers, like a table leaf page.
Bytes TextPage(uint32_t seed) {
  static const char* const kWords[] = {
      "alpha", "storage", "page",   "the",     "of",     "record", "blaze",  "index",
      "commit", "log",    "value",  "sqlite",  "cache",  "user",   "name",   "email",
      "street", "city",   "order",  "amount",  "status", "paid",   "open",   "closed",
      "2024-",  "-01-",   "@example.com", "and", "a",    "to",     "in",     "is"};
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < kPageSize) {
    const uint32_t r = rng();
    s += r % 7 == 0 ? std::to_string(rng() % 100000) : std::string(kWords[r % 32]);
    s += (r % 11 == 0) ? '\n' : ' ';
  }
  Bytes page(kPageSize);
  for (size_t i = 0; i < kPageSize; ++i) page[i] = static_cast<std::byte>(s[i]);
  return page;
}

// Incompressible: what the raw fallback costs.
Bytes RandomPage(uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes page(kPageSize);
  for (auto& b : page) b = static_cast<std::byte>(rng());
  return page;
}

double Micros(Clock::duration d, long n) {
  return std::chrono::duration<double, std::micro>(d).count() / static_cast<double>(n);
}

// Prints one table row for `spec` over `pages`.
bool Row(const char* content, const std::vector<Bytes>& pages, CodecSpec spec, int rounds) {
  const int n_pages = static_cast<int>(pages.size());
  std::vector<Bytes> enc(pages.size(), Bytes(kPageSize));
  std::vector<CodecId> ids(pages.size());
  size_t total = 0;
  for (int i = 0; i < n_pages; ++i) {  // warm-up; also allocates the thread's state
    auto r = blaze::compress::EncodePage(spec, pages[i], enc[i]);
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().message().c_str());
      return false;
    }
    enc[i].resize(r.value().size);
    ids[i] = r.value().codec;
    total += r.value().size;
  }
  Bytes scratch(kPageSize);
  const auto t0 = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < n_pages; ++i) {
      if (!blaze::compress::EncodePage(spec, pages[i], scratch).ok()) return false;
    }
  }
  const auto t1 = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < n_pages; ++i) {
      if (!blaze::compress::DecodePage(ids[i], enc[i], scratch).ok()) return false;
    }
  }
  const auto t2 = Clock::now();
  const long n = static_cast<long>(rounds) * n_pages;
  std::printf("| %s | %s | %d | %s | %.2f | %.2f | %.2f |\n", content,
              std::string(CodecName(spec.id)).c_str(), spec.level,
              std::string(CodecName(ids[0])).c_str(), Micros(t1 - t0, n), Micros(t2 - t1, n),
              static_cast<double>(kPageSize) * n_pages / static_cast<double>(total));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  std::vector<Bytes> text, random;
  for (int i = 0; i < kPages; ++i) {
    text.push_back(TextPage(static_cast<uint32_t>(i + 1)));
    random.push_back(RandomPage(static_cast<uint32_t>(i + 1)));
  }
  const CodecSpec specs[] = {
      {CodecId::kLz4, 1}, {CodecId::kLz4hc, 1}, {CodecId::kLz4hc, 9}, {CodecId::kLz4hc, 12}};
  std::printf("| page | codec | level | stored as | compress us | decompress us | ratio |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const CodecSpec& spec : specs) {
    if (!Row("text", text, spec, rounds)) return 1;
  }
  for (const CodecSpec& spec : {specs[0], specs[2]}) {
    if (!Row("random", random, spec, rounds)) return 1;
  }
  return 0;
}
