// tests/sql/features_test.cc: SQLite features that must keep working through blaze:
// mmap (xFetch), the backup API, VACUUM INTO, SQLITE_FCNTL_VFSNAME, stacking with
// blaze_vfs_register, URI parameter errors, the SQL surface.
#include <catch2/catch.hpp>

#include "include/blaze.h"
#include "tests/sql/workload.h"
#include "tests/support/db.h"
#include "tests/support/log_capture.h"

using namespace blaze::test;

namespace {

constexpr int kRows = 800;

std::string VfsName(sqlite3* db) {
  char* name = nullptr;
  REQUIRE(sqlite3_file_control(db, "main", SQLITE_FCNTL_VFSNAME, &name) == SQLITE_OK);
  std::string out = name ? name : "";
  sqlite3_free(name);
  return out;
}

int64_t TotalCounter(sqlite3* db, const std::string& counter) {
  return QueryInt(db, "SELECT " + counter + " FROM blaze_stats WHERE file IS NULL");
}

void Backup(sqlite3* from, sqlite3* to) {
  sqlite3_backup* b = sqlite3_backup_init(to, "main", from, "main");
  REQUIRE(b != nullptr);
  int rc;
  while ((rc = sqlite3_backup_step(b, 7)) == SQLITE_OK) {
  }
  CHECK(rc == SQLITE_DONE);
  REQUIRE(sqlite3_backup_finish(b) == SQLITE_OK);
}

}  // namespace

// With mmap_size set, xFetch hands SQLite pointers to pages pinned in the page cache
// (the page file itself is never mapped: it holds compressed bytes). Page 1 and pages
// of a write transaction still go through xRead. tests/sql/fetch_test.cc goes further.
TEST_CASE("PRAGMA mmap_size works on a store (xFetch serves cached pages)", "[sql][mmap]") {
  InitBlaze();
  for (const char* mode : {"delete", "wal"}) {
    DYNAMIC_SECTION("journal_mode=" << mode) {
      TempDir dir;
      const std::string path = dir.Path("m.db");
      DbPtr db = Open("file:" + path + "?vfs=blaze");
      Exec(db.get(), std::string("PRAGMA journal_mode=") + mode);
      Exec(db.get(), "PRAGMA mmap_size=67108864");
      RunCrudWorkload(db.get(), kRows);
      db.reset();  // from here on, only the reader's figures are in blaze_stats
      DbPtr reader = Open("file:" + path + "?vfs=blaze");
      Exec(reader.get(), "PRAGMA mmap_size=67108864");
      CHECK(QueryText(reader.get(), "PRAGMA mmap_size") == "67108864");
      CHECK(CrudDigest(reader.get()) == ExpectedCrudDigest(kRows));
      CHECK(QueryText(reader.get(), "PRAGMA integrity_check") == "ok");
      CHECK(FileCounter(reader.get(), path, "fetches") > 0);
      CHECK(FileCounter(reader.get(), path, "reads") > 0);
      CHECK(FileCounter(reader.get(), path, "cache_pinned") == 0);  // every fetch released
    }
  }
}

TEST_CASE("the backup API copies between blaze and unix both ways", "[sql][backup]") {
  InitBlaze();
  TempDir dir;
  DbPtr src = Open("file:" + dir.Path("src.db") + "?vfs=unix");
  RunCrudWorkload(src.get(), kRows);

  DbPtr mid = Open("file:" + dir.Path("mid.db") + "?vfs=blaze");
  Backup(src.get(), mid.get());
  CHECK(CrudDigest(mid.get()) == ExpectedCrudDigest(kRows));
  CHECK(QueryText(mid.get(), "PRAGMA integrity_check") == "ok");
  CHECK(FileCounter(mid.get(), dir.Path("mid.db"), "writes") > 0);

  DbPtr back = Open("file:" + dir.Path("back.db") + "?vfs=unix");
  Backup(mid.get(), back.get());
  CHECK(CrudDigest(back.get()) == ExpectedCrudDigest(kRows));
  CHECK(QueryText(back.get(), "PRAGMA integrity_check") == "ok");
}

