// wal/log_format.h: the byte layout of the store log (app.db-blazelog), format version 1.
//
// docs/format.md ("Store log format, version 1") is the reference: a table of every byte,
// the grammar, a worked example and the recovery policy. This header is the same layout
// as constants, plus the few functions that encode and check those bytes, shared by the
// writer (log_writer.h) and the reader (log_reader.h).
//
//   log    := header frame*
//   header := 64 bytes at offset 0 (salt, store generation, page size, checksum)
//   frame  := 40-byte frame header, payload, zero padding to a multiple of 8 bytes
//
// All integers are little-endian. NEVER change a value here without bumping
// kLogVersion and keeping a reader for the old version: tests/data/log-v1.bin is a log
// written by version 1 that every later build must still recover.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace blaze::wal {

inline constexpr uint32_t kLogVersion = 1;

// Sequences at or above this bound are refused (a header's base, a frame's sequence), so
// that next_sequence = max + 1 can never wrap, whatever a hostile file holds. A log
// commits far fewer than 2^62 transactions in its life.
inline constexpr uint64_t kMaxSequence = uint64_t{1} << 62;

// ---- Log header: kHeaderSize bytes at offset 0 ----
inline constexpr std::array<char, 12> kLogMagic = {'B', 'l', 'a', 'z', 'e', ' ',
                                                   'l', 'o', 'g', '\0', '\0', '\0'};
inline constexpr size_t kHeaderMagicOffset = 0;          // 12 bytes, kLogMagic
inline constexpr size_t kHeaderVersionOffset = 12;       // u32, kLogVersion
inline constexpr size_t kHeaderPageSizeOffset = 16;      // u32, logical page size
inline constexpr size_t kHeaderReserved1Offset = 20;     // u32, zero
inline constexpr size_t kHeaderSaltOffset = 24;          // u64, random per log generation
inline constexpr size_t kHeaderGenerationOffset = 32;    // u64, store generation
inline constexpr size_t kHeaderBaseSequenceOffset = 40;  // u64, the first commit is base+1
inline constexpr size_t kHeaderReserved2Offset = 48;     // u64, zero
inline constexpr size_t kHeaderChecksumOffset = 56;      // u64, XXH3-64 seed 0 of [0, 56)
inline constexpr size_t kHeaderSize = 64;

static_assert(kHeaderMagicOffset + kLogMagic.size() == kHeaderVersionOffset);
static_assert(kHeaderVersionOffset + 4 == kHeaderPageSizeOffset);
static_assert(kHeaderPageSizeOffset + 4 == kHeaderReserved1Offset);
static_assert(kHeaderReserved1Offset + 4 == kHeaderSaltOffset);
static_assert(kHeaderSaltOffset + 8 == kHeaderGenerationOffset);
static_assert(kHeaderGenerationOffset + 8 == kHeaderBaseSequenceOffset);
static_assert(kHeaderBaseSequenceOffset + 8 == kHeaderReserved2Offset);
static_assert(kHeaderReserved2Offset + 8 == kHeaderChecksumOffset);
static_assert(kHeaderChecksumOffset + 8 == kHeaderSize);
static_assert(kHeaderSaltOffset % 8 == 0 && kHeaderChecksumOffset % 8 == 0);

// ---- Frames: from offset kHeaderSize, each starting at a multiple of kFrameAlign ----
inline constexpr size_t kFrameAlign = 8;
// The checksum comes first so that everything it covers, [kFrameChecksummedFrom, frame
// end), is one contiguous range: one XXH3 call, and the padding is covered too.
inline constexpr size_t kFrameChecksumOffset = 0;    // u64, XXH3-64 seeded with the salt
inline constexpr size_t kFrameChecksummedFrom = 8;
inline constexpr size_t kFrameTypeOffset = 8;        // u8, FrameType | kFrameTypeIgnorable
inline constexpr size_t kFrameCodecOffset = 9;       // u8, compress::CodecId (page) / 0
inline constexpr size_t kFrameFlagsOffset = 10;      // u8, kCommitFlag* (commit) / 0
inline constexpr size_t kFrameReserved1Offset = 11;  // u8, zero
inline constexpr size_t kFramePageOffset = 12;       // u32, page number / db size in pages
inline constexpr size_t kFramePayloadSizeOffset = 16;  // u32, payload bytes (no padding)
inline constexpr size_t kFrameReserved2Offset = 20;  // u32, zero
inline constexpr size_t kFrameSaltOffset = 24;       // u64, the header's salt
inline constexpr size_t kFrameSequenceOffset = 32;   // u64, sequence of its transaction
inline constexpr size_t kFrameHeaderSize = 40;

