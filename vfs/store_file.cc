// vfs/store_file.cc: the store file's I/O members (today: count, then forward).
#include "vfs/store_file.h"

#include <new>
#include <type_traits>
#include <vector>

#include "vfs/blaze_vfs.h"
#include "vfs/io_methods.h"
#include "vfs/last_error.h"

namespace blaze::vfs {
namespace {

constexpr int RoundUp8(int n) { return (n + 7) & ~7; }

// The blaze_* parameters of a database filename, as SQLite parsed them from the URI.
std::vector<UriParam> UriParams(const char* zName) {
  std::vector<UriParam> params;
  for (int i = 0;; ++i) {
    const char* key = sqlite3_uri_key(zName, i);
    if (key == nullptr) break;
    const char* value = sqlite3_uri_parameter(zName, key);
    params.push_back({key, value ? value : ""});
  }
  return params;
}

}  // namespace

// SQLite sees a StoreFile as a sqlite3_file: From() casts between the two.
static_assert(std::is_standard_layout_v<StoreFile>);

int StoreFile::OsFileSize(const sqlite3_vfs* base) {
  return RoundUp8(static_cast<int>(sizeof(StoreFile))) + base->szOsFile;
}

sqlite3_file* StoreFile::LowerFile() {
  return reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(this) +
                                         RoundUp8(static_cast<int>(sizeof(StoreFile))));
}

StoreFile::StoreFile(BlazeVfs* vfs, StoreOptions options, std::shared_ptr<FileStats> stats)
    : base_{nullptr}, vfs_(vfs), options_(options), stats_(std::move(stats)) {}

StoreFile::~StoreFile() { StatsRegistry::Instance().Unregister(stats_); }

int StoreFile::Open(BlazeVfs* vfs, const char* zName, sqlite3_file* pFile, int flags,
                    int* pOutFlags) {
  pFile->pMethods = nullptr;
  // A main database always has a name: SQLite opens temporary databases with
  // SQLITE_OPEN_TEMP_DB, which never reaches here. Its URI parameters can be read
  // with sqlite3_uri_key even when the app did not use a URI (then there are none).
  Result<StoreOptions> options = ParseStoreOptions(UriParams(zName));
  if (!options.ok()) {
    ReportError(SQLITE_CANTOPEN, options.status().message() + " (opening " + zName + ")");
    return SQLITE_CANTOPEN;
  }
  auto stats = StatsRegistry::Instance().Register(vfs->name(), zName);
  auto* file = new (pFile) StoreFile(vfs, options.value(), std::move(stats));

  sqlite3_vfs* base = vfs->base();
  sqlite3_file* lower = file->LowerFile();
  lower->pMethods = nullptr;
  int rc = base->xOpen(base, zName, lower, flags, pOutFlags);
  if (rc != SQLITE_OK) {
    // A base VFS may leave its methods set on failure and expect xClose anyway.
    if (lower->pMethods != nullptr) lower->pMethods->xClose(lower);
    file->~StoreFile();
    pFile->pMethods = nullptr;
    return rc;
  }
  file->base_.pMethods = StoreIoMethods(lower->pMethods->iVersion);
  return SQLITE_OK;
}

int StoreFile::Close() {
  int rc = Lower()->xClose(LowerFile());
  this->~StoreFile();
  return rc;
}

int StoreFile::Read(void* pBuf, int iAmt, sqlite3_int64 iOfst) {
  stats_->Add(Counter::kReads);
  stats_->Add(Counter::kBytesRead, static_cast<uint64_t>(iAmt));
  return Lower()->xRead(LowerFile(), pBuf, iAmt, iOfst);
}

int StoreFile::Write(const void* pBuf, int iAmt, sqlite3_int64 iOfst) {
  stats_->Add(Counter::kWrites);
  stats_->Add(Counter::kBytesWritten, static_cast<uint64_t>(iAmt));
  return Lower()->xWrite(LowerFile(), pBuf, iAmt, iOfst);
}

int StoreFile::Truncate(sqlite3_int64 size) {
  stats_->Add(Counter::kTruncates);
  return Lower()->xTruncate(LowerFile(), size);
}

int StoreFile::Sync(int flags) {
  stats_->Add(Counter::kSyncs);
  return Lower()->xSync(LowerFile(), flags);
}

int StoreFile::FileSize(sqlite3_int64* pSize) { return Lower()->xFileSize(LowerFile(), pSize); }

int StoreFile::Lock(int eLock) {
  int rc = Lower()->xLock(LowerFile(), eLock);
  if (rc == SQLITE_OK) stats_->Add(Counter::kLocks);
  return rc;
}

int StoreFile::Unlock(int eLock) { return Lower()->xUnlock(LowerFile(), eLock); }

int StoreFile::CheckReservedLock(int* pResOut) {
  return Lower()->xCheckReservedLock(LowerFile(), pResOut);
}

int StoreFile::FileControl(int op, void* pArg) {
  int rc = Lower()->xFileControl(LowerFile(), op, pArg);
  if (op == SQLITE_FCNTL_VFSNAME) {
    // Name the whole stack, outermost first: "blaze/unix".
    char** out = static_cast<char**>(pArg);
    if (rc == SQLITE_OK && *out != nullptr) {
      *out = sqlite3_mprintf("%s/%z", vfs_->name().c_str(), *out);
    } else {
      *out = sqlite3_mprintf("%s/%s", vfs_->name().c_str(), vfs_->base()->zName);
    }
    return *out ? SQLITE_OK : SQLITE_NOMEM;
  }
  return rc;
}

int StoreFile::SectorSize() { return Lower()->xSectorSize(LowerFile()); }

int StoreFile::DeviceCharacteristics() { return Lower()->xDeviceCharacteristics(LowerFile()); }

int StoreFile::ShmMap(int iPg, int pgsz, int isWrite, void volatile** pp) {
  return Lower()->xShmMap(LowerFile(), iPg, pgsz, isWrite, pp);
}

int StoreFile::ShmLock(int offset, int n, int flags) {
  return Lower()->xShmLock(LowerFile(), offset, n, flags);
}

void StoreFile::ShmBarrier() { Lower()->xShmBarrier(LowerFile()); }

int StoreFile::ShmUnmap(int deleteFlag) { return Lower()->xShmUnmap(LowerFile(), deleteFlag); }

int StoreFile::Fetch(sqlite3_int64 iOfst, int iAmt, void** pp) {
  int rc = Lower()->xFetch(LowerFile(), iOfst, iAmt, pp);
  if (rc == SQLITE_OK && *pp != nullptr) stats_->Add(Counter::kFetches);
  return rc;
}

int StoreFile::Unfetch(sqlite3_int64 iOfst, void* p) {
  return Lower()->xUnfetch(LowerFile(), iOfst, p);
}

}  // namespace blaze::vfs
