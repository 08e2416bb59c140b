// tests/unit/compress_test.cc: unit tests of compress/codec.h: round trips, specs, hostile input.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "compress/codec.h"
#include "tests/support/sample_pages.h"

namespace {

using blaze::Code;
using blaze::compress::CodecFromName;
using blaze::compress::CodecId;
using blaze::compress::CodecName;
using blaze::compress::CodecSpec;
using blaze::compress::DecodePage;
using blaze::compress::DefaultLevel;
using blaze::compress::EncodePage;
using blaze::compress::Dictionary;
using blaze::compress::IsKnownCodec;
using blaze::compress::UsesDictionary;
using blaze::compress::MaxEncodedSize;
using blaze::compress::ValidateSpec;
using blaze::test::Bytes;
using blaze::test::RandomPage;
using blaze::test::TextPage;
using blaze::test::ZeroPage;

constexpr size_t kPageSizes[] = {512, 1024, 4096, 65536};


// Encodes `page` with `spec`, REQUIREs success, and returns the stored codec and bytes.
struct Stored {
  CodecId codec;
  Bytes bytes;  // exactly the encoded size, so ASan sees any read past the end
};
Stored Encode(CodecSpec spec, const Bytes& page) {
  Bytes dst(MaxEncodedSize(page.size()));
  auto r = EncodePage(spec, page, dst);
  INFO(r.status().message());
  REQUIRE(r.ok());
  REQUIRE(r.value().size <= page.size());
  dst.resize(r.value().size);
  return Stored{r.value().codec, dst};
}

// A destination page with guard bytes either side: decoding must never touch them.
class GuardedPage {
 public:
  explicit GuardedPage(size_t size) : buf_(size + 2 * kGuard, kCanary), size_(size) {}
  std::span<std::byte> span() { return {buf_.data() + kGuard, size_}; }
  bool GuardsIntact() const {
    return std::all_of(buf_.begin(), buf_.begin() + kGuard, IsCanary) &&
           std::all_of(buf_.end() - kGuard, buf_.end(), IsCanary);
  }

 private:
  static constexpr size_t kGuard = 64;
  static constexpr std::byte kCanary{0xA5};
  static bool IsCanary(std::byte b) { return b == kCanary; }
  Bytes buf_;
  size_t size_;
};

// Decodes hostile input `src` with `codec` into a guarded page of `page_size` and checks
// the contract: Ok or kCorrupt, never anything else, never a write outside dst.
// Returns true when it was reported corrupt.
bool DecodeHostile(CodecId codec, const Bytes& src, size_t page_size) {
  GuardedPage dst(page_size);
  blaze::Status s = DecodePage(codec, src, dst.span());
  INFO(s.message());
  CHECK((s.ok() || s.code() == Code::kCorrupt));
  if (!s.ok()) CHECK_FALSE(s.message().empty());
  CHECK(dst.GuardsIntact());
  return !s.ok();
}

const CodecSpec kRoundTripSpecs[] = {
    {CodecId::kNone, 0},    {CodecId::kLz4, 1},     {CodecId::kLz4, 8},
    {CodecId::kLz4, 65537}, {CodecId::kLz4hc, 1},   {CodecId::kLz4hc, 9},
    {CodecId::kLz4hc, 12},
};

}  // namespace

TEST_CASE("codec ids are the on-disk values", "[compress]") {
  CHECK(static_cast<int>(CodecId::kNone) == 0);
  CHECK(static_cast<int>(CodecId::kLz4) == 1);
  CHECK(static_cast<int>(CodecId::kLz4hc) == 2);
  CHECK(static_cast<int>(CodecId::kLz4Dict) == 3);
  CHECK(static_cast<int>(CodecId::kLz4hcDict) == 4);
  for (int raw = 0; raw < 256; ++raw) {
    INFO(raw);
    CHECK(IsKnownCodec(static_cast<uint8_t>(raw)) == (raw <= 4));
    CHECK(UsesDictionary(static_cast<CodecId>(raw)) == (raw == 3 || raw == 4));
  }
}

