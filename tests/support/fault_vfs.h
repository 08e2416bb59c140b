// tests/support/fault_vfs.h: a test-only VFS that fails the Nth call of one method,
// counted over all files or over the files of one kind.
//
// Register it over a real VFS, stack blaze on top with blaze_vfs_register("...",
// "fault", 0), arm a plan, run a workload: the Nth call (counted from Arm) of the chosen
// method on a file of the chosen kind (or on any file) returns the chosen error instead
// of reaching the real VFS. Every call is counted, armed or not, per method and per file
// kind, so a dry run tells how many fault points a workload has for each kind.
//
// File kinds: a file's kind is fixed when it is opened, from the xOpen flags and name
// (see FileKind). The xShm* methods act on the shared memory that belongs to a main
// database, so their calls count as kShm whatever file they are made on. xDelete and
// xAccess name a file without opening it: their kind comes from the name's suffix
// ("-journal", "-wal", "-blazelog", "-shm"); any other name is kOther.
//
// Why kinds: a VFS stacked above (blaze) adds calls of its own (its store log, its page
// file I/O), so "call N of xWrite" under blaze and under stock SQLite are different
// calls. Call N of xWrite on the main journal is the same call in both, as long as
// SQLite drives the journal the same way.
//
// One plan for the whole process: tests using it must not run concurrently.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string_view>

namespace blaze::test {

enum class FaultOp {
  kOpen, kRead, kWrite, kSync, kTruncate, kFileSize, kLock, kDelete,
  kAccess, kCheckReservedLock, kShmMap, kFetch,
  kCount
};

std::string_view FaultOpName(FaultOp op);

enum class FileKind {
  kMainDb,       // SQLITE_OPEN_MAIN_DB (under blaze: the page file)
  kMainJournal,  // SQLITE_OPEN_MAIN_JOURNAL
  kWal,          // SQLITE_OPEN_WAL, except a name ending in "-blazelog"
  kStoreLog,     // a name ending in "-blazelog" (blaze's store log, opened as a WAL)
  kShm,          // xShm* calls: the shared memory of a WAL database
  kOther,        // temp databases and journals, sub- and super-journals, anything else
  kCount,
  kAny = kCount,  // in a plan: count over every kind
};

std::string_view FileKindName(FileKind kind);

struct FaultPlan {
  FaultOp op = FaultOp::kWrite;
  int64_t fail_at = 0;  // 1-based call number (among calls of `kind`) to fail; 0: count only
  int error = SQLITE_IOERR;
  // For kOpen: fail the way some VFSes do, with pMethods left set, so the caller must
  // still call xClose.
  bool open_fails_with_methods = false;
  // Which files' calls fail_at counts; kAny: all files.
  FileKind kind = FileKind::kAny;
};

class FaultVfs {
 public:
  // Registers VFS "name" over the VFS "base" (null: default). Idempotent.
  static void Register(const char* name, const char* base);
  // Resets the call counts and installs plan.
  static void Arm(FaultPlan plan);
  // Calls of op since the last Arm, on files of kind (kAny: all files).
  static int64_t Calls(FaultOp op, FileKind kind = FileKind::kAny);
  // How many faults were injected since the last Arm (0 or 1).
  static int64_t Injected();
  // Files opened and closed through this VFS since the last Arm.
  static int64_t Opens();
  static int64_t Closes();
};

}  // namespace blaze::test
