// vfs/store.cc: the compressed page store (see store.h; design in docs/design/store.md).
#include "vfs/store.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <utility>

#include "wal/log_reader.h"

namespace blaze::vfs {
namespace {

constexpr uint32_t kDefaultPageSize = 4096;
// Attempts at a consistent (page-file header, log) pair while another process
// checkpoints between our reads of the two.
constexpr int kLoadAttempts = 8;
// Read-ahead for scans of the page file (Store::ReadSlot): the first window, the largest,
// and the most a slot may start past the end of the last one and still count as next.
constexpr size_t kReadAheadMin = 32 << 10;
constexpr size_t kReadAheadMax = 128 << 10;
constexpr uint64_t kReadAheadGap = 4096;

uint32_t ChunkCount(uint32_t pages) { return (pages + kPagesPerChunk - 1) / kPagesPerChunk; }

// Calls fn(page, offset in the page, offset in the caller's buffer, length) for each
// piece of [offset, offset + length) that falls in one store page, stopping at the
// first non-ok Status.
template <class Fn>
Status ForEachPiece(uint64_t offset, size_t length, uint32_t page_size, Fn&& fn) {
  for (size_t done = 0; done < length;) {
    const uint64_t at = offset + done;
    const auto page = static_cast<uint32_t>(at / page_size + 1);
    const auto in_page = static_cast<size_t>(at % page_size);
    const size_t take = std::min<size_t>(length - done, page_size - in_page);
    if (Status s = fn(page, in_page, done, take); !s.ok()) return s;
    done += take;
  }
  return Status::Ok();
}

bool ValidExtent(const Extent& e, uint64_t high_water, uint64_t max_length) {
  return e.offset >= kDataStart && e.offset % kExtentAlign == 0 && e.length >= kBlockHeaderSize &&
         e.length % kExtentAlign == 0 && e.length <= max_length &&
         e.offset + e.length <= high_water;
}

std::string At(uint64_t offset) { return " at offset " + std::to_string(offset); }

// Writes extents laid out back to back in one write; flushes when the next extent does
// not follow the last one, or the buffer is full.
class BatchWriter {
 public:
  explicit BatchWriter(File& file) : file_(file) {}

  // Space for an extent of `length` bytes at `offset`, to be filled before the next call.
  Result<std::span<std::byte>> Add(uint64_t offset, uint64_t length) {
    if (!buf_.empty() && (offset != start_ + buf_.size() || buf_.size() + length > kLimit)) {
      if (Status s = Flush(); !s.ok()) return s;
    }
    if (buf_.empty()) start_ = offset;
    const size_t at = buf_.size();
    buf_.resize(at + length);
    return std::span<std::byte>(buf_.data() + at, length);
  }

  Status Flush() {
    if (buf_.empty()) return Status::Ok();
    Status s = file_.Write(start_, buf_);
    buf_.clear();
    return s;
  }

 private:
  static constexpr size_t kLimit = size_t{1} << 20;
  File& file_;
  std::vector<std::byte> buf_;
  uint64_t start_ = 0;
};

}  // namespace

Store::Store(std::unique_ptr<File> log, StoreConfig config)
    : config_(std::move(config)), read_only_(config_.read_only) {
  if (log != nullptr) InstallLog(std::move(log));
  if (config_.cache != nullptr) cache_ = config_.cache->Connect(config_.cache_share);
}

Store::~Store() = default;

void Store::InstallLog(std::unique_ptr<File> log) {
  log_.store(log.get(), std::memory_order_release);
  logs_.push_back(std::move(log));
}


class Store::ViewLock {
 public:
  explicit ViewLock(Store* store) : store_(store), lock_(store->mu_) {}
  ~ViewLock() { store_->Publish(); }
  ViewLock(const ViewLock&) = delete;
  ViewLock& operator=(const ViewLock&) = delete;

