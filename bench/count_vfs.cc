// bench/count_vfs.cc: the bench_count shim VFS (see count_vfs.h).
//
// Layout: a CountFile is our header followed by the base VFS's file object, as
// tests/support/shim_vfs.h lays a shim file out; every slot not hooked here forwards
// through that header's tables. After xOpen succeeds, xClose closes the lower file;
// SQLite frees the block. Methods the base does not have (iVersion < 3) are not offered.
#include "bench/count_vfs.h"

#include "tests/support/shim_vfs.h"

namespace blaze::bench {
namespace {

struct Counters {
  std::array<std::atomic<uint64_t>, kFileKindCount> syncs{};
  std::array<std::atomic<uint64_t>, kFileKindCount> reads{};
  std::array<std::atomic<uint64_t>, kFileKindCount> writes{};
  std::array<std::atomic<uint64_t>, kFileKindCount> bytes_written{};
  std::atomic<uint64_t> dir_syncs{0};
};
Counters g_counters;

sqlite3_vfs g_vfs;

struct CountFile {
  sqlite3_file base;  // must be first: SQLite sees this
  int kind;           // FileKind of this file
};

sqlite3_file* Real(sqlite3_file* pFile) { return shim::RealFile<CountFile>(pFile); }
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

int XRead(sqlite3_file* pFile, void* pBuf, int iAmt, sqlite3_int64 iOfst) {
  Add(g_counters.reads[Kind(pFile)], 1);
  return Real(pFile)->pMethods->xRead(Real(pFile), pBuf, iAmt, iOfst);
}
int XWrite(sqlite3_file* pFile, const void* pBuf, int iAmt, sqlite3_int64 iOfst) {
  Add(g_counters.writes[Kind(pFile)], 1);
  Add(g_counters.bytes_written[Kind(pFile)], static_cast<uint64_t>(iAmt));
  return Real(pFile)->pMethods->xWrite(Real(pFile), pBuf, iAmt, iOfst);
}
int XSync(sqlite3_file* pFile, int flags) {
  Add(g_counters.syncs[Kind(pFile)], 1);
  return Real(pFile)->pMethods->xSync(Real(pFile), flags);
}

// The forwarding table with the counted slots replaced, at versions 1 to 3, so we never
// offer a method the lower file lacks.
constexpr sqlite3_io_methods MakeMethods() {
  sqlite3_io_methods m = shim::ForwardingIoMethods<CountFile>();
  m.xRead = XRead;    // xRead
  m.xWrite = XWrite;  // xWrite
  m.xSync = XSync;    // xSync
  return m;
}
constexpr auto kMethods = shim::ByVersion(MakeMethods());

int XOpen(sqlite3_vfs* pVfs, sqlite3_filename zName, sqlite3_file* pFile, int flags,
          int* pOutFlags) {
  auto* file = reinterpret_cast<CountFile*>(pFile);
  file->base.pMethods = nullptr;
  file->kind = KindOf(flags);
  const int rc = shim::OpenReal<CountFile>(pVfs, zName, pFile, flags, pOutFlags);
  if (rc == SQLITE_OK && Real(pFile)->pMethods != nullptr) {
    file->base.pMethods = shim::MethodsFor(kMethods, Real(pFile));
  }
  return rc;
}
int XDelete(sqlite3_vfs* pVfs, const char* zName, int syncDir) {
  if (syncDir) Add(g_counters.dir_syncs, 1);
  return shim::RealVfs(pVfs)->xDelete(shim::RealVfs(pVfs), zName, syncDir);
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
    d.reads[k] = reads[k] - earlier.reads[k];
    d.writes[k] = writes[k] - earlier.writes[k];
    d.bytes_written[k] = bytes_written[k] - earlier.bytes_written[k];
  }
  d.dir_syncs = dir_syncs - earlier.dir_syncs;
  return d;
}

int RegisterCountVfs() {
  sqlite3_vfs* base = sqlite3_vfs_find("unix");
  if (base == nullptr) return SQLITE_ERROR;
  // We claim no more than the base has (unix: version 3, system calls forwarded).
  g_vfs = shim::ForwardingVfs<CountFile>(base, "bench_count", 3);
  g_vfs.xOpen = XOpen;      // xOpen
  g_vfs.xDelete = XDelete;  // xDelete
  return sqlite3_vfs_register(&g_vfs, /*makeDflt=*/1);
}

IoCounts ReadIoCounts() {
  IoCounts c;
  for (int k = 0; k < kFileKindCount; ++k) {
    c.syncs[k] = g_counters.syncs[k].load(std::memory_order_relaxed);
    c.reads[k] = g_counters.reads[k].load(std::memory_order_relaxed);
    c.writes[k] = g_counters.writes[k].load(std::memory_order_relaxed);
    c.bytes_written[k] = g_counters.bytes_written[k].load(std::memory_order_relaxed);
  }
  c.dir_syncs = g_counters.dir_syncs.load(std::memory_order_relaxed);
  return c;
}

}  // namespace blaze::bench
