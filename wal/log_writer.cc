// wal/log_writer.cc: the store log writer (one Write per frame, sticky errors).
#include "wal/log_writer.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "wal/log_reader.h"

namespace blaze::wal {

LogWriter::LogWriter(File& file) : file_(file) {}

LogWriter::LogWriter(File& file, const LogState& recovered) : file_(file) {
  next_sequence_ = recovered.next_sequence;
  if (!recovered.has_header || recovered.stale) return;
  page_size_ = recovered.header.page_size;
  salt_ = recovered.header.salt;
  generation_ = recovered.header.generation;
  end_ = recovered.end;
  // A claim carried over is still true; bytes recovery read past it may sit in the OS
  // cache only (the previous writer was killed before syncing), so claim no more.
  durable_end_ = recovered.durable_end;
  last_commit_end_ = recovered.end;
  unclaimed_recovered_ = durable_end_ < recovered.end;
  // Whatever lies past recovered.end (a torn tail, frames of an unfinished transaction,
  // stray commit records) must be gone for good before this writer appends: otherwise a
  // later power cut could bring an old frame back next to new ones.
  trim_pending_ = true;
  buffer_.resize(MaxFrameSize(page_size_));
}

Status LogWriter::TrimTail() {
  if (!trim_pending_) return Status::Ok();
  Result<uint64_t> size = file_.Size();
  if (!size.ok()) return Fail(size.status());
  if (size.value() > end_) {
    if (Status s = file_.Truncate(end_); !s.ok()) return Fail(std::move(s));
    if (Status s = file_.Sync(); !s.ok()) return Fail(std::move(s));
    durable_end_ = end_;  // everything before end_ is committed, and now synced
    unclaimed_recovered_ = false;
  }
  trim_pending_ = false;
  return Status::Ok();
}

Status LogWriter::Fail(Status status) {
  error_ = status;
  return status;
}

Status LogWriter::CheckWritable(bool need_header) const {
  if (!error_.ok()) return error_;
  if (need_header && page_size_ == 0) {
    return Status(Code::kMisuse, "store log: append before Reset (no log header)");
  }
  return Status::Ok();
}

Status LogWriter::Reset(uint64_t salt, uint64_t generation, uint32_t page_size) {
  if (Status s = CheckWritable(false); !s.ok()) return s;
  if (!IsValidPageSize(page_size)) {
    return Status(Code::kInvalidArgument,
                  "store log: page size " + std::to_string(page_size) +
                      " is not a power of two in 512..65536");
  }
  if (page_size_ != 0 && salt == salt_) {
    return Status(Code::kInvalidArgument, "store log: Reset with the current salt");
  }
  buffer_.resize(MaxFrameSize(page_size));  // the only allocation; at most 64 KiB + 40
  // The old generation goes first, durably: a header torn by a power cut must never sit
  // in front of the previous generation's frames, which would pass for a damaged log.
  if (Status s = file_.Truncate(0); !s.ok()) return Fail(std::move(s));
  if (Status s = file_.Sync(); !s.ok()) return Fail(std::move(s));
  trim_pending_ = false;
  unclaimed_recovered_ = false;
  LogHeader header;
  header.page_size = page_size;
  header.salt = salt;
  header.generation = generation;
  header.base_sequence = next_sequence_ - 1;
  EncodeHeader(header, std::span<std::byte, kHeaderSize>(buffer_.data(), kHeaderSize));
  if (Status s = file_.Write(0, std::span<const std::byte>(buffer_.data(), kHeaderSize));
      !s.ok()) {
    return Fail(std::move(s));
  }
  // Durable before any frame is written after it: a torn header can then only be the
  // whole file.
  if (Status s = file_.Sync(); !s.ok()) return Fail(std::move(s));
  page_size_ = page_size;
  salt_ = salt;
  generation_ = generation;
  end_ = kHeaderSize;
  durable_end_ = kHeaderSize;
  last_commit_end_ = kHeaderSize;
  return Status::Ok();
}

Result<uint64_t> LogWriter::WriteFrame(const FrameFields& fields) {
  const uint64_t size = SealFrame(fields, buffer_);
  const uint64_t offset = end_;
  if (Status s = file_.Write(offset, std::span<const std::byte>(buffer_.data(), size)); !s.ok()) {
    return Fail(std::move(s));
  }
  end_ += size;
  return offset;
}

Result<uint64_t> LogWriter::AppendPage(uint32_t page_no, compress::CodecId codec,
                                       std::span<const std::byte> payload) {
  if (Status s = CheckWritable(true); !s.ok()) return s;
  if (Status s = TrimTail(); !s.ok()) return s;
  if (page_no == 0 || payload.empty() || payload.size() > page_size_ ||
      !compress::IsKnownCodec(static_cast<uint8_t>(codec))) {
    return Status(Code::kInvalidArgument,
                  "store log: bad page frame (page " + std::to_string(page_no) + ", " +
                      std::to_string(payload.size()) + " bytes, codec " +
                      std::to_string(static_cast<int>(codec)) + ", page size " +
                      std::to_string(page_size_) + ")");
  }
  FrameFields f;
  f.type = static_cast<uint8_t>(FrameType::kPage);
  f.codec = static_cast<uint8_t>(codec);
  f.page = page_no;
  f.payload_size = static_cast<uint32_t>(payload.size());
  f.salt = salt_;
  f.sequence = next_sequence_;
  std::memcpy(buffer_.data() + kFrameHeaderSize, payload.data(), payload.size());
  return WriteFrame(f);
}

Result<uint64_t> LogWriter::AppendCommit(uint32_t db_pages, bool sync_follows) {
  if (Status s = CheckWritable(true); !s.ok()) return s;
  if (Status s = TrimTail(); !s.ok()) return s;
  if (next_sequence_ >= kMaxSequence) {
    return Fail(Status(Code::kFull, "store log: commit sequence exhausted"));
  }
  if (sync_follows && unclaimed_recovered_) {
    // The commits this writer found at recovery were never claimed by a durable end (the
    // previous writer's last ones): this record would leave them unclaimed, and damage to
    // them would read as a torn tail that silently drops them and this commit too. The
    // caller syncs after this record anyway; one sync before it makes the claim true.
    if (Status s = file_.Sync(); !s.ok()) return Fail(std::move(s));
    durable_end_ = std::max(durable_end_, last_commit_end_);
    unclaimed_recovered_ = false;
  }
  FrameFields f;
  f.type = static_cast<uint8_t>(FrameType::kCommit);
  f.flags = sync_follows ? kCommitFlagSyncFollows : 0;
  f.page = db_pages;
  f.payload_size = kCommitPayloadSize;
  f.salt = salt_;
  f.sequence = next_sequence_;
  StoreU64(buffer_.data() + kFrameHeaderSize + kCommitDurableEndOffset, durable_end_);
  Result<uint64_t> offset = WriteFrame(f);
  if (offset.ok()) {
    ++next_sequence_;
    last_commit_end_ = end_;
  }
  return offset;
}

Status LogWriter::Sync() {
  if (Status s = CheckWritable(false); !s.ok()) return s;
  if (Status s = TrimTail(); !s.ok()) return s;
  if (Status s = file_.Sync(); !s.ok()) return Fail(std::move(s));
  // Claim only up to the last commit record: frames of an unfinished transaction are
  // durable too, but recovery may discard them (the commit never comes), and a claim
  // past bytes that recovery discards would later read as damage.
  durable_end_ = std::max(durable_end_, last_commit_end_);
  return Status::Ok();
}

}  // namespace blaze::wal
