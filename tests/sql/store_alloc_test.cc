// tests/sql/store_alloc_test.cc: reads, writes and commits through a warm blaze store file allocate nothing.
//
// Part of the cache-alloc program (tests/support/alloc_counter.cc counts operator new).
// The loop calls the store file's own methods (xLock, xRead, xWrite, xSync, xUnlock), as
// SQLite's pager does, so that SQLite's allocations are not in the count: what is
// counted is Blaze's. A checkpoint plans its work in vectors and is left out of the
// steady state (blaze_checkpoint=0); docs/design/cache.md says so.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "tests/support/alloc_counter.h"
#include "tests/support/db.h"

namespace blaze::test {
namespace {

constexpr int kPageSize = 4096;

sqlite3_file* MainFile(sqlite3* db) {
  sqlite3_file* f = nullptr;
  REQUIRE(sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK);
  REQUIRE(f != nullptr);
  return f;
}

// One write transaction as the pager runs it: locks, page writes, sync, unlock. Each
// page written is one read back from the file (so the database stays what it was).
// Returns how many calls failed (no Catch assertion inside the counted loop: only plain
// code runs between StartCountingNews and StopCountingNews).
int Transaction(sqlite3_file* f, std::mt19937& rng, int pages, int writes, int reads,
                std::vector<char>& buf) {
  const auto* m = f->pMethods;
  int failed = 0;
  auto call = [&failed](int rc) { failed += rc != SQLITE_OK; };
  std::uniform_int_distribution<int> pick(2, pages);  // page 1 stays as SQLite wrote it
  call(m->xLock(f, SQLITE_LOCK_SHARED));
  for (int i = 0; i < reads; ++i) {
    call(m->xRead(f, buf.data(), kPageSize, sqlite3_int64{pick(rng) - 1} * kPageSize));
  }
  call(m->xRead(f, buf.data(), 16, 24));  // the pager's change counter
  call(m->xLock(f, SQLITE_LOCK_RESERVED));
  call(m->xLock(f, SQLITE_LOCK_EXCLUSIVE));
  for (int i = 0; i < writes; ++i) {
    const sqlite3_int64 at = sqlite3_int64{pick(rng) - 1} * kPageSize;
    call(m->xRead(f, buf.data(), kPageSize, at));
    call(m->xWrite(f, buf.data(), kPageSize, at));
  }
  call(m->xSync(f, SQLITE_SYNC_NORMAL));
  call(m->xUnlock(f, SQLITE_LOCK_SHARED));
  call(m->xUnlock(f, SQLITE_LOCK_NONE));
  return failed;
}

TEST_CASE("a warm store file reads, writes and commits without allocating", "[alloc][store]") {
  InitBlaze();
  // Without and with the store's dictionary (lz4 and lz4hc against it: each thread's
  // lz4hc dictionary state is made at its first use, in the warm-up).
  for (const char* params :
       {"", "&blaze_dictionary=65536", "&blaze_dictionary=65536&blaze_codec=lz4hc"}) {
    DYNAMIC_SECTION("params '" << params << "'") {
      TempDir dir;
      const std::string path = dir.Path("a.db");
      // A write buffer of 16 pages: larger transactions evict from it to the log mid-way.
      DbPtr db = Open("file:" + path + "?vfs=blaze&blaze_checkpoint=0&blaze_write_buffer=65536" +
                      params);
      Exec(db.get(), "PRAGMA page_size=4096; CREATE TABLE t(k INTEGER PRIMARY KEY, v BLOB);"
                     "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)"
                     " INSERT INTO t SELECT i, hex(randomblob(150)) FROM c; SELECT blaze_checkpoint()");
      CHECK((FileCounter(db.get(), path, "dictionary_bytes") > 0) == (*params != 0));
      const int pages = static_cast<int>(QueryInt(db.get(), "PRAGMA page_count"));
      REQUIRE(pages > 200);
      sqlite3_file* f = MainFile(db.get());
      std::vector<char> buf(kPageSize);
      std::mt19937 rng(5);

      // Warm up: every page written once (the log index then has them all), read, and the
      // buffers sized for the largest transaction of the loop.
      {
        const auto* m = f->pMethods;
        REQUIRE(m->xLock(f, SQLITE_LOCK_SHARED) == SQLITE_OK);
        REQUIRE(m->xLock(f, SQLITE_LOCK_RESERVED) == SQLITE_OK);
        REQUIRE(m->xLock(f, SQLITE_LOCK_EXCLUSIVE) == SQLITE_OK);
        for (int p = 2; p <= pages; ++p) {
          const sqlite3_int64 at = sqlite3_int64{p - 1} * kPageSize;
          REQUIRE(m->xRead(f, buf.data(), kPageSize, at) == SQLITE_OK);
          REQUIRE(m->xWrite(f, buf.data(), kPageSize, at) == SQLITE_OK);
        }
        REQUIRE(m->xSync(f, SQLITE_SYNC_NORMAL) == SQLITE_OK);
        REQUIRE(m->xUnlock(f, SQLITE_LOCK_NONE) == SQLITE_OK);
      }
      for (int i = 0; i < 20; ++i) REQUIRE(Transaction(f, rng, pages, 40, 40, buf) == 0);

      const int64_t commits_before = FileCounter(db.get(), path, "commits");
      StartCountingNews();
      int transactions = 0;
      int failed = 0;
      for (; transactions < 300; ++transactions) {
        failed += Transaction(f, rng, pages, 1 + transactions % 40, 50, buf);
      }
      const uint64_t news = StopCountingNews();
      REQUIRE(failed == 0);
      const int64_t commits = FileCounter(db.get(), path, "commits") - commits_before;
      std::printf("store alloc%s: %d transactions (%lld commits), %d pages, %llu allocations\n",
                  params, transactions, static_cast<long long>(commits), pages,
                  static_cast<unsigned long long>(news));
      CHECK(commits == transactions);
      CHECK(FileCounter(db.get(), path, "cache_hits") > 0);
      CHECK(news == 0);
      CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
    }
  }
}

}  // namespace
}  // namespace blaze::test
