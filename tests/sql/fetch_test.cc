// tests/sql/fetch_test.cc: xFetch (PRAGMA mmap_size) on a store, and the blaze_cache share.
//
// With mmap on, SQLite asks xFetch for whole pages and keeps the pointer until xUnfetch;
// the store hands out pages pinned in the process's page cache (vfs/store_file.cc). These
// tests check what SQLite sees through those pointers:
//  - every journal mode (and blaze_journal=absorb) gives exactly what the stock unix VFS
//    gives for one workload of reads after writes, with pages served by xFetch;
//  - a WAL reader that holds fetched pages mid-scan keeps its snapshot while a connection
//    of the same process rewrites the rows, commits and checkpoints; a rollback-mode
//    connection that holds fetched pages and then writes them in its own transaction
//    reads its own writes, and its rollback, exactly as unix does;
//  - four connections on four threads, each checking its own ledger;
//  - a process reading with mmap sees exactly the latest round another process committed;
//  - blaze_cache=<bytes> bounds a database's part of the cache, 0 turns it off, and a bad
//    value fails the open naming the parameter.
// Pins are checked at rest: cache_pinned is 0 once no statement is active.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "include/blaze.h"
#include "tests/support/db.h"
#include "tests/support/peer.h"

using namespace blaze::test;

namespace {

constexpr const char* kMmap = "PRAGMA mmap_size=268435456";

using Transcript = std::vector<std::string>;

// A deterministic blob of `len` bytes for row `id`, varying with `salt` (SQL expression).
std::string Body(const std::string& id, const std::string& len, int salt) {
  return "CAST(substr(replace(printf('%.*c', (" + len + ") / 4 + 1, 'x'), 'x', printf('%04x', (" +
         id + " * 40503 + " + std::to_string(salt) + ") % 65536)), 1, " + len + ") AS BLOB)";
}

// Appends every row of sql to *t, prefixed with the statement's tag.
void Record(sqlite3* db, const std::string& tag, const std::string& sql, Transcript* t) {
  for (std::string& row : QueryRows(db, sql)) t->push_back(tag + ": " + row);
}

void RecordDigest(sqlite3* db, const std::string& tag, Transcript* t) {
  t->push_back(tag + ": items " + RowsDigest(db, "SELECT * FROM items ORDER BY id") +
               " notes " + RowsDigest(db, "SELECT * FROM notes ORDER BY id"));
}

void RecordReads(sqlite3* db, const std::string& tag, int r, Transcript* t) {
  Record(db, tag + " totals",
         "SELECT count(*), sum(grp), total(length(body)), max(name) FROM items", t);
  Record(db, tag + " groups",
         "SELECT grp, count(*), min(name), max(id) FROM items GROUP BY grp ORDER BY grp", t);
  Record(db, tag + " index",
         "SELECT id, name, length(body) FROM items WHERE grp = " + std::to_string(r % 10) +
             " ORDER BY name LIMIT 5",
         t);
  Record(db, tag + " join",
         "SELECT count(*), total(length(n.note)) FROM notes n JOIN items i ON i.id = n.item", t);
  Record(db, tag + " overflow",
         "SELECT id, hex(substr(body, 5001, 8)) FROM items WHERE length(body) > 5008 "
         "ORDER BY id LIMIT 3",
         t);
  RecordDigest(db, tag, t);
}

// Reads after writes in every shape: a bulk load, rounds of update/delete/insert with
// reads inside and after each transaction, a rollback, a VACUUM. Returns every read.
Transcript MixedWorkload(sqlite3* db, bool wal, bool can_rollback) {
  Transcript t;
  Exec(db,
       "CREATE TABLE items(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, body BLOB);"
       "CREATE INDEX items_grp ON items(grp, name);"
       "CREATE TABLE notes(id INTEGER PRIMARY KEY, item INTEGER, note TEXT);");
  const std::string len = "(CASE WHEN x % 50 = 0 THEN 6000 ELSE 60 + x * 37 % 900 END)";
  Exec(db, "BEGIN;"
           "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1200) "
           "INSERT INTO items SELECT x, x % 10, printf('n-%05d', x), " + Body("x", len, 0) +
           " FROM c;"
           "COMMIT;");
  RecordReads(db, "load", 0, &t);
  for (int r = 1; r <= 6; ++r) {
    const std::string rs = std::to_string(r);
    Exec(db, "BEGIN;"
             "UPDATE items SET name = printf('n-%05d-r" + rs + "', id), body = " +
                 Body("id", "(40 + id * 13 % 1500)", r) + " WHERE id % 7 = " + rs + ";"
             "DELETE FROM items WHERE id % 29 = " + rs + ";"
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40) "
             "INSERT INTO items SELECT 2000 + " + rs + " * 100 + x, x % 10, printf('m-%d-%d', " +
                 rs + ", x), " + Body("x", len, r) + " FROM c;"
             "INSERT INTO notes(item, note) SELECT id, printf('%.*c', id % 300, 'n') FROM items "
             "WHERE id % 31 = " + rs + ";");
    RecordReads(db, "in txn " + rs, r, &t);
    Exec(db, "COMMIT");
    RecordReads(db, "after " + rs, r, &t);
    if (wal && r % 2 == 0) Exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  }
  if (can_rollback) {
    Exec(db, "BEGIN;"
             "DELETE FROM items WHERE grp = 3;"
             "UPDATE items SET body = zeroblob(10), name = 'gone' WHERE id % 2 = 0;");
    RecordReads(db, "doomed", 3, &t);
    Exec(db, "ROLLBACK");
    RecordReads(db, "rolled back", 3, &t);
  }
  Exec(db, "DELETE FROM items WHERE id % 3 = 0; VACUUM;");
  if (wal) Exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  RecordReads(db, "vacuumed", 7, &t);
  return t;
}

