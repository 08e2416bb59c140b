// wal/log_reader.cc: store log recovery (the policy below) and verified frame reads.
//
// ---------------------------------------------------------------------------------------
// RECOVERY POLICY (store log format version 1; docs/format.md says the same)
//
// What a crash can leave: the log is written append-only within one generation (one
// salt) and synced at commit points. Unsynced writes may reach the disk in any order and
// in part (common/file.h), so after a power cut the bytes after the last completed sync
// may be any mix of new, old and zero bytes. Bytes before it are exactly as written,
// unless the disk itself damaged them.
//
//  1. Empty file (size 0), or shorter than a header: no log. Valid.
//  2. Header checksum valid but version (or a reserved field, or the page size) not one
//     this build accepts: kCorrupt. A newer format is refused, never discarded.
//  3. Header invalid (magic or checksum): if the bytes right after it parse as a frame
//     whose checksum validates with the salt stored in that frame, the log had content
//     and its header is damaged: kCorrupt. Else the header is one that never became
//     durable: no log. Valid. (LogWriter::Reset truncates and syncs before writing the
//     header and syncs the header before any frame, so a torn header is the whole file.)
//  4. Header valid, RecoverOptions::store_generation set and different: the log is stale
//     (already checkpointed, or a checkpoint that never became durable). Not scanned.
//  5. Scan frames in order from offset 64. A frame is valid when it fits in the file, its
//     type is known or carries the ignorable bit, its reserved bytes are zero, its payload
//     size is in range for its type and the page size, its salt is the header's, its
//     checksum matches, and it obeys the sequence rule: the frames of one transaction and
//     its commit record carry the same sequence, greater than the previous commit's. The
//     first invalid frame ends the scan. Frames after the last valid commit before it are
//     discarded: a torn or unsynced tail is the end of the log, not corruption.
//  6. BUT if, after that invalid frame at offset E, the file still holds a valid commit
//     record of this generation (searched at 8-byte steps) whose durable end is > E, then
//     bytes a completed sync had made durable are damaged: kCorrupt, naming E.
//     Why durable end and not the draft's "synced" flag: the flag is written before the
//     sync it announces. If power goes during that sync, the commit record may reach the
//     disk while an earlier frame does not: an ordinary torn tail that a flag would call
//     corruption. The durable end is what the writer knew was durable when it wrote the
//     record, so it is true whatever happens afterwards.
//     Limitation: damage to the last synced transaction itself, with nothing valid after
//     it, looks exactly like a torn tail and is taken as one (the log alone cannot tell).
//  7. The index maps each page to its newest committed frame; earlier committed frames of
//     the same page are superseded. A commit whose database size is below a page drops
//     that page from the index (the database was truncated), and the smallest size any
//     commit recorded is reported, so the store knows which page-file pages were cut.
//  8. next_sequence is above every sequence of any valid frame of this generation in the
//     whole file, discarded tail included, and including a valid frame that ended the
//     scan by being out of sequence. The writer continues there, so an old frame left in
//     the discarded tail, uncovered later when a new write over it is lost, fails the
//     sequence rule instead of joining a new transaction. (The writer also cuts the
//     discarded tail before it appends: two independent defences.)
//  Sequences at or above kMaxSequence are refused (header: kCorrupt; frame: invalid), so
//  next_sequence never wraps on a hostile file.
// ---------------------------------------------------------------------------------------
#include "wal/log_reader.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace blaze::wal {
namespace {

std::string Hex(uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[v & 15]);
    v >>= 4;
  } while (v != 0);
  return "0x" + s;
}

// Sequential reads through one buffer: recovery reads the log in large pieces, not one
// pread per frame. Get(pos, want) returns the bytes [pos, pos + want) or fewer where the
// file ends.
class ScanWindow {
 public:
  ScanWindow(File& file, uint64_t file_size, size_t capacity)
      : file_(file), size_(file_size), buffer_(capacity) {}
  ScanWindow(const ScanWindow&) = delete;
  ScanWindow& operator=(const ScanWindow&) = delete;

  // REQUIRES: want <= the capacity given to the constructor.
  Result<std::span<const std::byte>> Get(uint64_t pos, size_t want) {
    if (pos >= size_) return std::span<const std::byte>();
    const uint64_t need = std::min<uint64_t>(want, size_ - pos);
    if (pos < start_ || pos + need > start_ + length_) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer_.size(), size_ - pos));
      Result<size_t> got = file_.Read(pos, std::span<std::byte>(buffer_.data(), n));
      if (!got.ok()) return got.status();
      start_ = pos;
      length_ = got.value();
      if (length_ < n) size_ = pos + length_;  // the file shrank under us: it ends here
    }
    const uint64_t from = pos - start_;
    return std::span<const std::byte>(buffer_).subspan(
        from, static_cast<size_t>(std::min<uint64_t>(need, length_ - from)));
  }

 private:
  File& file_;
  uint64_t size_;
  std::vector<std::byte> buffer_;
  uint64_t start_ = 0;
  size_t length_ = 0;
};

