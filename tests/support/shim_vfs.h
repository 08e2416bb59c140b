// tests/support/shim_vfs.h: pass-through tables for the test and bench shim VFSes.
//
// What it is
//   The forwarding half of a shim VFS, written once: a sqlite3_vfs whose every method
//   calls the real (lower) VFS, and a sqlite3_io_methods whose every method calls the
//   real file. A shim copies them and overrides only the slots it hooks. Header-only,
//   depends on <sqlite3.h> and the standard library alone, so bench/ (which links the
//   system libsqlite3 and no Blaze library) can include it as well as tests/support/.
//
// How to use it
//   struct MyFile { sqlite3_file base; int my_state; };   // base first, standard layout
//   constexpr sqlite3_io_methods MyMethods() {
//     sqlite3_io_methods m = shim::ForwardingIoMethods<MyFile>();
//     m.xWrite = MyWrite;                                  // xWrite: the one we hook
//     return m;
//   }
//   constexpr auto kMethods = shim::ByVersion(MyMethods());
//   int MyOpen(sqlite3_vfs* pVfs, sqlite3_filename zName, sqlite3_file* pFile, ...) {
//     pFile->pMethods = nullptr;
//     if (int rc = shim::OpenReal<MyFile>(pVfs, zName, pFile, flags, pOutFlags)) return rc;
//     pFile->pMethods = shim::MethodsFor(kMethods, shim::RealFile<MyFile>(pFile));
//     ...
//   }
//   sqlite3_vfs vfs = shim::ForwardingVfs<MyFile>(real, "my", /*max_version=*/3);
//   vfs.xOpen = MyOpen;                                    // always the shim's own
//
// Conventions
//  - The real VFS is the shim's pAppData (ForwardingVfs sets it; RealVfs reads it).
//  - A shim file is the shim's struct, then the real file at the next 8-byte boundary
//    (RealOffset); szOsFile covers both. SQLite allocates and frees the block; after
//    xOpen succeeds, the shim's xClose closes the real file (the forwarder does).
//  - Optional VFS slots (xGetLastError, xCurrentTimeInt64, the system-call trio) are
//    offered only when the real VFS has them and the shim's iVersion reaches them, so
//    SQLite falls back exactly as it would on the real VFS.
//  - A file's method table is never newer than the real file's (MethodsFor), so SQLite
//    calls a version-2/3 slot (shm, fetch) only when the real file has it.
//
// Not for the product: vfs/blaze_vfs.cc and vfs/io_methods.cc forward in their own way
// (their base is held by BlazeVfs, their file by StoreFile) and must not depend on
// tests/. The duplicates tool pairs their forwarders with these; that is accepted.
#pragma once

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>

namespace blaze::shim {

// The real VFS behind a shim registered by ForwardingVfs.
inline sqlite3_vfs* RealVfs(sqlite3_vfs* pVfs) {
  return static_cast<sqlite3_vfs*>(pVfs->pAppData);
}

// Where the real file starts inside a File block.
// REQUIRES: File is standard layout and starts with `sqlite3_file base`.
template <class File>
constexpr int RealOffset() {
  static_assert(std::is_standard_layout_v<File>, "a shim file must be standard layout");
  static_assert(offsetof(File, base) == 0, "a shim file starts with sqlite3_file base");
  return static_cast<int>((sizeof(File) + 7) & ~std::size_t{7});
}

template <class File>
sqlite3_file* RealFile(sqlite3_file* pFile) {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(pFile) + RealOffset<File>());
}

// The real file's method table. REQUIRES: the real file is open.
template <class File>
const sqlite3_io_methods* RealMethods(sqlite3_file* pFile) {
  return RealFile<File>(pFile)->pMethods;
}

// Opens the real file of a File block for the shim pVfs. On failure the real file is
// closed if its xOpen left methods set, and the code is returned; the caller leaves its
// own pMethods null. REQUIRES: pVfs was made by ForwardingVfs.
template <class File>
int OpenReal(sqlite3_vfs* pVfs, sqlite3_filename zName, sqlite3_file* pFile, int flags,
             int* pOutFlags) {
  sqlite3_file* real = RealFile<File>(pFile);
  real->pMethods = nullptr;
  const int rc = RealVfs(pVfs)->xOpen(RealVfs(pVfs), zName, real, flags, pOutFlags);
  if (rc != SQLITE_OK && real->pMethods != nullptr) real->pMethods->xClose(real);
  return rc;
}

// io methods that pass every call to the real file of a File block.
template <class File>
struct IoForward {
  static sqlite3_file* Real(sqlite3_file* pFile) { return RealFile<File>(pFile); }
  static const sqlite3_io_methods* M(sqlite3_file* pFile) { return Real(pFile)->pMethods; }

