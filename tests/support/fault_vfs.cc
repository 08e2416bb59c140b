// tests/support/fault_vfs.cc: the fault-injection VFS (see fault_vfs.h).
#include "tests/support/fault_vfs.h"

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>

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

struct FaultFile {
  sqlite3_file base;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
static_assert(sizeof(FaultFile) % 8 == 0);

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->real(); }
const sqlite3_io_methods* RealM(sqlite3_file* f) { return Real(f)->pMethods; }
sqlite3_vfs* RealVfs(sqlite3_vfs* v) { return static_cast<sqlite3_vfs*>(v->pAppData); }

int Close(sqlite3_file* f) {
  ++state.closes;
  // A file whose open failed on purpose has no real file behind it.
  return RealM(f) ? RealM(f)->xClose(Real(f)) : SQLITE_OK;
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
int Unlock(sqlite3_file* f, int l) { return RealM(f)->xUnlock(Real(f), l); }
int CheckReserved(sqlite3_file* f, int* r) {
  if (int rc = Hit(FaultOp::kCheckReservedLock)) return rc;
  return RealM(f)->xCheckReservedLock(Real(f), r);
}
int FileControl(sqlite3_file* f, int op, void* a) {
  return RealM(f)->xFileControl(Real(f), op, a);
}
int SectorSize(sqlite3_file* f) { return RealM(f)->xSectorSize(Real(f)); }
int DeviceChar(sqlite3_file* f) { return RealM(f)->xDeviceCharacteristics(Real(f)); }
int ShmMap(sqlite3_file* f, int i, int s, int w, void volatile** pp) {
  if (int rc = Hit(FaultOp::kShmMap)) return rc;
  return RealM(f)->xShmMap(Real(f), i, s, w, pp);
}
int ShmLock(sqlite3_file* f, int o, int n, int fl) {
  return RealM(f)->xShmLock(Real(f), o, n, fl);
}
void ShmBarrier(sqlite3_file* f) { RealM(f)->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int d) { return RealM(f)->xShmUnmap(Real(f), d); }
int Fetch(sqlite3_file* f, sqlite3_int64 o, int n, void** pp) {
  if (int rc = Hit(FaultOp::kFetch)) {
    *pp = nullptr;
    return rc;
  }
  return RealM(f)->xFetch(Real(f), o, n, pp);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 o, void* p) {
  return RealM(f)->xUnfetch(Real(f), o, p);
}

const sqlite3_io_methods kMethods = {
    3, Close, Read, Write, Truncate, Sync, FileSize, Lock, Unlock, CheckReserved,
    FileControl, SectorSize, DeviceChar, ShmMap, ShmLock, ShmBarrier, ShmUnmap, Fetch,
    Unfetch,
};

int Open(sqlite3_vfs* v, sqlite3_filename name, sqlite3_file* f, int flags, int* out) {
  f->pMethods = nullptr;
  sqlite3_file* real = reinterpret_cast<FaultFile*>(f)->real();
  real->pMethods = nullptr;
  if (int rc = Hit(FaultOp::kOpen)) {
    if (state.open_fails_with_methods) {
      ++state.opens;
      f->pMethods = &kMethods;
    }
    return rc;
  }
  int rc = RealVfs(v)->xOpen(RealVfs(v), name, real, flags, out);
  if (rc != SQLITE_OK) {
    if (real->pMethods) real->pMethods->xClose(real);
    return rc;
  }
  // The real file's method version bounds ours: the unix VFS gives 3.
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
int FullPathname(sqlite3_vfs* v, const char* n, int no, char* o) {
  return RealVfs(v)->xFullPathname(RealVfs(v), n, no, o);
}
void* DlOpen(sqlite3_vfs* v, const char* n) { return RealVfs(v)->xDlOpen(RealVfs(v), n); }
void DlError(sqlite3_vfs* v, int n, char* z) { RealVfs(v)->xDlError(RealVfs(v), n, z); }
void (*DlSym(sqlite3_vfs* v, void* h, const char* s))(void) {
  return RealVfs(v)->xDlSym(RealVfs(v), h, s);
}
void DlClose(sqlite3_vfs* v, void* h) { RealVfs(v)->xDlClose(RealVfs(v), h); }
int Randomness(sqlite3_vfs* v, int n, char* o) { return RealVfs(v)->xRandomness(RealVfs(v), n, o); }
int Sleep(sqlite3_vfs* v, int us) { return RealVfs(v)->xSleep(RealVfs(v), us); }
int CurrentTime(sqlite3_vfs* v, double* t) { return RealVfs(v)->xCurrentTime(RealVfs(v), t); }
int GetLastError(sqlite3_vfs* v, int n, char* z) {
  return RealVfs(v)->xGetLastError(RealVfs(v), n, z);
}
int CurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* t) {
  return RealVfs(v)->xCurrentTimeInt64(RealVfs(v), t);
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
  auto* vfs = new sqlite3_vfs{};  // lives as long as the process, like any VFS
  *vfs = sqlite3_vfs{2,
                     static_cast<int>(sizeof(FaultFile)) + real->szOsFile,
                     real->mxPathname,
                     nullptr,
                     strdup(name),
                     real,
                     Open,
                     Delete,
                     Access,
                     FullPathname,
                     DlOpen,
                     DlError,
                     DlSym,
                     DlClose,
                     Randomness,
                     Sleep,
                     CurrentTime,
                     GetLastError,
                     CurrentTimeInt64,
                     nullptr,
                     nullptr,
                     nullptr};
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