TEST_CASE("VACUUM INTO moves data into blaze and back out", "[sql][vacuum]") {
  InitBlaze();
  TempDir dir;
  DbPtr plain = Open("file:" + dir.Path("plain.db") + "?vfs=unix");
  RunCrudWorkload(plain.get(), kRows);

  const int64_t writes_before = TotalCounter(plain.get(), "writes");
  Exec(plain.get(), "VACUUM INTO 'file:" + dir.Path("packed.db") + "?vfs=blaze'");
  CHECK(TotalCounter(plain.get(), "writes") > writes_before);  // it went through blaze

  DbPtr packed = Open("file:" + dir.Path("packed.db") + "?vfs=blaze");
  CHECK(CrudDigest(packed.get()) == ExpectedCrudDigest(kRows));
  Exec(packed.get(), "VACUUM INTO 'file:" + dir.Path("out.db") + "?vfs=unix'");

  DbPtr out = Open("file:" + dir.Path("out.db") + "?vfs=unix");
  CHECK(CrudDigest(out.get()) == ExpectedCrudDigest(kRows));
  CHECK(QueryText(out.get(), "PRAGMA integrity_check") == "ok");
}

TEST_CASE("SQLITE_FCNTL_VFSNAME names the whole stack", "[sql][register]") {
  InitBlaze();
  TempDir dir;
  DbPtr db = Open("file:" + dir.Path("n.db") + "?vfs=blaze");
  CHECK(VfsName(db.get()) == "blaze/unix");
}

TEST_CASE("blaze_vfs_register stacks blaze over any registered VFS", "[sql][register]") {
  InitBlaze();
  CHECK(blaze_vfs_register("blaze-dotfile", "unix-dotfile", 0) == SQLITE_OK);
  CHECK(blaze_vfs_register("blaze-dotfile", "unix-dotfile", 0) == SQLITE_OK);  // again: fine
  CHECK(blaze_vfs_register("blaze-on-blaze", "blaze", 0) == SQLITE_OK);
  REQUIRE(sqlite3_vfs_find("blaze-dotfile") != nullptr);
  CHECK(sqlite3_vfs_find(nullptr) != sqlite3_vfs_find("blaze-dotfile"));  // not default

  TempDir dir;
  for (const char* vfs : {"blaze-dotfile", "blaze-on-blaze"}) {
    DYNAMIC_SECTION(vfs) {
      const std::string path = dir.Path(std::string(vfs) + ".db");
      DbPtr db = Open("file:" + path + "?vfs=" + vfs);
      RunCrudWorkload(db.get(), 300);
      CHECK(CrudDigest(db.get()) == ExpectedCrudDigest(300));
      CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
      const std::string expected = std::string(vfs) == "blaze-dotfile"
                                       ? "blaze-dotfile/unix-dotfile"
                                       : "blaze-on-blaze/blaze/unix";
      CHECK(VfsName(db.get()) == expected);
      CHECK(QueryInt(db.get(), "SELECT count(*) FROM blaze_stats WHERE vfs = '" +
                                   std::string(vfs) + "' AND file = '" + path + "'") == 1);
    }
  }
}

TEST_CASE("blaze_vfs_register refuses what it cannot do, and says why", "[sql][register]") {
  InitBlaze();
  CHECK(blaze_vfs_register("blaze-x", "no-such-vfs", 0) == SQLITE_ERROR);
  CHECK_THAT(blaze_last_error(), Catch::Contains("no-such-vfs"));
  CHECK(sqlite3_vfs_find("blaze-x") == nullptr);

  CHECK(blaze_vfs_register("unix-none", nullptr, 0) == SQLITE_ERROR);  // not ours
  CHECK_THAT(blaze_last_error(), Catch::Contains("unix-none"));

  REQUIRE(blaze_vfs_register("blaze-y", "unix", 0) == SQLITE_OK);
  CHECK(blaze_vfs_register("blaze-y", "unix-none", 0) == SQLITE_ERROR);  // other base

  CHECK(blaze_vfs_register(nullptr, nullptr, 0) == SQLITE_MISUSE);
  CHECK(blaze_vfs_register("", nullptr, 0) == SQLITE_MISUSE);
}

