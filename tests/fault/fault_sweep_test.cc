// tests/fault/fault_sweep_test.cc: every I/O call of a workload, failed in turn, per
// kind of file.
//
// The stack is blaze over the fault VFS over unix. For each journal mode and method a
// dry run counts the calls the workload makes on each kind of file (fault_vfs.h: main
// database, main journal, wal, store log, shm, other); then, for each kind and each N,
// a fresh database runs the workload with the Nth call of that method on that kind of
// file failing. Calls are counted per kind because blaze makes calls of its own (its
// store log, its page-file I/O): "the Nth xWrite" under blaze and under stock SQLite are
// different calls, "the Nth xWrite on the main journal" is the same call (checked: the
// dry runs count as many calls on SQLite's own files under both stacks).
//
// Checked at every fault point:
//  - the fault fired (every call of the dry run is a fault point);
//  - the outcome, by kind of file:
//    * files SQLite opens and drives itself (journal, wal, shm, other): the injected
//      error surfaces to the app as that same extended code; where it does not (SQLite
//      maps some codes, and absorbs some faults, e.g. it takes a journal it cannot open
//      for no hot journal), the point is run again on the fault VFS alone, and stock
//      SQLite must end with the same result code;
//    * the main database file, which under blaze is the page file the store does its
//      own I/O on (no stock counterpart): the app sees the injected code; or no error
//      at all, the store having had no use for the failed call's result;
//    * the store log (no stock counterpart): the app sees the injected code or another
//      SQLITE_IOERR_* code, or no error at all;
//    * for both of the store's kinds, a fault inside sqlite3_open_v2 that fails the
//      open may show as the injected code's primary code (SQLITE_IOERR for
//      SQLITE_IOERR_FSTAT): open_v2 returns sqlite3_errcode(), masked to the primary
//      byte until the app turns extended codes on, which needs the handle it returns;
//    faults during sqlite3_close, whose errors SQLite discards, are counted apart;
//  - after reopening without faults, integrity_check is ok, every acknowledged
//    transaction is there, and no transaction is half there (for the store's kinds this
//    is what makes "no error" acceptable: nothing acknowledged was lost).
//
// Environment:
//   BLAZE_FAULT_POINTS      points per sweep and kind (default kDefaultPoints; 0: all).
//                           A kind with more calls runs every k-th one (1, 1+k, 1+2k,
//                           ..., and the last), deterministically. Each sweep prints,
//                           per kind, the calls that exist, the points run and how
//                           each ended; the test prints the totals.
//   BLAZE_FAULT_CHECKPOINT  the store's blaze_checkpoint under blaze (default 16384).
//   BLAZE_FAULT_VERBOSE     print every point that did not end with the injected code.
#include <catch2/catch.hpp>
#include <array>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "include/blaze.h"
#include "tests/support/db.h"
#include "tests/support/fault_vfs.h"

using namespace blaze::test;

