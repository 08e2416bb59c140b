// tests/support/fault_vfs.cc: the fault-injection VFS (see fault_vfs.h).
#include "tests/support/fault_vfs.h"

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>

#include "tests/support/shim_vfs.h"

namespace blaze::test {
namespace {

struct State {
  std::atomic<int> op{0};
  std::atomic<int64_t> fail_at{0};
  std::atomic<int> error{SQLITE_IOERR};
  std::array<std::atomic<int64_t>, static_cast<int>(FaultOp::kCount)> calls{};
  std::atomic<int64_t> injected{0};
  std::atomic<bool> open_fails_with_methods{false};
  std::atomic<int64_t> opens{0};
  std::atomic<int64_t> closes{0};
};
State state;

// Counts a call of op; returns the error to inject, or SQLITE_OK to go on.
int Hit(FaultOp op) {
  const int64_t n = ++state.calls[static_cast<int>(op)];
  if (state.op.load() == static_cast<int>(op) && n == state.fail_at.load()) {
    ++state.injected;
    return state.error.load();
  }
  return SQLITE_OK;
}

// Our part of the block is the bare header (no per-file state); the real file follows.
struct FaultFile {
  sqlite3_file base;
};

sqlite3_file* Real(sqlite3_file* f) { return shim::RealFile<FaultFile>(f); }
const sqlite3_io_methods* RealM(sqlite3_file* f) { return Real(f)->pMethods; }
sqlite3_vfs* RealVfs(sqlite3_vfs* v) { return shim::RealVfs(v); }

// The shim's xClose closes the real file, if any (none when an open failed on purpose).
int Close(sqlite3_file* f) {
  ++state.closes;
  return shim::IoForward<FaultFile>::Close(f);
}
int Read(sqlite3_file* f, void* p, int n, sqlite3_int64 o) {
  if (int rc = Hit(FaultOp::kRead)) return rc;
  return RealM(f)->xRead(Real(f), p, n, o);
}
int Write(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
  if (int rc = Hit(FaultOp::kWrite)) return rc;
  return RealM(f)->xWrite(Real(f), p, n, o);
}
int Truncate(sqlite3_file* f, sqlite3_int64 s) {
  if (int rc = Hit(FaultOp::kTruncate)) return rc;
  return RealM(f)->xTruncate(Real(f), s);
}
int Sync(sqlite3_file* f, int flags) {
  if (int rc = Hit(FaultOp::kSync)) return rc;
  return RealM(f)->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* s) {
  if (int rc = Hit(FaultOp::kFileSize)) return rc;
  return RealM(f)->xFileSize(Real(f), s);
}
int Lock(sqlite3_file* f, int l) {
  if (int rc = Hit(FaultOp::kLock)) return rc;
  return RealM(f)->xLock(Real(f), l);
}
int CheckReserved(sqlite3_file* f, int* r) {
  if (int rc = Hit(FaultOp::kCheckReservedLock)) return rc;
  return RealM(f)->xCheckReservedLock(Real(f), r);
}
int ShmMap(sqlite3_file* f, int i, int s, int w, void volatile** pp) {
  if (int rc = Hit(FaultOp::kShmMap)) return rc;
  return RealM(f)->xShmMap(Real(f), i, s, w, pp);
}
int Fetch(sqlite3_file* f, sqlite3_int64 o, int n, void** pp) {
  if (int rc = Hit(FaultOp::kFetch)) {
    *pp = nullptr;
    return rc;
  }
  return RealM(f)->xFetch(Real(f), o, n, pp);
}

// The forwarding table with the hooked slots replaced; the rest pass through.
constexpr sqlite3_io_methods MakeMethods() {
  sqlite3_io_methods m = shim::ForwardingIoMethods<FaultFile>();
  m.xClose = Close;                     // xClose
  m.xRead = Read;                       // xRead
  m.xWrite = Write;                     // xWrite
  m.xTruncate = Truncate;               // xTruncate
  m.xSync = Sync;                       // xSync
  m.xFileSize = FileSize;               // xFileSize
  m.xLock = Lock;                       // xLock
  m.xCheckReservedLock = CheckReserved; // xCheckReservedLock
  m.xShmMap = ShmMap;                   // xShmMap
  m.xFetch = Fetch;                     // xFetch
  return m;
}
// Version 3 always: the tests run over unix, whose files are version 3.
constexpr sqlite3_io_methods kMethods = MakeMethods();

int Open(sqlite3_vfs* v, sqlite3_filename name, sqlite3_file* f, int flags, int* out) {
  f->pMethods = nullptr;
  Real(f)->pMethods = nullptr;
  if (int rc = Hit(FaultOp::kOpen)) {
    if (state.open_fails_with_methods) {
      ++state.opens;
      f->pMethods = &kMethods;
    }
    return rc;
  }
  if (int rc = shim::OpenReal<FaultFile>(v, name, f, flags, out)) return rc;
  ++state.opens;
  f->pMethods = &kMethods;
  return SQLITE_OK;
}
int Delete(sqlite3_vfs* v, const char* name, int sync) {
  if (int rc = Hit(FaultOp::kDelete)) return rc;
  return RealVfs(v)->xDelete(RealVfs(v), name, sync);
}
int Access(sqlite3_vfs* v, const char* n, int f, int* r) {
  if (int rc = Hit(FaultOp::kAccess)) return rc;
  return RealVfs(v)->xAccess(RealVfs(v), n, f, r);
}

}  // namespace

std::string_view FaultOpName(FaultOp op) {
  constexpr std::array<std::string_view, static_cast<int>(FaultOp::kCount)> names = {
      "open",   "read",          "write",  "sync",  "truncate", "filesize",
      "lock",   "delete",        "access", "checkreservedlock", "shmmap", "fetch"};
  return names[static_cast<int>(op)];
}

void FaultVfs::Register(const char* name, const char* base) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (sqlite3_vfs_find(name) != nullptr) return;
  sqlite3_vfs* real = sqlite3_vfs_find(base);
  // Version 2: the system-call hooks are not offered. Lives as long as the process,
  // like any registered VFS.
  auto* vfs = new sqlite3_vfs{shim::ForwardingVfs<FaultFile>(real, strdup(name), 2)};
  vfs->xOpen = Open;      // xOpen
  vfs->xDelete = Delete;  // xDelete
  vfs->xAccess = Access;  // xAccess
  sqlite3_vfs_register(vfs, 0);
}

void FaultVfs::Arm(FaultPlan plan) {
  state.fail_at = 0;  // disarm while resetting
  for (auto& c : state.calls) c = 0;
  state.injected = 0;
  state.opens = 0;
  state.closes = 0;
  state.open_fails_with_methods = plan.open_fails_with_methods;
  state.op = static_cast<int>(plan.op);
  state.error = plan.error;
  state.fail_at = plan.fail_at;
}

int64_t FaultVfs::Calls(FaultOp op) { return state.calls[static_cast<int>(op)]; }
int64_t FaultVfs::Injected() { return state.injected; }
int64_t FaultVfs::Opens() { return state.opens; }
int64_t FaultVfs::Closes() { return state.closes; }

}  // namespace blaze::test