TEST_CASE("codec names", "[compress]") {
  for (CodecId id : {CodecId::kNone, CodecId::kLz4, CodecId::kLz4hc}) {
    auto back = CodecFromName(CodecName(id));
    REQUIRE(back.has_value());
    CHECK(*back == id);
  }
  CHECK(CodecName(CodecId::kNone) == "none");
  CHECK(CodecName(CodecId::kLz4) == "lz4");
  CHECK(CodecName(CodecId::kLz4hc) == "lz4hc");
  CHECK(CodecName(CodecId::kLz4Dict) == "lz4+dict");
  CHECK(CodecName(CodecId::kLz4hcDict) == "lz4hc+dict");
  // Chosen by having a dictionary, never by name.
  CHECK_FALSE(CodecFromName("lz4+dict").has_value());
  CHECK_FALSE(ValidateSpec({CodecId::kLz4Dict, 1}).ok());
  CHECK(CodecName(static_cast<CodecId>(7)) == "unknown");
  for (std::string_view bad : {"", "LZ4", "Lz4hc", "lz4 ", " lz4", "lz4h", "lz4hcc", "zstd",
                               "raw", "NONE", "0", "1"}) {
    INFO(std::string(bad));
    CHECK_FALSE(CodecFromName(bad).has_value());
  }
  CHECK_FALSE(CodecFromName(std::string_view("lz4\0", 4)).has_value());
}

TEST_CASE("ValidateSpec accepts the documented ranges", "[compress]") {
  for (int level : {1, 2, 100, 65536, 65537}) {
    INFO(level);
    CHECK(ValidateSpec({CodecId::kLz4, level}).ok());
  }
  for (int level = 1; level <= 12; ++level) {
    INFO(level);
    CHECK(ValidateSpec({CodecId::kLz4hc, level}).ok());
  }
  for (int level : {0, -5, 1 << 30}) CHECK(ValidateSpec({CodecId::kNone, level}).ok());
  for (CodecId id : {CodecId::kNone, CodecId::kLz4, CodecId::kLz4hc}) {
    CHECK(ValidateSpec({id, DefaultLevel(id)}).ok());
  }
  CHECK(DefaultLevel(CodecId::kLz4) == 1);
  CHECK(DefaultLevel(CodecId::kLz4hc) == 9);
}

TEST_CASE("ValidateSpec names the bad value and the range", "[compress]") {
  struct Bad {
    CodecSpec spec;
    std::string value, range;
  };
  const Bad bad[] = {
      {{CodecId::kLz4, 0}, "0", "1..65537"},
      {{CodecId::kLz4, -1}, "-1", "1..65537"},
      {{CodecId::kLz4, 65538}, "65538", "1..65537"},
      {{CodecId::kLz4hc, 0}, "0", "1..12"},
      {{CodecId::kLz4hc, 13}, "13", "1..12"},
      {{CodecId::kLz4hc, -2147483647 - 1}, "-2147483648", "1..12"},
      {{static_cast<CodecId>(3), 1}, "3", "2 (lz4hc)"},
      {{static_cast<CodecId>(255), 1}, "255", "2 (lz4hc)"},
  };
  for (const Bad& b : bad) {
    blaze::Status s = ValidateSpec(b.spec);
    INFO(s.message());
    CHECK(s.code() == Code::kInvalidArgument);
    CHECK(s.message().find(b.value) != std::string::npos);
    CHECK(s.message().find(b.range) != std::string::npos);
  }
  CHECK(ValidateSpec({CodecId::kLz4hc, 13}).message() == "lz4hc level 13 is out of range 1..12");
}

TEST_CASE("MaxEncodedSize bounds every encoding", "[compress]") {
  static_assert(MaxEncodedSize(4096) == 4096);  // usable at compile time
  for (size_t size : kPageSizes) CHECK(MaxEncodedSize(size) == size);
}

