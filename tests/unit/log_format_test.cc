// tests/unit/log_format_test.cc: the store log's bytes: the layout pinned field by field,
// and the golden log tests/data/log-v1.bin (written by format version 1) that every later
// build must still recover; and the checksum (wal/checksum.h) every store format uses,
// against libxxhash itself.
#include <catch2/catch.hpp>
#include <xxhash.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "compress/codec.h"
#include "tests/support/mem_file.h"
#include "wal/checksum.h"
#include "wal/log_format.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

namespace {

using blaze::compress::CodecId;
using blaze::test::MemFile;
using namespace blaze::wal;  // NOLINT: the format's names, nothing else
using Bytes = std::vector<std::byte>;

constexpr uint64_t kGoldenSalt = 0x0123456789abcdef;
constexpr uint64_t kGoldenGeneration = 3;
constexpr uint32_t kGoldenPageSize = 512;

// Page `page_no` as version `version` wrote it: a line of text, then zeros (as SQLite
// pages with SECURE_DELETE look), so lz4 makes a small frame.
Bytes GoldenPage(uint32_t page_no, int version) {
  Bytes page(kGoldenPageSize);
  const std::string text =
      "Blaze golden page " + std::to_string(page_no) + " version " + std::to_string(version);
  for (size_t i = 0; i < text.size(); ++i) page[i] = static_cast<std::byte>(text[i]);
  return page;
}

void AppendEncoded(LogWriter& w, uint32_t page_no, int version) {
  const Bytes page = GoldenPage(page_no, version);
  Bytes encoded(blaze::compress::MaxEncodedSize(page.size()));
  auto e = blaze::compress::EncodePage({CodecId::kLz4, 1}, page, encoded);
  REQUIRE(e.ok());
  encoded.resize(e.value().size);
  REQUIRE(w.AppendPage(page_no, e.value().codec, encoded).ok());
}

// The golden log: txn 1 = page 1; txn 2 = page 2, page 1 again; then page 3 uncommitted.
Bytes WriteGoldenLog() {
  MemFile file;
  LogWriter w(file);
  REQUIRE(w.Reset(kGoldenSalt, kGoldenGeneration, kGoldenPageSize).ok());
  AppendEncoded(w, 1, 1);
  REQUIRE(w.AppendCommit(1, true).ok());
  REQUIRE(w.Sync().ok());
  AppendEncoded(w, 2, 1);
  AppendEncoded(w, 1, 2);
  REQUIRE(w.AppendCommit(2, true).ok());
  REQUIRE(w.Sync().ok());
  AppendEncoded(w, 3, 1);
  return file.contents();
}

std::string GoldenPath() { return std::string(BLAZE_TEST_DATA_DIR) + "/log-v1.bin"; }

}  // namespace

TEST_CASE("checksum: every implementation is libxxhash's XXH3-64", "[log][format][checksum]") {
  // Lengths around every size class of XXH3 (0, 1..3, 4..8, 9..16, 17..128, 129..240,
  // then stripes of 64 bytes and blocks of 1 KiB), at unaligned starts, with seed 0 (the
  // page file) and random seeds (log frames are seeded with the salt).
  Bytes data(70000);
  uint64_t x = 0x9e3779b97f4a7c15;
  for (std::byte& b : data) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    b = static_cast<std::byte>(x);
  }
  const Xxh3Fn avx2 = Xxh3Avx2();
  INFO("in use: " << Xxh3Implementation());
  CHECK((avx2 == nullptr) == (std::string(Xxh3Implementation()) == "baseline"));
  std::vector<size_t> lengths;
  for (size_t n = 0; n <= 1100; ++n) lengths.push_back(n);
  for (size_t n : {2047, 2048, 2049, 2700, 4095, 4096, 4097, 8192, 16384, 65536 + 24}) {
    lengths.push_back(n);
  }
  for (uint64_t seed : {uint64_t{0}, uint64_t{1}, uint64_t{0x0123456789abcdef}, ~uint64_t{0}}) {
    for (size_t n : lengths) {
      for (size_t start : {size_t{0}, size_t{3}}) {
        const std::span<const std::byte> in(data.data() + start, n);
        const uint64_t want = XXH3_64bits_withSeed(in.data(), in.size(), seed);
        INFO("length " << n << " start " << start << " seed " << seed);
        REQUIRE(Xxh3(in, seed) == want);
        REQUIRE(Xxh3Baseline(in, seed) == want);
        if (avx2 != nullptr) REQUIRE(avx2(in.data(), in.size(), seed) == want);
      }
    }
  }
}

