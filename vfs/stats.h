// vfs/stats.h: exact I/O counters of store files, and the registry that lists them.
//
// Every open main-database file of a Blaze VFS (a "store file") owns one FileStats,
// registered here for its lifetime. Counters are relaxed atomics, striped by thread: each
// is exact, but a snapshot taken while I/O runs is not a single instant across counters.
// The process total is every closed file's final counts plus every open file's current
// counts, so it never goes backwards when a file closes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace blaze::vfs {

// Append only: the order is the column order of blaze_stats.
enum class Counter : int {
  kReads,         // xRead calls
  kBytesRead,     // bytes SQLite asked xRead for
  kWrites,        // xWrite calls
  kBytesWritten,  // bytes SQLite handed to xWrite
  kSyncs,         // xSync calls
  kTruncates,     // xTruncate calls
  kLocks,         // xLock calls that took the lock
  kFetches,       // xFetch calls that returned a page pointer
  kRefreshesSkipped,  // SHARED locks that needed no look at the store log (StoreFile::Lock)
  kCount
};

inline constexpr int kCounterCount = static_cast<int>(Counter::kCount);

inline constexpr std::array<std::string_view, kCounterCount> kCounterNames = {
    "reads", "bytes_read", "writes", "bytes_written",
    "syncs", "truncates",  "locks",  "fetches", "refreshes_skipped",
};

using CounterValues = std::array<uint64_t, kCounterCount>;

// What a store holds and has done, read from the store when a snapshot is taken (the
// store keeps them; vfs/store.h StoreFigures). Append only: the order is the column
// order of blaze_stats, after the counters and before `ratio`.
enum class Figure : int {
  kLogicalBytes,   // the database's size as SQLite sees it
  kStoredBytes,    // page file + store log on disk
  kLogBytes,       // the store log on disk
  kFrames,         // page frames appended to the log
  kCommits,        // commit records appended
  kLogSyncs,       // syncs of the log
  kCheckpoints,    // checkpoints (log moved into the page file)
  kPageFileSyncs,  // syncs of the page file
  kDecompressions, // pages decoded for reads
  kReloads,        // views reloaded after another process changed the store
  kCacheHits,      // reads and fetches served from the page cache
  kCacheMisses,    // reads and fetches that had to decode (or read a written page)
  kCacheEvictions, // the store's pages evicted to make room
  kCachePinned,    // pages pinned by xFetch now
  kCachePages,     // the store's pages in the cache now
  kCacheBytes,     // bytes they hold
  kDictionaryBytes,  // the store's compression dictionary (0: none yet)
  kReadAheads,       // page-file reads that fetched a window for a scan (Store::ReadSlot)
  kCount
};
inline constexpr int kFigureCount = static_cast<int>(Figure::kCount);
inline constexpr std::array<std::string_view, kFigureCount> kFigureNames = {
    "logical_bytes", "stored_bytes", "log_bytes",       "frames",        "commits",
    "log_syncs",     "checkpoints",  "page_file_syncs", "decompressions", "reloads",
    "cache_hits",    "cache_misses", "cache_evictions", "cache_pinned",   "cache_pages",
    "cache_bytes",   "dictionary_bytes", "read_aheads",
};
using FigureValues = std::array<uint64_t, kFigureCount>;

class FileStats {
 public:
  FileStats(std::string vfs_name, std::string path,
            std::function<FigureValues()> figures = nullptr)
      : vfs_name_(std::move(vfs_name)), path_(std::move(path)), figures_(std::move(figures)) {}
  FileStats(const FileStats&) = delete;
  FileStats& operator=(const FileStats&) = delete;

  void Add(Counter c, uint64_t n = 1) {
    stripes_[ThreadStripe()].counters[static_cast<int>(c)].fetch_add(n, std::memory_order_relaxed);
  }
  // Two counters of one call (an xRead's count and bytes): the thread's stripe, a
  // thread_local that blaze.so reaches through __tls_get_addr, is looked up once.
  void Add(Counter a, uint64_t na, Counter b, uint64_t nb) {
    Stripe& s = stripes_[ThreadStripe()];
    s.counters[static_cast<int>(a)].fetch_add(na, std::memory_order_relaxed);
    s.counters[static_cast<int>(b)].fetch_add(nb, std::memory_order_relaxed);
  }
  uint64_t Get(Counter c) const {
    uint64_t sum = 0;
    for (const Stripe& s : stripes_) sum += s.counters[static_cast<int>(c)].load(std::memory_order_relaxed);
    return sum;
  }
  CounterValues Values() const;
  // The store's figures now (all zero when the file has no store behind it).
  FigureValues Figures() const { return figures_ ? figures_() : FigureValues{}; }

  const std::string& vfs_name() const { return vfs_name_; }
  const std::string& path() const { return path_; }

 private:
  const std::string vfs_name_;
  const std::string path_;
  const std::function<FigureValues()> figures_;
  // Connections of one store on several threads count into different cache lines: a
  // shared counter would make every cached read bounce one line between cores.
  static constexpr size_t kStripes = 8;
  static size_t ThreadStripe() {
    static std::atomic<size_t> next{0};
    thread_local const size_t stripe = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return stripe;
  }
  struct alignas(64) Stripe {
    std::array<std::atomic<uint64_t>, kCounterCount> counters{};
  };
  std::array<Stripe, kStripes> stripes_{};
};

// One row of a snapshot. The total row has is_total set and empty names.
struct StatsRow {
  bool is_total = false;
  std::string vfs_name;
  std::string path;
  CounterValues values{};
  FigureValues figures{};  // the total row: the sum over open files
};

// Process-wide list of open store files. Thread-safe.
class StatsRegistry {
 public:
  static StatsRegistry& Instance();

  // Registers a new file's counters; the caller keeps the returned object and passes
  // it to Unregister when the file closes.
  std::shared_ptr<FileStats> Register(std::string vfs_name, std::string path,
                                      std::function<FigureValues()> figures = nullptr);
  void Unregister(const std::shared_ptr<FileStats>& stats);

  // One row per open store file, in the order they were opened, then the total row.
  std::vector<StatsRow> Snapshot() const;

 private:
  StatsRegistry() = default;

  mutable std::mutex mu_;
  std::vector<std::shared_ptr<FileStats>> open_;  // guarded by mu_
  CounterValues closed_{};                         // guarded by mu_: sum of closed files
};

}  // namespace blaze::vfs
