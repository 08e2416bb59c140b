// tests/sql/cache_concurrency_test.cc: many threads, each with its own connection to one
// store, reading and writing while the shared page cache evicts, checked by a ledger.
//
// What it exercises: the store's lock-free read path (a read whose pages are all cached
// takes only the cache's shard locks), xFetch pins (PRAGMA mmap_size), and evictions in
// a store's cache share, all racing with commits, SQLite's WAL checkpoints, store
// checkpoints, truncations (auto_vacuum=FULL) and blaze_stats scans. The share is tiny
// (blaze_cache=262144: 16 shards of three 4 KiB pages, for a database of about 140
// pages) and every connection's own cache is 5 pages, so almost every page SQLite
// touches goes through xRead or xFetch, and most of those evict another page. Each
// setting runs in WAL and in DELETE mode, with and without mmap_size. The second test
// adds a thread that runs blaze_checkpoint() and blaze_compact(), reads blaze_stats,
// changes the store's cache share, and opens and closes a second store meanwhile.
//
// The database: `accounts` (kAccounts rows whose balances always sum to kAccounts *
// kOpening: each write transaction moves an amount between two of them), `owned`
// (kKeysPerThread rows per writer, written only by that writer) and `history` (each
// writer's last kHistoryKept transactions, some with overflow pages; older ones are
// deleted, so pages are freed and the file is cut). Every row carries padding whose
// length is stored beside it.
//
// The ledger: each writer remembers what it committed (its keys' values and lengths, its
// last transaction number) and, in read transactions, checks that the database says the
// same. Every read transaction checks the sum and count of `accounts`; readers also run
// PRAGMA quick_check in a snapshot. At the end the main thread checks every ledger, the
// sum and PRAGMA integrity_check, and that no page is left pinned. No thread calls
// Catch2: failures are collected and reported by the main thread.
//
// Scale: BLAZE_CONCURRENCY_SCALE (a positive number, default 1) multiplies the number of
// write transactions (readers and maintenance run until the writers are done); .ci/run
// lowers it under the sanitizers. Each test prints its counts (transactions, busy
// retries, reads, and the store's xRead/xFetch and cache figures from blaze_stats).
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "tests/support/db.h"

using namespace blaze::test;

namespace {

constexpr int kAccounts = 1500;
constexpr int64_t kOpening = 1000;  // each account's opening balance
constexpr int kKeysPerThread = 32;
constexpr int kHistoryKept = 16;
constexpr int kWriters = 4;
constexpr int kReaders = 2;
constexpr int kWriteTxns = 200;  // per writer, at scale 1
constexpr int kMaxAttempts = 50;  // per transaction, each after BusyWait gave up or BUSY
// The store's share of the page cache: 16 shards x 16 KiB, about three 4 KiB pages per
// shard. The maintenance thread's extra connections set it to kSmallShare and back.
constexpr uint64_t kShare = 262144;
constexpr uint64_t kSmallShare = 196608;
constexpr int kOtherRows = 200;  // in the second store the maintenance thread opens

std::string Uri(const std::string& path, uint64_t share) {
  return "file:" + path + "?vfs=blaze&blaze_cache=" + std::to_string(share) +
         "&blaze_checkpoint=131072";
}

double Scale() {
  const char* s = std::getenv("BLAZE_CONCURRENCY_SCALE");
  if (s == nullptr || *s == '\0') return 1.0;
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  return end != s && v > 0 ? v : 1.0;
}

int Scaled(int n) { return std::max(4, static_cast<int>(n * Scale())); }

bool IsBusy(int rc) { return (rc & 0xff) == SQLITE_BUSY; }

// The busy handler: waits in short steps, up to about 20 s. SQLite's own (busy_timeout)
// sleeps up to 100 ms a time, and with several writers in a rollback journal mode the
// threads then spend most of the run asleep instead of racing one another.
int BusyWait(void*, int count) {
  if (count >= 40000) return 0;
  std::this_thread::sleep_for(std::chrono::microseconds(count < 20 ? 50 : 500));
  return 1;
}

struct Setting {
  std::string journal_mode;
  bool mmap = false;
  bool maintenance = false;  // a thread runs blaze_checkpoint/compact, reads blaze_stats
};

std::string Describe(const Setting& s) {
  return "journal_mode=" + s.journal_mode + " mmap=" + (s.mmap ? "on" : "off");
}

// What the threads share: counts, and the failures they saw (the first few).
class Run {
 public:
  void Fail(const std::string& what) {
    std::lock_guard lock(mu_);
    failures_ += 1;
    if (errors_.size() < 20) errors_.push_back(what);
  }
  int failures() {
    std::lock_guard lock(mu_);
    return failures_;
  }
  std::vector<std::string> errors() {
    std::lock_guard lock(mu_);
    return errors_;
  }

