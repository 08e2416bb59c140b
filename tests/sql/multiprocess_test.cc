// tests/sql/multiprocess_test.cc: two processes on one blaze database.
//
// The parent (A) forks a child (B); both keep one connection open for the whole test
// case and talk through two pipes (commands down, replies up). Nothing of the database
// is open in the parent when it forks. The child uses only the C API and never throws:
// Catch2 must not run there.
//
//  - Stale reads: round after round, one process commits (a ledger row, updates spread
//    over a table, every third round ~120 KB of incompressible rows, old ones deleted
//    every fifth), then the other, whose connection read the previous state just before
//    (a warm page cache and store view), must read exactly the writer's new state (a
//    digest of every row). Writers alternate. In DELETE and WAL mode, with a small
//    blaze_checkpoint (a store checkpoint every few commits; in WAL mode SQLite's
//    frequent checkpoints are what write the store) and with no automatic checkpoint at
//    all (the store log grows to megabytes, so the other process's refreshes recover a
//    long log).
//  - Concurrent writers: both processes move units between accounts as fast as they
//    can, with busy_timeout and BEGIN IMMEDIATE, plus large rows now and then; at the
//    end the balances are exactly what the transfer ledger says and the sum is intact.
//  - Checkpoint while reading (WAL): A holds a read transaction with a tiny page cache
//    and keeps re-reading its snapshot while B commits large rows and runs
//    wal_checkpoint(TRUNCATE) and (PASSIVE) over and over (store checkpoints reset the log
//    and move pages under A's store view). Every one of A's reads must equal its
//    snapshot; once A ends its transaction it must see B's last commit, and B's final
//    TRUNCATE checkpoint must then complete.
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <set>
#include <iostream>
#include <string>

#include "tests/support/db.h"

using namespace blaze::test;

namespace {

// ---- Both processes: C API only, errors as values ----

struct Msg {
  int32_t op;
  int32_t round;
  uint64_t digest;
  int64_t extra;
  int64_t ckpts = 0;  // up: the store checkpoints the child has made so far
};
enum : int32_t {
  kWrite = 1,     // down: commit round `round`; up: kDone with the digest after it
  kVerify,        // down: read, expect `digest`; up: kDone with the digest read
  kConcurrent,    // down: run `round` transfers; up: kDone
  kPrepareWal,    // down: autocheckpoint off, commit `round` rounds; up: kDone, digest
  kCheckpointing, // down: until told to stop, commit + checkpoint; up: kDone, digest,
                  //       extra = checkpoints that could not finish (busy)
  kStop,          // down: ends kCheckpointing
  kFinalCkpt,     // down: wal_checkpoint(TRUNCATE); up: kDone, extra = its busy flag
  kExit,
  kDone = 100,
  kState,         // up, during kCheckpointing: the digest after each commit
  kFailed,        // up: extra = SQLite result code
};

bool Send(int fd, const Msg& m) { return write(fd, &m, sizeof m) == static_cast<ssize_t>(sizeof m); }
bool Recv(int fd, Msg* m) { return read(fd, m, sizeof *m) == static_cast<ssize_t>(sizeof *m); }

// FNV-1a over every row of every table, in key order, with types.
struct Hasher {
  uint64_t h = 1469598103934665603ull;
  void Add(const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  }
};

// The digest of the database as db sees it; 0 with *rc set on failure.
uint64_t Digest(sqlite3* db, int* rc) {
  Hasher hash;
  for (const char* sql : {"SELECT * FROM kv ORDER BY k", "SELECT * FROM ledger ORDER BY id",
                          "SELECT * FROM big ORDER BY id", "SELECT * FROM acct ORDER BY id",
                          "SELECT * FROM transfers ORDER BY id"}) {
    sqlite3_stmt* s = nullptr;
    *rc = sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
    if (*rc != SQLITE_OK) return 0;
    while ((*rc = sqlite3_step(s)) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const int type = sqlite3_column_type(s, i);
        hash.Add(&type, sizeof type);
        const void* p = sqlite3_column_blob(s, i);
        const int n = sqlite3_column_bytes(s, i);
        hash.Add(&n, sizeof n);
        if (p != nullptr) hash.Add(p, static_cast<size_t>(n));
      }
    }
    sqlite3_finalize(s);
    if (*rc != SQLITE_DONE) return 0;
  }
  *rc = SQLITE_OK;
  return hash.h;
}

