// tests/sql/coherence_test.cc: the process's page cache never serves a page another
// process has changed, and forgets no more than what changed.
//
// Process A (this one) reads a table until every page is in the page cache; process B
// (a forked tests/support/peer.h child) changes the database and commits; A's next read
// must be exactly B's state. The store in A notices B's commit when A takes its next lock
// (Store::Refresh), reloads its view and erases the cached pages whose source changed
// (Store::InvalidateChanged). Variants:
//  - rollback (DELETE) and WAL mode (in WAL mode B checkpoints the WAL, since only that
//    writes the store);
//  - B's change left in the store log (blaze_checkpoint=0), or moved into the page file
//    by B (SELECT blaze_checkpoint());
//  - A reading with xRead, or with xFetch (mmap);
//  - B changing many rows, one row (A's re-read must miss only a few pages, not the
//    table), and shrinking the database with VACUUM then growing it again.
// Then B maintains the store under A: compaction while A scans; A's two reader threads
// (one holding snapshots, one starting a transaction per read) follow B's rounds while
// B checkpoints the WAL and the store. Two tests pause the processes in a chosen order
// with shim VFSes (tests/support/shim_vfs.h) to hit a window deterministically: a WAL
// reader taking its read mark while B checkpoints, and A reloading its view while B
// resets the store log.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>

#include "include/blaze.h"
#include "tests/support/db.h"
#include "tests/support/peer.h"
#include "tests/support/shim_vfs.h"

using namespace blaze::test;

namespace {

constexpr int kRows = 3000;  // about 170 pages of 4 KiB
constexpr const char* kTable = "SELECT * FROM t ORDER BY id";

struct Figures {
  int64_t hits = 0, misses = 0, pages = 0, reloads = 0;
};

Figures Take(sqlite3* db, const std::string& path) {
  return {FileCounter(db, path, "cache_hits"), FileCounter(db, path, "cache_misses"),
          FileCounter(db, path, "cache_pages"), FileCounter(db, path, "reloads")};
}

// B's figure for the store file, from B's own blaze_stats.
int64_t PeerFigure(Peer& b, const std::string& path, const std::string& column) {
  return b.QueryInt("SELECT total(" + column + ") FROM blaze_stats WHERE file = '" + path + "'");
}

// Creates t in a fresh store. `in_page_file`: the rows end up in the page file (store log
// empty), as a long-lived database's would; otherwise they stay in the store log.
void CreateTable(const std::string& uri, const std::string& mode, bool in_page_file) {
  DbPtr db = Open(uri);
  REQUIRE(QueryText(db.get(), "PRAGMA journal_mode=" + mode) == mode);
  Exec(db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, v TEXT);"
                 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < " +
                     std::to_string(kRows) + ") INSERT INTO t SELECT x, x % 10, "
                     "printf('%d:%.200c', x, char(65 + x % 26)) FROM c;");
  if (mode == "wal") Exec(db.get(), "PRAGMA wal_checkpoint(TRUNCATE)");
  if (in_page_file) Exec(db.get(), "SELECT blaze_checkpoint()");
}  // closed: nothing of the file is open here when the peer forks

// What B does after each change so that it reaches the store, and the store's page file
// when `checkpoint` is set.
void Publish(Peer& b, bool wal, bool checkpoint) {
  if (wal) b.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  if (checkpoint) b.Exec("SELECT blaze_checkpoint()");
}

}  // namespace

TEST_CASE("a process re-reading a cached table sees what another process committed",
          "[sql][coherence][process]") {
  InitBlaze();
  for (const std::string mode : {"delete", "wal"}) {
    for (const bool checkpoint : {false, true}) {
      for (const bool fetch : {false, true}) {
        DYNAMIC_SECTION("journal_mode=" << mode << (checkpoint ? " B checkpoints the store"
                                                               : " B's change in the store log")
                                        << (fetch ? " A reads with mmap" : " A reads with xRead")) {
          TempDir dir;
          const std::string path = dir.Path("c.db");
          const std::string uri = "file:" + path + "?vfs=blaze&blaze_checkpoint=0";
          const bool wal = mode == "wal";
          CreateTable(uri, mode, true);
          Peer b;
          b.Open(uri);
          DbPtr a = Open(uri);
          // A small page cache: A's re-reads reach the store, and its page cache.
          Exec(a.get(), "PRAGMA cache_size=5");
          if (fetch) Exec(a.get(), "PRAGMA mmap_size=268435456");

          // Read twice: the second read is served by the page cache.
          const std::string original = RowsDigest(a.get(), kTable);
          const Figures first = Take(a.get(), path);
          CHECK(first.pages > 0);
          CHECK(RowsDigest(a.get(), kTable) == original);
          const Figures second = Take(a.get(), path);
          CHECK(second.hits > first.hits);
          CHECK(second.misses == first.misses);
          CHECK(b.Digest(kTable) == original);

          // B changes a tenth of the rows.
          b.Exec("UPDATE t SET v = 'B1:' || id || substr(v, 1, 100) WHERE id % 10 = 0");
          Publish(b, wal, checkpoint);
          if (checkpoint) {
            CHECK(PeerFigure(b, path, "checkpoints") > 0);
          } else {
            CHECK(PeerFigure(b, path, "checkpoints") == 0);
            CHECK(PeerFigure(b, path, "frames") > 0);  // in the store log
          }
          const std::string changed = b.Digest(kTable);
          CHECK(changed != original);
          CHECK(RowsDigest(a.get(), kTable) == changed);
          CHECK(QueryInt(a.get(), "SELECT count(*) FROM t WHERE v LIKE 'B1:%'") == kRows / 10);
          const Figures third = Take(a.get(), path);
          CHECK(third.reloads > second.reloads);

          // B changes one row: A's re-read misses the pages that changed, not the table.
          CHECK(RowsDigest(a.get(), kTable) == changed);
          const Figures warm = Take(a.get(), path);
          b.Exec("UPDATE t SET v = 'B2' WHERE id = 1500");
          Publish(b, wal, checkpoint);
          CHECK(RowsDigest(a.get(), kTable) == b.Digest(kTable));
          CHECK(QueryText(a.get(), "SELECT v FROM t WHERE id = 1500") == "B2");
          const Figures after = Take(a.get(), path);
          const int64_t pages = QueryInt(a.get(), "PRAGMA page_count");
          const int64_t missed = after.misses - warm.misses;
          std::cout << "coherence journal_mode=" << mode
                    << (checkpoint ? ", store checkpointed" : ", store log")
                    << (fetch ? ", mmap" : ", xRead") << ": one row changed, A's re-read of "
                    << pages << " pages missed " << missed << " (many rows changed: "
                    << (third.misses - second.misses) << " missed), reloads "
                    << (after.reloads - warm.reloads) << "\n";
          CHECK(missed > 0);          // the changed page was erased and read again
          CHECK(missed < pages / 2);  // and not everything else
          CHECK(QueryText(a.get(), "PRAGMA integrity_check") == "ok");
          CHECK(FileCounter(a.get(), path, "cache_pinned") == 0);
          b.Finish();
        }
      }
    }
  }
}

