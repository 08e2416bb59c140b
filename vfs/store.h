// vfs/store.h: the compressed page store behind one database file, shared by every
// connection of this process that opens that file.
//
// What it does: serves SQLite's byte-addressed reads and writes of the main database
// from compressed pages. A written page waits, decoded, in the transaction's write
// buffer; evicted from it or at the commit point it is encoded (compress/) and appended
// to the store log (wal/) as a page frame; a commit point appends a commit record, and a
// sync point syncs the log once. Checkpoints move committed frames into the page file (vfs/page_format.h)
// copy-on-write: slots and map chunks go to free extents, the page file is synced, the
// other header copy names the new map, the page file is synced again, then the log is
// reset. docs/design/store.md gives the design and docs/format.md the bytes.
//
// What it does not do: know SQLite. The caller (vfs/store_file.cc) maps SQLite's calls
// and locks onto Refresh, Commit and Checkpoint, passes its own handle on the page file
// with every call, and turns a Status into an SQLite result code. Everything here can
// be driven over in-memory files (tests/unit/store_test.cc).
//
// Logical layout: the database is a sequence of blocks of one size (the store page
// size, fixed by the first write to an empty store: SQLite's page size). Reads and
// writes at any offset and length work; a write that is not one whole aligned page is
// a read-modify-write of the pages it touches. The logical size is always a whole number
// of store pages (a truncate to a size within a page keeps that page, zero-filled past
// the size).
//
// Visibility: within this process every write is visible at once to every connection
// (as on a plain file). Another process sees a transaction once its commit record is in
// the log file, and only after it calls Refresh (the caller does at every lock it
// takes). Reads verify every byte they use (checksum, page number, salt); a read that
// fails verification reloads the store's view from disk and tries once more, since
// another process may have reset the log or reused the extent; a second failure is
// reported (kChecksum: SQLITE_IOERR_DATA; kCorrupt: SQLITE_CORRUPT).
//
// Decoded pages (cache/page_cache.h): with a cache, every page read or written goes into
// the process's page cache under this store's client, and the cache is kept exact: a
// write puts the new bytes, a truncate erases the pages cut, and a reload that finds
// another process's commits erases the pages whose source (log frame or page-file slot)
// changed. A read whose pages are all cached takes no store lock at all: one shard lock
// and one copy per page. Fetch pins a cached page for SQLite's xFetch.
//
// Thread safety: every public member may be called from any thread. One mutex
// serializes everything but cached reads; the fast path reads the published logical size
// (an atomic) and the cache, which stays exact because every change of the view is made,
// and reflected in the cache, under the mutex, and SQLite's locks keep a page that one
// connection reads from being rewritten by another at the same time.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "cache/page_cache.h"
#include "common/file.h"
#include "common/status.h"
#include "compress/codec.h"
#include "vfs/extent_allocator.h"
#include "vfs/page_format.h"
#include "wal/log_writer.h"

namespace blaze::vfs {

// Status::detail() of the error for a file that is not a store at all (SQLITE_NOTADB's
// value, so the vfs layer passes it to SQLite unchanged).
inline constexpr int kNotAStore = 26;
// Status::detail() of the error for a page file of a format this build does not read (a
// newer one): SQLITE_CANTOPEN's value, not SQLITE_CORRUPT, since nothing is damaged.
inline constexpr int kCannotOpen = 14;

struct StoreConfig {
  compress::CodecSpec codec{compress::CodecId::kLz4, 1};
  // A commit point that leaves the log at least this long checkpoints (when the caller
  // allows it: it holds the right to write the page file). 0: never automatically.
  uint64_t checkpoint_bytes = uint64_t{4} << 20;
  // Pages of the open transaction kept decoded in memory, up to this many bytes, and
  // appended to the log only when evicted (least recently written first) or at the
  // commit point. A page SQLite writes many times in one transaction (its cache spills
  // repeatedly during a large one) then costs one encoding and one frame, not one per
  // spill. 0: every write is appended at once.
  uint64_t write_buffer_bytes = uint64_t{8} << 20;
  // The first checkpoint that finds the database at least this long (and the codec not
  // none) makes the store's dictionary (0: never): pages written from then on are
  // compressed against it. A store keeps its dictionary for good.
  uint64_t dictionary_bytes = uint64_t{1} << 20;
  // Nothing is written until AllowWrites: no log is created, no tail trimmed, no
  // checkpoint.
  bool read_only = false;
  // Opens the store log: for writing (created if missing) when `write`, else for
  // reading, null when it does not exist. A read-only store without a log looks for one
  // at every refresh (another process may create it); AllowWrites opens it for writing.
  // Null: the store never opens a log of its own.
  std::function<Result<std::unique_ptr<File>>(bool write)> open_log;
  // The cache decoded pages go to (null: none), and the most this store may hold there.
  cache::PageCache* cache = nullptr;
  uint64_t cache_share = UINT64_MAX;
  // Pages worth keeping through a scan (the vfs layer names b-tree interior pages).
  bool (*keep_page)(uint32_t page, std::span<const std::byte> bytes) = nullptr;
  // Names the file in error messages.
  std::string name;
};

// What the store holds and has done; blaze_stats shows them.
struct StoreFigures {
  uint64_t logical_bytes = 0;    // the database's size as SQLite sees it
  uint64_t page_file_bytes = 0;  // the main file's size on disk
  uint64_t log_bytes = 0;        // the store log's size on disk
  uint64_t frames = 0;           // page frames appended by this process
  uint64_t commits = 0;          // commit records appended by this process
  uint64_t log_syncs = 0;        // syncs of the log
  uint64_t checkpoints = 0;      // checkpoints completed by this process
  uint64_t page_file_syncs = 0;  // syncs of the page file (two per checkpoint)
  uint64_t decodes = 0;          // pages decompressed for reads
  uint64_t read_aheads = 0;      // page-file reads of a window ahead of a scan
  uint64_t reloads = 0;          // views reloaded from disk (another process changed it)
  uint64_t dictionary_bytes = 0;  // the store's dictionary (0: none)
  cache::ClientFigures cache;    // this store's pages in the page cache
};

class Store {
 public:
  // `log` is the store log (app.db-blazelog); the store owns it. It may be null for a
  // read-only store whose log does not exist.
  Store(std::unique_ptr<File> log, StoreConfig config);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Whether `db` can be a page file: empty, or a header copy with the store magic.
  // kCorrupt with a message for a plain SQLite database or anything else.
  [[nodiscard]] static Status Probe(File& db);