TEST_CASE("round trip: every codec, page size and content", "[compress]") {
  for (size_t size : kPageSizes) {
    for (const CodecSpec& spec : kRoundTripSpecs) {
      struct Content {
        const char* name;
        Bytes page;
      };
      const Content contents[] = {
          {"text", TextPage(size)}, {"random", RandomPage(size)}, {"zero", ZeroPage(size)}};
      for (const Content& c : contents) {
        INFO(c.name << " page of " << size << ", " << CodecName(spec.id) << " level "
                    << spec.level);
        Stored st = Encode(spec, c.page);
        const std::string name = c.name;
        if (spec.id == CodecId::kNone || name == "random") {
          // Raw fallback: stored verbatim and labelled as such.
          CHECK(st.codec == CodecId::kNone);
          CHECK(st.bytes == c.page);
        } else if (name == "zero") {
          CHECK(st.codec == spec.id);
          CHECK(st.bytes.size() <= 16 + size / 250);  // tiny: ~1 byte per 255 zeros
        } else if (spec.level == 1 || spec.id == CodecId::kLz4hc) {
          // Text compresses (lz4 at high accelerations may not, on small pages).
          CHECK(st.codec == spec.id);
          CHECK(st.bytes.size() < size * 3 / 4);
        }
        GuardedPage out(size);
        blaze::Status s = DecodePage(st.codec, st.bytes, out.span());
        INFO(s.message());
        REQUIRE(s.ok());
        CHECK(std::equal(c.page.begin(), c.page.end(), out.span().begin()));
        CHECK(out.GuardsIntact());
      }
    }
  }
}

TEST_CASE("round trip: every lz4hc level and a range of lz4 accelerations", "[compress]") {
  for (size_t size : {size_t{4096}, size_t{65536}}) {
    const Bytes page = TextPage(size, 7);
    size_t prev_level_9_plus = size;
    for (int level = 1; level <= 12; ++level) {
      INFO("lz4hc level " << level << ", page " << size);
      Stored st = Encode({CodecId::kLz4hc, level}, page);
      CHECK(st.codec == CodecId::kLz4hc);
      Bytes out(size);
      REQUIRE(DecodePage(st.codec, st.bytes, out).ok());
      CHECK(out == page);
      if (level >= 9) {  // the optimal parsers (10..12) do not lose to level 9
        CHECK(st.bytes.size() <= prev_level_9_plus);
        prev_level_9_plus = st.bytes.size();
      }
    }
    for (int accel : {1, 2, 3, 17, 1000, 65537}) {
      INFO("lz4 acceleration " << accel << ", page " << size);
      Stored st = Encode({CodecId::kLz4, accel}, page);
      Bytes out(size);
      REQUIRE(DecodePage(st.codec, st.bytes, out).ok());
      CHECK(out == page);
    }
  }
}

TEST_CASE("lz4 and lz4hc blocks decode under either id", "[compress]") {
  const Bytes page = TextPage(4096);
  Stored fast = Encode({CodecId::kLz4, 1}, page);
  Stored hc = Encode({CodecId::kLz4hc, 12}, page);
  Bytes out(4096);
  REQUIRE(DecodePage(CodecId::kLz4hc, fast.bytes, out).ok());
  CHECK(out == page);
  REQUIRE(DecodePage(CodecId::kLz4, hc.bytes, out).ok());
  CHECK(out == page);
}

