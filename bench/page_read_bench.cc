// bench/page_read_bench.cc: ns per cached page read through xRead and xFetch, blaze vs stock.
//
// What it is: the micro-benchmark of issue 5's target (a): a page that blaze's shared
// page cache holds should cost at most 0.2 µs through xRead and no copy at all through
// xFetch. It calls the sqlite3_io_methods of an open database directly, so nothing of
// SQLite's b-tree or pager is timed: stock is `unix` (pread(2) of a page the OS cache
// holds; xFetch from its mmap), blaze is the "blaze" VFS over `unix` (a copy out of
// the page cache; xFetch a pointer pinned in it).
//
// How to run (built by meson as bench/page_read_bench; links Blaze statically, so it
// calls blaze_init() instead of loading blaze.so):
//   page_read_bench [--dir DIR] [--pages N] [--reads N] [--reps N] [--threads 2,4]
// DIR (default: a fresh folder under $TMPDIR or /tmp, removed at the end) gets
// stock.db and blaze.db of about N pages of 4 KiB each (default 5,000: 20 MB, well
// inside blaze's default 64 MiB cache). Each repetition times, on each side, --reads
// (default 2,000,000) random-page xRead calls on one connection, as many
// xFetch+xUnfetch pairs, and --reads random xRead calls per thread on 2 and 4 threads
// each with a connection of its own. The two sides run back to back and the order
// flips every repetition; the table gives each pair's ratio and the medians.
//
// Implementation notes:
//   - Every connection holds a SHARED lock (BEGIN; SELECT from sqlite_schema) for as
//     long as it reads: the state in which SQLite itself calls xRead.
//   - The page offsets are drawn once (uniform, a fixed seed) and cycled, so no random
//     number generation is timed; both sides read the same sequence.
//   - Before timing, every page is read once through xRead on each side: the OS cache
//     holds stock's file and blaze's cache holds every page (checked in blaze_stats).
//   - Stock's xRead connections have mmap off (unix's xRead copies from its mapping
//     when one exists); only the xFetch connections set PRAGMA mmap_size.
//   - "No copy" is checked, not assumed: two fetches of the same page return the same
//     pointer, and its bytes equal what xRead returns for the page.
//
// Limitations: one machine's figures; with more threads than cores (4 threads on this
// 2-core machine) the aggregate rate measures scheduling as much as reading.
#include <sqlite3.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "include/blaze.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPageSize = 4096;
constexpr size_t kOffsetCount = size_t{1} << 20;  // cycled: 8 MiB of offsets
constexpr int kVerifyPages = 256;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "page_read_bench: %s\n", what.c_str());
  std::exit(2);
}

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    Fail(sql + ": " + (err ? err : "?"));
  }
}

int64_t QueryInt(sqlite3* db, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    Fail(std::string(sql) + ": " + sqlite3_errmsg(db));
  }
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> owner(stmt, sqlite3_finalize);
  if (sqlite3_step(stmt) != SQLITE_ROW) Fail(std::string(sql) + ": " + sqlite3_errmsg(db));
  return sqlite3_column_int64(stmt, 0);
}

// One side of the comparison: a database file and the VFS that reads it.
struct Side {
  const char* name;  // "stock" or "blaze"
  const char* vfs;   // "unix" or "blaze"
  std::string path;
};

Db Open(const Side& side) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(side.path.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, side.vfs);
  Db db(raw);
  if (rc != SQLITE_OK) Fail("open " + side.path + ": " + sqlite3_errmsg(raw));
  return db;
}

// A connection that holds a SHARED lock, and its main database file.
struct Reader {
  Db db;
  sqlite3_file* file = nullptr;
};

Reader OpenReader(const Side& side, int64_t mmap_size) {
  Reader r{Open(side)};
  if (mmap_size > 0) Exec(r.db.get(), "PRAGMA mmap_size=" + std::to_string(mmap_size));
  Exec(r.db.get(), "BEGIN; SELECT 1 FROM sqlite_schema LIMIT 1");
  if (sqlite3_file_control(r.db.get(), "main", SQLITE_FCNTL_FILE_POINTER, &r.file) != SQLITE_OK ||
      r.file == nullptr || r.file->pMethods == nullptr) {
    Fail(std::string("no file pointer for ") + side.name);
  }
  return r;
}

