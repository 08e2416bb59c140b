// bench/blaze_bench.cc: runs one benchmark workload on one VFS and prints one JSON line.
//
// What it is: the measuring half of the benchmark suite (bench/run drives it, and
// bench/report.py turns its lines into docs/benchmarks.md). It links the system
// libsqlite3 only and loads blaze.so at run time with sqlite3_load_extension(), exactly
// as an application does.
//
// How to run:
//   blaze_bench --workload NAME --vfs stock|blaze --dir DIR [--module PATH/blaze.so]
//               [--rows N] [--ops N] [--threads N] [--seed S]
//               [--params 'blaze_codec=lz4hc&...'] [--label NAME]
//   blaze_bench --list            # the workloads, one per line
// DIR must exist; the workload creates or reuses DIR/bench.db (the read workloads expect
// bench/run to have copied a database made by --workload prepare there). --params adds
// blaze_* URI parameters to a blaze run's database URI; a blaze.so that does not know
// one prints {"unsupported": reason} and exits 0. --label names the side in the output.
//
// What it measures, in the measured phase only (setup is never timed):
//   - wall time and per-operation latency (steady_clock around each operation);
//   - heap allocations of the whole process (alloc_count.h);
//   - writes, bytes written and syncs that reached the OS, per file kind (count_vfs.h);
//   - for blaze, the deltas of every column of blaze_stats' total row (so a hits/misses
//     pair is picked up, and a cache hit ratio computed, as soon as blaze_stats has it);
//   - peak RSS of the process (VmHWM), the stored size of DIR at the end.
// Every workload has a fixed seed; the same seed gives the same operations on both VFSes.
//
// Limitations: Linux/glibc only (malloc interposition, posix_fadvise, mincore).
#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bench/alloc_count.h"
#include "bench/count_vfs.h"

namespace blaze::bench {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fputs("blaze_bench: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
  std::exit(2);
}

// ---- RAII handles -------------------------------------------------------------------

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

Db Open(const std::string& path, const char* vfs) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
  Db db(raw);
  if (rc != SQLITE_OK) Fail("open %s (vfs %s): %s", path.c_str(), vfs, sqlite3_errmsg(raw));
  sqlite3_busy_timeout(raw, 10000);
  return db;
}

// A file: URI for path with an optional query (blaze_* parameters); '%', '?' and '#' in
// the path are escaped.
std::string UriOf(const std::string& path, const std::string& query) {
  std::string uri = "file:";
  for (char ch : path) {
    if (ch == '%' || ch == '?' || ch == '#') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(ch));
      uri += buf;
    } else {
      uri += ch;
    }
  }
  if (!query.empty()) uri += "?" + query;
  return uri;
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    Fail("%s: %s", sql.c_str(), err ? err : "?");
  }
}

Stmt Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
    Fail("prepare %s: %s", sql, sqlite3_errmsg(db));
  }
  return Stmt(raw);
}

// Steps a statement to completion, retrying on SQLITE_BUSY; returns the busy retries.
int StepAll(sqlite3* db, sqlite3_stmt* stmt) {
  int busy = 0;
  for (;;) {
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) continue;
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
      sqlite3_reset(stmt);
      ++busy;
      continue;
    }
    Fail("step %s: %s", sqlite3_sql(stmt), sqlite3_errmsg(db));
  }
  sqlite3_reset(stmt);
  return busy;
}

int64_t QueryInt(sqlite3* db, const char* sql) {
  Stmt stmt = Prepare(db, sql);
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) Fail("%s: %s", sql, sqlite3_errmsg(db));
  return sqlite3_column_int64(stmt.get(), 0);
}

// The first row of sql, its columns joined by '|' (NULL as "null").
std::string QueryRow(sqlite3* db, const char* sql) {
  Stmt stmt = Prepare(db, sql);
  if (sqlite3_step(stmt.get()) != SQLITE_ROW) Fail("%s: %s", sql, sqlite3_errmsg(db));
  std::string out;
  for (int i = 0; i < sqlite3_column_count(stmt.get()); ++i) {
    if (i) out += '|';
    const unsigned char* text = sqlite3_column_text(stmt.get(), i);
    out += text ? reinterpret_cast<const char*>(text) : "null";
  }
  return out;
}

// ---- deterministic data --------------------------------------------------------------

// splitmix64: small, fast and good enough to pick keys and words.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// Text values: words from a fixed 2048-word vocabulary of 2..10 lowercase letters, so a
// page compresses about as well as ordinary text does (not as well as repeated bytes).
class TextGen {
 public:
  TextGen() {
    Rng rng(0x5eed'0f'b1a2eULL);
    words_.resize(2048);
    for (std::string& w : words_) {
      const int len = 2 + static_cast<int>(rng.Below(9));
      for (int i = 0; i < len; ++i) w.push_back(static_cast<char>('a' + rng.Below(26)));
    }
  }
  // Replaces out with len bytes of text; no allocation once out has the capacity.
  void Fill(std::string& out, Rng& rng, size_t len) const {
    out.clear();
    while (out.size() < len) {
      if (!out.empty()) out.push_back(' ');
      out += words_[rng.Below(words_.size())];
    }
    out.resize(len);
  }

 private:
  std::vector<std::string> words_;
};

constexpr size_t kMinValue = 60;
constexpr size_t kMaxValue = 300;
size_t ValueLen(Rng& rng) { return kMinValue + rng.Below(kMaxValue - kMinValue + 1); }

// Zipf-distributed ranks in [0, n) with exponent theta, by the constant-memory method of
// Gray et al. ("Quickly generating billion-record synthetic databases", 1994), as YCSB
// uses. Rank r is mapped to a row id by a fixed permutation, so the hot rows are spread
// over the table instead of sitting in its first pages.
class Zipf {
 public:
  Zipf(uint64_t n, double theta) : n_(n), theta_(theta) {
    zetan_ = Zeta(n, theta);
    const double zeta2 = Zeta(2, theta);
    alpha_ = 1.0 / (1.0 - theta);
    eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - theta)) / (1.0 - zeta2 / zetan_);
  }
  uint64_t Rank(Rng& rng) const {
    const double u = rng.Unit();
    const double uz = u * zetan_;
    if (uz < 1.0) return 0;
    if (uz < 1.0 + std::pow(0.5, theta_)) return 1;
    const auto r =
        static_cast<uint64_t>(static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
    return std::min(r, n_ - 1);
  }

 private:
  static double Zeta(uint64_t n, double theta) {
    double sum = 0;
    for (uint64_t i = 1; i <= n; ++i) sum += 1.0 / std::pow(static_cast<double>(i), theta);
    return sum;
  }
  uint64_t n_;
  double theta_, zetan_, alpha_, eta_;
};

// A bijection on [0, n): multiplying by a constant coprime with n.
uint64_t Scatter(uint64_t rank, uint64_t n) {
  uint64_t mult = 2654435761ULL % n;
  while (std::gcd(mult, n) != 1) ++mult;
  return static_cast<uint64_t>((static_cast<unsigned __int128>(rank) * mult) % n);
}

// ---- options and results -------------------------------------------------------------

struct Options {
  std::string workload;
  std::string vfs = "stock";
  std::string module;
  std::string dir;
  int64_t rows = 50'000;
  int64_t ops = 10'000;
  int threads = 4;
  uint64_t seed = 0;  // 0: the workload's own fixed seed
  std::string params;  // blaze runs: URI query of blaze_* parameters ("a=b&c=d")
  std::string label;   // the side's name in the output (default: --vfs)
};

bool IsBlaze(const Options& opt) { return opt.vfs == "blaze"; }
const char* VfsName(const Options& opt) { return IsBlaze(opt) ? "blaze" : "bench_count"; }
std::string DbPath(const Options& opt) { return opt.dir + "/bench.db"; }

using StatMap = std::map<std::string, int64_t>;

// Process-wide facts that OpenDb needs to report an unsupported parameter.
struct Process {
  const Options* opt = nullptr;
  const char* workload = "";
  sqlite3* stats_db = nullptr;  // blaze runs: the connection that loaded blaze.so
};
Process g_process;

