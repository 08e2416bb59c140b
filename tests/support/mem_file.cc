// tests/support/mem_file.cc: the in-memory File and its power-loss simulation.
#include "tests/support/mem_file.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <string>

namespace blaze::test {
namespace {

void ApplyWrite(std::vector<std::byte>& image, uint64_t offset,
                std::span<const std::byte> data) {
  if (data.empty()) return;
  const uint64_t end = offset + data.size();
  if (image.size() < end) image.resize(end);  // zero-fills a gap
  std::memcpy(image.data() + offset, data.data(), data.size());
}

}  // namespace

MemFile::MemFile(std::vector<std::byte> bytes) : contents_(std::move(bytes)), durable_(contents_) {}

Result<size_t> MemFile::Read(uint64_t offset, std::span<std::byte> dst) {
  if (offset >= contents_.size()) return size_t{0};
  const size_t n = static_cast<size_t>(std::min<uint64_t>(dst.size(), contents_.size() - offset));
  std::memcpy(dst.data(), contents_.data() + offset, n);
  return n;
}

Status MemFile::Write(uint64_t offset, std::span<const std::byte> src) {
  if (writes_before_failure_ == 0) {
    return Status(Code::kIoError, "MemFile: injected write failure at offset " +
                                      std::to_string(offset));
  }
  if (writes_before_failure_ > 0) --writes_before_failure_;
  if (offset + src.size() < offset) {
    return Status(Code::kInvalidArgument, "MemFile: offset overflow");
  }
  ApplyWrite(contents_, offset, src);
  pending_.push_back(Operation{false, offset, std::vector<std::byte>(src.begin(), src.end())});
  ++write_count_;
  return Status::Ok();
}

Status MemFile::Sync() {
  if (fail_sync_) return Status(Code::kIoError, "MemFile: injected sync failure");
  durable_ = contents_;
  pending_.clear();
  ++sync_count_;
  return Status::Ok();
}

Result<uint64_t> MemFile::Size() { return static_cast<uint64_t>(contents_.size()); }

Status MemFile::Truncate(uint64_t size) {
  contents_.resize(size);
  pending_.push_back(Operation{true, size, {}});
  return Status::Ok();
}

void MemFile::FlipBit(uint64_t offset, unsigned bit) {
  const auto mask = static_cast<std::byte>(1u << bit);
  contents_.at(offset) ^= mask;
  if (offset < durable_.size()) durable_[offset] ^= mask;
  // A pending write covering the byte would, if replayed by PowerLoss, undo the damage;
  // damage the copy it holds too, so the bad byte survives whatever happens to the write.
  for (Operation& op : pending_) {
    if (!op.truncate && offset >= op.offset && offset < op.offset + op.data.size()) {
      op.data[offset - op.offset] ^= mask;
    }
  }
}

void MemFile::PowerLoss(LossPolicy policy, uint64_t seed, size_t tear_unit) {
  std::mt19937_64 rng(seed);
  std::vector<std::byte> image = durable_;
  enum Fate { kKeep, kDrop, kTear };
  for (const Operation& op : pending_) {
    Fate fate = kKeep;
    switch (policy) {
      case LossPolicy::kKeepAll: fate = kKeep; break;
      case LossPolicy::kDropAll: fate = kDrop; break;
      case LossPolicy::kTearAll: fate = kTear; break;
      case LossPolicy::kRandom: fate = static_cast<Fate>(rng() % 3); break;
    }
    if (op.truncate) {
      if (fate == kTear) fate = (rng() & 1) ? kKeep : kDrop;
      if (fate == kKeep) image.resize(op.offset);
      continue;
    }
    if (fate == kKeep) {
      ApplyWrite(image, op.offset, op.data);
    } else if (fate == kTear) {
      // Pieces aligned on absolute multiples of tear_unit, like disk sectors.
      uint64_t pos = op.offset;
      const uint64_t end = op.offset + op.data.size();
      while (pos < end) {
        const uint64_t piece_end = std::min<uint64_t>(end, (pos / tear_unit + 1) * tear_unit);
        if (rng() & 1) {
          ApplyWrite(image, pos,
                     std::span<const std::byte>(op.data).subspan(pos - op.offset, piece_end - pos));
        }
        pos = piece_end;
      }
    }
  }
  contents_ = image;
  durable_ = std::move(image);
  pending_.clear();
}

}  // namespace blaze::test