  // A shim may set pMethods on a failed open (fault injection does): no real file then.
  static int Close(sqlite3_file* pFile) noexcept {
    return M(pFile) != nullptr ? M(pFile)->xClose(Real(pFile)) : SQLITE_OK;
  }
  static int Read(sqlite3_file* pFile, void* pBuf, int iAmt, sqlite3_int64 iOfst) noexcept {
    return M(pFile)->xRead(Real(pFile), pBuf, iAmt, iOfst);
  }
  static int Write(sqlite3_file* pFile, const void* pBuf, int iAmt,
                   sqlite3_int64 iOfst) noexcept {
    return M(pFile)->xWrite(Real(pFile), pBuf, iAmt, iOfst);
  }
  static int Truncate(sqlite3_file* pFile, sqlite3_int64 size) noexcept {
    return M(pFile)->xTruncate(Real(pFile), size);
  }
  static int Sync(sqlite3_file* pFile, int flags) noexcept {
    return M(pFile)->xSync(Real(pFile), flags);
  }
  static int FileSize(sqlite3_file* pFile, sqlite3_int64* pSize) noexcept {
    return M(pFile)->xFileSize(Real(pFile), pSize);
  }
  static int Lock(sqlite3_file* pFile, int eLock) noexcept {
    return M(pFile)->xLock(Real(pFile), eLock);
  }
  static int Unlock(sqlite3_file* pFile, int eLock) noexcept {
    return M(pFile)->xUnlock(Real(pFile), eLock);
  }
  static int CheckReservedLock(sqlite3_file* pFile, int* pResOut) noexcept {
    return M(pFile)->xCheckReservedLock(Real(pFile), pResOut);
  }
  static int FileControl(sqlite3_file* pFile, int op, void* pArg) noexcept {
    return M(pFile)->xFileControl(Real(pFile), op, pArg);
  }
  static int SectorSize(sqlite3_file* pFile) noexcept {
    return M(pFile)->xSectorSize(Real(pFile));
  }
  static int DeviceCharacteristics(sqlite3_file* pFile) noexcept {
    return M(pFile)->xDeviceCharacteristics(Real(pFile));
  }
  static int ShmMap(sqlite3_file* pFile, int iPg, int pgsz, int bExtend,
                    void volatile** pp) noexcept {
    return M(pFile)->xShmMap(Real(pFile), iPg, pgsz, bExtend, pp);
  }
  static int ShmLock(sqlite3_file* pFile, int offset, int n, int flags) noexcept {
    return M(pFile)->xShmLock(Real(pFile), offset, n, flags);
  }
  static void ShmBarrier(sqlite3_file* pFile) noexcept { M(pFile)->xShmBarrier(Real(pFile)); }
  static int ShmUnmap(sqlite3_file* pFile, int deleteFlag) noexcept {
    return M(pFile)->xShmUnmap(Real(pFile), deleteFlag);
  }
  static int Fetch(sqlite3_file* pFile, sqlite3_int64 iOfst, int iAmt, void** pp) noexcept {
    return M(pFile)->xFetch(Real(pFile), iOfst, iAmt, pp);
  }
  static int Unfetch(sqlite3_file* pFile, sqlite3_int64 iOfst, void* p) noexcept {
    return M(pFile)->xUnfetch(Real(pFile), iOfst, p);
  }
};

// A version-3 table of IoForward<File>: copy it, override the hooked slots.
template <class File>
constexpr sqlite3_io_methods ForwardingIoMethods() {
  using F = IoForward<File>;
  return sqlite3_io_methods{
      3,                          // iVersion
      F::Close,                   // xClose
      F::Read,                    // xRead
      F::Write,                   // xWrite
      F::Truncate,                // xTruncate
      F::Sync,                    // xSync
      F::FileSize,                // xFileSize
      F::Lock,                    // xLock
      F::Unlock,                  // xUnlock
      F::CheckReservedLock,       // xCheckReservedLock
      F::FileControl,             // xFileControl
      F::SectorSize,              // xSectorSize
      F::DeviceCharacteristics,   // xDeviceCharacteristics
      F::ShmMap,                  // xShmMap            (version 2)
      F::ShmLock,                 // xShmLock           (version 2)
      F::ShmBarrier,              // xShmBarrier        (version 2)
      F::ShmUnmap,                // xShmUnmap          (version 2)
      F::Fetch,                   // xFetch             (version 3)
      F::Unfetch,                 // xUnfetch           (version 3)
  };
}

// methods at iVersion 1, 2 and 3 (index = version - 1), for MethodsFor.
constexpr std::array<sqlite3_io_methods, 3> ByVersion(sqlite3_io_methods methods) {
  std::array<sqlite3_io_methods, 3> tables{methods, methods, methods};
  for (int v = 1; v <= 3; ++v) tables[v - 1].iVersion = v;
  return tables;
}

// The table of tables no newer than the real file's. REQUIRES: real is open.
inline const sqlite3_io_methods* MethodsFor(const std::array<sqlite3_io_methods, 3>& tables,
                                            const sqlite3_file* real) {
  return &tables[std::clamp(real->pMethods->iVersion, 1, 3) - 1];
}