constexpr size_t kWindowSize = 1 << 20;
static_assert(kWindowSize >= 2 * MaxFrameSize(kMaxPageSize));

}  // namespace

Result<LogState> RecoverLog(File& file, const RecoverOptions& options) {
  LogState state;
  Result<uint64_t> size_or = file.Size();
  if (!size_or.ok()) return size_or.status();
  const uint64_t size = size_or.value();
  if (size < kHeaderSize) return state;  // rule 1

  ScanWindow window(file, size, kWindowSize);
  Result<std::span<const std::byte>> head = window.Get(0, kHeaderSize);
  if (!head.ok()) return head.status();
  if (head.value().size() < kHeaderSize) return state;  // shrank while we looked: rule 1
  LogHeader header;
  switch (DecodeHeader(head.value().first<kHeaderSize>(), &header)) {
    case HeaderCheck::kUnsupported:  // rule 2
      return Status(Code::kCorrupt,
                    "store log: header of an unsupported version or layout (version " +
                        std::to_string(LoadU32(head.value().data() + kHeaderVersionOffset)) +
                        ", this build reads version " + std::to_string(kLogVersion) + ")");
    case HeaderCheck::kInvalid: {  // rule 3
      Result<std::span<const std::byte>> first =
          window.Get(kHeaderSize, MaxFrameSize(kMaxPageSize));
      if (!first.ok()) return first.status();
      FrameFields f;
      if (CheckFrame(first.value(), kMaxPageSize, std::nullopt, &f) == FrameError::kNone) {
        return Status(Code::kCorrupt,
                      "store log: header damaged, but a valid frame (salt " + Hex(f.salt) +
                          ") follows it at offset 64");
      }
      return state;
    }
    case HeaderCheck::kValid:
      break;
  }
  if (header.base_sequence >= kMaxSequence) {
    return Status(Code::kCorrupt, "store log: header base sequence " +
                                      std::to_string(header.base_sequence) + " out of range");
  }
  state.has_header = true;
  state.header = header;
  state.last_sequence = header.base_sequence;
  state.next_sequence = header.base_sequence + 1;
  if (options.store_generation.has_value() && *options.store_generation != header.generation) {
    state.stale = true;  // rule 4
    return state;
  }

  // Rule 5: the scan.
  const uint32_t page_size = header.page_size;
  const size_t max_frame = MaxFrameSize(page_size);
  uint64_t pos = kHeaderSize;
  uint64_t max_sequence = header.base_sequence;
  std::optional<uint64_t> open_sequence;  // sequence of the unfinished transaction
  std::vector<std::pair<uint32_t, uint64_t>> pending;  // its page frames
  uint32_t max_indexed = 0;  // >= every page number in state.index
  uint64_t open_frames = 0;
  state.end = kHeaderSize;
  FrameError stop = FrameError::kNone;
  const char* stop_reason = nullptr;
  uint64_t stop_frame_size = kFrameAlign;  // how far past pos the search for later frames starts
  for (;;) {
    Result<std::span<const std::byte>> bytes = window.Get(pos, max_frame);
    if (!bytes.ok()) return bytes.status();
    FrameFields f;
    stop = CheckFrame(bytes.value(), page_size, header.salt, &f);
    if (stop == FrameError::kNone && f.sequence >= kMaxSequence) stop = FrameError::kBadHeader;
    if (stop != FrameError::kNone) {
      stop_reason = FrameErrorName(stop);
      break;
    }
    // Counted even when it ends the scan: the next writer must never reuse a sequence
    // that a valid frame in the file already carries.
    max_sequence = std::max(max_sequence, f.sequence);
    const bool in_sequence =
        open_sequence ? f.sequence == *open_sequence : f.sequence > state.last_sequence;
    if (!in_sequence) {
      stop_reason = "out of sequence";
      stop_frame_size = FrameSize(f.payload_size);
      break;
    }
    const uint64_t frame_size = FrameSize(f.payload_size);
    if (f.type == static_cast<uint8_t>(FrameType::kCommit)) {
      const uint64_t durable_end =
          LoadU64(bytes.value().data() + kFrameHeaderSize + kCommitDurableEndOffset);
      if (durable_end > pos) {
        return Status(Code::kCorrupt, "store log: commit record at offset " + std::to_string(pos) +
                                          " claims durable end " + std::to_string(durable_end) +
                                          " beyond itself");
      }
      for (const auto& [page, offset] : pending) {  // rule 7
        state.index[page] = offset;
        max_indexed = std::max(max_indexed, page);
      }
      pending.clear();
      if (max_indexed > f.page) {  // a truncate: cut the pages above the new size
        std::erase_if(state.index, [&](const auto& entry) { return entry.first > f.page; });
        max_indexed = f.page;
      }
      state.min_db_pages = std::min(state.min_db_pages.value_or(f.page), f.page);
      open_sequence.reset();
      state.frames += open_frames + 1;
      open_frames = 0;
      state.commits += 1;
      state.last_sequence = f.sequence;
      state.db_pages = f.page;
      state.durable_end = durable_end;
      state.last_commit_sync_follows = (f.flags & kCommitFlagSyncFollows) != 0;
      state.end = pos + frame_size;
    } else {
      if (f.type == static_cast<uint8_t>(FrameType::kPage)) pending.emplace_back(f.page, pos);
      // else: an ignorable record of a later version; it belongs to the transaction.
      open_sequence = f.sequence;
      open_frames += 1;
    }
    pos += frame_size;
  }
  state.scan_end = pos;
  state.discarded_frames = open_frames;

  // Rule 6 (and the tail part of rule 8): look past the invalid frame for frames of this
  // generation. A candidate must have the salt at its salt offset, so one 8-byte compare
  // rejects almost every position before any checksum is computed.
  // A scan that stopped on a valid frame (out of sequence) skips that frame itself.
  const uint64_t file_end = size;
  for (uint64_t q = pos + stop_frame_size; q + kFrameHeaderSize <= file_end; q += kFrameAlign) {
    Result<std::span<const std::byte>> bytes = window.Get(q, max_frame);
    if (!bytes.ok()) return bytes.status();
    if (bytes.value().size() < kFrameHeaderSize) break;
    if (LoadU64(bytes.value().data() + kFrameSaltOffset) != header.salt) continue;
    FrameFields f;
    if (CheckFrame(bytes.value(), page_size, header.salt, &f) != FrameError::kNone) continue;
    if (f.sequence >= kMaxSequence) continue;
    max_sequence = std::max(max_sequence, f.sequence);
    if (f.type == static_cast<uint8_t>(FrameType::kCommit)) {
      const uint64_t durable_end =
          LoadU64(bytes.value().data() + kFrameHeaderSize + kCommitDurableEndOffset);
      if (durable_end > pos) {
        return Status(Code::kCorrupt,
                      "store log: damaged frame at offset " + std::to_string(pos) + " (" +
                          stop_reason + "): the commit record at offset " + std::to_string(q) +
                          " says a sync had made the log durable up to offset " +
                          std::to_string(durable_end));
      }
    }
    q += FrameSize(f.payload_size) - kFrameAlign;  // skip the frame's own bytes
  }
  state.next_sequence = max_sequence + 1;  // rule 8
  return state;
}