// Runs sql; on SQLITE_BUSY (possible for BEGIN IMMEDIATE and COMMIT despite the
// timeout) rolls back and retries. Returns the final code.
int ExecRetry(sqlite3* db, const std::string& sql) {
  for (int attempt = 0;; ++attempt) {
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    if ((rc & 0xff) != SQLITE_BUSY || attempt == 50) return rc;
    if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

// Round r's transaction, written by process `who`.
int WriteRound(sqlite3* db, int r, int who) {
  const std::string rs = std::to_string(r);
  std::string sql = "BEGIN IMMEDIATE;"
                    "INSERT INTO ledger VALUES (" + rs + "," + std::to_string(who) +
                    ", hex(randomblob(40)));"
                    "UPDATE kv SET v = v + " + rs + ", pad = hex(randomblob(30)) WHERE k % 7 = " +
                    std::to_string(r % 7) + ";";
  if (r % 3 == 0) {
    sql += "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40) "
           "INSERT INTO big(round, data) SELECT " + rs + ", randomblob(3000) FROM c;";
  }
  if (r % 5 == 0) sql += "DELETE FROM big WHERE round < " + std::to_string(r - 10) + ";";
  sql += "COMMIT;";
  return ExecRetry(db, sql);
}

// One transfer of process `who`, number i.
int Transfer(sqlite3* db, int who, int i) {
  const int from = (i * 7 + who) % 10, to = (i * 3 + 1 + who * 5) % 10;
  std::string sql = "BEGIN IMMEDIATE;"
                    "UPDATE acct SET bal = bal - 1 WHERE id = " + std::to_string(from) + ";"
                    "UPDATE acct SET bal = bal + 1 WHERE id = " + std::to_string(to) + ";"
                    "INSERT INTO transfers(who, i, src, dst) VALUES (" + std::to_string(who) + "," +
                    std::to_string(i) + "," + std::to_string(from) + "," + std::to_string(to) + ");";
  if (i % 25 == 0) {
    sql += "INSERT INTO big(round, data) SELECT -1, randomblob(3000) FROM "
           "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30) "
           "SELECT x FROM c);";
  }
  sql += "COMMIT;";
  return ExecRetry(db, sql);
}

int64_t StoreCheckpoints(sqlite3* db) {
  sqlite3_stmt* s = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, "SELECT total(checkpoints) FROM blaze_stats WHERE file IS NOT NULL",
                         -1, &s, nullptr) == SQLITE_OK &&
      sqlite3_step(s) == SQLITE_ROW) {
    n = sqlite3_column_int64(s, 0);
  }
  sqlite3_finalize(s);
  return n;
}

int OpenPeer(const std::string& uri, sqlite3** db) {
  int rc = sqlite3_open_v2(uri.c_str(), db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) return rc;
  sqlite3_busy_timeout(*db, 10000);
  return sqlite3_exec(*db, "PRAGMA wal_autocheckpoint=20; PRAGMA cache_size=20;", nullptr,
                      nullptr, nullptr);
}