// The first difference between two transcripts, or "" when they are equal.
std::string FirstDifference(const Transcript& a, const Transcript& b) {
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i] != b[i]) return "line " + std::to_string(i) + ":\n  " + a[i] + "\n  " + b[i];
  }
  if (a.size() != b.size()) {
    return "lengths " + std::to_string(a.size()) + " and " + std::to_string(b.size());
  }
  return "";
}

int64_t Pinned(sqlite3* db, const std::string& path) {
  return FileCounter(db, path, "cache_pinned");
}

StmtPtr Prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  INFO(sql);
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr) == SQLITE_OK);
  return StmtPtr(raw);
}

}  // namespace

TEST_CASE("xFetch in every journal mode gives what the unix VFS gives", "[sql][fetch]") {
  InitBlaze();
  struct Mode {
    const char* journal;
    const char* uri_extra;
  };
  const Mode modes[] = {{"delete", ""},   {"truncate", ""}, {"persist", ""},
                        {"wal", ""},      {"memory", ""},   {"off", ""},
                        {"delete", "&blaze_journal=absorb"}};
  for (const Mode& m : modes) {
    DYNAMIC_SECTION("journal_mode=" << m.journal << m.uri_extra) {
      TempDir dir;
      const std::string path = dir.Path("b.db");
      const bool wal = std::string(m.journal) == "wal";
      const bool can_rollback = std::string(m.journal) != "off";
      Transcript expected, got;
      {
        DbPtr plain = Open("file:" + dir.Path("u.db") + "?vfs=unix");
        REQUIRE(QueryText(plain.get(), std::string("PRAGMA journal_mode=") + m.journal) ==
                m.journal);
        // The oracle need not be durable.
        Exec(plain.get(), std::string(kMmap) + "; PRAGMA cache_size=20; PRAGMA cache_spill=200;"
                          "PRAGMA synchronous=OFF");
        expected = MixedWorkload(plain.get(), wal, can_rollback);
      }
      DbPtr db = Open("file:" + path + "?vfs=blaze" + m.uri_extra);
      REQUIRE(QueryText(db.get(), std::string("PRAGMA journal_mode=") + m.journal) == m.journal);
      // A small page cache: SQLite goes back to the VFS, and so to xFetch, all the time.
      // Dirty pages spill only past 200 (each spill syncs the journal).
      Exec(db.get(), std::string(kMmap) + "; PRAGMA cache_size=20; PRAGMA cache_spill=200");
      got = MixedWorkload(db.get(), wal, can_rollback);
      INFO("first difference (unix, then blaze) at " << FirstDifference(expected, got));
      CHECK(got == expected);
      CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
      const int64_t fetches = FileCounter(db.get(), path, "fetches");
      std::cout << "fetch journal_mode=" << m.journal << m.uri_extra << ": " << got.size()
                << " rows read, " << fetches << " fetches, "
                << FileCounter(db.get(), path, "reads") << " reads, "
                << FileCounter(db.get(), path, "cache_hits") << " cache hits, "
                << FileCounter(db.get(), path, "cache_misses") << " misses\n";
      CHECK(fetches > 0);
      CHECK(Pinned(db.get(), path) == 0);
      // A new connection (the store stays open) reads the same.
      DbPtr again = Open("file:" + path + "?vfs=blaze" + m.uri_extra);
      Exec(again.get(), kMmap);
      Transcript last;
      RecordReads(again.get(), "vacuumed", 7, &last);
      CHECK(std::equal(last.begin(), last.end(), got.end() - static_cast<long>(last.size())));
      CHECK(Pinned(db.get(), path) == 0);
    }
  }
}

