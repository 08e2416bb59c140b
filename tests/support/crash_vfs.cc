// tests/support/crash_vfs.cc: the power-loss simulation VFS (see crash_vfs.h).
//
// Assumptions about the caller (SQLite, or blaze over us):
//  - a file is named by the full path SQLite gives xOpen, and xDelete gets the same
//    spelling (SQLite derives journal and WAL names from the database's full path);
//  - every handle to a path shares one history: an fsync through any descriptor flushes
//    the inode, so a sync through any handle makes all of the path's writes durable.
#include "tests/support/crash_vfs.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/support/shim_vfs.h"

namespace blaze::test {
namespace {

using Bytes = std::vector<unsigned char>;

// One unsynced change of a file, with what it takes to undo and to redo it.
struct Change {
  bool is_write = true;   // else a truncate
  int64_t offset = 0;     // write: where
  Bytes data;             // write: the new bytes
  int64_t new_size = 0;   // truncate: the size asked for
  sqlite3_int64 old_size = 0;  // the file's size before the change
  Bytes old_bytes;        // write: old bytes of [offset, min(offset+n, old_size));
                          // truncate: old bytes of [min(new_size, old_size), old_size)
};

struct State {
  std::mutex mu;
  int64_t ops = 0;
  int64_t crash_at = 0;
  bool lie_about_sync = false;
  bool unordered_truncates = false;
  bool crashed = false;
  int64_t open_files = 0;
  std::map<std::string, std::vector<Change>> unsynced;  // path -> changes, oldest first
  std::set<std::string> main_dbs;                       // their "-shm" dies with the power
};
State& S() {
  static auto* state = new State;  // outlives every file, like the VFS itself
  return *state;
}

// What a counted operation does.
enum class Fate { kPass, kCrashNow, kDead };

// Counts an operation. REQUIRES: S().mu held.
Fate Tick() {
  State& s = S();
  if (s.crashed) return Fate::kDead;
  ++s.ops;
  if (s.ops == s.crash_at) {
    s.crashed = true;
    return Fate::kCrashNow;
  }
  return Fate::kPass;
}

// The shim's file: ours first, the real file right behind it (shim_vfs.h's layout).
struct CrashFile {
  sqlite3_file base;      // pMethods: our table
  std::string* path;      // null for a volatile file (not logged); owned, freed in xClose
};

CrashFile* F(sqlite3_file* pFile) { return reinterpret_cast<CrashFile*>(pFile); }
sqlite3_file* Real(sqlite3_file* pFile) { return shim::RealFile<CrashFile>(pFile); }
const sqlite3_io_methods* RealM(sqlite3_file* pFile) { return Real(pFile)->pMethods; }

// Runs body, mapping an escaping exception to an SQLite code: nothing crosses the C ABI.
template <class Body>
int Guard(int error_rc, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return SQLITE_NOMEM;
  } catch (...) {
    return error_rc;
  }
}

// Reads [offset, offset+n) of the real file, n bytes that exist. REQUIRES: S().mu held.
int ReadReal(sqlite3_file* pFile, int64_t offset, int64_t n, Bytes* out) {
  out->resize(static_cast<size_t>(n));
  if (n == 0) return SQLITE_OK;
  return RealM(pFile)->xRead(Real(pFile), out->data(), static_cast<int>(n), offset);
}

// Logs a write about to be made. REQUIRES: S().mu held; the file is not volatile.
int LogWrite(sqlite3_file* pFile, const void* pBuf, int iAmt, sqlite3_int64 iOfst) {
  Change c;
  c.is_write = true;
  c.offset = iOfst;
  const auto* p = static_cast<const unsigned char*>(pBuf);
  c.data.assign(p, p + iAmt);
  if (int rc = RealM(pFile)->xFileSize(Real(pFile), &c.old_size)) return rc;
  const int64_t end = std::min<int64_t>(iOfst + iAmt, c.old_size);
  if (int rc = ReadReal(pFile, iOfst, std::max<int64_t>(0, end - iOfst), &c.old_bytes)) {
    return rc;
  }
  S().unsynced[*F(pFile)->path].push_back(std::move(c));
  return SQLITE_OK;
}

// Logs a truncate about to be made. REQUIRES: S().mu held; the file is not volatile.
int LogTruncate(sqlite3_file* pFile, sqlite3_int64 size) {
  Change c;
  c.is_write = false;
  c.new_size = size;
  if (int rc = RealM(pFile)->xFileSize(Real(pFile), &c.old_size)) return rc;
  const int64_t from = std::min<int64_t>(size, c.old_size);
  if (int rc = ReadReal(pFile, from, c.old_size - from, &c.old_bytes)) return rc;
  S().unsynced[*F(pFile)->path].push_back(std::move(c));
  return SQLITE_OK;
}

int XClose(sqlite3_file* pFile) noexcept {
  std::lock_guard lock(S().mu);
  --S().open_files;
  delete F(pFile)->path;
  F(pFile)->path = nullptr;
  return shim::IoForward<CrashFile>::Close(pFile);
}

int XRead(sqlite3_file* pFile, void* pBuf, int iAmt, sqlite3_int64 iOfst) noexcept {
  {
    std::lock_guard lock(S().mu);
    if (S().crashed) return SQLITE_IOERR_READ;
  }
  return RealM(pFile)->xRead(Real(pFile), pBuf, iAmt, iOfst);
}

int XWrite(sqlite3_file* pFile, const void* pBuf, int iAmt, sqlite3_int64 iOfst) noexcept {
  return Guard(SQLITE_IOERR_WRITE, [&] {
    std::lock_guard lock(S().mu);
    const Fate fate = Tick();
    if (fate == Fate::kDead) return SQLITE_IOERR_WRITE;
    if (F(pFile)->path != nullptr) {
      if (int rc = LogWrite(pFile, pBuf, iAmt, iOfst)) return rc;
    }
    const int rc = RealM(pFile)->xWrite(Real(pFile), pBuf, iAmt, iOfst);
    // In flight when the power went: logged and on disk, so it may survive or tear.
    return fate == Fate::kCrashNow ? SQLITE_IOERR_WRITE : rc;
  });
}

int XTruncate(sqlite3_file* pFile, sqlite3_int64 size) noexcept {
  return Guard(SQLITE_IOERR_TRUNCATE, [&] {
    std::lock_guard lock(S().mu);
    const Fate fate = Tick();
    if (fate == Fate::kDead) return SQLITE_IOERR_TRUNCATE;
    if (F(pFile)->path != nullptr) {
      if (int rc = LogTruncate(pFile, size)) return rc;
    }
    const int rc = RealM(pFile)->xTruncate(Real(pFile), size);
    return fate == Fate::kCrashNow ? SQLITE_IOERR_TRUNCATE : rc;
  });
}

int XSync(sqlite3_file* pFile, int /*flags*/) noexcept {
  return Guard(SQLITE_IOERR_FSYNC, [&] {
    std::lock_guard lock(S().mu);
    if (Tick() != Fate::kPass) return SQLITE_IOERR_FSYNC;
    // Durable now. The real xSync is not called: durability is simulated.
    if (F(pFile)->path != nullptr && !S().lie_about_sync) S().unsynced.erase(*F(pFile)->path);
    return SQLITE_OK;
  });
}

int XFileSize(sqlite3_file* pFile, sqlite3_int64* pSize) noexcept {
  {
    std::lock_guard lock(S().mu);
    if (S().crashed) return SQLITE_IOERR_FSTAT;
  }
  return RealM(pFile)->xFileSize(Real(pFile), pSize);
}

int XLock(sqlite3_file* pFile, int eLock) noexcept {
  {
    std::lock_guard lock(S().mu);
    if (S().crashed) return SQLITE_IOERR_LOCK;
  }
  return RealM(pFile)->xLock(Real(pFile), eLock);
}

// Not hooked, so passed through: xUnlock and xCheckReservedLock always work (locks are
// not durable state, and SQLite must be able to let go); xDeviceCharacteristics gives
// the real file's (unix: POWERSAFE_OVERWRITE), which holds under the simulation since
// tearing stays inside the written range; shared memory is not durable state either.

int XFileControl(sqlite3_file* pFile, int op, void* pArg) noexcept {
  // A size hint may preallocate (unix does, with a chunk size): a size change that would
  // bypass the log. SQLite ignores what a hint returns.
  if (op == SQLITE_FCNTL_SIZE_HINT) return SQLITE_OK;
  return RealM(pFile)->xFileControl(Real(pFile), op, pArg);
}

int XShmMap(sqlite3_file* pFile, int iPg, int pgsz, int bExtend, void volatile** pp) noexcept {
  {
    std::lock_guard lock(S().mu);
    if (S().crashed) return SQLITE_IOERR_SHMMAP;
  }
  return RealM(pFile)->xShmMap(Real(pFile), iPg, pgsz, bExtend, pp);
}

// Memory-mapped reads see the real file, which holds every write: like xRead.
int XFetch(sqlite3_file* pFile, sqlite3_int64 iOfst, int iAmt, void** pp) noexcept {
  {
    std::lock_guard lock(S().mu);
    if (S().crashed) {
      *pp = nullptr;
      return SQLITE_IOERR_READ;
    }
  }
  return RealM(pFile)->xFetch(Real(pFile), iOfst, iAmt, pp);
}

// The forwarding table with the hooked slots replaced, at versions 1 to 3: never above
// the real file's, so SQLite calls a version-2/3 slot only when the real file has it.
constexpr sqlite3_io_methods MakeMethods() {
  sqlite3_io_methods m = shim::ForwardingIoMethods<CrashFile>();
  m.xClose = XClose;              // xClose
  m.xRead = XRead;                // xRead
  m.xWrite = XWrite;              // xWrite
  m.xTruncate = XTruncate;        // xTruncate
  m.xSync = XSync;                // xSync
  m.xFileSize = XFileSize;        // xFileSize
  m.xLock = XLock;                // xLock
  m.xFileControl = XFileControl;  // xFileControl
  m.xShmMap = XShmMap;            // xShmMap
  m.xFetch = XFetch;              // xFetch
  return m;
}
constexpr auto kMethods = shim::ByVersion(MakeMethods());

// After xOpen succeeds, xClose frees the file (and its path); on failure pMethods is null.
int XOpen(sqlite3_vfs* pVfs, sqlite3_filename zName, sqlite3_file* pFile, int flags,
          int* pOutFlags) noexcept {
  pFile->pMethods = nullptr;
  return Guard(SQLITE_CANTOPEN, [&] {
    std::unique_ptr<std::string> path;
    if (zName != nullptr && (flags & SQLITE_OPEN_DELETEONCLOSE) == 0) {
      path = std::make_unique<std::string>(zName);
    }
    std::lock_guard lock(S().mu);
    if (S().crashed) return SQLITE_CANTOPEN;
    if (int rc = shim::OpenReal<CrashFile>(pVfs, zName, pFile, flags, pOutFlags)) return rc;
    if (path != nullptr && (flags & SQLITE_OPEN_MAIN_DB) != 0) S().main_dbs.insert(*path);
    F(pFile)->path = path.release();
    ++S().open_files;
    pFile->pMethods = shim::MethodsFor(kMethods, Real(pFile));
    return SQLITE_OK;
  });
}

// Deleting is a directory operation: durable at once (see the header).
int XDelete(sqlite3_vfs* pVfs, const char* zName, int syncDir) noexcept {
  return Guard(SQLITE_IOERR_DELETE, [&] {
    std::lock_guard lock(S().mu);
    if (Tick() != Fate::kPass) return SQLITE_IOERR_DELETE;
    const int rc = shim::RealVfs(pVfs)->xDelete(shim::RealVfs(pVfs), zName, syncDir);
    if (rc == SQLITE_OK || rc == SQLITE_IOERR_DELETE_NOENT) S().unsynced.erase(zName);
    return rc;
  });
}

// --- Power loss -------------------------------------------------------------------------

Bytes ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  INFO("power loss: reading " << path);
  REQUIRE(in.good());
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteWholeFile(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  INFO("power loss: writing " << path);
  REQUIRE(out.good());
}

void Put(Bytes* file, int64_t offset, const unsigned char* p, int64_t n) {
  if (n <= 0) return;
  if (file->size() < static_cast<size_t>(offset + n)) file->resize(static_cast<size_t>(offset + n));
  std::memcpy(file->data() + offset, p, static_cast<size_t>(n));
}

// Undoes changes, newest first: what is left is the file as of its last sync.
void Undo(Bytes* file, const std::vector<Change>& changes) {
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
    if (it->is_write) {
      Put(file, it->offset, it->old_bytes.data(), static_cast<int64_t>(it->old_bytes.size()));
    } else {
      file->resize(static_cast<size_t>(std::max<int64_t>(it->old_size, it->new_size)));
      Put(file, std::min<int64_t>(it->new_size, it->old_size), it->old_bytes.data(),
          static_cast<int64_t>(it->old_bytes.size()));
    }
    file->resize(static_cast<size_t>(it->old_size));
  }
}