TEST_CASE("blaze_vfs_register can make the new VFS the default", "[sql][register]") {
  InitBlaze();
  struct RestoreDefault {
    sqlite3_vfs* vfs = sqlite3_vfs_find(nullptr);
    ~RestoreDefault() { sqlite3_vfs_register(vfs, 1); }
  } restore;
  REQUIRE(std::string(restore.vfs->zName) == "unix");
  REQUIRE(blaze_vfs_register("blaze-default", nullptr, 1) == SQLITE_OK);
  CHECK(std::string(sqlite3_vfs_find(nullptr)->zName) == "blaze-default");
  // Again, with the new default now a Blaze VFS: same pair, still fine.
  CHECK(blaze_vfs_register("blaze-default", nullptr, 1) == SQLITE_OK);
  // A NULL base means the VFS below the default Blaze, never Blaze over Blaze.
  REQUIRE(blaze_vfs_register("blaze-second", nullptr, 0) == SQLITE_OK);
  TempDir dir;
  {
    DbPtr db = Open(dir.Path("d.db"));  // no vfs= in the name
    CHECK(VfsName(db.get()) == "blaze-default/unix");
    DbPtr second = Open("file:" + dir.Path("s.db") + "?vfs=blaze-second");
    CHECK(VfsName(second.get()) == "blaze-second/unix");
  }
}

TEST_CASE("a bad blaze_* URI parameter fails the open and names it", "[sql][uri]") {
  InitBlaze();
  TempDir dir;
  struct Case {
    std::string query;
    std::string names;
  };
  const Case cases[] = {
      {"blaze_nonsense=1", "blaze_nonsense"},
      {"blaze_codec=zstd", "blaze_codec"},
      {"blaze_codec=lz4hc&blaze_level=40", "blaze_level"},
      {"blaze_level=fast", "blaze_level"},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.query) {
      TakeLogLines();
      const std::string path = dir.Path("bad.db");
      DbPtr db;
      CHECK(TryOpen("file:" + path + "?vfs=blaze&" + c.query, &db) == SQLITE_CANTOPEN);
      CHECK_THAT(blaze_last_error(), Catch::Contains(c.names));
      bool logged = false;
      for (const std::string& line : TakeLogLines()) {
        logged = logged || line.find(c.names) != std::string::npos;
      }
      CHECK(logged);
      db.reset();
      CHECK(std::filesystem::exists(path) == false);  // nothing was created

      // The reason is also readable from SQL on the same thread.
      DbPtr mem = Open(":memory:");
      CHECK_THAT(QueryText(mem.get(), "SELECT blaze_last_error()"), Catch::Contains(c.names));
    }
  }
  // Good values open fine; other VFSes' and SQLite's own parameters are left alone.
  DbPtr db = Open("file:" + dir.Path("good.db") +
                  "?vfs=blaze&blaze_codec=lz4hc&blaze_level=12&cache=private&other=1");
  Exec(db.get(), "CREATE TABLE t(x)");
}

TEST_CASE("blaze_stats lists open store files and a total row", "[sql][stats]") {
  InitBlaze();
  TempDir dir;
  const std::string a = dir.Path("a.db"), b = dir.Path("b.db");
  DbPtr da = Open("file:" + a + "?vfs=blaze");
  DbPtr db = Open("file:" + b + "?vfs=blaze");
  Exec(da.get(), "CREATE TABLE t(x); INSERT INTO t VALUES (1)");
  Exec(db.get(), "CREATE TABLE t(x)");

  const int64_t writes_a = FileCounter(da.get(), a, "writes");
  const int64_t syncs_a = FileCounter(da.get(), a, "syncs");
  CHECK(writes_a > 0);
  CHECK(syncs_a > 0);
  // Another connection sees the same figures: they are per process, not per connection.
  CHECK(FileCounter(db.get(), a, "writes") == writes_a);
  CHECK(QueryInt(da.get(), "SELECT count(*) FROM blaze_stats WHERE file IN ('" + a + "','" +
                               b + "')") == 2);
  CHECK(QueryInt(da.get(), "SELECT count(*) FROM blaze_stats WHERE file IS NULL") == 1);
  CHECK(QueryInt(da.get(), "SELECT writes >= " + std::to_string(writes_a) +
                               " FROM blaze_stats WHERE file IS NULL") == 1);
  CHECK(QueryText(da.get(), "SELECT blaze_version()") == "0.1.0");

  db.reset();
  CHECK(QueryInt(da.get(), "SELECT count(*) FROM blaze_stats WHERE file = '" + b + "'") == 0);
}

TEST_CASE("truncation through blaze is counted and keeps the file consistent", "[sql]") {
  InitBlaze();
  TempDir dir;
  const std::string path = dir.Path("v.db");
  DbPtr db = Open("file:" + path + "?vfs=blaze");
  RunCrudWorkload(db.get(), kRows);
  Exec(db.get(), "DELETE FROM t; VACUUM;");
  CHECK(FileCounter(db.get(), path, "truncates") > 0);
  CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
  CHECK(std::filesystem::file_size(path) <= 4 * 4096);
}