 private:
  Store* const store_;
  std::lock_guard<std::mutex> lock_;  // released after Publish
};

Status Store::AllowWrites() {
  ViewLock lock(this);
  if (!read_only_) return Status::Ok();
  if (!config_.open_log) return Status(Code::kMisuse, "store opened read-only");
  Result<std::unique_ptr<File>> log = config_.open_log(true);
  if (!log.ok()) return log.status();
  if (log.value() == nullptr) return Status(Code::kIoError, "the store log did not open");
  InstallLog(std::move(log.value()));
  read_only_ = false;
  loaded_ = false;  // the writer is bound to the log it was made with
  return Status::Ok();
}

void Store::Publish() {
  // The view's log identity, for Refresh's check without the lock (a sequence lock:
  // writers are serialized by mu_; odd while the pair is being changed).
  const bool clean = loaded_ && !broken_ && !txn_open_ && page_size_ != 0 && log_file() != nullptr &&
                     !log_has_tail_;
  const uint64_t seq = view_seq_.load(std::memory_order_relaxed);
  // Release stores, acquire loads and no fences (ThreadSanitizer does not model fences):
  // a reader that sees any value stored after the odd count also sees the odd count.
  view_seq_.store(seq + 1, std::memory_order_relaxed);
  view_salt_.store(log_salt_, std::memory_order_release);
  view_log_size_.store(clean ? log_seen_size_ : kNoFastPath, std::memory_order_release);
  view_wal_hi_.store(wal_known_ ? wal_hi_ : 0, std::memory_order_release);
  view_wal_lo_.store(wal_known_ ? wal_lo_ : 0, std::memory_order_release);
  view_seq_.store(seq + 2, std::memory_order_release);

  if (cache_ == nullptr) return;
  if (!loaded_ || broken_) {
    fast_size_.store(kNoFastPath, std::memory_order_release);
    return;
  }
  fast_page_size_.store(page_size_, std::memory_order_release);
  fast_size_.store(uint64_t{pages_} * page_size_, std::memory_order_release);
}

void Store::SetCacheShare(uint64_t bytes) {
  if (cache_ != nullptr) cache_->set_share(bytes);
}

Status Store::Probe(File& db) {
  Result<uint64_t> size = db.Size();
  if (!size.ok()) return size.status();
  if (size.value() == 0) return Status::Ok();
  for (uint64_t at : kHeaderCopyOffset) {
    std::array<std::byte, kStoreMagic.size()> magic{};
    Result<size_t> got = db.Read(at, magic);
    if (!got.ok()) return got.status();
    if (got.value() == magic.size() &&
        std::memcmp(magic.data(), kStoreMagic.data(), magic.size()) == 0) {
      return Status::Ok();
    }
  }
  std::array<char, 16> head{};
  Result<size_t> got = db.Read(0, std::as_writable_bytes(std::span(head)));
  if (!got.ok()) return got.status();
  if (std::memcmp(head.data(), "SQLite format 3", 16) == 0) {
    return Status(Code::kCorrupt,
                  "is a plain SQLite database, not a Blaze store; copy it into one with "
                  "VACUUM INTO 'file:new.db?vfs=blaze'");
  }
  return Status(Code::kCorrupt, "is not a Blaze store (no store header at offset 0 or 4096)");
}

uint32_t Store::page_size() {
  std::lock_guard lock(mu_);
  return page_size_;
}

uint64_t Store::Size() {
  std::lock_guard lock(mu_);
  return uint64_t{pages_} * page_size_;
}

StoreFigures Store::Figures() {
  std::lock_guard lock(mu_);
  StoreFigures f = figures_;
  if (cache_ != nullptr) f.cache = cache_->Figures();
  f.logical_bytes = uint64_t{pages_} * page_size_;
  f.dictionary_bytes = dict_ != nullptr ? dict_->bytes().size() : 0;
  if (log_file() != nullptr) {
    Result<uint64_t> n = log_file()->Size();
    f.log_bytes = n.ok() ? n.value() : 0;
  }
  return f;
}

uint64_t Store::NewSalt() {
  // Salts only need to differ between generations of one log; random_device is seeded
  // by the OS, and the counter keeps two salts of this process apart even if it is not.
  static thread_local std::random_device device;
  const uint64_t r = (uint64_t{device()} << 32) ^ device();
  const uint64_t s = r ^ (++salt_counter_ * 0x9E3779B97F4A7C15ull);
  return s == 0 || s == log_salt_ ? s + 1 : s;
}

Status Store::Broken(Status s) {
  broken_ = true;
  fast_size_.store(kNoFastPath, std::memory_order_release);
  broken_by_ = s;
  return s;
}

// ---- Loading the view ----

void Store::InstallEmptyView(uint32_t page_size, const PageFileHeader& header) {
  page_size_ = page_size;
  header_ = header;
  header_copy_ = 0;
  map_.clear();
  map_gen_.clear();
  chunks_.clear();
  chunk_gen_.clear();
  dict_.reset();
  dict_extent_ = Extent{};
  dict_gen_ = 0;
  alloc_.Rebuild({});
  DropReadAhead();
}

void Store::SizeBuffers() {
  const size_t page = page_size_ != 0 ? page_size_ : wal::kMaxPageSize;
  io_buf_.resize(std::max<size_t>(wal::MaxFrameSize(static_cast<uint32_t>(page)),
                                  ExtentLength(page)));
  page_buf_.resize(page);
  enc_buf_.resize(compress::MaxEncodedSize(page));
  ra_buf_.resize(std::max<size_t>(kReadAheadMax, 2 * ExtentLength(page)));
  DropReadAhead();
}

Status Store::LoadPageFile(File& db, PageFileHeader* header, int* copy, bool* damaged) {
  std::optional<PageFileHeader> best;
  bool unsupported = false;
  uint32_t unsupported_version = 0;
  if (damaged != nullptr) *damaged = false;
  for (int i = 0; i < 2; ++i) {
    std::array<std::byte, kPfHeaderSize> raw{};
    Result<size_t> got = db.Read(kHeaderCopyOffset[i], raw);
    if (!got.ok()) return got.status();
    if (got.value() < kPfHeaderSize) continue;
    PageFileHeader h;
    const PfHeaderCheck check = DecodePageFileHeader(raw, &h);
    if (check == PfHeaderCheck::kInvalid && damaged != nullptr &&
        std::any_of(raw.begin(), raw.end(), [](std::byte b) { return b != std::byte{0}; })) {
      *damaged = true;
    }
    switch (check) {
      case PfHeaderCheck::kValid:
        if (!best || h.generation > best->generation) {
          best = h;
          *copy = i;
        }
        break;
      case PfHeaderCheck::kUnsupported:
        unsupported = true;
        unsupported_version = wal::LoadU32(raw.data() + kPfVersionOffset);
        break;
      case PfHeaderCheck::kInvalid:
        break;
    }
  }
  // A copy with a valid checksum that this build does not accept was written by another
  // version: refused, never skipped for the other (older) copy.
  if (unsupported) {
    return Status(Code::kCorrupt,
                  config_.name + ": page file format version " +
                      std::to_string(unsupported_version) +
                      (unsupported_version > kPageFileVersion
                           ? ", written by a newer Blaze; this build reads versions 1 to " +
                                 std::to_string(kPageFileVersion)
                           : ": a header this build does not accept"),
                  kCannotOpen);
  }
  if (!best) {
    // A power cut while CreateStore wrote the first header copy leaves at most its bytes,
    // torn, and an empty log (the log is reset only once that header is durable): no store
    // yet, as SQLite takes a file shorter than one page for an empty database. copy -1.
    Result<uint64_t> db_size = db.Size();
    if (!db_size.ok()) return db_size.status();
    Result<uint64_t> log_size = log_file() != nullptr ? log_file()->Size() : Result<uint64_t>(uint64_t{0});
    if (!log_size.ok()) return log_size.status();
    if (db_size.value() <= kPfHeaderSize && log_size.value() == 0) {
      *copy = -1;
      return Status::Ok();
    }
    // Both copies bad: a store whose headers are damaged, or no store at all.
    if (Status probe = Probe(db); !probe.ok()) {
      if (probe.code() == Code::kIoError) return probe;
      return Status(Code::kCorrupt, config_.name + " " + probe.message(), kNotAStore);
    }
    return Status(Code::kCorrupt, config_.name + ": no valid page file header (both copies damaged)");
  }
  *header = *best;
  return Status::Ok();
}

Status Store::LoadMap(File& db, const PageFileHeader& h) {
  DropReadAhead();
  const uint32_t nchunks = ChunkCount(h.page_count);
  std::vector<Extent> chunks(nchunks);
  std::vector<uint32_t> chunk_gen(nchunks, 0);
  std::vector<Extent> map(h.page_count);
  std::vector<uint32_t> map_gen(h.page_count, 0);
  std::vector<Extent> used;
  std::vector<std::byte> buf;
  // `gen32`: the low 32 bits of the generation that must have written the block (the
  // entry naming it says so): another generation's block there is a reused extent.
  auto read_block = [&](const Extent& e, BlockType type, uint32_t key, uint32_t gen32,
                        const char* what) -> Result<std::span<const std::byte>> {
    buf.resize(e.length);
    Result<size_t> got = db.Read(e.offset, buf);
    if (!got.ok()) return got.status();
    if (got.value() < e.length) {
      return Status(Code::kCorrupt, std::string(what) + At(e.offset) + " is past the end of the file");
    }
    BlockFields f;
    Result<std::span<const std::byte>> payload = CheckBlock(buf, type, key, &f);
    if (!payload.ok()) {
      return Status(payload.status().code(),
                    std::string(what) + At(e.offset) + ": " + payload.status().message());
    }
    if (static_cast<uint32_t>(f.generation) != gen32) {
      return Status(Code::kCorrupt, std::string(what) + At(e.offset) + " was written by generation " +
                                        std::to_string(f.generation) + ", not the one that names it");
    }
    return payload;
  };
  std::shared_ptr<const compress::Dictionary> dict;
  Extent dict_extent;
  uint32_t dict_gen = 0;
  if (h.directory.present()) {
    used.push_back(h.directory);
    Result<std::span<const std::byte>> dir =
        read_block(h.directory, BlockType::kDirectory, nchunks, static_cast<uint32_t>(h.generation),
                   "map directory");
    if (!dir.ok()) return dir.status();
    const uint32_t nentries = nchunks + (h.has_dictionary ? 1 : 0);
    if (dir.value().size() != uint64_t{nentries} * kEntrySize) {
      return Status(Code::kCorrupt, "map directory has the wrong size");
    }
    std::vector<std::byte> dir_copy(dir.value().begin(), dir.value().end());
    if (h.has_dictionary) {
      const std::byte* entry = dir_copy.data() + uint64_t{nchunks} * kEntrySize;
      dict_extent = DecodeEntry(entry);
      dict_gen = wal::LoadU32(entry + kEntryReservedOffset);
      if (!ValidExtent(dict_extent, h.high_water, ExtentLength(compress::Dictionary::kMaxSize)) ||
          dict_extent.length < ExtentLength(compress::Dictionary::kMinSize)) {
        return Status(Code::kCorrupt, "map directory: the dictionary entry is invalid");
      }
      used.push_back(dict_extent);
      if (dict_ != nullptr && dict_extent_ == dict_extent && dict_gen_ == dict_gen) {
        dict = dict_;  // the same block: a dictionary is never rewritten in place
      } else {
        Result<std::span<const std::byte>> bytes =
            read_block(dict_extent, BlockType::kDictionary, 0, dict_gen, "dictionary");
        if (!bytes.ok()) return bytes.status();
        Result<std::shared_ptr<const compress::Dictionary>> made =
            compress::Dictionary::Make(bytes.value());
        if (!made.ok()) {
          return Status(made.status().code() == Code::kNoMemory ? Code::kNoMemory : Code::kCorrupt,
                        "dictionary" + At(dict_extent.offset) + ": " + made.status().message());
        }
        dict = std::move(made.value());
      }
    }
    const uint64_t chunk_len = ExtentLength(uint64_t{kPagesPerChunk} * kEntrySize);
    for (uint32_t k = 0; k < nchunks; ++k) {
      const std::byte* entry = dir_copy.data() + uint64_t{k} * kEntrySize;
      const Extent e = DecodeEntry(entry);
      const uint32_t gen = wal::LoadU32(entry + kEntryReservedOffset);
      if (!ValidExtent(e, h.high_water, chunk_len) || e.length != chunk_len) {
        return Status(Code::kCorrupt, "map directory entry " + std::to_string(k) + " is invalid");
      }
      chunks[k] = e;
      chunk_gen[k] = gen;
      used.push_back(e);
      // A chunk this view already holds, written by the same generation at the same place,
      // is the same chunk (extents are never rewritten while a header reaches them).
      const bool same = loaded_ && k < chunks_.size() && chunks_[k] == e && chunk_gen_[k] == gen &&
                        page_size_ == h.page_size;
      const uint32_t first = k * kPagesPerChunk;
      const uint32_t n = std::min(kPagesPerChunk, h.page_count - first);
      if (same && first + n <= map_.size()) {
        std::copy_n(map_.begin() + first, n, map.begin() + first);
        std::copy_n(map_gen_.begin() + first, n, map_gen.begin() + first);
      } else {
        Result<std::span<const std::byte>> chunk = read_block(e, BlockType::kMapChunk, k, gen, "map chunk");
        if (!chunk.ok()) return chunk.status();
        if (chunk.value().size() != uint64_t{kPagesPerChunk} * kEntrySize) {
          return Status(Code::kCorrupt, "map chunk " + std::to_string(k) + " has the wrong size");
        }
        for (uint32_t i = 0; i < n; ++i) {
          const std::byte* me = chunk.value().data() + uint64_t{i} * kEntrySize;
          const uint32_t p = first + i;
          map[p] = DecodeEntry(me);
          map_gen[p] = wal::LoadU32(me + kEntryReservedOffset);
          // A cached page whose slot moved may hold another version (the cache keeps
          // pages of this view; see InvalidateChanged).
          if (p < map_.size() && (map_[p] != map[p] || map_gen_[p] != map_gen[p])) {
            stale_pages_.push_back(p + 1);
          }
        }
      }
      for (uint32_t i = 0; i < n; ++i) {
        const Extent& s = map[first + i];
        if (!s.present()) continue;
        if (!ValidExtent(s, h.high_water, ExtentLength(h.page_size))) {
          return Status(Code::kCorrupt, "map entry of page " + std::to_string(first + i + 1) +
                                            " is invalid");
        }
        used.push_back(s);
      }
    }
  }
  std::sort(used.begin(), used.end(),
            [](const Extent& a, const Extent& b) { return a.offset < b.offset; });
  for (size_t i = 1; i < used.size(); ++i) {
    if (used[i].offset < used[i - 1].offset + used[i - 1].length) {
      return Status(Code::kCorrupt, "two map entries overlap" + At(used[i].offset));
    }
  }
  alloc_.Rebuild(std::move(used));
  map_ = std::move(map);
  map_gen_ = std::move(map_gen);
  chunks_ = std::move(chunks);
  chunk_gen_ = std::move(chunk_gen);
  dict_ = std::move(dict);
  dict_extent_ = dict_extent;
  dict_gen_ = dict_gen;
  return Status::Ok();
}

Status Store::LoadLocked(File& db) {
  figures_.reloads += 1;
  // The cache holds pages of the view being replaced. It can be kept, less the pages
  // that changed, when that view was whole: loaded, not broken, no transaction of ours
  // in it (whose pages a reload drops).
  const bool cache_was_exact = loaded_ && !broken_ && !txn_open_ && wbuf_.empty();
  const uint32_t old_page_size = page_size_;
  const uint32_t old_floor = map_floor_;
  const uint64_t old_salt = log_salt_;
  for (int attempt = 0; attempt < kLoadAttempts; ++attempt) {
    stale_pages_.clear();
    Result<uint64_t> db_size = db.Size();
    if (!db_size.ok()) return db_size.status();
    PageFileHeader h;
    int copy = 0;
    bool empty = db_size.value() == 0;
    if (!empty) {
      if (Status s = LoadPageFile(db, &h, &copy); !s.ok()) return s;
      empty = copy < 0;  // a torn creation
    }
    wal::LogState log;
    if (log_file() != nullptr && !empty) {
      Result<wal::LogState> got = wal::RecoverLog(*log_file(), {.store_generation = h.generation});
      if (!got.ok()) return got.status();
      log = std::move(got.value());
    }
    if (!empty && log_file() != nullptr && (!log.has_header || log.stale)) {
      // A stale log is either one the page file already holds (a checkpoint ended before
      // its reset), or another process checkpointed between our two reads. A log without
      // a header is either none (never written, or reset before a first commit), or one
      // caught inside another process's reset: truncated, new header not yet written,
      // which it does only after a newer page-file header is durable. Either way, a page
      // file that moved since we read it means look again.
      PageFileHeader again;
      int again_copy = 0;
      bool damaged = false;
      if (Status s = LoadPageFile(db, &again, &again_copy, &damaged); !s.ok()) return s;
      if (again.generation != h.generation) continue;
      if (log.has_header) {
        // A log is reset to generation g + 1 only after the header of g + 1 is durable, and
        // that header copy is overwritten only by g + 3: it must be there. It is not when it
        // is damaged, and the older copy would then pass for the database, silently dropping
        // that checkpoint's log and everything committed since. (A log further ahead beside
        // a damaged copy is the same story, a few checkpoints later.)
        if (log.header.generation == h.generation + 1 ||
            (damaged && log.header.generation > h.generation)) {
          return Status(Code::kCorrupt,
                        config_.name + ": the store log is of generation " +
                            std::to_string(log.header.generation) +
                            " but the newest valid page file header is of " +
                            std::to_string(h.generation) + ": page file header copy " +
                            std::to_string(1 - again_copy) + " is damaged");
        }
      }
    }
    // A consistent pair: install it.
    if (empty) {
      InstallEmptyView(0, PageFileHeader{});
    } else {
      if (Status s = LoadMap(db, h); !s.ok()) {
        // Another process may have checkpointed twice since we read the header, reusing
        // the extents it names: look again.
        PageFileHeader again;
        int again_copy = 0;
        if (s.code() != Code::kIoError && LoadPageFile(db, &again, &again_copy).ok() &&
            again.generation != h.generation) {
          continue;
        }
        return s;
      }
      page_size_ = h.page_size;
      header_ = h;
      header_copy_ = copy;
    }
    const bool usable = log.has_header && !log.stale && !empty;
    if (usable && log.header.page_size != page_size_) {
      return Status(Code::kCorrupt, "store log page size " + std::to_string(log.header.page_size) +
                                        " differs from the page file's " +
                                        std::to_string(page_size_));
    }
    std::unordered_map<uint32_t, uint64_t> old_index = std::move(index_);
    index_ = usable ? std::move(log.index) : std::unordered_map<uint32_t, uint64_t>{};
    pages_ = usable && log.db_pages ? *log.db_pages : header_.page_count;
    map_floor_ = std::min(header_.page_count, usable && log.min_db_pages ? *log.min_db_pages
                                                                        : header_.page_count);
    log_salt_ = usable ? log.header.salt : 0;
    if (cache_ != nullptr) {
      if (cache_was_exact && !empty && page_size_ == old_page_size) {
        InvalidateChanged(old_index, old_salt, old_floor);
      } else {
        cache_->EraseAll();
      }
    }
    log_seen_size_ = 0;
    log_has_tail_ = false;
    if (log_file() != nullptr) {
      Result<uint64_t> n = log_file()->Size();
      if (!n.ok()) return n.status();
      log_seen_size_ = n.value();
      log_has_tail_ = usable && log.end < log_seen_size_;
      writer_.emplace(*log_file(), log);  // a stale or missing log: Reset before the first append
    }
    figures_.page_file_bytes = db_size.value();
    DropBuffered(0);  // an unfinished transaction's pages die with it
    txn_open_ = false;
    log_unsynced_ = false;
    loaded_ = true;
    broken_ = false;
    SizeBuffers();
    return Status::Ok();
  }
  return Status(Code::kIoError, "the store kept changing while it was loaded (" +
                                    std::to_string(kLoadAttempts) + " attempts)");
}

// Refresh looks at the log only. A checkpoint whose process died after its new page-file
// header became durable and before it reset the log leaves a log that still matches an
// older view: a writer must not append to that log generation (every load now ignores
// it as stale) nor checkpoint from that view (over the newer header's extents). Before
// writing, it reads the header copy a checkpoint writes (the one not holding ours): a
// newer generation there means the page file moved. REQUIRES: no transaction open.
Status Store::ReloadIfPageFileMoved(File& db) {
  if (page_size_ == 0) return Status::Ok();
  std::array<std::byte, kPfHeaderSize> raw{};
  Result<size_t> got = db.Read(kHeaderCopyOffset[1 - header_copy_], raw);
  if (!got.ok()) return got.status();
  PageFileHeader h;
  const PfHeaderCheck check =
      got.value() == raw.size() ? DecodePageFileHeader(raw, &h) : PfHeaderCheck::kInvalid;
  if (check == PfHeaderCheck::kInvalid ||
      (check == PfHeaderCheck::kValid && h.generation <= header_.generation)) {
    return Status::Ok();
  }
  return LoadLocked(db);
}

Status Store::Refresh(File& db) {
  // The common answer, "nothing changed", needs the log's size and salt: read them
  // before taking the lock, so that connections starting reads on several threads do
  // not queue behind each other's system calls. Whatever another process committed
  // before our caller's lock is in what we read; whatever this process changed since
  // moved the view away from it, and the locked path then looks again.
  // The comparison itself needs no lock either: the view publishes its log identity
  // (Publish), and a view in the middle of a change reads as no match.
  if (log_file() != nullptr) {
    Result<LogProbe> probe = ProbeLog();
    if (probe.ok()) {
      const uint64_t seq = view_seq_.load(std::memory_order_acquire);
      const uint64_t salt = view_salt_.load(std::memory_order_acquire);
      const uint64_t size = view_log_size_.load(std::memory_order_acquire);
      if (seq % 2 == 0 && seq == view_seq_.load(std::memory_order_relaxed) &&
          probe.value().salt == salt && probe.value().size == size) {
        return Status::Ok();
      }
    }
    ViewLock lock(this);
    return RefreshLocked(db);
  }
  ViewLock lock(this);
  return RefreshLocked(db);
}

Status Store::RefreshWal(File& db, uint64_t token_hi, uint64_t token_lo) {
  if (token_hi != 0) {
    const uint64_t seq = view_seq_.load(std::memory_order_acquire);
    const uint64_t size = view_log_size_.load(std::memory_order_acquire);
    const uint64_t hi = view_wal_hi_.load(std::memory_order_acquire);
    const uint64_t lo = view_wal_lo_.load(std::memory_order_acquire);
    if (seq % 2 == 0 && seq == view_seq_.load(std::memory_order_relaxed) &&
        size != kNoFastPath && hi == token_hi && lo == token_lo) {
      return Status::Ok();
    }
  }
  // The token was read before this refresh looks at the files: the view is at least as
  // new as the state it names.
  if (Status s = Refresh(db); !s.ok()) return s;
  ViewLock lock(this);
  wal_known_ = token_hi != 0;
  wal_hi_ = token_hi;
  wal_lo_ = token_lo;
  return Status::Ok();
}

Result<Store::LogProbe> Store::ProbeLog() {
  Result<uint64_t> size = log_file()->Size();
  if (!size.ok()) return size.status();
  LogProbe probe{size.value(), 0};
  if (size.value() >= wal::kHeaderSize) {
    std::array<std::byte, wal::kHeaderSize> raw{};
    Result<size_t> got = log_file()->Read(0, raw);
    if (!got.ok()) return got.status();
    wal::LogHeader h;
    if (got.value() == raw.size() && wal::DecodeHeader(raw, &h) == wal::HeaderCheck::kValid) {
      probe.salt = h.salt;
    }
  }
  return probe;
}

Status Store::RefreshLocked(File& db) {
  // A failure left the view unknown (a transaction SQLite could not finish is dropped
  // with it: recovery keeps only committed frames).
  if (!loaded_ || broken_) return LoadLocked(db);
  // While this process has a transaction open it holds the write lock: nobody else can
  // have changed the store, and reloading would drop our pending frames.
  if (txn_open_) return Status::Ok();
  if (page_size_ == 0) {
    Result<uint64_t> n = db.Size();
    if (!n.ok()) return n.status();
    return n.value() == 0 ? Status::Ok() : LoadLocked(db);
  }
  if (log_file() == nullptr) {
    // Read-only and no log yet: another process may have created one since.
    if (!config_.open_log) return Status::Ok();
    Result<std::unique_ptr<File>> log = config_.open_log(false);
    if (!log.ok()) return log.status();
    if (log.value() == nullptr) return ReloadIfPageFileMoved(db);
    InstallLog(std::move(log.value()));
    return LoadLocked(db);
  }
  Result<LogProbe> probe = ProbeLog();
  if (!probe.ok()) return probe.status();
  // Within one log generation the log only grows, except for a tail cut by the next
  // writer: same salt and size, and no tail last time, means no commit since.
  if (probe.value().salt == log_salt_ && probe.value().size == log_seen_size_ &&
      !log_has_tail_) {
    return Status::Ok();
  }
  return LoadLocked(db);
}

// ---- Reads ----

Status Store::ReadPageOnce(File& db, uint32_t page, std::span<std::byte> dst) {
  // empty() first: a cleared map keeps its bucket array, and probing a large one for
  // nothing costs a cache miss on every read of a checkpointed page.
  if (auto b = wbuf_.empty() ? wbuf_.end() : wbuf_.find(page); b != wbuf_.end()) {
    std::memcpy(dst.data(), b->second.bytes.data(), dst.size());
    return Status::Ok();
  }
  if (auto it = index_.empty() ? index_.end() : index_.find(page); it != index_.end()) {
    Result<wal::PageFrame> frame = wal::ReadFrame(*log_file(), it->second, log_salt_, page, io_buf_);
    if (!frame.ok()) return frame.status();
    if (frame.value().stale) {
      return Status(Code::kCorrupt, "store log: frame of page " + std::to_string(page) + At(it->second) +
                                        " belongs to another log generation");
    }
    figures_.decodes += 1;
    Status s = compress::DecodePage(frame.value().codec, frame.value().payload, dst, dict_.get());
    if (!s.ok()) {
      return Status(s.code(), "store log: page " + std::to_string(page) + At(it->second) + ": " +
                                  s.message());
    }
    return Status::Ok();
  }
  if (page > map_floor_ || page > map_.size() || !map_[page - 1].present()) {
    std::memset(dst.data(), 0, dst.size());  // never written, or cut by a truncate
    return Status::Ok();
  }
  const Extent e = map_[page - 1];
  // Loaded with the extent, not after the slot's read: the two cache misses (random pages
  // of a large map) overlap instead of coming one after the other.
  const uint32_t gen = map_gen_[page - 1];
  auto where = [&] { return "page file: slot of page " + std::to_string(page) + At(e.offset); };
  BlockFields f;
  std::span<const std::byte> body;
  for (bool ahead = false;;) {
    Result<std::span<std::byte>> got = ReadSlot(db, e, &ahead);
    if (!got.ok()) return got.status();
    if (got.value().size() < e.length) {
      return Status(Code::kCorrupt, where() + " is past the end of the file");
    }
    Result<std::span<const std::byte>> payload =
        CheckBlock(got.value(), BlockType::kSlot, page, &f);
    Status bad = Status::Ok();
    if (!payload.ok()) {
      bad = Status(payload.status().code(), where() + ": " + payload.status().message());
    } else if (static_cast<uint32_t>(f.generation) != gen) {
      // The extent was freed and rewritten since this view was taken (ReadPage reloads).
      bad = Status(Code::kCorrupt, where() + " was written by generation " +
                                       std::to_string(f.generation) + ", not the map's");
    }
    if (bad.ok()) {
      body = payload.value();
      break;
    }
    if (!ahead) return bad;
    DropReadAhead();  // read earlier than this page: judge what the file holds now
  }
  figures_.decodes += 1;
  Status s = compress::DecodePage(static_cast<compress::CodecId>(f.codec), body, dst,
                                  dict_.get());
  if (!s.ok()) return Status(s.code(), where() + ": " + s.message());
  return Status::Ok();
}

Result<std::span<std::byte>> Store::ReadSlot(File& db, const Extent& e, bool* ahead) {
  const uint64_t end = e.offset + e.length;
  if (e.offset >= ra_start_ && end <= ra_end_) {
    *ahead = true;
    ra_scanned_ = true;
    ra_next_ = end;
    return std::span<std::byte>(ra_buf_.data() + (e.offset - ra_start_), e.length);
  }
  *ahead = false;
  // A slot that starts where the last one read ended (or a little after: the checkpoint
  // writes a batch of slots in page order, with holes only where space was reused) is
  // the next step of a scan: read ahead, in windows doubling up to kReadAheadMax.
  const bool sequential = e.offset >= ra_next_ && e.offset - ra_next_ <= kReadAheadGap;
  ra_next_ = end;
  if (!sequential) {
    ra_window_ = 0;
    const std::span<std::byte> buf(io_buf_.data(), e.length);
    Result<size_t> got = db.Read(e.offset, buf);
    if (!got.ok()) return got.status();
    return buf.first(got.value());
  }
  ra_scanned_ = true;
  ra_window_ = std::min(ra_window_ == 0 ? kReadAheadMin : 2 * ra_window_, ra_buf_.size());
  const std::span<std::byte> window(ra_buf_.data(), std::max<size_t>(ra_window_, e.length));
  DropReadAhead();
  Result<size_t> got = db.Read(e.offset, window);
  if (!got.ok()) return got.status();
  figures_.read_aheads += 1;
  ra_start_ = e.offset;
  ra_end_ = e.offset + got.value();
  return window.first(std::min<size_t>(got.value(), e.length));
}

Status Store::ReadPage(File& db, uint32_t page, std::span<std::byte> dst) {
  ra_scanned_ = false;
  Status s = ReadPageOnce(db, page, dst);
  if (!s.ok() && s.code() != Code::kIoError && !txn_open_) {
    // Another process may have reset the log or reused the extent since our view was
    // taken: reload, and try once more. A second failure is real.
    if (Status r = LoadLocked(db); !r.ok()) return r;
    if (page > pages_) {
      std::memset(dst.data(), 0, dst.size());
      return Status::Ok();
    }
    s = ReadPageOnce(db, page, dst);
  }
  if (s.ok() && CachingReads()) CachePut(page, dst, ra_scanned_);
  return s;
}

bool Store::ReadCached(uint32_t page, size_t in_page, std::span<std::byte> dst) {
  return CachingReads() && cache_->Read(page, in_page, dst);
}

void Store::CachePut(uint32_t page, std::span<const std::byte> bytes, bool scan) {
  if (cache_ == nullptr) return;
  // A scan of a database larger than a quarter of what the cache can hold for it would
  // fill the cache with pages read once (and, in a new process, pay the kernel for every
  // fresh page of memory it fills): its pages cycle through the small queue instead.
  // PostgreSQL draws the same line for its sequential scans' ring buffer.
  const bool large_scan = scan && uint64_t{pages_} * page_size_ > cache_->capacity() / 4;
  cache_->Put(page, bytes, config_.keep_page != nullptr && config_.keep_page(page, bytes),
              large_scan);
}

void Store::InvalidateChanged(const std::unordered_map<uint32_t, uint64_t>& old_index,
                              uint64_t old_salt, uint32_t old_floor) {
  // A page's bytes are those of its source: a frame (log salt and offset; a committed
  // frame is never rewritten within its log generation) or a page-file slot (offset and
  // generation; LoadMap listed the entries that changed in stale_pages_). A page whose
  // source may differ is erased.
  const bool same_log = log_salt_ == old_salt;
  for (const auto& [page, at] : old_index) {
    auto it = index_.find(page);
    if (!same_log || it == index_.end() || it->second != at) cache_->Erase(page);
  }
  for (const auto& [page, at] : index_) {
    auto it = old_index.find(page);
    if (!same_log || it == old_index.end() || it->second != at) cache_->Erase(page);
  }
  for (uint32_t page : stale_pages_) cache_->Erase(page);
  stale_pages_.clear();
  // Pages between the two map floors read as zeros in one view and from the map in the
  // other.
  const uint32_t lo = std::min(old_floor, map_floor_);
  const uint32_t hi = std::max(old_floor, map_floor_);
  if (hi - lo > 4096) {
    cache_->EraseAbove(lo);
  } else {
    for (uint32_t page = lo + 1; page <= hi; ++page) cache_->Erase(page);
  }
  cache_->EraseAbove(pages_);
}

Result<size_t> Store::Read(File& db, uint64_t offset, std::span<std::byte> dst) {
  // Without the lock, when every page is cached (see "Thread safety" in store.h).
  if (const uint64_t size = fast_size_.load(std::memory_order_acquire);
      size != kNoFastPath && CachingReads()) {
    if (offset >= size) return size_t{0};
    const uint32_t page_size = fast_page_size_.load(std::memory_order_acquire);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(dst.size(), size - offset));
    size_t done = 0;
    while (done < n) {
      const uint64_t at = offset + done;
      const size_t in_page = static_cast<size_t>(at % page_size);
      const size_t take = std::min<size_t>(n - done, page_size - in_page);
      if (!cache_->Read(static_cast<uint32_t>(at / page_size + 1), in_page,
                        dst.subspan(done, take), /*count=*/false)) {
        break;
      }
      done += take;
    }
    if (done == n) return n;
  }
  ViewLock lock(this);
  if (!loaded_ || broken_) {
    if (Status s = LoadLocked(db); !s.ok()) return s;
  }
  const uint64_t size = uint64_t{pages_} * page_size_;
  if (offset >= size) return size_t{0};
  const size_t n = static_cast<size_t>(std::min<uint64_t>(dst.size(), size - offset));
  Status s = ForEachPiece(offset, n, page_size_, [&](uint32_t page, size_t in_page, size_t done,
                                                    size_t take) {
    const std::span<std::byte> piece = dst.subspan(done, take);
    if (ReadCached(page, in_page, piece)) return Status::Ok();
    if (take == page_size_) return ReadPage(db, page, piece);
    Status r = ReadPage(db, page, page_buf_);
    if (r.ok()) std::memcpy(piece.data(), page_buf_.data() + in_page, take);
    return r;
  });
  if (!s.ok()) return s;
  return n;
}

