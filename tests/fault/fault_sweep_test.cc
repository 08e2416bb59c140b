// tests/fault/fault_sweep_test.cc: every I/O call of a workload, failed in turn.
//
// The stack is blaze over the fault VFS over unix. For each method and journal mode a
// dry run counts the calls the workload makes; then, for each N, a fresh database runs
// the workload with the Nth call failing. Checked at every fault point:
//  - an injected error surfaces to the app as an error, or else SQLite absorbs it the
//    same way without blaze: a point that does not surface is run again on the fault
//    VFS alone, and must not surface there either (SQLite retries a journal it cannot
//    open, for instance). Faults during sqlite3_close, whose errors SQLite discards,
//    are counted apart;
//  - after reopening without faults, integrity_check is ok, every acknowledged
//    transaction is there, and no transaction is half there.
// The number of fault points exercised is printed per sweep.
#include <catch2/catch.hpp>
#include <iostream>
#include <map>
#include <optional>

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
Outcome RunWorkload(const std::string& uri, const char* mode) {
  Outcome out;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(uri.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr);
  DbPtr db(raw);
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
  step(std::string("PRAGMA journal_mode=") + mode + "; PRAGMA cache_size=10;");
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
  FaultOp op;
  int error;
};

}  // namespace

TEST_CASE("every injected I/O error surfaces and leaves a sound database", "[fault]") {
  InitBlaze();
  FaultVfs::Register("fault", "unix");
  REQUIRE(blaze_vfs_register("blaze-fault", "fault", 0) == SQLITE_OK);

  const Sweep sweeps[] = {
      {FaultOp::kWrite, SQLITE_IOERR_WRITE}, {FaultOp::kWrite, SQLITE_FULL},
      {FaultOp::kRead, SQLITE_IOERR_READ},   {FaultOp::kSync, SQLITE_IOERR_FSYNC},
      {FaultOp::kTruncate, SQLITE_IOERR_TRUNCATE}, {FaultOp::kFileSize, SQLITE_IOERR_FSTAT},
      {FaultOp::kLock, SQLITE_IOERR_LOCK},   {FaultOp::kOpen, SQLITE_CANTOPEN},
      {FaultOp::kDelete, SQLITE_IOERR_DELETE},
  };
  static int64_t total_points = 0;  // Catch2 re-enters the test case per section
  for (const char* mode : {"delete", "truncate", "persist", "wal"}) {
    for (const Sweep& sweep : sweeps) {
      DYNAMIC_SECTION(mode << " " << FaultOpName(sweep.op) << " -> " << sweep.error) {
        TempDir dir;
        // Dry run: how many calls of this method does the workload make?
        FaultVfs::Arm({sweep.op, 0, sweep.error});
        const std::string dry_uri = "file:" + dir.Path("dry.db") + "?vfs=blaze-fault";
        const Outcome dry = RunWorkload(dry_uri, mode);
        REQUIRE(dry.first_error == SQLITE_OK);
        const int64_t calls = FaultVfs::Calls(sweep.op);

        int64_t surfaced = 0, at_close = 0, absorbed = 0, missed = 0;
        for (int64_t n = 1; n <= calls; ++n) {
          const std::string uri =
              "file:" + dir.Path("f" + std::to_string(n) + ".db") + "?vfs=blaze-fault";
          FaultVfs::Arm({sweep.op, n, sweep.error});
          const Outcome out = RunWorkload(uri, mode);
          const bool injected = FaultVfs::Injected() > 0;
          FaultVfs::Arm({sweep.op, 0, sweep.error});
          if (!injected) continue;  // the run took another path and made fewer calls
          if (!out.injected_before_close) {
            ++at_close;
          } else if (out.first_error != SQLITE_OK) {
            ++surfaced;
          } else {
            // Does stock SQLite, without blaze, absorb the same fault?
            const std::string ref_uri =
                "file:" + dir.Path("r" + std::to_string(n) + ".db") + "?vfs=fault";
            FaultVfs::Arm({sweep.op, n, sweep.error});
            const Outcome ref = RunWorkload(ref_uri, mode);
            const bool ref_absorbed = FaultVfs::Injected() > 0 &&
                                      ref.injected_before_close && ref.first_error == SQLITE_OK;
            FaultVfs::Arm({sweep.op, 0, sweep.error});
            if (ref_absorbed) {
              ++absorbed;
            } else {
              ++missed;
              UNSCOPED_INFO("fault at call " << n << " did not surface through blaze");
            }
          }
          const std::string problem = Verify(uri, out);
          INFO("fault at call " << n << " (first error " << out.first_error << ")");
          CHECK(problem == "");
        }
        std::cout << "fault sweep " << mode << "/" << FaultOpName(sweep.op) << "/"
                  << sweep.error << ": " << calls << " calls, " << surfaced
                  << " surfaced, " << absorbed << " absorbed by SQLite as without blaze, "
                  << at_close << " during close, " << missed << " missed\n";
        total_points += surfaced + absorbed + at_close + missed;
        CHECK(missed == 0);
        CHECK(surfaced + absorbed + at_close + missed == calls);  // every point fired
      }
    }
  }
  std::cout << "fault points exercised so far: " << total_points << "\n";
}