// Opens the run's database: bench.db in --dir through the side's VFS, with the side's
// blaze_* URI parameters. A blaze.so that refuses a parameter (one this build does not
// know yet, e.g. blaze_journal=absorb before it exists) is not an error of the bench:
// the run prints {"unsupported": reason} instead of figures and exits 0, and the report
// shows n/a for that side.
Db OpenDb(const Options& opt) {
  sqlite3* raw = nullptr;
  const std::string uri = UriOf(DbPath(opt), opt.params);
  const int rc = sqlite3_open_v2(uri.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                                 VfsName(opt));
  Db db(raw);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(raw, 10000);
    return db;
  }
  std::string reason = sqlite3_errmsg(raw);
  if (g_process.stats_db != nullptr) {
    Stmt why;
    sqlite3_stmt* w = nullptr;
    if (sqlite3_prepare_v2(g_process.stats_db, "SELECT blaze_last_error()", -1, &w, nullptr) ==
        SQLITE_OK) {
      why.reset(w);
      if (sqlite3_step(w) == SQLITE_ROW && sqlite3_column_text(w, 0) != nullptr) {
        reason = reinterpret_cast<const char*>(sqlite3_column_text(w, 0));
      }
    }
  }
  if (IsBlaze(opt) && !opt.params.empty() && reason.find("URI parameter") != std::string::npos) {
    std::string esc;
    for (char ch : reason) {
      if (ch == '"' || ch == '\\') esc += '\\';
      if (static_cast<unsigned char>(ch) >= 0x20) esc += ch;
    }
    std::printf("{\"workload\":\"%s\",\"vfs\":\"%s\",\"params\":\"%s\",\"unsupported\":\"%s\"}\n",
                g_process.workload, opt.label.c_str(), opt.params.c_str(), esc.c_str());
    std::exit(0);
  }
  Fail("open %s (vfs %s): %s", uri.c_str(), VfsName(opt), reason.c_str());
}

// The total row of blaze_stats, every integer column by name.
StatMap ReadBlazeStats(sqlite3* db) {
  StatMap out;
  if (db == nullptr) return out;
  Stmt stmt = Prepare(db, "SELECT * FROM blaze_stats WHERE file IS NULL");
  if (sqlite3_step(stmt.get()) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(stmt.get()); ++i) {
      if (sqlite3_column_type(stmt.get(), i) == SQLITE_INTEGER) {
        out[sqlite3_column_name(stmt.get(), i)] = sqlite3_column_int64(stmt.get(), i);
      }
    }
  }
  return out;
}

// CPU seconds (user + system) the whole process has used so far.
double ProcessCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
  };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

// What a workload reports; the measured window is between Begin() and End().
struct Run {
  const char* op_unit = "op";
  int64_t ops = 0;
  int64_t commits = 0;
  double seconds = 0;         // measured time (sum of timed parts)
  double cpu_seconds = 0;     // CPU time of the process over the window (every thread)
  std::vector<uint64_t> lat;  // per-operation latency, ns
  std::map<std::string, double> extra;
  // Results that must be the same on every side (same seed, same operations): the report
  // compares each blaze side's with stock's. Strings, so nothing is rounded.
  std::map<std::string, std::string> checks;

  IoCounts io;  // delta over the window
  uint64_t allocs = 0;
  StatMap blaze_stats;  // delta over the window (blaze only)

  sqlite3* stats_db = nullptr;  // where blaze_stats is read (blaze only)
  IoCounts io0_;
  StatMap bs0_;
  Clock::time_point t0_;
  double cpu0_ = 0;

  void Begin(int64_t expected_ops) {
    lat.reserve(static_cast<size_t>(expected_ops) + 16);
    bs0_ = ReadBlazeStats(stats_db);
    io0_ = ReadIoCounts();
    StartCountingAllocs();
    cpu0_ = ProcessCpuSeconds();
    t0_ = Clock::now();
  }
  // Ends the window; wall_time says whether seconds is the window's length (otherwise
  // the workload summed its timed parts itself).
  void End(bool wall_time = true) {
    const auto t1 = Clock::now();
    cpu_seconds = ProcessCpuSeconds() - cpu0_;
    StopCountingAllocs();
    allocs = AllocCount();
    io = ReadIoCounts() - io0_;
    if (wall_time) seconds = std::chrono::duration<double>(t1 - t0_).count();
    for (const auto& [name, value] : ReadBlazeStats(stats_db)) {
      blaze_stats[name] = value - bs0_[name];
    }
  }
};

uint64_t Nanos(Clock::time_point a, Clock::time_point b) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count());
}

// ---- schema and loading --------------------------------------------------------------

// What the table t holds, to compare across sides: the row count, sums over every column,
// and an order-sensitive sum of id × length(v).
constexpr char kTableFingerprint[] =
    "SELECT count(*), total(k), total(length(v)), sum(id * length(v)), "
    "sum(id * unicode(substr(v, 1 + id % 50, 1))) FROM t";

// After the measured window: PRAGMA quick_check and the content fingerprint of t.
void CheckTable(sqlite3* db, Run& run) {
  run.checks["quick_check"] = QueryRow(db, "PRAGMA quick_check");
  run.checks["content"] = QueryRow(db, kTableFingerprint);
}

void CreateSchema(sqlite3* db) {
  Exec(db,
       "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, k INTEGER NOT NULL, "
       "v TEXT NOT NULL);"
       "CREATE INDEX IF NOT EXISTS t_k ON t(k);");
}