  // Brings this process's view up to date with the files: called whenever the caller
  // takes a lock that lets it read (SHARED on the database, a read mark in WAL mode).
  // Costs one read of the log header and one size query when nothing changed.
  [[nodiscard]] Status Refresh(File& db);

  // SQLite's WAL mode: the database file changes only when a WAL checkpoint copies
  // frames into it, and SQLite's wal-index records every such change before a reader
  // may rely on it (its backfill count, or new salts when the WAL restarts). `token` is
  // that identity, read by the caller from the wal-index after taking its read mark.
  // While it is the one recorded at the last refresh and the view is clean, nothing a
  // reader can see has changed: no system call, no lock. Otherwise Refresh, then record.
  // A change of another process's store layout alone (its store checkpoint) is not
  // seen here; reads verify what they use and reload when a frame or slot has moved.
  [[nodiscard]] Status RefreshWal(File& db, uint64_t token_hi, uint64_t token_lo);

  // Makes a store opened read-only writable (a read-write connection opened the file
  // after a read-only one): opens the log for writing and reloads the view at the next
  // refresh. Does nothing when the store is writable already.
  [[nodiscard]] Status AllowWrites();

  // Whether the view is loaded, sound, and without a transaction of ours open: what
  // Refresh would keep as it is if the log had not changed. A hint (no lock).
  bool ViewClean() const {
    return view_log_size_.load(std::memory_order_acquire) != kNoFastPath;
  }

  // Reads up to dst.size() bytes at `offset`. Returns how many bytes exist there (fewer
  // at the end of the database); dst past them is left unchanged.
  [[nodiscard]] Result<size_t> Read(File& db, uint64_t offset, std::span<std::byte> dst);

  // The decoded bytes of the whole page at `offset` (page_size() bytes), pinned in the
  // cache until cache::PageCache::Unpin; null when there is no cache, the request is not
  // one whole page of the database, or the cache has no room.
  [[nodiscard]] Result<const std::byte*> Fetch(File& db, uint64_t offset, size_t length);

  // Writes src at `offset` (pending until the next Commit).
  [[nodiscard]] Status Write(File& db, uint64_t offset, std::span<const std::byte> src);

  // Sets the logical size (pending until the next Commit).
  [[nodiscard]] Status Truncate(File& db, uint64_t size);

  uint64_t Size();

  // A commit point: appends a commit record if anything was written or truncated since
  // the last one; with `sync`, then syncs the log if it holds unsynced bytes. With
  // `may_checkpoint` (the caller holds the right to write the page file) and a log past
  // the threshold, checkpoints.
  [[nodiscard]] Status Commit(File& db, bool sync, bool may_checkpoint);

  // Moves every committed frame into the page file and resets the log. Commits first if
  // a transaction is open. REQUIRES: the caller holds the right to write the page file.
  [[nodiscard]] Status Checkpoint(File& db);

  // Checkpoints, then moves slots from the end of the page file into free space nearer
  // its start, in as many checkpoints as it takes, and cuts the file. Same REQUIRES.
  [[nodiscard]] Status Compact(File& db);

