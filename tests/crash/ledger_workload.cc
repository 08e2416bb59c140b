// tests/crash/ledger_workload.cc: the ledger workload and its verifier (see the header).
#include "tests/crash/ledger_workload.h"

#include <sqlite3.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "tests/support/crash_vfs.h"
#include "tests/support/db.h"

namespace blaze::test::crash {
namespace {

using Bytes = std::vector<unsigned char>;

uint64_t SplitMix(uint64_t* x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The payload of row id at version ver. Each 8-byte random word is repeated four times,
// so pages compress (about 4:1) as real data would, without being trivial.
Bytes Payload(int64_t id, int64_t ver, int64_t size) {
  Bytes b(static_cast<size_t>(size));
  uint64_t x = static_cast<uint64_t>(id) * 1000003u + static_cast<uint64_t>(ver);
  uint64_t word = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i % 32 == 0) word = SplitMix(&x);
    b[i] = static_cast<unsigned char>(word >> (8 * (i % 8)));
  }
  return b;
}

constexpr const char* kIndexName = "items_tag";

// Runs stmt to completion; SQLITE_OK when it finished.
int StepAll(sqlite3_stmt* stmt) {
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
  }
  sqlite3_reset(stmt);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

// Prepares sql, or returns null (the caller reports sqlite3_errcode).
StmtPtr TryPrepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  return StmtPtr(raw);
}

int RunStep(sqlite3* db, const Step& step) {
  const char* sql = nullptr;
  switch (step.kind) {
    case Step::kInsert:
      sql = "INSERT INTO items(id, ver, tag, payload) VALUES(?1, ?2, ?3, ?4)";
      break;
    case Step::kUpdate:
      sql = "UPDATE items SET ver = ?2, tag = ?3, payload = ?4 WHERE id = ?1";
      break;
    case Step::kDelete:
      sql = "DELETE FROM items WHERE id = ?1";
      break;
    case Step::kCreateIndex:
      return sqlite3_exec(db, "CREATE INDEX items_tag ON items(tag, ver)", nullptr, nullptr,
                          nullptr);
  }
  StmtPtr stmt = TryPrepare(db, sql);
  if (!stmt) return sqlite3_errcode(db);
  sqlite3_bind_int64(stmt.get(), 1, step.id);
  if (step.kind != Step::kDelete) {
    const Bytes payload = Payload(step.id, step.row.ver, step.row.size);
    sqlite3_bind_int64(stmt.get(), 2, step.row.ver);
    sqlite3_bind_int64(stmt.get(), 3, step.row.tag);
    sqlite3_bind_blob(stmt.get(), 4, payload.data(), static_cast<int>(payload.size()),
                      SQLITE_TRANSIENT);
  }
  return StepAll(stmt.get());
}

std::string Describe(const Row& r) {
  std::ostringstream s;
  s << "ver " << r.ver << " tag " << r.tag << " size " << r.size;
  return s.str();
}

}  // namespace