TEST_CASE("log format: header bytes", "[log][format]") {
  LogHeader h;
  h.page_size = 4096;
  h.salt = 0x1122334455667788;
  h.generation = 0x0102;
  h.base_sequence = 7;
  std::array<std::byte, kHeaderSize> b{};
  EncodeHeader(h, b);
  const std::string magic(reinterpret_cast<const char*>(b.data()), 12);
  CHECK(magic == std::string("Blaze log\0\0\0", 12));
  CHECK(LoadU32(&b[12]) == 1);
  CHECK(LoadU32(&b[16]) == 4096);
  CHECK(b[16] == std::byte{0x00});
  CHECK(b[17] == std::byte{0x10});  // little-endian
  CHECK(LoadU32(&b[20]) == 0);
  CHECK(b[24] == std::byte{0x88});
  CHECK(LoadU64(&b[24]) == 0x1122334455667788);
  CHECK(LoadU64(&b[32]) == 0x0102);
  CHECK(LoadU64(&b[40]) == 7);
  CHECK(LoadU64(&b[48]) == 0);
  LogHeader out;
  REQUIRE(DecodeHeader(b, &out) == HeaderCheck::kValid);
  CHECK(out.salt == h.salt);
  CHECK(out.base_sequence == 7);
  b[40] ^= std::byte{1};
  CHECK(DecodeHeader(b, &out) == HeaderCheck::kInvalid);
}

TEST_CASE("log format: frame bytes", "[log][format]") {
  Bytes frame(FrameSize(5));
  REQUIRE(frame.size() == 48);
  for (int i = 0; i < 5; ++i) frame[kFrameHeaderSize + i] = static_cast<std::byte>('a' + i);
  FrameFields f;
  f.type = 1;
  f.codec = 1;
  f.page = 0x01020304;
  f.payload_size = 5;
  f.salt = 99;
  f.sequence = 12;
  CHECK(SealFrame(f, frame) == 48);
  CHECK(frame[8] == std::byte{1});
  CHECK(frame[9] == std::byte{1});
  CHECK(frame[10] == std::byte{0});
  CHECK(frame[12] == std::byte{0x04});
  CHECK(LoadU32(&frame[16]) == 5);
  CHECK(LoadU64(&frame[24]) == 99);
  CHECK(LoadU64(&frame[32]) == 12);
  CHECK(frame[45] == std::byte{0});  // padding
  FrameFields out;
  CHECK(CheckFrame(frame, 512, 99, &out) == FrameError::kNone);
  CHECK(out.page == 0x01020304);
  CHECK(CheckFrame(frame, 512, 98, &out) == FrameError::kSaltMismatch);
  CHECK(CheckFrame(frame, 4, 99, &out) == FrameError::kBadSize);
  CHECK(CheckFrame(std::span<const std::byte>(frame).first(47), 512, 99, &out) ==
        FrameError::kTruncated);
  frame[47] = std::byte{1};  // the padding is checksummed too
  CHECK(CheckFrame(frame, 512, 99, &out) == FrameError::kChecksum);
  frame[47] = std::byte{0};
  SealFrame(FrameFields{0x83, 0, 0, 0, 5, 99, 12}, frame);
  CHECK(CheckFrame(frame, 512, 99, &out) == FrameError::kNone);  // ignorable: valid
  SealFrame(FrameFields{0x03, 0, 0, 0, 5, 99, 12}, frame);  // unknown, not ignorable
  CHECK(CheckFrame(frame, 512, 99, &out) == FrameError::kBadHeader);
  Bytes zeros(64);
  CHECK(CheckFrame(zeros, 512, std::nullopt, &out) == FrameError::kBadHeader);
}

