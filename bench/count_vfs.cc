// bench/count_vfs.cc: the bench_count shim VFS (see count_vfs.h).
//
// Layout: a CountFile is our header followed by the base VFS's file object, so
// szOsFile = sizeof(CountFile) + base->szOsFile and Real() finds the lower file.
// After xOpen succeeds, xClose closes the lower file; SQLite frees the block.
// Methods the base does not have (iVersion < 3) are not offered either.
#include "bench/count_vfs.h"

#include <algorithm>
#include <cstring>

namespace blaze::bench {
namespace {

struct Counters {
  std::array<std::atomic<uint64_t>, kFileKindCount> syncs{};
  std::array<std::atomic<uint64_t>, kFileKindCount> writes{};
  std::array<std::atomic<uint64_t>, kFileKindCount> bytes_written{};
  std::atomic<uint64_t> dir_syncs{0};
};
Counters g_counters;

sqlite3_vfs* g_base = nullptr;
sqlite3_vfs g_vfs;

struct CountFile {
  sqlite3_file base;  // must be first: SQLite sees this
  int kind;           // FileKind of this file
};

sqlite3_file* Real(sqlite3_file* pFile) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(pFile) + sizeof(CountFile));
}
int Kind(sqlite3_file* pFile) { return reinterpret_cast<CountFile*>(pFile)->kind; }

void Add(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.fetch_add(n, std::memory_order_relaxed);
}

int KindOf(int flags) {
  if (flags & SQLITE_OPEN_MAIN_DB) return static_cast<int>(FileKind::kMainDb);
  if (flags & SQLITE_OPEN_MAIN_JOURNAL) return static_cast<int>(FileKind::kJournal);
  if (flags & SQLITE_OPEN_WAL) return static_cast<int>(FileKind::kWal);
  return static_cast<int>(FileKind::kOther);
}

int XClose(sqlite3_file* pFile) {
  sqlite3_file* real = Real(pFile);
  return real->pMethods ? real->pMethods->xClose(real) : SQLITE_OK;
}
int XRead(sqlite3_file* pFile, void* pBuf, int iAmt, sqlite3_int64 iOfst) {
  return Real(pFile)->pMethods->xRead(Real(pFile), pBuf, iAmt, iOfst);
}
int XWrite(sqlite3_file* pFile, const void* pBuf, int iAmt, sqlite3_int64 iOfst) {
  Add(g_counters.writes[Kind(pFile)], 1);
  Add(g_counters.bytes_written[Kind(pFile)], static_cast<uint64_t>(iAmt));
  return Real(pFile)->pMethods->xWrite(Real(pFile), pBuf, iAmt, iOfst);
}
int XTruncate(sqlite3_file* pFile, sqlite3_int64 size) {
  return Real(pFile)->pMethods->xTruncate(Real(pFile), size);
}
int XSync(sqlite3_file* pFile, int flags) {
  Add(g_counters.syncs[Kind(pFile)], 1);
  return Real(pFile)->pMethods->xSync(Real(pFile), flags);
}
int XFileSize(sqlite3_file* pFile, sqlite3_int64* pSize) {
  return Real(pFile)->pMethods->xFileSize(Real(pFile), pSize);
}
int XLock(sqlite3_file* pFile, int eLock) {
  return Real(pFile)->pMethods->xLock(Real(pFile), eLock);
}
int XUnlock(sqlite3_file* pFile, int eLock) {
  return Real(pFile)->pMethods->xUnlock(Real(pFile), eLock);
}
int XCheckReservedLock(sqlite3_file* pFile, int* pResOut) {
  return Real(pFile)->pMethods->xCheckReservedLock(Real(pFile), pResOut);
}
int XFileControl(sqlite3_file* pFile, int op, void* pArg) {
  return Real(pFile)->pMethods->xFileControl(Real(pFile), op, pArg);
}
int XSectorSize(sqlite3_file* pFile) { return Real(pFile)->pMethods->xSectorSize(Real(pFile)); }
int XDeviceCharacteristics(sqlite3_file* pFile) {
  return Real(pFile)->pMethods->xDeviceCharacteristics(Real(pFile));
}
int XShmMap(sqlite3_file* pFile, int iPg, int pgsz, int isWrite, void volatile** pp) {
  return Real(pFile)->pMethods->xShmMap(Real(pFile), iPg, pgsz, isWrite, pp);
}
int XShmLock(sqlite3_file* pFile, int offset, int n, int flags) {
  return Real(pFile)->pMethods->xShmLock(Real(pFile), offset, n, flags);
}
void XShmBarrier(sqlite3_file* pFile) { Real(pFile)->pMethods->xShmBarrier(Real(pFile)); }
int XShmUnmap(sqlite3_file* pFile, int deleteFlag) {
  return Real(pFile)->pMethods->xShmUnmap(Real(pFile), deleteFlag);
}
int XFetch(sqlite3_file* pFile, sqlite3_int64 iOfst, int iAmt, void** pp) {
  return Real(pFile)->pMethods->xFetch(Real(pFile), iOfst, iAmt, pp);
}
int XUnfetch(sqlite3_file* pFile, sqlite3_int64 iOfst, void* p) {
  return Real(pFile)->pMethods->xUnfetch(Real(pFile), iOfst, p);
}