  std::atomic<bool> writers_done{false};
  std::atomic<uint64_t> commits{0}, busy{0}, read_txns{0}, lookups{0}, quick_checks{0};
  std::atomic<uint64_t> checkpoints{0}, checkpoints_busy{0}, compacts{0}, stats_reads{0};
  std::atomic<uint64_t> store_opens{0};

 private:
  std::mutex mu_;
  int failures_ = 0;
  std::vector<std::string> errors_;
};

// One thread's connection with its prepared statements. Reports failures to the Run;
// never throws. `syncs`: synchronous=NORMAL (else OFF). One writer syncs, so commits
// through xSync and through the commit points without it both race the readers; all
// of them syncing would make a DELETE-mode run wait on the disk (three or four syncs
// per commit) rather than race, and durability is the crash suite's business.
class Conn {
 public:
  Conn(Run& run, const std::string& uri, const Setting& setting, std::string who,
       bool syncs = false)
      : run_(run), who_(std::move(who)) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI,
                                   nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) {
      Fail("open", rc);
      db_.reset();
      return;
    }
    sqlite3_busy_handler(raw, BusyWait, nullptr);
    std::string pragmas = std::string("PRAGMA cache_size=5; PRAGMA synchronous=") +
                          (syncs ? "NORMAL;" : "OFF;");
    if (setting.journal_mode == "wal") pragmas += "PRAGMA wal_autocheckpoint=64;";
    if (setting.mmap) pragmas += "PRAGMA mmap_size=268435456;";
    if (const int r = Exec(pragmas.c_str()); r != SQLITE_OK) {
      Fail("pragmas", r);
      db_.reset();
    }
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  bool ok() const { return db_ != nullptr; }
  sqlite3* db() const { return db_.get(); }

  // The statement for sql, prepared once, reset and unbound.
  sqlite3_stmt* Stmt(const char* sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) {
      sqlite3_stmt* raw = nullptr;
      if (const int rc = sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr); rc != SQLITE_OK) {
        Fail(std::string("prepare ") + sql, rc);
        return nullptr;
      }
      it = stmts_.emplace(sql, StmtPtr(raw)).first;
    }
    sqlite3_clear_bindings(it->second.get());
    return it->second.get();
  }

  // Runs s to its end, passing each row to on_row; SQLITE_DONE or the error. The
  // statement is reset either way.
  template <class OnRow>
  int Each(sqlite3_stmt* s, OnRow on_row) {
    if (s == nullptr) return SQLITE_ERROR;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) on_row(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
  }
  int Do(sqlite3_stmt* s) {
    return Each(s, [](sqlite3_stmt*) {});
  }
  int Exec(const char* sql) { return sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr); }

  // Runs body in a transaction opened by `begin`, retrying the whole of it while SQLite
  // says busy. True once committed; false after a failure it reported.
  template <class Body>
  bool Transaction(const char* begin, Body body) {
    for (int attempt = 1;; ++attempt) {
      int rc = Do(Stmt(begin));
      if (rc == SQLITE_OK) rc = body();
      if (rc == SQLITE_OK) rc = Do(Stmt("COMMIT"));
      if (rc == SQLITE_OK) return true;
      if (!sqlite3_get_autocommit(db_.get())) (void)Do(Stmt("ROLLBACK"));
      if (!IsBusy(rc) || attempt == kMaxAttempts) {
        Fail(std::string("transaction (") + begin + ")", rc);
        return false;
      }
      run_.busy += 1;
    }
  }

  // The one check every read transaction makes: the balances still sum up.
  int CheckAccounts() {
    int64_t count = -1, sum = -1;
    const int rc = Each(Stmt("SELECT count(*), sum(balance) FROM accounts"), [&](sqlite3_stmt* s) {
      count = sqlite3_column_int64(s, 0);
      sum = sqlite3_column_int64(s, 1);
    });
    if (rc == SQLITE_OK && (count != kAccounts || sum != kAccounts * kOpening)) {
      Fail("accounts: " + std::to_string(count) + " rows summing to " + std::to_string(sum) +
           ", expected " + std::to_string(kAccounts) + " summing to " +
           std::to_string(kAccounts * kOpening));
    }
    return rc;
  }

  // A point lookup of a random account; the row must be there and whole.
  int Lookup(std::mt19937_64& rng) {
    sqlite3_stmt* s = Stmt("SELECT balance, length(pad), len FROM accounts WHERE id = ?1");
    if (s == nullptr) return SQLITE_ERROR;
    const int64_t id = static_cast<int64_t>(rng() % kAccounts) + 1;
    sqlite3_bind_int64(s, 1, id);
    int rows = 0;
    const int rc = Each(s, [&](sqlite3_stmt* row) {
      rows += 1;
      if (sqlite3_column_int64(row, 1) != sqlite3_column_int64(row, 2)) {
        Fail("account " + std::to_string(id) + ": pad of " +
             std::to_string(sqlite3_column_int64(row, 1)) + " bytes, expected " +
             std::to_string(sqlite3_column_int64(row, 2)));
      }
    });
    if (rc == SQLITE_OK && rows != 1) {
      Fail("account " + std::to_string(id) + ": " + std::to_string(rows) + " rows");
    }
    run_.lookups += 1;
    return rc;
  }

  void Fail(const std::string& what, int rc) {
    run_.Fail(who_ + ": " + what + ": " + sqlite3_errstr(rc) + " (" +
              (db_ ? sqlite3_errmsg(db_.get()) : "no connection") + ")");
  }
  void Fail(const std::string& what) { run_.Fail(who_ + ": " + what); }

 private:
  Run& run_;
  const std::string who_;
  DbPtr db_;
  std::map<std::string, StmtPtr> stmts_;
};