// When the rows are still in the store log and B checkpoints the store, every page's
// source moves (frame to slot) and the log starts a new generation: A cannot tell which
// bytes stayed the same, so it drops every page that was in the old log. Correct, and
// expected to cost a full re-read: printed, not asserted.
TEST_CASE("a store checkpoint by another process moves every logged page's source",
          "[sql][coherence][process]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("g.db");
  const std::string uri = "file:" + path + "?vfs=blaze&blaze_checkpoint=0";
  CreateTable(uri, "delete", false);
  Peer b;
  b.Open(uri);
  DbPtr a = Open(uri);
  Exec(a.get(), "PRAGMA cache_size=5");
  RowsDigest(a.get(), kTable);
  const Figures warm = Take(a.get(), path);
  b.Exec("UPDATE t SET v = 'B' WHERE id = 1500; SELECT blaze_checkpoint();");
  CHECK(RowsDigest(a.get(), kTable) == b.Digest(kTable));
  const Figures after = Take(a.get(), path);
  std::cout << "coherence: one row changed and the store log checkpointed by B: A's re-read of "
            << QueryInt(a.get(), "PRAGMA page_count") << " pages missed "
            << (after.misses - warm.misses) << "\n";
  CHECK(QueryText(a.get(), "PRAGMA integrity_check") == "ok");
  b.Finish();
}

TEST_CASE("a process reading a cached table sees another process shrink and regrow it",
          "[sql][coherence][process]") {
  InitBlaze();
  for (const std::string mode : {"delete", "wal"}) {
    for (const bool checkpoint : {false, true}) {
      DYNAMIC_SECTION("journal_mode=" << mode << (checkpoint ? " B checkpoints the store"
                                                             : " B's change in the store log")) {
        TempDir dir;
        const std::string path = dir.Path("s.db");
        const std::string uri = "file:" + path + "?vfs=blaze&blaze_checkpoint=0";
        const bool wal = mode == "wal";
        CreateTable(uri, mode, true);
        Peer b;
        b.Open(uri);
        DbPtr a = Open(uri);
        Exec(a.get(), "PRAGMA cache_size=5; PRAGMA mmap_size=268435456");
        RowsDigest(a.get(), kTable);
        const int64_t pages_before = QueryInt(a.get(), "PRAGMA page_count");
        const int64_t cached_before = FileCounter(a.get(), path, "cache_pages");
        CHECK(cached_before >= pages_before / 2);

        // Shrink: most rows gone, the file cut by VACUUM.
        b.Exec("DELETE FROM t WHERE id > 300; VACUUM;");
        Publish(b, wal, checkpoint);
        CHECK(RowsDigest(a.get(), kTable) == b.Digest(kTable));
        CHECK(QueryInt(a.get(), "SELECT count(*) FROM t") == 300);
        const int64_t pages_small = QueryInt(a.get(), "PRAGMA page_count");
        CHECK(pages_small == b.QueryInt("PRAGMA page_count"));
        CHECK(pages_small < pages_before / 4);
        CHECK(QueryText(a.get(), "PRAGMA integrity_check") == "ok");
        // No page past the new end is left in the cache.
        CHECK(FileCounter(a.get(), path, "cache_pages") <= pages_small);

        // Grow again over the pages A once cached, with other bytes.
        b.Exec("WITH RECURSIVE c(x) AS (SELECT 301 UNION ALL SELECT x + 1 FROM c WHERE x < " +
               std::to_string(kRows) + ") INSERT INTO t SELECT x, x % 10, printf('R%d:%.180c', "
               "x, char(97 + x % 26)) FROM c;");
        Publish(b, wal, checkpoint);
        CHECK(RowsDigest(a.get(), kTable) == b.Digest(kTable));
        CHECK(QueryInt(a.get(), "SELECT count(*) FROM t WHERE v LIKE 'R%'") == kRows - 300);

        // Shrink and regrow between two of A's reads.
        b.Exec("DELETE FROM t WHERE id > 200; VACUUM;");
        Publish(b, wal, checkpoint);
        b.Exec("WITH RECURSIVE c(x) AS (SELECT 201 UNION ALL SELECT x + 1 FROM c WHERE x < " +
               std::to_string(kRows) + ") INSERT INTO t SELECT x, x % 10, printf('S%d:%.190c', "
               "x, char(97 + x % 26)) FROM c;");
        Publish(b, wal, checkpoint);
        CHECK(RowsDigest(a.get(), kTable) == b.Digest(kTable));
        CHECK(QueryInt(a.get(), "SELECT count(*) FROM t WHERE v LIKE 'S%'") == kRows - 200);
        CHECK(QueryText(a.get(), "PRAGMA integrity_check") == "ok");
        CHECK(FileCounter(a.get(), path, "cache_pinned") == 0);
        std::cout << "coherence shrink journal_mode=" << mode
                  << (checkpoint ? ", store checkpointed" : ", store log") << ": "
                  << pages_before << " pages -> " << pages_small << " -> "
                  << QueryInt(a.get(), "PRAGMA page_count") << ", reloads "
                  << FileCounter(a.get(), path, "reloads") << ", fetches "
                  << FileCounter(a.get(), path, "fetches") << "\n";
        b.Finish();
      }
    }
  }
}

