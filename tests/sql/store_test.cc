// tests/sql/store_test.cc: the compressed store as SQL sees it: size and space reuse,
// compaction, the figures in blaze_stats, absorption and what it refuses.
#include <catch2/catch.hpp>

#include <filesystem>
#include <iostream>
#include <string>

#include "tests/support/db.h"
#include "tests/support/log_capture.h"
#include "tests/support/peer.h"

using namespace blaze::test;

namespace {

// Whether a line logged since the last call contains `text` (clears the list).
bool Logged(const std::string& text) {
  for (const std::string& line : TakeLogLines()) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

int64_t Figure(sqlite3* db, const std::string& path, const std::string& column) {
  return QueryInt(db, "SELECT " + column + " FROM blaze_stats WHERE file = '" + path + "'");
}

// Text that compresses about as well as real prose does (not a repeated string).
const char* kFillSql =
    "WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < ?) "
    "INSERT INTO docs(id, body) SELECT value, printf('%d: the %s of %s went %s while %d "
    "others waited for the %s', value, "
    "  CASE value % 7 WHEN 0 THEN 'keeper' WHEN 1 THEN 'river' WHEN 2 THEN 'garden' "
    "    WHEN 3 THEN 'engine' WHEN 4 THEN 'letter' WHEN 5 THEN 'window' ELSE 'market' END, "
    "  CASE value % 5 WHEN 0 THEN 'north' WHEN 1 THEN 'the old town' WHEN 2 THEN 'spring' "
    "    WHEN 3 THEN 'nowhere' ELSE 'the harbour' END, "
    "  CASE value % 3 WHEN 0 THEN 'quiet' WHEN 1 THEN 'missing' ELSE 'home' END, "
    "  value * 37 % 1000, "
    "  CASE value % 4 WHEN 0 THEN 'morning train' WHEN 1 THEN 'last boat' "
    "    WHEN 2 THEN 'evening post' ELSE 'first snow' END) "
    "FROM s";

}  // namespace

TEST_CASE("the store compresses, and its figures add up", "[sql][store]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("fig.db");
  DbPtr db = Open("file:" + path + "?vfs=blaze");
  Exec(db.get(), "CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT)");
  std::string fill = kFillSql;
  fill.replace(fill.find('?'), 1, "20000");
  Exec(db.get(), fill);
  Exec(db.get(), "SELECT blaze_checkpoint()");
  const int64_t logical = Figure(db.get(), path, "logical_bytes");
  const int64_t stored = Figure(db.get(), path, "stored_bytes");
  const int64_t on_disk = static_cast<int64_t>(std::filesystem::file_size(path) +
                                               std::filesystem::file_size(path + "-blazelog"));
  CHECK(logical == QueryInt(db.get(), "PRAGMA page_count") *
                       QueryInt(db.get(), "PRAGMA page_size"));
  CHECK(stored == on_disk);
  CHECK(Figure(db.get(), path, "checkpoints") >= 1);
  CHECK(Figure(db.get(), path, "commits") >= 2);
  CHECK(Figure(db.get(), path, "log_bytes") == 64);  // just the header after a checkpoint
  std::cout << "store figures: logical " << logical << " bytes, stored " << stored
            << " bytes, ratio " << QueryText(db.get(), "SELECT round(ratio, 2) FROM blaze_stats "
                                                     "WHERE file = '" + path + "'")
            << "\n";
  CHECK(stored * 2 < logical);  // this text compresses better than 2:1
}

TEST_CASE("rewriting every row ten times reuses free space; compaction shrinks the file",
          "[sql][store][space]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("space.db");
  // No dictionary: one made at the first checkpoint would shrink the pages the first
  // round rewrites, and the first round is the yardstick here (the dictionary's own test
  // is below).
  DbPtr db = Open("file:" + path + "?vfs=blaze&blaze_checkpoint=262144&blaze_dictionary=0");
  Exec(db.get(), "CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT)");
  std::string fill = kFillSql;
  fill.replace(fill.find('?'), 1, "20000");
  Exec(db.get(), fill);
  Exec(db.get(), "SELECT blaze_checkpoint()");
  const auto loaded = static_cast<double>(Figure(db.get(), path, "stored_bytes"));
  // One round rewrites every row (every page changes) in one transaction. A checkpoint
  // never overwrites the slots the durable map reaches, so the first round needs room
  // for two copies; later rounds must reuse what earlier ones freed, not grow.
  double first = 0, worst = 0;
  for (int round = 1; round <= 10; ++round) {
    Exec(db.get(), "UPDATE docs SET body = body || '" + std::to_string(round % 3) + "'");
    Exec(db.get(), "UPDATE docs SET body = substr(body, 1, length(body) - 1)");
    Exec(db.get(), "SELECT blaze_checkpoint()");
    const auto stored = static_cast<double>(Figure(db.get(), path, "stored_bytes"));
    if (round == 1) first = stored;
    worst = std::max(worst, stored);
  }
  std::cout << "space: stored " << loaded << " bytes after the load, " << first
            << " after the first rewrite, at most " << worst << " over ten rewrites ("
            << worst / first << "x the first)\n";
  CHECK(worst <= 1.3 * first);

  // Delete half, then compact: the file must shrink well below what it was.
  Exec(db.get(), "DELETE FROM docs WHERE id % 2 = 0; VACUUM");
  Exec(db.get(), "SELECT blaze_checkpoint()");
  const int64_t before = Figure(db.get(), path, "stored_bytes");
  Exec(db.get(), "SELECT blaze_compact()");
  const int64_t after = Figure(db.get(), path, "stored_bytes");
  std::cout << "compaction: " << before << " -> " << after << " bytes\n";
  CHECK(after < before);
  CHECK(static_cast<double>(after) < 0.7 * loaded);
  CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM docs") == 10000);
}

TEST_CASE("maintenance functions refuse what they cannot do", "[sql][store]") {
  InitBlaze();
  TempDir dir;
  DbPtr db = Open("file:" + dir.Path("m.db") + "?vfs=blaze");
  Exec(db.get(), "CREATE TABLE t(x); INSERT INTO t VALUES (1)");
  // Inside this connection's own write transaction: refused, nothing half-committed.
  Exec(db.get(), "BEGIN; INSERT INTO t VALUES (2)");
  CHECK(TryExec(db.get(), "SELECT blaze_checkpoint()") == SQLITE_MISUSE);
  Exec(db.get(), "ROLLBACK");
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM t") == 1);
  // A database that is not a store.
  Exec(db.get(), "ATTACH 'file:" + dir.Path("plain.db") + "?vfs=unix' AS plain");
  CHECK(TryExec(db.get(), "SELECT blaze_checkpoint('plain')") != SQLITE_OK);
  CHECK(TryExec(db.get(), "SELECT blaze_checkpoint()") == SQLITE_OK);
}

// In WAL mode the right to checkpoint is SQLite's checkpoint lock in the wal-index,
// which a connection maps at its first read. Before that, the file control refuses
// (RESERVED would not keep another connection's WAL checkpoint out); the SQL function
// reads first and works.
TEST_CASE("a WAL-mode checkpoint before the connection's first read", "[sql][store]") {
  InitBlaze();
  TempDir dir;
  const std::string uri = "file:" + dir.Path("w.db") + "?vfs=blaze";
  DbPtr writer = Open(uri);
  Exec(writer.get(), "PRAGMA journal_mode=wal; CREATE TABLE t(x); INSERT INTO t VALUES (1)");
  DbPtr fresh = Open(uri);
  constexpr int kFcntlCheckpoint = 0x426c7a01;  // vfs/store_file.h
  CHECK(sqlite3_file_control(fresh.get(), "main", kFcntlCheckpoint, nullptr) == SQLITE_BUSY);
  CHECK(TryExec(fresh.get(), "SELECT blaze_checkpoint()") == SQLITE_OK);
  CHECK(QueryInt(fresh.get(), "SELECT count(*) FROM t") == 1);
  CHECK(FileCounter(fresh.get(), dir.Path("w.db"), "checkpoints") >= 1);
}

TEST_CASE("a plain SQLite file opened through blaze is refused with a clear error",
          "[sql][store]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("plain.db");
  {
    DbPtr plain = Open("file:" + path + "?vfs=unix");
    Exec(plain.get(), "CREATE TABLE t(x); INSERT INTO t VALUES (1)");
  }
  TakeLogLines();
  DbPtr db;
  const int rc = TryOpen("file:" + path + "?vfs=blaze", &db);
  CHECK(((rc == SQLITE_OK ? TryExec(db.get(), "SELECT count(*) FROM t") : rc) & 0xff) ==
        SQLITE_NOTADB);
  CHECK(Logged("plain SQLite database"));
  // Nothing was written to it.
  DbPtr again = Open("file:" + path + "?vfs=unix");
  CHECK(QueryInt(again.get(), "SELECT count(*) FROM t") == 1);
}

TEST_CASE("absorption keeps the journal in memory and commits with one log sync",
          "[sql][store][absorb]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("abs.db");
  DbPtr db = Open("file:" + path + "?vfs=blaze&blaze_journal=absorb");
  Exec(db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  const int64_t syncs_before = Figure(db.get(), path, "log_syncs");
  for (int i = 0; i < 50; ++i) {
    Exec(db.get(), "INSERT INTO t(v) VALUES ('row " + std::to_string(i) + "')");
    CHECK_FALSE(std::filesystem::exists(path + "-journal"));
  }
  CHECK(Figure(db.get(), path, "log_syncs") - syncs_before == 50);
  // Rollback and savepoints still work from the in-memory journal.
  Exec(db.get(), "BEGIN; DELETE FROM t; SAVEPOINT a; INSERT INTO t(v) VALUES ('x'); "
                 "ROLLBACK TO a; ROLLBACK");
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM t") == 50);
  // A spilling transaction rolled back restores every page.
  Exec(db.get(), "PRAGMA cache_size=10; BEGIN; UPDATE t SET v = hex(randomblob(500)); ROLLBACK");
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM t WHERE v LIKE 'row %'") == 50);
  CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
}

TEST_CASE("absorption refuses a transaction over several databases", "[sql][store][absorb]") {
  InitBlaze();
  TempDir dir;
  TakeLogLines();
  DbPtr db = Open("file:" + dir.Path("a.db") + "?vfs=blaze&blaze_journal=absorb");
  Exec(db.get(), "ATTACH 'file:" + dir.Path("b.db") + "?vfs=blaze&blaze_journal=absorb' AS b");
  Exec(db.get(), "CREATE TABLE main.t(x); CREATE TABLE b.t(x)");
  // Both databases change in one transaction: SQLite needs a super-journal, which
  // absorption cannot honour. It must fail and change neither database.
  const int rc = TryExec(db.get(), "BEGIN; INSERT INTO main.t VALUES (1); "
                                   "INSERT INTO b.t VALUES (1); COMMIT");
  CHECK((rc & 0xff) == SQLITE_IOERR);
  CHECK(Logged("several attached databases"));
  TryExec(db.get(), "ROLLBACK");
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM main.t") == 0);
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM b.t") == 0);
  // One database per transaction is fine.
  Exec(db.get(), "INSERT INTO main.t VALUES (2); INSERT INTO b.t VALUES (2)");
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM main.t") == 1);
}

// The store's dictionary (docs/design/store.md): made by the first checkpoint that finds
// the database at least blaze_dictionary bytes long; pages written after it compress
// against it. Every page size; the file then reads in a new connection and in another
// process, and is smaller than the same database without a dictionary.
TEST_CASE("a dictionary shrinks pages written after it, at every page size", "[sql][store][dict]") {
  InitBlaze();
  for (int page_size : {512, 4096, 65536}) {
    DYNAMIC_SECTION("page_size " << page_size) {
      TempDir dir;
      int64_t stored[2] = {0, 0};
      std::string digest;
      for (int with : {0, 1}) {
        const std::string path = dir.Path(with ? "dict.db" : "plain.db");
        const std::string uri = "file:" + path + "?vfs=blaze&blaze_dictionary=" +
                                (with ? "65536" : "0");
        Peer peer;  // forked before this process opens the file
        {
          DbPtr db = Open(uri);
          Exec(db.get(), "PRAGMA page_size=" + std::to_string(page_size) +
                             "; CREATE TABLE docs(id INTEGER PRIMARY KEY, body TEXT)");
          std::string fill = kFillSql;
          fill.replace(fill.find('?'), 1, "12000");
          Exec(db.get(), fill);
          Exec(db.get(), "SELECT blaze_checkpoint()");
          // Every page again, now against the dictionary (when there is one).
          Exec(db.get(), "UPDATE docs SET body = body || ' again'; SELECT blaze_compact()");
          stored[with] = Figure(db.get(), path, "stored_bytes");
          CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
          if (with) {
            CHECK(RowsDigest(db.get(), "SELECT * FROM docs ORDER BY id") == digest);
          } else {
            digest = RowsDigest(db.get(), "SELECT * FROM docs ORDER BY id");
          }
        }
        // A new connection (the store reloaded from disk) and another process.
        DbPtr again = Open(uri);
        CHECK(RowsDigest(again.get(), "SELECT * FROM docs ORDER BY id") == digest);
        peer.Open(uri);
        CHECK(peer.Digest("SELECT * FROM docs ORDER BY id") == digest);
        peer.Exec("UPDATE docs SET body = upper(body) WHERE id % 10 = 0");
        CHECK(RowsDigest(again.get(), "SELECT count(*) FROM docs WHERE body = upper(body)") ==
              RowsDigest(again.get(), "SELECT 1200"));
        peer.Finish();
      }
      std::cout << "dictionary, page_size " << page_size << ": " << stored[0] << " bytes without, "
                << stored[1] << " with (" << static_cast<double>(stored[1]) / stored[0] << ")\n";
      CHECK(stored[1] < stored[0]);
    }
  }
}