// What one writer committed: its keys' values and pad lengths, and its last transaction.
struct Ledger {
  std::vector<int64_t> value = std::vector<int64_t>(kKeysPerThread, 0);
  std::vector<int64_t> len = std::vector<int64_t>(kKeysPerThread, 0);
  int64_t seq = 0;
};

// Checks, in the caller's transaction, that the database holds what `ledger` says
// writer `me` committed.
int CheckLedger(Conn& c, int me, const Ledger& ledger) {
  sqlite3_stmt* s = c.Stmt("SELECT k, v, length(pad), len FROM owned WHERE thread = ?1 ORDER BY k");
  if (s == nullptr) return SQLITE_ERROR;
  sqlite3_bind_int(s, 1, me);
  int next = 0;
  int rc = c.Each(s, [&](sqlite3_stmt* row) {
    const int64_t k = sqlite3_column_int64(row, 0);
    const int64_t v = sqlite3_column_int64(row, 1);
    const int64_t got_len = sqlite3_column_int64(row, 2);
    const int64_t len = sqlite3_column_int64(row, 3);
    if (k != next || k >= kKeysPerThread || v != ledger.value[k] || len != ledger.len[k] ||
        got_len != len) {
      c.Fail("owned key " + std::to_string(k) + " (expected key " + std::to_string(next) +
             "): v=" + std::to_string(v) + " len=" + std::to_string(len) + " pad=" +
             std::to_string(got_len) + ", ledger v=" +
             (next < kKeysPerThread ? std::to_string(ledger.value[next]) + " len=" +
                                          std::to_string(ledger.len[next])
                                    : std::string("none")));
    }
    next = static_cast<int>(k) + 1;
  });
  if (rc != SQLITE_OK) return rc;
  if (next != kKeysPerThread) c.Fail("owned: " + std::to_string(next) + " keys");

  s = c.Stmt("SELECT count(*), coalesce(min(seq), 0), coalesce(max(seq), 0), "
             "coalesce(sum(length(pad) = len), 0) FROM history WHERE thread = ?1");
  if (s == nullptr) return SQLITE_ERROR;
  sqlite3_bind_int(s, 1, me);
  rc = c.Each(s, [&](sqlite3_stmt* row) {
    const int64_t count = sqlite3_column_int64(row, 0);
    const int64_t lo = sqlite3_column_int64(row, 1);
    const int64_t hi = sqlite3_column_int64(row, 2);
    const int64_t whole = sqlite3_column_int64(row, 3);
    const int64_t want = std::min<int64_t>(ledger.seq, kHistoryKept);
    if (count != want || hi != ledger.seq || (want > 0 && lo != ledger.seq - want + 1) ||
        whole != count) {
      c.Fail("history: " + std::to_string(count) + " rows " + std::to_string(lo) + ".." +
             std::to_string(hi) + " (" + std::to_string(whole) + " whole), ledger at " +
             std::to_string(ledger.seq));
    }
  });
  return rc;
}