Result<PageFrame> ReadFrame(File& file, uint64_t offset, uint64_t salt, uint32_t page_no,
                            std::span<std::byte> buffer) {
  Result<size_t> got = file.Read(offset, buffer);
  if (!got.ok()) return got.status();
  const std::span<const std::byte> bytes(buffer.data(), got.value());
  PageFrame frame;
  if (bytes.size() < kFrameHeaderSize) {
    frame.stale = true;  // the log is shorter than the index says: it was reset
    return frame;
  }
  if (LoadU64(bytes.data() + kFrameSaltOffset) != salt) {
    frame.stale = true;  // another generation's frame, or one being written over ours
    return frame;
  }
  const auto max_payload = static_cast<uint32_t>(
      std::min<uint64_t>(kMaxPageSize, buffer.size() - std::min(buffer.size(), kFrameHeaderSize)));
  // Built only on the failure paths: a read that succeeds allocates nothing.
  auto where = [&] {
    return "store log: frame of page " + std::to_string(page_no) + " at offset " +
           std::to_string(offset);
  };
  FrameFields f;
  switch (CheckFrame(bytes, max_payload, salt, &f)) {
    case FrameError::kNone:
      break;
    case FrameError::kChecksum:
      return Status(Code::kChecksum, where() + ": checksum mismatch");
    case FrameError::kTruncated:
      return Status(Code::kCorrupt, where() + ": extends past the end of the log or the buffer");
    case FrameError::kBadHeader:
    case FrameError::kBadSize:
    case FrameError::kSaltMismatch:  // not reached: the salt was compared above
      return Status(Code::kCorrupt, where() + ": bad frame header");
  }
  if (f.type != static_cast<uint8_t>(FrameType::kPage)) {
    return Status(Code::kCorrupt, where() + ": not a page frame (type " +
                                      std::to_string(f.type) + ")");
  }
  if (f.page != page_no) {
    return Status(Code::kCorrupt, where() + ": holds page " + std::to_string(f.page));
  }
  frame.codec = static_cast<compress::CodecId>(f.codec);  // CheckFrame checked it is known
  frame.payload = bytes.subspan(kFrameHeaderSize, f.payload_size);
  frame.sequence = f.sequence;
  return frame;
}

}  // namespace blaze::wal
