// bench/count_vfs.h: a counting shim VFS, so stock and blaze runs report I/O alike.
//
// What it is: "bench_count", a pass-through VFS over "unix" that counts the reads,
// writes, bytes written and syncs of every file it opens (main database, journals, -wal,
// Blaze's own files), by file kind, plus the directory syncs that xDelete asks for.
//
// How it is used: the bench registers it as the default VFS before it loads blaze.so,
// so a stock run opens its database through bench_count -> unix and a blaze run through
// blaze -> bench_count -> unix. The counts are what reached the OS on both sides, which
// is the only figure that means the same thing for both (blaze_stats only sees what
// SQLite asks of Blaze's main file).
//
// Cost: one indirect call per I/O and a relaxed atomic add, the same on both sides.
#pragma once

#include <sqlite3.h>

#include <array>
#include <atomic>
#include <cstdint>

namespace blaze::bench {

enum class FileKind : int { kMainDb, kJournal, kWal, kOther, kCount };
inline constexpr int kFileKindCount = static_cast<int>(FileKind::kCount);

struct IoCounts {
  std::array<uint64_t, kFileKindCount> syncs{};
  std::array<uint64_t, kFileKindCount> reads{};
  std::array<uint64_t, kFileKindCount> writes{};
  std::array<uint64_t, kFileKindCount> bytes_written{};
  uint64_t dir_syncs = 0;  // xDelete(..., syncDir=1)

  uint64_t TotalSyncs() const;
  uint64_t TotalBytesWritten() const;
  IoCounts operator-(const IoCounts& earlier) const;
};

// Registers bench_count over "unix" and makes it the default VFS. Call once, before any
// database is opened and before blaze.so is loaded. Returns an SQLite result code.
int RegisterCountVfs();

// The counts since the process started (a snapshot of relaxed atomics).
IoCounts ReadIoCounts();

}  // namespace blaze::bench
