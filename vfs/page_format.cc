// vfs/page_format.cc: encoding and checking of page-file headers, blocks and entries.
#include "vfs/page_format.h"

#include <cstring>
#include <string>

#include "compress/codec.h"
#include "wal/checksum.h"
#include "wal/log_format.h"

namespace blaze::vfs {
namespace {

using wal::LoadU32;
using wal::LoadU64;
using wal::StoreU32;
using wal::StoreU64;

uint64_t Xxh3(const std::byte* p, size_t n) { return wal::Xxh3({p, n}); }

}  // namespace

void EncodePageFileHeader(const PageFileHeader& h, std::span<std::byte, kPfHeaderSize> dst) {
  std::byte* p = dst.data();
  std::memset(p, 0, kPfHeaderSize);
  std::memcpy(p + kPfMagicOffset, kStoreMagic.data(), kStoreMagic.size());
  // The oldest version that can hold the header: a store without a dictionary stays
  // readable by version-1 builds.
  StoreU32(p + kPfVersionOffset, h.has_dictionary ? kPageFileVersion : 1);
  StoreU32(p + kPfPageSizeOffset, h.page_size);
  StoreU32(p + kPfPageCountOffset, h.page_count);
  StoreU64(p + kPfGenerationOffset, h.generation);
  StoreU64(p + kPfDirOffset, h.directory.offset);
  StoreU32(p + kPfDirLengthOffset, h.directory.length);
  StoreU32(p + kPfFlagsOffset, h.has_dictionary ? kPfHasDictionary : 0);
  StoreU64(p + kPfHighWaterOffset, h.high_water);
  StoreU64(p + kPfChecksumOffset, Xxh3(p, kPfChecksumOffset));
}

PfHeaderCheck DecodePageFileHeader(std::span<const std::byte, kPfHeaderSize> src,
                                   PageFileHeader* out) {
  const std::byte* p = src.data();
  if (std::memcmp(p + kPfMagicOffset, kStoreMagic.data(), kStoreMagic.size()) != 0 ||
      LoadU64(p + kPfChecksumOffset) != Xxh3(p, kPfChecksumOffset)) {
    return PfHeaderCheck::kInvalid;
  }
  PageFileHeader h;
  h.page_size = LoadU32(p + kPfPageSizeOffset);
  h.page_count = LoadU32(p + kPfPageCountOffset);
  h.generation = LoadU64(p + kPfGenerationOffset);
  h.directory.offset = LoadU64(p + kPfDirOffset);
  h.directory.length = LoadU32(p + kPfDirLengthOffset);
  h.high_water = LoadU64(p + kPfHighWaterOffset);
  const bool dir_ok = h.directory.present()
                          ? h.directory.offset >= kDataStart &&
                                h.directory.offset % kExtentAlign == 0 &&
                                h.directory.length >= kBlockHeaderSize &&
                                h.directory.offset + h.directory.length <= h.high_water
                          : h.directory.length == 0 && h.page_count == 0;
  // Version 1 has no flags; version 2 is written only with a dictionary, which lives in
  // the directory.
  const uint32_t version = LoadU32(p + kPfVersionOffset);
  const uint32_t flags = LoadU32(p + kPfFlagsOffset);
  h.has_dictionary = flags == kPfHasDictionary;
  static_assert(kPageFileVersion == 2);
  const bool flags_ok = version == 1 ? flags == 0
                                     : version == 2 && h.has_dictionary && h.directory.present();
  if (!flags_ok || !wal::IsValidPageSize(h.page_size) || !dir_ok || h.high_water < kDataStart) {
    return PfHeaderCheck::kUnsupported;
  }
  *out = h;
  return PfHeaderCheck::kValid;
}

void SealBlock(const BlockFields& f, std::span<std::byte> extent) {
  std::byte* p = extent.data();
  const uint64_t length = ExtentLength(f.payload_size);
  std::memset(p, 0, kBlockHeaderSize);
  p[kBlockTypeOffset] = static_cast<std::byte>(f.type);
  p[kBlockCodecOffset] = static_cast<std::byte>(f.codec);
  StoreU32(p + kBlockKeyOffset, f.key);
  StoreU32(p + kBlockPayloadSizeOffset, f.payload_size);
  StoreU64(p + kBlockGenerationOffset, f.generation);
  std::memset(p + kBlockHeaderSize + f.payload_size, 0,
              length - kBlockHeaderSize - f.payload_size);
  StoreU64(p + kBlockChecksumOffset,
           Xxh3(p + kBlockTypeOffset, kBlockHeaderSize - kBlockTypeOffset + f.payload_size));
}

Result<std::span<const std::byte>> CheckBlock(std::span<const std::byte> extent, BlockType type,
                                              uint32_t key, BlockFields* out) {
  if (extent.size() < kBlockHeaderSize) {
    return Status(Code::kCorrupt, "block shorter than its header");
  }
  const std::byte* p = extent.data();
  const uint32_t payload_size = LoadU32(p + kBlockPayloadSizeOffset);
  if (payload_size > extent.size() - kBlockHeaderSize) {
    // Checked before the checksum, which could not be computed: a damaged size field, or
    // an extent another process has since reused.
    return Status(Code::kCorrupt, "block payload size " + std::to_string(payload_size) +
                                      " exceeds its extent of " +
                                      std::to_string(extent.size()) + " bytes");
  }
  if (LoadU64(p + kBlockChecksumOffset) !=
      Xxh3(p + kBlockTypeOffset, kBlockHeaderSize - kBlockTypeOffset + payload_size)) {
    return Status(Code::kChecksum, "block checksum mismatch");
  }
  BlockFields f;
  f.type = static_cast<BlockType>(p[kBlockTypeOffset]);
  f.codec = std::to_integer<uint8_t>(p[kBlockCodecOffset]);
  f.key = LoadU32(p + kBlockKeyOffset);
  f.payload_size = payload_size;
  f.generation = LoadU64(p + kBlockGenerationOffset);
  if (f.type != type || f.key != key) {
    return Status(Code::kCorrupt, "block of type " + std::to_string(static_cast<int>(f.type)) +
                                      " key " + std::to_string(f.key) + " where type " +
                                      std::to_string(static_cast<int>(type)) + " key " +
                                      std::to_string(key) + " was expected");
  }
  const bool codec_ok = type == BlockType::kSlot ? compress::IsKnownCodec(f.codec) : f.codec == 0;
  if (!codec_ok || p[kBlockReserved1Offset] != std::byte{0} ||
      p[kBlockReserved1Offset + 1] != std::byte{0} || LoadU32(p + kBlockReserved2Offset) != 0) {
    return Status(Code::kCorrupt, "block header has an unknown codec or nonzero reserved bytes");
  }
  if (out != nullptr) *out = f;
  return extent.subspan(kBlockHeaderSize, payload_size);
}

void EncodeEntry(Extent e, std::byte* dst) {
  StoreU64(dst + kEntryOffsetOffset, e.offset);
  StoreU32(dst + kEntryLengthOffset, e.length);
  StoreU32(dst + kEntryReservedOffset, 0);
}

Extent DecodeEntry(const std::byte* src) {
  return Extent{LoadU64(src + kEntryOffsetOffset), LoadU32(src + kEntryLengthOffset)};
}

}  // namespace blaze::vfs