// About `pages` pages: one row of 3,500 hex digits per leaf page (pages compress to
// about half, as text does). blaze's copy is checkpointed, so every page is in its page
// file and a cache miss would cost a decompression.
void CreateDb(const Side& side, int pages) {
  std::filesystem::remove(side.path);
  Db db = Open(side);
  Exec(db.get(), "PRAGMA page_size=" + std::to_string(kPageSize));
  Exec(db.get(),
       "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
       "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < " +
           std::to_string(pages) +
           ") INSERT INTO t SELECT i, substr(hex(randomblob(1750)), 1, 3500) FROM c");
  if (std::string_view(side.vfs) == "blaze") Exec(db.get(), "SELECT blaze_checkpoint()");
}

std::vector<int64_t> RandomOffsets(int64_t pages, uint64_t seed) {
  std::vector<int64_t> out(kOffsetCount);
  uint64_t x = seed;
  for (int64_t& o : out) {
    // splitmix64
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    o = static_cast<int64_t>(z % static_cast<uint64_t>(pages)) * kPageSize;
  }
  return out;
}

// Seconds of CPU the calling thread has used: unlike wall time, it leaves out the time
// other processes of this shared machine held the core.
double ThreadCpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Wall and thread-CPU seconds of a timed loop.
struct Timing {
  double wall = 0, cpu = 0;
};

class Stopwatch {
 public:
  Stopwatch() : wall0_(Clock::now()), cpu0_(ThreadCpu()) {}
  Timing Stop() const {
    return {std::chrono::duration<double>(Clock::now() - wall0_).count(), ThreadCpu() - cpu0_};
  }

 private:
  Clock::time_point wall0_;
  double cpu0_;
};

// n xRead calls of whole pages at the cycled offsets.
Timing ReadLoop(sqlite3_file* f, const std::vector<int64_t>& offsets, int64_t n, uint64_t* sink) {
  alignas(64) static thread_local unsigned char buf[kPageSize];
  const auto read = f->pMethods->xRead;
  const Stopwatch watch;
  for (int64_t i = 0; i < n; ++i) {
    if (read(f, buf, kPageSize, offsets[static_cast<size_t>(i) & (kOffsetCount - 1)]) != SQLITE_OK) {
      Fail("xRead failed");
    }
    *sink += buf[static_cast<size_t>(i) & (kPageSize - 1)];
  }
  return watch.Stop();
}

// n xFetch+xUnfetch pairs at the cycled offsets, touching one byte of each page (no
// copy). *nulls counts fetches that returned no pointer.
Timing FetchLoop(sqlite3_file* f, const std::vector<int64_t>& offsets, int64_t n, uint64_t* sink,
                 int64_t* nulls) {
  const auto fetch = f->pMethods->xFetch;
  const auto unfetch = f->pMethods->xUnfetch;
  const Stopwatch watch;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t off = offsets[static_cast<size_t>(i) & (kOffsetCount - 1)];
    void* p = nullptr;
    if (fetch(f, off, kPageSize, &p) != SQLITE_OK) Fail("xFetch failed");
    if (p == nullptr) {
      *nulls += 1;
      continue;
    }
    *sink += static_cast<const unsigned char*>(p)[static_cast<size_t>(i) & (kPageSize - 1)];
    unfetch(f, off, p);
  }
  return watch.Stop();
}

// Reads every page once (warming the OS cache or blaze's cache).
void Warm(sqlite3_file* f, int64_t pages) {
  unsigned char buf[kPageSize];
  for (int64_t p = 0; p < pages; ++p) {
    if (f->pMethods->xRead(f, buf, kPageSize, p * kPageSize) != SQLITE_OK) Fail("warm-up read");
  }
}

struct FetchCheck {
  int fetched = 0, same_pointer = 0, same_bytes = 0, distinct_from_neighbour = 0;
};