Result<const std::byte*> Store::Fetch(File& db, uint64_t offset, size_t length) {
  // Nothing to pin without a share: no decode here that xRead would repeat.
  if (!CachingReads()) return nullptr;
  bool looked = false;
  if (const uint64_t size = fast_size_.load(std::memory_order_acquire); size != kNoFastPath) {
    const uint32_t page_size = fast_page_size_.load(std::memory_order_acquire);
    if (page_size == 0 || length != page_size || offset % page_size != 0 ||
        offset + length > size) {
      return nullptr;
    }
    const std::byte* p = cache_->Pin(static_cast<uint32_t>(offset / page_size + 1));
    if (p != nullptr) return p;
    looked = true;
  }
  ViewLock lock(this);
  if (!loaded_ || broken_) {
    if (Status s = LoadLocked(db); !s.ok()) return s;
  }
  if (page_size_ == 0 || length != page_size_ || offset % page_size_ != 0 ||
      offset + length > uint64_t{pages_} * page_size_) {
    return nullptr;
  }
  const auto page = static_cast<uint32_t>(offset / page_size_ + 1);
  if (const std::byte* p = cache_->Pin(page, !looked); p != nullptr) return p;
  if (Status s = ReadPage(db, page, page_buf_); !s.ok()) return s;
  return cache_->Pin(page, /*count=*/false);  // null: no room in the cache
}