enum class Choice { kKeep, kDrop, kTear };

// Redoes one change as the power loss left it. A torn write keeps each piece (the write
// cut at multiples of kSectorSize in the file) with probability 1/2.
void Redo(Bytes* file, const Change& c, Choice choice, std::mt19937_64& rng) {
  if (choice == Choice::kDrop) return;
  if (!c.is_write) {
    file->resize(static_cast<size_t>(c.new_size));  // a truncate does not tear
    return;
  }
  const int64_t end = c.offset + static_cast<int64_t>(c.data.size());
  if (choice == Choice::kKeep) {
    Put(file, c.offset, c.data.data(), end - c.offset);
    return;
  }
  for (int64_t from = c.offset; from < end;) {
    const int64_t to = std::min(end, (from / CrashVfs::kSectorSize + 1) * CrashVfs::kSectorSize);
    if (rng() & 1) Put(file, from, c.data.data() + (from - c.offset), to - from);
    from = to;
  }
}

Choice Choose(PowerLossPolicy policy, const Change& c, std::mt19937_64& rng) {
  switch (policy) {
    case PowerLossPolicy::kKeepAll:
      return Choice::kKeep;
    case PowerLossPolicy::kDropAll:
      return Choice::kDrop;
    case PowerLossPolicy::kRandom:
      break;
  }
  const auto r = rng() % 3;
  if (r == 2 && !c.is_write) return Choice::kKeep;
  return r == 0 ? Choice::kKeep : r == 1 ? Choice::kDrop : Choice::kTear;
}