// SQLite's WAL keeps a reader from seeing any database page change: a checkpoint only
// copies frames every reader's snapshot already holds, so the pages a reader fetched from
// the store are never the ones rewritten under it. What changes under the reader is the
// store itself (pages written by the checkpoint, a store checkpoint moving every logged
// page into the page file) and the page cache (those pages replaced). The reader must
// keep reading its snapshot through pinned pointers all the same.
TEST_CASE("a WAL reader keeps its fetched snapshot while the same process rewrites and "
          "checkpoints", "[sql][fetch][wal]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("w.db");
  const std::string uri = "file:" + path + "?vfs=blaze&blaze_checkpoint=0";
  constexpr int kRows = 3000;
  DbPtr w = Open(uri);
  REQUIRE(QueryText(w.get(), "PRAGMA journal_mode=wal") == "wal");
  Exec(w.get(), "PRAGMA wal_autocheckpoint=0;"
                "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, pad TEXT);"
                "CREATE TABLE other(x);"
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < " +
                    std::to_string(kRows) + ") INSERT INTO t SELECT x, x, printf('%.150c', "
                    "char(65 + x % 26)) FROM c;"
                "PRAGMA wal_checkpoint(TRUNCATE);"
                // A frame in the WAL: the reader's snapshot has a read mark above 0, so a
                // PASSIVE checkpoint can copy that much while the reader reads.
                "INSERT INTO other VALUES (1);");
  const int64_t old_sum = int64_t{kRows} * (kRows + 1) / 2;

  DbPtr r = Open(uri);
  Exec(r.get(), std::string(kMmap) + "; PRAGMA cache_size=10");
  Exec(r.get(), "BEGIN");
  StmtPtr scan = Prepare(r.get(), "SELECT id, v FROM t ORDER BY id");
  int seen = 0, wrong = 0;
  auto step = [&](int rows) {
    for (int i = 0; i < rows; ++i) {
      REQUIRE(sqlite3_step(scan.get()) == SQLITE_ROW);
      ++seen;
      if (sqlite3_column_int64(scan.get(), 0) != seen ||
          sqlite3_column_int64(scan.get(), 1) != seen) {
        ++wrong;
      }
    }
  };
  step(kRows / 3);
  const int64_t pinned_mid = Pinned(w.get(), path);
  CHECK(pinned_mid > 0);  // the scan's cursor holds fetched pages
  const int64_t fetches_before = FileCounter(w.get(), path, "fetches");
  CHECK(fetches_before > 0);

  // The writer rewrites every row the reader is scanning, and checkpoints.
  const int64_t writes_before = FileCounter(w.get(), path, "writes");
  Exec(w.get(), "UPDATE t SET v = v + 1000000, pad = lower(pad)");
  int log = -1, ckpt = -1;
  sqlite3_busy_timeout(w.get(), 50);
  CHECK(sqlite3_wal_checkpoint_v2(w.get(), "main", SQLITE_CHECKPOINT_TRUNCATE, &log, &ckpt) ==
        SQLITE_BUSY);
  CHECK(sqlite3_wal_checkpoint_v2(w.get(), "main", SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt) ==
        SQLITE_OK);
  sqlite3_busy_timeout(w.get(), 10000);
  const int passive_log = log, passive_ckpt = ckpt;
  INFO("PASSIVE checkpoint: " << ckpt << " of " << log << " frames");
  CHECK(ckpt > 0);    // the frames below the reader's mark went into the store
  CHECK(ckpt < log);  // and the reader's snapshot kept the rest out
  const int64_t writes_mid = FileCounter(w.get(), path, "writes");
  CHECK(writes_mid > writes_before);
  const int64_t ckpts_before = FileCounter(w.get(), path, "checkpoints");
  Exec(w.get(), "SELECT blaze_checkpoint()");  // the store log into the page file
  CHECK(FileCounter(w.get(), path, "checkpoints") == ckpts_before + 1);
  Exec(w.get(), "SELECT blaze_compact()");  // and slots moved within it
  CHECK(QueryInt(w.get(), "SELECT sum(v) FROM t") == old_sum + int64_t{kRows} * 1000000);

  // The reader goes on in its snapshot.
  step(kRows / 3);
  CHECK(Pinned(w.get(), path) > 0);
  CHECK(QueryInt(r.get(), "SELECT sum(v) FROM t") == old_sum);
  CHECK(QueryInt(r.get(), "SELECT count(*) FROM t WHERE pad != upper(pad)") == 0);
  step(kRows - seen);
  CHECK(sqlite3_step(scan.get()) == SQLITE_DONE);
  CHECK(wrong == 0);
  scan.reset();
  Exec(r.get(), "COMMIT");
  CHECK(Pinned(w.get(), path) == 0);

  // Outside its transaction the reader sees the new rows; the full checkpoint can run
  // now and rewrite the pages the reader had pinned, which it then fetches anew.
  CHECK(QueryInt(r.get(), "SELECT sum(v) FROM t") == old_sum + int64_t{kRows} * 1000000);
  CHECK(sqlite3_wal_checkpoint_v2(w.get(), "main", SQLITE_CHECKPOINT_TRUNCATE, &log, &ckpt) ==
        SQLITE_OK);
  CHECK(log == 0);
  CHECK(FileCounter(w.get(), path, "writes") > writes_mid);
  const int64_t fetches_mid = FileCounter(w.get(), path, "fetches");
  CHECK(QueryInt(r.get(), "SELECT count(*) FROM t WHERE v = id + 1000000 AND pad = lower(pad)") ==
        kRows);
  CHECK(FileCounter(w.get(), path, "fetches") > fetches_mid);
  CHECK(QueryText(r.get(), "PRAGMA integrity_check") == "ok");
  CHECK(Pinned(w.get(), path) == 0);
  std::cout << "fetch WAL reader: " << pinned_mid << " pages pinned mid-scan, PASSIVE copied "
            << passive_ckpt << " of " << passive_log << " frames, "
            << FileCounter(w.get(), path, "fetches") << " fetches\n";
}