TEST_CASE("EncodePage edge cases", "[compress]") {
  const Bytes page = TextPage(4096);
  SECTION("destination smaller than MaxEncodedSize") {
    Bytes dst(MaxEncodedSize(page.size()) - 1);
    auto r = EncodePage({CodecId::kLz4, 1}, page, dst);
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(r.status().message().find("4095") != std::string::npos);
  }
  SECTION("invalid spec") {
    Bytes dst(4096);
    auto r = EncodePage({CodecId::kLz4hc, 13}, page, dst);
    CHECK(r.status().code() == Code::kInvalidArgument);
    r = EncodePage({static_cast<CodecId>(9), 1}, page, dst);
    CHECK(r.status().code() == Code::kInvalidArgument);
  }
  SECTION("larger destination: only the reported bytes are the page") {
    Bytes dst(8192, std::byte{0x5A});
    auto r = EncodePage({CodecId::kLz4, 1}, page, dst);
    REQUIRE(r.ok());
    Bytes out(4096);
    REQUIRE(DecodePage(r.value().codec, std::span(dst).first(r.value().size), out).ok());
    CHECK(out == page);
  }
  SECTION("empty and one-byte pages are stored raw") {
    for (CodecId id : {CodecId::kLz4, CodecId::kLz4hc}) {
      Bytes dst(1);
      auto r = EncodePage({id, DefaultLevel(id)}, std::span<const std::byte>(), dst);
      REQUIRE(r.ok());
      CHECK(r.value().codec == CodecId::kNone);
      CHECK(r.value().size == 0);
      const Bytes one{std::byte{42}};
      r = EncodePage({id, DefaultLevel(id)}, one, dst);
      REQUIRE(r.ok());
      CHECK(r.value().codec == CodecId::kNone);
      CHECK(r.value().size == 1);
      CHECK(dst[0] == std::byte{42});
    }
  }
  SECTION("a page that compresses by less than a byte is stored raw") {
    // Random bytes with a zero tail: lz4 saves a little on the tail, so somewhere as
    // the tail shrinks the saving crosses zero; every length must obey the rule.
    for (size_t tail = 0; tail <= 64; ++tail) {
      Bytes p = RandomPage(4096, 11);
      std::fill(p.end() - static_cast<std::ptrdiff_t>(tail), p.end(), std::byte{0});
      Stored st = Encode({CodecId::kLz4, 1}, p);
      INFO("tail " << tail << " stored " << st.bytes.size());
      if (st.codec == CodecId::kNone) {
        CHECK(st.bytes == p);
      } else {
        CHECK(st.bytes.size() < p.size());
      }
      Bytes out(4096);
      REQUIRE(DecodePage(st.codec, st.bytes, out).ok());
      CHECK(out == p);
    }
  }
}

TEST_CASE("DecodePage: truncated blocks", "[compress][corrupt]") {
  for (CodecSpec spec : {CodecSpec{CodecId::kLz4, 1}, CodecSpec{CodecId::kLz4hc, 12}}) {
    const Bytes page = TextPage(4096);
    Stored st = Encode(spec, page);
    REQUIRE(st.codec == spec.id);
    int corrupt = 0;
    for (size_t len = 0; len < st.bytes.size(); ++len) {
      INFO(CodecName(spec.id) << " truncated to " << len << " of " << st.bytes.size());
      Bytes cut(st.bytes.begin(), st.bytes.begin() + static_cast<std::ptrdiff_t>(len));
      corrupt += DecodeHostile(st.codec, cut, page.size());
    }
    // A proper prefix of a block never holds the whole page.
    CHECK(corrupt == static_cast<int>(st.bytes.size()));
  }
  // A raw page cut short (or padded) is a size mismatch.
  const Bytes page = RandomPage(4096);
  Bytes cut(page.begin(), page.end() - 1);
  Bytes out(4096);
  CHECK(DecodePage(CodecId::kNone, cut, out).code() == Code::kCorrupt);
  Bytes longer = page;
  longer.push_back(std::byte{0});
  CHECK(DecodePage(CodecId::kNone, longer, out).code() == Code::kCorrupt);
}

TEST_CASE("DecodePage: every single-bit flip of a 4 KiB page", "[compress][corrupt]") {
  for (CodecSpec spec : {CodecSpec{CodecId::kLz4, 1}, CodecSpec{CodecId::kLz4hc, 9}}) {
    const Bytes page = TextPage(4096, 3);
    Stored st = Encode(spec, page);
    REQUIRE(st.codec == spec.id);
    int corrupt = 0, flips = 0;
    for (size_t i = 0; i < st.bytes.size(); ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        INFO(CodecName(spec.id) << " byte " << i << " bit " << bit);
        Bytes bad = st.bytes;
        bad[i] ^= static_cast<std::byte>(1u << bit);
        corrupt += DecodeHostile(st.codec, bad, page.size());
        ++flips;
      }
    }
    // Flips in literals decode to a wrong page of the right size (the checksum's job);
    // flips in tokens, lengths and offsets must mostly be caught here.
    INFO(corrupt << " of " << flips << " flips reported corrupt");
    CHECK(corrupt > 0);
    CHECK(corrupt < flips);
  }
}

