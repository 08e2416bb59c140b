// vfs/blaze_vfs.cc: the VFS object, its forwarding methods, and blaze_vfs_register().
#include "vfs/blaze_vfs.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

#include "include/blaze.h"
#include "vfs/guard.h"
#include "vfs/last_error.h"
#include "vfs/mem_journal.h"
#include "vfs/store_file.h"

namespace blaze::vfs {
namespace {

sqlite3_vfs* Base(sqlite3_vfs* pVfs) { return static_cast<BlazeVfs*>(pVfs->pAppData)->base(); }

int XOpen(sqlite3_vfs* pVfs, sqlite3_filename zName, sqlite3_file* pFile, int flags,
          int* pOutFlags) noexcept {
  auto* self = static_cast<BlazeVfs*>(pVfs->pAppData);
  if (ShouldAbsorbJournal(zName, flags)) {
    return Guard(SQLITE_NOMEM, SQLITE_CANTOPEN,
                 [&] { return OpenMemJournal(zName, pFile, pOutFlags); });
  }
  if ((flags & SQLITE_OPEN_MAIN_DB) == 0) {
    // Not ours to change: the base file lives in our block under its own methods.
    return self->base()->xOpen(self->base(), zName, pFile, flags, pOutFlags);
  }
  pFile->pMethods = nullptr;
  return Guard(SQLITE_NOMEM, SQLITE_CANTOPEN,
               [&] { return StoreFile::Open(self, zName, pFile, flags, pOutFlags); });
}
int XDelete(sqlite3_vfs* pVfs, const char* zName, int syncDir) noexcept {
  // An absorbed journal never reached the disk: deleting it is done.
  if (Guard(0, 0, [&] { return ForgetAbsorbedJournal(zName) ? 1 : 0; }) == 1) return SQLITE_OK;
  return Base(pVfs)->xDelete(Base(pVfs), zName, syncDir);
}
int XAccess(sqlite3_vfs* pVfs, const char* zName, int flags, int* pResOut) noexcept {
  return Base(pVfs)->xAccess(Base(pVfs), zName, flags, pResOut);
}
int XFullPathname(sqlite3_vfs* pVfs, const char* zName, int nOut, char* zOut) noexcept {
  return Base(pVfs)->xFullPathname(Base(pVfs), zName, nOut, zOut);
}
void* XDlOpen(sqlite3_vfs* pVfs, const char* zFilename) noexcept {
  return Base(pVfs)->xDlOpen(Base(pVfs), zFilename);
}
void XDlError(sqlite3_vfs* pVfs, int nByte, char* zErrMsg) noexcept {
  Base(pVfs)->xDlError(Base(pVfs), nByte, zErrMsg);
}
void (*XDlSym(sqlite3_vfs* pVfs, void* pHandle, const char* zSymbol) noexcept)(void) {
  return Base(pVfs)->xDlSym(Base(pVfs), pHandle, zSymbol);
}
void XDlClose(sqlite3_vfs* pVfs, void* pHandle) noexcept {
  Base(pVfs)->xDlClose(Base(pVfs), pHandle);
}
int XRandomness(sqlite3_vfs* pVfs, int nByte, char* zOut) noexcept {
  return Base(pVfs)->xRandomness(Base(pVfs), nByte, zOut);
}
int XSleep(sqlite3_vfs* pVfs, int microseconds) noexcept {
  return Base(pVfs)->xSleep(Base(pVfs), microseconds);
}
int XCurrentTime(sqlite3_vfs* pVfs, double* pTime) noexcept {
  return Base(pVfs)->xCurrentTime(Base(pVfs), pTime);
}
int XGetLastError(sqlite3_vfs* pVfs, int nBuf, char* zBuf) noexcept {
  return Base(pVfs)->xGetLastError(Base(pVfs), nBuf, zBuf);
}
// Version 2 and 3 methods: present in our table only when the base has them.
int XCurrentTimeInt64(sqlite3_vfs* pVfs, sqlite3_int64* pTime) noexcept {
  return Base(pVfs)->xCurrentTimeInt64(Base(pVfs), pTime);
}
int XSetSystemCall(sqlite3_vfs* pVfs, const char* zName, sqlite3_syscall_ptr pCall) noexcept {
  return Base(pVfs)->xSetSystemCall(Base(pVfs), zName, pCall);
}
sqlite3_syscall_ptr XGetSystemCall(sqlite3_vfs* pVfs, const char* zName) noexcept {
  return Base(pVfs)->xGetSystemCall(Base(pVfs), zName);
}
const char* XNextSystemCall(sqlite3_vfs* pVfs, const char* zName) noexcept {
  return Base(pVfs)->xNextSystemCall(Base(pVfs), zName);
}

// Every BlazeVfs ever registered. Never destroyed (see the header).
std::mutex& RegistryMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}
std::vector<BlazeVfs*>& Instances() {
  static auto* all = new std::vector<BlazeVfs*>;
  return *all;
}

// The BlazeVfs registered as vfs, or null. REQUIRES: RegistryMutex() held.
BlazeVfs* FindLocked(sqlite3_vfs* vfs) {
  for (BlazeVfs* b : Instances()) {
    if (b->sqlite_vfs() == vfs) return b;
  }
  return nullptr;
}

int Fail(int rc, const std::string& message) {
  ReportError(rc, message);
  return rc;
}

}  // namespace

