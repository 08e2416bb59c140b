// tests/crash/process_kill_test.cc: a writing process SIGKILLed at random moments.
//
// A forked child opens one blaze database and commits in a loop: small transactions
// (one ledger row each), every 11th a large one (a hundred bulk rows, some of them
// overflow pages, with a small cache so the pager spills mid-transaction, and old bulk
// rows deleted), every 29th an index rebuild. blaze_checkpoint is small, so store
// checkpoints run all the time (in WAL mode SQLite's own checkpoints, made frequent with
// wal_autocheckpoint, are what write the store). Before each transaction the child
// reports "begin id" to the parent through a pipe, and "acknowledged id" after COMMIT
// returned SQLITE_OK.
//
// The parent kills the child with SIGKILL at a moment chosen from a fixed seed (a delay,
// a number of acknowledgements, inside a large transaction, or while the child is still
// opening and recovering), then reopens the database and requires:
//  - PRAGMA integrity_check is "ok";
//  - the ledger is 1..k with no gap, every row's check value right, and every id the
//    child acknowledged in any round is there (a process kill loses nothing, even at
//    synchronous=OFF: every write the child made is in the OS's page cache);
//  - k is at most the last id the child began (nothing invented);
//  - every large transaction is all there or (deleted by a later one) all gone, and no
//    bulk row exists without its ledger row.
// The next round's child continues the same database (its open recovers what the kill
// left: hot journal or WAL, the store log's tail).
//
// Each kill is classified from the files it left (before anything reopens them): "mid
// transaction" when the last message was a begin; "mid checkpoint" when the store log is
// stale against the page file (the checkpoint wrote the new header, not yet the new log),
// missing its header (killed inside the log reset), or holds committed frames past the
// checkpoint threshold (the checkpoint that commit starts had not finished).
//
// Rounds per setting: BLAZE_KILL_ROUNDS (default 10); seed: BLAZE_KILL_SEED.
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "tests/support/db.h"
#include "tests/support/mem_file.h"
#include "vfs/page_format.h"
#include "wal/log_reader.h"

using namespace blaze::test;

namespace {

constexpr uint64_t kCheckpointBytes = 32 << 10;
constexpr int kBigEvery = 11;
constexpr int kIndexEvery = 29;
constexpr int kBulkRows = 100;
constexpr int kBulkKeep = 60;  // a large txn deletes bulk rows of txns older than id - this

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoll(v, nullptr, 10) : fallback;
}

// ---- The child ----

struct Msg {
  int32_t kind;
  int32_t id;
  int64_t value;  // kAck: checkpoints this child has made; kError: the result code
};
enum : int32_t { kReady = 1, kBegin = 2, kAck = 3, kError = 4 };

bool Send(int fd, const Msg& m) { return write(fd, &m, sizeof m) == static_cast<ssize_t>(sizeof m); }

enum class Kind { kSmall = 0, kBig = 1, kIndex = 2 };
Kind KindOf(int64_t id) {
  if (id % kIndexEvery == 0) return Kind::kIndex;
  if (id % kBigEvery == 0) return Kind::kBig;
  return Kind::kSmall;
}

std::string TxnSql(int64_t id) {
  const std::string i = std::to_string(id);
  const Kind kind = KindOf(id);
  const std::string ledger = "INSERT INTO ledger VALUES (" + i + "," +
                             std::to_string(static_cast<int>(kind)) + "," +
                             (kind == Kind::kBig ? std::to_string(kBulkRows) : "0") + "," + i +
                             " * 7919 % 1000003, substr(hex(randomblob(60)), 1, 100));";
  switch (kind) {
    case Kind::kSmall:
      return ledger;
    case Kind::kBig:
      return "BEGIN;" + ledger +
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < " +
             std::to_string(kBulkRows) +
             ") INSERT INTO bulk(txn, payload) SELECT " + i +
             ", CASE WHEN x % 10 = 0 THEN randomblob(6000) ELSE randomblob(300) END FROM c;"
             "DELETE FROM bulk WHERE txn < " + std::to_string(id - kBulkKeep) + "; COMMIT;";
    case Kind::kIndex:
      return "BEGIN;" + ledger +
             "DROP INDEX IF EXISTS bulk_ix; CREATE INDEX bulk_ix ON bulk(txn, length(payload));"
             "DROP INDEX IF EXISTS ledger_ix; CREATE INDEX ledger_ix ON ledger(pad); COMMIT;";
  }
  return ledger;
}

