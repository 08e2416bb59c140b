// vfs/store_file.h: a main database file opened through a Blaze VFS (a "store file").
//
// SQLite hands the VFS a block of szOsFile bytes for each open file. For a main
// database Blaze places a StoreFile at the start of that block and the base VFS's own
// file object right behind it (LowerFile()). Every I/O method SQLite calls on the file
// lands in one StoreFile member, which serves it from the compressed page store
// (vfs/store.h) shared by every connection of the process on that file. The base file
// is the page file; locks and shared memory pass through to it unchanged.
//
// How SQLite's calls map onto the store (docs/design/store.md, "Commit points"):
//  - xRead/xWrite/xTruncate/xFileSize: the store's logical file;
//  - xSync: a commit point, then one sync of the store log;
//  - SQLITE_FCNTL_COMMIT_PHASETWO, SQLITE_FCNTL_CKPT_DONE, xUnlock below RESERVED, the
//    release of the WAL checkpoint lock, and a truncate outside a write lock: commit
//    points without a sync (what synchronous=OFF gets);
//  - xLock to SHARED: Store::Refresh (see other processes' commits); a WAL read mark:
//    Store::RefreshWal, which skips the files when SQLite's wal-index shows no change;
//  - xFetch returns a pointer to the decoded page pinned in the page cache
//    (cache/page_cache.h) for offsets below PRAGMA mmap_size, and xUnfetch unpins it; the
//    memory-map hints are not passed to the base, which would map compressed bytes.
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
class SqliteFile;
struct OpenStore;

// Private file-control opcodes of a store file (sqlite3_file_control on "main"):
// checkpoint or compact the store now. pArg is unused. SQLITE_BUSY when another
// connection holds the write lock; SQLITE_MISUSE inside a write transaction.
inline constexpr int kFcntlCheckpoint = 0x426c7a01;
inline constexpr int kFcntlCompact = 0x426c7a02;

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
  // This connection no longer holds SHARED: counts it out of OpenStore::readers.
  void ReleaseShared();
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
  StoreFile(BlazeVfs* vfs, StoreOptions options);
  ~StoreFile();

  sqlite3_file* LowerFile();
  const sqlite3_io_methods* Lower() { return LowerFile()->pMethods; }
  FileStats& stats();
  // Runs `op` (a checkpoint or compaction) holding the write right on the page file.
  int RunMaintenance(bool compact);
  // A commit point without sync; `may_checkpoint`: this connection holds the write right.
  int CommitPoint(bool may_checkpoint);
  // The wal-index's record of changes to the database file (WAL salts, backfill count);
  // hi == 0: none could be read.
  struct WalIndexToken {
    uint64_t hi = 0;
    uint64_t lo = 0;
  };
  static constexpr int kWalIndexBytes = 136;
  WalIndexToken ReadWalIndexToken();
  // Before a read in WAL mode: refresh if the wal-index shows a change since the last.
  int CatchUpWithWal();

  sqlite3_file base_;  // must be first: SQLite sees this StoreFile as a sqlite3_file
  BlazeVfs* const vfs_;
  const StoreOptions options_;
  OpenStore* open_ = nullptr;          // the shared store; released in Close
  std::unique_ptr<SqliteFile> db_;     // the page file, through LowerFile()
  int lock_ = 0;                       // SQLITE_LOCK_* this connection holds
  bool ckpt_locked_ = false;           // holds the WAL checkpoint lock
  bool shm_mapped_ = false;            // the -shm file is mapped: WAL mode
  sqlite3_int64 mmap_size_ = 0;        // PRAGMA mmap_size: xFetch serves offsets below it
  // Region 0 of SQLite's wal-index (-shm) while mapped, for Store::RefreshWal.
  const volatile std::byte* wal_index_ = nullptr;
};

}  // namespace blaze::vfs