// A writer: transfers between two random accounts, rewrites one of its keys, appends to
// its history and trims it, all in one transaction; between transactions, point lookups
// and (every fourth) a read transaction that checks its ledger.
void Writer(Run& run, const std::string& uri, const Setting& setting, int me, int txns,
            Ledger& ledger) {
  Conn c(run, uri, setting, "writer " + std::to_string(me), /*syncs=*/me == 0);
  if (!c.ok()) return;
  std::mt19937_64 rng(0x5eed0000 + me);
  for (int i = 0; i < txns && c.ok(); ++i) {
    // Everything the transaction writes is chosen before it starts, so a retry after
    // SQLITE_BUSY writes the same, and the ledger changes only once it committed.
    const int64_t a = static_cast<int64_t>(rng() % kAccounts) + 1;
    const int64_t b = (a + static_cast<int64_t>(rng() % (kAccounts - 1))) % kAccounts + 1;
    const int64_t amount = static_cast<int64_t>(rng() % 100) + 1;
    const int64_t pad_a = 100 + static_cast<int64_t>(rng() % 300);
    const int64_t pad_b = 100 + static_cast<int64_t>(rng() % 300);
    const int key = static_cast<int>(rng() % kKeysPerThread);
    const int64_t value = static_cast<int64_t>(rng() >> 1);
    const int64_t key_len = 50 + static_cast<int64_t>(rng() % 250);
    const int64_t seq = ledger.seq + 1;
    const int64_t hist_len =
        rng() % 10 == 0 ? 4500 + static_cast<int64_t>(rng() % 4000)   // overflow pages
                        : 200 + static_cast<int64_t>(rng() % 800);
    const bool committed = c.Transaction("BEGIN IMMEDIATE", [&]() -> int {
      int rc = SQLITE_OK;
      for (const auto& [id, delta, pad] : {std::tuple{a, -amount, pad_a}, std::tuple{b, amount, pad_b}}) {
        sqlite3_stmt* s = c.Stmt(
            "UPDATE accounts SET balance = balance + ?2, len = ?3, pad = randomblob(?3) "
            "WHERE id = ?1");
        if (s == nullptr) return SQLITE_ERROR;
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, delta);
        sqlite3_bind_int64(s, 3, pad);
        if ((rc = c.Do(s)) != SQLITE_OK) return rc;
        if (sqlite3_changes(c.db()) != 1) c.Fail("account " + std::to_string(id) + " missing");
      }
      sqlite3_stmt* s = c.Stmt(
          "UPDATE owned SET v = ?3, len = ?4, pad = randomblob(?4) WHERE thread = ?1 AND k = ?2");
      if (s == nullptr) return SQLITE_ERROR;
      sqlite3_bind_int(s, 1, me);
      sqlite3_bind_int(s, 2, key);
      sqlite3_bind_int64(s, 3, value);
      sqlite3_bind_int64(s, 4, key_len);
      if ((rc = c.Do(s)) != SQLITE_OK) return rc;
      s = c.Stmt("INSERT INTO history(thread, seq, len, pad) VALUES (?1, ?2, ?3, randomblob(?3))");
      if (s == nullptr) return SQLITE_ERROR;
      sqlite3_bind_int(s, 1, me);
      sqlite3_bind_int64(s, 2, seq);
      sqlite3_bind_int64(s, 3, hist_len);
      if ((rc = c.Do(s)) != SQLITE_OK) return rc;
      s = c.Stmt("DELETE FROM history WHERE thread = ?1 AND seq <= ?2");
      if (s == nullptr) return SQLITE_ERROR;
      sqlite3_bind_int(s, 1, me);
      sqlite3_bind_int64(s, 2, seq - kHistoryKept);
      return c.Do(s);
    });
    if (!committed) return;
    run.commits += 1;
    ledger.value[static_cast<size_t>(key)] = value;
    ledger.len[static_cast<size_t>(key)] = key_len;
    ledger.seq = seq;

    for (int k = 0; k < 3; ++k) {
      if (const int rc = c.Lookup(rng); rc != SQLITE_OK && !IsBusy(rc)) c.Fail("lookup", rc);
    }
    if (i % 4 == 3) {
      const bool ok = c.Transaction("BEGIN", [&]() -> int {
        int rc = c.CheckAccounts();
        if (rc == SQLITE_OK) rc = CheckLedger(c, me, ledger);
        return rc;
      });
      if (!ok) return;
      run.read_txns += 1;
    }
  }
}