// Commits forever (until killed). Uses only the C API and returns an exit status, never
// throws: Catch2 must not run in the child.
int ChildWriter(const std::string& uri, const std::string& sync, int fd) {
  sqlite3* db = nullptr;
  auto fail = [&](int code) {
    Send(fd, {kError, 0, db ? sqlite3_extended_errcode(db) : -1});
    return code;
  };
  if (sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, nullptr)) {
    return fail(2);
  }
  sqlite3_busy_timeout(db, 10000);
  const std::string setup = "PRAGMA synchronous=" + sync +
                            "; PRAGMA cache_size=30; PRAGMA wal_autocheckpoint=40;";
  if (sqlite3_exec(db, setup.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return fail(3);
  sqlite3_stmt* next = nullptr;
  sqlite3_stmt* ckpts = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) + 1 FROM ledger", -1, &next, nullptr) ||
      sqlite3_prepare_v2(db, "SELECT total(checkpoints) FROM blaze_stats WHERE file IS NOT NULL",
                         -1, &ckpts, nullptr)) {
    return fail(4);
  }
  if (sqlite3_step(next) != SQLITE_ROW) return fail(5);
  int64_t id = sqlite3_column_int64(next, 0);
  sqlite3_reset(next);
  if (!Send(fd, {kReady, static_cast<int32_t>(id), 0})) return 6;
  for (;; ++id) {
    if (!Send(fd, {kBegin, static_cast<int32_t>(id), 0})) return 6;
    const std::string sql = TxnSql(id);
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return fail(7);
    int64_t n = -1;
    if (sqlite3_step(ckpts) == SQLITE_ROW) n = sqlite3_column_int64(ckpts, 0);
    sqlite3_reset(ckpts);
    if (!Send(fd, {kAck, static_cast<int32_t>(id), n})) return 6;
  }
}

// ---- What the kill left ----

std::vector<std::byte> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(raw.size());
  if (!raw.empty()) std::memcpy(out.data(), raw.data(), raw.size());
  return out;
}

// Whether the files show a store checkpoint in progress (see the file comment).
bool MidCheckpoint(const std::string& db_path) {
  using namespace blaze;
  const std::vector<std::byte> pf = ReadAll(db_path);
  std::optional<vfs::PageFileHeader> best;
  for (uint64_t at : vfs::kHeaderCopyOffset) {
    if (pf.size() < at + vfs::kPfHeaderSize) continue;
    vfs::PageFileHeader h;
    if (vfs::DecodePageFileHeader(std::span<const std::byte, vfs::kPfHeaderSize>(
                                      pf.data() + at, vfs::kPfHeaderSize),
                                  &h) == vfs::PfHeaderCheck::kValid &&
        (!best || h.generation > best->generation)) {
      best = h;
    }
  }
  if (!best) return false;  // no store yet
  MemFile log(ReadAll(db_path + "-blazelog"));
  Result<wal::LogState> state = wal::RecoverLog(log, {.store_generation = best->generation});
  if (!state.ok()) return false;  // the verification will say what is wrong
  if (!state.value().has_header || state.value().stale) return true;
  return state.value().end >= kCheckpointBytes;
}

// ---- The parent ----

struct Tally {
  int64_t kills = 0;
  int64_t mid_txn = 0;
  int64_t mid_large_txn = 0;  // of those, inside a large transaction or index build
  int64_t mid_checkpoint = 0;
  int64_t during_open = 0;
  int64_t acked = 0;        // acknowledged commits, all rounds
  int64_t checkpoints = 0;  // store checkpoints the children made
};

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

enum class Trigger { kDelay, kAfterAcks, kInLargeTxn, kDuringOpen };