// ---- Writes ----

Status Store::CreateStore(File& db, uint32_t page_size) {
  // An empty page file gets its header before any frame exists: a log is only ever
  // read against a header, and a random first generation keeps a log left behind by a
  // deleted database from ever matching this one.
  PageFileHeader h;
  h.page_size = page_size;
  h.generation = (NewSalt() >> 16) | 1;
  std::array<std::byte, kPfHeaderSize> raw{};
  EncodePageFileHeader(h, raw);
  if (Status s = db.Write(kHeaderCopyOffset[0], raw); !s.ok()) return s;
  if (Status s = db.Sync(); !s.ok()) return s;
  figures_.page_file_syncs += 1;
  figures_.page_file_bytes = kHeaderCopyOffset[0] + kPfHeaderSize;
  InstallEmptyView(page_size, h);
  index_.clear();
  pages_ = 0;
  map_floor_ = 0;
  SizeBuffers();
  return ResetLog();
}

Status Store::ResetLog() {
  const uint64_t salt = NewSalt();
  if (Status s = writer_->Reset(salt, header_.generation, page_size_); !s.ok()) return s;
  figures_.log_syncs += 2;
  log_salt_ = salt;
  Result<uint64_t> n = log_file()->Size();
  if (!n.ok()) return n.status();
  log_seen_size_ = n.value();
  log_has_tail_ = false;
  log_unsynced_ = false;
  return Status::Ok();
}