TEST_CASE("DecodePage: random garbage", "[compress][corrupt]") {
  std::mt19937 rng(99);
  int corrupt = 0;
  constexpr int kRounds = 20000;
  for (int round = 0; round < kRounds; ++round) {
    const size_t len = rng() % 5000;
    Bytes junk(len);
    for (auto& b : junk) b = static_cast<std::byte>(rng());
    // Small pages too, so that short garbage blocks sometimes fill the page exactly.
    const size_t page_size = (round % 2) ? 4096 : 1 + rng() % 64;
    INFO("round " << round << ", " << len << " bytes into " << page_size);
    corrupt += DecodeHostile(round % 3 ? CodecId::kLz4 : CodecId::kLz4hc, junk, page_size);
  }
  CHECK(corrupt > kRounds * 9 / 10);
}

TEST_CASE("DecodePage: wrong expected size", "[compress][corrupt]") {
  for (size_t size : kPageSizes) {
    const Bytes page = TextPage(size);
    Stored st = Encode({CodecId::kLz4, 1}, page);
    REQUIRE(st.codec == CodecId::kLz4);
    for (size_t wrong : {size_t{1}, size / 2, size - 1, size + 1, 2 * size}) {
      INFO("page " << size << " decoded as " << wrong);
      GuardedPage dst(wrong);
      blaze::Status s = DecodePage(st.codec, st.bytes, dst.span());
      CHECK(s.code() == Code::kCorrupt);
      CHECK(dst.GuardsIntact());
    }
    GuardedPage empty(0);
    CHECK(DecodePage(st.codec, st.bytes, empty.span()).code() == Code::kCorrupt);
    CHECK(empty.GuardsIntact());
  }
  // The message says what was expected.
  const Bytes page = TextPage(4096);
  Stored st = Encode({CodecId::kLz4, 1}, page);
  Bytes big(8192);
  blaze::Status s = DecodePage(st.codec, st.bytes, big);
  CHECK(s.message().find("4096") != std::string::npos);
  CHECK(s.message().find("8192") != std::string::npos);
}

TEST_CASE("DecodePage: unknown codec ids and empty input", "[compress][corrupt]") {
  const Bytes page = TextPage(4096);
  Stored st = Encode({CodecId::kLz4, 1}, page);
  for (int raw = 5; raw < 256; ++raw) {
    GuardedPage dst(4096);
    blaze::Status s = DecodePage(static_cast<CodecId>(raw), st.bytes, dst.span());
    INFO(s.message());
    CHECK(s.code() == Code::kCorrupt);
    CHECK(s.message().find(std::to_string(raw)) != std::string::npos);
    CHECK(dst.GuardsIntact());
  }
  for (CodecId id : {CodecId::kLz4, CodecId::kLz4hc}) {
    Bytes out(4096);
    CHECK(DecodePage(id, std::span<const std::byte>(), out).code() == Code::kCorrupt);
  }
  // An empty raw page is a valid empty page; nothing else decodes to zero bytes, not
  // even the one-byte block that is lz4's encoding of nothing.
  CHECK(DecodePage(CodecId::kNone, std::span<const std::byte>(), std::span<std::byte>()).ok());
  const Bytes lz4_empty{std::byte{0}};
  GuardedPage empty(0);
  CHECK(DecodePage(CodecId::kLz4, lz4_empty, empty.span()).code() == Code::kCorrupt);
  CHECK(empty.GuardsIntact());
}