// One table per lower-file version, so we never offer a method the lower file lacks.
constexpr sqlite3_io_methods MakeMethods(int version) {
  return sqlite3_io_methods{
      version,                 // iVersion
      XClose,                  // xClose
      XRead,                   // xRead
      XWrite,                  // xWrite
      XTruncate,               // xTruncate
      XSync,                   // xSync
      XFileSize,               // xFileSize
      XLock,                   // xLock
      XUnlock,                 // xUnlock
      XCheckReservedLock,      // xCheckReservedLock
      XFileControl,            // xFileControl
      XSectorSize,             // xSectorSize
      XDeviceCharacteristics,  // xDeviceCharacteristics
      XShmMap,                 // xShmMap
      XShmLock,                // xShmLock
      XShmBarrier,             // xShmBarrier
      XShmUnmap,               // xShmUnmap
      XFetch,                  // xFetch
      XUnfetch,                // xUnfetch
  };
}
constexpr std::array<sqlite3_io_methods, 4> kMethods = {MakeMethods(0), MakeMethods(1),
                                                        MakeMethods(2), MakeMethods(3)};

int XOpen(sqlite3_vfs*, sqlite3_filename zName, sqlite3_file* pFile, int flags, int* pOutFlags) {
  auto* file = reinterpret_cast<CountFile*>(pFile);
  file->base.pMethods = nullptr;
  file->kind = KindOf(flags);
  sqlite3_file* real = Real(pFile);
  int rc = g_base->xOpen(g_base, zName, real, flags, pOutFlags);
  if (rc == SQLITE_OK && real->pMethods != nullptr) {
    file->base.pMethods = &kMethods[std::clamp(real->pMethods->iVersion, 1, 3)];
  }
  return rc;
}
int XDelete(sqlite3_vfs*, const char* zName, int syncDir) {
  if (syncDir) Add(g_counters.dir_syncs, 1);
  return g_base->xDelete(g_base, zName, syncDir);
}
int XAccess(sqlite3_vfs*, const char* zName, int flags, int* pResOut) {
  return g_base->xAccess(g_base, zName, flags, pResOut);
}
int XFullPathname(sqlite3_vfs*, const char* zName, int nOut, char* zOut) {
  return g_base->xFullPathname(g_base, zName, nOut, zOut);
}
void* XDlOpen(sqlite3_vfs*, const char* zFilename) { return g_base->xDlOpen(g_base, zFilename); }
void XDlError(sqlite3_vfs*, int nByte, char* zErrMsg) { g_base->xDlError(g_base, nByte, zErrMsg); }
void (*XDlSym(sqlite3_vfs*, void* pHandle, const char* zSymbol))(void) {
  return g_base->xDlSym(g_base, pHandle, zSymbol);
}
void XDlClose(sqlite3_vfs*, void* pHandle) { g_base->xDlClose(g_base, pHandle); }
int XRandomness(sqlite3_vfs*, int nByte, char* zOut) {
  return g_base->xRandomness(g_base, nByte, zOut);
}
int XSleep(sqlite3_vfs*, int microseconds) { return g_base->xSleep(g_base, microseconds); }
int XCurrentTime(sqlite3_vfs*, double* pOut) { return g_base->xCurrentTime(g_base, pOut); }
int XGetLastError(sqlite3_vfs*, int n, char* z) {
  return g_base->xGetLastError ? g_base->xGetLastError(g_base, n, z) : 0;
}
int XCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* pOut) {
  return g_base->xCurrentTimeInt64(g_base, pOut);
}
int XSetSystemCall(sqlite3_vfs*, const char* zName, sqlite3_syscall_ptr p) {
  return g_base->xSetSystemCall(g_base, zName, p);
}
sqlite3_syscall_ptr XGetSystemCall(sqlite3_vfs*, const char* zName) {
  return g_base->xGetSystemCall(g_base, zName);
}
const char* XNextSystemCall(sqlite3_vfs*, const char* zName) {
  return g_base->xNextSystemCall(g_base, zName);
}

}  // namespace