Status Store::BeginWrite(File& db, uint32_t first_page_size) {
  if (txn_open_) return Status::Ok();
  if (read_only_ || log_file() == nullptr) {
    return Status(Code::kMisuse, "write to a store opened read-only");
  }
  if (Status s = RefreshLocked(db); !s.ok()) return s;
  if (Status s = ReloadIfPageFileMoved(db); !s.ok()) return s;
  if (page_size_ == 0) {
    if (Status s = CreateStore(db, first_page_size); !s.ok()) return s;
  } else if (!writer_->has_header()) {
    if (Status s = ResetLog(); !s.ok()) return s;
  }
  txn_open_ = true;
  txn_start_pages_ = pages_;
  txn_cut_ = pages_;
  return Status::Ok();
}

Status Store::WritePage(uint32_t page, std::span<const std::byte> src) {
  Result<compress::Encoded> enc = compress::EncodePage(config_.codec, src, enc_buf_, dict_.get());
  if (!enc.ok()) return enc.status();
  Result<uint64_t> at = writer_->AppendPage(
      page, enc.value().codec, std::span<const std::byte>(enc_buf_.data(), enc.value().size));
  if (!at.ok()) return at.status();
  index_[page] = at.value();
  pages_ = std::max(pages_, page);
  log_unsynced_ = true;
  figures_.frames += 1;
  return Status::Ok();
}