TEST_CASE("EncodePage from several threads at once", "[compress][threads]") {
  constexpr int kThreads = 4;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &failures] {
      Bytes dst(4096), out(4096);
      for (int i = 0; i < 200; ++i) {
        const Bytes page = TextPage(4096, static_cast<uint32_t>(t * 1000 + i));
        const CodecSpec spec = i % 2 ? CodecSpec{CodecId::kLz4hc, 4 + i % 9}
                                     : CodecSpec{CodecId::kLz4, 1 + i % 5};
        auto r = EncodePage(spec, page, dst);
        if (!r.ok() || r.value().codec != spec.id ||
            !DecodePage(r.value().codec, std::span(dst).first(r.value().size), out).ok() ||
            out != page) {
          ++failures[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) CHECK(failures[static_cast<size_t>(t)] == 0);
}

// ---- dictionaries ----

namespace {

// A dictionary made the way the store makes one: the second halves of some pages.
std::shared_ptr<const Dictionary> SampleDictionary(size_t page_size, size_t bytes) {
  Bytes d;
  for (uint32_t seed = 100; d.size() < bytes; ++seed) {
    const Bytes p = TextPage(page_size, seed);
    d.insert(d.end(), p.begin() + static_cast<ptrdiff_t>(page_size / 2), p.end());
  }
  d.resize(bytes);
  auto made = Dictionary::Make(d);
  REQUIRE(made.ok());
  return made.value();
}

}  // namespace

TEST_CASE("dictionary: sizes outside 64..65536 are refused", "[compress][dict]") {
  for (size_t n : {size_t{0}, size_t{63}, size_t{65537}}) {
    Bytes d(n, std::byte{'a'});
    auto made = Dictionary::Make(d);
    CHECK(made.status().code() == Code::kInvalidArgument);
  }
  for (size_t n : {size_t{64}, size_t{65536}}) CHECK(Dictionary::Make(Bytes(n, std::byte{'a'})).ok());
}

TEST_CASE("dictionary: round trip for lz4 and lz4hc, every page size", "[compress][dict]") {
  for (size_t dict_bytes : {size_t{64}, size_t{4096}, size_t{65536}}) {
    auto dict = SampleDictionary(4096, dict_bytes);
    for (size_t size : kPageSizes) {
      for (CodecSpec spec : {CodecSpec{CodecId::kLz4, 1}, CodecSpec{CodecId::kLz4, 8},
                             CodecSpec{CodecId::kLz4hc, 4}, CodecSpec{CodecId::kLz4hc, 9}}) {
        for (const Bytes& page : {TextPage(size, 7), RandomPage(size), ZeroPage(size)}) {
          INFO("dict " << dict_bytes << " page " << size << " codec " << CodecName(spec.id));
          Bytes dst(MaxEncodedSize(size));
          auto r = EncodePage(spec, page, dst, dict.get());
          REQUIRE(r.ok());
          REQUIRE(r.value().size <= size);
          dst.resize(r.value().size);
          if (r.value().codec != CodecId::kNone) {
            CHECK(r.value().codec ==
                  (spec.id == CodecId::kLz4hc ? CodecId::kLz4hcDict : CodecId::kLz4Dict));
          }
          GuardedPage out(size);
          REQUIRE(DecodePage(r.value().codec, dst, out.span(), dict.get()).ok());
          CHECK(std::equal(page.begin(), page.end(), out.span().begin()));
          CHECK(out.GuardsIntact());
        }
      }
    }
  }
}

TEST_CASE("dictionary: text pages like the dictionary's shrink further", "[compress][dict]") {
  auto dict = SampleDictionary(4096, 65536);
  for (CodecId id : {CodecId::kLz4, CodecId::kLz4hc}) {
    size_t plain = 0, with = 0;
    for (uint32_t seed = 1; seed <= 20; ++seed) {
      const Bytes page = TextPage(4096, seed);
      plain += Encode({id, DefaultLevel(id)}, page).bytes.size();
      Bytes dst(4096);
      auto r = EncodePage({id, DefaultLevel(id)}, page, dst, dict.get());
      REQUIRE(r.ok());
      with += r.value().size;
    }
    INFO(CodecName(id) << ": " << plain << " bytes alone, " << with << " with the dictionary");
    CHECK(with < plain);
  }
}

TEST_CASE("dictionary: a page that needs one decodes only with it", "[compress][dict][corrupt]") {
  auto dict = SampleDictionary(4096, 65536);
  auto other = SampleDictionary(1024, 65536);
  const Bytes page = TextPage(4096, 3);
  Bytes enc(4096);
  auto r = EncodePage({CodecId::kLz4, 1}, page, enc, dict.get());
  REQUIRE(r.ok());
  REQUIRE(r.value().codec == CodecId::kLz4Dict);
  enc.resize(r.value().size);
  GuardedPage out(4096);
  blaze::Status none = DecodePage(CodecId::kLz4Dict, enc, out.span(), nullptr);
  CHECK(none.code() == Code::kCorrupt);
  CHECK(none.message().find("dictionary") != std::string::npos);
  // Another dictionary: a malformed block or wrong bytes, never a crash or a write
  // outside the page (the caller's checksums and format pair a page with its dictionary).
  blaze::Status wrong = DecodePage(CodecId::kLz4Dict, enc, out.span(), other.get());
  CHECK((wrong.ok() || wrong.code() == Code::kCorrupt));
  if (wrong.ok()) CHECK_FALSE(std::equal(page.begin(), page.end(), out.span().begin()));
  CHECK(out.GuardsIntact());
  // Plain blocks decode the same with a dictionary at hand.
  Stored plain = Encode({CodecId::kLz4, 1}, page);
  GuardedPage out2(4096);
  REQUIRE(DecodePage(plain.codec, plain.bytes, out2.span(), dict.get()).ok());
  CHECK(std::equal(page.begin(), page.end(), out2.span().begin()));
}

TEST_CASE("dictionary: every single-bit flip of a dictionary page is contained",
          "[compress][dict][corrupt]") {
  auto dict = SampleDictionary(4096, 65536);
  const Bytes page = TextPage(4096, 9);
  for (CodecId id : {CodecId::kLz4, CodecId::kLz4hc}) {
    Bytes enc(4096);
    auto r = EncodePage({id, DefaultLevel(id)}, page, enc, dict.get());
    REQUIRE(r.ok());
    enc.resize(r.value().size);
    for (size_t bit = 0; bit < enc.size() * 8; ++bit) {
      Bytes bad = enc;
      bad[bit / 8] ^= std::byte{static_cast<unsigned char>(1u << (bit % 8))};
      GuardedPage out(4096);
      blaze::Status s = DecodePage(r.value().codec, bad, out.span(), dict.get());
      REQUIRE((s.ok() || s.code() == Code::kCorrupt));
      REQUIRE(out.GuardsIntact());
    }
  }
}

TEST_CASE("dictionary: shared by threads encoding at once", "[compress][dict][threads]") {
  auto dict = SampleDictionary(4096, 65536);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const CodecSpec spec = (i + t) % 2 ? CodecSpec{CodecId::kLz4hc, 4 + t} : CodecSpec{};
        const Bytes page = TextPage(4096, static_cast<uint32_t>(t * 1000 + i));
        Bytes enc(4096), out(4096);
        auto r = EncodePage(spec, page, enc, dict.get());
        if (!r.ok() || !DecodePage(r.value().codec, std::span(enc).first(r.value().size), out,
                                   dict.get()).ok() ||
            out != page) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures.load() == 0);
}

TEST_CASE("dictionary: one thread alternating between dictionaries decodes each page right",
          "[compress][dict]") {
  // DecodePage keeps the thread's last dictionary in a buffer: switching must recopy.
  auto first = SampleDictionary(4096, 65536);
  auto second = SampleDictionary(1024, 4096);  // another size too: the copy is right-aligned
  const Bytes a = TextPage(4096, 21), b = TextPage(4096, 22);
  Bytes ea(4096), eb(4096);
  auto ra = EncodePage({CodecId::kLz4, 1}, a, ea, first.get());
  auto rb = EncodePage({CodecId::kLz4hc, 9}, b, eb, second.get());
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  REQUIRE(ra.value().codec == CodecId::kLz4Dict);
  REQUIRE(rb.value().codec == CodecId::kLz4hcDict);
  ea.resize(ra.value().size);
  eb.resize(rb.value().size);
  for (int i = 0; i < 10; ++i) {
    Bytes out(4096);
    REQUIRE(DecodePage(ra.value().codec, ea, out, first.get()).ok());
    CHECK(out == a);
    REQUIRE(DecodePage(rb.value().codec, eb, out, second.get()).ok());
    CHECK(out == b);
  }
  // A dictionary freed and another made (perhaps at the same address) is not mistaken
  // for the one the buffer holds.
  const Bytes first_bytes(first->bytes().begin(), first->bytes().end());
  first.reset();
  auto again = Dictionary::Make(first_bytes);
  REQUIRE(again.ok());
  Bytes out(4096);
  REQUIRE(DecodePage(ra.value().codec, ea, out, again.value().get()).ok());
  CHECK(out == a);
  first = again.value();
  REQUIRE(DecodePage(rb.value().codec, eb, out, second.get()).ok());
  CHECK(out == b);
}