// A reader: read transactions (the sum, then point lookups) until the writers are done,
// PRAGMA quick_check over a whole snapshot every eighth, and a scan of blaze_stats (every
// store's figures, taken under the store and shard locks) every fourth.
void Reader(Run& run, const std::string& uri, const Setting& setting, int me) {
  Conn c(run, uri, setting, "reader " + std::to_string(me));
  if (!c.ok()) return;
  std::mt19937_64 rng(0x4ead0000 + me);
  for (int i = 0; !run.writers_done.load() && c.ok(); ++i) {
    const bool ok = c.Transaction("BEGIN", [&]() -> int {
      int rc = c.CheckAccounts();
      for (int k = 0; k < 8 && rc == SQLITE_OK; ++k) rc = c.Lookup(rng);
      return rc;
    });
    if (!ok) return;
    run.read_txns += 1;
    if (i % 4 == 1) {
      int rows = 0;
      const int rc = c.Each(c.Stmt("SELECT * FROM blaze_stats"), [&](sqlite3_stmt*) { rows += 1; });
      if (rc != SQLITE_OK) c.Fail("blaze_stats", rc);
      if (rc == SQLITE_OK && rows < 2) c.Fail("blaze_stats: " + std::to_string(rows) + " rows");
      run.stats_reads += 1;
    }
    if (i % 8 == 7) {
      std::string result;
      const bool checked = c.Transaction("BEGIN", [&]() -> int {
        return c.Each(c.Stmt("PRAGMA quick_check"), [&](sqlite3_stmt* s) {
          const unsigned char* t = sqlite3_column_text(s, 0);
          result += t ? reinterpret_cast<const char*>(t) : "NULL";
        });
      });
      if (!checked) return;
      if (result != "ok") c.Fail("quick_check: " + result.substr(0, 500));
      run.quick_checks += 1;
    }
  }
}

