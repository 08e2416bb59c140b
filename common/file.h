// common/file.h: the random-access file every layer below vfs/ reads and writes.
//
// What it is
//   An abstract byte-addressed file: read, write, sync, size, truncate. The store log
//   (wal/) and the page file are written through it, never through sqlite3_file, so those
//   layers know nothing of SQLite and can be tested over an in-memory file
//   (tests/support/mem_file.h). The vfs layer adapts an sqlite3_file to it.
//
// Contracts shared by every implementation
//  - Offsets and sizes are in bytes from the start of the file.
//  - Errors are values: a failed call returns a non-ok Status with Code::kIoError (the
//    layer below failed) or Code::kInvalidArgument (an offset overflows). Nothing throws.
//  - Durability: bytes written are visible to later Reads at once, but survive power loss
//    only once a later Sync() has returned Ok. Unsynced writes may be lost, kept, or torn
//    (any subset of their bytes reaching the disk) independently of each other: callers
//    must not assume that writes reach the disk in the order they were made.
//  - Thread safety: none, unless an implementation says otherwise. Callers serialize.
//  - Ownership: whoever creates a File owns it; the layers that use one hold a reference
//    and never close or delete it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/status.h"

namespace blaze {

class File {
 public:
  File() = default;
  virtual ~File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Reads up to dst.size() bytes at `offset` into dst.
  // Returns the number of bytes read: dst.size(), or fewer only when the file ends
  // before offset + dst.size() (0 when offset >= Size()). A short read is not an error;
  // dst[result, dst.size()) is left unchanged. On failure dst's contents are unspecified.
  [[nodiscard]] virtual Result<size_t> Read(uint64_t offset, std::span<std::byte> dst) = 0;

  // Writes all of src at `offset`, extending the file if needed; a gap between the old
  // end of the file and `offset` reads back as zeros. Either all of src is written or a
  // non-ok Status is returned, in which case any subset of src may have been written.
  [[nodiscard]] virtual Status Write(uint64_t offset, std::span<const std::byte> src) = 0;

  // Makes every write and truncate that returned Ok before this call durable.
  [[nodiscard]] virtual Status Sync() = 0;

  // Returns the current size in bytes (including unsynced writes).
  [[nodiscard]] virtual Result<uint64_t> Size() = 0;

  // Sets the size to `size`: shrinking drops the bytes beyond it, growing appends zeros.
  // Not durable until the next Sync().
  [[nodiscard]] virtual Status Truncate(uint64_t size) = 0;
};

}  // namespace blaze
