// compress/codec.h: the page codecs (none, lz4, lz4hc) and the codec id stored per page.
//
// What this layer does: compress one page into a caller's buffer, and decompress one
// stored page back into a caller's buffer of the exact page size, checking everything it
// can about the stored bytes. It knows nothing of SQLite.
//
// What it does not do: it handles single blocks only. It stores no header, no length,
// no checksum: the caller (the store format in vfs/) records the codec id and the encoded
// size next to each page and verifies the page checksum before calling DecodePage. A
// page is compressed on its own or against a Dictionary (bytes the caller keeps with the
// store), never against another page: any page decodes without reading another page.
//
// Thread safety: every function may be called concurrently from any number of threads.
// lz4 and lz4hc keep their compression state in thread-local memory (see EncodePage).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace blaze::compress {

// The codec that produced a stored page. The numeric values are written to disk with
// every page: NEVER renumber or reuse a value. A new codec takes a new number; an id
// this build does not know decodes as Code::kCorrupt.
enum class CodecId : uint8_t {
  kNone = 0,   // stored raw: encoded bytes == page bytes
  kLz4 = 1,    // one lz4 block (LZ4_compress_fast)
  kLz4hc = 2,  // one lz4 block made by the HC compressor; decoded exactly like kLz4
  kLz4Dict = 3,    // one lz4 block compressed against the store's dictionary
  kLz4hcDict = 4,  // the same, made by the HC compressor; decoded exactly like kLz4Dict
};

// Whether pages of this codec need the dictionary to decode.
constexpr bool UsesDictionary(CodecId id) {
  return id == CodecId::kLz4Dict || id == CodecId::kLz4hcDict;
}

// Level ranges. For lz4 the level is the acceleration (higher = faster, larger output);
// lz4 itself clamps values above 65537, we reject them instead. For lz4hc the level is
// the compression level, 1..12 as lz4hc.h documents (lz4hc.h's LZ4HC_CLEVEL_MIN is 3:
// levels 1 and 2 are valid but search less than 3). For none the level is ignored.
inline constexpr int kLz4LevelMin = 1;
inline constexpr int kLz4LevelMax = 65537;
inline constexpr int kLz4LevelDefault = 1;
inline constexpr int kLz4hcLevelMin = 1;
inline constexpr int kLz4hcLevelMax = 12;
inline constexpr int kLz4hcLevelDefault = 9;

// Largest page EncodePage accepts (lz4's LZ4_MAX_INPUT_SIZE; checked in codec.cc).
// SQLite pages are at most 65536 bytes, far below it.
inline constexpr size_t kMaxPageSize = 0x7E000000;

struct CodecSpec {
  CodecId id = CodecId::kLz4;
  int level = kLz4LevelDefault;
};

struct Encoded {
  CodecId codec;  // the codec actually used: store THIS id, not the requested one
  size_t size;    // bytes written at the start of dst
};

// Bytes that pages are compressed against: lz4 finds matches in them as if they came
// right before the page, so a small page compresses as if it had that much history.
// The caller stores the bytes once (the page file holds one per store) and must give
// the same bytes to DecodePage for every page encoded with them; the page checksum the
// caller keeps is over the encoded bytes, so the format must make the pairing certain.
// Immutable once made; prepares lz4's match tables once, so an encode copies them
// instead of hashing the dictionary again. Thread-safe.
class Dictionary {
 public:
  static constexpr size_t kMinSize = 64;
  static constexpr size_t kMaxSize = 65536;  // lz4 looks back at most 64 KiB

  // kInvalidArgument for a size outside kMinSize..kMaxSize; kNoMemory.
  static Result<std::shared_ptr<const Dictionary>> Make(std::span<const std::byte> bytes);
  ~Dictionary();
  Dictionary(const Dictionary&) = delete;
  Dictionary& operator=(const Dictionary&) = delete;

  std::span<const std::byte> bytes() const { return bytes_; }
  // Unique to this dictionary for the life of the process (never reused, unlike an
  // address): DecodePage keeps a thread's copy of the bytes under it.
  uint64_t serial() const { return serial_; }
  // For EncodePage: lz4's stream state with the dictionary loaded, and the HC one for
  // `level` (made at the first HC encode of that level; null if that allocation failed).
  const void* Lz4State() const { return lz4_; }
  const void* HcState(int level) const;

 private:
  Dictionary() = default;

  std::vector<std::byte> bytes_;
  uint64_t serial_ = 0;
  void* lz4_ = nullptr;
  mutable std::mutex mu_;
  mutable std::array<void*, 13> hc_{};
};

// The bytes of a dictionary for a database of `pages` pages of `page_size` bytes, the
// way a store makes its own (docs/format.md, "The dictionary"): the last
// min(page_size / 2, 2048) bytes of pages spread evenly over the database, all-zero
// pieces skipped, up to Dictionary::kMaxSize. `read_page(p, dst)` fills dst with page p
// (1-based) and returns false to skip it. Empty when fewer than kMinSize bytes result.
std::vector<std::byte> SampleDictionary(
    uint32_t pages, size_t page_size,
    const std::function<bool(uint32_t page, std::span<std::byte> dst)>& read_page);