namespace {

// FNV-1a of every row of t, scanned with one statement; `midway` runs after `at` rows,
// while the statement holds its place (and, with mmap, its fetched pages).
template <class Fn>
uint64_t ScanHash(sqlite3* db, int at, Fn&& midway) {
  sqlite3_stmt* raw = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT id, grp, v FROM t ORDER BY id", -1, &raw, nullptr) ==
          SQLITE_OK);
  StmtPtr scan(raw);
  uint64_t h = 1469598103934665603ull;
  int rows = 0, rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    if (++rows == at) midway();
    for (int i = 0; i < 3; ++i) {
      const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(raw, i));
      const int n = sqlite3_column_bytes(raw, i);
      for (int j = 0; j < n; ++j) h = (h ^ p[j]) * 1099511628211ull;
      h = (h ^ 0xff) * 1099511628211ull;
    }
  }
  INFO(sqlite3_errmsg(db));
  REQUIRE(rc == SQLITE_DONE);
  return h;
}

}  // namespace

// A store checkpoint or compaction needs only SQLite's RESERVED lock (WAL mode: the
// checkpoint lock), so another process runs it while this one reads: slots move, the
// log starts a new generation, the page file is cut, under a reader whose view still
// names the old places. The reader's pages come from a small cache share, so most of its
// reads go to the store and meet the moved slots.
TEST_CASE("a reader keeps reading right while another process compacts the store under it",
          "[sql][coherence][process]") {
  InitBlaze();
  for (const std::string mode : {"delete", "wal"}) {
    DYNAMIC_SECTION("journal_mode=" << mode) {
      TempDir dir;
      const std::string path = dir.Path("k.db");
      const std::string uri = "file:" + path + "?vfs=blaze&blaze_checkpoint=0";
      const bool wal = mode == "wal";
      CreateTable(uri, mode, true);
      Peer b;
      b.Open(uri);
      DbPtr a = Open(uri + "&blaze_cache=262144");
      Exec(a.get(), "PRAGMA cache_size=5; PRAGMA mmap_size=268435456");
      int moved = 0;
      for (int round = 1; round <= 4; ++round) {
        // Free space for the compaction to fill: rows deleted, others rewritten longer.
        const std::string rs = std::to_string(round);
        b.Exec("DELETE FROM t WHERE id % 5 = " + std::to_string(round % 5) + ";"
               "UPDATE t SET v = v || printf('%.*c', 40 * " + rs + ", '+') WHERE id % 3 = " +
               std::to_string(round % 3) + ";"
               "INSERT INTO t(grp, v) SELECT grp, v FROM t WHERE id % 11 = " + rs + ";");
        Publish(b, wal, true);
        const std::string expect = b.Digest(kTable);
        const uint64_t straight = ScanHash(a.get(), 0, [] {});
        const int64_t stored_before = PeerFigure(b, path, "stored_bytes");
        Exec(a.get(), "BEGIN");
        CHECK(RowsDigest(a.get(), kTable) == expect);
        const uint64_t across = ScanHash(a.get(), 1000, [&] { b.Exec("SELECT blaze_compact()"); });
        CHECK(across == straight);
        b.Exec("SELECT blaze_checkpoint()");
        CHECK(RowsDigest(a.get(), kTable) == expect);
        Exec(a.get(), "COMMIT");
        CHECK(RowsDigest(a.get(), kTable) == expect);
        if (PeerFigure(b, path, "stored_bytes") < stored_before) ++moved;
      }
      CHECK(QueryText(a.get(), "PRAGMA integrity_check") == "ok");
      CHECK(FileCounter(a.get(), path, "cache_pinned") == 0);
      const int64_t aheads = FileCounter(a.get(), path, "read_aheads");
      std::cout << "coherence compaction under a reader, journal_mode=" << mode << ": " << moved
                << " of 4 compactions shrank the store, A reloaded "
                << FileCounter(a.get(), path, "reloads") << " times, "
                << FileCounter(a.get(), path, "fetches") << " fetches, "
                << FileCounter(a.get(), path, "decompressions") << " decompressions, "
                << aheads << " read-ahead windows\n";
      CHECK(moved > 0);
      CHECK(aheads > 0);  // A's scans read windows that the compactions then made stale
      b.Finish();
    }
  }
}

// One store per file per process, shared by every connection that opens the file. When
// the first connection is read-only, the store is made without a writable log; a
// read-write connection opened next makes it writable (Store::AllowWrites).
TEST_CASE("a read-write connection can write while a read-only one has the file open",
          "[sql][coherence]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("ro.db");
  {
    DbPtr db = Open("file:" + path + "?vfs=blaze");
    Exec(db.get(), "CREATE TABLE t(x); INSERT INTO t VALUES (1)");
  }
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(("file:" + path + "?vfs=blaze").c_str(), &raw,
                          SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) == SQLITE_OK);
  DbPtr ro(raw);
  CHECK(QueryInt(ro.get(), "SELECT count(*) FROM t") == 1);
  DbPtr rw = Open("file:" + path + "?vfs=blaze");
  const int rc = TryExec(rw.get(), "INSERT INTO t VALUES (2)");
  INFO(sqlite3_errmsg(rw.get()) << " / " << QueryText(rw.get(), "SELECT blaze_last_error()"));
  CHECK(rc == SQLITE_OK);
  CHECK(QueryInt(ro.get(), "SELECT count(*) FROM t") == 2);
}

// A store copied without its log (or whose log was removed after a checkpoint) opened
// read-only has no log to watch; another process that opens it read-write creates one.
// The reader looks for the log at each refresh and then follows it.
TEST_CASE("a read-only store without a log sees the log another process creates",
          "[sql][coherence][process]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("nolog.db");
  const std::string uri = "file:" + path + "?vfs=blaze";
  {
    DbPtr db = Open(uri);
    Exec(db.get(), "CREATE TABLE t(x); INSERT INTO t VALUES (1); SELECT blaze_checkpoint()");
  }
  REQUIRE(::unlink((path + "-blazelog").c_str()) == 0);
  Peer b;
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) ==
          SQLITE_OK);
  DbPtr ro(raw);
  CHECK(QueryInt(ro.get(), "SELECT count(*) FROM t") == 1);
  b.Open(uri + "&blaze_checkpoint=0");
  b.Exec("INSERT INTO t VALUES (2)");
  CHECK(QueryInt(ro.get(), "SELECT count(*) FROM t") == 2);
  b.Exec("INSERT INTO t VALUES (3); SELECT blaze_checkpoint()");
  CHECK(QueryInt(ro.get(), "SELECT count(*) FROM t") == 3);
  b.Finish();
}