Plan MakePlan(uint64_t seed, int txns) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  // Payload sizes: most fit in a 4 KiB page, some need one to five overflow pages.
  auto size = [&] {
    const int64_t r = uniform(0, 9);
    return r < 5 ? uniform(20, 400) : r < 8 ? uniform(500, 3000) : uniform(4500, 20000);
  };
  Plan plan;
  plan.txns.resize(static_cast<size_t>(txns) + 1);
  plan.after.resize(static_cast<size_t>(txns) + 1);
  plan.index_txn = std::max(1, txns / 3);
  Snapshot rows;
  int64_t next_id = 1;
  auto pick = [&] {
    auto it = rows.begin();
    std::advance(it, uniform(0, static_cast<int64_t>(rows.size()) - 1));
    return it->first;
  };
  for (int k = 1; k <= txns; ++k) {
    std::vector<Step>& steps = plan.txns[static_cast<size_t>(k)];
    auto insert = [&](int64_t bytes) {
      Step s{Step::kInsert, next_id++, Row{1, uniform(0, 49), bytes}};
      rows[s.id] = s.row;
      steps.push_back(s);
    };
    auto update = [&] {
      if (rows.empty()) return;
      const int64_t id = pick();
      Step s{Step::kUpdate, id, Row{rows[id].ver + 1, uniform(0, 49), size()}};
      rows[id] = s.row;
      steps.push_back(s);
    };
    auto remove = [&] {
      if (rows.empty()) return;
      const int64_t id = pick();
      rows.erase(id);
      steps.push_back(Step{Step::kDelete, id, Row{}});
    };
    if (k == plan.index_txn) {
      steps.push_back(Step{Step::kCreateIndex, 0, Row{}});
      for (int i = 0; i < 3; ++i) insert(size());
    } else if (k % 5 == 2) {
      // Big: far more pages than a 10-page cache holds, so the pager spills mid-transaction.
      for (int64_t i = uniform(60, 100); i > 0; --i) insert(uniform(500, 2500));
      for (int i = 0; i < 10; ++i) update();
      for (int i = 0; i < 5; ++i) remove();
    } else {
      for (int64_t i = uniform(1, 6); i > 0; --i) {
        const int64_t r = uniform(0, 9);
        if (r < 5) {
          insert(size());
        } else if (r < 8) {
          update();
        } else {
          remove();
        }
      }
    }
    plan.after[static_cast<size_t>(k)] = rows;
  }
  return plan;
}

Outcome Run(const Setup& setup, const Plan& plan) {
  Outcome out;
  sqlite3* raw = nullptr;
  const int open_rc = sqlite3_open_v2(
      setup.uri.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
      nullptr);
  DbPtr db(raw);
  // Stops the workload at the first error, or once the power has gone (SQLite may have
  // absorbed the failing call: what it says after the power went is not heard).
  auto ok = [&](int rc) {
    if (rc != SQLITE_OK && out.first_error == SQLITE_OK) out.first_error = rc;
    return out.first_error == SQLITE_OK && !CrashVfs::Crashed();
  };
  auto exec = [&](const std::string& sql) {
    return ok(sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, nullptr));
  };
  bool going = ok(open_rc) &&
               exec("PRAGMA journal_mode=" + setup.journal_mode + "; PRAGMA synchronous=" +
                    setup.synchronous +
                    "; PRAGMA cache_size=10; PRAGMA wal_autocheckpoint=32;");
  for (size_t k = 0; going && k < plan.txns.size(); ++k) {
    out.last_attempted = static_cast<int>(k);
    going = exec("BEGIN");
    if (going && k == 0) {
      going = exec(
          "CREATE TABLE ledger(txn INTEGER PRIMARY KEY);"
          "CREATE TABLE items(id INTEGER PRIMARY KEY, ver INTEGER NOT NULL,"
          " tag INTEGER NOT NULL, payload BLOB NOT NULL);");
    }
    for (const Step& step : plan.txns[k]) {
      if (!going) break;
      going = ok(RunStep(db.get(), step));
    }
    going = going && exec("INSERT INTO ledger(txn) VALUES(" + std::to_string(k) + ")") &&
            exec("COMMIT");
    if (going) {
      out.last_acked = static_cast<int>(k);
    } else if (db && sqlite3_get_autocommit(db.get()) == 0) {
      sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
  }
  const bool crashed_before_close = CrashVfs::Crashed();
  db.reset();  // sqlite3_close_v2: a WAL database checkpoints and deletes its log here
  out.crash_during_close = !crashed_before_close && CrashVfs::Crashed();
  return out;
}