  StoreFigures Figures();
  uint32_t page_size();  // 0 while the store is empty
  // The most this store may hold in the cache (takes effect at once).
  void SetCacheShare(uint64_t bytes);

 private:
  // A page of the open transaction in the write buffer.
  struct Buffered {
    std::vector<std::byte> bytes;        // the page, decoded
    std::list<uint32_t>::iterator lru;   // its place in wlru_
  };
  using WriteBuffer = std::unordered_map<uint32_t, Buffered>;

  // Holds mu_; at release publishes the logical size the lock-free read path uses.
  class ViewLock;

  // The view of a store with no map and no free-space holes (an empty or new store).
  void InstallEmptyView(uint32_t page_size, const PageFileHeader& header);
  // io_buf_, page_buf_ and enc_buf_ for the current page size (the largest while none).
  void SizeBuffers();
  [[nodiscard]] Status RefreshLocked(File& db);
  // The log's size and header salt (0: no valid header), read without the lock.
  struct LogProbe {
    uint64_t size;
    uint64_t salt;
  };
  [[nodiscard]] Result<LogProbe> ProbeLog();
  [[nodiscard]] Status ReloadIfPageFileMoved(File& db);
  [[nodiscard]] Status LoadLocked(File& db);
  // *damaged (optional): a header copy is there but invalid (not never-written zeros).
  [[nodiscard]] Status LoadPageFile(File& db, PageFileHeader* header, int* copy,
                                    bool* damaged = nullptr);
  [[nodiscard]] Status LoadMap(File& db, const PageFileHeader& header);
  [[nodiscard]] Status BeginWrite(File& db, uint32_t first_page_size);
  [[nodiscard]] Status CreateStore(File& db, uint32_t page_size);
  [[nodiscard]] Status ResetLog();
  // The stored bytes of a page-file extent: from the read-ahead window when it holds
  // them, else read (a window's worth when the read follows the last one in the file).
  // *ahead: they came from a window filled earlier (a failed check reads them again).
  [[nodiscard]] Result<std::span<std::byte>> ReadSlot(File& db, const Extent& e, bool* ahead);
  void DropReadAhead() { ra_start_ = ra_end_ = 0; }
  // Reads a whole page from the view (write buffer, log or page file) and caches it.
  [[nodiscard]] Status ReadPage(File& db, uint32_t page, std::span<std::byte> dst);
  // Whether reads look in the cache and put what they decode there: there is a cache and
  // this store's share of it is not 0. With blaze_cache=0 a read would otherwise take a
  // shard lock three times per page to find, count and fail to place it. Writes,
  // truncates and reloads keep the cache exact whatever the share (pages pinned before
  // the share fell to 0 stay in it until their Unpin).
  bool CachingReads() const { return cache_ != nullptr && cache_->share() != 0; }
  // Cached bytes of [in_page, in_page + dst.size()) of `page`, counting a miss or hit.
  bool ReadCached(uint32_t page, size_t in_page, std::span<std::byte> dst);
  // `scan`: read by a sequential scan (ReadSlot's read-ahead); see CachePut in store.cc.
  void CachePut(uint32_t page, std::span<const std::byte> bytes, bool scan = false);
  // Erases the cached pages whose content the view just installed may have changed:
  // `old_index`/`old_salt` are the log view before, stale_pages_ the map entries changed.
  void InvalidateChanged(const std::unordered_map<uint32_t, uint64_t>& old_index,
                         uint64_t old_salt, uint32_t old_floor);
  void Publish();
  [[nodiscard]] Status ReadPageOnce(File& db, uint32_t page, std::span<std::byte> dst);
  [[nodiscard]] Status WritePage(uint32_t page, std::span<const std::byte> src);
  // Write buffer (StoreConfig::write_buffer_bytes): keeps the page, may evict another.
  [[nodiscard]] Status BufferPage(uint32_t page, std::span<const std::byte> src);
  [[nodiscard]] Status FlushBuffer();  // every buffered page to the log, in page order
  void Unbuffer(WriteBuffer::iterator it);  // out of the buffer, node kept for reuse
  void DropBuffered(uint32_t above);   // forgets buffered pages > above (a truncate)
  [[nodiscard]] Status CommitLocked(File& db, bool sync, bool may_checkpoint);
  [[nodiscard]] Status CheckpointLocked(File& db, bool compact);
  [[nodiscard]] Status Broken(Status s);
  uint64_t NewSalt();

  // The store log in use (null: none yet). Read without mu_ by Refresh's probe, so a
  // log replaced by AllowWrites or found later stays open, in logs_, until the end.
  File* log_file() const { return log_.load(std::memory_order_acquire); }
  void InstallLog(std::unique_ptr<File> log);  // REQUIRES: mu_ (or no other thread)