namespace {

// Round r of the writer process sets v = r and a pad of 50 + r % 100 letters on the keys
// k with k % 8 == r % 8, and meta.round = r. So every consistent state is known from its
// round alone, and this query counts the rows that do not fit the round read with them
// (0 in any state a reader can see).
constexpr const char* kMisfits =
    "SELECT count(*) FROM kv, meta WHERE "
    "v != max(0, round - (((round - k % 8) % 8 + 8) % 8)) OR length(pad) != CASE WHEN "
    "round - (((round - k % 8) % 8 + 8) % 8) <= 0 THEN 100 ELSE "
    "50 + (round - (((round - k % 8) % 8 + 8) % 8)) % 100 END";

std::string RoundSql(int r) {
  const std::string rs = std::to_string(r);
  return "BEGIN IMMEDIATE;"
         "UPDATE kv SET v = " + rs + ", pad = printf('%.*c', " + std::to_string(50 + r % 100) +
         ", char(" + std::to_string(65 + r % 26) + ")) WHERE k % 8 = " + std::to_string(r % 8) +
         ";"
         "UPDATE meta SET round = " + rs + ";"
         "COMMIT;";
}

// The rows that misfit their round, as "round r: k=v/len ..." (diagnostics).
std::string Misfits(sqlite3* db) {
  const std::string sql = std::string("SELECT round, k, v, length(pad) FROM kv, meta WHERE ") +
                          (std::strstr(kMisfits, "WHERE ") + 6) + " LIMIT 8";
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) return sqlite3_errmsg(db);
  std::string out;
  int n = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    if (n++ == 0) out += "round " + std::to_string(sqlite3_column_int64(s, 0)) + ":";
    out += " k" + std::to_string(sqlite3_column_int64(s, 1)) + "=" +
           std::to_string(sqlite3_column_int64(s, 2)) + "/" +
           std::to_string(sqlite3_column_int64(s, 3));
  }
  sqlite3_finalize(s);
  return n == 0 ? "no misfit" : out;
}

struct ReaderResult {
  int reads = 0;
  int misfits = 0;        // reads of a state no round left
  int snapshot_moves = 0; // a read transaction that saw two rounds
  int went_back = 0;      // a newer read saw an older round
  std::string error;
  std::string first_misfit;  // what the first misfit read saw, and a second look at once
};

// Reads until `stop`: `hold` statements per read transaction (a held snapshot), each the
// misfit count and the round; `pause` between transactions. C API only (runs on its own
// thread).
ReaderResult ReadRounds(const std::string& uri, int hold, std::chrono::microseconds pause,
                        const std::atomic<bool>& stop) {
  ReaderResult out;
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, nullptr) !=
      SQLITE_OK) {
    out.error = "open failed";
    return out;
  }
  DbPtr db(raw);
  sqlite3_busy_timeout(raw, 10000);
  sqlite3_exec(raw, "PRAGMA cache_size=5; PRAGMA mmap_size=268435456", nullptr, nullptr, nullptr);
  const std::string sql = std::string("SELECT (") + kMisfits + "), (SELECT round FROM meta)";
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(raw, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    out.error = sqlite3_errmsg(raw);
    return out;
  }
  StmtPtr s(stmt);
  int64_t last_round = 0;
  while (!stop.load() && out.error.empty()) {
    if (hold > 1 && sqlite3_exec(raw, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
      out.error = std::string("BEGIN: ") + sqlite3_errmsg(raw);
      break;
    }
    int64_t txn_round = -1;
    for (int i = 0; i < hold; ++i) {
      const int rc = sqlite3_step(stmt);
      if (rc != SQLITE_ROW) {
        out.error = std::string("read: ") + sqlite3_errmsg(raw);
        break;
      }
      ++out.reads;
      const int64_t round = sqlite3_column_int64(stmt, 1);
      if (sqlite3_column_int64(stmt, 0) != 0 && ++out.misfits == 1) {
        out.first_misfit = "round " + std::to_string(round) + ": " +
                           std::to_string(sqlite3_column_int64(stmt, 0)) + " rows misfit";
        sqlite3_reset(stmt);
        out.first_misfit += "; read again in the same transaction: " + Misfits(raw);
      }
      if (txn_round >= 0 && round != txn_round) ++out.snapshot_moves;
      if (round < last_round) ++out.went_back;
      txn_round = round;
      last_round = round;
      sqlite3_reset(stmt);
    }
    if (hold > 1) sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr);
    std::this_thread::sleep_for(pause);
  }
  return out;
}

}  // namespace