// Inserts rows first..first+count-1 in transactions of batch rows. With run, each row's
// insert is one timed operation (a commit's time goes to the row that commits).
void LoadRows(sqlite3* db, Rng& rng, const TextGen& text, int64_t first, int64_t count,
              int64_t batch, int64_t key_space, Run* run) {
  Stmt ins = Prepare(db, "INSERT INTO t(id, k, v) VALUES(?, ?, ?)");
  Stmt begin = Prepare(db, "BEGIN");
  Stmt commit = Prepare(db, "COMMIT");
  std::string value;
  value.reserve(kMaxValue + 16);
  for (int64_t i = 0; i < count; ++i) {
    const auto t0 = Clock::now();
    if (i % batch == 0) StepAll(db, begin.get());
    sqlite3_bind_int64(ins.get(), 1, first + i);
    sqlite3_bind_int64(ins.get(), 2, static_cast<int64_t>(rng.Below(key_space)));
    text.Fill(value, rng, ValueLen(rng));
    sqlite3_bind_text(ins.get(), 3, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    StepAll(db, ins.get());
    if (i % batch == batch - 1 || i == count - 1) {
      StepAll(db, commit.get());
      if (run) ++run->commits;
    }
    if (run) run->lat.push_back(Nanos(t0, Clock::now()));
  }
  if (run) run->ops += count;
}

// ---- workloads -----------------------------------------------------------------------

bool TryMaintenance(sqlite3* db, const char* fn);

struct Ctx {
  const Options& opt;
  const TextGen& text;
  uint64_t seed;
};

void PrepareTable(const Ctx& c, Run&) {
  Db db = OpenDb(c.opt);
  CreateSchema(db.get());
  Rng rng(c.seed);
  LoadRows(db.get(), rng, c.text, 1, c.opt.rows, 10'000, c.opt.rows, nullptr);
  // blaze: the read workloads start from a checkpointed store (everything in the page
  // file, an empty log), the state a database settles in.
  if (IsBlaze(c.opt)) TryMaintenance(db.get(), "blaze_checkpoint");
}

void BulkLoad(const Ctx& c, Run& run) {
  Db db = OpenDb(c.opt);
  Rng rng(c.seed);
  run.op_unit = "row";
  run.Begin(c.opt.rows);
  CreateSchema(db.get());
  LoadRows(db.get(), rng, c.text, 1, c.opt.rows, 1000, c.opt.rows, &run);
  run.End();
  CheckTable(db.get(), run);
}

void SmallTxns(const Ctx& c, Run& run, const char* journal, const char* sync) {
  Db db = OpenDb(c.opt);
  Exec(db.get(), std::string("PRAGMA journal_mode=") + journal);
  Exec(db.get(), std::string("PRAGMA synchronous=") + sync);
  CreateSchema(db.get());
  Rng rng(c.seed);
  LoadRows(db.get(), rng, c.text, 1, 1000, 1000, 1000, nullptr);  // a non-trivial b-tree
  Stmt ins = Prepare(db.get(), "INSERT INTO t(k, v) VALUES(?, ?)");
  std::string value;
  value.reserve(kMaxValue + 16);
  run.op_unit = "commit";
  run.Begin(c.opt.ops);
  for (int64_t i = 0; i < c.opt.ops; ++i) {
    const auto t0 = Clock::now();
    sqlite3_bind_int64(ins.get(), 1, static_cast<int64_t>(rng.Below(1'000'000)));
    c.text.Fill(value, rng, ValueLen(rng));
    sqlite3_bind_text(ins.get(), 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
    StepAll(db.get(), ins.get());
    run.lat.push_back(Nanos(t0, Clock::now()));
  }
  run.ops = run.commits = c.opt.ops;
  run.End();
  CheckTable(db.get(), run);
}

void PointLookups(const Ctx& c, Run& run, bool zipf) {
  Db db = OpenDb(c.opt);
  const auto n = static_cast<uint64_t>(QueryInt(db.get(), "SELECT max(id) FROM t"));
  Stmt get = Prepare(db.get(), "SELECT k, v FROM t WHERE id = ?");
  Rng rng(c.seed);
  std::optional<Zipf> dist;  // built before the window: O(n) once
  if (zipf) dist.emplace(n, 0.99);
  run.op_unit = "lookup";
  int64_t found = 0, bytes = 0;
  run.Begin(c.opt.ops);
  for (int64_t i = 0; i < c.opt.ops; ++i) {
    const uint64_t id = 1 + (zipf ? Scatter(dist->Rank(rng), n) : rng.Below(n));
    const auto t0 = Clock::now();
    sqlite3_bind_int64(get.get(), 1, static_cast<int64_t>(id));
    if (sqlite3_step(get.get()) == SQLITE_ROW) {
      const int len = sqlite3_column_bytes(get.get(), 1);
      found += len > 0;
      bytes += len + sqlite3_column_int64(get.get(), 0) % 1000;
    }
    sqlite3_reset(get.get());
    run.lat.push_back(Nanos(t0, Clock::now()));
  }
  run.ops = c.opt.ops;
  run.End();
  run.extra["found"] = static_cast<double>(found);
  run.checks["lookups"] = std::to_string(found) + "|" + std::to_string(bytes);
}

void RangeScans(const Ctx& c, Run& run) {
  constexpr int64_t kSpan = 100;
  Db db = OpenDb(c.opt);
  const int64_t n = QueryInt(db.get(), "SELECT max(id) FROM t");
  Stmt scan = Prepare(db.get(),
                      "SELECT count(*), sum(length(v)) FROM t WHERE id BETWEEN ?1 AND ?1 + ?2 - 1");
  Rng rng(c.seed);
  run.op_unit = "scan of 100 rows";
  int64_t rows = 0;
  run.Begin(c.opt.ops);
  for (int64_t i = 0; i < c.opt.ops; ++i) {
    const auto t0 = Clock::now();
    sqlite3_bind_int64(scan.get(), 1, 1 + static_cast<int64_t>(rng.Below(n - kSpan)));
    sqlite3_bind_int64(scan.get(), 2, kSpan);
    if (sqlite3_step(scan.get()) == SQLITE_ROW) rows += sqlite3_column_int64(scan.get(), 0);
    sqlite3_reset(scan.get());
    run.lat.push_back(Nanos(t0, Clock::now()));
  }
  run.ops = c.opt.ops;
  run.End();
  run.extra["rows_scanned"] = static_cast<double>(rows);
  run.checks["rows_scanned"] = std::to_string(rows);
}

// 90% updates of a random row with a new value of a new length, 10% a delete of a
// random row plus an insert at the end; 100 operations per transaction, rollback
// journal, synchronous=FULL (SQLite's defaults here).
void UpdateChurn(const Ctx& c, Run& run) {
  constexpr int64_t kBatch = 100;
  Db db = OpenDb(c.opt);
  int64_t next_id = QueryInt(db.get(), "SELECT max(id) FROM t") + 1;
  const int64_t n = next_id - 1;
  Stmt upd = Prepare(db.get(), "UPDATE t SET k = ?, v = ? WHERE id = ?");
  Stmt del = Prepare(db.get(), "DELETE FROM t WHERE id = ?");
  Stmt ins = Prepare(db.get(), "INSERT INTO t(id, k, v) VALUES(?, ?, ?)");
  Stmt begin = Prepare(db.get(), "BEGIN");
  Stmt commit = Prepare(db.get(), "COMMIT");
  Rng rng(c.seed);
  std::string value;
  value.reserve(kMaxValue + 16);
  run.op_unit = "statement";
  run.Begin(c.opt.ops);
  for (int64_t i = 0; i < c.opt.ops; ++i) {
    const auto t0 = Clock::now();
    if (i % kBatch == 0) StepAll(db.get(), begin.get());
    const auto victim = 1 + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(n)));
    c.text.Fill(value, rng, ValueLen(rng));
    if (rng.Below(10) != 0) {
      sqlite3_bind_int64(upd.get(), 1, static_cast<int64_t>(rng.Below(static_cast<uint64_t>(n))));
      sqlite3_bind_text(upd.get(), 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
      sqlite3_bind_int64(upd.get(), 3, victim);
      StepAll(db.get(), upd.get());
    } else {
      sqlite3_bind_int64(del.get(), 1, victim);
      StepAll(db.get(), del.get());
      sqlite3_bind_int64(ins.get(), 1, next_id++);
      sqlite3_bind_int64(ins.get(), 2, static_cast<int64_t>(rng.Below(static_cast<uint64_t>(n))));
      sqlite3_bind_text(ins.get(), 3, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
      StepAll(db.get(), ins.get());
    }
    if (i % kBatch == kBatch - 1 || i == c.opt.ops - 1) {
      StepAll(db.get(), commit.get());
      ++run.commits;
    }
    run.lat.push_back(Nanos(t0, Clock::now()));
  }
  run.ops = c.opt.ops;
  run.End();
  CheckTable(db.get(), run);
}

// threads connections on one database in WAL mode, synchronous=NORMAL: each does
// ops/threads operations, 90% point reads (uniform), 10% single-row update commits.
void MixedThreads(const Ctx& c, Run& run) {
  const int threads = std::max(1, c.opt.threads);
  const int64_t per_thread = c.opt.ops / threads;
  Db setup = OpenDb(c.opt);
  Exec(setup.get(), "PRAGMA journal_mode=WAL");
  const auto n = static_cast<uint64_t>(QueryInt(setup.get(), "SELECT max(id) FROM t"));

  struct Worker {
    Db db;
    Stmt get, upd;
    Rng rng{0};
    std::vector<uint64_t> lat;
    std::string value;
    int64_t writes = 0, busy = 0;
  };
  std::vector<Worker> workers(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    Worker& w = workers[static_cast<size_t>(t)];
    w.db = OpenDb(c.opt);
    Exec(w.db.get(), "PRAGMA synchronous=NORMAL");
    w.get = Prepare(w.db.get(), "SELECT k, v FROM t WHERE id = ?");
    w.upd = Prepare(w.db.get(), "UPDATE t SET k = ?, v = ? WHERE id = ?");
    w.rng = Rng(c.seed + static_cast<uint64_t>(t));
    w.lat.reserve(static_cast<size_t>(per_thread));
    w.value.reserve(kMaxValue + 16);
  }
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (Worker& w : workers) {
    pool.emplace_back([&w, &go, &c, n, per_thread] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (int64_t i = 0; i < per_thread; ++i) {
        const auto id = static_cast<int64_t>(1 + w.rng.Below(n));
        const bool write = w.rng.Below(10) == 0;
        const auto t0 = Clock::now();
        if (write) {
          c.text.Fill(w.value, w.rng, ValueLen(w.rng));
          sqlite3_bind_int64(w.upd.get(), 1, static_cast<int64_t>(w.rng.Below(n)));
          sqlite3_bind_text(w.upd.get(), 2, w.value.data(), static_cast<int>(w.value.size()),
                            SQLITE_STATIC);
          sqlite3_bind_int64(w.upd.get(), 3, id);
          w.busy += StepAll(w.db.get(), w.upd.get());
          ++w.writes;
        } else {
          sqlite3_bind_int64(w.get.get(), 1, id);
          w.busy += StepAll(w.db.get(), w.get.get());
        }
        w.lat.push_back(Nanos(t0, Clock::now()));
      }
    });
  }
  run.op_unit = "operation";
  run.Begin(per_thread * threads);
  go.store(true, std::memory_order_release);
  for (std::thread& th : pool) th.join();
  run.End();
  int64_t busy = 0;
  for (Worker& w : workers) {
    run.lat.insert(run.lat.end(), w.lat.begin(), w.lat.end());
    run.commits += w.writes;
    busy += w.busy;
  }
  run.ops = per_thread * threads;
  run.extra["busy_retries"] = static_cast<double>(busy);
}

// Issue 5 (b): `threads` connections on `threads` threads, each doing ops/threads point
// lookups by id (uniform, a stream of its own per thread) in autocommit mode (one read
// transaction per lookup), SQLite's default page cache (cache_size -2000, about 2 MB),
// journal_mode `journal`. runner.py gives these workloads a table of their own, about
// ten times SQLite's default cache (~23 MB), which fits in blaze's default 64 MiB page
// cache. Untimed warm-up, the same on both sides: one full scan of t (blaze's cache then
// holds the table; stock's OS cache holds the file anyway, bench/run just copied it) and
// 1,000 lookups per connection (its own interior pages).
void PointThreads(const Ctx& c, Run& run, const char* journal) {
  constexpr int64_t kWarmLookups = 1000;
  const int threads = std::max(1, c.opt.threads);
  const int64_t per_thread = c.opt.ops / threads;
  Db setup = OpenDb(c.opt);
  Exec(setup.get(), std::string("PRAGMA journal_mode=") + journal);
  const auto n = static_cast<uint64_t>(QueryInt(setup.get(), "SELECT max(id) FROM t"));
  QueryInt(setup.get(), "SELECT sum(length(v)) FROM t");

  struct Worker {
    Db db;
    Stmt get;
    Rng rng{0};
    std::vector<uint64_t> lat;
    int64_t found = 0, bytes = 0;
    void Lookup(uint64_t n) {
      sqlite3_bind_int64(get.get(), 1, static_cast<int64_t>(1 + rng.Below(n)));
      if (sqlite3_step(get.get()) == SQLITE_ROW) {
        const int len = sqlite3_column_bytes(get.get(), 1);
        found += len > 0;
        bytes += len + sqlite3_column_int64(get.get(), 0) % 1000;
      }
      sqlite3_reset(get.get());
    }
  };
  std::vector<Worker> workers(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    Worker& w = workers[static_cast<size_t>(t)];
    w.db = OpenDb(c.opt);
    w.get = Prepare(w.db.get(), "SELECT k, v FROM t WHERE id = ?");
    w.rng = Rng(c.seed + static_cast<uint64_t>(t));
    for (int64_t i = 0; i < kWarmLookups; ++i) w.Lookup(n);
    w.found = w.bytes = 0;
    w.lat.reserve(static_cast<size_t>(per_thread));
  }
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (Worker& w : workers) {
    pool.emplace_back([&w, &go, n, per_thread] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (int64_t i = 0; i < per_thread; ++i) {
        const auto t0 = Clock::now();
        w.Lookup(n);
        w.lat.push_back(Nanos(t0, Clock::now()));
      }
    });
  }
  run.op_unit = "lookup";
  run.Begin(per_thread * threads);
  go.store(true, std::memory_order_release);
  for (std::thread& th : pool) th.join();
  run.End();
  int64_t found = 0, bytes = 0;
  for (Worker& w : workers) {
    run.lat.insert(run.lat.end(), w.lat.begin(), w.lat.end());
    found += w.found;
    bytes += w.bytes;
  }
  run.ops = per_thread * threads;
  const double ops = static_cast<double>(run.ops);
  run.extra["found"] = static_cast<double>(found);
  run.checks["lookups"] = std::to_string(found) + "|" + std::to_string(bytes);
  run.extra["db_pages"] = static_cast<double>(QueryInt(setup.get(), "PRAGMA page_count"));
  // How often SQLite's own cache missed: the reads of the main database file it made
  // (bench_count sees them on stock, blaze_stats on blaze), per lookup.
  run.extra["page_reads_per_lookup"] =
      (IsBlaze(c.opt) ? static_cast<double>(run.blaze_stats["reads"])
                      : static_cast<double>(run.io.reads[0])) /
      ops;
  run.extra["os_reads_per_lookup"] =
      static_cast<double>(std::accumulate(run.io.reads.begin(), run.io.reads.end(), uint64_t{0})) /
      ops;
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> out;
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
  if (!d) Fail("opendir %s", dir.c_str());
  while (dirent* e = readdir(d.get())) {
    std::string path = dir + "/" + e->d_name;
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) out.push_back(std::move(path));
  }
  return out;
}