  std::mutex mu_;
  std::atomic<File*> log_{nullptr};
  std::vector<std::unique_ptr<File>> logs_;
  const StoreConfig config_;
  bool read_only_;

  // The view. loaded_ false or broken_ true: the next Refresh/Read reloads from disk.
  bool loaded_ = false;
  bool broken_ = false;
  Status broken_by_;        // the failure that set broken_
  uint32_t page_size_ = 0;  // 0: an empty store (no page file header yet)
  PageFileHeader header_;   // the durable header in use
  int header_copy_ = 0;     // which copy holds it
  std::vector<Extent> map_;     // page p at map_[p - 1]; header_.page_count entries
  std::vector<uint32_t> map_gen_;  // low 32 bits of each entry's generation
  std::vector<Extent> chunks_;  // map chunk k's extent
  std::vector<uint32_t> chunk_gen_;
  ExtentAllocator alloc_;

  std::optional<wal::LogWriter> writer_;
  uint64_t log_salt_ = 0;       // of the log generation in the view (0: none)
  uint64_t log_seen_size_ = 0;  // the log's size when the view was taken
  bool log_has_tail_ = false;   // the log held bytes past its last commit then
  std::unordered_map<uint32_t, uint64_t> index_;  // page -> frame offset in the log
  uint32_t pages_ = 0;      // logical size in pages, pending writes included
  uint32_t map_floor_ = 0;  // map pages above this were cut since the checkpoint
  bool txn_open_ = false;   // written or truncated since the last commit record
  uint32_t txn_start_pages_ = 0;  // pages_ when the open transaction began
  uint32_t txn_cut_ = 0;          // the smallest size a truncate set in it
  bool log_unsynced_ = false;

  WriteBuffer wbuf_;          // page -> buffered page of the open txn
  std::list<uint32_t> wlru_;  // front: most recently written
  // Nodes (with their page buffers) and list cells of pages that left the buffer, reused
  // so that a steady stream of writes allocates nothing.
  std::vector<WriteBuffer::node_type> wspare_;
  std::list<uint32_t> wlru_spare_;
  std::vector<uint32_t> flush_order_;

  std::vector<std::byte> io_buf_;    // one frame or one slot extent
  std::vector<std::byte> page_buf_;  // one decoded page
  std::vector<std::byte> enc_buf_;   // one encoded page
  // Read-ahead of the page file (ReadSlot): bytes [ra_start_, ra_end_) of the file, read
  // under the current map; dropped whenever the map changes (a reload, a checkpoint).
  std::vector<std::byte> ra_buf_;
  uint64_t ra_start_ = 0;
  uint64_t ra_end_ = 0;
  uint64_t ra_next_ = UINT64_MAX;  // where the last slot read from the file ended
  size_t ra_window_ = 0;           // bytes the next sequential read asks for
  bool ra_scanned_ = false;        // the last page ReadPageOnce read came by read-ahead
  uint64_t salt_counter_ = 0;

  StoreFigures figures_;

  // The store's compression dictionary (null: none yet), the extent holding it and the
  // low 32 bits of the generation that wrote it there. Made once, by a checkpoint, and
  // never changed: every page encoded against it decodes with the same bytes.
  std::shared_ptr<const compress::Dictionary> dict_;
  Extent dict_extent_;
  uint32_t dict_gen_ = 0;
  uint32_t dict_sampled_pages_ = 0;  // the size at a sampling that found too little
  // The dictionary a checkpoint would make now: pieces of pages spread over the
  // database (empty when it should make none).
  [[nodiscard]] std::vector<std::byte> SampleDictionary(File& db);

  std::unique_ptr<cache::Client> cache_;
  std::vector<uint32_t> stale_pages_;  // LoadMap: pages whose map entry changed
  // The logical size in bytes for reads that take no lock, or kNoFastPath while the
  // view is not loaded or broken (such reads then take the lock and load).
  static constexpr uint64_t kNoFastPath = UINT64_MAX;
  std::atomic<uint64_t> fast_size_{kNoFastPath};
  std::atomic<uint32_t> fast_page_size_{0};  // published before fast_size_
  // The log generation and size of a clean view (loaded, not broken, no transaction of
  // ours open, no torn tail), for Refresh; view_log_size_ is kNoFastPath otherwise.
  std::atomic<uint64_t> view_seq_{0};
  std::atomic<uint64_t> view_salt_{0};
  std::atomic<uint64_t> view_log_size_{kNoFastPath};
  std::atomic<uint64_t> view_wal_hi_{0};  // the wal-index identity of the last refresh
  std::atomic<uint64_t> view_wal_lo_{0};
  uint64_t wal_hi_ = 0;  // the same, written under mu_ and published by Publish
  uint64_t wal_lo_ = 0;
  bool wal_known_ = false;
};

}  // namespace blaze::vfs