namespace {

constexpr int kTxns = 7;
// The store checkpoints every BLAZE_FAULT_CHECKPOINT bytes of log (default 16 KiB: a
// few times per run of the workload in every mode), so the page file's own I/O (slots,
// map, headers, syncs, the cut of its end) and the log's reset are under fault too, not
// only the log's appends.
std::string BlazeParams() {
  const char* v = std::getenv("BLAZE_FAULT_CHECKPOINT");
  return std::string("&blaze_checkpoint=") + (v != nullptr && *v != '\0' ? v : "16384");
}
// Points per sweep and kind when BLAZE_FAULT_POINTS is unset.
constexpr int64_t kDefaultPoints = 50;

// Rows inserted by transaction k; every third one spills a 10-page cache.
int RowsOf(int k) { return k % 3 == 0 ? 120 : 6; }

struct Outcome {
  int first_error = SQLITE_OK;  // first non-ok result the app saw before close
  bool failed_in_open = false;    // first_error came from sqlite3_open_v2
  bool injected_in_open = false;  // the fault fired inside sqlite3_open_v2
  bool injected_before_close = false;
  std::map<int, int> expected;   // txn -> rows, for acknowledged steps
  std::optional<int> uncertain;  // txn whose step failed: either before or after
};

// Runs the ledger workload on uri, stopping at the first error. Uses the C API
// directly: failures are data here, not test failures.
// mode is a journal mode, optionally followed by "+mmap".
Outcome RunWorkload(const std::string& uri, const std::string& mode) {
  Outcome out;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(uri.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr);
  out.injected_in_open = FaultVfs::Injected() > 0;
  DbPtr db(raw);
  sqlite3_extended_result_codes(raw, 1);
  auto step = [&](const std::string& sql) {
    if (out.first_error != SQLITE_OK) return false;
    rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      out.first_error = rc;
      sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
      return false;
    }
    return true;
  };
  if (rc != SQLITE_OK) {
    out.first_error = rc;
    out.failed_in_open = true;
  }
  const bool mmap = mode.ends_with("+mmap");
  step("PRAGMA journal_mode=" + mode.substr(0, mode.find('+')) + "; PRAGMA cache_size=10;" +
       (mmap ? "PRAGMA mmap_size=16777216;" : ""));
  step("CREATE TABLE ledger(txn INTEGER, i INTEGER, pad BLOB)");
  for (int k = 1; k <= kTxns && out.first_error == SQLITE_OK; ++k) {
    out.uncertain = k;
    const std::string sql =
        "BEGIN; WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < " +
        std::to_string(RowsOf(k)) + ") INSERT INTO ledger SELECT " + std::to_string(k) +
        ", i, randomblob(200) FROM c; COMMIT;";
    if (step(sql)) {
      out.expected[k] = RowsOf(k);
      out.uncertain.reset();
    }
  }
  // Moves the WAL into the database while the app still sees the result (a no-op in
  // the rollback modes); otherwise only sqlite3_close would, and it discards errors.
  step("PRAGMA wal_checkpoint(TRUNCATE)");
  if (step("CREATE INDEX ledger_txn ON ledger(txn, i)")) {
    step("UPDATE ledger SET pad = zeroblob(300) WHERE txn = 1");
  }
  if (out.first_error == SQLITE_OK) {
    out.uncertain = 2;
    if (step("DELETE FROM ledger WHERE txn = 2")) {
      out.expected[2] = 0;
      out.uncertain.reset();
    }
  }
  out.injected_before_close = FaultVfs::Injected() > 0;
  db.reset();  // sqlite3_close_v2: its errors are not reported by SQLite
  return out;
}

// Checks the database after a fault; returns a description of the first problem.
std::string Verify(const std::string& uri, const Outcome& out) {
  DbPtr db = Open(uri);
  if (QueryText(db.get(), "PRAGMA integrity_check") != "ok") return "integrity_check failed";
  if (QueryInt(db.get(), "SELECT count(*) FROM sqlite_schema WHERE name = 'ledger'") == 0) {
    return out.expected.empty() ? "" : "ledger table lost";
  }
  for (int k = 1; k <= kTxns; ++k) {
    const int64_t have = QueryInt(db.get(), "SELECT count(*) FROM ledger WHERE txn = " +
                                                std::to_string(k));
    auto it = out.expected.find(k);
    if (it != out.expected.end() && (!out.uncertain || *out.uncertain != k)) {
      if (have != it->second) {
        return "txn " + std::to_string(k) + ": " + std::to_string(have) + " rows, want " +
               std::to_string(it->second);
      }
    } else if (have != 0 && have != RowsOf(k)) {
      return "txn " + std::to_string(k) + " half applied: " + std::to_string(have);
    }
  }
  return "";
}

struct Sweep {
  const char* mode;
  FaultOp op;
  int error;
  // The method never reaches the VFS below blaze (checked: the dry run makes no call).
  bool none_under_blaze = false;
};