void ResetLocked(State& s) {
  s.ops = 0;
  s.crash_at = 0;
  s.lie_about_sync = false;
  s.unordered_truncates = false;
  s.crashed = false;
  s.unsynced.clear();
  s.main_dbs.clear();
}

}  // namespace

std::string_view PowerLossPolicyName(PowerLossPolicy policy) {
  switch (policy) {
    case PowerLossPolicy::kKeepAll:
      return "keep-all";
    case PowerLossPolicy::kDropAll:
      return "drop-all";
    case PowerLossPolicy::kRandom:
      return "random";
  }
  return "?";
}

void CrashVfs::Register(const char* name, const char* base) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (sqlite3_vfs_find(name) != nullptr) return;
  sqlite3_vfs* real = sqlite3_vfs_find(base);
  REQUIRE(real != nullptr);
  REQUIRE(real->iVersion >= 2);  // we forward xCurrentTimeInt64
  // Version 2: the system-call hooks (version 3) are not offered, so nothing can reach
  // around the shim. Lives as long as the process, like any registered VFS.
  auto* vfs = new sqlite3_vfs{shim::ForwardingVfs<CrashFile>(real, strdup(name), 2)};
  vfs->xOpen = XOpen;      // xOpen
  vfs->xDelete = XDelete;  // xDelete
  REQUIRE(sqlite3_vfs_register(vfs, 0) == SQLITE_OK);
}

