// tests/support/fault_vfs.cc: the fault-injection VFS, counting calls per method and
// file kind (see fault_vfs.h).
#include "tests/support/fault_vfs.h"

#include <array>
#include <atomic>
#include <cstring>
#include <mutex>
#include <string_view>

#include "tests/support/shim_vfs.h"

namespace blaze::test {
namespace {

constexpr int kOps = static_cast<int>(FaultOp::kCount);
constexpr int kKinds = static_cast<int>(FileKind::kCount);

struct State {
  std::atomic<int> op{0};
  std::atomic<int> kind{static_cast<int>(FileKind::kAny)};
  std::atomic<int64_t> fail_at{0};
  std::atomic<int> error{SQLITE_IOERR};
  std::array<std::atomic<int64_t>, kOps> calls{};  // every kind
  std::array<std::array<std::atomic<int64_t>, kKinds>, kOps> kind_calls{};
  std::atomic<int64_t> injected{0};
  std::atomic<bool> open_fails_with_methods{false};
  std::atomic<int64_t> opens{0};
  std::atomic<int64_t> closes{0};
};
State state;

// Counts a call of op on a file of kind; returns the error to inject, or SQLITE_OK to
// go on.
int Hit(FaultOp op, FileKind kind) {
  const int o = static_cast<int>(op);
  const int64_t total = ++state.calls[o];
  const int64_t of_kind = ++state.kind_calls[o][static_cast<int>(kind)];
  if (state.op.load() != o) return SQLITE_OK;
  const int planned = state.kind.load();
  const int64_t n = planned == static_cast<int>(FileKind::kAny) ? total
                    : planned == static_cast<int>(kind)         ? of_kind
                                                                 : 0;
  if (n != 0 && n == state.fail_at.load()) {
    ++state.injected;
    return state.error.load();
  }
  return SQLITE_OK;
}

bool EndsWith(const char* name, std::string_view suffix) {
  return name != nullptr && std::string_view(name).ends_with(suffix);
}

// The kind of a file being opened.
FileKind KindOfOpen(const char* name, int flags) {
  if (flags & SQLITE_OPEN_MAIN_DB) return FileKind::kMainDb;
  if (flags & SQLITE_OPEN_MAIN_JOURNAL) return FileKind::kMainJournal;
  if (flags & SQLITE_OPEN_WAL) {
    return EndsWith(name, "-blazelog") ? FileKind::kStoreLog : FileKind::kWal;
  }
  return FileKind::kOther;
}

// The kind of a file named in xDelete or xAccess (not open: only its name tells).
FileKind KindOfName(const char* name) {
  if (EndsWith(name, "-journal")) return FileKind::kMainJournal;
  if (EndsWith(name, "-wal")) return FileKind::kWal;
  if (EndsWith(name, "-blazelog")) return FileKind::kStoreLog;
  if (EndsWith(name, "-shm")) return FileKind::kShm;
  return FileKind::kOther;
}

// Our part of the block: the file's kind; the real file follows.
struct FaultFile {
  sqlite3_file base;
  FileKind kind;
};

FileKind Kind(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->kind; }

sqlite3_file* Real(sqlite3_file* f) { return shim::RealFile<FaultFile>(f); }
const sqlite3_io_methods* RealM(sqlite3_file* f) { return Real(f)->pMethods; }
sqlite3_vfs* RealVfs(sqlite3_vfs* v) { return shim::RealVfs(v); }

// The shim's xClose closes the real file, if any (none when an open failed on purpose).
int Close(sqlite3_file* f) {
  ++state.closes;
  return shim::IoForward<FaultFile>::Close(f);
}
int Read(sqlite3_file* f, void* p, int n, sqlite3_int64 o) {
  if (int rc = Hit(FaultOp::kRead, Kind(f))) return rc;
  return RealM(f)->xRead(Real(f), p, n, o);
}
int Write(sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
  if (int rc = Hit(FaultOp::kWrite, Kind(f))) return rc;
  return RealM(f)->xWrite(Real(f), p, n, o);
}
int Truncate(sqlite3_file* f, sqlite3_int64 s) {
  if (int rc = Hit(FaultOp::kTruncate, Kind(f))) return rc;
  return RealM(f)->xTruncate(Real(f), s);
}
int Sync(sqlite3_file* f, int flags) {
  if (int rc = Hit(FaultOp::kSync, Kind(f))) return rc;
  return RealM(f)->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* s) {
  if (int rc = Hit(FaultOp::kFileSize, Kind(f))) return rc;
  return RealM(f)->xFileSize(Real(f), s);
}
int Lock(sqlite3_file* f, int l) {
  if (int rc = Hit(FaultOp::kLock, Kind(f))) return rc;
  return RealM(f)->xLock(Real(f), l);
}
int CheckReserved(sqlite3_file* f, int* r) {
  if (int rc = Hit(FaultOp::kCheckReservedLock, Kind(f))) return rc;
  return RealM(f)->xCheckReservedLock(Real(f), r);
}
int ShmMap(sqlite3_file* f, int i, int s, int w, void volatile** pp) {
  if (int rc = Hit(FaultOp::kShmMap, FileKind::kShm)) return rc;
  return RealM(f)->xShmMap(Real(f), i, s, w, pp);
}
int Fetch(sqlite3_file* f, sqlite3_int64 o, int n, void** pp) {
  if (int rc = Hit(FaultOp::kFetch, Kind(f))) {
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
  reinterpret_cast<FaultFile*>(f)->kind = KindOfOpen(name, flags);
  if (int rc = Hit(FaultOp::kOpen, Kind(f))) {
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
  if (int rc = Hit(FaultOp::kDelete, KindOfName(name))) return rc;
  return RealVfs(v)->xDelete(RealVfs(v), name, sync);
}
int Access(sqlite3_vfs* v, const char* n, int f, int* r) {
  if (int rc = Hit(FaultOp::kAccess, KindOfName(n))) return rc;
  return RealVfs(v)->xAccess(RealVfs(v), n, f, r);
}

}  // namespace

std::string_view FaultOpName(FaultOp op) {
  constexpr std::array<std::string_view, static_cast<int>(FaultOp::kCount)> names = {
      "open",   "read",          "write",  "sync",  "truncate", "filesize",
      "lock",   "delete",        "access", "checkreservedlock", "shmmap", "fetch"};
  return names[static_cast<int>(op)];
}

std::string_view FileKindName(FileKind kind) {
  constexpr std::array<std::string_view, kKinds + 1> names = {
      "main-db", "journal", "wal", "store-log", "shm", "other", "any"};
  return names[static_cast<int>(kind)];
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
  for (auto& per_op : state.kind_calls) {
    for (auto& c : per_op) c = 0;
  }
  state.injected = 0;
  state.opens = 0;
  state.closes = 0;
  state.open_fails_with_methods = plan.open_fails_with_methods;
  state.op = static_cast<int>(plan.op);
  state.kind = static_cast<int>(plan.kind);
  state.error = plan.error;
  state.fail_at = plan.fail_at;
}

int64_t FaultVfs::Calls(FaultOp op, FileKind kind) {
  const int o = static_cast<int>(op);
  return kind == FileKind::kAny ? state.calls[o].load()
                                : state.kind_calls[o][static_cast<int>(kind)].load();
}
int64_t FaultVfs::Injected() { return state.injected; }
int64_t FaultVfs::Opens() { return state.opens; }
int64_t FaultVfs::Closes() { return state.closes; }

}  // namespace blaze::test
