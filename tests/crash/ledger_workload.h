// tests/crash/ledger_workload.h: a seeded random workload with a ledger, and its verifier.
//
// The plan is made from a seed before anything runs, together with the expected content
// of the database after every transaction (its "snapshot"). Transaction 0 creates the
// schema; transaction k >= 1 inserts (payloads from tens of bytes to several overflow
// pages), updates and deletes rows; some are big enough to spill a 10-page cache; one
// builds an index. Every transaction also inserts its number into table `ledger`, in the
// same transaction. The app side keeps its own ledger: the transactions whose COMMIT
// returned SQLITE_OK before the power went ("acknowledged").
//
// After a crash and reopen, Verify checks:
//  - PRAGMA integrity_check is "ok";
//  - the ledger is 0..k with no gap (or the schema is absent: k = -1);
//  - the rows (ids, versions, tags, payload bytes) and the index are exactly the snapshot
//    after transaction k: every transaction is all there or all absent;
//  - k is at most the last transaction attempted.
// Whether k may be below the last acknowledged transaction depends on the setting under
// test: the caller decides.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace blaze::test::crash {

struct Row {
  int64_t ver = 0;
  int64_t tag = 0;
  int64_t size = 0;  // payload bytes; the payload is Payload(id, ver, size)
};
using Snapshot = std::map<int64_t, Row>;  // id -> row

struct Step {
  enum Kind { kInsert, kUpdate, kDelete, kCreateIndex } kind = kInsert;
  int64_t id = 0;
  Row row;  // kInsert, kUpdate: the row afterwards
};

struct Plan {
  std::vector<std::vector<Step>> txns;  // txns[0] is the schema (no steps)
  std::vector<Snapshot> after;          // after[k]: rows once txn k committed
  int index_txn = 0;                    // the txn that creates the index
};

// A deterministic plan of txns transactions (besides the schema) from seed.
Plan MakePlan(uint64_t seed, int txns);

// How the database is opened and run.
struct Setup {
  std::string uri;           // file:...?vfs=...
  std::string journal_mode;  // delete, truncate, persist, wal, off
  std::string synchronous;   // full, normal
};

struct Outcome {
  int last_acked = -1;      // last txn whose COMMIT returned OK before the power went
  int last_attempted = -1;  // last txn begun
  int first_error = 0;      // first non-OK result code the app saw (0: none)
  bool crash_during_close = false;
};

// Runs plan on a fresh database, stopping at the first error or once the power has
// gone, then closes the connection. Failures are data here, not test failures.
Outcome Run(const Setup& setup, const Plan& plan);

struct Verdict {
  std::string problem;  // empty: sound
  int k = -1;           // last txn found in the ledger
};

// Reopens setup.uri (any journal mode: SQLite finds hot journals and WALs by itself) and
// checks it against plan and outcome as described above. Never fails the calling test:
// a problem is returned.
Verdict Verify(const Setup& setup, const Plan& plan, const Outcome& outcome);

}  // namespace blaze::test::crash