// Two fetches of each sampled page return the same pointer, whose bytes equal an xRead
// of the page; the next page's pointer differs.
FetchCheck VerifyFetch(sqlite3_file* f, int64_t pages) {
  FetchCheck out;
  unsigned char buf[kPageSize];
  for (int i = 0; i < kVerifyPages; ++i) {
    const int64_t off = (static_cast<int64_t>(i) * 7919 % (pages - 1)) * kPageSize;
    void *a = nullptr, *b = nullptr, *next = nullptr;
    if (f->pMethods->xFetch(f, off, kPageSize, &a) != SQLITE_OK ||
        f->pMethods->xFetch(f, off, kPageSize, &b) != SQLITE_OK ||
        f->pMethods->xFetch(f, off + kPageSize, kPageSize, &next) != SQLITE_OK ||
        f->pMethods->xRead(f, buf, kPageSize, off) != SQLITE_OK) {
      Fail("verification fetch/read failed");
    }
    out.fetched += a != nullptr;
    out.same_pointer += a != nullptr && a == b;
    out.same_bytes += a != nullptr && std::memcmp(a, buf, kPageSize) == 0;
    out.distinct_from_neighbour += a != nullptr && next != nullptr && next != a;
    if (a) f->pMethods->xUnfetch(f, off, a);
    if (b) f->pMethods->xUnfetch(f, off, b);
    if (next) f->pMethods->xUnfetch(f, off + kPageSize, next);
  }
  return out;
}

// Every thread opens its own connection (not timed), then all read n pages each at
// once. wall: from the start signal until the last one finished; cpu: the threads'
// CPU seconds, summed.
Timing ThreadedReads(const Side& side, int threads, int64_t pages, int64_t n, uint64_t* sink) {
  std::vector<Reader> readers;
  std::vector<std::vector<int64_t>> offsets;
  for (int t = 0; t < threads; ++t) {
    readers.push_back(OpenReader(side, 0));
    offsets.push_back(RandomOffsets(pages, 1000 + static_cast<uint64_t>(t)));
  }
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<uint64_t> sinks(static_cast<size_t>(threads));
  std::vector<double> cpu(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      cpu[static_cast<size_t>(t)] = ReadLoop(readers[static_cast<size_t>(t)].file,
                                             offsets[static_cast<size_t>(t)], n,
                                             &sinks[static_cast<size_t>(t)])
                                        .cpu;
    });
  }
  while (ready.load() < threads) std::this_thread::yield();
  const auto t0 = Clock::now();
  go.store(true, std::memory_order_release);
  for (std::thread& th : pool) th.join();
  Timing out{std::chrono::duration<double>(Clock::now() - t0).count(), 0};
  for (uint64_t v : sinks) *sink += v;
  for (double c : cpu) out.cpu += c;
  return out;
}

struct Figures {
  int64_t hits = 0, misses = 0, pages = 0;
};

// blaze_stats' total row: the cache figures of every blaze file of the process.
Figures BlazeCache(sqlite3* any) {
  return {QueryInt(any, "SELECT cache_hits FROM blaze_stats WHERE file IS NULL"),
          QueryInt(any, "SELECT cache_misses FROM blaze_stats WHERE file IS NULL"),
          QueryInt(any, "SELECT cache_pages FROM blaze_stats WHERE file IS NULL")};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// ns per operation of each side in each repetition, by wall clock and by CPU time.
struct Series {
  std::string what;
  double ops = 0;  // operations per side and repetition (all threads)
  std::vector<Timing> stock, blaze;
  void Add(int side, Timing t) { (side ? blaze : stock).push_back(t); }
};

void PrintSeries(const Series& s) {
  std::vector<double> sw, bw, sc, bc, rw, rc;
  for (size_t i = 0; i < s.stock.size(); ++i) {
    sw.push_back(s.stock[i].wall * 1e9 / s.ops);
    bw.push_back(s.blaze[i].wall * 1e9 / s.ops);
    sc.push_back(s.stock[i].cpu * 1e9 / s.ops);
    bc.push_back(s.blaze[i].cpu * 1e9 / s.ops);
    rw.push_back(bw.back() / sw.back());
    rc.push_back(bc.back() / sc.back());
  }
  std::printf("\n%s\n", s.what.c_str());
  std::printf("  %-7s %10s %10s %12s | %10s %10s %12s\n", "rep", "stock wall", "blaze wall",
              "blaze/stock", "stock cpu", "blaze cpu", "blaze/stock");
  auto row = [](const char* rep, double a, double b, double r, double c, double d, double q) {
    std::printf("  %-7s %10.1f %10.1f %12.3f | %10.1f %10.1f %12.3f\n", rep, a, b, r, c, d, q);
  };
  for (size_t i = 0; i < sw.size(); ++i) {
    row(std::to_string(i + 1).c_str(), sw[i], bw[i], rw[i], sc[i], bc[i], rc[i]);
  }
  row("median", Median(sw), Median(bw), Median(rw), Median(sc), Median(bc), Median(rc));
}

struct Options {
  std::string dir;
  int pages = 5000;
  int64_t reads = 2'000'000;
  int reps = 5;
  std::vector<int> threads = {2, 4};
};

Options ParseArgs(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Fail(std::string(a) + " needs a value");
      return argv[++i];
    };
    if (a == "--dir") {
      opt.dir = value();
    } else if (a == "--pages") {
      opt.pages = std::atoi(value());
    } else if (a == "--reads") {
      opt.reads = std::atoll(value());
    } else if (a == "--reps") {
      opt.reps = std::atoi(value());
    } else if (a == "--threads") {
      opt.threads.clear();
      for (std::string_view list = value(); !list.empty();) {
        const size_t comma = list.find(',');
        opt.threads.push_back(std::atoi(std::string(list.substr(0, comma)).c_str()));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      }
    } else {
      Fail("unknown argument " + std::string(a) +
           " (--dir DIR --pages N --reads N --reps N --threads 2,4)");
    }
  }
  if (opt.pages < 16 || opt.reads < 1 || opt.reps < 1) Fail("--pages >= 16, --reads and --reps >= 1");
  for (int t : opt.threads) {
    if (t < 1) Fail("--threads: positive counts");
  }
  return opt;
}

