// bench/codec_bench.cc: time EncodePage/DecodePage per page and report the ratio.
// Built by meson (bench/codec_bench). Two modes:
//   codec_bench [rounds]
//       a markdown table over synthetic 4 KiB pages, every codec (docs/compress.md);
//   codec_bench --db FILE [--codec lz4|lz4hc|none] [--level N] [--page-size N] [--dict]
//       every page of FILE (a plain SQLite database: its page size is read from its
//       header; any other file is cut into --page-size pieces, default 4096), encoded
//       once and decoded in file order until at least 200,000 pages were decoded; prints
//       one JSON line: pages, page_size, codec, level, dict_bytes, raw_bytes,
//       encoded_bytes, ratio (encoded/raw), raw_pages (kept raw: not compressible),
//       encode_us and decode_us per page. With --dict, against a dictionary sampled from
//       FILE the way a store samples its own (compress::SampleDictionary). bench/run
//       uses it for the per-page decode cost of the tables it reads.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <string_view>
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

// --db mode: see the top of the file.
int DbMode(int argc, char** argv) {
  std::string path;
  CodecSpec spec{CodecId::kLz4, 1};
  bool level_given = false;
  size_t page_size = 4096;
  bool with_dict = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--dict") {
      with_dict = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "codec_bench: %s needs a value\n", argv[i]);
      return 2;
    }
    const char* v = argv[++i];
    if (a == "--db") {
      path = v;
    } else if (a == "--codec") {
      auto id = blaze::compress::CodecFromName(v);
      if (!id) {
        std::fprintf(stderr, "codec_bench: unknown codec %s\n", v);
        return 2;
      }
      spec.id = *id;
    } else if (a == "--level") {
      spec.level = std::atoi(v);
      level_given = true;
    } else if (a == "--page-size") {
      page_size = static_cast<size_t>(std::atol(v));
    } else {
      std::fprintf(stderr, "codec_bench: unknown argument %s\n", argv[i - 1]);
      return 2;
    }
  }
  if (!level_given) spec.level = blaze::compress::DefaultLevel(spec.id);
  std::ifstream in(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in && !in.eof()) {
    std::fprintf(stderr, "codec_bench: cannot read %s\n", path.c_str());
    return 1;
  }
  if (data.size() >= 100 && std::memcmp(data.data(), "SQLite format 3", 16) == 0) {
    const size_t ps =
        (static_cast<size_t>(static_cast<unsigned char>(data[16])) << 8) |
        static_cast<unsigned char>(data[17]);
    page_size = ps == 1 ? 65536 : ps;
  }
  if (page_size < 512 || page_size > 65536) {
    std::fprintf(stderr, "codec_bench: bad page size %zu\n", page_size);
    return 2;
  }
  const size_t pages = data.size() / page_size;
  if (pages == 0) {
    std::fprintf(stderr, "codec_bench: %s holds no whole page\n", path.c_str());
    return 1;
  }
  std::shared_ptr<const blaze::compress::Dictionary> dict;
  if (with_dict) {
    const auto bytes = blaze::compress::SampleDictionary(
        static_cast<uint32_t>(pages), page_size, [&](uint32_t p, std::span<std::byte> dst) {
          std::memcpy(dst.data(), data.data() + (p - 1) * page_size, page_size);
          return true;
        });
    auto made = blaze::compress::Dictionary::Make(bytes);
    if (!made.ok()) {
      std::fprintf(stderr, "codec_bench: no dictionary: %s\n", made.status().message().c_str());
      return 1;
    }
    dict = made.value();
  }
  std::vector<Bytes> enc(pages);
  std::vector<CodecId> ids(pages);
  size_t encoded = 0, raw_pages = 0;
  Bytes out(page_size);
  for (size_t i = 0; i < pages; ++i) {
    const auto* src = reinterpret_cast<const std::byte*>(data.data() + i * page_size);
    auto r = blaze::compress::EncodePage(spec, {src, page_size}, out, dict.get());
    if (!r.ok()) {
      std::fprintf(stderr, "codec_bench: %s\n", r.status().message().c_str());
      return 1;
    }
    enc[i].assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(r.value().size));
    ids[i] = r.value().codec;
    encoded += r.value().size;
    raw_pages += r.value().codec == CodecId::kNone;
  }
  // Timed apart from the first pass, which also allocated the stored copies.
  const auto t0 = Clock::now();
  for (size_t i = 0; i < pages; ++i) {
    const auto* src = reinterpret_cast<const std::byte*>(data.data() + i * page_size);
    if (!blaze::compress::EncodePage(spec, {src, page_size}, out, dict.get()).ok()) return 1;
  }
  const auto t1 = Clock::now();
  const size_t rounds = std::max<size_t>(1, (200'000 + pages - 1) / pages);
  for (size_t r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < pages; ++i) {
      if (!blaze::compress::DecodePage(ids[i], enc[i], out, dict.get()).ok()) {
        std::fprintf(stderr, "codec_bench: page %zu does not decode\n", i + 1);
        return 1;
      }
    }
  }
  const auto t2 = Clock::now();
  const double raw = static_cast<double>(pages * page_size);
  std::printf(
      "{\"pages\":%zu,\"page_size\":%zu,\"codec\":\"%s\",\"level\":%d,\"dict_bytes\":%zu,"
      "\"raw_bytes\":%.0f,\"encoded_bytes\":%zu,\"ratio\":%.4f,\"raw_pages\":%zu,"
      "\"encode_us\":%.3f,\"decode_us\":%.3f}\n",
      pages, page_size, std::string(CodecName(spec.id)).c_str(), spec.level,
      dict ? dict->bytes().size() : size_t{0}, raw, encoded,
      static_cast<double>(encoded) / raw, raw_pages, Micros(t1 - t0, static_cast<long>(pages)),
      Micros(t2 - t1, static_cast<long>(rounds * pages)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]).starts_with("--")) return DbMode(argc, argv);
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
