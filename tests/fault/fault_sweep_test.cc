// tests/fault/fault_sweep_test.cc: every I/O call of a workload, failed in turn.
//
// The stack is blaze over the fault VFS over unix. For each method and journal mode a
// dry run counts the calls the workload makes; then, for each N, a fresh database runs
// the workload with the Nth call failing. Checked at every fault point:
//  - the fault fired (every call of the dry run is a fault point);
//  - an injected error surfaces to the app as that same extended error code; where it
//    does not (SQLite maps some codes, and absorbs some faults, e.g. it retries a
//    journal it cannot open), the point is run again on the fault VFS alone, and stock
//    SQLite must behave exactly the same. Faults during sqlite3_close, whose errors
//    SQLite discards, are counted apart;
//  - after reopening without faults, integrity_check is ok, every acknowledged
//    transaction is there, and no transaction is half there.
// The number of fault points exercised is printed per sweep.
#include <catch2/catch.hpp>
#include <iostream>
#include <map>
#include <optional>
#include <vector>

#include "include/blaze.h"
#include "tests/support/db.h"
#include "tests/support/fault_vfs.h"

using namespace blaze::test;

namespace {

constexpr int kTxns = 7;

// Rows inserted by transaction k; every third one spills a 10-page cache.
int RowsOf(int k) { return k % 3 == 0 ? 120 : 6; }

struct Outcome {
  int first_error = SQLITE_OK;  // first non-ok result the app saw before close
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
  if (rc != SQLITE_OK) out.first_error = rc;
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
};

// Every method a journal mode calls, with a typical error for it. Each sweep here must
// have fault points (checked), so none passes vacuously.
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
  sweeps.push_back({"delete+mmap", FaultOp::kFetch, SQLITE_IOERR_MMAP});
  return sweeps;
}

}  // namespace

TEST_CASE("every injected I/O error surfaces and leaves a sound database", "[fault]") {
  InitBlaze();
  FaultVfs::Register("fault", "unix");
  REQUIRE(blaze_vfs_register("blaze-fault", "fault", 0) == SQLITE_OK);
  static int64_t total_points = 0;  // Catch2 re-enters the test case per section
  for (const Sweep& sweep : Sweeps()) {
    DYNAMIC_SECTION(sweep.mode << " " << FaultOpName(sweep.op) << " -> " << sweep.error) {
      TempDir dir;
      // Dry run: how many calls of this method does the workload make?
      FaultVfs::Arm({sweep.op, 0, sweep.error});
      const Outcome dry = RunWorkload("file:" + dir.Path("dry.db") + "?vfs=blaze-fault",
                                      sweep.mode);
      REQUIRE(dry.first_error == SQLITE_OK);
      const int64_t calls = FaultVfs::Calls(sweep.op);
      CHECK(calls > 0);

      // Runs point n on stack vfs; says whether the fault fired.
      auto run = [&](int64_t n, const std::string& vfs, Outcome* out) {
        const std::string uri = "file:" + dir.Path(vfs + std::to_string(n) + ".db") + "?vfs=" + vfs;
        FaultVfs::Arm({sweep.op, n, sweep.error});
        *out = RunWorkload(uri, sweep.mode);
        const bool fired = FaultVfs::Injected() > 0;
        FaultVfs::Arm({sweep.op, 0, sweep.error});
        return std::make_pair(fired, uri);
      };

      int64_t exact = 0, as_stock = 0, at_close = 0, differs = 0;
      for (int64_t n = 1; n <= calls; ++n) {
        Outcome out;
        const auto [fired, uri] = run(n, "blaze-fault", &out);
        INFO("fault at call " << n << " (first error " << out.first_error << ")");
        CHECK(fired);
        if (!out.injected_before_close) {
          ++at_close;
        } else if (out.first_error == sweep.error) {
          ++exact;
        } else {
          // Not the injected code, or no error at all: stock SQLite must do the same.
          Outcome stock;
          run(n, "fault", &stock);
          if (stock.injected_before_close && stock.first_error == out.first_error) {
            ++as_stock;
          } else {
            ++differs;
            UNSCOPED_INFO("call " << n << ": blaze gave " << out.first_error << ", stock "
                                  << stock.first_error);
          }
        }
        CHECK(Verify(uri, out) == "");
      }
      std::cout << "fault sweep " << sweep.mode << "/" << FaultOpName(sweep.op) << "/"
                << sweep.error << ": " << calls << " points: " << exact
                << " surfaced with the injected code, " << as_stock
                << " handled exactly as stock SQLite does, " << at_close
                << " during close, " << differs << " differ from stock\n";
      total_points += exact + as_stock + at_close + differs;
      CHECK(differs == 0);
    }
  }
  std::cout << "fault points exercised so far: " << total_points << "\n";
}

TEST_CASE("a base VFS that fails xOpen with methods set is closed exactly once",
          "[fault]") {
  InitBlaze();
  FaultVfs::Register("fault", "unix");
  REQUIRE(blaze_vfs_register("blaze-fault", "fault", 0) == SQLITE_OK);
  TempDir dir;
  FaultPlan plan{FaultOp::kOpen, 1, SQLITE_CANTOPEN};
  plan.open_fails_with_methods = true;
  FaultVfs::Arm(plan);
  DbPtr db;
  CHECK(TryOpen("file:" + dir.Path("x.db") + "?vfs=blaze-fault", &db) == SQLITE_CANTOPEN);
  db.reset();
  CHECK(FaultVfs::Injected() == 1);
  CHECK(FaultVfs::Opens() == 1);   // the failed open left its methods set...
  CHECK(FaultVfs::Closes() == 1);  // ...and Blaze closed it, once
  FaultVfs::Arm({FaultOp::kOpen, 0, SQLITE_OK});
}