// Asks the kernel to drop the files' cached pages (they are clean: every connection is
// closed) and returns the fraction of their pages still resident afterwards.
double DropFromPageCache(const std::string& dir) {
  const long page = sysconf(_SC_PAGESIZE);
  uint64_t total = 0, resident = 0;
  for (const std::string& path : FilesIn(dir)) {
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) continue;
    fdatasync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    struct stat st {};
    if (fstat(fd, &st) == 0 && st.st_size > 0) {
      void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
      if (map != MAP_FAILED) {
        const size_t pages = (static_cast<size_t>(st.st_size) + page - 1) / page;
        std::vector<unsigned char> vec(pages);
        if (mincore(map, static_cast<size_t>(st.st_size), vec.data()) == 0) {
          total += pages;
          for (unsigned char v : vec) resident += v & 1;
        }
        munmap(map, static_cast<size_t>(st.st_size));
      }
    }
    close(fd);
  }
  return total ? static_cast<double>(resident) / static_cast<double>(total) : 0.0;
}

void WarmOsCache(const std::string& dir);

// ops full scans, each on a fresh connection after dropping the files from the OS page
// cache (drop_os_cache; otherwise after reading every file once, so the OS cache holds
// them and only the process is cold: blaze's page cache, SQLite's); only open + scan is
// timed.
void FullScans(const Ctx& c, Run& run, bool drop_os_cache) {
  run.op_unit = "full scan";
  double resident = 0, cpu = 0;
  int64_t rows = 0, bytes = 0;
  run.Begin(c.opt.ops);
  for (int64_t i = 0; i < c.opt.ops; ++i) {
    StopCountingAllocs();  // the drop's own bookkeeping is not the scan's
    if (drop_os_cache) {
      resident += DropFromPageCache(c.opt.dir);
    } else {
      WarmOsCache(c.opt.dir);
    }
    ResumeCountingAllocs();
    const double cpu0 = ProcessCpuSeconds();
    const auto t0 = Clock::now();
    Db db = OpenDb(c.opt);
    Stmt scan = Prepare(db.get(), "SELECT count(*), sum(length(v)), sum(k) FROM t");
    if (sqlite3_step(scan.get()) != SQLITE_ROW) Fail("scan: %s", sqlite3_errmsg(db.get()));
    rows = sqlite3_column_int64(scan.get(), 0);
    run.checks["scan"] = std::to_string(rows) + "|" +
                         std::to_string(sqlite3_column_int64(scan.get(), 1)) + "|" +
                         std::to_string(sqlite3_column_int64(scan.get(), 2));
    scan.reset();
    bytes = QueryInt(db.get(), "PRAGMA page_count") * QueryInt(db.get(), "PRAGMA page_size");
    db.reset();
    const uint64_t ns = Nanos(t0, Clock::now());
    cpu += ProcessCpuSeconds() - cpu0;
    run.lat.push_back(ns);
    run.seconds += static_cast<double>(ns) * 1e-9;
  }
  run.End(/*wall_time=*/false);
  run.cpu_seconds = cpu;  // open + scan only, like seconds
  run.ops = c.opt.ops;
  if (drop_os_cache) {
    run.extra["resident_after_drop"] =
        resident / static_cast<double>(std::max<int64_t>(1, c.opt.ops));
  }
  run.extra["rows_per_scan"] = static_cast<double>(rows);
  run.extra["logical_mb_per_s"] =
      run.seconds > 0
          ? static_cast<double>(bytes) * static_cast<double>(run.ops) / 1e6 / run.seconds
          : 0;
}

