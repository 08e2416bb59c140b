// vfs/page_format.h: the byte layout of the page file (the main database file of a
// Blaze store), format versions 1 and 2.
//
// docs/format.md ("Page file format") is the reference, byte by byte. This header is the
// same layout as constants plus the functions that encode and check it.
//
//   page file := header copy 0 (at 0) | header copy 1 (at 4096) | extents from 8192
//   extent    := block header (32 bytes) | payload | zero padding to a multiple of 16
//   block     := slot (one encoded page) | map chunk (256 map entries) | directory
//              | dictionary (version 2)
//
// A header names the directory; the directory names the map chunks, and in version 2
// the store's compression dictionary; each chunk entry names the slot of one page.
// Version 2 is version 1 plus the dictionary: a header is written as version 2 exactly
// when its store has a dictionary, so a store without one stays readable by version-1
// builds. Everything a header reaches was written (and synced)
// before the header, and is never written again while a durable header reaches it
// (copy-on-write), so either header copy with a valid checksum describes a whole,
// consistent database. All integers are little-endian.
// NEVER change a value here without bumping kPageFileVersion and keeping a reader for the
// old version: tests/data/store-v1.db must always open.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/status.h"

namespace blaze::vfs {

inline constexpr uint32_t kPageFileVersion = 2;  // the newest this build reads and writes

// ---- Header: two copies, at kHeaderCopyOffset[0] and [1] ----
inline constexpr std::array<char, 12> kStoreMagic = {'B', 'l', 'a', 'z', 'e', ' ',
                                                     's', 't', 'o', 'r', 'e', '\0'};
inline constexpr size_t kPfMagicOffset = 0;        // 12 bytes, kStoreMagic
inline constexpr size_t kPfVersionOffset = 12;     // u32, kPageFileVersion
inline constexpr size_t kPfPageSizeOffset = 16;    // u32, logical page size
inline constexpr size_t kPfPageCountOffset = 20;   // u32, logical size in pages
inline constexpr size_t kPfGenerationOffset = 24;  // u64, checkpoint generation
inline constexpr size_t kPfDirOffset = 32;         // u64, directory extent offset (0: none)
inline constexpr size_t kPfDirLengthOffset = 40;   // u32, directory extent length
inline constexpr size_t kPfFlagsOffset = 44;       // u32, version 1: zero; 2: kPfHasDictionary
inline constexpr uint32_t kPfHasDictionary = 1;    // the directory's last entry names it
inline constexpr size_t kPfHighWaterOffset = 48;   // u64, end of the last extent in use
inline constexpr size_t kPfChecksumOffset = 56;    // u64, XXH3-64 seed 0 of [0, 56)
inline constexpr size_t kPfHeaderSize = 64;
inline constexpr std::array<uint64_t, 2> kHeaderCopyOffset = {0, 4096};
inline constexpr uint64_t kDataStart = 8192;  // first byte an extent may use

// ---- Blocks: every extent starts with a block header ----
inline constexpr size_t kBlockChecksumOffset = 0;    // u64, XXH3-64 seed 0 of [8, 32+payload)
inline constexpr size_t kBlockTypeOffset = 8;        // u8, BlockType
inline constexpr size_t kBlockCodecOffset = 9;       // u8, compress::CodecId (slot) / 0
inline constexpr size_t kBlockReserved1Offset = 10;  // u16, zero
inline constexpr size_t kBlockKeyOffset = 12;        // u32, page no / chunk no / entry count
inline constexpr size_t kBlockPayloadSizeOffset = 16;  // u32, payload bytes
inline constexpr size_t kBlockReserved2Offset = 20;  // u32, zero
inline constexpr size_t kBlockGenerationOffset = 24;  // u64, generation that wrote it
inline constexpr size_t kBlockHeaderSize = 32;
inline constexpr uint64_t kExtentAlign = 16;

enum class BlockType : uint8_t {
  kSlot = 1,       // payload: one page, encoded by compress::EncodePage; key: page number
  kMapChunk = 2,   // payload: kPagesPerChunk map entries; key: chunk number (from 0)
  kDirectory = 3,  // payload: key directory entries (+ 1: the dictionary's, in version 2)
  kDictionary = 4,  // payload: the dictionary's bytes (64..65536); key: 0
};

// Map entries (in chunks) and directory entries share one 16-byte layout.
inline constexpr size_t kEntryOffsetOffset = 0;  // u64, extent offset (0: absent)
inline constexpr size_t kEntryLengthOffset = 8;  // u32, extent length
// u32: the low 32 bits of the generation of the block the entry names (0 when absent):
// the generation link a reader checks against that block. The name is historical.
inline constexpr size_t kEntryReservedOffset = 12;
inline constexpr size_t kEntrySize = 16;
inline constexpr uint32_t kPagesPerChunk = 256;  // chunk k maps pages 256k+1 .. 256k+256

constexpr uint64_t AlignExtent(uint64_t n) { return (n + kExtentAlign - 1) & ~(kExtentAlign - 1); }
constexpr uint64_t ExtentLength(uint64_t payload_size) {
  return AlignExtent(kBlockHeaderSize + payload_size);
}

// Where a block lives: offset 0 means "none".
struct Extent {
  uint64_t offset = 0;
  uint32_t length = 0;
  bool present() const { return offset != 0; }
  friend bool operator==(const Extent&, const Extent&) = default;
};

struct PageFileHeader {
  uint32_t page_size = 0;
  uint32_t page_count = 0;
  uint64_t generation = 0;
  Extent directory;
  uint64_t high_water = kDataStart;
  // The directory ends with an entry naming the store's dictionary (version 2).
  bool has_dictionary = false;
};

void EncodePageFileHeader(const PageFileHeader& h, std::span<std::byte, kPfHeaderSize> dst);

enum class PfHeaderCheck { kValid, kInvalid, kUnsupported };
// kInvalid: bad magic or checksum (never written, torn, damaged). kUnsupported: valid
// checksum, but a version or field this build does not accept.
[[nodiscard]] PfHeaderCheck DecodePageFileHeader(std::span<const std::byte, kPfHeaderSize> src,
                                                 PageFileHeader* out);

struct BlockFields {
  BlockType type = BlockType::kSlot;
  uint8_t codec = 0;
  uint32_t key = 0;
  uint32_t payload_size = 0;
  uint64_t generation = 0;
};

// Writes the block header for the payload already at extent[kBlockHeaderSize, +size),
// zeroes the padding up to ExtentLength(size) and computes the checksum.
// REQUIRES: extent.size() >= ExtentLength(fields.payload_size).
void SealBlock(const BlockFields& fields, std::span<std::byte> extent);

// Checks the block in `extent` (the bytes of one extent as the map recorded its length):
// checksum, type, key, reserved bytes, and that the payload fits. Returns its payload.
//   kChecksum: the bytes do not match their checksum;
//   kCorrupt:  the checksum matches but the block is not the expected one.
[[nodiscard]] Result<std::span<const std::byte>> CheckBlock(std::span<const std::byte> extent,
                                                            BlockType type, uint32_t key,
                                                            BlockFields* out);

// Writes offset and length, and 0 in the generation link (the caller stores it after).
void EncodeEntry(Extent e, std::byte* dst);
Extent DecodeEntry(const std::byte* src);

}  // namespace blaze::vfs
