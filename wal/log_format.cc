// wal/log_format.cc: encoding and checking of the store log's header and frames.
#include "wal/log_format.h"

#include <cstring>

#include "compress/codec.h"
#include "wal/checksum.h"

namespace blaze::wal {

void EncodeHeader(const LogHeader& header, std::span<std::byte, kHeaderSize> dst) {
  std::memset(dst.data(), 0, kHeaderSize);
  std::memcpy(dst.data() + kHeaderMagicOffset, kLogMagic.data(), kLogMagic.size());
  StoreU32(dst.data() + kHeaderVersionOffset, header.version);
  StoreU32(dst.data() + kHeaderPageSizeOffset, header.page_size);
  StoreU64(dst.data() + kHeaderSaltOffset, header.salt);
  StoreU64(dst.data() + kHeaderGenerationOffset, header.generation);
  StoreU64(dst.data() + kHeaderBaseSequenceOffset, header.base_sequence);
  StoreU64(dst.data() + kHeaderChecksumOffset,
           Xxh3(std::span<const std::byte>(dst.data(), kHeaderChecksumOffset), 0));
}

HeaderCheck DecodeHeader(std::span<const std::byte, kHeaderSize> src, LogHeader* out) {
  if (std::memcmp(src.data() + kHeaderMagicOffset, kLogMagic.data(), kLogMagic.size()) != 0 ||
      LoadU64(src.data() + kHeaderChecksumOffset) !=
          Xxh3(std::span<const std::byte>(src.data(), kHeaderChecksumOffset), 0)) {
    return HeaderCheck::kInvalid;
  }
  LogHeader h;
  h.version = LoadU32(src.data() + kHeaderVersionOffset);
  h.page_size = LoadU32(src.data() + kHeaderPageSizeOffset);
  h.salt = LoadU64(src.data() + kHeaderSaltOffset);
  h.generation = LoadU64(src.data() + kHeaderGenerationOffset);
  h.base_sequence = LoadU64(src.data() + kHeaderBaseSequenceOffset);
  if (h.version != kLogVersion || !IsValidPageSize(h.page_size) ||
      LoadU32(src.data() + kHeaderReserved1Offset) != 0 ||
      LoadU64(src.data() + kHeaderReserved2Offset) != 0) {
    return HeaderCheck::kUnsupported;
  }
  *out = h;
  return HeaderCheck::kValid;
}

uint64_t SealFrame(const FrameFields& fields, std::span<std::byte> frame) {
  const uint64_t size = FrameSize(fields.payload_size);
  std::byte* p = frame.data();
  p[kFrameTypeOffset] = std::byte{fields.type};
  p[kFrameCodecOffset] = std::byte{fields.codec};
  p[kFrameFlagsOffset] = std::byte{fields.flags};
  p[kFrameReserved1Offset] = std::byte{0};
  StoreU32(p + kFramePageOffset, fields.page);
  StoreU32(p + kFramePayloadSizeOffset, fields.payload_size);
  StoreU32(p + kFrameReserved2Offset, 0);
  StoreU64(p + kFrameSaltOffset, fields.salt);
  StoreU64(p + kFrameSequenceOffset, fields.sequence);
  const uint64_t payload_end = kFrameHeaderSize + fields.payload_size;
  std::memset(p + payload_end, 0, size - payload_end);
  StoreU64(p + kFrameChecksumOffset,
           Xxh3(frame.subspan(kFrameChecksummedFrom, size - kFrameChecksummedFrom), fields.salt));
  return size;
}

FrameError CheckFrame(std::span<const std::byte> bytes, uint32_t max_payload,
                      std::optional<uint64_t> salt, FrameFields* out) {
  if (bytes.size() < kFrameHeaderSize) return FrameError::kTruncated;
  const std::byte* p = bytes.data();
  FrameFields f;
  f.type = std::to_integer<uint8_t>(p[kFrameTypeOffset]);
  f.codec = std::to_integer<uint8_t>(p[kFrameCodecOffset]);
  f.flags = std::to_integer<uint8_t>(p[kFrameFlagsOffset]);
  f.page = LoadU32(p + kFramePageOffset);
  f.payload_size = LoadU32(p + kFramePayloadSizeOffset);
  f.salt = LoadU64(p + kFrameSaltOffset);
  f.sequence = LoadU64(p + kFrameSequenceOffset);

  if (p[kFrameReserved1Offset] != std::byte{0} || LoadU32(p + kFrameReserved2Offset) != 0) {
    return FrameError::kBadHeader;
  }
  uint32_t min_size = 0;
  uint32_t max_size = max_payload;
  if (f.type == static_cast<uint8_t>(FrameType::kPage)) {
    if (f.page == 0 || f.flags != 0 || !compress::IsKnownCodec(f.codec)) {
      return FrameError::kBadHeader;
    }
    min_size = 1;
  } else if (f.type == static_cast<uint8_t>(FrameType::kCommit)) {
    if (f.codec != 0 || (f.flags & ~kCommitFlagsKnown) != 0) return FrameError::kBadHeader;
    min_size = max_size = kCommitPayloadSize;
  } else if ((f.type & kFrameTypeIgnorable) == 0 || (f.type & kFrameTypeMask) == 0) {
    return FrameError::kBadHeader;
  }
  if (f.payload_size < min_size || f.payload_size > max_size) return FrameError::kBadSize;
  const uint64_t size = FrameSize(f.payload_size);
  if (size > bytes.size()) return FrameError::kTruncated;
  if (salt.has_value() && f.salt != *salt) return FrameError::kSaltMismatch;
  if (LoadU64(p + kFrameChecksumOffset) !=
      Xxh3(bytes.subspan(kFrameChecksummedFrom, size - kFrameChecksummedFrom), f.salt)) {
    return FrameError::kChecksum;
  }
  *out = f;
  return FrameError::kNone;
}

const char* FrameErrorName(FrameError error) {
  switch (error) {
    case FrameError::kNone: return "valid";
    case FrameError::kTruncated: return "truncated";
    case FrameError::kBadHeader: return "bad frame header";
    case FrameError::kBadSize: return "payload size out of range";
    case FrameError::kSaltMismatch: return "salt mismatch";
    case FrameError::kChecksum: return "checksum mismatch";
  }
  return "unknown";
}

}  // namespace blaze::wal
