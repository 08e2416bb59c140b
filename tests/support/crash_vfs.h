// tests/support/crash_vfs.h: a test-only VFS that simulates power loss.
//
// What it is
//   A shim over a real VFS (register it as "crash" over "unix", stack blaze on top with
//   blaze_vfs_register("blaze-crash", "crash", 0)). Every file SQLite or blaze opens goes
//   through it. Writes and truncates reach the real file at once, so reads see them, and
//   the shim remembers, per file path, every write and truncate since that path's last
//   xSync: the old bytes and old size (to undo it) and the new bytes (to redo it). xSync
//   makes them durable: it forgets them. It never calls the real xSync: durability is
//   simulated, the real disk's is irrelevant (and skipping fsync keeps the sweeps fast).
//
// How to use it
//   Reset() with no file open, Arm() a crash point N, run a workload. Writes, truncates,
//   syncs and deletes are counted from Arm; at operation N the power goes: that call and
//   every later one (reads, locks, opens too; never xClose) fail with an SQLITE_IOERR_*
//   code, so the app stops. Close every connection, then PowerLoss() rewrites each file on
//   disk as it would be found after the reboot: its durable state, plus each unsynced write
//   in order kept, dropped or torn (a random subset of its 512-byte sectors) as the policy
//   and seed decide. Then reopen (the shim is disarmed) and verify. A dry run with Arm({0})
//   counts the operations a workload makes.
//
// The model (docs/testing-crashes.md says why)
//  - Metadata is ordered per file, as on a journaling file system (ext4, XFS): an unsynced
//    truncate survives whenever a later change of the same file does (unless the plan
//    says unordered_truncates). Data is not ordered: unsynced writes survive
//    independently, and a dropped extending write leaves a hole of zeros if a later one
//    beyond it survives.
//  - A write in flight when the power goes (operation N is a write or truncate) is logged
//    like any unsynced write: it may survive, vanish or tear.
//  - Directory operations are durable at once: a created file exists after the crash
//    (empty unless writes to it were synced or kept), a deleted file stays deleted. Real
//    file systems need a directory fsync for that; this model is weaker than reality there.
//  - Shared memory (xShm*) passes through and does not survive: PowerLoss deletes the
//    "-shm" of every main database it saw, as a reboot would leave it stale.
//  - Files without a name or opened with SQLITE_OPEN_DELETEONCLOSE (temp databases,
//    statement journals, sorter files) count operations and fail after the crash, but are
//    not logged: nothing of them matters after a reboot.
//  - File size changes only through xWrite and xTruncate (SQLITE_FCNTL_SIZE_HINT is
//    answered without preallocating), so every change is in the log.
//
// One plan for the whole process, guarded by a mutex: tests using it must not run
// concurrently with each other.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string_view>

namespace blaze::test {

enum class PowerLossPolicy {
  kKeepAll,  // every unsynced write reached the disk (what a process kill leaves)
  kDropAll,  // none did
  kRandom,   // each one independently kept, dropped or torn
};

std::string_view PowerLossPolicyName(PowerLossPolicy policy);

struct CrashPlan {
  int64_t crash_at = 0;  // 1-based operation that loses power; 0: count only
  // Self-test only: xSync returns SQLITE_OK but makes nothing durable, like a disk that
  // acknowledges flushes it never does. A sound verifier must then see damage.
  bool lie_about_sync = false;
  // Model a file system without ordered metadata (ext2, FAT: SQLite's "older file
  // systems"): an unsynced truncate may be lost while later writes to the regrown file
  // survive. By default a truncate survives whenever a later change of its file does.
  bool unordered_truncates = false;
};

// What PowerLoss did.
struct PowerLossReport {
  int64_t files = 0;  // files with unsynced changes
  int64_t kept = 0;   // writes and truncates that survived whole
  int64_t dropped = 0;
  int64_t torn = 0;   // writes of which only some sectors survived
};

class CrashVfs {
 public:
  // The unit of tearing: a write survives or vanishes in aligned pieces of this size.
  static constexpr int64_t kSectorSize = 512;

  // Registers VFS "name" over the VFS "base" (null: default). Idempotent.
  static void Register(const char* name, const char* base);

  // Forgets every path's history and the crash: what is on disk now counts as durable.
  // Disarms. REQUIRES: no file open through the shim.
  static void Reset();

  // Resets the operation count and installs plan. Keeps the history of unsynced writes.
  static void Arm(CrashPlan plan);

  // Writes, truncates, syncs and deletes since the last Arm.
  static int64_t Ops();
  // Has the power gone since the last Arm?
  static bool Crashed();
  // Files open through the shim now.
  static int64_t OpenFiles();

  // Rewrites every file with unsynced changes as found after a power loss (see above),
  // deletes the "-shm" files, then does what Reset() does. Returns what it did; on an
  // I/O error of its own it fails the calling test.
  // REQUIRES: no file open through the shim (close every connection first).
  static PowerLossReport PowerLoss(uint64_t seed, PowerLossPolicy policy);
};

}  // namespace blaze::test