Status Store::BufferPage(uint32_t page, std::span<const std::byte> src) {
  CachePut(page, src);
  const uint64_t limit = config_.write_buffer_bytes / page_size_;
  if (limit == 0) return WritePage(page, src);
  auto it = wbuf_.find(page);
  if (it != wbuf_.end()) {
    wlru_.splice(wlru_.begin(), wlru_, it->second.lru);
  } else {
    if (wlru_spare_.empty()) {
      wlru_.push_front(page);
    } else {
      wlru_.splice(wlru_.begin(), wlru_spare_, wlru_spare_.begin());
      wlru_.front() = page;
    }
    if (wspare_.empty()) {
      it = wbuf_.emplace(page, Buffered{std::vector<std::byte>(page_size_), wlru_.begin()}).first;
    } else {
      WriteBuffer::node_type node = std::move(wspare_.back());
      wspare_.pop_back();
      node.key() = page;
      node.mapped().bytes.resize(page_size_);
      node.mapped().lru = wlru_.begin();
      it = wbuf_.insert(std::move(node)).position;
    }
  }
  std::memcpy(it->second.bytes.data(), src.data(), page_size_);
  pages_ = std::max(pages_, page);
  while (wbuf_.size() > limit) {  // evict the least recently written page
    auto v = wbuf_.find(wlru_.back());
    if (Status s = WritePage(v->first, v->second.bytes); !s.ok()) return s;
    Unbuffer(v);
  }
  return Status::Ok();
}

void Store::Unbuffer(WriteBuffer::iterator it) {
  wlru_spare_.splice(wlru_spare_.begin(), wlru_, it->second.lru);
  wspare_.push_back(wbuf_.extract(it));
}

Status Store::FlushBuffer() {
  flush_order_.clear();
  for (const auto& entry : wbuf_) flush_order_.push_back(entry.first);
  std::sort(flush_order_.begin(), flush_order_.end());
  for (uint32_t p : flush_order_) {
    auto it = wbuf_.find(p);
    if (Status s = WritePage(p, it->second.bytes); !s.ok()) return s;
    Unbuffer(it);
  }
  return Status::Ok();
}

void Store::DropBuffered(uint32_t above) {
  for (auto it = wbuf_.begin(); it != wbuf_.end();) {
    auto next = std::next(it);
    if (it->first > above) Unbuffer(it);
    it = next;
  }
}

Status Store::Write(File& db, uint64_t offset, std::span<const std::byte> src) {
  ViewLock lock(this);
  if (src.empty()) return Status::Ok();
  uint32_t first = kDefaultPageSize;
  if (wal::IsValidPageSize(static_cast<uint32_t>(src.size())) && offset % src.size() == 0) {
    first = static_cast<uint32_t>(src.size());
  }
  if (Status s = BeginWrite(db, first); !s.ok()) return Broken(std::move(s));
  if ((offset + src.size() - 1) / page_size_ + 1 > 0xFFFFFFFEull) {
    return Status(Code::kFull, "write past the largest database a store holds");
  }
  Status s = ForEachPiece(offset, src.size(), page_size_, [&](uint32_t page, size_t in_page,
                                                            size_t done, size_t take) {
    if (take == page_size_) return BufferPage(page, src.subspan(done, take));
    // A piece of a page: read-modify-write.
    Status r;
    if (page <= pages_) {
      if (!ReadCached(page, 0, page_buf_)) r = ReadPage(db, page, page_buf_);
    } else {
      std::memset(page_buf_.data(), 0, page_buf_.size());
    }
    if (!r.ok()) return r;
    std::memcpy(page_buf_.data() + in_page, src.data() + done, take);
    return BufferPage(page, page_buf_);
  });
  return s.ok() ? s : Broken(std::move(s));
}

Status Store::Truncate(File& db, uint64_t size) {
  ViewLock lock(this);
  if (size == uint64_t{pages_} * page_size_) return Status::Ok();
  if (Status s = BeginWrite(db, kDefaultPageSize); !s.ok()) return Broken(std::move(s));
  const uint64_t new_pages64 = (size + page_size_ - 1) / page_size_;
  if (new_pages64 > 0xFFFFFFFEull) return Status(Code::kFull, "truncate past the largest store");
  const auto new_pages = static_cast<uint32_t>(new_pages64);
  if (new_pages < pages_) {
    std::erase_if(index_, [&](const auto& entry) { return entry.first > new_pages; });
    DropBuffered(new_pages);
    if (cache_ != nullptr) cache_->EraseAbove(new_pages);
    map_floor_ = std::min(map_floor_, new_pages);
    txn_cut_ = std::min(txn_cut_, new_pages);
  }
  pages_ = new_pages;
  if (size % page_size_ != 0 && new_pages > 0) {
    // The bytes past the size within the last page must read as zeros if it grows again.
    if (Status s = ReadPage(db, new_pages, page_buf_); !s.ok()) return Broken(std::move(s));
    const size_t keep = static_cast<size_t>(size % page_size_);
    std::memset(page_buf_.data() + keep, 0, page_size_ - keep);
    if (Status s = BufferPage(new_pages, page_buf_); !s.ok()) return Broken(std::move(s));
  }
  return Status::Ok();
}

// ---- Commit points and checkpoints ----

Status Store::Commit(File& db, bool sync, bool may_checkpoint) {
  ViewLock lock(this);
  return CommitLocked(db, sync, may_checkpoint);
}