// The cache's lock-free reads race with reloads: in process A one thread holds read
// transactions (a snapshot it re-reads) while another starts a new one for every read
// (each takes a lock, so refreshes the store: reloads, invalidation), both with mmap;
// process B commits rounds and checkpoints the WAL, the store, and compacts it.
// In WAL mode this found the two windows the last two tests below pin down (a read now
// and then saw a state no round left, about one run in five).
TEST_CASE("two reader threads of one process follow another process's rounds",
          "[sql][coherence][process][threads]") {
  InitBlaze();
  for (const std::string mode : {"wal", "delete"}) {
    for (const char* share : {"", "&blaze_cache=262144"}) {
      DYNAMIC_SECTION("journal_mode=" << mode << share) {
        TempDir dir;
        const std::string path = dir.Path("r.db");
        const std::string uri = "file:" + path + "?vfs=blaze&blaze_checkpoint=0";
        const bool wal = mode == "wal";
        const int rounds = wal ? 150 : 30;
        // Rollback mode: while one thread of A holds SHARED, the other gets it without
        // asking the OS (the unix VFS counts it per inode), so two busy readers could keep
        // B from ever committing. They pause between transactions to let it in.
        const auto pause = std::chrono::microseconds(wal ? 0 : 3000);
        {
          DbPtr db = Open(uri);
          REQUIRE(QueryText(db.get(), "PRAGMA journal_mode=" + mode) == mode);
          Exec(db.get(), "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER, pad TEXT);"
                         "CREATE TABLE meta(round INTEGER);"
                         "INSERT INTO meta VALUES (0);"
                         "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c "
                         "WHERE x < 1999) INSERT INTO kv SELECT x, 0, printf('%.100c', '-') "
                         "FROM c;");
          CHECK(QueryInt(db.get(), kMisfits) == 0);
        }
        Peer b;  // forked before the readers' threads exist
        b.Open(uri);
        b.Exec("PRAGMA wal_autocheckpoint=0");
        DbPtr a = Open(uri + share);  // keeps the store (and its figures) open throughout
        Exec(a.get(), "PRAGMA mmap_size=268435456");
        std::atomic<bool> stop{false};
        ReaderResult held, fresh;
        std::thread t1([&] { held = ReadRounds(uri + share, 4, pause, stop); });
        std::thread t2([&] { fresh = ReadRounds(uri + share, 1, pause, stop); });
        int busy = 0;
        for (int r = 1; r <= rounds; ++r) {
          b.Exec(RoundSql(r));
          if (wal && r % 2 == 0) {
            // PASSIVE: never waits for A's readers, copies what their snapshots allow.
            const int rc = b.TryExec("PRAGMA wal_checkpoint(PASSIVE)");
            CHECK((rc == SQLITE_OK || rc == SQLITE_BUSY));
          }
          if (r % 5 == 0) busy += b.TryExec("SELECT blaze_checkpoint()") != SQLITE_OK;
          if (r % 13 == 0) busy += b.TryExec("SELECT blaze_compact()") != SQLITE_OK;
        }
        stop = true;
        t1.join();
        t2.join();
        CHECK(held.error == "");
        CHECK(fresh.error == "");
        INFO("held: " << held.first_misfit);
        INFO("fresh: " << fresh.first_misfit);
        CHECK(held.misfits == 0);
        CHECK(fresh.misfits == 0);
        CHECK(held.snapshot_moves == 0);
        CHECK(held.went_back == 0);
        CHECK(fresh.went_back == 0);
        CHECK(held.reads > 0);
        CHECK(fresh.reads > 0);
        CHECK(QueryInt(a.get(), "SELECT round FROM meta") == rounds);
        CHECK(QueryInt(a.get(), kMisfits) == 0);
        CHECK(QueryText(a.get(), "PRAGMA integrity_check") == "ok");
        CHECK(FileCounter(a.get(), path, "cache_pinned") == 0);
        std::cout << "coherence threads journal_mode=" << mode << share << ": " << rounds
                  << " rounds by B, A read " << held.reads << " times holding snapshots and "
                  << fresh.reads << " times fresh; " << FileCounter(a.get(), path, "reloads")
                  << " reloads, " << FileCounter(a.get(), path, "fetches") << " fetches, "
                  << busy << " store checkpoints busy\n";
        b.Finish();
      }
    }
  }
}

namespace {

// "blaze-readmark-hook": a shim over "blaze" that runs a hook once, right after a WAL
// read mark above 0 is taken (a shared lock on WAL_READ_LOCK(1..)), so the hook runs
// after blaze's ShmLock (which refreshes the store on a read mark) and before SQLite,
// back in walTryBeginRead, loads nBackfill into the reader's minFrame.
struct HookFile {
  sqlite3_file base;
};
std::function<void()> after_read_mark;  // test thread only

constexpr int kFirstReadMarkLock = 4;  // WAL_READ_LOCK(1): offset 3 + 1

int HookShmLock(sqlite3_file* pFile, int offset, int n, int flags) noexcept {
  const int rc = blaze::shim::IoForward<HookFile>::ShmLock(pFile, offset, n, flags);
  if (rc == SQLITE_OK && offset >= kFirstReadMarkLock &&
      flags == (SQLITE_SHM_LOCK | SQLITE_SHM_SHARED) && after_read_mark) {
    std::function<void()> hook = std::move(after_read_mark);
    after_read_mark = nullptr;
    try {
      hook();
    } catch (...) {  // a failed assertion in the hook: recorded, not thrown through C
    }
  }
  return rc;
}

constexpr sqlite3_io_methods HookMethods() {
  sqlite3_io_methods m = blaze::shim::ForwardingIoMethods<HookFile>();
  m.xShmLock = HookShmLock;  // xShmLock: the hooked slot
  return m;
}
constexpr auto kHookMethods = blaze::shim::ByVersion(HookMethods());

int HookOpen(sqlite3_vfs* pVfs, sqlite3_filename zName, sqlite3_file* pFile, int flags,
             int* pOutFlags) noexcept {
  pFile->pMethods = nullptr;
  if (int rc = blaze::shim::OpenReal<HookFile>(pVfs, zName, pFile, flags, pOutFlags)) return rc;
  pFile->pMethods =
      blaze::shim::MethodsFor(kHookMethods, blaze::shim::RealFile<HookFile>(pFile));
  return SQLITE_OK;
}

void RegisterHookVfs() {
  if (sqlite3_vfs_find("blaze-readmark-hook") != nullptr) return;
  // Lives as long as the process, like any registered VFS.
  auto* vfs = new sqlite3_vfs{
      blaze::shim::ForwardingVfs<HookFile>(sqlite3_vfs_find("blaze"), "blaze-readmark-hook", 3)};
  vfs->xOpen = HookOpen;  // xOpen
  REQUIRE(sqlite3_vfs_register(vfs, 0) == SQLITE_OK);
}

}  // namespace

