// tests/sql/concurrency_test.cc: several connections on several threads, and two
// processes sharing one database through blaze.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "tests/support/db.h"

using namespace blaze::test;

TEST_CASE("two connections on two threads write one database", "[sql][threads]") {
  InitBlaze();
  for (const char* mode : {"delete", "wal"}) {
    DYNAMIC_SECTION("journal_mode=" << mode) {
      TempDir dir;
      const std::string uri = "file:" + dir.Path("c.db") + "?vfs=blaze";
      {
        DbPtr db = Open(uri);
        Exec(db.get(), std::string("PRAGMA journal_mode=") + mode);
        Exec(db.get(), "CREATE TABLE t(thread INTEGER, i INTEGER, pad TEXT)");
      }
      constexpr int kPerThread = 200;
      std::atomic<int> failures{0};
      auto writer = [&](int thread) {
        sqlite3* raw = nullptr;
        if (sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI,
                            nullptr) != SQLITE_OK) {
          ++failures;
        }
        DbPtr db(raw);
        sqlite3_busy_timeout(raw, 30000);
        for (int i = 0; i < kPerThread && failures == 0; ++i) {
          const std::string sql = "INSERT INTO t VALUES (" + std::to_string(thread) + "," +
                                  std::to_string(i) + ", printf('%.500c', 'x'))";
          if (sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
            ++failures;
          }
          // Reads interleave with the other thread's writes.
          if (sqlite3_exec(raw, "SELECT count(*) FROM t", nullptr, nullptr, nullptr) !=
              SQLITE_OK) {
            ++failures;
          }
        }
      };
      std::thread a(writer, 1), b(writer, 2);
      a.join();
      b.join();
      REQUIRE(failures == 0);
      DbPtr db = Open(uri);
      CHECK(QueryInt(db.get(), "SELECT count(*) FROM t") == 2 * kPerThread);
      CHECK(QueryInt(db.get(), "SELECT count(DISTINCT thread || '-' || i) FROM t") ==
            2 * kPerThread);
      CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
    }
  }
}

namespace {

// Child process body: commits rows 1..n one per transaction. Uses only the C API and
// returns an exit status, never throws: Catch2 must not run in the child.
int ChildWriter(const std::string& uri, int n) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, nullptr)) {
    return 2;
  }
  sqlite3_busy_timeout(db, 30000);
  for (int i = 1; i <= n; ++i) {
    const std::string sql = "INSERT INTO t VALUES (" + std::to_string(i) + ")";
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return 3;
    usleep(2000);
  }
  return sqlite3_close(db) == SQLITE_OK ? 0 : 4;
}

}  // namespace

TEST_CASE("a second process sees every commit of a writing process", "[sql][process]") {
  InitBlaze();
  for (const char* mode : {"wal", "delete"}) {
    DYNAMIC_SECTION("journal_mode=" << mode) {
      TempDir dir;
      const std::string uri = "file:" + dir.Path("p.db") + "?vfs=blaze";
      DbPtr db = Open(uri);
      Exec(db.get(), std::string("PRAGMA journal_mode=") + mode);
      Exec(db.get(), "CREATE TABLE t(i INTEGER PRIMARY KEY)");

      constexpr int kCommits = 150;
      const pid_t pid = fork();
      REQUIRE(pid >= 0);
      if (pid == 0) _exit(ChildWriter(uri, kCommits));

      // Read while the child writes: every read sees a prefix 1..k of the commits, k
      // never goes backwards, and we see many different k before the child finishes.
      std::set<int64_t> seen;
      int64_t last = 0;
      bool consistent = true;
      int status = 0;
      for (;;) {
        const bool child_done = waitpid(pid, &status, WNOHANG) == pid;
        const auto row = QueryRows(db.get(), "SELECT count(*), coalesce(max(i), 0) FROM t").at(0);
        const int64_t count = std::stoll(row.substr(0, row.find('|')));
        const int64_t max = std::stoll(row.substr(row.find('|') + 1));
        consistent = consistent && count == max && count >= last;
        last = count;
        seen.insert(count);
        if (child_done) break;
        usleep(1000);
      }
      REQUIRE(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);
      CHECK(consistent);
      CHECK(last == kCommits);
      INFO("distinct states seen by the reader: " << seen.size());
      CHECK(seen.size() >= 10);
      CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
    }
  }
}
