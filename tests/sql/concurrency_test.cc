// tests/sql/concurrency_test.cc: several connections on several threads, and two
// processes sharing one database through blaze.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
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

// Reads one int from fd; false at end of file or error.
bool ReadInt(int fd, int* v) { return read(fd, v, sizeof *v) == static_cast<ssize_t>(sizeof *v); }
bool WriteInt(int fd, int v) { return write(fd, &v, sizeof v) == static_cast<ssize_t>(sizeof v); }

// Child process body: commits rows 1..n one per transaction; after commit k it tells
// the parent k and waits for the parent's go-ahead. Uses only the C API and returns an
// exit status, never throws: Catch2 must not run in the child.
int ChildWriter(const std::string& uri, int n, int to_parent, int from_parent) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, nullptr)) {
    return 2;
  }
  sqlite3_busy_timeout(db, 30000);
  int ready = -1;
  if (!ReadInt(from_parent, &ready) || ready != 0) return 6;  // the parent has read once
  for (int i = 1; i <= n; ++i) {
    const std::string sql = "INSERT INTO t VALUES (" + std::to_string(i) + ")";
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return 3;
    int ack = 0;
    if (!WriteInt(to_parent, i) || !ReadInt(from_parent, &ack) || ack != i) return 4;
  }
  return sqlite3_close(db) == SQLITE_OK ? 0 : 5;
}

// Kills and reaps the child if the parent leaves early (a failed REQUIRE).
struct ChildGuard {
  pid_t pid;
  bool reaped = false;
  ~ChildGuard() {
    if (!reaped) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

}  // namespace

TEST_CASE("a second process sees each commit of a writing process before its next read",
          "[sql][process]") {
  InitBlaze();
  for (const char* mode : {"wal", "delete"}) {
    DYNAMIC_SECTION("journal_mode=" << mode) {
      TempDir dir;
      const std::string uri = "file:" + dir.Path("p.db") + "?vfs=blaze";
      {
        DbPtr db = Open(uri);
        Exec(db.get(), std::string("PRAGMA journal_mode=") + mode);
        Exec(db.get(), "CREATE TABLE t(i INTEGER PRIMARY KEY)");
      }  // nothing of this file is open in this process when it forks

      int up[2], down[2];
      REQUIRE(pipe(up) == 0);
      REQUIRE(pipe(down) == 0);
      constexpr int kCommits = 100;
      const pid_t pid = fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        close(up[0]);
        close(down[1]);
        _exit(ChildWriter(uri, kCommits, up[1], down[0]));
      }
      ChildGuard guard{pid};
      close(up[1]);
      close(down[0]);

      // The reader keeps one connection (and its page cache) across all commits.
      DbPtr db = Open(uri);
      CHECK(QueryInt(db.get(), "SELECT count(*) FROM t") == 0);
      REQUIRE(WriteInt(down[1], 0));
      int k = 0, stale = 0;
      while (ReadInt(up[0], &k)) {
        const auto row = QueryRows(db.get(), "SELECT count(*), coalesce(max(i), 0) FROM t").at(0);
        if (row != std::to_string(k) + "|" + std::to_string(k)) ++stale;
        REQUIRE(WriteInt(down[1], k));
      }
      close(up[0]);
      close(down[1]);
      int status = 0;
      REQUIRE(waitpid(pid, &status, 0) == pid);
      guard.reaped = true;
      REQUIRE(WIFEXITED(status));
      CHECK(WEXITSTATUS(status) == 0);
      CHECK(k == kCommits);
      INFO("reads that missed the latest commit: " << stale);
      CHECK(stale == 0);
      CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
    }
  }
}