// Every method a journal mode calls, with a typical error for it. Each sweep here must
// have fault points (checked), so none passes vacuously; the one exception says why.
std::vector<Sweep> Sweeps() {
  std::vector<Sweep> sweeps;
  const std::pair<FaultOp, int> common[] = {
      {FaultOp::kWrite, SQLITE_IOERR_WRITE}, {FaultOp::kWrite, SQLITE_FULL},
      {FaultOp::kRead, SQLITE_IOERR_READ},   {FaultOp::kSync, SQLITE_IOERR_FSYNC},
      {FaultOp::kFileSize, SQLITE_IOERR_FSTAT}, {FaultOp::kLock, SQLITE_IOERR_LOCK},
      {FaultOp::kOpen, SQLITE_CANTOPEN},     {FaultOp::kAccess, SQLITE_IOERR_ACCESS},
  };
  for (const char* mode : {"delete", "truncate", "persist", "wal"}) {
    for (auto [op, error] : common) sweeps.push_back({mode, op, error});
  }
  sweeps.push_back({"delete", FaultOp::kDelete, SQLITE_IOERR_DELETE});
  sweeps.push_back({"truncate", FaultOp::kTruncate, SQLITE_IOERR_TRUNCATE});
  sweeps.push_back({"wal", FaultOp::kTruncate, SQLITE_IOERR_TRUNCATE});
  sweeps.push_back({"wal", FaultOp::kDelete, SQLITE_IOERR_DELETE});
  sweeps.push_back({"wal", FaultOp::kShmMap, SQLITE_IOERR_SHMMAP});
  // With mmap_size set, SQLite asks the main database for mapped pages; blaze answers
  // every xFetch itself with no mapping (the page file holds compressed bytes) and
  // never calls the base's, so SQLite reads through xRead, whose faults are swept here.
  sweeps.push_back({"delete+mmap", FaultOp::kRead, SQLITE_IOERR_READ});
  sweeps.push_back({"delete+mmap", FaultOp::kFetch, SQLITE_IOERR_MMAP, true});
  return sweeps;
}

constexpr std::array<FileKind, 6> kKinds = {FileKind::kMainDb, FileKind::kMainJournal,
                                            FileKind::kWal,    FileKind::kStoreLog,
                                            FileKind::kShm,    FileKind::kOther};
constexpr size_t kMainDbIndex = 0;

// How a kind's faults are judged (see the top of the file).
enum class Rule { kAsStock, kMainDb, kStoreLog };
Rule RuleFor(FileKind kind) {
  switch (kind) {
    case FileKind::kMainDb:
      return Rule::kMainDb;
    case FileKind::kStoreLog:
      return Rule::kStoreLog;
    default:
      return Rule::kAsStock;
  }
}

int64_t PointsPerKind() {
  const char* v = std::getenv("BLAZE_FAULT_POINTS");
  return v != nullptr && *v != '\0' ? std::strtoll(v, nullptr, 10) : kDefaultPoints;
}

// The calls to fail among 1..calls: all of them, or at most about `cap` evenly spaced
// ones, the first and the last included.
std::vector<int64_t> Points(int64_t calls, int64_t cap) {
  std::vector<int64_t> points;
  const int64_t stride = cap <= 0 || calls <= cap ? 1 : (calls + cap - 1) / cap;
  for (int64_t n = 1; n <= calls; n += stride) points.push_back(n);
  if (!points.empty() && points.back() != calls) points.push_back(calls);
  return points;
}

// How the points of one kind ended.
struct Tally {
  int64_t exact = 0;      // the injected code reached the app
  int64_t as_stock = 0;   // another result, the same one stock SQLite gives
  int64_t primary = 0;    // store kinds: the injected code's primary code, from open_v2
  int64_t ioerr = 0;      // store log: an SQLITE_IOERR_* code other than the injected one
  int64_t absorbed = 0;   // store kinds: no error (the database must verify)
  int64_t at_close = 0;   // fired during sqlite3_close
  int64_t wrong = 0;      // none of the above
  int64_t Run() const { return exact + as_stock + primary + ioerr + absorbed + at_close + wrong; }
};

struct Totals {
  int64_t exist = 0;
  int64_t run = 0;
};

}  // namespace