// VFS methods that pass every call to RealVfs(pVfs).
struct VfsForward {
  static int Delete(sqlite3_vfs* pVfs, const char* zName, int syncDir) noexcept {
    return RealVfs(pVfs)->xDelete(RealVfs(pVfs), zName, syncDir);
  }
  static int Access(sqlite3_vfs* pVfs, const char* zName, int flags, int* pResOut) noexcept {
    return RealVfs(pVfs)->xAccess(RealVfs(pVfs), zName, flags, pResOut);
  }
  static int FullPathname(sqlite3_vfs* pVfs, const char* zName, int nOut,
                          char* zOut) noexcept {
    return RealVfs(pVfs)->xFullPathname(RealVfs(pVfs), zName, nOut, zOut);
  }
  static void* DlOpen(sqlite3_vfs* pVfs, const char* zFilename) noexcept {
    return RealVfs(pVfs)->xDlOpen(RealVfs(pVfs), zFilename);
  }
  static void DlError(sqlite3_vfs* pVfs, int nByte, char* zErrMsg) noexcept {
    RealVfs(pVfs)->xDlError(RealVfs(pVfs), nByte, zErrMsg);
  }
  static void (*DlSym(sqlite3_vfs* pVfs, void* pHandle, const char* zSymbol) noexcept)(void) {
    return RealVfs(pVfs)->xDlSym(RealVfs(pVfs), pHandle, zSymbol);
  }
  static void DlClose(sqlite3_vfs* pVfs, void* pHandle) noexcept {
    RealVfs(pVfs)->xDlClose(RealVfs(pVfs), pHandle);
  }
  static int Randomness(sqlite3_vfs* pVfs, int nByte, char* zOut) noexcept {
    return RealVfs(pVfs)->xRandomness(RealVfs(pVfs), nByte, zOut);
  }
  static int Sleep(sqlite3_vfs* pVfs, int microseconds) noexcept {
    return RealVfs(pVfs)->xSleep(RealVfs(pVfs), microseconds);
  }
  static int CurrentTime(sqlite3_vfs* pVfs, double* pTime) noexcept {
    return RealVfs(pVfs)->xCurrentTime(RealVfs(pVfs), pTime);
  }
  static int GetLastError(sqlite3_vfs* pVfs, int nBuf, char* zBuf) noexcept {
    return RealVfs(pVfs)->xGetLastError(RealVfs(pVfs), nBuf, zBuf);
  }
  static int CurrentTimeInt64(sqlite3_vfs* pVfs, sqlite3_int64* pTime) noexcept {
    return RealVfs(pVfs)->xCurrentTimeInt64(RealVfs(pVfs), pTime);
  }
  static int SetSystemCall(sqlite3_vfs* pVfs, const char* zName,
                           sqlite3_syscall_ptr pCall) noexcept {
    return RealVfs(pVfs)->xSetSystemCall(RealVfs(pVfs), zName, pCall);
  }
  static sqlite3_syscall_ptr GetSystemCall(sqlite3_vfs* pVfs, const char* zName) noexcept {
    return RealVfs(pVfs)->xGetSystemCall(RealVfs(pVfs), zName);
  }
  static const char* NextSystemCall(sqlite3_vfs* pVfs, const char* zName) noexcept {
    return RealVfs(pVfs)->xNextSystemCall(RealVfs(pVfs), zName);
  }
};

// A shim VFS named zName over real, with File blocks, forwarding everything but xOpen
// (left null: the shim sets its own). iVersion is the smaller of max_version and the
// real VFS's; a shim that must not let callers reach around it (system calls) passes 2.
// zName is not copied: it must outlive the VFS.
template <class File>
sqlite3_vfs ForwardingVfs(sqlite3_vfs* real, const char* zName, int max_version) {
  using V = VfsForward;
  const int version = std::min(max_version, real->iVersion);
  const bool v2 = version >= 2;
  const bool v3 = version >= 3;
  return sqlite3_vfs{
      version,                                               // iVersion
      RealOffset<File>() + real->szOsFile,                   // szOsFile
      real->mxPathname,                                      // mxPathname
      nullptr,                                               // pNext
      zName,                                                 // zName
      real,                                                  // pAppData
      nullptr,                                               // xOpen
      V::Delete,                                             // xDelete
      V::Access,                                             // xAccess
      V::FullPathname,                                       // xFullPathname
      V::DlOpen,                                             // xDlOpen
      V::DlError,                                            // xDlError
      V::DlSym,                                              // xDlSym
      V::DlClose,                                            // xDlClose
      V::Randomness,                                         // xRandomness
      V::Sleep,                                              // xSleep
      V::CurrentTime,                                        // xCurrentTime
      real->xGetLastError ? V::GetLastError : nullptr,       // xGetLastError
      v2 && real->xCurrentTimeInt64 ? V::CurrentTimeInt64 : nullptr,  // xCurrentTimeInt64
      v3 && real->xSetSystemCall ? V::SetSystemCall : nullptr,        // xSetSystemCall
      v3 && real->xGetSystemCall ? V::GetSystemCall : nullptr,        // xGetSystemCall
      v3 && real->xNextSystemCall ? V::NextSystemCall : nullptr,      // xNextSystemCall
  };
}

}  // namespace blaze::shim