void CrashVfs::Reset() {
  std::lock_guard lock(S().mu);
  REQUIRE(S().open_files == 0);
  ResetLocked(S());
}

void CrashVfs::Arm(CrashPlan plan) {
  std::lock_guard lock(S().mu);
  S().ops = 0;
  S().crashed = false;
  S().crash_at = plan.crash_at;
  S().lie_about_sync = plan.lie_about_sync;
  S().unordered_truncates = plan.unordered_truncates;
}

int64_t CrashVfs::Ops() {
  std::lock_guard lock(S().mu);
  return S().ops;
}

bool CrashVfs::Crashed() {
  std::lock_guard lock(S().mu);
  return S().crashed;
}

int64_t CrashVfs::OpenFiles() {
  std::lock_guard lock(S().mu);
  return S().open_files;
}

PowerLossReport CrashVfs::PowerLoss(uint64_t seed, PowerLossPolicy policy) {
  std::lock_guard lock(S().mu);
  State& s = S();
  REQUIRE(s.open_files == 0);
  std::mt19937_64 rng(seed);
  PowerLossReport report;
  for (const auto& [path, changes] : s.unsynced) {
    if (changes.empty()) continue;
    ++report.files;
    Bytes file = ReadWholeFile(path);
    Undo(&file, changes);
    std::vector<Choice> choices;
    for (const Change& c : changes) choices.push_back(Choose(policy, c, rng));
    if (!s.unordered_truncates) {
      // A journaling file system commits metadata in order and does not reuse blocks an
      // uncommitted truncate freed: once a later change of the file is on disk, so is
      // every earlier truncate.
      bool later_survives = false;
      for (size_t i = changes.size(); i-- > 0;) {
        if (!changes[i].is_write && later_survives) choices[i] = Choice::kKeep;
        later_survives = later_survives || choices[i] != Choice::kDrop;
      }
    }
    for (size_t i = 0; i < changes.size(); ++i) {
      ++(choices[i] == Choice::kKeep   ? report.kept
         : choices[i] == Choice::kDrop ? report.dropped
                                       : report.torn);
      Redo(&file, changes[i], choices[i], rng);
    }
    WriteWholeFile(path, file);
  }
  for (const std::string& db : s.main_dbs) {
    std::error_code ec;
    std::filesystem::remove(db + "-shm", ec);
  }
  ResetLocked(s);
  return report;
}

}  // namespace blaze::test