TEST_CASE("every injected I/O error surfaces and leaves a sound database", "[fault]") {
  InitBlaze();
  FaultVfs::Register("fault", "unix");
  REQUIRE(blaze_vfs_register("blaze-fault", "fault", 0) == SQLITE_OK);
  static Totals totals;  // Catch2 re-enters the test case per section
  const int64_t cap = PointsPerKind();
  for (const Sweep& sweep : Sweeps()) {
    DYNAMIC_SECTION(sweep.mode << " " << FaultOpName(sweep.op) << " -> " << sweep.error) {
      TempDir dir;
      // Dry runs: how many calls of this method does the workload make, per kind, under
      // blaze and under stock SQLite?
      FaultVfs::Arm({sweep.op, 0, sweep.error});
      const Outcome dry = RunWorkload(
          "file:" + dir.Path("dry.db") + "?vfs=blaze-fault" + BlazeParams(), sweep.mode);
      REQUIRE(dry.first_error == SQLITE_OK);
      std::array<int64_t, kKinds.size()> calls{};
      for (size_t i = 0; i < kKinds.size(); ++i) calls[i] = FaultVfs::Calls(sweep.op, kKinds[i]);
      const int64_t all_calls = FaultVfs::Calls(sweep.op);
      FaultVfs::Arm({sweep.op, 0, sweep.error});
      REQUIRE(RunWorkload("file:" + dir.Path("dry-stock.db") + "?vfs=fault", sweep.mode)
                  .first_error == SQLITE_OK);
      std::array<int64_t, kKinds.size()> stock_calls{};
      for (size_t i = 0; i < kKinds.size(); ++i) {
        stock_calls[i] = FaultVfs::Calls(sweep.op, kKinds[i]);
      }
      if (sweep.none_under_blaze) {
        CHECK(all_calls == 0);
        CHECK(stock_calls[kMainDbIndex] > 0);  // the workload does ask for it
        std::cout << "fault sweep " << sweep.mode << "/" << FaultOpName(sweep.op)
                  << ": no call under blaze (stock SQLite makes " << stock_calls[kMainDbIndex]
                  << " on the main database)\n";
        continue;
      }
      CHECK(all_calls > 0);
      // The premise of comparing with stock at the same (kind, N): blaze leaves SQLite's
      // own files alone, so SQLite makes the same calls on them under both stacks.
      for (size_t i = 0; i < kKinds.size(); ++i) {
        if (RuleFor(kKinds[i]) != Rule::kAsStock) continue;
        INFO(FileKindName(kKinds[i]) << " calls under blaze and stock");
        CHECK(calls[i] == stock_calls[i]);
      }

      // Runs point (kind, n) on stack vfs; says whether the fault fired.
      auto run = [&](FileKind kind, int64_t n, const std::string& vfs, Outcome* out) {
        const std::string uri = "file:" + dir.Path(vfs + "-" + std::string(FileKindName(kind)) +
                                                   std::to_string(n) + ".db") +
                                "?vfs=" + vfs + (vfs == "fault" ? "" : BlazeParams());
        FaultVfs::Arm({sweep.op, n, sweep.error, false, kind});
        *out = RunWorkload(uri, sweep.mode);
        const bool fired = FaultVfs::Injected() > 0;
        FaultVfs::Arm({sweep.op, 0, sweep.error});
        return std::make_pair(fired, uri);
      };

      for (size_t i = 0; i < kKinds.size(); ++i) {
        const FileKind kind = kKinds[i];
        if (calls[i] == 0) continue;
        const Rule rule = RuleFor(kind);
        const std::vector<int64_t> points = Points(calls[i], cap);
        Tally t;
        for (int64_t n : points) {
          Outcome out;
          const auto [fired, uri] = run(kind, n, "blaze-fault", &out);
          INFO("fault at " << FileKindName(kind) << " call " << n << " (first error "
                           << out.first_error << ")");
          CHECK(fired);
          const int e = out.first_error;
          if (!out.injected_before_close) {
            ++t.at_close;
          } else if (e == sweep.error) {
            ++t.exact;
          } else if (rule == Rule::kAsStock) {
            // Not the injected code, or no error at all: stock SQLite must do the same.
            Outcome stock;
            run(kind, n, "fault", &stock);
            if (stock.injected_before_close && stock.first_error == e) {
              ++t.as_stock;
            } else {
              ++t.wrong;
              UNSCOPED_INFO(FileKindName(kind) << " call " << n << ": blaze gave " << e
                                               << ", stock " << stock.first_error);
            }
          } else if (out.failed_in_open && out.injected_in_open &&
                     e == (sweep.error & 0xff)) {
            ++t.primary;
          } else if (rule == Rule::kStoreLog && (e & 0xff) == SQLITE_IOERR) {
            ++t.ioerr;
          } else if (e == SQLITE_OK) {
            ++t.absorbed;  // sound only if Verify agrees, below
          } else {
            ++t.wrong;
            UNSCOPED_INFO(FileKindName(kind) << " call " << n << ": blaze gave " << e
                                             << ", injected " << sweep.error);
          }
          const std::string verdict = Verify(uri, out);
          if (std::getenv("BLAZE_FAULT_VERBOSE") && (e != sweep.error || !verdict.empty())) {
            std::cout << "  " << sweep.mode << "/" << FaultOpName(sweep.op) << "/" << sweep.error
                      << " " << FileKindName(kind) << " call " << n << ": first error " << e
                      << (out.injected_in_open ? " (in open)" : "")
                      << (out.injected_before_close ? "" : " (at close)") << " verify: "
                      << (verdict.empty() ? "ok" : verdict) << "\n";
          }
          CHECK(verdict == "");
        }
        std::cout << "fault sweep " << sweep.mode << "/" << FaultOpName(sweep.op) << "/"
                  << sweep.error << " " << FileKindName(kind) << ": " << calls[i]
                  << " calls (stock SQLite " << stock_calls[i] << "), " << points.size()
                  << " points run: " << t.exact << " injected code";
        if (rule == Rule::kAsStock) std::cout << ", " << t.as_stock << " as stock";
        if (rule != Rule::kAsStock) std::cout << ", " << t.primary << " primary code at open";
        if (rule == Rule::kStoreLog) std::cout << ", " << t.ioerr << " other IOERR";
        if (rule != Rule::kAsStock) std::cout << ", " << t.absorbed << " absorbed";
        std::cout << ", " << t.at_close << " during close, " << t.wrong << " wrong\n";
        totals.exist += calls[i];
        totals.run += t.Run();
        CHECK(t.Run() == static_cast<int64_t>(points.size()));
        CHECK(t.wrong == 0);
      }
    }
  }
  std::cout << "fault points so far: " << totals.run << " run of " << totals.exist
            << " (BLAZE_FAULT_POINTS=" << cap << " per sweep and kind)\n";
}

