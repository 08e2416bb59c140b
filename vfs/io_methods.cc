// vfs/io_methods.cc: C trampolines from SQLite's file methods to StoreFile members.
#include "vfs/io_methods.h"

#include <algorithm>

#include "vfs/guard.h"
#include "vfs/store_file.h"

namespace blaze::vfs {
namespace {

StoreFile* F(sqlite3_file* pFile) { return StoreFile::From(pFile); }

template <class Body>
int Io(Body&& body) noexcept {
  return Guard(SQLITE_IOERR_NOMEM, SQLITE_IOERR, static_cast<Body&&>(body));
}

int XClose(sqlite3_file* pFile) noexcept {
  return Io([&] { return F(pFile)->Close(); });
}
int XRead(sqlite3_file* pFile, void* pBuf, int iAmt, sqlite3_int64 iOfst) noexcept {
  return Io([&] { return F(pFile)->Read(pBuf, iAmt, iOfst); });
}
int XWrite(sqlite3_file* pFile, const void* pBuf, int iAmt, sqlite3_int64 iOfst) noexcept {
  return Io([&] { return F(pFile)->Write(pBuf, iAmt, iOfst); });
}
int XTruncate(sqlite3_file* pFile, sqlite3_int64 size) noexcept {
  return Io([&] { return F(pFile)->Truncate(size); });
}
int XSync(sqlite3_file* pFile, int flags) noexcept {
  return Io([&] { return F(pFile)->Sync(flags); });
}
int XFileSize(sqlite3_file* pFile, sqlite3_int64* pSize) noexcept {
  return Io([&] { return F(pFile)->FileSize(pSize); });
}
int XLock(sqlite3_file* pFile, int eLock) noexcept {
  return Io([&] { return F(pFile)->Lock(eLock); });
}
int XUnlock(sqlite3_file* pFile, int eLock) noexcept {
  return Io([&] { return F(pFile)->Unlock(eLock); });
}
int XCheckReservedLock(sqlite3_file* pFile, int* pResOut) noexcept {
  return Io([&] { return F(pFile)->CheckReservedLock(pResOut); });
}
int XFileControl(sqlite3_file* pFile, int op, void* pArg) noexcept {
  return Io([&] { return F(pFile)->FileControl(op, pArg); });
}
int XSectorSize(sqlite3_file* pFile) noexcept { return F(pFile)->SectorSize(); }
int XDeviceCharacteristics(sqlite3_file* pFile) noexcept {
  return F(pFile)->DeviceCharacteristics();
}
int XShmMap(sqlite3_file* pFile, int iPg, int pgsz, int isWrite, void volatile** pp) noexcept {
  return Io([&] { return F(pFile)->ShmMap(iPg, pgsz, isWrite, pp); });
}
int XShmLock(sqlite3_file* pFile, int offset, int n, int flags) noexcept {
  return Io([&] { return F(pFile)->ShmLock(offset, n, flags); });
}
void XShmBarrier(sqlite3_file* pFile) noexcept { F(pFile)->ShmBarrier(); }
int XShmUnmap(sqlite3_file* pFile, int deleteFlag) noexcept {
  return Io([&] { return F(pFile)->ShmUnmap(deleteFlag); });
}
int XFetch(sqlite3_file* pFile, sqlite3_int64 iOfst, int iAmt, void** pp) noexcept {
  *pp = nullptr;
  return Io([&] { return F(pFile)->Fetch(iOfst, iAmt, pp); });
}
int XUnfetch(sqlite3_file* pFile, sqlite3_int64 iOfst, void* p) noexcept {
  return Io([&] { return F(pFile)->Unfetch(iOfst, p); });
}

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
      XShmMap,                 // xShmMap            (version 2)
      XShmLock,                // xShmLock           (version 2)
      XShmBarrier,             // xShmBarrier        (version 2)
      XShmUnmap,               // xShmUnmap          (version 2)
      XFetch,                  // xFetch             (version 3)
      XUnfetch,                // xUnfetch           (version 3)
  };
}

constexpr sqlite3_io_methods kMethods[] = {MakeMethods(1), MakeMethods(2), MakeMethods(3)};

}  // namespace

const sqlite3_io_methods* StoreIoMethods(int base_version) {
  return &kMethods[std::clamp(base_version, 1, 3) - 1];
}

}  // namespace blaze::vfs