namespace {

// A rollback-mode connection with fetched pages writes them in its own transaction: a
// scan holds pinned pages while the same connection updates the table under it; a large
// update spills SQLite's cache (so the store's copy of the page changes mid-transaction)
// and is read back through fetches, then rolled back. Returns every read.
Transcript OwnWrites(sqlite3* db, const std::string& path, bool blaze, int64_t* pinned_mid) {
  Transcript t;
  Exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER, pad TEXT);"
           "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) "
           "INSERT INTO t SELECT x, x, printf('%.150c', char(65 + x % 26)) FROM c;");
  Exec(db, kMmap);
  // Clean pages leave SQLite's cache at once; dirty ones spill past 40 (a few spills per
  // large update: each syncs the journal).
  Exec(db, "PRAGMA cache_size=10; PRAGMA cache_spill=40");
  const std::string digest = "SELECT * FROM t ORDER BY id";

  Exec(db, "BEGIN");
  Record(db, "read", "SELECT sum(v), count(*) FROM t", &t);
  {
    StmtPtr scan = Prepare(db, "SELECT id, v, pad FROM t ORDER BY id");
    int n = 0;
    auto step = [&](int rows) {
      for (int i = 0; i < rows && sqlite3_step(scan.get()) == SQLITE_ROW; ++i, ++n) {
        if (n % 97 == 0) {
          t.push_back("scan " + std::to_string(n) + ": " +
                      std::to_string(sqlite3_column_int64(scan.get(), 0)) + "|" +
                      std::to_string(sqlite3_column_int64(scan.get(), 1)) + "|" +
                      reinterpret_cast<const char*>(sqlite3_column_text(scan.get(), 2)));
        }
      }
    };
    step(1000);
    if (blaze) *pinned_mid = Pinned(db, path);
    Exec(db, "UPDATE t SET v = v * 2, pad = lower(pad) WHERE id % 3 = 0");
    t.push_back("changed " + std::to_string(sqlite3_changes(db)));
    step(5000);
    t.push_back("scanned " + std::to_string(n));
  }
  Record(db, "in txn", "SELECT sum(v), count(*) FROM t WHERE pad = lower(pad)", &t);
  Exec(db, "COMMIT");
  Record(db, "committed", "SELECT sum(v), count(*) FROM t WHERE pad = lower(pad)", &t);
  const std::string committed = RowsDigest(db, digest);
  t.push_back("digest " + committed);

  Exec(db, "BEGIN");
  Exec(db, "UPDATE t SET v = v + 1, pad = upper(pad) || 'x'");  // every page, spilled
  t.push_back("in txn " + RowsDigest(db, digest));
  Record(db, "in txn", "SELECT sum(v), count(*), sum(length(pad)) FROM t", &t);
  Exec(db, "ROLLBACK");
  const std::string after = RowsDigest(db, digest);
  CHECK(after == committed);
  t.push_back("rolled back " + after);

  Exec(db, "BEGIN; UPDATE t SET v = -v WHERE id % 5 = 0;");
  t.push_back("in txn " + RowsDigest(db, digest));
  Exec(db, "COMMIT");
  t.push_back("committed " + RowsDigest(db, digest));
  return t;
}

}  // namespace

TEST_CASE("a rollback-mode connection writes the pages it fetched, in its own transaction",
          "[sql][fetch]") {
  InitBlaze();
  for (const char* extra : {"", "&blaze_journal=absorb"}) {
    DYNAMIC_SECTION("journal_mode=delete" << extra) {
      TempDir dir;
      const std::string path = dir.Path("o.db");
      Transcript expected;
      {
        DbPtr plain = Open("file:" + dir.Path("u.db") + "?vfs=unix");
        int64_t unused = 0;
        expected = OwnWrites(plain.get(), "", false, &unused);
      }
      DbPtr db = Open("file:" + path + "?vfs=blaze" + extra);
      int64_t pinned_mid = 0;
      const Transcript got = OwnWrites(db.get(), path, true, &pinned_mid);
      INFO("first difference (unix, then blaze) at " << FirstDifference(expected, got));
      CHECK(got == expected);
      CHECK(pinned_mid > 0);
      CHECK(FileCounter(db.get(), path, "fetches") > 0);
      CHECK(Pinned(db.get(), path) == 0);
      CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
      std::cout << "fetch own writes" << extra << ": " << pinned_mid << " pinned mid-scan, "
                << FileCounter(db.get(), path, "fetches") << " fetches\n";
    }
  }
}

