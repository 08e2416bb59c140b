// tests/support/db.h: RAII handles and helpers for tests that drive SQLite.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace blaze::test {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Registers the static Blaze build (VFS "blaze" over the default VFS, SQL surface on
// every new connection). Idempotent; fails the calling test if it cannot.
void InitBlaze();

// A fresh directory, removed with everything in it when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

// Opens uri (a URI filename) read-write, creating it; the open must succeed.
DbPtr Open(const std::string& uri);
// Same, returning the result code instead of requiring success; *db may be null.
int TryOpen(const std::string& uri, DbPtr* db);

// Runs sql (any number of statements); requires SQLITE_OK.
void Exec(sqlite3* db, const std::string& sql);
// Runs sql and returns its result code, without requiring success.
int TryExec(sqlite3* db, const std::string& sql);
// The first column of the first row of sql, as an integer / as text.
int64_t QueryInt(sqlite3* db, const std::string& sql);
std::string QueryText(sqlite3* db, const std::string& sql);
// Every row of sql, columns joined by '|'.
std::vector<std::string> QueryRows(sqlite3* db, const std::string& sql);

// One counter of blaze_stats for the open store file at path (the sum if several
// connections have it open).
int64_t FileCounter(sqlite3* db, const std::string& path, const std::string& counter);

}  // namespace blaze::test