// SQLite's WAL reader takes its read mark, and only then reads nBackfill: frames up to
// nBackfill it reads from the database file, as the checkpointer left it. Blaze refreshes
// the store inside xShmLock, i.e. before that load (and, since this test, again before a
// read when the wal-index moved): a checkpoint by another process that
// completes between the two (it may: the reader's mark does not hold it back) leaves the
// reader with minFrame past frames whose pages its store view does not have yet. It then
// reads those pages from its old view (and page cache): the state before the checkpointed
// transactions, not its snapshot. The hook runs B's checkpoint in exactly that window.
TEST_CASE("a WAL reader starting while another process checkpoints reads its snapshot",
          "[sql][coherence][process]") {
  InitBlaze();
  RegisterHookVfs();
  for (const bool fetch : {false, true}) {
    DYNAMIC_SECTION((fetch ? "mmap" : "xRead")) {
      TempDir dir;
      const std::string path = dir.Path("h.db");
      CreateTable("file:" + path + "?vfs=blaze&blaze_checkpoint=0", "wal", true);
      Peer b;
      b.Open("file:" + path + "?vfs=blaze&blaze_checkpoint=0");
      b.Exec("PRAGMA wal_autocheckpoint=0");
      DbPtr a = Open("file:" + path + "?vfs=blaze-readmark-hook&blaze_checkpoint=0");
      Exec(a.get(), "PRAGMA cache_size=5");
      if (fetch) Exec(a.get(), "PRAGMA mmap_size=268435456");
      const std::string original = RowsDigest(a.get(), kTable);  // the store view, cached

      b.Exec("UPDATE t SET v = 'B:' || id WHERE id % 2 = 0");  // into the WAL only
      const std::string expect = b.Digest(kTable);
      REQUIRE(expect != original);
      int hook_rc = -1;
      after_read_mark = [&] { hook_rc = b.TryExec("PRAGMA wal_checkpoint(PASSIVE)"); };
      const std::string got = RowsDigest(a.get(), kTable);  // a new read: takes a mark
      CHECK(hook_rc == SQLITE_OK);  // the hook ran, and B's checkpoint copied everything
      CHECK(got == expect);
      CHECK(got != original);
      const std::string next = RowsDigest(a.get(), kTable);  // the next read refreshes
      CHECK(next == expect);
      std::cout << "coherence read-mark window (" << (fetch ? "mmap" : "xRead")
                << "): the read that started during B's checkpoint saw "
                << (got == expect ? "its snapshot" : got == original ? "the state before it"
                                                                      : "something else")
                << "; the next read saw " << (next == expect ? "it" : "something else") << "\n";
      b.Finish();
    }
  }
  SECTION("and a write in that transaction loses the other process's commit") {
    TempDir dir;
    const std::string path = dir.Path("h.db");
    CreateTable("file:" + path + "?vfs=blaze&blaze_checkpoint=0", "wal", true);
    Peer b;
    b.Open("file:" + path + "?vfs=blaze&blaze_checkpoint=0");
    b.Exec("PRAGMA wal_autocheckpoint=0");
    DbPtr a = Open("file:" + path + "?vfs=blaze-readmark-hook&blaze_checkpoint=0");
    Exec(a.get(), "PRAGMA cache_size=5");
    RowsDigest(a.get(), kTable);
    b.Exec("UPDATE t SET v = 'B:' || id WHERE id % 2 = 0");
    int hook_rc = -1;
    after_read_mark = [&] { hook_rc = b.TryExec("PRAGMA wal_checkpoint(PASSIVE)"); };
    // One transaction: a read (it takes the mark), then a write of one row. SQLite lets
    // it write: its snapshot is the newest. The page it changes is read from the store.
    Exec(a.get(), "BEGIN");
    const int64_t seen = QueryInt(a.get(), "SELECT count(*) FROM t WHERE v LIKE 'B:%'");
    Exec(a.get(), "UPDATE t SET grp = -1 WHERE id = 1500; COMMIT;");
    CHECK(hook_rc == SQLITE_OK);
    CHECK(seen == kRows / 2);
    // B's commit must survive A's: every even row still says so, in both processes.
    CHECK(QueryInt(a.get(), "SELECT count(*) FROM t WHERE v LIKE 'B:%'") == kRows / 2);
    CHECK(b.QueryInt("SELECT count(*) FROM t WHERE v LIKE 'B:%'") == kRows / 2);
    CHECK(QueryText(a.get(), "PRAGMA integrity_check") == "ok");
    std::cout << "coherence read-mark window, then a write: A saw " << seen << " of "
              << kRows / 2 << " rows B changed; after A's commit "
              << b.QueryInt("SELECT count(*) FROM t WHERE v LIKE 'B:%'") << " remain\n";
    b.Finish();
  }
}

namespace {

// "logpause": a shim over "unix" under a Blaze VFS ("blaze-logpause"), so it sees the
// store's own files. Two hooks, each run once and then disarmed:
//  - on_log_read: at the first read of a store log (-blazelog) that follows a read of a
//    main database file, before the read: in a store's reload, the moment between
//    reading the page-file header and reading the log;
//  - on_log_truncated: after a store log is truncated to 0 bytes: the moment inside a
//    log reset (wal/log_writer.cc LogWriter::Reset) between the truncation and the new
//    header.
struct PauseFile {
  sqlite3_file base;
  bool main_db;
  bool store_log;
};
std::function<void()> on_log_read;
std::function<void()> on_log_truncated;
bool main_db_read = false;  // a main database file was read since on_log_read was armed

void RunOnce(std::function<void()>& hook) {
  std::function<void()> h = std::move(hook);
  hook = nullptr;
  try {
    h();
  } catch (...) {  // a failed assertion in the hook: recorded, not thrown through C
  }
}

int PauseRead(sqlite3_file* pFile, void* pBuf, int iAmt, sqlite3_int64 iOfst) noexcept {
  auto* f = reinterpret_cast<PauseFile*>(pFile);
  if (f->main_db) main_db_read = true;
  if (f->store_log && main_db_read && on_log_read) RunOnce(on_log_read);
  return blaze::shim::IoForward<PauseFile>::Read(pFile, pBuf, iAmt, iOfst);
}

int PauseTruncate(sqlite3_file* pFile, sqlite3_int64 size) noexcept {
  const int rc = blaze::shim::IoForward<PauseFile>::Truncate(pFile, size);
  auto* f = reinterpret_cast<PauseFile*>(pFile);
  if (rc == SQLITE_OK && f->store_log && size == 0 && on_log_truncated) RunOnce(on_log_truncated);
  return rc;
}

constexpr sqlite3_io_methods PauseMethods() {
  sqlite3_io_methods m = blaze::shim::ForwardingIoMethods<PauseFile>();
  m.xRead = PauseRead;          // xRead
  m.xTruncate = PauseTruncate;  // xTruncate
  return m;
}
constexpr auto kPauseMethods = blaze::shim::ByVersion(PauseMethods());

int PauseOpen(sqlite3_vfs* pVfs, sqlite3_filename zName, sqlite3_file* pFile, int flags,
              int* pOutFlags) noexcept {
  pFile->pMethods = nullptr;
  if (int rc = blaze::shim::OpenReal<PauseFile>(pVfs, zName, pFile, flags, pOutFlags)) return rc;
  auto* f = reinterpret_cast<PauseFile*>(pFile);
  f->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  f->store_log = zName != nullptr && std::string_view(zName).ends_with("-blazelog");
  pFile->pMethods =
      blaze::shim::MethodsFor(kPauseMethods, blaze::shim::RealFile<PauseFile>(pFile));
  return SQLITE_OK;
}

void RegisterPauseVfs() {
  if (sqlite3_vfs_find("blaze-logpause") != nullptr) return;
  // Both live as long as the process, like any registered VFS.
  auto* vfs = new sqlite3_vfs{
      blaze::shim::ForwardingVfs<PauseFile>(sqlite3_vfs_find("unix"), "logpause", 3)};
  vfs->xOpen = PauseOpen;  // xOpen
  REQUIRE(sqlite3_vfs_register(vfs, 0) == SQLITE_OK);
  REQUIRE(blaze_vfs_register("blaze-logpause", "logpause", 0) == SQLITE_OK);
}

}  // namespace