BlazeVfs::BlazeVfs(std::string name, sqlite3_vfs* base)
    : vfs_{}, base_(base), name_(std::move(name)) {
  const int version = std::min(3, base->iVersion);
  vfs_ = sqlite3_vfs{
      version,                          // iVersion
      std::max(StoreFile::OsFileSize(base), MemJournalSize()),  // szOsFile
      base->mxPathname,                 // mxPathname
      nullptr,                          // pNext
      name_.c_str(),                    // zName
      this,                             // pAppData
      XOpen,                            // xOpen
      XDelete,                          // xDelete
      XAccess,                          // xAccess
      XFullPathname,                    // xFullPathname
      XDlOpen,                          // xDlOpen
      XDlError,                         // xDlError
      XDlSym,                           // xDlSym
      XDlClose,                         // xDlClose
      XRandomness,                      // xRandomness
      XSleep,                           // xSleep
      XCurrentTime,                     // xCurrentTime
      base->xGetLastError ? XGetLastError : nullptr,                         // xGetLastError
      version >= 2 && base->xCurrentTimeInt64 ? XCurrentTimeInt64 : nullptr,  // xCurrentTimeInt64
      version >= 3 && base->xSetSystemCall ? XSetSystemCall : nullptr,        // xSetSystemCall
      version >= 3 && base->xGetSystemCall ? XGetSystemCall : nullptr,        // xGetSystemCall
      version >= 3 && base->xNextSystemCall ? XNextSystemCall : nullptr,      // xNextSystemCall
  };
}

BlazeVfs* BlazeVfs::From(sqlite3_vfs* vfs) {
  if (vfs == nullptr) return nullptr;
  std::lock_guard lock(RegistryMutex());
  return FindLocked(vfs);
}

int BlazeVfs::Register(const char* zName, const char* zBase, bool make_default) {
  if (!EnsureSqliteApi()) {
    return Fail(SQLITE_MISUSE,
                "blaze_vfs_register: cannot find SQLite in this process; load blaze.so "
                "once with sqlite3_load_extension() first");
  }
  if (zName == nullptr || zName[0] == '\0') {
    return Fail(SQLITE_MISUSE, "blaze_vfs_register: the VFS needs a name");
  }
  std::lock_guard lock(RegistryMutex());
  sqlite3_vfs* base = sqlite3_vfs_find(zBase);
  if (base == nullptr) {
    return Fail(SQLITE_ERROR, std::string("blaze_vfs_register: no VFS named ") +
                                  (zBase ? zBase : "(default)") + " to stack on");
  }
  // "The default VFS" means the one below Blaze when the default is a Blaze VFS: a
  // second Blaze over the first would compress twice.
  if (zBase == nullptr) {
    if (BlazeVfs* b = FindLocked(base)) base = b->base();
  }
  if (sqlite3_vfs* existing = sqlite3_vfs_find(zName)) {
    BlazeVfs* same = FindLocked(existing);
    if (same == nullptr || same->base() != base) {
      return Fail(SQLITE_ERROR, std::string("blaze_vfs_register: a different VFS named ") +
                                    zName + " is already registered");
    }
    return make_default ? sqlite3_vfs_register(existing, 1) : SQLITE_OK;
  }
  auto vfs = std::unique_ptr<BlazeVfs>(new BlazeVfs(zName, base));
  Instances().push_back(vfs.get());
  int rc = sqlite3_vfs_register(vfs->sqlite_vfs(), make_default ? 1 : 0);
  if (rc != SQLITE_OK) {
    Instances().pop_back();
    return Fail(rc, std::string("blaze_vfs_register: SQLite refused VFS ") + zName);
  }
  vfs.release();  // owned by Instances() for the life of the process
  return SQLITE_OK;
}

}  // namespace blaze::vfs

extern "C" BLAZE_API int blaze_vfs_register(const char* zName, const char* zBase,
                                            int makeDefault) noexcept {
  return blaze::vfs::Guard(SQLITE_NOMEM, SQLITE_ERROR, [&] {
    return blaze::vfs::BlazeVfs::Register(zName, zBase, makeDefault != 0);
  });
}

extern "C" BLAZE_API const char* blaze_last_error(void) noexcept {
  return blaze::vfs::LastError().c_str();
}