// Returns the codec named by `name`: "none", "lz4" or "lz4hc" (lower case, exact).
// Returns std::nullopt for anything else.
std::optional<CodecId> CodecFromName(std::string_view name);

// Returns the name CodecFromName accepts for `id`, or "unknown" for a value outside the
// enum (e.g. a CodecId cast from a corrupt byte). Never returns an empty view.
std::string_view CodecName(CodecId id);

// Returns true iff `raw` is the value of a CodecId this build can decode. Use it before
// casting a byte read from disk to CodecId.
constexpr bool IsKnownCodec(uint8_t raw) {
  return raw <= static_cast<uint8_t>(CodecId::kLz4hcDict);
}

// Returns the level used when the user names a codec but no level: 1 for lz4, 9 for
// lz4hc, 0 for none.
int DefaultLevel(CodecId id);

// Returns Ok if EncodePage accepts `spec`; otherwise Code::kInvalidArgument with a
// message that names the bad value and the valid range, fit to show a user who set the
// blaze_codec / blaze_level URI parameters, e.g.
//   "lz4hc level 13 is out of range 1..12".
Status ValidateSpec(CodecSpec spec);

// Returns the size of destination buffer EncodePage needs for a page of `page_size`
// bytes. It is page_size itself: EncodePage never lets the output grow (see its note 2),
// so a slot the size of a page always holds an encoded page.
constexpr size_t MaxEncodedSize(size_t page_size) { return page_size; }

// Encodes the page `src` into the start of `dst` with the codec of `spec`, against
// `dict` when one is given (lz4 and lz4hc then store kLz4Dict / kLz4hcDict).
//
// Returns {codec, size} on success: dst[0, size) holds the encoded page, and `codec` is
// the codec that must be stored with it (it can differ from spec.id, see note 2).
// On failure returns a non-ok status and dst's contents are unspecified:
//   kInvalidArgument: ValidateSpec(spec) fails, src.size() > kMaxPageSize, or
//                     dst.size() < MaxEncodedSize(src.size());
//   kNoMemory:        the thread's lz4/lz4hc state could not be allocated.
//
// REQUIRES: src and dst do not overlap.
//
// Notes:
//  1. No heap allocation in the steady state. Each thread allocates its lz4 state
//     (~16 KiB) on its first lz4 call and its lz4hc state (~256 KiB) on its first lz4hc
//     call, and keeps them until the thread exits. A thread that compresses with lz4hc
//     therefore holds ~256 KiB for its lifetime.
//  2. Raw fallback: when the compressed form would not be strictly smaller than src
//     (random or already-compressed data, tiny pages), src is copied to dst unchanged and
//     the result is {CodecId::kNone, src.size()}. So size <= src.size() always, and a
//     page is never stored compressed unless that saves at least one byte.
//  3. The output is deterministic for a given liblz4 version, spec and page, but may
//     change with the liblz4 version: never compare encoded bytes across builds, compare
//     decoded pages.
[[nodiscard]] Result<Encoded> EncodePage(CodecSpec spec, std::span<const std::byte> src,
                                         std::span<std::byte> dst,
                                         const Dictionary* dict = nullptr);

// Decodes `src`, an encoded page stored with codec `codec`, into `dst`. dst.size() is the
// exact page size expected: the page decodes to exactly that many bytes or it is corrupt.
//
// Returns Ok when dst holds the whole page. Otherwise returns Code::kCorrupt with a
// message naming the codec and the sizes involved, and dst's contents are unspecified
// (partly written): the caller must not use them.
//
// kCorrupt when: `codec` is not a known id (see IsKnownCodec); codec kNone and
// src.size() != dst.size(); codec kLz4/kLz4hc and src is not a well-formed lz4 block,
// would write past dst, or decodes to fewer than dst.size() bytes; a size above
// kMaxPageSize.
//
// REQUIRES: src and dst do not overlap.
//
// Notes:
//  1. Nothing stored is trusted: decoding is bounds-checked on both buffers (lz4's
//     LZ4_decompress_safe), so malformed or hostile input never reads outside src or
//     writes outside dst.
//  2. Passing the check is not proof that the page is the one that was written: a
//     damaged block can still decode to exactly dst.size() bytes of wrong content. The
//     page checksum, verified by the caller, is what detects that.
//  3. kLz4 and kLz4hc are the same block format; either id decodes either output. So
//     are kLz4Dict and kLz4hcDict, which need `dict` (kCorrupt without one).
[[nodiscard]] Status DecodePage(CodecId codec, std::span<const std::byte> src,
                                std::span<std::byte> dst, const Dictionary* dict = nullptr);

}  // namespace blaze::compress