// A store checkpoint ends with a log reset: the new page-file header is durable, then the
// log is truncated to nothing, then its new header is written. Another process reloading
// its view reads the page-file header, then the log. When the header it read is the one
// before the checkpoint and the log it reads is in that truncated moment, it finds no log
// at all; taking the old page file alone for the database would lose every commit that
// was in the log (and is now in the new page file) from its view until its next reload.
// A log without a header makes the reload read the page-file header again, and start
// over when it moved. Here process B checkpoints while process A reloads, paused in
// exactly that order.
TEST_CASE("a process reloading while another process resets the store log misses no commit",
          "[sql][coherence][process]") {
  InitBlaze();
  RegisterPauseVfs();
  TempDir dir;
  const std::string path = dir.Path("p.db");
  const std::string uri = "file:" + path + "?vfs=blaze-logpause&blaze_checkpoint=0";
  CreateTable(uri, "delete", true);  // the rows in the page file, the log empty

  // B, inside its log reset, tells A and waits for A's go-ahead (pipes made before the
  // fork; B inherits the hook).
  int truncated[2], go[2];
  REQUIRE(pipe(truncated) == 0);
  REQUIRE(pipe(go) == 0);
  on_log_truncated = [&] {
    char c = 't';
    if (write(truncated[1], &c, 1) == 1) (void)!read(go[0], &c, 1);
  };
  Peer b;
  on_log_truncated = nullptr;  // only B pauses
  b.Open(uri);
  DbPtr a = Open(uri);
  Exec(a.get(), "PRAGMA cache_size=5");
  const std::string original = RowsDigest(a.get(), kTable);
  b.Exec("UPDATE t SET v = 'B:' || id WHERE id % 2 = 0");  // committed, in B's store log
  const std::string expect = b.Digest(kTable);
  REQUIRE(expect != original);

  // A's next read reloads (B's log grew): after it read the page-file header, B
  // checkpoints (a new header) and stops with its log truncated; then A reads the log.
  bool paused = false;
  main_db_read = false;
  on_log_read = [&] {
    b.StartExec("SELECT blaze_checkpoint()");
    char c = 0;
    paused = read(truncated[0], &c, 1) == 1;
  };
  auto release_b = [&] {
    on_log_read = nullptr;
    char c = 'g';
    REQUIRE(write(go[1], &c, 1) == 1);
    CHECK(b.FinishExec() == SQLITE_OK);
    CHECK(paused);
  };
  SECTION("a read") {
    const std::string got = RowsDigest(a.get(), kTable);
    release_b();
    CHECK(got == expect);
    CHECK(got != original);
    const std::string next = RowsDigest(a.get(), kTable);
    CHECK(next == expect);
    std::cout << "coherence log-reset window: the read during B's log reset saw "
              << (got == expect ? "B's commit" : got == original ? "the state before it"
                                                                : "something else")
              << "; the next read saw " << (next == expect ? "it" : "something else") << "\n";
  }
  SECTION("a read, then a write in the same transaction") {
    // The write is allowed (rollback mode: nobody committed while A held its lock), and
    // it writes back the pages A read: B's rows on them are lost for good.
    Exec(a.get(), "BEGIN");
    const int64_t seen = QueryInt(a.get(), "SELECT count(*) FROM t WHERE v LIKE 'B:%'");
    release_b();
    Exec(a.get(), "UPDATE t SET grp = -1 WHERE id = 1500; COMMIT;");
    CHECK(seen == kRows / 2);
    CHECK(QueryInt(a.get(), "SELECT count(*) FROM t WHERE v LIKE 'B:%'") == kRows / 2);
    CHECK(b.QueryInt("SELECT count(*) FROM t WHERE v LIKE 'B:%'") == kRows / 2);
    std::cout << "coherence log-reset window, then a write: A saw " << seen << " of "
              << kRows / 2 << " rows B changed; after A's commit "
              << b.QueryInt("SELECT count(*) FROM t WHERE v LIKE 'B:%'") << " remain\n";
  }
  CHECK(QueryText(a.get(), "PRAGMA integrity_check") == "ok");
  b.Finish();
  for (int fd : {truncated[0], truncated[1], go[0], go[1]}) close(fd);
}