void Verify(const std::string& uri, int64_t max_acked, int64_t last_begun, int round) {
  INFO("round " << round << ": last acknowledged " << max_acked << ", last begun " << last_begun);
  DbPtr db = Open(uri);
  CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
  const auto row = QueryRows(db.get(), "SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0) "
                                       "FROM ledger").at(0);
  const int64_t n = std::stoll(row.substr(0, row.find('|')));
  const int64_t k = std::stoll(row.substr(row.rfind('|') + 1));
  INFO("ledger: count|min|max = " << row);
  CHECK(k >= max_acked);  // every acknowledged id is there (with no gap, below)
  CHECK(k <= last_begun);
  CHECK(n == k);
  if (n > 0) CHECK(QueryInt(db.get(), "SELECT min(id) FROM ledger") == 1);
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM ledger WHERE chk != id * 7919 % 1000003 OR "
                           "length(pad) != 100") == 0);
  CHECK(QueryInt(db.get(), "SELECT count(*) FROM bulk WHERE txn NOT IN (SELECT id FROM ledger)") == 0);
  CHECK(QueryInt(db.get(),
                 "SELECT count(*) FROM ledger l WHERE kind = 1 AND (SELECT count(*) FROM bulk b "
                 "WHERE b.txn = l.id) NOT IN (0, l.n)") == 0);
  CHECK(QueryInt(db.get(),
                 "SELECT count(*) FROM ledger l WHERE kind = 1 AND NOT EXISTS (SELECT 1 FROM bulk b "
                 "WHERE b.txn = l.id) AND NOT EXISTS (SELECT 1 FROM ledger j WHERE j.kind = 1 AND "
                 "j.id > l.id + " + std::to_string(kBulkKeep) + ")") == 0);
}