TEST_CASE("a base VFS that fails xOpen with methods set is closed exactly once",
          "[fault]") {
  InitBlaze();
  FaultVfs::Register("fault", "unix");
  REQUIRE(blaze_vfs_register("blaze-fault", "fault", 0) == SQLITE_OK);
  TempDir dir;
  for (FileKind kind : {FileKind::kMainDb, FileKind::kStoreLog}) {
    INFO("failing the open of the " << FileKindName(kind));
    FaultPlan plan{FaultOp::kOpen, 1, SQLITE_CANTOPEN};
    plan.open_fails_with_methods = true;
    plan.kind = kind;
    FaultVfs::Arm(plan);
    DbPtr db;
    CHECK(TryOpen("file:" + dir.Path("x.db") + "?vfs=blaze-fault", &db) == SQLITE_CANTOPEN);
    db.reset();
    CHECK(FaultVfs::Injected() == 1);
    // The failed open left its methods set, and Blaze closed it, once; every file that
    // did open was closed too.
    CHECK(FaultVfs::Opens() == FaultVfs::Closes());
    CHECK(FaultVfs::Opens() == (kind == FileKind::kMainDb ? 1 : 2));
  }
  FaultVfs::Arm({FaultOp::kOpen, 0, SQLITE_OK});
}
