// vfs/store_file.h: a main database file opened through a Blaze VFS (a "store file").
//
// SQLite hands the VFS a block of szOsFile bytes for each open file. For a main
// database Blaze places a StoreFile at the start of that block and the base VFS's own
// file object right behind it (LowerFile()). Every I/O method SQLite calls on the file
// lands in one StoreFile member. Today a StoreFile forwards to the base file and counts
// what passes; the compressed page store (docs/architecture.md) replaces the forwarding
// behind the same members.
//
// Assumptions about the caller (SQLite's pager):
//  - it serialises calls on one sqlite3_file (one connection, one thread at a time);
//  - xShm* methods and xFetch/xUnfetch are called only when the method table's
//    iVersion allows, and the table's iVersion never exceeds the base file's.
//
// Error codes are SQLite result codes here, not Status: this layer is the C boundary,
// and the base VFS's extended codes (SQLITE_IOERR_SHORT_READ, SQLITE_BUSY, ...) must
// reach SQLite unchanged.
#pragma once

#include <memory>
#include <string>

#include "vfs/options.h"
#include "vfs/sqlite_api.h"
#include "vfs/stats.h"

namespace blaze::vfs {

class BlazeVfs;

class StoreFile {
 public:
  // Bytes of the block SQLite must allocate per file: this object plus the base's.
  static int OsFileSize(const sqlite3_vfs* base);

  // The StoreFile placed in a block that SQLite allocated.
  static StoreFile* From(sqlite3_file* pFile) { return reinterpret_cast<StoreFile*>(pFile); }

  // Opens the main database zName on the base VFS inside the block at pFile. On success
  // pFile->pMethods is set and xClose (Close) frees everything; on failure
  // pFile->pMethods is null and nothing needs closing.
  static int Open(BlazeVfs* vfs, const char* zName, sqlite3_file* pFile, int flags,
                  int* pOutFlags);

  StoreFile(const StoreFile&) = delete;
  StoreFile& operator=(const StoreFile&) = delete;

  int Close();
  int Read(void* pBuf, int iAmt, sqlite3_int64 iOfst);
  int Write(const void* pBuf, int iAmt, sqlite3_int64 iOfst);
  int Truncate(sqlite3_int64 size);
  int Sync(int flags);
  int FileSize(sqlite3_int64* pSize);
  int Lock(int eLock);
  int Unlock(int eLock);
  int CheckReservedLock(int* pResOut);
  int FileControl(int op, void* pArg);
  int SectorSize();
  int DeviceCharacteristics();
  int ShmMap(int iPg, int pgsz, int isWrite, void volatile** pp);
  int ShmLock(int offset, int n, int flags);
  void ShmBarrier();
  int ShmUnmap(int deleteFlag);
  int Fetch(sqlite3_int64 iOfst, int iAmt, void** pp);
  int Unfetch(sqlite3_int64 iOfst, void* p);

 private:
  StoreFile(BlazeVfs* vfs, StoreOptions options, std::shared_ptr<FileStats> stats);
  ~StoreFile();

  sqlite3_file* LowerFile();
  const sqlite3_io_methods* Lower() { return LowerFile()->pMethods; }

  sqlite3_file base_;  // must be first: SQLite sees this StoreFile as a sqlite3_file
  BlazeVfs* const vfs_;
  const StoreOptions options_;
  const std::shared_ptr<FileStats> stats_;
};

}  // namespace blaze::vfs