static_assert(kFrameChecksumOffset + 8 == kFrameChecksummedFrom);
static_assert(kFrameChecksummedFrom == kFrameTypeOffset);
static_assert(kFrameTypeOffset + 1 == kFrameCodecOffset);
static_assert(kFrameCodecOffset + 1 == kFrameFlagsOffset);
static_assert(kFrameFlagsOffset + 1 == kFrameReserved1Offset);
static_assert(kFrameReserved1Offset + 1 == kFramePageOffset);
static_assert(kFramePageOffset + 4 == kFramePayloadSizeOffset);
static_assert(kFramePayloadSizeOffset + 4 == kFrameReserved2Offset);
static_assert(kFrameReserved2Offset + 4 == kFrameSaltOffset);
static_assert(kFrameSaltOffset + 8 == kFrameSequenceOffset);
static_assert(kFrameSequenceOffset + 8 == kFrameHeaderSize);
static_assert(kFrameHeaderSize % kFrameAlign == 0 && kHeaderSize % kFrameAlign == 0);
// The recovery's forward search looks for the salt at 8-byte steps: it must be aligned.
static_assert(kFrameSaltOffset % kFrameAlign == 0);

// Record types, low 7 bits of the type byte. NEVER renumber; a new type takes a new
// number. 0 is never a type, so a zero-filled hole never parses as a frame.
enum class FrameType : uint8_t {
  kPage = 1,    // payload: one page encoded by compress::EncodePage
  kCommit = 2,  // payload: kCommitPayloadSize bytes, see below
};
// Set on a type a later version adds that an older reader may skip (after checking the
// frame's size, salt, sequence and checksum). A frame of an unknown type without it is an
// invalid frame: it ends the scan.
inline constexpr uint8_t kFrameTypeIgnorable = 0x80;
inline constexpr uint8_t kFrameTypeMask = 0x7f;

// Commit flags (byte kFrameFlagsOffset of a commit frame); other bits are zero.
// kCommitFlagSyncFollows: the writer asked for a sync right after this commit (a
// durability point, as opposed to a commit point without sync). Informational: it is
// written BEFORE the sync, so it proves nothing about durability; the durable-end field
// below is the proof recovery uses (docs/format.md, "Why durable end, not a flag").
inline constexpr uint8_t kCommitFlagSyncFollows = 0x01;
inline constexpr uint8_t kCommitFlagsKnown = kCommitFlagSyncFollows;

// Commit payload.
inline constexpr size_t kCommitDurableEndOffset = 0;  // u64, see below
inline constexpr size_t kCommitPayloadSize = 8;
// Durable end: an offset such that every byte of this log generation before it had been
// made durable by a completed Sync when this commit was written (0 when none had). It is
// always <= the commit's own offset.

// Page sizes (SQLite's range).
inline constexpr uint32_t kMinPageSize = 512;
inline constexpr uint32_t kMaxPageSize = 65536;

constexpr bool IsValidPageSize(uint32_t page_size) {
  return page_size >= kMinPageSize && page_size <= kMaxPageSize &&
         (page_size & (page_size - 1)) == 0;
}

constexpr uint64_t AlignUp(uint64_t n) {
  return (n + kFrameAlign - 1) & ~uint64_t{kFrameAlign - 1};
}