// Maintenance, until the writers are done: blaze_checkpoint() (every fourth time
// blaze_compact()); a read of blaze_stats, whose counters must never go backwards while
// the file is open; another connection to the store that comes and goes, its open
// setting the store's cache share (kShare and kSmallShare in turn); and a second store,
// created at its first open and destroyed at its last close, so its cache client is
// erased while the others use the same shards.
void Maintenance(Run& run, const std::string& path, const std::string& other_path,
                 const Setting& setting) {
  Conn c(run, Uri(path, kShare), setting, "maintenance");
  if (!c.ok()) return;
  // A read first, so that in WAL mode this connection has the WAL index mapped and the
  // checkpoint takes SQLite's checkpoint lock.
  if (!c.Transaction("BEGIN", [&] { return c.CheckAccounts(); })) return;
  constexpr int kColumns = 5;
  const char* names[kColumns] = {"reads", "commits", "checkpoints", "cache_hits",
                                 "cache_evictions"};
  int64_t last[kColumns] = {};
  for (int i = 0; !run.writers_done.load() && c.ok(); ++i) {
    const char* sql = i % 4 == 3 ? "SELECT blaze_compact()" : "SELECT blaze_checkpoint()";
    const int rc = c.Do(c.Stmt(sql));
    if (rc == SQLITE_OK) {
      (i % 4 == 3 ? run.compacts : run.checkpoints) += 1;
    } else if (IsBusy(rc)) {
      run.checkpoints_busy += 1;
    } else {
      c.Fail(sql, rc);
      return;
    }
    sqlite3_stmt* s = c.Stmt(
        "SELECT reads, commits, checkpoints, cache_hits, cache_evictions, cache_pinned, "
        "cache_bytes FROM blaze_stats WHERE file = ?1");
    if (s == nullptr) return;
    sqlite3_bind_text(s, 1, path.c_str(), -1, SQLITE_TRANSIENT);
    int rows = 0;
    const int src = c.Each(s, [&](sqlite3_stmt* row) {
      rows += 1;
      for (int k = 0; k < kColumns; ++k) {
        const int64_t v = sqlite3_column_int64(row, k);
        if (v < last[k]) {
          c.Fail(std::string("blaze_stats ") + names[k] + " went back from " +
                 std::to_string(last[k]) + " to " + std::to_string(v));
        }
        last[k] = v;
      }
      if (sqlite3_column_int64(row, 5) < 0 ||
          sqlite3_column_int64(row, 6) > static_cast<int64_t>(kShare)) {
        c.Fail("blaze_stats: cache_pinned " + std::to_string(sqlite3_column_int64(row, 5)) +
               ", cache_bytes " + std::to_string(sqlite3_column_int64(row, 6)) + " (share " +
               std::to_string(kShare) + ")");
      }
    });
    if (src != SQLITE_OK) {
      c.Fail("blaze_stats", src);
      return;
    }
    if (rows != 1) c.Fail("blaze_stats: " + std::to_string(rows) + " rows for the file");
    run.stats_reads += 1;

    std::mt19937_64 rng(static_cast<uint64_t>(i));
    Conn extra(run, Uri(path, i % 2 == 0 ? kSmallShare : kShare), setting, "extra connection");
    if (!extra.ok()) return;
    if (const int r = extra.Lookup(rng); r != SQLITE_OK && !IsBusy(r)) extra.Fail("lookup", r);
    Conn other(run, Uri(other_path, kShare), setting, "other store");
    if (!other.ok()) return;
    int64_t count = -1;
    const int orc = other.Each(other.Stmt("SELECT count(*) FROM t WHERE length(pad) = 300"),
                               [&](sqlite3_stmt* row) { count = sqlite3_column_int64(row, 0); });
    if (orc != SQLITE_OK) {
      other.Fail("read", orc);
    } else if (count != kOtherRows) {
      other.Fail(std::to_string(count) + " whole rows, expected " + std::to_string(kOtherRows));
    }
    run.store_opens += 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

// Creates the database, runs the threads, checks the ledgers and prints the counts.
void RunSetting(const Setting& setting) {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("c.db");
  const std::string other_path = dir.Path("other.db");
  const std::string uri = Uri(path, kShare);
  if (setting.maintenance) {
    DbPtr other = Open(Uri(other_path, kShare));
    Exec(other.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, pad BLOB);"
                      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                          std::to_string(kOtherRows) +
                          ") INSERT INTO t SELECT i, randomblob(300) FROM n");
  }
  // The monitor keeps the store open from start to end, so blaze_stats covers the run.
  DbPtr monitor = Open(uri);
  Exec(monitor.get(), "PRAGMA auto_vacuum=FULL; PRAGMA journal_mode=" + setting.journal_mode);
  REQUIRE(QueryText(monitor.get(), "PRAGMA journal_mode") == setting.journal_mode);
  Exec(monitor.get(),
       "CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER, len INTEGER, pad BLOB);"
       "CREATE TABLE owned(thread INTEGER, k INTEGER, v INTEGER, len INTEGER, pad BLOB,"
       "                   PRIMARY KEY(thread, k));"
       "CREATE TABLE history(thread INTEGER, seq INTEGER, len INTEGER, pad BLOB,"
       "                     PRIMARY KEY(thread, seq));"
       "BEGIN;"
       "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
           std::to_string(kAccounts) +
           ") INSERT INTO accounts SELECT i, " + std::to_string(kOpening) +
           ", 200, randomblob(200) FROM n;"
           "WITH RECURSIVE t(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM t WHERE i < " +
           std::to_string(kWriters - 1) +
           "), k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < " +
           std::to_string(kKeysPerThread - 1) +
           ") INSERT INTO owned SELECT i, j, 0, 0, x'' FROM t, k;"
           "COMMIT;");

  const int txns = Scaled(kWriteTxns);
  Run run;
  std::vector<Ledger> ledgers(kWriters);
  const auto start = std::chrono::steady_clock::now();
  {
    std::vector<std::thread> others;
    for (int r = 0; r < kReaders; ++r) {
      others.emplace_back(Reader, std::ref(run), std::cref(uri), std::cref(setting), r);
    }
    if (setting.maintenance) {
      others.emplace_back(Maintenance, std::ref(run), std::cref(path), std::cref(other_path),
                          std::cref(setting));
    }
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back(Writer, std::ref(run), std::cref(uri), std::cref(setting), w, txns,
                           std::ref(ledgers[static_cast<size_t>(w)]));
    }
    for (std::thread& t : writers) t.join();
    run.writers_done = true;
    for (std::thread& t : others) t.join();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  auto figure = [&](const char* name) { return FileCounter(monitor.get(), path, name); };
  auto n = [](const std::atomic<uint64_t>& a) { return static_cast<unsigned long long>(a.load()); };
  std::printf(
      "[concurrency] %s%s: %d writers x %d txns, %d readers in %.2f s: %llu commits, "
      "%llu busy retries, %llu read txns, %llu lookups, %llu quick_checks, %llu blaze_stats "
      "scans",
      Describe(setting).c_str(), setting.maintenance ? " +maintenance" : "", kWriters, txns,
      kReaders, seconds, n(run.commits), n(run.busy), n(run.read_txns), n(run.lookups),
      n(run.quick_checks), n(run.stats_reads));
  if (setting.maintenance) {
    std::printf(
        "; blaze_checkpoint %llu (%llu busy), blaze_compact %llu, second store opened and "
        "closed %llu times",
        n(run.checkpoints), n(run.checkpoints_busy), n(run.compacts), n(run.store_opens));
  }
  std::printf(
      "\n[concurrency]   blaze_stats: xRead %lld, xFetch %lld, cache hits %lld, misses %lld, "
      "evictions %lld, decompressions %lld, store commits %lld, store checkpoints %lld; "
      "%lld pages\n",
      static_cast<long long>(figure("reads")), static_cast<long long>(figure("fetches")),
      static_cast<long long>(figure("cache_hits")), static_cast<long long>(figure("cache_misses")),
      static_cast<long long>(figure("cache_evictions")),
      static_cast<long long>(figure("decompressions")), static_cast<long long>(figure("commits")),
      static_cast<long long>(figure("checkpoints")),
      static_cast<long long>(QueryInt(monitor.get(), "PRAGMA page_count")));
  std::fflush(stdout);

  for (const std::string& e : run.errors()) FAIL_CHECK(e);
  REQUIRE(run.failures() == 0);
  CHECK(run.commits.load() == static_cast<uint64_t>(kWriters * txns));
  CHECK(figure("cache_evictions") > 0);  // the share was too small for the database
  CHECK(figure("cache_pinned") == 0);    // every xFetch released
  if (setting.mmap) CHECK(figure("fetches") > 0);
  if (setting.maintenance) CHECK(run.checkpoints.load() + run.compacts.load() > 0);

  // The ledgers against the final database, read by a connection that did no work.
  Run verify;
  {
    Conn c(verify, uri, setting, "verify");
    REQUIRE(c.ok());
    for (int w = 0; w < kWriters; ++w) {
      (void)c.Transaction("BEGIN", [&]() -> int {
        int rc = c.CheckAccounts();
        if (rc == SQLITE_OK) rc = CheckLedger(c, w, ledgers[static_cast<size_t>(w)]);
        return rc;
      });
    }
  }
  for (const std::string& e : verify.errors()) FAIL_CHECK(e);
  CHECK(verify.failures() == 0);
  CHECK(QueryText(monitor.get(), "PRAGMA integrity_check") == "ok");
}

}  // namespace

TEST_CASE("threads read and write one store while its cached pages are evicted",
          "[concurrency][cache]") {
  for (const char* mode : {"wal", "delete"}) {
    for (const bool mmap : {false, true}) {
      const Setting setting{mode, mmap, false};
      DYNAMIC_SECTION(Describe(setting)) { RunSetting(setting); }
    }
  }
}

TEST_CASE("blaze_checkpoint() and blaze_stats run on another thread while threads work",
          "[concurrency][checkpoint]") {
  for (const char* mode : {"wal", "delete"}) {
    const Setting setting{mode, true, true};
    DYNAMIC_SECTION(Describe(setting)) { RunSetting(setting); }
  }
}