namespace {

// One thread's connection: owns keys [owner * kKeys, (owner + 1) * kKeys). Errors are
// returned as text: Catch2 assertions are not thread-safe.
constexpr int kThreads = 4;
constexpr int kKeys = 150;
constexpr int kRounds = 80;

int ExecRetry(sqlite3* db, const std::string& sql) {
  for (int attempt = 0;; ++attempt) {
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    if ((rc & 0xff) != SQLITE_BUSY || attempt == 100) return rc;
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

// Rows of sql as "a|b" strings, or an error text in *err.
std::vector<std::string> Rows(sqlite3* db, const std::string& sql, std::string* err) {
  std::vector<std::string> out;
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
  while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(s); ++i) {
      const unsigned char* v = sqlite3_column_text(s, i);
      row += (i ? "|" : "") + std::string(v ? reinterpret_cast<const char*>(v) : "NULL");
    }
    out.push_back(row);
    rc = SQLITE_OK;
  }
  if (rc != SQLITE_DONE && err->empty()) *err = sql + ": " + sqlite3_errmsg(db);
  sqlite3_finalize(s);
  return out;
}

std::string LedgerThread(const std::string& uri, int owner) {
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, nullptr) !=
      SQLITE_OK) {
    return "open failed";
  }
  DbPtr db(raw);
  sqlite3_busy_timeout(raw, 10000);
  std::string err;
  // synchronous=NORMAL: WAL commits without a sync each (the test is about reads).
  const std::string pragmas =
      std::string(kMmap) + "; PRAGMA cache_size=10; PRAGMA synchronous=NORMAL; "
                           "PRAGMA wal_autocheckpoint=100";
  if (sqlite3_exec(raw, pragmas.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return "pragmas failed";
  }
  std::vector<int64_t> expect(kKeys, 0);
  const int base = owner * kKeys;
  for (int round = 0; round < kRounds && err.empty(); ++round) {
    std::string sql = "BEGIN IMMEDIATE;";
    for (int j = 0; j < 5; ++j) {
      const int k = (round * 7 + j * 29) % kKeys;
      const int delta = round * 10 + j + 1;
      expect[static_cast<size_t>(k)] += delta;
      sql += "UPDATE t SET v = v + " + std::to_string(delta) + ", pad = printf('%.*c', " +
             std::to_string(100 + (round * j) % 300) + ", char(" + std::to_string(65 + owner) +
             ")) WHERE k = " + std::to_string(base + k) + ";"
             "INSERT INTO ledger(owner, k, delta) VALUES (" + std::to_string(owner) + "," +
             std::to_string(base + k) + "," + std::to_string(delta) + ");";
    }
    sql += "COMMIT;";
    if (int rc = ExecRetry(raw, sql); rc != SQLITE_OK) {
      return "round " + std::to_string(round) + ": " + sqlite3_errstr(rc);
    }
    // Our own rows, as we left them.
    const std::vector<std::string> rows =
        Rows(raw, "SELECT k, v FROM t WHERE owner = " + std::to_string(owner) + " ORDER BY k",
             &err);
    if (rows.size() != static_cast<size_t>(kKeys)) {
      return err.empty() ? "round " + std::to_string(round) + ": " + std::to_string(rows.size()) +
                               " own rows"
                         : err;
    }
    for (int k = 0; k < kKeys; ++k) {
      const std::string want =
          std::to_string(base + k) + "|" + std::to_string(expect[static_cast<size_t>(k)]);
      if (rows[static_cast<size_t>(k)] != want) {
        return "round " + std::to_string(round) + ": read " + rows[static_cast<size_t>(k)] +
               ", expected " + want;
      }
    }
    if (round % 10 == 9) {
      // The whole table and the ledger agree, whoever wrote them.
      const std::vector<std::string> all = Rows(
          raw, "SELECT count(*), sum(v) = (SELECT sum(delta) FROM ledger) FROM t", &err);
      if (all.size() != 1 || all[0] != std::to_string(kThreads * kKeys) + "|1") {
        return "round " + std::to_string(round) + ": table and ledger disagree: " +
               (all.empty() ? err : all[0]);
      }
    }
    if (round % 15 == 14) {
      // BUSY: another thread's checkpoint holds the checkpoint lock (PASSIVE never waits).
      const int rc =
          sqlite3_wal_checkpoint_v2(raw, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        return std::string("checkpoint: ") + sqlite3_errstr(rc);
      }
    }
  }
  return err;
}

}  // namespace