// Rollback mode: while one connection of A holds SHARED, no other process can commit
// (that needs EXCLUSIVE), so A's other connections skip the look at the store log when
// they take SHARED (StoreFile::Lock). Once the last of A's connections lets go, B can
// commit, and A's next read looks again and sees it.
TEST_CASE("a read under another connection's SHARED lock skips the log probe and misses nothing",
          "[sql][coherence][process]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("skip.db");
  const std::string uri = "file:" + path + "?vfs=blaze&blaze_checkpoint=0";
  {
    DbPtr db = Open(uri);
    Exec(db.get(), "CREATE TABLE t(x); INSERT INTO t VALUES (1)");
  }
  Peer b;
  b.Open(uri);
  DbPtr holder = Open(uri);
  DbPtr reader = Open(uri);
  for (int round = 1; round <= 5; ++round) {
    // The holder keeps SHARED; the reader's transactions come and go under it.
    Exec(holder.get(), "BEGIN");
    CHECK(QueryInt(holder.get(), "SELECT count(*) FROM t") == round);
    const int64_t skipped = FileCounter(reader.get(), path, "refreshes_skipped");
    for (int i = 0; i < 20; ++i) CHECK(QueryInt(reader.get(), "SELECT count(*) FROM t") == round);
    CHECK(FileCounter(reader.get(), path, "refreshes_skipped") >= skipped + 20);
    // B cannot commit now.
    std::string err;
    CHECK(b.TryExec("PRAGMA busy_timeout=50; INSERT INTO t VALUES (0)", &err) == SQLITE_BUSY);
    Exec(holder.get(), "COMMIT");
    // Nobody of A holds a lock: B commits; A's next read (the first SHARED) looks.
    b.Exec("PRAGMA busy_timeout=10000; INSERT INTO t VALUES (" + std::to_string(round + 1) + ")");
    const int64_t before = FileCounter(reader.get(), path, "refreshes_skipped");
    CHECK(QueryInt(reader.get(), "SELECT count(*) FROM t") == round + 1);
    CHECK(FileCounter(reader.get(), path, "refreshes_skipped") == before);
  }
  b.Finish();
}

// A scan reads the page file ahead, a window of slots per system call (Store::ReadSlot).
// The window is bytes of the file as they were: a checkpoint rewrites the page file under
// it (here by another connection of the process, which shares the store), filling the
// holes earlier rounds left with new slots, and the next scan must read those, never the
// window's old bytes. The table is small (about 25 pages, under 100 KiB stored), so that
// one window spans most of the page file, holes included.
TEST_CASE("a scan reads the page file ahead and never serves a window the store rewrote",
          "[sql][coherence]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("r.db");
  const std::string uri = "file:" + path + "?vfs=blaze&blaze_checkpoint=0";
  DbPtr b = Open(uri);
  Exec(b.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400)"
                " INSERT INTO t SELECT x, printf('%d:0:%.200c', x, char(65 + x % 26)) FROM c;"
                "SELECT blaze_checkpoint();");
  // Nothing cached: every page of every scan is read from the page file and decoded.
  DbPtr a = Open(uri + "&blaze_cache=0");
  Exec(a.get(), "PRAGMA cache_size=5");
  const int64_t pages = QueryInt(a.get(), "PRAGMA page_count");
  CHECK(RowsDigest(a.get(), kTable) == RowsDigest(b.get(), kTable));
  const int64_t first = FileCounter(a.get(), path, "read_aheads");
  INFO("pages " << pages << ", windows " << first);
  CHECK(first > 0);
  CHECK(first < pages / 2);  // windows of 32 KiB and up: several slots each
  for (int round = 1; round <= 8; ++round) {
    // Every row rewritten (all of a round's slots freed by the next), some longer.
    const std::string r = std::to_string(round);
    Exec(b.get(), "UPDATE t SET v = printf('%d:" + r + ":%.*c', id, 150 + (id * " + r +
                      ") % 97, char(97 + (id + " + r + ") % 26));"
                      "SELECT blaze_checkpoint();");
    const std::string expect = RowsDigest(b.get(), kTable);
    CHECK(RowsDigest(a.get(), kTable) == expect);
    CHECK(QueryInt(a.get(), "SELECT count(*) FROM t WHERE v LIKE '%:" + r + ":%'") == 400);
  }
  CHECK(FileCounter(a.get(), path, "read_aheads") > first);
  CHECK(QueryText(a.get(), "PRAGMA integrity_check") == "ok");
}

// A scan read ahead (above) of a database larger than a quarter of what the cache can
// hold for it cycles through the S3-FIFO small queue instead of filling the cache
// (Store::CachePut); a smaller database's scan caches every page, for the next scan.
TEST_CASE("a scan of a database too large for the cache leaves it nearly empty; a small "
          "one's fills it", "[sql][cache]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("s.db");
  const std::string uri = "file:" + path + "?vfs=blaze&blaze_checkpoint=0";
  CreateTable(uri, "delete", true);  // about 170 pages of 4 KiB, 700 KB decoded
  DbPtr a = Open(uri);
  Exec(a.get(), "PRAGMA cache_size=5");
  const int64_t budget = QueryInt(a.get(), "SELECT blaze_cache_budget()");
  const int64_t pages = QueryInt(a.get(), "PRAGMA page_count");
  const std::string expect = RowsDigest(a.get(), kTable);
  for (const int64_t trial : {2 << 20, 8 << 20}) {
    DYNAMIC_SECTION("process cache budget " << trial) {
      REQUIRE(QueryInt(a.get(), "SELECT blaze_cache_budget(" + std::to_string(trial) + ")") ==
              trial);
      Exec(a.get(), "SELECT blaze_cache_budget(0)");  // empty it: the scan starts cold
      Exec(a.get(), "SELECT blaze_cache_budget(" + std::to_string(trial) + ")");
      const int64_t evicted = FileCounter(a.get(), path, "cache_evictions");
      CHECK(RowsDigest(a.get(), kTable) == expect);
      const int64_t cached = FileCounter(a.get(), path, "cache_pages");
      INFO(pages << " pages, " << cached << " cached after the scan");
      if (trial == (2 << 20)) {
        // 700 KB > 2 MiB / 4: a tenth of each shard's 128 KiB budget (3 pages of 4 KiB)
        // plus the interior pages, kept in main.
        CHECK(cached < pages / 2);
        CHECK(FileCounter(a.get(), path, "cache_evictions") - evicted > pages / 2);
      } else {
        CHECK(cached >= pages - 2);  // all but the first pages SQLite keeps itself
        const int64_t misses = FileCounter(a.get(), path, "cache_misses");
        CHECK(RowsDigest(a.get(), kTable) == expect);
        CHECK(FileCounter(a.get(), path, "cache_misses") == misses);  // the next scan hits
      }
    }
  }
  Exec(a.get(), "SELECT blaze_cache_budget(" + std::to_string(budget) + ")");
}
