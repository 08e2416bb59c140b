// vfs/sqlite_api.cc: owns the sqlite3_api pointer of blaze.so (see sqlite_api.h).
#include "vfs/sqlite_api.h"

SQLITE_EXTENSION_INIT1

namespace blaze {

void SetSqliteApi([[maybe_unused]] const sqlite3_api_routines* api) {
#if !defined(SQLITE_CORE)
  // Every thread that loads the module hands over the same table; a plain store is
  // what SQLite's own extensions do, and the table never changes afterwards.
  if (sqlite3_api == nullptr) sqlite3_api = api;
#endif
}

bool SqliteApiReady() {
#if defined(SQLITE_CORE)
  return true;
#else
  return sqlite3_api != nullptr;
#endif
}

}  // namespace blaze
