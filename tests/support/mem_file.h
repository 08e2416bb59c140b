// tests/support/mem_file.h: an in-memory blaze::File for unit tests, with power-loss and
// corruption hooks.
//
// What it is
//   A File whose bytes live in a vector. It remembers the durable image (the contents as
//   of the last Sync) and every write and truncate made since, in order, so a test can
//   simulate power loss: PowerLoss() rebuilds the contents from the durable image plus
//   each unsynced operation kept, dropped or torn, as a policy and a seed decide. The
//   model is the one common/file.h promises callers: unsynced writes survive
//   independently of each other and of their order; a dropped extending write leaves a
//   hole of zeros when a later write beyond it survives.
//
// Corruption hooks (FlipBit, mutable contents()) change the bytes directly, as a bad disk
// would: they are neither writes nor unsynced, and they survive PowerLoss.
//
// Not thread-safe; tests use one MemFile per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/file.h"

namespace blaze::test {

enum class LossPolicy {
  kKeepAll,  // every unsynced write and truncate reached the disk (a process kill)
  kDropAll,  // none did
  kTearAll,  // each write kept in part: each tear unit independently, half the time
  kRandom,   // each operation independently kept, dropped or torn
};

class MemFile final : public File {
 public:
  MemFile() = default;
  // Starts with `bytes`, all durable.
  explicit MemFile(std::vector<std::byte> bytes);

  [[nodiscard]] Result<size_t> Read(uint64_t offset, std::span<std::byte> dst) override;
  [[nodiscard]] Status Write(uint64_t offset, std::span<const std::byte> src) override;
  [[nodiscard]] Status Sync() override;
  [[nodiscard]] Result<uint64_t> Size() override;
  [[nodiscard]] Status Truncate(uint64_t size) override;

  // The bytes Read sees. A test may change them in place to simulate a bad disk (not
  // logged: see the file comment).
  std::vector<std::byte>& contents() { return contents_; }
  const std::vector<std::byte>& contents() const { return contents_; }
  // The contents as of the last Sync (or construction).
  const std::vector<std::byte>& durable() const { return durable_; }

  // Inverts bit `bit` (0..7) of the byte at `offset`, in the contents and, if the byte is
  // durable, in the durable image too. REQUIRES: offset < contents().size(), bit < 8.
  void FlipBit(uint64_t offset, unsigned bit);

  // Simulates a power cut and the reboot: the contents become the durable image plus each
  // unsynced operation, in order, kept, dropped or torn per `policy`. A torn write keeps
  // each aligned `tear_unit`-byte piece (1 = any byte) independently. The result is then
  // the durable image, and no operation is pending. Deterministic for a given seed.
  // REQUIRES: tear_unit >= 1.
  void PowerLoss(LossPolicy policy, uint64_t seed, size_t tear_unit = 1);

  // After `n` more successful writes, every Write fails with kIoError and changes nothing.
  // n < 0 (the default) never fails.
  void FailWritesAfter(int64_t n) { writes_before_failure_ = n; }
  // While true, Sync fails with kIoError and makes nothing durable.
  void set_fail_sync(bool fail) { fail_sync_ = fail; }

  uint64_t sync_count() const { return sync_count_; }
  uint64_t write_count() const { return write_count_; }
  size_t pending_operations() const { return pending_.size(); }

 private:
  struct Operation {
    bool truncate = false;
    uint64_t offset = 0;  // write: where; truncate: the new size
    std::vector<std::byte> data;
  };

  std::vector<std::byte> contents_;
  std::vector<std::byte> durable_;
  std::vector<Operation> pending_;  // since the last Sync, in order
  int64_t writes_before_failure_ = -1;
  bool fail_sync_ = false;
  uint64_t sync_count_ = 0;
  uint64_t write_count_ = 0;
};

}  // namespace blaze::test
