// vfs/store_file.cc: the store file's I/O members, and the per-process table of open
// stores they share.
#include "vfs/store_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <type_traits>
#include <vector>

#include "vfs/blaze_vfs.h"
#include "vfs/io_methods.h"
#include "vfs/last_error.h"
#include "vfs/sqlite_file.h"
#include "vfs/store.h"

namespace blaze::vfs {

// One store per database file per process, shared by its connections.
struct OpenStore {
  std::string key;
  std::unique_ptr<Store> store;
  std::shared_ptr<FileStats> stats;
  int refs = 0;
  // Connections of this process holding at least SHARED on the file (low 16 bits), and
  // an epoch (the rest) that moves on each time that count drops to zero: one word, so
  // that a connection reads the count before it and the epoch in one step. See
  // StoreFile::Lock.
  std::atomic<uint64_t> readers{0};
  // The epoch in which a connection last refreshed the store while holding SHARED.
  std::atomic<uint64_t> refreshed_epoch{UINT64_MAX};
};

namespace {

constexpr int RoundUp8(int n) { return (n + 7) & ~7; }
constexpr int kWalCheckpointLock = 1;  // SQLite's WAL_CKPT_LOCK slot in the -shm file
constexpr int kWalFirstReadLock = 3;   // WAL_READ_LOCK(0)

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

std::mutex& OpenStoresMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}
std::map<std::string, OpenStore*>& OpenStores() {
  static auto* all = new std::map<std::string, OpenStore*>;
  return *all;
}

// Files are the same store when they are the same inode, whatever path reached them.
std::string StoreKey(const BlazeVfs* vfs, const char* zName) {
  struct stat st {};
  if (::stat(zName, &st) == 0) {
    return vfs->base()->zName + std::string(":") + std::to_string(st.st_dev) + ":" +
           std::to_string(st.st_ino);
  }
  return vfs->base()->zName + std::string(":path:") + zName;
}

FigureValues ToFigures(const StoreFigures& f) {
  FigureValues v{};
  v[static_cast<int>(Figure::kLogicalBytes)] = f.logical_bytes;
  v[static_cast<int>(Figure::kStoredBytes)] = f.page_file_bytes + f.log_bytes;
  v[static_cast<int>(Figure::kLogBytes)] = f.log_bytes;
  v[static_cast<int>(Figure::kFrames)] = f.frames;
  v[static_cast<int>(Figure::kCommits)] = f.commits;
  v[static_cast<int>(Figure::kLogSyncs)] = f.log_syncs;
  v[static_cast<int>(Figure::kCheckpoints)] = f.checkpoints;
  v[static_cast<int>(Figure::kPageFileSyncs)] = f.page_file_syncs;
  v[static_cast<int>(Figure::kDecompressions)] = f.decodes;
  v[static_cast<int>(Figure::kReloads)] = f.reloads;
  v[static_cast<int>(Figure::kCacheHits)] = f.cache.hits;
  v[static_cast<int>(Figure::kCacheMisses)] = f.cache.misses;
  v[static_cast<int>(Figure::kCacheEvictions)] = f.cache.evictions;
  v[static_cast<int>(Figure::kCachePinned)] = f.cache.pinned;
  v[static_cast<int>(Figure::kCachePages)] = f.cache.pages;
  v[static_cast<int>(Figure::kCacheBytes)] = f.cache.bytes;
  v[static_cast<int>(Figure::kDictionaryBytes)] = f.dictionary_bytes;
  v[static_cast<int>(Figure::kReadAheads)] = f.read_aheads;
  return v;
}

// Whether a decoded page is a b-tree interior page (SQLite's file format: the page type
// byte opens the page, after the 100-byte file header on page 1; 2 and 5 are interior
// index and table pages). The cache keeps them through a scan.
bool IsInteriorPage(uint32_t page, std::span<const std::byte> bytes) {
  const size_t at = page == 1 ? 100 : 0;
  if (bytes.size() <= at) return false;
  const auto type = static_cast<uint8_t>(bytes[at]);
  return type == 2 || type == 5;
}

// The store log of zName would not open: an SQLite code, reported with why.
int LogOpenFailed(const char* zName, const Status& s) {
  const int rc = SqliteCode(s, SQLITE_CANTOPEN);
  ReportError(rc, "cannot open the store log of " + std::string(zName) + ": " + s.message());
  return rc;
}

// Finds or creates the store of the database file just opened as zName. Nothing is read
// here: SQLite reads at its first lock, and so does the store. On failure returns an
// SQLite code and reports why.
int AcquireStore(BlazeVfs* vfs, const char* zName, int flags, const StoreOptions& options,
                 OpenStore** out) {
  const std::string key = StoreKey(vfs, zName);
  const bool read_only = (flags & SQLITE_OPEN_READONLY) != 0;
  std::lock_guard lock(OpenStoresMutex());
  auto& all = OpenStores();
  if (auto it = all.find(key); it != all.end()) {
    // The store may have been made by a read-only connection: this one may write.
    if (!read_only) {
      if (Status s = it->second->store->AllowWrites(); !s.ok()) return LogOpenFailed(zName, s);
    }
    it->second->refs += 1;
    if (options.cache_bytes) it->second->store->SetCacheShare(*options.cache_bytes);
    *out = it->second;
    return SQLITE_OK;
  }
  auto open_log = [base = vfs->base(),
                   name = std::string(zName) + "-blazelog"](bool write)
      -> Result<std::unique_ptr<File>> {
    const int log_flags = SQLITE_OPEN_WAL | (write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                                   : SQLITE_OPEN_READONLY);
    Result<std::unique_ptr<SqliteFile>> log = SqliteFile::Open(base, name, log_flags);
    if (log.ok()) return std::unique_ptr<File>(std::move(log.value()));
    if (!write) {
      // None yet is no error; one that exists and will not open is (its commits).
      int exists = 1;
      if (base->xAccess(base, name.c_str(), SQLITE_ACCESS_EXISTS, &exists) == SQLITE_OK &&
          exists == 0) {
        return std::unique_ptr<File>();
      }
    }
    return log.status();
  };
  Result<std::unique_ptr<File>> log_file = open_log(!read_only);
  if (!log_file.ok()) return LogOpenFailed(zName, log_file.status());
  // read-only and no log: a store that was never written, or a checkpointed one
  StoreConfig config;
  config.codec = options.codec;
  config.checkpoint_bytes = options.checkpoint_bytes;
  config.write_buffer_bytes = options.write_buffer_bytes;
  config.dictionary_bytes = options.dictionary_bytes;
  config.read_only = read_only;
  config.name = zName;
  config.cache = &cache::PageCache::Process();
  config.cache_share = options.cache_bytes.value_or(UINT64_MAX);
  config.keep_page = IsInteriorPage;
  config.open_log = std::move(open_log);
  auto open = std::make_unique<OpenStore>();
  open->key = key;
  open->store = std::make_unique<Store>(std::move(log_file.value()), std::move(config));
  Store* store = open->store.get();
  open->stats = StatsRegistry::Instance().Register(vfs->name(), zName,
                                                   [store] { return ToFigures(store->Figures()); });
  open->refs = 1;
  *out = open.get();
  all.emplace(key, open.release());
  return SQLITE_OK;
}

void ReleaseStore(OpenStore* open) {
  std::lock_guard lock(OpenStoresMutex());
  if (--open->refs > 0) return;
  OpenStores().erase(open->key);
  StatsRegistry::Instance().Unregister(open->stats);
  delete open;
}

// Turns a failed store call into an SQLite code, with a log line naming the file.
int Report(const Status& s, int fallback, const char* what) {
  const int rc = SqliteCode(s, fallback);
  // I/O errors the base VFS returned were logged by it (or are its business).
  if (s.code() != Code::kIoError || s.detail() == 0) {
    ReportError(rc, std::string(what) + ": " + s.message());
  }
  return rc;
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

StoreFile::StoreFile(BlazeVfs* vfs, StoreOptions options)
    : base_{nullptr}, vfs_(vfs), options_(options) {}

StoreFile::~StoreFile() {
  db_.reset();
  if (open_ != nullptr) ReleaseStore(open_);
}

FileStats& StoreFile::stats() { return *open_->stats; }

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
  auto* file = new (pFile) StoreFile(vfs, options.value());

  sqlite3_vfs* base = vfs->base();
  sqlite3_file* lower = file->LowerFile();
  lower->pMethods = nullptr;
  int rc = base->xOpen(base, zName, lower, flags, pOutFlags);
  if (rc == SQLITE_OK) {
    // The base may open read-only what was asked read-write: the store follows it.
    const bool read_only = pOutFlags != nullptr && (*pOutFlags & SQLITE_OPEN_READONLY);
    rc = AcquireStore(vfs, zName, read_only ? SQLITE_OPEN_READONLY : flags, options.value(),
                      &file->open_);
  }
  if (rc != SQLITE_OK) {
    // A base VFS may leave its methods set on failure and expect xClose anyway.
    if (lower->pMethods != nullptr) lower->pMethods->xClose(lower);
    file->~StoreFile();
    pFile->pMethods = nullptr;
    return rc;
  }
  file->db_ = SqliteFile::Borrow(lower);
  file->base_.pMethods = StoreIoMethods(lower->pMethods->iVersion);
  return SQLITE_OK;
}

int StoreFile::Close() {
  // Anything written since the last commit point was abandoned by SQLite (a failed
  // transaction it could not roll back): leave it to recovery, commit nothing.
  db_.reset();
  if (lock_ >= SQLITE_LOCK_SHARED) ReleaseShared();  // the base VFS unlocks as it closes
  int rc = Lower()->xClose(LowerFile());
  this->~StoreFile();
  return rc;
}

int StoreFile::CatchUpWithWal() {
  // SQLite reads the wal-index's backfill count after it has taken its read mark, so a
  // checkpoint by another process that ends in between makes it read from the database
  // pages that our refresh at the read mark did not see. The backfill count is raised
  // only after those pages are committed to the store: a count that moved since the
  // last refresh means refresh again before serving a read.
  const WalIndexToken token = ReadWalIndexToken();
  if (token.hi == 0) return SQLITE_OK;  // nothing readable: the read mark's refresh holds
  Status s = open_->store->RefreshWal(*db_, token.hi, token.lo);
  return s.ok() ? SQLITE_OK : Report(s, SQLITE_IOERR_READ, "refresh");
}

int StoreFile::Read(void* pBuf, int iAmt, sqlite3_int64 iOfst) {
  stats().Add(Counter::kReads, 1, Counter::kBytesRead, static_cast<uint64_t>(iAmt));
  if (wal_index_ != nullptr && lock_ < SQLITE_LOCK_RESERVED) {
    if (int rc = CatchUpWithWal(); rc != SQLITE_OK) return rc;
  }
  auto dst = std::span<std::byte>(static_cast<std::byte*>(pBuf), static_cast<size_t>(iAmt));
  Result<size_t> got = open_->store->Read(*db_, static_cast<uint64_t>(iOfst), dst);
  if (!got.ok()) return Report(got.status(), SQLITE_IOERR_READ, "read");
  if (got.value() < dst.size()) {
    std::memset(dst.data() + got.value(), 0, dst.size() - got.value());
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}

int StoreFile::Write(const void* pBuf, int iAmt, sqlite3_int64 iOfst) {
  stats().Add(Counter::kWrites, 1, Counter::kBytesWritten, static_cast<uint64_t>(iAmt));
  auto src = std::span<const std::byte>(static_cast<const std::byte*>(pBuf),
                                        static_cast<size_t>(iAmt));
  Status s = open_->store->Write(*db_, static_cast<uint64_t>(iOfst), src);
  return s.ok() ? SQLITE_OK : Report(s, SQLITE_IOERR_WRITE, "write");
}

int StoreFile::Truncate(sqlite3_int64 size) {
  stats().Add(Counter::kTruncates);
  Status s = open_->store->Truncate(*db_, static_cast<uint64_t>(size));
  if (!s.ok()) return Report(s, SQLITE_IOERR_TRUNCATE, "truncate");
  // A WAL checkpoint truncates after SQLITE_FCNTL_CKPT_DONE, and at synchronous=OFF no
  // sync follows: without a write lock there is no later commit point to wait for.
  if (lock_ < SQLITE_LOCK_RESERVED) return CommitPoint(ckpt_locked_);
  return SQLITE_OK;
}

int StoreFile::Sync(int flags) {
  stats().Add(Counter::kSyncs);
  db_->set_sync_flags(flags & (SQLITE_SYNC_NORMAL | SQLITE_SYNC_FULL));
  Status s = open_->store->Commit(*db_, true, true);
  return s.ok() ? SQLITE_OK : Report(s, SQLITE_IOERR_FSYNC, "sync");
}

int StoreFile::CommitPoint(bool may_checkpoint) {
  Status s = open_->store->Commit(*db_, false, may_checkpoint);
  return s.ok() ? SQLITE_OK : Report(s, SQLITE_IOERR_WRITE, "commit");
}

int StoreFile::FileSize(sqlite3_int64* pSize) {
  *pSize = static_cast<sqlite3_int64>(open_->store->Size());
  return SQLITE_OK;
}

int StoreFile::Lock(int eLock) {
  const int before = lock_;
  int rc = Lower()->xLock(LowerFile(), eLock);
  if (rc != SQLITE_OK) return rc;
  stats().Add(Counter::kLocks);
  lock_ = eLock;
  if (before == SQLITE_LOCK_NONE && eLock >= SQLITE_LOCK_SHARED) {
    // A new read: pick up what other processes committed since our last one. In
    // rollback mode a commit needs EXCLUSIVE, which no other process can take while any
    // connection of ours holds SHARED (the base VFS keeps one lock for the process while
    // any of its connections holds one). So when another connection of ours has held
    // SHARED without a break since a refresh made under it (the count never reached
    // zero: the epoch is the same), nothing can have been committed since, and the probe
    // of the store log is skipped. (A store checkpoint by another process needs only
    // RESERVED, but it moves pages without changing them: reads verify what they use.)
    // In WAL mode writers do not need EXCLUSIVE; there every read is preceded by a read
    // mark, whose refresh (ShmLock) does not depend on this.
    const uint64_t held = open_->readers.fetch_add(1, std::memory_order_acq_rel);
    const uint64_t epoch = held >> 16;
    if ((held & 0xffff) != 0 && open_->refreshed_epoch.load(std::memory_order_acquire) == epoch &&
        open_->store->ViewClean()) {
      stats().Add(Counter::kRefreshesSkipped);
      return SQLITE_OK;
    }
    Status s = open_->store->Refresh(*db_);
    if (!s.ok()) {
      Unlock(SQLITE_LOCK_NONE);
      return Report(s, SQLITE_IOERR_READ, "refresh");
    }
    open_->refreshed_epoch.store(epoch, std::memory_order_release);
  }
  return SQLITE_OK;
}

void StoreFile::ReleaseShared() {
  // Before the base VFS unlocks: the count never exceeds the connections that hold the
  // lock, so a count above zero always means the process holds it.
  uint64_t held = open_->readers.load(std::memory_order_relaxed);
  for (;;) {
    const uint64_t next = (held & 0xffff) == 1 ? ((held >> 16) + 1) << 16 : held - 1;
    if (open_->readers.compare_exchange_weak(held, next, std::memory_order_acq_rel)) return;
  }
}

int StoreFile::Unlock(int eLock) {
  int rc = SQLITE_OK;
  if (eLock < SQLITE_LOCK_RESERVED && lock_ >= SQLITE_LOCK_RESERVED) {
    // The writer gives up the file: whatever it wrote is finished (a rollback included).
    rc = CommitPoint(lock_ == SQLITE_LOCK_EXCLUSIVE);
  }
  if (eLock == SQLITE_LOCK_NONE && lock_ >= SQLITE_LOCK_SHARED) ReleaseShared();
  const int rc2 = Lower()->xUnlock(LowerFile(), eLock);
  // A failed unlock to NONE leaves the count down already: it may only undercount.
  if (rc2 == SQLITE_OK || eLock == SQLITE_LOCK_NONE) lock_ = std::min(lock_, eLock);
  return rc != SQLITE_OK ? rc : rc2;
}

int StoreFile::CheckReservedLock(int* pResOut) {
  return Lower()->xCheckReservedLock(LowerFile(), pResOut);
}

int StoreFile::RunMaintenance(bool compact) {
  if (lock_ >= SQLITE_LOCK_RESERVED) {
    // This connection's own write transaction is not finished: checkpointing now would
    // commit half of it.
    ReportError(SQLITE_MISUSE, "checkpoint inside a write transaction; commit first");
    return SQLITE_MISUSE;
  }
  // The right to write the page file: in WAL mode SQLite's checkpoint lock (only
  // checkpoints write the database file there), else the RESERVED lock (other writers
  // wait; readers keep reading old extents, which a checkpoint never overwrites, and
  // validate everything they read).
  if (!shm_mapped_) {
    // A connection that has not read yet has not mapped SQLite's wal-index: in WAL mode
    // it could not take the checkpoint lock, and RESERVED does not keep SQLite's own
    // checkpoints out. The database header says which mode the file is in (bytes 18
    // and 19 are 2 in WAL mode).
    std::array<std::byte, 2> version{};
    Result<size_t> got = open_->store->Read(*db_, 18, version);
    if (got.ok() && got.value() == version.size() &&
        (static_cast<int>(version[0]) == 2 || static_cast<int>(version[1]) == 2)) {
      ReportError(SQLITE_BUSY,
                  "checkpoint of a WAL database by a connection that has not read it yet; "
                  "run a query on it first");
      return SQLITE_BUSY;
    }
  }
  const int held = lock_;
  int rc = SQLITE_OK;
  if (shm_mapped_) {
    rc = Lower()->xShmLock(LowerFile(), kWalCheckpointLock, 1, SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE);
  } else {
    if (held == SQLITE_LOCK_NONE) rc = Lower()->xLock(LowerFile(), SQLITE_LOCK_SHARED);
    if (rc == SQLITE_OK) {
      rc = Lower()->xLock(LowerFile(), SQLITE_LOCK_RESERVED);
      if (rc != SQLITE_OK && held == SQLITE_LOCK_NONE) Lower()->xUnlock(LowerFile(), SQLITE_LOCK_NONE);
    }
  }
  if (rc != SQLITE_OK) return rc;
  Store& store = *open_->store;
  Status s = compact ? store.Compact(*db_) : store.Checkpoint(*db_);
  if (shm_mapped_) {
    Lower()->xShmLock(LowerFile(), kWalCheckpointLock, 1, SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE);
  } else {
    Lower()->xUnlock(LowerFile(), held == SQLITE_LOCK_NONE ? SQLITE_LOCK_NONE : SQLITE_LOCK_SHARED);
  }
  return s.ok() ? SQLITE_OK : Report(s, SQLITE_IOERR_WRITE, compact ? "compact" : "checkpoint");
}

int StoreFile::FileControl(int op, void* pArg) {
  switch (op) {
    case SQLITE_FCNTL_COMMIT_PHASETWO:
      // The pager finished a transaction (synchronous=OFF gets no sync).
      return CommitPoint(lock_ == SQLITE_LOCK_EXCLUSIVE);
    case SQLITE_FCNTL_CKPT_DONE:
      // A WAL checkpoint copied its pages: commit them before SQLite tells readers.
      return CommitPoint(true);
    case SQLITE_FCNTL_SIZE_HINT:
    case SQLITE_FCNTL_CHUNK_SIZE:
      return SQLITE_OK;  // the logical file has no physical size to prepare
    case SQLITE_FCNTL_MMAP_SIZE: {
      // Not passed down: mapping the page file would expose compressed bytes. The size
      // bounds the offsets xFetch serves from the page cache instead.
      auto* size = static_cast<sqlite3_int64*>(pArg);
      if (*size >= 0) mmap_size_ = *size;
      *size = mmap_size_;
      return SQLITE_OK;
    }
    case kFcntlCheckpoint:
      return RunMaintenance(false);
    case kFcntlCompact:
      return RunMaintenance(true);
    default:
      break;
  }
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

int StoreFile::DeviceCharacteristics() {
  // Writes reach the log, never the page file in place: no atomic-write promise of the
  // base device holds for the logical file.
  return Lower()->xDeviceCharacteristics(LowerFile()) &
         ~(SQLITE_IOCAP_ATOMIC | SQLITE_IOCAP_ATOMIC512 | SQLITE_IOCAP_ATOMIC1K |
           SQLITE_IOCAP_ATOMIC2K | SQLITE_IOCAP_ATOMIC4K | SQLITE_IOCAP_ATOMIC8K |
           SQLITE_IOCAP_ATOMIC16K | SQLITE_IOCAP_ATOMIC32K | SQLITE_IOCAP_ATOMIC64K |
           SQLITE_IOCAP_BATCH_ATOMIC);
}

int StoreFile::ShmMap(int iPg, int pgsz, int isWrite, void volatile** pp) {
  const int rc = Lower()->xShmMap(LowerFile(), iPg, pgsz, isWrite, pp);
  if (rc == SQLITE_OK) shm_mapped_ = true;
  if (rc == SQLITE_OK && iPg == 0 && *pp != nullptr && pgsz >= kWalIndexBytes) {
    wal_index_ = static_cast<const volatile std::byte*>(*pp);
  }
  return rc;
}

StoreFile::WalIndexToken StoreFile::ReadWalIndexToken() {
  // SQLite's wal-index (its documented -shm format): two copies of a 48-byte header, the
  // second written first, then the checkpoint information. The salts of the WAL (bytes
  // 32..39 of a header) change when the WAL restarts; nBackfill (bytes 96..99) whenever a
  // checkpoint has copied frames into the database. Copies that differ are a header
  // being written: no token (a full refresh).
  if (wal_index_ == nullptr) return {};
  auto load = [this](size_t at) {
    return __atomic_load_n(reinterpret_cast<const uint32_t*>(
                               const_cast<const std::byte*>(wal_index_ + at)),
                           __ATOMIC_ACQUIRE);
  };
  const uint32_t version = load(0);
  const uint32_t change0 = load(8);
  const uint64_t salts0 = (uint64_t{load(32)} << 32) | load(36);
  const uint32_t backfill = load(96);
  const uint32_t change1 = load(48 + 8);
  const uint64_t salts1 = (uint64_t{load(48 + 32)} << 32) | load(48 + 36);
  // Version 0: not initialized yet. Salts of 0 are a WAL never written since the
  // wal-index was built (the first frame sets them): a state like any other.
  if (version == 0 || version != load(48) || change0 != change1 || salts0 != salts1 ||
      backfill != load(96)) {
    return {};
  }
  return {salts0 ^ 0x8000000000000000ull, uint64_t{backfill} | (uint64_t{version} << 32)};
}

int StoreFile::ShmLock(int offset, int n, int flags) {
  const bool releasing_ckpt = (flags & SQLITE_SHM_UNLOCK) && offset <= kWalCheckpointLock &&
                              offset + n > kWalCheckpointLock && ckpt_locked_;
  if (releasing_ckpt) {
    // A WAL checkpoint ends: its writes are finished whatever happened.
    (void)CommitPoint(true);
  }
  int rc = Lower()->xShmLock(LowerFile(), offset, n, flags);
  if (rc != SQLITE_OK) return rc;
  if (offset <= kWalCheckpointLock && offset + n > kWalCheckpointLock) {
    ckpt_locked_ = (flags & SQLITE_SHM_LOCK) && (flags & SQLITE_SHM_EXCLUSIVE);
  }
  if ((flags & SQLITE_SHM_LOCK) && offset >= kWalFirstReadLock) {
    // A WAL reader takes a read mark: a new snapshot, which may read the page file.
    const WalIndexToken token = ReadWalIndexToken();
    Status s = open_->store->RefreshWal(*db_, token.hi, token.lo);
    if (!s.ok()) {
      Lower()->xShmLock(LowerFile(), offset, n,
                        SQLITE_SHM_UNLOCK | (flags & (SQLITE_SHM_SHARED | SQLITE_SHM_EXCLUSIVE)));
      return Report(s, SQLITE_IOERR_READ, "refresh");
    }
  }
  return SQLITE_OK;
}

void StoreFile::ShmBarrier() { Lower()->xShmBarrier(LowerFile()); }

int StoreFile::ShmUnmap(int deleteFlag) {
  shm_mapped_ = false;
  wal_index_ = nullptr;
  return Lower()->xShmUnmap(LowerFile(), deleteFlag);
}

int StoreFile::Fetch(sqlite3_int64 iOfst, int iAmt, void** pp) {
  *pp = nullptr;  // no pointer: SQLite reads the page with xRead instead
  if (iOfst < 0 || iAmt <= 0 || iOfst + iAmt > mmap_size_) return SQLITE_OK;
  if (wal_index_ != nullptr && lock_ < SQLITE_LOCK_RESERVED) {
    if (int rc = CatchUpWithWal(); rc != SQLITE_OK) return rc;
  }
  Result<const std::byte*> page =
      open_->store->Fetch(*db_, static_cast<uint64_t>(iOfst), static_cast<size_t>(iAmt));
  if (!page.ok()) return Report(page.status(), SQLITE_IOERR_MMAP, "fetch");
  if (page.value() != nullptr) {
    stats().Add(Counter::kFetches);
    // SQLite only reads a fetched page (it copies a page before changing it).
    *pp = const_cast<std::byte*>(page.value());
  }
  return SQLITE_OK;
}

int StoreFile::Unfetch(sqlite3_int64, void* p) {
  // A null pointer asks to drop every mapping (before a truncate, say): a pinned page
  // stays valid on its own, so there is nothing to drop.
  if (p != nullptr) cache::PageCache::Unpin(static_cast<const std::byte*>(p));
  return SQLITE_OK;
}

}  // namespace blaze::vfs