TEST_CASE("four connections on four threads with mmap keep their ledgers",
          "[sql][fetch][threads]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("l.db");
  const std::string uri = "file:" + path + "?vfs=blaze";
  DbPtr db = Open(uri);
  REQUIRE(QueryText(db.get(), "PRAGMA journal_mode=wal") == "wal");
  Exec(db.get(), "PRAGMA wal_autocheckpoint=50;"
                 "CREATE TABLE t(k INTEGER PRIMARY KEY, owner INTEGER, v INTEGER, pad TEXT);"
                 "CREATE TABLE ledger(id INTEGER PRIMARY KEY, owner INTEGER, k INTEGER, "
                 "delta INTEGER);"
                 "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < " +
                     std::to_string(kThreads * kKeys - 1) +
                     ") INSERT INTO t SELECT x, x / " + std::to_string(kKeys) +
                     ", 0, printf('%.200c', '.') FROM c;"
                 "PRAGMA wal_checkpoint(TRUNCATE);");
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { errors[static_cast<size_t>(i)] = LedgerThread(uri, i); });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    INFO("thread " << i);
    CHECK(errors[static_cast<size_t>(i)] == "");
  }
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM t WHERE v != (SELECT total(delta) FROM ledger "
                           "l WHERE l.k = t.k)") == 0);
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM ledger") == kThreads * kRounds * 5);
  Exec(db.get(), "PRAGMA wal_checkpoint(TRUNCATE)");
  Exec(db.get(), kMmap);
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM t WHERE v != (SELECT total(delta) FROM ledger "
                           "l WHERE l.k = t.k)") == 0);
  CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
  const int64_t fetches = FileCounter(db.get(), path, "fetches");
  std::cout << "fetch threads: " << kThreads << " x " << kRounds << " rounds, " << fetches
            << " fetches, " << FileCounter(db.get(), path, "cache_hits") << " cache hits\n";
  CHECK(fetches > 0);
  CHECK(Pinned(db.get(), path) == 0);
}

namespace {

std::string AllDigest(sqlite3* db) {
  return RowsDigest(db, "SELECT * FROM kv ORDER BY k") + RowsDigest(db, "SELECT * FROM meta") +
         RowsDigest(db, "SELECT * FROM big ORDER BY id");
}

std::string AllDigest(Peer& peer) {
  return peer.Digest("SELECT * FROM kv ORDER BY k") + peer.Digest("SELECT * FROM meta") +
         peer.Digest("SELECT * FROM big ORDER BY id");
}

}  // namespace

TEST_CASE("a process reading with mmap sees exactly the other process's latest round",
          "[sql][fetch][process]") {
  InitBlaze();
  constexpr int kRounds = 30;
  for (const char* mode : {"delete", "wal"}) {
    DYNAMIC_SECTION("journal_mode=" << mode) {
      TempDir dir;
      const std::string path = dir.Path("p.db");
      const std::string uri = "file:" + path + "?vfs=blaze&blaze_checkpoint=65536";
      const bool wal = std::string(mode) == "wal";
      {
        DbPtr setup = Open(uri);
        REQUIRE(QueryText(setup.get(), std::string("PRAGMA journal_mode=") + mode) == mode);
        Exec(setup.get(),
             "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER, pad TEXT);"
             "CREATE TABLE meta(id INTEGER PRIMARY KEY, round INTEGER);"
             "CREATE TABLE big(id INTEGER PRIMARY KEY, round INTEGER, data BLOB);"
             "INSERT INTO meta VALUES (1, 0);"
             "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 599) "
             "INSERT INTO kv SELECT x, 0, printf('%.100c', 'k') FROM c;");
      }  // closed: the child must not inherit this process's store
      Peer child;
      child.Open(uri);
      child.Exec(kMmap);
      DbPtr db = Open(uri);
      Exec(db.get(), std::string(kMmap) + "; PRAGMA cache_size=10");
      AllDigest(db.get());  // warm: every page cached, the view loaded
      int stale = 0;
      for (int r = 1; r <= kRounds; ++r) {
        const std::string rs = std::to_string(r);
        std::string sql = "BEGIN;"
                          "UPDATE kv SET v = v + " + rs + ", pad = printf('%.*c', " +
                          std::to_string(50 + r % 80) + ", char(" + std::to_string(65 + r % 26) +
                          ")) WHERE k % 6 = " + std::to_string(r % 6) + ";"
                          "UPDATE meta SET round = " + rs + ";";
        if (r % 3 == 0) {
          sql += "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20) "
                 "INSERT INTO big(round, data) SELECT " + rs + ", randomblob(2500) FROM c;";
        }
        if (r % 5 == 0) sql += "DELETE FROM big WHERE round < " + std::to_string(r - 6) + ";";
        sql += "COMMIT;";
        child.Exec(sql);
        // In WAL mode the store changes only when the WAL is checkpointed.
        if (wal && r % 2 == 0) child.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
        if (r % 7 == 0) child.Exec("SELECT blaze_checkpoint()");
        const std::string expect = AllDigest(child);
        INFO("round " << r);
        CHECK(QueryInt(db.get(), "SELECT round FROM meta") == r);
        if (AllDigest(db.get()) != expect) ++stale;
        CHECK(stale == 0);
      }
      CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
      const int64_t fetches = FileCounter(db.get(), path, "fetches");
      const int64_t reloads = FileCounter(db.get(), path, "reloads");
      std::cout << "fetch two processes journal_mode=" << mode << ": " << kRounds << " rounds, "
                << stale << " stale, " << fetches << " fetches, " << reloads << " reloads, "
                << FileCounter(db.get(), path, "cache_hits") << " cache hits, "
                << FileCounter(db.get(), path, "cache_misses") << " misses\n";
      CHECK(fetches > 0);
      CHECK(reloads >= kRounds / 2);
      CHECK(Pinned(db.get(), path) == 0);
      db.reset();
      child.Finish();
    }
  }
}