// The child's side: obeys commands until kExit or the pipe closes.
int ChildPeer(const std::string& uri, int up, int down) {
  constexpr int kWho = 2;
  sqlite3* db = nullptr;
  if (OpenPeer(uri, &db) != SQLITE_OK) return 2;
  auto failed = [&](int rc) {
    Send(up, {kFailed, 0, 0, rc});
    return 3;
  };
  for (Msg m; Recv(down, &m);) {
    int rc = SQLITE_OK;
    Msg reply{kDone, m.round, 0, 0};
    switch (m.op) {
      case kWrite:
        if ((rc = WriteRound(db, m.round, kWho)) != SQLITE_OK) return failed(rc);
        reply.digest = Digest(db, &rc);
        break;
      case kVerify:
        reply.digest = Digest(db, &rc);
        break;
      case kConcurrent:
        for (int i = 0; i < m.round && rc == SQLITE_OK; ++i) rc = Transfer(db, kWho, i);
        break;
      case kPrepareWal:
        rc = sqlite3_exec(db, "PRAGMA wal_autocheckpoint=0", nullptr, nullptr, nullptr);
        for (int r = 1; r <= m.round && rc == SQLITE_OK; ++r) rc = WriteRound(db, 10000 + r, kWho);
        if (rc == SQLITE_OK) reply.digest = Digest(db, &rc);
        break;
      case kCheckpointing: {
        // A reader holds a snapshot: TRUNCATE must not wait the full timeout each time.
        sqlite3_busy_timeout(db, 20);
        int r = 20000;
        pollfd p{down, POLLIN, 0};
        while (rc == SQLITE_OK && poll(&p, 1, 0) == 0) {
          rc = WriteRound(db, ++r, kWho);
          if (rc != SQLITE_OK) break;
          const uint64_t d = Digest(db, &rc);
          if (rc != SQLITE_OK) break;
          if (!Send(up, {kState, r, d, 0})) return 7;
          for (int mode : {SQLITE_CHECKPOINT_TRUNCATE, SQLITE_CHECKPOINT_PASSIVE}) {
            const int ck = sqlite3_wal_checkpoint_v2(db, nullptr, mode, nullptr, nullptr);
            if (ck == SQLITE_BUSY) {
              ++reply.extra;
            } else if (ck != SQLITE_OK) {
              rc = ck;
              break;
            }
          }
        }
        sqlite3_busy_timeout(db, 10000);
        Msg stop;
        if (!Recv(down, &stop) || stop.op != kStop) return 4;
        if (rc == SQLITE_OK) reply.digest = Digest(db, &rc);
        reply.round = r;
        break;
      }
      case kFinalCkpt: {
        int log = -1, ckpt = -1;
        rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &ckpt);
        reply.extra = rc == SQLITE_BUSY ? 1 : 0;
        if (rc == SQLITE_BUSY) rc = SQLITE_OK;
        break;
      }
      case kExit:
        return sqlite3_close(db) == SQLITE_OK ? 0 : 5;
      default:
        return 6;
    }
    if (rc != SQLITE_OK) return failed(rc);
    reply.ckpts = StoreCheckpoints(db);
    if (!Send(up, reply)) return 7;
  }
  return 8;
}

// ---- The parent ----

// A forked child peer; kills and reaps it if the test leaves early.
class Peer {
 public:
  explicit Peer(const std::string& uri) {
    int up[2], down[2];
    REQUIRE(pipe(up) == 0);
    REQUIRE(pipe(down) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      close(up[0]);
      close(down[1]);
      _exit(ChildPeer(uri, up[1], down[0]));
    }
    close(up[1]);
    close(down[0]);
    up_ = up[0];
    down_ = down[1];
  }
  ~Peer() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(up_);
    close(down_);
  }

  void Send(const Msg& m) { REQUIRE(::Send(down_, m)); }
  Msg Reply() {
    Msg m{};
    do REQUIRE(Recv(up_, &m));
    while (m.op == kState && on_state_ && (on_state_(m), true));
    INFO("child failed with SQLite code " << m.extra);
    REQUIRE(m.op == kDone);
    return m;
  }
  // Takes kState messages as they come (Reply() hands them to `f` too).
  void OnState(std::function<void(const Msg&)> f) { on_state_ = std::move(f); }
  void TakeStates() {
    for (pollfd p{up_, POLLIN, 0}; poll(&p, 1, 0) > 0;) {
      Msg m{};
      REQUIRE(Recv(up_, &m));
      REQUIRE(m.op == kState);
      on_state_(m);
    }
  }
  Msg Call(const Msg& m) {
    Send(m);
    return Reply();
  }
  // Tells the child to exit and requires a clean exit.
  void Finish() {
    Send({kExit, 0, 0, 0});
    int status = 0;
    REQUIRE(waitpid(pid_, &status, 0) == pid_);
    pid_ = -1;
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

 private:
  pid_t pid_ = -1;
  int up_ = -1, down_ = -1;
  std::function<void(const Msg&)> on_state_;
};