uint64_t IoCounts::TotalSyncs() const {
  uint64_t n = dir_syncs;
  for (uint64_t s : syncs) n += s;
  return n;
}

uint64_t IoCounts::TotalBytesWritten() const {
  uint64_t n = 0;
  for (uint64_t b : bytes_written) n += b;
  return n;
}

IoCounts IoCounts::operator-(const IoCounts& earlier) const {
  IoCounts d;
  for (int k = 0; k < kFileKindCount; ++k) {
    d.syncs[k] = syncs[k] - earlier.syncs[k];
    d.writes[k] = writes[k] - earlier.writes[k];
    d.bytes_written[k] = bytes_written[k] - earlier.bytes_written[k];
  }
  d.dir_syncs = dir_syncs - earlier.dir_syncs;
  return d;
}

int RegisterCountVfs() {
  g_base = sqlite3_vfs_find("unix");
  if (g_base == nullptr) return SQLITE_ERROR;
  // Every xCurrentTimeInt64..xNextSystemCall slot exists from iVersion 2 and 3 on; the
  // unix VFS is version 3, and we claim no more than it has.
  g_vfs = sqlite3_vfs{
      std::min(3, g_base->iVersion),                           // iVersion
      static_cast<int>(sizeof(CountFile)) + g_base->szOsFile,  // szOsFile
      g_base->mxPathname,                                      // mxPathname
      nullptr,                                                 // pNext
      "bench_count",                                           // zName
      nullptr,                                                 // pAppData
      XOpen,                                                   // xOpen
      XDelete,                                                 // xDelete
      XAccess,                                                 // xAccess
      XFullPathname,                                           // xFullPathname
      XDlOpen,                                                 // xDlOpen
      XDlError,                                                // xDlError
      XDlSym,                                                  // xDlSym
      XDlClose,                                                // xDlClose
      XRandomness,                                             // xRandomness
      XSleep,                                                  // xSleep
      XCurrentTime,                                            // xCurrentTime
      XGetLastError,                                           // xGetLastError
      XCurrentTimeInt64,                                       // xCurrentTimeInt64
      XSetSystemCall,                                          // xSetSystemCall
      XGetSystemCall,                                          // xGetSystemCall
      XNextSystemCall,                                         // xNextSystemCall
  };
  return sqlite3_vfs_register(&g_vfs, /*makeDflt=*/1);
}

IoCounts ReadIoCounts() {
  IoCounts c;
  for (int k = 0; k < kFileKindCount; ++k) {
    c.syncs[k] = g_counters.syncs[k].load(std::memory_order_relaxed);
    c.writes[k] = g_counters.writes[k].load(std::memory_order_relaxed);
    c.bytes_written[k] = g_counters.bytes_written[k].load(std::memory_order_relaxed);
  }
  c.dir_syncs = g_counters.dir_syncs.load(std::memory_order_relaxed);
  return c;
}

}  // namespace blaze::bench
