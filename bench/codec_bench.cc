// bench/codec_bench.cc: time EncodePage/DecodePage per 4 KiB page and report the ratio.
// Built by meson (bench/codec_bench); run: build-bench/bench/codec_bench [rounds]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "compress/codec.h"
#include "tests/support/sample_pages.h"

namespace {

using blaze::compress::CodecId;
using blaze::compress::CodecName;
using blaze::compress::CodecSpec;
using blaze::test::Bytes;
using Clock = std::chrono::steady_clock;

constexpr size_t kPageSize = 4096;
constexpr int kPages = 64;  // distinct pages, cycled, so the branch predictor learns no one page

Bytes TextPage(uint32_t seed) { return blaze::test::TextPage(kPageSize, seed); }
Bytes RandomPage(uint32_t seed) { return blaze::test::RandomPage(kPageSize, seed); }

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