Status Store::CommitLocked(File& db, bool sync, bool may_checkpoint) {
  if (broken_) {
    // The failure may have been reported where SQLite ignores the result (the
    // SQLITE_FCNTL_CKPT_DONE hint): report it again with its own code.
    return Status(broken_by_.code(),
                  "the store failed earlier in this transaction (" + broken_by_.message() +
                      "); it reloads at the next lock",
                  broken_by_.detail());
  }
  if (txn_open_) {
    if (Status s = FlushBuffer(); !s.ok()) return Broken(std::move(s));
    // A commit record gives only the final size: after a truncate and a regrowth in one
    // transaction, recovery would bring back the cut pages not written since (from the
    // page file or earlier frames). Zero frames for them say what this process reads.
    const uint32_t regrown = std::min(pages_, txn_start_pages_);
    for (uint32_t p = txn_cut_ + 1; p <= regrown; ++p) {
      if (index_.count(p) != 0) continue;
      std::memset(page_buf_.data(), 0, page_buf_.size());
      if (Status s = WritePage(p, page_buf_); !s.ok()) return Broken(std::move(s));
    }
    Result<uint64_t> at = writer_->AppendCommit(pages_, sync);
    if (!at.ok()) return Broken(at.status());
    txn_open_ = false;
    log_unsynced_ = true;
    figures_.commits += 1;
    map_floor_ = std::min(map_floor_, pages_);
  }
  if (sync && log_unsynced_) {
    if (Status s = writer_->Sync(); !s.ok()) return Broken(std::move(s));
    figures_.log_syncs += 1;
    log_unsynced_ = false;
  }
  if (writer_ && writer_->has_header()) {
    log_seen_size_ = writer_->end();
    log_has_tail_ = false;
  }
  if (may_checkpoint && config_.checkpoint_bytes != 0 && writer_ && writer_->has_header() &&
      writer_->end() >= config_.checkpoint_bytes) {
    return CheckpointLocked(db, false);
  }
  return Status::Ok();
}

Status Store::Checkpoint(File& db) {
  ViewLock lock(this);
  if (Status s = RefreshLocked(db); !s.ok()) return s;
  if (Status s = CommitLocked(db, false, false); !s.ok()) return s;
  return CheckpointLocked(db, false);
}

Status Store::Compact(File& db) {
  ViewLock lock(this);
  if (Status s = RefreshLocked(db); !s.ok()) return s;
  if (Status s = CommitLocked(db, false, false); !s.ok()) return s;
  if (Status s = CheckpointLocked(db, false); !s.ok()) return s;
  // Each pass moves slots that lie past the space the live data needs into holes before
  // it; the holes the moved slots leave become free only after the pass is durable, so a
  // few passes may be needed. Stop when a pass gains nothing.
  for (int pass = 0; pass < 8; ++pass) {
    const uint64_t before = alloc_.end();
    // A pass rewrites the map chunks it moves: with little free space it would grow the
    // file before it shrinks it.
    if (alloc_.free_bytes_below_end() < std::max<uint64_t>(alloc_.end() / 16, 65536)) break;
    if (Status s = CheckpointLocked(db, true); !s.ok()) return s;
    if (alloc_.end() >= before) break;
  }
  return Status::Ok();
}

std::vector<std::byte> Store::SampleDictionary(File& db) {
  // On a text-heavy database a dictionary brings lz4's 4 KiB pages from 0.67 to 0.57 of
  // their size, lz4hc's from 0.65 to 0.41 (docs/compress.md).
  const uint64_t size = uint64_t{pages_} * page_size_;
  if (dict_ != nullptr || config_.dictionary_bytes == 0 || size < config_.dictionary_bytes ||
      config_.codec.id == compress::CodecId::kNone || pages_ < 2 * uint64_t{dict_sampled_pages_}) {
    return {};
  }
  std::vector<std::byte> bytes = compress::SampleDictionary(
      pages_, page_size_, [&](uint32_t page, std::span<std::byte> dst) {
        return ReadPageOnce(db, page, dst).ok();  // else skipped
      });
  // Too little content to make one (page ends all zeros): try again once the database
  // has doubled, not at every checkpoint.
  if (bytes.empty()) dict_sampled_pages_ = pages_;
  return bytes;
}

