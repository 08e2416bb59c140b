// wal/log_reader.h: recovery of the store log, and verified reads of indexed page frames.
//
// What it does: RecoverLog scans a log file once (at open, or when the store finds the
// log changed) and returns what it holds: the header, where the committed log ends, and
// an index from page number to the newest committed frame of that page. ReadFrame
// re-reads and verifies one of those frames for the read path.
// What it does not do: decode pages (compress::DecodePage does, after ReadFrame), write
// or truncate the file, or decide what a stale log means for the store.
//
// The recovery policy (what is end-of-log, what is corruption, and why) is written at
// the top of log_reader.cc and in docs/format.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>

#include "common/file.h"
#include "common/status.h"
#include "compress/codec.h"
#include "wal/log_format.h"

namespace blaze::wal {

struct RecoverOptions {
  // The page file's generation. When set, a log whose (valid) header names another
  // generation is stale: it is returned with stale = true and is not scanned (its frames
  // are already in the page file, or belong to a checkpoint that never became durable).
  // The store always sets it; see "Why the generation is checked first" in log_reader.cc.
  std::optional<uint64_t> store_generation;
};

struct LogState {
  // False: no log (empty file, or a header that never became durable). The writer must
  // Reset before appending; every other field below is zero/empty.
  bool has_header = false;
  // True: the header is valid but names another store generation than
  // RecoverOptions::store_generation. Nothing was scanned; Reset before appending.
  bool stale = false;
  LogHeader header;  // valid when has_header

  // Offset after the last valid commit record (kHeaderSize when there is none): where the
  // next frame goes. Everything from here on is discarded.
  uint64_t end = 0;
  // The database size in pages recorded by the last valid commit; nullopt when the log
  // holds no commit (the page file's size stands).
  std::optional<uint32_t> db_pages;
  // The smallest database size any valid commit recorded (nullopt when none): pages of
  // the page file above it were cut by a truncate since the checkpoint and read as
  // zeros unless a later frame rewrote them.
  std::optional<uint32_t> min_db_pages;
  uint64_t last_sequence = 0;  // of the last valid commit (header.base_sequence if none)
  // Greater than every sequence found in any valid frame of this generation, discarded
  // tail included; the writer continues from it, so a frame left in the discarded tail
  // can never pass as part of a later transaction.
  uint64_t next_sequence = 1;
  uint64_t durable_end = 0;         // the durable end the last valid commit recorded
  bool last_commit_sync_follows = false;

  // Page number -> offset of the newest committed frame of that page. Frames superseded
  // by a later committed frame of the same page are not in it, nor are frames of pages
  // a later commit cut off (a commit's size below the page: rule 7).
  // A later version should use an open-addressing table sized from the log length (or a
  // shared-memory index like SQLite's wal-index, for multi-process readers): this map
  // allocates a node per page.
  std::unordered_map<uint32_t, uint64_t> index;

  // Counts, for stats and tests.
  uint64_t frames = 0;            // valid frames up to end (pages, commits, ignored)
  uint64_t commits = 0;           // valid commit records up to end
  uint64_t discarded_frames = 0;  // valid frames after end (an unfinished transaction)
  uint64_t scan_end = 0;          // offset where the scan stopped (first invalid frame)
};

// Recovers the log in `file`. Returns the state on success (a torn or unsynced tail is
// not an error: it is discarded). Errors:
//   kCorrupt: bytes that were durable are damaged (the message names the offset), the
//             header is damaged while frames follow it, or the header is from an
//             unsupported version;
//   kIoError: the file could not be read.
[[nodiscard]] Result<LogState> RecoverLog(File& file, const RecoverOptions& options = {});

// What ReadFrame found.
struct PageFrame {
  // True: the frame at that offset belongs to another log generation (its salt differs,
  // or the log now ends before that frame's header): the log was reset by another writer. The store refreshes
  // its index and retries once; a second stale read is corruption. Other fields unset.
  bool stale = false;
  compress::CodecId codec = compress::CodecId::kNone;
  std::span<const std::byte> payload;  // inside the caller's buffer
  uint64_t sequence = 0;
};

// Reads the page frame at `offset` into `buffer` (one read) and verifies it fully: frame
// header, checksum seeded with `salt`, the salt itself, the type (a page frame), the page
// number (`page_no`) and the codec id.
// Returns the frame (payload points into buffer) or stale; errors:
//   kChecksum: the checksum does not match (the bytes are damaged);
//   kCorrupt:  the checksum matches but the frame is not page `page_no`'s page frame, or
//              its size cannot be a page frame of this log;
//   kIoError:  the read failed.
// On failure buffer's contents are unspecified.
// REQUIRES: buffer.size() >= MaxFrameSize(page size of the log).
[[nodiscard]] Result<PageFrame> ReadFrame(File& file, uint64_t offset, uint64_t salt,
                                          uint32_t page_no, std::span<std::byte> buffer);

}  // namespace blaze::wal