// ---- realistic documents (text_size) ---------------------------------------------------

// Documents that look like what applications keep in SQLite: English-like prose, titles,
// author names, ISO timestamps and a JSON metadata record with numbers. Words come from
// a fixed 30,000-word vocabulary, the 100 most common English words first and then
// made-up words of English-like syllables, longer as they get rarer, drawn with Zipf
// frequencies (exponent 0.99) as words in real text are. No random bytes, and nothing
// repeats verbatim beyond what such text repeats.
class DocGen {
 public:
  static constexpr uint64_t kVocabulary = 30'000;

  explicit DocGen(uint64_t seed) : rng_(seed), word_rank_(kVocabulary, 0.99),
                                   author_rank_(kAuthors, 0.8), tag_rank_(kTags, 0.9) {
    Rng vocab(0x70c'ab'1a4eULL);  // the vocabulary is the same whatever the seed
    std::unordered_set<std::string> seen;
    for (const char* w : kCommon) {
      words_.emplace_back(w);
      seen.insert(w);
    }
    while (words_.size() < kVocabulary) {
      std::string w = MakeWord(vocab, words_.size());
      if (seen.insert(w).second) words_.push_back(std::move(w));
    }
    for (uint64_t i = 0; i < kAuthors; ++i) {
      std::string name = Capitalized(words_[100 + vocab.Below(20'000)]);
      name += ' ';
      name += Capitalized(words_[1000 + vocab.Below(25'000)]);
      authors_.push_back(std::move(name));
    }
    for (uint64_t i = 0; i < kTags; ++i) tags_.push_back(words_[100 + i * 7]);
  }

  struct Doc {
    std::string created, author, title, body, meta;
    size_t Bytes() const {
      return created.size() + author.size() + title.size() + body.size() + meta.size();
    }
  };

  void Next(int64_t id, Doc& d) {
    clock_ += 1 + static_cast<int64_t>(rng_.Below(7200));
    const time_t t = 1'420'070'400 + clock_;  // from 2015-01-01
    struct tm tm {};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    d.created = buf;
    d.author = authors_[author_rank_.Rank(rng_)];

    d.title.clear();
    const int title_words = 3 + static_cast<int>(rng_.Below(7));
    for (int i = 0; i < title_words; ++i) {
      if (i) d.title += ' ';
      d.title += Capitalized(Word());
    }
    d.body.clear();
    const int paragraphs = 1 + static_cast<int>(rng_.Below(4));
    for (int p = 0; p < paragraphs; ++p) {
      if (p) d.body += "\n\n";
      const int sentences = 2 + static_cast<int>(rng_.Below(6));
      for (int s = 0; s < sentences; ++s) {
        if (s) d.body += ' ';
        Sentence(d.body);
      }
    }

    std::string& m = d.meta;
    m = "{\"lang\":\"en\",\"tags\":[";
    const int tags = 1 + static_cast<int>(rng_.Below(5));
    for (int i = 0; i < tags; ++i) {
      if (i) m += ',';
      m += '"';
      m += tags_[tag_rank_.Rank(rng_)];
      m += '"';
    }
    std::snprintf(buf, sizeof buf, "],\"score\":%.2f,\"views\":%lld,", rng_.Unit() * 5,
                  static_cast<long long>(std::exp(rng_.Unit() * 12)));
    m += buf;
    std::snprintf(buf, sizeof buf, "\"votes\":{\"up\":%d,\"down\":%d},",
                  static_cast<int>(rng_.Below(500)), static_cast<int>(rng_.Below(60)));
    m += buf;
    m += "\"source\":\"https://www.";
    m += Word();
    std::snprintf(buf, sizeof buf, ".com/%d/%02d/", tm.tm_year + 1900, tm.tm_mon + 1);
    m += buf;
    for (size_t i = 0; i < d.title.size(); ++i) {
      const char ch = d.title[i];
      m += ch == ' ' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    std::snprintf(buf, sizeof buf, "-%lld\",\"draft\":%s,\"rev\":%d}", static_cast<long long>(id),
                  rng_.Below(10) == 0 ? "true" : "false", 1 + static_cast<int>(rng_.Below(9)));
    m += buf;
  }

 private:
  static constexpr uint64_t kAuthors = 3'000;
  static constexpr uint64_t kTags = 400;
  static constexpr const char* kCommon[] = {
      "the",   "of",    "and",   "to",    "a",      "in",    "is",   "it",    "you",   "that",
      "he",    "was",   "for",   "on",    "are",    "with",  "as",   "into",  "his",   "they",
      "be",    "at",    "one",   "have",  "this",   "from",  "or",   "had",   "by",    "not",
      "word",  "but",   "what",  "some",  "we",     "can",   "out",  "other", "were",  "all",
      "there", "when",  "up",    "use",   "your",   "how",   "said", "an",    "each",  "she",
      "which", "do",    "their", "time",  "if",     "will",  "way",  "about", "many",  "then",
      "them",  "write", "would", "like",  "so",     "these", "her",  "long",  "make",  "thing",
      "see",   "him",   "two",   "has",   "look",   "more",  "day",  "could", "go",    "come",
      "did",   "number", "sound", "no",   "most",   "people", "my",  "over",  "know",  "water",
      "than",  "call",  "first", "who",   "may",    "down",  "side", "been",  "now",   "find"};

  static std::string MakeWord(Rng& r, size_t rank) {
    static constexpr const char* kOnsets[] = {
        "",   "",   "b",  "c",  "d",  "f",  "g",  "h",  "j",  "k",  "l",   "m",  "n",  "p",
        "r",  "s",  "t",  "v",  "w",  "y",  "bl", "br", "ch", "cl", "cr",  "dr", "fl", "fr",
        "gl", "gr", "pl", "pr", "sc", "sh", "sl", "sp", "st", "str", "th", "tr", "wh", "qu"};
    static constexpr const char* kVowels[] = {"a",  "e",  "i",  "o",  "u",  "a",  "e", "o",
                                              "ea", "ai", "ou", "oo", "io", "ee", "y"};
    static constexpr const char* kCodas[] = {"",   "",   "",   "n",  "r",  "s",  "t",
                                             "l",  "m",  "d",  "nd", "nt", "st", "ng",
                                             "ck", "rt", "ll", "ss", "ght", "rs", "ts"};
    static constexpr const char* kSuffixes[] = {"ing", "ed", "s", "ly", "tion", "er", "ment",
                                                "ness", "able", "al", "ive", "ous"};
    const uint64_t max_syllables = rank < 2'000 ? 2 : 3;
    const uint64_t syllables = 1 + r.Below(max_syllables);
    std::string w;
    for (uint64_t i = 0; i < syllables; ++i) {
      w += kOnsets[r.Below(std::size(kOnsets))];
      w += kVowels[r.Below(std::size(kVowels))];
      w += kCodas[r.Below(std::size(kCodas))];
    }
    if (rank > 300 && r.Below(10) < 3) w += kSuffixes[r.Below(std::size(kSuffixes))];
    return w;
  }
  static std::string Capitalized(std::string w) {
    if (!w.empty()) w[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(w[0])));
    return w;
  }
  const std::string& Word() { return words_[word_rank_.Rank(rng_)]; }

  void Number(std::string& out) {
    char buf[32];
    switch (rng_.Below(5)) {
      case 0: std::snprintf(buf, sizeof buf, "%d", 1950 + static_cast<int>(rng_.Below(75))); break;
      case 1: std::snprintf(buf, sizeof buf, "%d", static_cast<int>(rng_.Below(10'000))); break;
      case 2: std::snprintf(buf, sizeof buf, "%.1f%%", rng_.Unit() * 100); break;
      case 3: std::snprintf(buf, sizeof buf, "$%.2f", rng_.Unit() * 500); break;
      default: std::snprintf(buf, sizeof buf, "%.3f", rng_.Unit() * 10); break;
    }
    out += buf;
  }

  void Sentence(std::string& out) {
    const int n = 5 + static_cast<int>(rng_.Below(20));
    for (int i = 0; i < n; ++i) {
      if (i) out += rng_.Below(100) < 7 ? ", " : " ";
      const size_t start = out.size();
      if (i > 0 && rng_.Below(100) < 3) {
        Number(out);
      } else {
        out += Word();
      }
      if (i == 0) {
        out[start] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[start])));
      }
    }
    const uint64_t end = rng_.Below(20);
    out += end == 0 ? '?' : end == 1 ? '!' : '.';
  }

  Rng rng_;
  Zipf word_rank_, author_rank_, tag_rank_;
  std::vector<std::string> words_, authors_, tags_;
  int64_t clock_ = 0;
};

struct DirSize {
  uint64_t file_bytes = 0;  // sum of st_size
  uint64_t disk_bytes = 0;  // sum of allocated blocks
};

DirSize SizeOf(const std::string& dir) {
  DirSize out;
  for (const std::string& path : FilesIn(dir)) {
    struct stat st {};
    if (stat(path.c_str(), &st) == 0) {
      out.file_bytes += static_cast<uint64_t>(st.st_size);
      out.disk_bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return out;
}

// Runs SELECT fn() for one of blaze's maintenance functions (blaze_checkpoint,
// blaze_compact). Returns false when this blaze.so does not have it; any other error
// is a failure of the run.
bool TryMaintenance(sqlite3* db, const char* fn) {
  const std::string sql = std::string("SELECT ") + fn + "()";
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    if (std::strstr(sqlite3_errmsg(db), "no such function") != nullptr) return false;
    Fail("%s: %s", sql.c_str(), sqlite3_errmsg(db));
  }
  Stmt stmt(raw);
  if (sqlite3_step(raw) != SQLITE_ROW) Fail("%s: %s", sql.c_str(), sqlite3_errmsg(db));
  return true;
}

// Loads --rows documents (1000 per transaction, rollback journal, SQLite's defaults),
// then records the stored size at each stage: after the last commit (blaze: page file
// and store log), after SELECT blaze_checkpoint(), after SELECT blaze_compact(), and
// (Report) after the connection closed. Stock's size is the same at every stage.
void TextSize(const Ctx& c, Run& run) {
  constexpr int64_t kBatch = 1000;
  Db db = OpenDb(c.opt);
  Exec(db.get(),
       "CREATE TABLE docs(id INTEGER PRIMARY KEY, created TEXT NOT NULL, author TEXT NOT NULL, "
       "title TEXT NOT NULL, body TEXT NOT NULL, meta TEXT NOT NULL);"
       "CREATE INDEX docs_author ON docs(author, created);");
  DocGen gen(c.seed);
  Stmt ins = Prepare(db.get(), "INSERT INTO docs VALUES(?, ?, ?, ?, ?, ?)");
  Stmt begin = Prepare(db.get(), "BEGIN");
  Stmt commit = Prepare(db.get(), "COMMIT");
  DocGen::Doc doc;
  double text_bytes = 0;
  run.op_unit = "document";
  run.Begin(c.opt.rows);
  for (int64_t i = 0; i < c.opt.rows; ++i) {
    const auto t0 = Clock::now();
    if (i % kBatch == 0) StepAll(db.get(), begin.get());
    gen.Next(i + 1, doc);
    text_bytes += static_cast<double>(doc.Bytes());
    sqlite3_bind_int64(ins.get(), 1, i + 1);
    const std::string* cols[] = {&doc.created, &doc.author, &doc.title, &doc.body, &doc.meta};
    for (int k = 0; k < 5; ++k) {
      sqlite3_bind_text(ins.get(), k + 2, cols[k]->data(), static_cast<int>(cols[k]->size()),
                        SQLITE_STATIC);
    }
    StepAll(db.get(), ins.get());
    if (i % kBatch == kBatch - 1 || i == c.opt.rows - 1) {
      StepAll(db.get(), commit.get());
      ++run.commits;
    }
    run.lat.push_back(Nanos(t0, Clock::now()));
  }
  run.ops = c.opt.rows;
  run.End();

  run.extra["text_bytes"] = text_bytes;
  run.extra["logical_bytes"] = static_cast<double>(QueryInt(db.get(), "PRAGMA page_count") *
                                                   QueryInt(db.get(), "PRAGMA page_size"));
  auto stage = [&](const std::string& name) {
    const DirSize d = SizeOf(c.opt.dir);
    run.extra[name + "_file_bytes"] = static_cast<double>(d.file_bytes);
    run.extra[name + "_disk_bytes"] = static_cast<double>(d.disk_bytes);
    if (IsBlaze(c.opt)) {
      StatMap s = ReadBlazeStats(g_process.stats_db);
      run.extra[name + "_stored_bytes"] = static_cast<double>(s["stored_bytes"]);
      run.extra[name + "_log_bytes"] = static_cast<double>(s["log_bytes"]);
    }
  };
  constexpr char kDocsFingerprint[] =
      "SELECT count(*), total(length(created)), total(length(author)), total(length(title)), "
      "total(length(body)), total(length(meta)), sum(id * length(body)), max(created), "
      "min(author), sum(id * unicode(substr(body, 1 + id % 97, 1)))";
  const std::string fingerprint = std::string(kDocsFingerprint) + " FROM docs";
  run.checks["quick_check"] = QueryRow(db.get(), "PRAGMA quick_check");
  run.checks["content"] = QueryRow(db.get(), fingerprint.c_str());
  stage("after_load");
  if (IsBlaze(c.opt)) {
    const bool checkpoint = TryMaintenance(db.get(), "blaze_checkpoint");
    run.extra["has_blaze_checkpoint"] = checkpoint;
    if (checkpoint) stage("after_checkpoint");
    const bool compact = TryMaintenance(db.get(), "blaze_compact");
    run.extra["has_blaze_compact"] = compact;
    if (compact) stage("after_compact");
    // Checkpoint and compaction moved every page: the content must not have changed.
    run.checks["content_after_maintenance"] = QueryRow(db.get(), fingerprint.c_str());
    run.checks["quick_check_after_maintenance"] = QueryRow(db.get(), "PRAGMA quick_check");
  }
}

// Inserts --rows rows into the empty indexed table in ONE transaction (rollback
// journal, synchronous=FULL): the page cache spills to the database file long before
// the commit.
void BulkOneTxn(const Ctx& c, Run& run) {
  Db db = OpenDb(c.opt);
  CreateSchema(db.get());
  Rng rng(c.seed);
  run.op_unit = "row";
  run.Begin(c.opt.rows);
  LoadRows(db.get(), rng, c.text, 1, c.opt.rows, c.opt.rows, c.opt.rows, &run);
  run.End();
  CheckTable(db.get(), run);
}

// Reads every file of dir once, so the OS page cache holds them.
void WarmOsCache(const std::string& dir) {
  std::vector<char> buf(1 << 20);
  for (const std::string& path : FilesIn(dir)) {
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) Fail("open %s", path.c_str());
    while (read(fd, buf.data(), buf.size()) > 0) {
    }
    close(fd);
  }
}

// Random point lookups with the OS page cache warm (every file read just before) and
// SQLite's page cache as small as it goes (PRAGMA cache_size=10), all in one read
// transaction: nearly every lookup reads its leaf (and some interior pages) through the
// VFS. blaze: each such read is one stored page to find, verify and decompress.
void ReadUncached(const Ctx& c, Run& run) {
  WarmOsCache(c.opt.dir);
  Db db = OpenDb(c.opt);
  Exec(db.get(), "PRAGMA cache_size=10");
  const auto n = static_cast<uint64_t>(QueryInt(db.get(), "SELECT max(id) FROM t"));
  Stmt get = Prepare(db.get(), "SELECT k, v FROM t WHERE id = ?");
  Exec(db.get(), "BEGIN");
  sqlite3_bind_int64(get.get(), 1, 1);
  StepAll(db.get(), get.get());  // takes the read lock: the window holds lookups only
  Rng rng(c.seed);
  run.op_unit = "lookup";
  int64_t found = 0, bytes = 0;
  run.Begin(c.opt.ops);
  for (int64_t i = 0; i < c.opt.ops; ++i) {
    const auto id = static_cast<int64_t>(1 + rng.Below(n));
    const auto t0 = Clock::now();
    sqlite3_bind_int64(get.get(), 1, id);
    if (sqlite3_step(get.get()) == SQLITE_ROW) {
      const int len = sqlite3_column_bytes(get.get(), 1);
      found += len > 0;
      bytes += len + sqlite3_column_int64(get.get(), 0) % 1000;
    }
    sqlite3_reset(get.get());
    run.lat.push_back(Nanos(t0, Clock::now()));
  }
  run.ops = c.opt.ops;
  run.End();
  Exec(db.get(), "COMMIT");
  const double ops = static_cast<double>(run.ops);
  run.extra["found"] = static_cast<double>(found);
  run.checks["lookups"] = std::to_string(found) + "|" + std::to_string(bytes);
  run.extra["us_per_lookup"] = run.seconds * 1e6 / ops;
  // What SQLite asked of the main database file: bench_count sees it directly on stock,
  // blaze_stats on blaze (under blaze, bench_count sees the store's own reads).
  const double sqlite_reads = IsBlaze(c.opt)
                                  ? static_cast<double>(run.blaze_stats["reads"])
                                  : static_cast<double>(run.io.reads[0]);
  run.extra["page_reads_per_lookup"] = sqlite_reads / ops;
  run.extra["os_reads_per_lookup"] =
      static_cast<double>(std::accumulate(run.io.reads.begin(), run.io.reads.end(), uint64_t{0})) /
      ops;
  if (IsBlaze(c.opt)) {
    run.extra["decodes_per_lookup"] = static_cast<double>(run.blaze_stats["decompressions"]) / ops;
    // Not a delta: whether the store decodes against a dictionary (the report prices a
    // decode accordingly).
    run.extra["dictionary_bytes"] =
        static_cast<double>(ReadBlazeStats(db.get())["dictionary_bytes"]);
  }
}

struct Workload {
  const char* name;
  uint64_t seed;
  const char* desc;
  void (*fn)(const Ctx&, Run&);
};

const Workload kWorkloads[] = {
    {"prepare", 1001, "builds the --rows table for the read workloads (not reported)",
     PrepareTable},
    {"bulk_load", 1002,
     "inserts --rows rows into an empty table with one index, 1000 rows per transaction", BulkLoad},
    {"txn_delete_full", 1003, "one-row INSERT commits, journal_mode=DELETE, synchronous=FULL",
     [](const Ctx& c, Run& r) { SmallTxns(c, r, "DELETE", "FULL"); }},
    {"txn_delete_normal", 1004, "one-row INSERT commits, journal_mode=DELETE, synchronous=NORMAL",
     [](const Ctx& c, Run& r) { SmallTxns(c, r, "DELETE", "NORMAL"); }},
    {"txn_wal_full", 1005, "one-row INSERT commits, journal_mode=WAL, synchronous=FULL",
     [](const Ctx& c, Run& r) { SmallTxns(c, r, "WAL", "FULL"); }},
    {"txn_wal_normal", 1006, "one-row INSERT commits, journal_mode=WAL, synchronous=NORMAL",
     [](const Ctx& c, Run& r) { SmallTxns(c, r, "WAL", "NORMAL"); }},
    {"point_uniform", 1007, "SELECT by primary key, ids uniform over the table",
     [](const Ctx& c, Run& r) { PointLookups(c, r, false); }},
    {"point_zipf", 1008,
     "SELECT by primary key, ids Zipf(0.99) over the table (hot rows scattered)",
     [](const Ctx& c, Run& r) { PointLookups(c, r, true); }},
    {"range_scan", 1009, "count/sum over 100 consecutive ids from a uniform start", RangeScans},
    {"update_churn", 1010,
     "90% UPDATE of a random row with a new-length value, 10% DELETE+INSERT; 100 per transaction, "
     "journal_mode=DELETE, synchronous=FULL",
     UpdateChurn},
    {"mixed_threads", 1011,
     "--threads connections, WAL, synchronous=NORMAL: 90% point reads, 10% one-row UPDATE commits",
     MixedThreads},
    {"cold_scan", 1012,
     "full table scan on a fresh connection after dropping the files from the OS page cache",
     [](const Ctx& c, Run& r) { FullScans(c, r, true); }},
    {"text_size", 1013,
     "loads --rows documents (prose with Zipf word frequencies, titles, names, timestamps, JSON "
     "metadata), 1000 per transaction, then measures the stored size",
     TextSize},
    {"bulk_1txn", 1014,
     "inserts --rows rows into an empty table with one index in one transaction", BulkOneTxn},
    {"read_uncached", 1015,
     "SELECT by primary key, ids uniform, one read transaction, OS cache warm, "
     "PRAGMA cache_size=10",
     ReadUncached},
    {"point_4threads", 1016,
     "--threads connections on as many threads, SELECT by primary key, ids uniform, autocommit, "
     "journal_mode=DELETE, default cache_size, a table ~10x SQLite's cache (warmed by one scan)",
     [](const Ctx& c, Run& r) { PointThreads(c, r, "DELETE"); }},
    {"point_4threads_wal", 1017,
     "the same as point_4threads in journal_mode=WAL",
     [](const Ctx& c, Run& r) { PointThreads(c, r, "WAL"); }},
    {"scan_os_warm", 1018,
     "full table scan on a fresh connection in a fresh process, every file read just before "
     "(OS cache warm, blaze's page cache cold)",
     [](const Ctx& c, Run& r) { FullScans(c, r, false); }},
};

// ---- output --------------------------------------------------------------------------

class Json {
 public:
  Json& Key(std::string_view k) {
    out_ += first_ ? "{" : ",";
    first_ = false;
    Str(k);
    out_ += ':';
    return *this;
  }
  Json& Str(std::string_view s) {
    out_ += '"';
    for (char ch : s) {
      if (ch == '"' || ch == '\\') out_ += '\\';
      if (static_cast<unsigned char>(ch) >= 0x20) out_ += ch;
    }
    out_ += '"';
    return *this;
  }
  Json& Num(double v) {
    char buf[64];
    if (!std::isfinite(v)) {
      out_ += "null";
    } else {
      std::snprintf(buf, sizeof buf, "%.6g", v);
      out_ += buf;
    }
    return *this;
  }
  Json& Raw(std::string_view s) {
    out_ += s;
    return *this;
  }
  std::string Done() { return out_ + "}"; }

 private:
  std::string out_;
  bool first_ = true;
};

// The process's peak RSS: VmHWM of /proc/self/status. Not getrusage's ru_maxrss, which
// Linux carries across execve, so it would report the launching python's peak.
int64_t PeakRssKib() {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen("/proc/self/status", "r"), std::fclose);
  char line[256];
  long long kib = -1;
  while (f && std::fgets(line, sizeof line, f.get())) {
    if (std::sscanf(line, "VmHWM: %lld kB", &kib) == 1) break;
  }
  return kib;
}

double Percentile(std::vector<uint64_t>& v, double p) {
  if (v.empty()) return NAN;
  const auto k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k]);
}

std::string KindObject(const std::array<uint64_t, kFileKindCount>& a, uint64_t dir) {
  Json j;
  j.Key("main").Num(static_cast<double>(a[0])).Key("journal").Num(static_cast<double>(a[1]));
  j.Key("wal").Num(static_cast<double>(a[2])).Key("other").Num(static_cast<double>(a[3]));
  if (dir != UINT64_MAX) j.Key("dir").Num(static_cast<double>(dir));
  return j.Done();
}

std::string Report(const Options& opt, const Workload& w, uint64_t seed, Run& run,
                   const std::string& blaze_version) {
  const DirSize dir = SizeOf(opt.dir);
  const uint64_t file_bytes = dir.file_bytes, disk_bytes = dir.disk_bytes;
  const double ops = static_cast<double>(run.ops);
  const double commits = static_cast<double>(run.commits);
  auto per_commit = [&](double v) { return run.commits ? v / commits : NAN; };

  Json j;
  j.Key("workload").Str(w.name).Key("vfs").Str(opt.label).Key("desc").Str(w.desc);
  if (!opt.params.empty()) j.Key("params").Str(opt.params);
  j.Key("seed").Num(static_cast<double>(seed)).Key("rows").Num(static_cast<double>(opt.rows));
  j.Key("ops").Num(ops).Key("threads").Num(opt.threads).Key("op_unit").Str(run.op_unit);
  j.Key("seconds").Num(run.seconds);
  j.Key("ops_per_s").Num(run.seconds > 0 ? ops / run.seconds : NAN);
  // Less sensitive than wall time to other processes of a shared machine (not to the
  // caches they pollute); includes any untimed bookkeeping inside the window.
  j.Key("cpu_us_per_op").Num(run.ops ? run.cpu_seconds * 1e6 / ops : NAN);
  j.Key("p50_us").Num(Percentile(run.lat, 0.50) / 1000);
  j.Key("p99_us").Num(Percentile(run.lat, 0.99) / 1000);
  j.Key("peak_rss_kib").Num(static_cast<double>(PeakRssKib()));
  j.Key("allocs_per_op").Num(run.ops ? static_cast<double>(run.allocs) / ops : NAN);
  j.Key("commits").Num(commits);
  j.Key("os_syncs_per_commit").Num(per_commit(static_cast<double>(run.io.TotalSyncs())));
  j.Key("os_bytes_written_per_commit")
      .Num(per_commit(static_cast<double>(run.io.TotalBytesWritten())));
  j.Key("os_syncs").Raw(KindObject(run.io.syncs, run.io.dir_syncs));
  j.Key("os_reads").Raw(KindObject(run.io.reads, UINT64_MAX));
  j.Key("os_bytes_written").Raw(KindObject(run.io.bytes_written, UINT64_MAX));
  if (IsBlaze(opt)) {
    Json bs;
    for (const auto& [name, value] : run.blaze_stats) bs.Key(name).Num(static_cast<double>(value));
    j.Key("blaze_stats").Raw(run.blaze_stats.empty() ? "{}" : bs.Done());
    auto stat = [&](const char* name) {
      auto it = run.blaze_stats.find(name);
      return it == run.blaze_stats.end() ? NAN : static_cast<double>(it->second);
    };
    j.Key("bs_syncs_per_commit").Num(per_commit(stat("syncs")));
    j.Key("bs_bytes_written_per_commit").Num(per_commit(stat("bytes_written")));
    // The page cache's counters (cache_hits/cache_misses since the shared cache; older
    // blaze.so builds called them hits/misses).
    double hits = stat("cache_hits"), misses = stat("cache_misses");
    if (std::isnan(hits)) hits = stat("hits"), misses = stat("misses");
    j.Key("cache_hit_ratio").Num(hits + misses > 0 ? hits / (hits + misses) : NAN);
    j.Key("blaze_version").Str(blaze_version);
  }
  j.Key("file_bytes").Num(static_cast<double>(file_bytes));
  j.Key("disk_bytes").Num(static_cast<double>(disk_bytes));
  j.Key("sqlite_version").Str(sqlite3_libversion());
  for (const auto& [name, value] : run.extra) j.Key(name).Num(value);
  if (!run.checks.empty()) {
    Json checks;
    for (const auto& [name, value] : run.checks) checks.Key(name).Str(value);
    j.Key("checks").Raw(checks.Done());
  }
  return j.Done();
}

Options ParseArgs(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Fail("%s needs a value", argv[i]);
      return argv[++i];
    };
    if (a == "--list") {
      for (const Workload& w : kWorkloads) std::printf("%s\n", w.name);
      std::exit(0);
    } else if (a == "--workload") {
      opt.workload = value();
    } else if (a == "--vfs") {
      opt.vfs = value();
    } else if (a == "--module") {
      opt.module = value();
    } else if (a == "--dir") {
      opt.dir = value();
    } else if (a == "--rows") {
      opt.rows = std::atoll(value());
    } else if (a == "--ops") {
      opt.ops = std::atoll(value());
    } else if (a == "--threads") {
      opt.threads = std::atoi(value());
    } else if (a == "--seed") {
      opt.seed = std::strtoull(value(), nullptr, 10);
    } else if (a == "--params") {
      opt.params = value();
    } else if (a == "--label") {
      opt.label = value();
    } else {
      Fail("unknown argument %s", argv[i]);
    }
  }
  if (opt.vfs != "stock" && opt.vfs != "blaze") Fail("--vfs is stock or blaze");
  if (IsBlaze(opt) && opt.module.empty()) Fail("--vfs blaze needs --module PATH/blaze.so");
  if (opt.dir.empty()) Fail("--dir is required");
  if (opt.rows < 200 || opt.ops < 1) Fail("--rows must be >= 200 and --ops >= 1");
  if (!opt.params.empty() && !IsBlaze(opt)) Fail("--params is for --vfs blaze");
  if (opt.label.empty()) opt.label = opt.vfs;
  return opt;
}

int Main(int argc, char** argv) {
  const Options opt = ParseArgs(argc, argv);
  const Workload* w = nullptr;
  for (const Workload& candidate : kWorkloads) {
    if (opt.workload == candidate.name) w = &candidate;
  }
  if (w == nullptr) Fail("unknown workload '%s' (see --list)", opt.workload.c_str());

  g_process.opt = &opt;
  g_process.workload = w->name;
  if (RegisterCountVfs() != SQLITE_OK) Fail("cannot register the counting VFS");
  Db stats_db;
  std::string blaze_version;
  if (IsBlaze(opt)) {
    // Loaded after bench_count became the default, so "blaze" stacks over it.
    stats_db = Open(":memory:", nullptr);
    sqlite3_enable_load_extension(stats_db.get(), 1);
    char* err = nullptr;
    if (sqlite3_load_extension(stats_db.get(), opt.module.c_str(), nullptr, &err) != SQLITE_OK) {
      Fail("cannot load %s: %s", opt.module.c_str(), err ? err : "?");
    }
    Stmt v = Prepare(stats_db.get(), "SELECT blaze_version()");
    if (sqlite3_step(v.get()) == SQLITE_ROW) {
      blaze_version = reinterpret_cast<const char*>(sqlite3_column_text(v.get(), 0));
    }
  }
  const TextGen text;
  const uint64_t seed = opt.seed ? opt.seed : w->seed;
  g_process.stats_db = stats_db.get();
  Run run;
  run.stats_db = stats_db.get();
  w->fn(Ctx{opt, text, seed}, run);
  std::printf("%s\n", Report(opt, *w, seed, run, blaze_version).c_str());
  return 0;
}

}  // namespace
}  // namespace blaze::bench

int main(int argc, char** argv) { return blaze::bench::Main(argc, argv); }