Status Store::CheckpointLocked(File& db, bool compact) {
  if (page_size_ == 0 || read_only_ || log_file() == nullptr) return Status::Ok();
  if (txn_open_) return Status(Code::kMisuse, "checkpoint inside a transaction");
  if (Status s = ReloadIfPageFileMoved(db); !s.ok()) return s;
  const bool size_changed = pages_ != header_.page_count || map_floor_ != header_.page_count;
  if (index_.empty() && !size_changed && !compact) return Status::Ok();

  const uint64_t gen = header_.generation + 1;
  const auto gen32 = static_cast<uint32_t>(gen);
  std::vector<Extent> map = map_;
  std::vector<uint32_t> map_gen = map_gen_;
  std::vector<Extent> to_free;
  // Pages cut by a truncate since the last checkpoint.
  for (uint32_t p = map_floor_; p < map.size(); ++p) {
    if (map[p].present()) to_free.push_back(map[p]);
    map[p] = Extent{};
    map_gen[p] = 0;
  }
  map.resize(pages_);
  map_gen.resize(pages_);
  const uint32_t nchunks = ChunkCount(pages_);
  std::vector<bool> dirty(nchunks, false);
  for (uint32_t k = 0; k < nchunks; ++k) {
    // A chunk is rewritten when one of its entries changes, or when it did not exist or
    // covered a different number of pages (its tail entries must be zero).
    const uint32_t first = k * kPagesPerChunk;
    const uint32_t old_n = header_.page_count > first ? std::min(kPagesPerChunk, header_.page_count - first) : 0;
    const uint32_t new_n = std::min(kPagesPerChunk, pages_ - first);
    const uint32_t floor_n = map_floor_ > first ? std::min(kPagesPerChunk, map_floor_ - first) : 0;
    if (k >= chunks_.size() || old_n != new_n || floor_n != old_n) dirty[k] = true;
  }

  // The dictionary, sampled before anything below uses io_buf_.
  std::vector<std::byte> new_dict_bytes = SampleDictionary(db);
  BatchWriter batch(db);
  // Slots: every page whose newest committed version is in the log.
  std::vector<std::pair<uint32_t, uint64_t>> moves(index_.begin(), index_.end());
  std::sort(moves.begin(), moves.end());
  const uint64_t live_end_target = compact ? alloc_.end() - alloc_.free_bytes_below_end() : 0;
  for (const auto& [page, frame_offset] : moves) {
    Result<wal::PageFrame> frame = wal::ReadFrame(*log_file(), frame_offset, log_salt_, page, io_buf_);
    if (!frame.ok()) return Broken(frame.status());
    if (frame.value().stale) {
      return Broken(Status(Code::kCorrupt, "store log: frame of page " + std::to_string(page) +
                                               At(frame_offset) + " vanished during a checkpoint"));
    }
    const std::span<const std::byte> payload = frame.value().payload;
    const uint64_t length = ExtentLength(payload.size());
    const uint64_t offset = alloc_.Allocate(length);
    Result<std::span<std::byte>> out = batch.Add(offset, length);
    if (!out.ok()) return Broken(out.status());
    std::memcpy(out.value().data() + kBlockHeaderSize, payload.data(), payload.size());
    SealBlock({BlockType::kSlot, static_cast<uint8_t>(frame.value().codec), page,
               static_cast<uint32_t>(payload.size()), gen},
              out.value());
    if (page <= map_floor_ && page <= map_.size() && map_[page - 1].present()) {
      to_free.push_back(map_[page - 1]);
    }
    map[page - 1] = Extent{offset, static_cast<uint32_t>(length)};
    map_gen[page - 1] = gen32;
    dirty[(page - 1) / kPagesPerChunk] = true;
  }
  if (compact) {
    // Move slots that end past the target into holes below them, copying the stored
    // bytes as they are (re-sealed with the new generation).
    for (uint32_t p = 0; p < map.size(); ++p) {
      const Extent e = map[p];
      if (!e.present() || e.offset + e.length <= live_end_target || index_.count(p + 1) != 0) continue;
      const uint64_t offset = alloc_.Allocate(e.length);
      if (offset >= e.offset) {  // no hole below it: give the space back, leave the slot
        alloc_.Free(offset, e.length);
        continue;
      }
      const std::span<std::byte> old(io_buf_.data(), e.length);  // a slot fits io_buf_
      Result<size_t> got = db.Read(e.offset, old);
      if (!got.ok()) return Broken(got.status());
      BlockFields f;
      Result<std::span<const std::byte>> payload =
          got.value() == e.length ? CheckBlock(old, BlockType::kSlot, p + 1, &f)
                                  : Result<std::span<const std::byte>>(Status(Code::kCorrupt, "short slot"));
      if (!payload.ok()) {
        return Broken(Status(payload.status().code(), "page file: slot of page " +
                                                          std::to_string(p + 1) + At(e.offset) +
                                                          ": " + payload.status().message()));
      }
      Result<std::span<std::byte>> out = batch.Add(offset, e.length);
      if (!out.ok()) return Broken(out.status());
      std::memcpy(out.value().data() + kBlockHeaderSize, payload.value().data(), f.payload_size);
      f.generation = gen;
      SealBlock(f, out.value());
      to_free.push_back(e);
      map[p] = Extent{offset, e.length};
      map_gen[p] = gen32;
      dirty[p / kPagesPerChunk] = true;
    }
  }
  // The dictionary block: written once, when made; moved only by a compaction (it holds
  // the same bytes wherever it is).
  std::shared_ptr<const compress::Dictionary> dict = dict_;
  Extent dict_extent = dict_extent_;
  uint32_t dict_gen = dict_gen_;
  std::span<const std::byte> dict_write;
  if (!new_dict_bytes.empty()) {
    Result<std::shared_ptr<const compress::Dictionary>> made =
        compress::Dictionary::Make(new_dict_bytes);
    if (made.ok()) {
      dict = std::move(made.value());
      dict_write = dict->bytes();
    }  // else (out of memory): no dictionary this time
  } else if (dict != nullptr && compact &&
             dict_extent.offset + dict_extent.length > live_end_target) {
    dict_write = dict->bytes();
  }
  if (!dict_write.empty()) {
    const uint64_t length = ExtentLength(dict_write.size());
    const uint64_t offset = alloc_.Allocate(length);
    if (dict_extent.present() && offset >= dict_extent.offset) {
      alloc_.Free(offset, length);  // a compaction with no hole below it: leave it
    } else {
      Result<std::span<std::byte>> out = batch.Add(offset, length);
      if (!out.ok()) return Broken(out.status());
      std::memcpy(out.value().data() + kBlockHeaderSize, dict_write.data(), dict_write.size());
      SealBlock({BlockType::kDictionary, 0, 0, static_cast<uint32_t>(dict_write.size()), gen},
                out.value());
      if (dict_extent.present()) to_free.push_back(dict_extent);
      dict_extent = Extent{offset, static_cast<uint32_t>(length)};
      dict_gen = gen32;
    }
  }
  // Map chunks that changed, then the directory.
  std::vector<Extent> chunks(nchunks);
  std::vector<uint32_t> chunk_gen(nchunks);
  const uint64_t chunk_len = ExtentLength(uint64_t{kPagesPerChunk} * kEntrySize);
  for (uint32_t k = 0; k < nchunks; ++k) {
    const bool move = compact && k < chunks_.size() && chunks_[k].offset + chunk_len > live_end_target;
    if (!dirty[k] && !move) {
      chunks[k] = chunks_[k];
      chunk_gen[k] = chunk_gen_[k];
      continue;
    }
    const uint64_t offset = alloc_.Allocate(chunk_len);
    Result<std::span<std::byte>> out = batch.Add(offset, chunk_len);
    if (!out.ok()) return Broken(out.status());
    std::byte* entries = out.value().data() + kBlockHeaderSize;
    std::memset(entries, 0, uint64_t{kPagesPerChunk} * kEntrySize);
    const uint32_t first = k * kPagesPerChunk;
    const uint32_t n = std::min(kPagesPerChunk, pages_ - first);
    for (uint32_t i = 0; i < n; ++i) {
      EncodeEntry(map[first + i], entries + uint64_t{i} * kEntrySize);
      wal::StoreU32(entries + uint64_t{i} * kEntrySize + kEntryReservedOffset, map_gen[first + i]);
    }
    SealBlock({BlockType::kMapChunk, 0, k, kPagesPerChunk * static_cast<uint32_t>(kEntrySize), gen},
              out.value());
    if (k < chunks_.size()) to_free.push_back(chunks_[k]);
    chunks[k] = Extent{offset, static_cast<uint32_t>(chunk_len)};
    chunk_gen[k] = gen32;
  }
  for (size_t k = nchunks; k < chunks_.size(); ++k) to_free.push_back(chunks_[k]);
  PageFileHeader h;
  h.page_size = page_size_;
  h.page_count = pages_;
  h.generation = gen;
  h.has_dictionary = dict != nullptr;
  if (nchunks > 0 || h.has_dictionary) {
    const uint32_t nentries = nchunks + (h.has_dictionary ? 1 : 0);
    const uint64_t dir_len = ExtentLength(uint64_t{nentries} * kEntrySize);
    const uint64_t offset = alloc_.Allocate(dir_len);
    Result<std::span<std::byte>> out = batch.Add(offset, dir_len);
    if (!out.ok()) return Broken(out.status());
    std::byte* entries = out.value().data() + kBlockHeaderSize;
    for (uint32_t k = 0; k < nchunks; ++k) {
      EncodeEntry(chunks[k], entries + uint64_t{k} * kEntrySize);
      wal::StoreU32(entries + uint64_t{k} * kEntrySize + kEntryReservedOffset, chunk_gen[k]);
    }
    if (h.has_dictionary) {
      EncodeEntry(dict_extent, entries + uint64_t{nchunks} * kEntrySize);
      wal::StoreU32(entries + uint64_t{nchunks} * kEntrySize + kEntryReservedOffset, dict_gen);
    }
    SealBlock({BlockType::kDirectory, 0, nchunks, nentries * static_cast<uint32_t>(kEntrySize), gen},
              out.value());
    h.directory = Extent{offset, static_cast<uint32_t>(dir_len)};
  }
  if (header_.directory.present()) to_free.push_back(header_.directory);
  h.high_water = alloc_.end();
  if (Status s = batch.Flush(); !s.ok()) return Broken(std::move(s));
  // 1. Everything the new header reaches is durable before the header exists.
  if (Status s = db.Sync(); !s.ok()) return Broken(std::move(s));
  // 2. The header, into the copy that does not hold the current one.
  const int copy = 1 - header_copy_;
  std::array<std::byte, kPfHeaderSize> raw{};
  EncodePageFileHeader(h, raw);
  if (Status s = db.Write(kHeaderCopyOffset[copy], raw); !s.ok()) return Broken(std::move(s));
  if (Status s = db.Sync(); !s.ok()) return Broken(std::move(s));
  figures_.page_file_syncs += 2;
  // The new generation is durable: install it.
  header_ = h;
  header_copy_ = copy;
  map_ = std::move(map);
  map_gen_ = std::move(map_gen);
  // The dictionary sample above reads pages through ReadPageOnce, which may have filled
  // a window before this checkpoint wrote its slots; a redone checkpoint (same
  // generation, after a crash) could otherwise leave a dead run's slot in it that passes
  // every check.
  DropReadAhead();
  chunks_ = std::move(chunks);
  chunk_gen_ = std::move(chunk_gen);
  dict_ = std::move(dict);  // pages written from now on are encoded against it
  dict_extent_ = dict_extent;
  dict_gen_ = dict_gen;
  map_floor_ = pages_;
  index_ = {};  // not clear(): that keeps the buckets of the largest log ever indexed
  figures_.checkpoints += 1;
  // 3. A new log generation (the old one is stale from now on, whatever happens here).
  if (Status s = ResetLog(); !s.ok()) return Broken(std::move(s));
  // 4. What the old generation used is free now, and the end of the file with it.
  for (const Extent& e : to_free) alloc_.Free(e.offset, e.length);
  Result<uint64_t> file_size = db.Size();
  if (!file_size.ok()) return Broken(file_size.status());
  figures_.page_file_bytes = file_size.value();
  if (file_size.value() > alloc_.end()) {
    if (Status s = db.Truncate(alloc_.end()); !s.ok()) return Broken(std::move(s));
    figures_.page_file_bytes = alloc_.end();
  }
  return Status::Ok();
}

}  // namespace blaze::vfs