// Bytes a frame with `payload_size` bytes of payload takes, padding included.
constexpr uint64_t FrameSize(uint64_t payload_size) {
  return kFrameHeaderSize + AlignUp(payload_size);
}

// The largest frame a log of `page_size` holds: a page frame of a page stored raw.
constexpr uint64_t MaxFrameSize(uint32_t page_size) { return FrameSize(page_size); }

static_assert(FrameSize(kCommitPayloadSize) == 48);
static_assert(MaxFrameSize(kMaxPageSize) == 65576);
static_assert(AlignUp(1) == 8 && AlignUp(8) == 8 && AlignUp(0) == 0);

// ---- Encoding helpers shared by the writer and the reader ----

struct LogHeader {
  uint32_t version = kLogVersion;
  uint32_t page_size = 0;
  uint64_t salt = 0;
  uint64_t generation = 0;
  uint64_t base_sequence = 0;
};

// Writes `header` (with its checksum) into dst. REQUIRES: IsValidPageSize(page_size).
void EncodeHeader(const LogHeader& header, std::span<std::byte, kHeaderSize> dst);

enum class HeaderCheck {
  kValid,        // *out holds the header
  kInvalid,      // bad magic or checksum: never written, torn, or damaged
  kUnsupported,  // checksum valid, but a version or field this build does not accept
};
// Checks the header bytes in src. *out is set only when the result is kValid.
[[nodiscard]] HeaderCheck DecodeHeader(std::span<const std::byte, kHeaderSize> src,
                                       LogHeader* out);

// The fields of a frame header (everything but the checksum).
struct FrameFields {
  uint8_t type = 0;  // the whole type byte, ignorable bit included
  uint8_t codec = 0;
  uint8_t flags = 0;
  uint32_t page = 0;  // page number (page) / database size in pages (commit)
  uint32_t payload_size = 0;
  uint64_t salt = 0;
  uint64_t sequence = 0;
};

// Completes the frame whose payload the caller has placed at
// frame[kFrameHeaderSize, kFrameHeaderSize + fields.payload_size): writes the header
// fields, zeroes the padding and writes the checksum.
// Returns the frame size, FrameSize(fields.payload_size).
// REQUIRES: frame.size() >= FrameSize(fields.payload_size).
uint64_t SealFrame(const FrameFields& fields, std::span<std::byte> frame);

// Why a frame is not valid. Checked in this order, cheapest first.
enum class FrameError {
  kNone,
  kTruncated,     // the frame extends past the bytes available (end of file)
  kBadHeader,     // zero or unknown type without the ignorable bit, nonzero reserved
                  // bytes, unknown flags or codec, page number 0
  kBadSize,       // payload size out of range for the type and the page size
  kSaltMismatch,  // salt is not the expected one (a stale frame of another generation)
  kChecksum,      // checksum mismatch
};

// Checks the frame at the start of `bytes` (which holds the frame and possibly more, or
// fewer bytes when the file ends). `max_payload` is the page size of the log; when
// `salt` is set the frame's salt must equal it, else the frame's own salt seeds the
// checksum. On kNone, *out holds the frame's fields; on anything else *out is unspecified.
// It does not check the sequence rule, which needs the frames before it (log_reader.cc).
[[nodiscard]] FrameError CheckFrame(std::span<const std::byte> bytes, uint32_t max_payload,
                                    std::optional<uint64_t> salt, FrameFields* out);

const char* FrameErrorName(FrameError error);

// Little-endian integer access into byte spans. REQUIRES: the bytes are in range.
// Inline: every frame, block and map entry is parsed with them, and the compiler turns
// each loop into one load or store on a little-endian machine.
inline uint32_t LoadU32(const std::byte* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | std::to_integer<uint32_t>(p[i]);
  return v;
}

inline uint64_t LoadU64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | std::to_integer<uint64_t>(p[i]);
  return v;
}

inline void StoreU32(std::byte* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

inline void StoreU64(std::byte* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

}  // namespace blaze::wal