namespace {

constexpr int kCacheRows = 4000;  // about 2 MB in 4 KiB pages

// Creates t in a blaze store at path (closed again: its pages leave the cache) and
// returns the digest of its rows.
std::string CreateCacheTable(const std::string& path) {
  DbPtr setup = Open("file:" + path + "?vfs=blaze");
  Exec(setup.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < " +
                        std::to_string(kCacheRows) +
                        ") INSERT INTO t SELECT x, printf('%d:%.500c', x, char(65 + x % 26)) "
                        "FROM c;");
  return RowsDigest(setup.get(), "SELECT * FROM t ORDER BY id");
}

// Scans t, looking at cache_bytes every 100 rows; returns the most it saw.
int64_t ScanWatchingCache(sqlite3* db, const std::string& path) {
  StmtPtr scan = Prepare(db, "SELECT id, v FROM t ORDER BY id");
  int64_t most = 0;
  int rows = 0;
  for (int rc; (rc = sqlite3_step(scan.get())) != SQLITE_DONE; ++rows) {
    REQUIRE(rc == SQLITE_ROW);
    if (rows % 100 == 0) most = std::max(most, FileCounter(db, path, "cache_bytes"));
  }
  CHECK(rows == kCacheRows);
  return std::max(most, FileCounter(db, path, "cache_bytes"));
}

}  // namespace

TEST_CASE("blaze_cache bounds a database's part of the page cache", "[sql][fetch][cache]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("c.db");
  const std::string digest = CreateCacheTable(path);
  for (int64_t share : {int64_t{65536}, int64_t{262144}}) {
    DYNAMIC_SECTION("blaze_cache=" << share) {
      DbPtr db = Open("file:" + path + "?vfs=blaze&blaze_cache=" + std::to_string(share));
      Exec(db.get(), std::string(kMmap) + "; PRAGMA cache_size=5");
      int64_t most = 0;
      for (int pass = 0; pass < 2; ++pass) {
        most = std::max(most, ScanWatchingCache(db.get(), path));
        CHECK(RowsDigest(db.get(), "SELECT * FROM t ORDER BY id") == digest);
      }
      CHECK(most <= share);
      CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
      std::cout << "blaze_cache=" << share << ": at most " << most << " bytes cached, "
                << FileCounter(db.get(), path, "cache_pages") << " pages now, "
                << FileCounter(db.get(), path, "cache_hits") << " hits, "
                << FileCounter(db.get(), path, "cache_misses") << " misses, "
                << FileCounter(db.get(), path, "cache_evictions") << " evictions, "
                << FileCounter(db.get(), path, "fetches") << " fetches, of "
                << QueryInt(db.get(), "PRAGMA page_count") << " pages\n";
      CHECK(Pinned(db.get(), path) == 0);
      CHECK(QueryInt(db.get(), "SELECT abs(hit_ratio - 1.0 * cache_hits / (cache_hits + "
                               "cache_misses)) < 1e-9 FROM blaze_stats WHERE file = '" +
                               path + "'") == 1);
      if (share >= 262144) {
        // Room for dozens of pages: the cache is used, and kept within the share.
        CHECK(FileCounter(db.get(), path, "cache_pages") > 0);
        CHECK(FileCounter(db.get(), path, "cache_evictions") > 0);
        CHECK(FileCounter(db.get(), path, "fetches") > 0);
      }
    }
  }
  SECTION("blaze_cache=0 caches nothing and reads and writes right") {
    DbPtr db = Open("file:" + path + "?vfs=blaze&blaze_cache=0");
    Exec(db.get(), std::string(kMmap) + "; PRAGMA cache_size=5");
    CHECK(ScanWatchingCache(db.get(), path) == 0);
    CHECK(RowsDigest(db.get(), "SELECT * FROM t ORDER BY id") == digest);
    Exec(db.get(), "PRAGMA cache_size=2000");  // no spills: each would sync the journal
    Exec(db.get(), "UPDATE t SET v = upper(v) || '!' WHERE id % 4 = 0");
    CHECK(QueryInt(db.get(), "SELECT count(*) FROM t WHERE v LIKE '%!'") == kCacheRows / 4);
    CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
    CHECK(FileCounter(db.get(), path, "cache_pages") == 0);
    CHECK(FileCounter(db.get(), path, "cache_hits") == 0);
    CHECK(FileCounter(db.get(), path, "fetches") == 0);  // nothing to pin: xRead instead
    CHECK(FileCounter(db.get(), path, "decompressions") > 0);
  }
  SECTION("a later open's blaze_cache takes effect at once") {
    DbPtr first = Open("file:" + path + "?vfs=blaze");
    Exec(first.get(), std::string(kMmap) + "; PRAGMA cache_size=5");
    CHECK(RowsDigest(first.get(), "SELECT * FROM t ORDER BY id") == digest);
    const int64_t before = FileCounter(first.get(), path, "cache_bytes");
    CHECK(before > 1000000);
    DbPtr second = Open("file:" + path + "?vfs=blaze&blaze_cache=131072");
    CHECK(FileCounter(first.get(), path, "cache_bytes") <= 131072);
    CHECK(ScanWatchingCache(first.get(), path) <= 131072);
    CHECK(RowsDigest(second.get(), "SELECT * FROM t ORDER BY id") == digest);
    CHECK(FileCounter(first.get(), path, "cache_bytes") <= 131072);
  }
}