Tally RunSetting(const std::string& mode, const std::string& sync, int rounds, uint64_t seed) {
  TempDir dir;
  const std::string path = dir.Path("k.db");
  const std::string uri = "file:" + path + "?vfs=blaze&blaze_checkpoint=" +
                          std::to_string(kCheckpointBytes);
  {
    DbPtr db = Open(uri);
    Exec(db.get(), "PRAGMA journal_mode=" + mode);
    Exec(db.get(),
         "CREATE TABLE ledger(id INTEGER PRIMARY KEY, kind INTEGER, n INTEGER, chk INTEGER, "
         "pad TEXT); CREATE TABLE bulk(rid INTEGER PRIMARY KEY, txn INTEGER, payload BLOB)");
  }  // nothing of this file is open in this process when it forks

  std::mt19937_64 rng(seed);
  Tally tally;
  int64_t max_acked = 0;
  int64_t max_begun = 0;  // over all rounds: a kill may leave the last begun txn committed
  for (int round = 1; round <= rounds; ++round) {
    const auto trigger = static_cast<Trigger>(rng() % 8 == 0 ? 3 : rng() % 3);
    const int64_t delay_us = static_cast<int64_t>(rng() % 80000);
    const int64_t ack_target = 1 + static_cast<int64_t>(rng() % 40);
    const int64_t spin_us = static_cast<int64_t>(rng() % 3000);
    const int64_t open_us = static_cast<int64_t>(rng() % 4000);

    int up[2];
    REQUIRE(pipe(up) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      close(up[0]);
      _exit(ChildWriter(uri, sync, up[1]));
    }
    ChildGuard guard{pid};
    close(up[1]);
    const auto forked = std::chrono::steady_clock::now();

    bool ready = false, in_txn = false, ended = false;
    int64_t acks = 0, last_begun = max_begun, ckpts = 0, child_error = 0;
    auto consume = [&](const Msg& m) {
      switch (m.kind) {
        case kReady:
          ready = true;
          last_begun = std::max<int64_t>(last_begun, m.id - 1);
          break;
        case kBegin:
          in_txn = true;
          last_begun = m.id;
          break;
        case kAck:
          in_txn = false;
          ++acks;
          max_acked = std::max<int64_t>(max_acked, m.id);
          ckpts = std::max(ckpts, m.value);
          break;
        case kError:
          child_error = m.value;
          break;
      }
    };
    // Reads what the child sent within timeout_ms; false once the pipe is closed.
    auto pump = [&](int timeout_ms) {
      pollfd p{up[0], POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return true;
      Msg m;
      const ssize_t got = read(up[0], &m, sizeof m);
      if (got != static_cast<ssize_t>(sizeof m)) return false;
      consume(m);
      return true;
    };
    auto elapsed_us = [](auto since) {
      return std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::steady_clock::now() - since)
          .count();
    };

    // Wait for the trigger (with a generous cap, so a stuck child cannot hang the test).
    auto mark = forked;
    bool armed = false;  // the trigger fired; now wait out the extra delay from `mark`
    int64_t extra_us = 0;
    while (!ended && elapsed_us(forked) < 20'000'000) {
      if (armed && elapsed_us(mark) >= extra_us) break;
      if (!armed) {
        switch (trigger) {
          case Trigger::kDuringOpen:
            armed = true, mark = forked, extra_us = open_us;
            break;
          case Trigger::kDelay:
            if (ready) armed = true, mark = std::chrono::steady_clock::now(), extra_us = delay_us;
            break;
          case Trigger::kAfterAcks:
            if (acks >= ack_target) armed = true, mark = std::chrono::steady_clock::now(), extra_us = spin_us;
            break;
          case Trigger::kInLargeTxn:
            if (in_txn && KindOf(last_begun) != Kind::kSmall) {
              armed = true, mark = std::chrono::steady_clock::now(), extra_us = delay_us / 3;
            }
            break;
        }
        if (armed) continue;
      }
      // Spin on short polls near the deadline, so the kill lands where it was aimed.
      const int64_t left = armed ? extra_us - elapsed_us(mark) : 1000;
      ended = !pump(left > 2000 ? 1 : 0);
    }
    kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    guard.reaped = true;
    for (Msg m; read(up[0], &m, sizeof m) == static_cast<ssize_t>(sizeof m);) consume(m);
    close(up[0]);
    INFO("round " << round << " of " << mode << "/" << sync << ": child status " << status
                  << ", child error code " << child_error);
    REQUIRE(WIFSIGNALED(status));  // the child never stops by itself
    REQUIRE(WTERMSIG(status) == SIGKILL);

    ++tally.kills;
    if (!ready) ++tally.during_open;
    if (in_txn) ++tally.mid_txn;
    if (in_txn && KindOf(last_begun) != Kind::kSmall) ++tally.mid_large_txn;
    if (MidCheckpoint(path)) ++tally.mid_checkpoint;
    tally.acked += acks;
    tally.checkpoints += ckpts;
    max_begun = last_begun;
    Verify(uri, max_acked, last_begun, round);
  }
  std::cout << "process kill " << mode << "/" << sync << ": " << tally.kills << " kills ("
            << tally.mid_txn << " mid-transaction (" << tally.mid_large_txn
            << " in a large one or an index build), " << tally.mid_checkpoint
            << " mid-checkpoint, " << tally.during_open << " during open/recovery), "
            << tally.acked << " acknowledged commits verified (ledger 1.." << max_acked
            << "), " << tally.checkpoints << " store checkpoints by the children\n";
  return tally;
}

}  // namespace

TEST_CASE("a process killed while it writes through blaze loses no acknowledged commit",
          "[crash][kill]") {
  InitBlaze();
  const int rounds = static_cast<int>(EnvInt("BLAZE_KILL_ROUNDS", 10));
  const uint64_t seed = static_cast<uint64_t>(EnvInt("BLAZE_KILL_SEED", 20240612));
  static Tally all;  // over the sections (each runs the test case again)
  for (const char* mode : {"delete", "wal"}) {
    for (const char* sync : {"full", "off"}) {
      DYNAMIC_SECTION("journal_mode=" << mode << " synchronous=" << sync) {
        const Tally t = RunSetting(mode, sync, rounds,
                                   seed ^ std::hash<std::string>{}(std::string(mode) + sync));
        CHECK(t.kills == rounds);
        CHECK(t.acked > 0);
        CHECK(t.checkpoints > 0);
        all.kills += t.kills;
        all.mid_txn += t.mid_txn;
        all.mid_checkpoint += t.mid_checkpoint;
        all.acked += t.acked;
        std::cout << "process kill, all settings so far: " << all.kills << " kills ("
                  << all.mid_txn << " mid-transaction, " << all.mid_checkpoint
                  << " mid-checkpoint), " << all.acked << " acknowledged commits verified\n";
      }
    }
  }
}
