// tests/support/db.cc: RAII handles and helpers for tests that drive SQLite.
#include "tests/support/db.h"

#include <catch2/catch.hpp>
#include <cstdlib>

#include "include/blaze.h"

namespace blaze::test {

#ifndef BLAZE_TEST_NO_STATIC  // module_test loads blaze.so instead of linking Blaze
void InitBlaze() { REQUIRE(blaze_init() == SQLITE_OK); }
#endif

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/blaze-test-XXXXXX";
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  dir_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

int TryOpen(const std::string& uri, DbPtr* db) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(uri.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr);
  db->reset(raw);
  return rc;
}

DbPtr Open(const std::string& uri) {
  DbPtr db;
  int rc = TryOpen(uri, &db);
  INFO("open " << uri << ": " << (db ? sqlite3_errmsg(db.get()) : "no handle"));
  REQUIRE(rc == SQLITE_OK);
  sqlite3_busy_timeout(db.get(), 10000);
  return db;
}

int TryExec(sqlite3* db, const std::string& sql) {
  return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
}

void Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  INFO(sql << " -> " << msg);
  REQUIRE(rc == SQLITE_OK);
}

namespace {
StmtPtr Prepare(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
  INFO(sql << " -> " << sqlite3_errmsg(db));
  REQUIRE(rc == SQLITE_OK);
  return StmtPtr(raw);
}
}  // namespace

int64_t QueryInt(sqlite3* db, const std::string& sql) {
  StmtPtr s = Prepare(db, sql);
  int rc = sqlite3_step(s.get());
  INFO(sql << " -> " << sqlite3_errmsg(db));
  REQUIRE(rc == SQLITE_ROW);
  return sqlite3_column_int64(s.get(), 0);
}

std::string QueryText(sqlite3* db, const std::string& sql) {
  StmtPtr s = Prepare(db, sql);
  int rc = sqlite3_step(s.get());
  INFO(sql << " -> " << sqlite3_errmsg(db));
  REQUIRE(rc == SQLITE_ROW);
  const unsigned char* t = sqlite3_column_text(s.get(), 0);
  return t ? reinterpret_cast<const char*>(t) : "";
}

std::vector<std::string> QueryRows(sqlite3* db, const std::string& sql) {
  StmtPtr s = Prepare(db, sql);
  std::vector<std::string> rows;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(s.get()); ++i) {
      if (i) row += '|';
      const unsigned char* t = sqlite3_column_text(s.get(), i);
      row += t ? reinterpret_cast<const char*>(t) : "NULL";
    }
    rows.push_back(std::move(row));
  }
  INFO(sql << " -> " << sqlite3_errmsg(db));
  REQUIRE(rc == SQLITE_DONE);
  return rows;
}

int64_t FileCounter(sqlite3* db, const std::string& path, const std::string& counter) {
  StmtPtr s = Prepare(db, "SELECT total(" + counter + ") FROM blaze_stats WHERE file = ?1");
  sqlite3_bind_text(s.get(), 1, path.c_str(), -1, SQLITE_TRANSIENT);
  REQUIRE(sqlite3_step(s.get()) == SQLITE_ROW);
  return sqlite3_column_int64(s.get(), 0);
}

}  // namespace blaze::test