uint64_t ParentDigest(sqlite3* db) {
  int rc = SQLITE_OK;
  const uint64_t d = Digest(db, &rc);
  INFO("digest: " << sqlite3_errmsg(db));
  REQUIRE(rc == SQLITE_OK);
  return d;
}

std::string CreateDatabase(const TempDir& dir, const std::string& mode, const std::string& ckpt) {
  const std::string uri = "file:" + dir.Path("m.db") + "?vfs=blaze&blaze_checkpoint=" + ckpt;
  DbPtr db = Open(uri);
  Exec(db.get(), "PRAGMA journal_mode=" + mode);
  Exec(db.get(),
       "CREATE TABLE kv(k INTEGER PRIMARY KEY, v INTEGER, pad TEXT);"
       "CREATE TABLE ledger(id INTEGER PRIMARY KEY, who INTEGER, note TEXT);"
       "CREATE TABLE big(id INTEGER PRIMARY KEY, round INTEGER, data BLOB);"
       "CREATE INDEX big_round ON big(round);"
       "CREATE TABLE acct(id INTEGER PRIMARY KEY, bal INTEGER);"
       "CREATE TABLE transfers(id INTEGER PRIMARY KEY, who INTEGER, i INTEGER, src INTEGER, "
       "dst INTEGER);"
       "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 299) "
       "INSERT INTO kv SELECT x, 0, hex(randomblob(30)) FROM c;"
       "WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 9) "
       "INSERT INTO acct SELECT x, 1000 FROM c;");
  return uri;
}  // closed: nothing of this file is open in this process when it forks

DbPtr OpenParent(const std::string& uri) {
  DbPtr db = Open(uri);
  Exec(db.get(), "PRAGMA wal_autocheckpoint=20; PRAGMA cache_size=20;");
  return db;
}

int64_t Checkpoints(sqlite3* db) {
  return QueryInt(db, "SELECT total(checkpoints) FROM blaze_stats WHERE file IS NOT NULL");
}

}  // namespace

TEST_CASE("each process reads exactly what the other committed, round after round",
          "[sql][process][multiprocess]") {
  InitBlaze();
  constexpr int kRounds = 40;
  for (const char* mode : {"delete", "wal"}) {
    for (const char* ckpt : {"32768", "0"}) {
      DYNAMIC_SECTION("journal_mode=" << mode << " blaze_checkpoint=" << ckpt) {
        TempDir dir;
        const std::string uri = CreateDatabase(dir, mode, ckpt);
        Peer child(uri);
        DbPtr db = OpenParent(uri);
        uint64_t expect = ParentDigest(db.get());
        CHECK(child.Call({kVerify, 0, expect, 0}).digest == expect);
        int stale = 0;
        int64_t child_ckpts = 0;
        for (int r = 1; r <= kRounds; ++r) {
          INFO("round " << r);
          if (r % 2 == 1) {
            // The child writes; the parent (warm since its last read) must see it.
            const Msg m = child.Call({kWrite, r, 0, 0});
            expect = m.digest;
            child_ckpts = m.ckpts;
            if (ParentDigest(db.get()) != expect) ++stale;
          } else {
            REQUIRE(WriteRound(db.get(), r, 1) == SQLITE_OK);
            expect = ParentDigest(db.get());
            if (child.Call({kVerify, r, expect, 0}).digest != expect) ++stale;
          }
          CHECK(stale == 0);
        }
        const int64_t parent_ckpts = Checkpoints(db.get());
        CHECK(QueryInt(db.get(), "SELECT count(*) FROM ledger") == kRounds);
        CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
        child.Finish();
        std::cout << "multiprocess " << mode << " blaze_checkpoint=" << ckpt << ": " << kRounds
                  << " rounds, writers alternating, " << stale << " stale reads; "
                  << parent_ckpts << " store checkpoints by the parent, " << child_ckpts
                  << " by the child\n";
        if (std::string(ckpt) != "0") CHECK(parent_ckpts + child_ckpts > 0);
      }
    }
  }
}