Verdict Verify(const Setup& setup, const Plan& plan, const Outcome& outcome) {
  Verdict v;
  DbPtr db;
  if (TryOpen(setup.uri, &db) != SQLITE_OK) {
    v.problem = std::string("reopen failed: ") + (db ? sqlite3_errmsg(db.get()) : "no handle");
    return v;
  }
  auto fail = [&](const std::string& what) {
    v.problem = what + " (" + sqlite3_errmsg(db.get()) + ")";
    return v;
  };
  std::vector<std::string> integrity;
  {
    StmtPtr s = TryPrepare(db.get(), "PRAGMA integrity_check");
    if (!s) return fail("integrity_check: prepare failed");
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(s.get(), 0);
      integrity.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
    }
    if (rc != SQLITE_DONE) return fail("integrity_check: error " + std::to_string(rc));
  }
  if (integrity != std::vector<std::string>{"ok"}) {
    std::string first = integrity.empty() ? "no rows" : integrity[0];
    std::replace(first.begin(), first.end(), '\n', ' ');
    v.problem = "integrity_check: " + first.substr(0, 120);
    return v;
  }

  int64_t tables = -1, indexes = -1;
  {
    StmtPtr s = TryPrepare(db.get(),
                           "SELECT count(*) FILTER (WHERE name IN ('ledger', 'items')),"
                           " count(*) FILTER (WHERE name = 'items_tag') FROM sqlite_schema");
    if (!s || sqlite3_step(s.get()) != SQLITE_ROW) return fail("reading the schema");
    tables = sqlite3_column_int64(s.get(), 0);
    indexes = sqlite3_column_int64(s.get(), 1);
  }
  if (tables == 0) {
    v.k = -1;
    if (indexes != 0) v.problem = "index without its table";
    return v;
  }
  if (tables != 2) {
    v.problem = "half the schema";
    return v;
  }

  {
    StmtPtr s = TryPrepare(db.get(), "SELECT txn FROM ledger ORDER BY txn");
    if (!s) return fail("reading the ledger");
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      const int64_t txn = sqlite3_column_int64(s.get(), 0);
      if (txn != v.k + 1) {
        v.problem = "ledger gap: txn " + std::to_string(txn) + " after " + std::to_string(v.k);
        return v;
      }
      v.k = static_cast<int>(txn);
    }
    if (rc != SQLITE_DONE) return fail("reading the ledger");
  }
  if (v.k < 0) {
    v.problem = "schema without ledger row 0";
    return v;
  }
  if (v.k > outcome.last_attempted) {
    v.problem = "ledger has txn " + std::to_string(v.k) + ", never attempted";
    return v;
  }
  if ((indexes == 1) != (v.k >= plan.index_txn)) {
    v.problem = "index presence does not match txn " + std::to_string(v.k);
    return v;
  }

  const Snapshot& want = plan.after[static_cast<size_t>(v.k)];
  StmtPtr s = TryPrepare(db.get(), "SELECT id, ver, tag, payload FROM items ORDER BY id");
  if (!s) return fail("reading items");
  auto it = want.begin();
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    const int64_t id = sqlite3_column_int64(s.get(), 0);
    const Row got{sqlite3_column_int64(s.get(), 1), sqlite3_column_int64(s.get(), 2),
                  sqlite3_column_bytes(s.get(), 3)};
    const std::string where = "txn " + std::to_string(v.k) + ", row " + std::to_string(id);
    if (it == want.end() || it->first > id) {
      v.problem = where + ": not expected (" + Describe(got) + ")";
      return v;
    }
    if (it->first < id) {
      v.problem = "txn " + std::to_string(v.k) + ", row " + std::to_string(it->first) +
                  ": missing";
      return v;
    }
    const Row& w = it->second;
    if (got.ver != w.ver || got.tag != w.tag || got.size != w.size) {
      v.problem = where + ": " + Describe(got) + ", want " + Describe(w);
      return v;
    }
    const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(s.get(), 3));
    if (got.size > 0 && Bytes(p, p + got.size) != Payload(id, w.ver, w.size)) {
      v.problem = where + ": payload differs";
      return v;
    }
    ++it;
  }
  if (rc != SQLITE_DONE) return fail("reading items");
  if (it != want.end()) {
    v.problem = "txn " + std::to_string(v.k) + ", row " + std::to_string(it->first) +
                ": missing";
  }
  return v;
}

}  // namespace blaze::test::crash