int Main(int argc, char** argv) {
  Options opt = ParseArgs(argc, argv);
  bool remove_dir = false;
  if (opt.dir.empty()) {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/page_read_bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) Fail("mkdtemp");
    opt.dir = tmpl;
    remove_dir = true;
  }
  if (blaze_init() != SQLITE_OK) Fail(std::string("blaze_init: ") + blaze_last_error());

  Side sides[2] = {{"stock", "unix", opt.dir + "/stock.db"}, {"blaze", "blaze", opt.dir + "/blaze.db"}};
  for (const Side& s : sides) CreateDb(s, opt.pages);

  // Held open for the whole run: blaze's store (and its cached pages) lives while a
  // connection has the file open. The fetchers have mmap on; the readers do not.
  constexpr int64_t kMmap = int64_t{1} << 30;
  Reader readers[2] = {OpenReader(sides[0], 0), OpenReader(sides[1], 0)};
  Reader fetchers[2] = {OpenReader(sides[0], kMmap), OpenReader(sides[1], kMmap)};
  int64_t pages[2];
  for (int i = 0; i < 2; ++i) {
    sqlite3_int64 size = 0;
    if (readers[i].file->pMethods->xFileSize(readers[i].file, &size) != SQLITE_OK) Fail("size");
    pages[i] = size / kPageSize;
    Warm(readers[i].file, pages[i]);
  }
  if (pages[0] != pages[1]) Fail("the two databases differ in size");
  Db stats = Open({"stats", "unix", ":memory:"});
  const Figures warm = BlazeCache(stats.get());
  const FetchCheck check = VerifyFetch(fetchers[1].file, pages[1]);
  const FetchCheck stock_check = VerifyFetch(fetchers[0].file, pages[0]);

  std::printf("page_read_bench: %lld pages of %d bytes per side (%s); %lld reads per side, "
              "thread and repetition; %d repetitions, the order flipping each time\n",
              static_cast<long long>(pages[0]), kPageSize, opt.dir.c_str(),
              static_cast<long long>(opt.reads), opt.reps);
  sqlite3_stmt* v = nullptr;
  std::string version = "?";
  if (sqlite3_prepare_v2(stats.get(), "SELECT blaze_version()", -1, &v, nullptr) == SQLITE_OK &&
      sqlite3_step(v) == SQLITE_ROW) {
    version = reinterpret_cast<const char*>(sqlite3_column_text(v, 0));
  }
  sqlite3_finalize(v);
  std::printf("SQLite %s; blaze %s; blaze cache after warm-up: %lld pages (hits %lld, misses %lld)\n",
              sqlite3_libversion(), version.c_str(), static_cast<long long>(warm.pages),
              static_cast<long long>(warm.hits), static_cast<long long>(warm.misses));
  std::printf("no-copy check (%d pages): blaze fetched %d, same pointer twice %d, bytes == xRead %d, "
              "next page's pointer differs %d; stock (mmap) fetched %d, same pointer %d, "
              "bytes == xRead %d\n",
              kVerifyPages, check.fetched, check.same_pointer, check.same_bytes,
              check.distinct_from_neighbour, stock_check.fetched, stock_check.same_pointer,
              stock_check.same_bytes);

  // A floor for a read that copies: memcpy of one 4 KiB page that the CPU cache may not
  // hold (the same offsets, over a buffer as large as the database).
  std::vector<unsigned char> arena(static_cast<size_t>(pages[0]) * kPageSize, 1);
  const std::vector<int64_t> offsets = RandomOffsets(pages[0], 42);
  uint64_t sink = 0;
  {
    alignas(64) static unsigned char buf[kPageSize];
    const Stopwatch watch;
    for (int64_t i = 0; i < opt.reads; ++i) {
      std::memcpy(buf, arena.data() + offsets[static_cast<size_t>(i) & (kOffsetCount - 1)], kPageSize);
      asm volatile("" : : "r"(buf) : "memory");
      sink += buf[i & (kPageSize - 1)];
    }
    const Timing t = watch.Stop();
    std::printf("memcpy of a random 4 KiB page of a %lld-page arena: %.1f ns wall, %.1f ns cpu "
                "(the floor of a read that copies)\n",
                static_cast<long long>(pages[0]), t.wall * 1e9 / static_cast<double>(opt.reads),
                t.cpu * 1e9 / static_cast<double>(opt.reads));
  }

  const double n = static_cast<double>(opt.reads);
  Series read1{"xRead of a cached 4 KiB page, 1 thread: ns per call", n, {}, {}};
  Series fetch1{"xFetch + xUnfetch of a cached 4 KiB page, 1 thread: ns per pair "
                "(stock: unix over its mmap; blaze: a pointer pinned in its cache)",
                n, {}, {}};
  std::vector<Series> threaded;
  for (int t : opt.threads) {
    threaded.push_back({"xRead of a cached 4 KiB page, " + std::to_string(t) +
                            " threads, a connection each: ns per call, all threads together "
                            "(wall: elapsed / calls of all threads; cpu: CPU of all threads / "
                            "calls, i.e. the cost of one call on one thread)",
                        n * t, {}, {}});
  }
  int64_t nulls[2] = {0, 0};
  const Figures before = BlazeCache(stats.get());
  for (int rep = 0; rep < opt.reps; ++rep) {
    const int order[2] = {rep % 2, 1 - rep % 2};
    for (int i : order) {
      read1.Add(i, ReadLoop(readers[i].file, offsets, opt.reads, &sink));
    }
    for (int i : order) {
      fetch1.Add(i, FetchLoop(fetchers[i].file, offsets, opt.reads, &sink, &nulls[i]));
    }
    for (size_t k = 0; k < opt.threads.size(); ++k) {
      const int t = opt.threads[k];
      for (int i : order) {
        threaded[k].Add(i, ThreadedReads(sides[i], t, pages[i], opt.reads, &sink));
      }
    }
  }
  const Figures after = BlazeCache(stats.get());

  PrintSeries(read1);
  PrintSeries(fetch1);
  for (const Series& s : threaded) PrintSeries(s);
  std::printf("\nfetches that returned no pointer: stock %lld, blaze %lld\n",
              static_cast<long long>(nulls[0]), static_cast<long long>(nulls[1]));
  std::printf("blaze cache during the timed loops: hits %lld, misses %lld (hit ratio %.4f)\n",
              static_cast<long long>(after.hits - before.hits),
              static_cast<long long>(after.misses - before.misses),
              static_cast<double>(after.hits - before.hits) /
                  static_cast<double>(std::max<int64_t>(1, after.hits - before.hits +
                                                               after.misses - before.misses)));
  std::printf("(checksum %llu)\n", static_cast<unsigned long long>(sink));

  for (Reader& r : readers) r.db.reset();
  for (Reader& r : fetchers) r.db.reset();
  if (remove_dir) std::filesystem::remove_all(opt.dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Main(argc, argv); }