TEST_CASE("two processes writing at once keep the ledger exact", "[sql][process][multiprocess]") {
  InitBlaze();
  constexpr int kTransfers = 150;
  for (const char* mode : {"delete", "wal"}) {
    DYNAMIC_SECTION("journal_mode=" << mode) {
      TempDir dir;
      const std::string uri = CreateDatabase(dir, mode, "32768");
      Peer child(uri);
      DbPtr db = OpenParent(uri);
      child.Send({kConcurrent, kTransfers, 0, 0});
      for (int i = 0; i < kTransfers; ++i) {
        INFO("transfer " << i << ": " << sqlite3_errmsg(db.get()));
        REQUIRE(Transfer(db.get(), 1, i) == SQLITE_OK);
      }
      child.Reply();
      CHECK(QueryInt(db.get(), "SELECT sum(bal) FROM acct") == 10000);
      CHECK(QueryInt(db.get(), "SELECT count(*) FROM transfers") == 2 * kTransfers);
      CHECK(QueryInt(db.get(), "SELECT count(DISTINCT who || '-' || i) FROM transfers") ==
            2 * kTransfers);
      CHECK(QueryInt(db.get(),
                     "SELECT count(*) FROM acct a WHERE bal != 1000 "
                     "- (SELECT count(*) FROM transfers WHERE src = a.id) "
                     "+ (SELECT count(*) FROM transfers WHERE dst = a.id)") == 0);
      CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
      // The child sees the same final state.
      const uint64_t d = ParentDigest(db.get());
      CHECK(child.Call({kVerify, 0, d, 0}).digest == d);
      child.Finish();
    }
  }
}

TEST_CASE("a WAL reader keeps its snapshot while another process checkpoints",
          "[sql][process][multiprocess]") {
  InitBlaze();
  TempDir dir;
  const std::string uri = CreateDatabase(dir, "wal", "32768");
  Peer child(uri);
  DbPtr db = OpenParent(uri);
  Exec(db.get(), "PRAGMA cache_size=5");
  // Frames in the WAL that are not yet in the database file, all in A's first snapshot.
  const uint64_t prepared = child.Call({kPrepareWal, 6, 0, 0}).digest;
  std::set<uint64_t> committed{prepared};  // every state the child committed
  child.OnState([&](const Msg& m) { committed.insert(m.digest); });

  // A holds a read transaction and re-reads it (through a 5-page cache, so through the
  // VFS) while B commits and checkpoints; every 25 reads A starts a new one.
  child.Send({kCheckpointing, 0, 0, 0});
  std::vector<uint64_t> snapshots;
  int reads = 0, wrong = 0;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500)) {
    Exec(db.get(), "BEGIN");
    const uint64_t snapshot = ParentDigest(db.get());
    if (snapshots.empty()) CHECK(snapshot == prepared);
    snapshots.push_back(snapshot);
    for (int i = 0; i < 25; ++i, ++reads) {
      if (ParentDigest(db.get()) != snapshot) ++wrong;
    }
    Exec(db.get(), "COMMIT");
    child.TakeStates();
  }
  child.Send({kStop, 0, 0, 0});
  const Msg done = child.Reply();
  CHECK(wrong == 0);
  int unknown = 0;  // snapshots that are no state the child ever committed
  for (uint64_t s : snapshots) unknown += committed.count(s) == 0;
  CHECK(unknown == 0);
  // Out of any read transaction: the child's last commit.
  CHECK(ParentDigest(db.get()) == done.digest);
  CHECK(child.Call({kFinalCkpt, 0, 0, 0}).extra == 0);  // no reader left in the way
  CHECK(ParentDigest(db.get()) == done.digest);
  CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
  child.Finish();
  std::cout << "checkpoint while reading: " << reads << " reads of " << snapshots.size()
            << " snapshots, " << wrong << " wrong, " << unknown
            << " not a committed state; meanwhile the child committed " << (done.round - 20000)
            << " rounds and ran " << 2 * (done.round - 20000) << " WAL checkpoints ("
            << done.extra << " busy because of the reader), " << done.ckpts
            << " store checkpoints\n";
  CHECK(reads > 0);
  CHECK(done.round > 20000);
  CHECK(done.ckpts > 1);
}
