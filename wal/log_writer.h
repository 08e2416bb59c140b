// wal/log_writer.h: appends page frames and commit records to the store log.
//
// What it does: writes the log header (Reset), one frame per AppendPage/AppendCommit at
// the append point, and syncs the log file. Layout: wal/log_format.h, docs/format.md.
// What it does not do: it keeps no index (the caller, the store, maps pages to the
// offsets AppendPage returns), never reads the file, never truncates it.
//
// Assumptions about the caller:
//  - It is the only writer of the file (the store holds the write lock), and the file is
//    synced only through LogWriter::Sync: the durable end written into each commit
//    record is what this writer knows its own Syncs made durable.
//  - Salts are random per Reset (64 bits from a good source): recovery tells generations
//    apart by salt alone.
//
// Errors: a Write or Sync that fails leaves the log in a state only recovery can tell, so
// the writer stops: that call and every later one return the same error (sticky, as
// LevelDB's background error). Reopen with RecoverLog and a new LogWriter.
//
// Thread safety: none; the store serializes calls.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/file.h"
#include "common/status.h"
#include "compress/codec.h"
#include "wal/log_format.h"

namespace blaze::wal {

struct LogState;

class LogWriter {
 public:
  // A writer over `file` with no log yet: Reset before appending (appends return
  // kMisuse until then). `file` must outlive the writer; the writer never closes it.
  explicit LogWriter(File& file);

  // Continues the log `recovered` describes (RecoverLog's result for `file`): appends go
  // at recovered.end with recovered.header's salt, and sequences continue above every
  // sequence recovery saw in the file. Before its first append or sync the writer cuts
  // the file at recovered.end and syncs (once, only if anything lies past it), so no
  // discarded frame can ever come back next to new ones. When the state has no usable
  // header (!has_header or stale) the writer behaves as LogWriter(file): Reset first.
  LogWriter(File& file, const LogState& recovered);

  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Starts a new log generation: truncates the file to nothing and syncs, writes a fresh
  // header at offset 0 with `salt`, the store `generation` and `page_size`, syncs again,
  // and moves the append point right after it. Two syncs: a power cut then leaves either
  // the old log, an empty file, or a file that is only the (possibly torn) new header;
  // never a torn header in front of old frames.
  // REQUIRES: the previous generation's committed frames are no longer needed (the
  // store checkpointed them and made that durable).
  // The commit sequence continues from the previous generation (the header records the
  // base), so sequences grow for the writer's whole life.
  // REQUIRES: IsValidPageSize(page_size) (else kInvalidArgument); salt differs from the
  // current salt (else kInvalidArgument).
  // Allocates the frame buffer (MaxFrameSize(page_size) bytes) here, never per frame.
  [[nodiscard]] Status Reset(uint64_t salt, uint64_t generation, uint32_t page_size);

  // Appends a page frame: page `page_no` encoded with `codec` (as compress::EncodePage
  // returned them). Returns the frame's offset, for the caller's index. The frame is
  // pending: recovery keeps it only once a later AppendCommit has reached the file.
  // REQUIRES: page_no >= 1, 1 <= payload.size() <= page_size, codec a known id
  // (else kInvalidArgument); a header (else kMisuse).
  // On failure the append point does not move.
  [[nodiscard]] Result<uint64_t> AppendPage(uint32_t page_no, compress::CodecId codec,
                                            std::span<const std::byte> payload);

  // Appends a commit record: every frame appended since the previous commit becomes
  // committed, the database is `db_pages` pages long. `sync_follows` records that the
  // caller will call Sync() next (a durability point); it is informational (see
  // kCommitFlagSyncFollows). Returns the record's offset. The first such record of a
  // writer that continues a recovered log syncs before it is written, so that it can
  // claim the recovered commits durable (see unclaimed_recovered_).
  // REQUIRES: a header (else kMisuse). On failure the append point does not move.
  [[nodiscard]] Result<uint64_t> AppendCommit(uint32_t db_pages, bool sync_follows);

  // Syncs the file. On success every frame appended so far is durable, and later commit
  // records say so up to the last commit record (their durable end; frames of an
  // unfinished transaction are not claimed, since recovery may discard them).
  [[nodiscard]] Status Sync();

  bool has_header() const { return page_size_ != 0; }
  uint32_t page_size() const { return page_size_; }
  uint64_t salt() const { return salt_; }
  uint64_t generation() const { return generation_; }
  uint64_t end() const { return end_; }  // the append point
  uint64_t durable_end() const { return durable_end_; }
  // The sequence the next commit takes (and the frames before it carry).
  uint64_t next_sequence() const { return next_sequence_; }

 private:
  [[nodiscard]] Status Fail(Status status);
  [[nodiscard]] Status CheckWritable(bool need_header) const;
  [[nodiscard]] Result<uint64_t> WriteFrame(const FrameFields& fields);
  // Cuts what recovery discarded (see the recovering constructor); once.
  [[nodiscard]] Status TrimTail();

  File& file_;
  std::vector<std::byte> buffer_;  // one frame; MaxFrameSize(page_size_) bytes
  uint32_t page_size_ = 0;         // 0: no header yet
  uint64_t salt_ = 0;
  uint64_t generation_ = 0;
  uint64_t end_ = 0;
  uint64_t durable_end_ = 0;
  uint64_t last_commit_end_ = 0;  // end of the last commit record (or of the header)
  bool trim_pending_ = false;
  // Recovered commits past the recovered durable end, not yet claimed: the next
  // AppendCommit that announces a sync syncs first and claims them.
  bool unclaimed_recovered_ = false;
  uint64_t next_sequence_ = 1;
  Status error_;  // sticky: the first failed Write or Sync
};

}  // namespace blaze::wal