TEST_CASE("log format: an ignorable record of a later version is skipped", "[log][format]") {
  MemFile file;
  LogWriter w(file);
  REQUIRE(w.Reset(5, 1, 512).ok());
  Bytes page(512, std::byte{3});
  REQUIRE(w.AppendPage(1, CodecId::kNone, page).ok());
  // Splice in a type-0x85 record of the same transaction by hand, then commit.
  Bytes record(FrameSize(3));
  const uint64_t at = w.end();
  SealFrame(FrameFields{0x85, 0, 0, 0, 3, 5, w.next_sequence()}, record);
  REQUIRE(file.Write(at, record).ok());
  Bytes commit(FrameSize(kCommitPayloadSize));
  SealFrame(FrameFields{2, 0, 0, 1, kCommitPayloadSize, 5, w.next_sequence()}, commit);
  REQUIRE(file.Write(at + record.size(), commit).ok());
  auto r = RecoverLog(file);
  REQUIRE(r.ok());
  CHECK(r.value().commits == 1);
  CHECK(r.value().frames == 3);
  CHECK(r.value().index.size() == 1);
  CHECK(r.value().end == file.contents().size());
}

// Rewrites tests/data/log-v1.bin and prints its hex dump. Run by hand only:
//   BLAZE_GOLDEN_OUT=tests/data/log-v1.bin b/tests/unit_test '[.golden-write]'
TEST_CASE("log format: write the golden log", "[.golden-write]") {
  const char* out = std::getenv("BLAZE_GOLDEN_OUT");
  REQUIRE(out != nullptr);
  const Bytes log = WriteGoldenLog();
  std::ofstream f(out, std::ios::binary);
  f.write(reinterpret_cast<const char*>(log.data()), static_cast<std::streamsize>(log.size()));
  REQUIRE(f.good());
}

TEST_CASE("log format: the golden version-1 log still recovers", "[log][format][golden]") {
  std::ifstream in(GoldenPath(), std::ios::binary);
  REQUIRE(in.good());
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes bytes(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) bytes[i] = static_cast<std::byte>(raw[i]);
  MemFile file(bytes);

  auto r = RecoverLog(file);
  INFO(r.status().message());
  REQUIRE(r.ok());
  const LogState& s = r.value();
  CHECK(s.has_header);
  CHECK(s.header.version == 1);
  CHECK(s.header.page_size == kGoldenPageSize);
  CHECK(s.header.salt == kGoldenSalt);
  CHECK(s.header.generation == kGoldenGeneration);
  CHECK(s.header.base_sequence == 0);
  CHECK(s.commits == 2);
  CHECK(s.last_sequence == 2);
  CHECK(s.next_sequence == 4);  // the uncommitted page 3 frame took sequence 3
  CHECK(s.db_pages == 2u);
  CHECK(s.discarded_frames == 1);
  CHECK(s.frames == 5);
  CHECK(s.last_commit_sync_follows);
  REQUIRE(s.index.size() == 2);
  // Offsets as docs/format.md's worked example shows them.
  CHECK(s.index.at(2) == 0xc8);
  CHECK(s.index.at(1) == 0x120);
  CHECK(s.end == 0x1a8);
  CHECK(s.durable_end == 0xc8);  // the sync after the first commit
  CHECK(s.scan_end == 0x200);

  Bytes buffer(MaxFrameSize(kGoldenPageSize));
  Bytes page(kGoldenPageSize);
  for (auto [page_no, version] : {std::pair<uint32_t, int>{1, 2}, {2, 1}}) {
    auto frame = ReadFrame(file, s.index.at(page_no), kGoldenSalt, page_no, buffer);
    INFO("page " << page_no << ": " << frame.status().message());
    REQUIRE(frame.ok());
    REQUIRE_FALSE(frame.value().stale);
    CHECK(frame.value().codec == CodecId::kLz4);
    REQUIRE(blaze::compress::DecodePage(frame.value().codec, frame.value().payload, page).ok());
    CHECK(page == GoldenPage(page_no, version));
  }
}
