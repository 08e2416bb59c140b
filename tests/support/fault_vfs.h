// tests/support/fault_vfs.h: a test-only VFS that fails the Nth call of one method.
//
// Register it over a real VFS, stack blaze on top with blaze_vfs_register("...",
// "fault", 0), arm a plan, run a workload: the Nth call (counted from Arm) of the chosen
// method, on any file, returns the chosen error instead of reaching the real VFS. Every
// call is counted, armed or not, so a dry run tells how many fault points a workload
// has. One plan for the whole process: tests using it must not run concurrently.
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

struct FaultPlan {
  FaultOp op = FaultOp::kWrite;
  int64_t fail_at = 0;  // 1-based call number to fail; 0: count only
  int error = SQLITE_IOERR;
  // For kOpen: fail the way some VFSes do, with pMethods left set, so the caller must
  // still call xClose.
  bool open_fails_with_methods = false;
};

class FaultVfs {
 public:
  // Registers VFS "name" over the VFS "base" (null: default). Idempotent.
  static void Register(const char* name, const char* base);
  // Resets the call counts and installs plan.
  static void Arm(FaultPlan plan);
  // Calls of op since the last Arm.
  static int64_t Calls(FaultOp op);
  // How many faults were injected since the last Arm (0 or 1).
  static int64_t Injected();
  // Files opened and closed through this VFS since the last Arm.
  static int64_t Opens();
  static int64_t Closes();
};

}  // namespace blaze::test