TEST_CASE("a bad blaze_cache value fails the open and names the parameter",
          "[sql][fetch][cache][uri]") {
  InitBlaze();
  TempDir dir;
  for (const char* value : {"abc", "-1", "", "1099511627777", "1e6", "64k", "0x100"}) {
    DYNAMIC_SECTION("blaze_cache=" << value) {
      const std::string path = dir.Path("bad.db");
      DbPtr db;
      CHECK(TryOpen("file:" + path + "?vfs=blaze&blaze_cache=" + value, &db) == SQLITE_CANTOPEN);
      CHECK_THAT(blaze_last_error(), Catch::Contains("blaze_cache"));
      db.reset();
      CHECK_FALSE(std::filesystem::exists(path));
    }
  }
  // The bounds themselves are fine.
  for (const char* value : {"0", "1099511627776"}) {
    DbPtr db = Open("file:" + dir.Path("good.db") + "?vfs=blaze&blaze_cache=" + value);
    Exec(db.get(), "CREATE TABLE IF NOT EXISTS t(x); INSERT INTO t VALUES (1)");
  }
}

// The store's page size is fixed by its first write; VACUUM may give SQLite another one.
// Then SQLite's pages are no longer the store's (xFetch declines them, SQLite reads with
// xRead), but what it reads must stay right, in this connection and a new one.
TEST_CASE("xFetch after VACUUM changes SQLite's page size", "[sql][fetch]") {
  InitBlaze();
  for (int page_size : {1024, 8192}) {
    DYNAMIC_SECTION("page_size 4096 -> " << page_size) {
      TempDir dir;
      const std::string path = dir.Path("ps.db");
      const std::string uri = "file:" + path + "?vfs=blaze";
      std::vector<std::string> digests;
      for (const std::string& u : {"file:" + dir.Path("u.db") + "?vfs=unix", uri}) {
        DbPtr db = Open(u);
        Exec(db.get(), std::string(kMmap) + "; PRAGMA cache_size=10; PRAGMA cache_spill=1000;"
                       "PRAGMA synchronous=" + (u == uri ? "FULL" : "OFF") + ";"
                       "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                       "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                       "WHERE x < 2000) INSERT INTO t SELECT x, printf('%d:%.300c', x, "
                       "char(65 + x % 26)) FROM c;");
        digests.push_back(RowsDigest(db.get(), "SELECT * FROM t ORDER BY id"));
        Exec(db.get(), "PRAGMA page_size=" + std::to_string(page_size) + "; VACUUM;");
        REQUIRE(QueryInt(db.get(), "PRAGMA page_size") == page_size);
        digests.push_back(RowsDigest(db.get(), "SELECT * FROM t ORDER BY id"));
        Exec(db.get(), "UPDATE t SET v = upper(v) || '!' WHERE id % 7 = 0; "
                       "DELETE FROM t WHERE id % 9 = 0;");
        digests.push_back(RowsDigest(db.get(), "SELECT * FROM t ORDER BY id"));
        CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
      }
      DbPtr again = Open(uri);
      Exec(again.get(), kMmap);
      digests.push_back(RowsDigest(again.get(), "SELECT * FROM t ORDER BY id"));
      CHECK(QueryText(again.get(), "PRAGMA integrity_check") == "ok");
      REQUIRE(digests.size() == 7);
      CHECK(digests[3] == digests[0]);
      CHECK(digests[4] == digests[1]);
      CHECK(digests[5] == digests[2]);
      CHECK(digests[6] == digests[2]);
      CHECK(Pinned(again.get(), path) == 0);
      std::cout << "fetch page_size 4096 -> " << page_size << ": "
                << FileCounter(again.get(), path, "fetches") << " fetches, "
                << FileCounter(again.get(), path, "reads") << " reads\n";
    }
  }
}

// A share of fewer blocks than the cache has shards (blaze_cache=65536 holds 15 blocks
// of a 4 KiB page and its header) still caches pages, and xFetch with them.
TEST_CASE("a blaze_cache share of 15 pages caches some pages", "[sql][fetch][cache]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("s.db");
  const std::string digest = CreateCacheTable(path);
  DbPtr db = Open("file:" + path + "?vfs=blaze&blaze_cache=65536");
  Exec(db.get(), std::string(kMmap) + "; PRAGMA cache_size=5");
  CHECK(ScanWatchingCache(db.get(), path) <= 65536);
  CHECK(RowsDigest(db.get(), "SELECT * FROM t ORDER BY id") == digest);
  CHECK(FileCounter(db.get(), path, "cache_pages") > 0);
  CHECK(FileCounter(db.get(), path, "fetches") > 0);
}
