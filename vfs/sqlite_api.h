// vfs/sqlite_api.h: the one way Blaze code reaches SQLite's C API.
//
// Include this instead of <sqlite3.h> or <sqlite3ext.h>. Built for blaze.so
// (BLAZE_LOADABLE), every sqlite3_* call goes through the routines table the loading
// process handed to sqlite3_blaze_init, so Blaze always talks to the SQLite of the
// process that loaded it. Built with SQLITE_CORE (tests, static linking), the calls are
// ordinary calls into the linked libsqlite3.
#pragma once

#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3

namespace blaze {

// Remember the routines table (blaze.so) or do nothing (SQLITE_CORE).
void SetSqliteApi(const sqlite3_api_routines* api);

// True once sqlite3_* calls can be made: always with SQLITE_CORE; in blaze.so after
// sqlite3_blaze_init ran once.
bool SqliteApiReady();

}  // namespace blaze
