// vfs/sqlite_api.h: the one way Blaze code reaches SQLite's C API.
//
// Include this instead of <sqlite3.h> or <sqlite3ext.h>. Built for blaze.so
// (BLAZE_LOADABLE), every sqlite3_* call goes through a routines table, so Blaze always
// talks to the SQLite of the process that loaded it. Built with SQLITE_CORE (tests,
// static linking), the calls are ordinary calls into the linked libsqlite3.
#pragma once

#if defined(BLAZE_LOADABLE) == defined(SQLITE_CORE)
#error "build with exactly one of BLAZE_LOADABLE (blaze.so) and SQLITE_CORE (static)"
#endif

#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3

namespace blaze {

// Installs the routines table SQLite handed to sqlite3_blaze_init (blaze.so); a no-op
// with SQLITE_CORE. Thread-safe. If EnsureSqliteApi installed its subset first, the
// subset's empty slots are filled from api.
void SetSqliteApi(const sqlite3_api_routines* api);

// True when sqlite3_* calls can be made. With SQLITE_CORE, always. In blaze.so: after
// sqlite3_blaze_init, or else after resolving, from the process's global symbols, the
// few functions the VFS layer calls (a program that dlopen()s blaze.so and links
// libsqlite3 dynamically). Those calls are: vfs_find, vfs_register, uri_key,
// uri_parameter, mprintf, log. The SQL surface needs the full table.
bool EnsureSqliteApi();

// True once EnsureSqliteApi() or SetSqliteApi() succeeded. Acquire ordering: a true
// result makes the table visible to this thread.
bool SqliteApiReady();

// True when every sqlite3_* call can be made (the SQL surface needs this): with
// SQLITE_CORE always, in blaze.so once sqlite3_blaze_init ran.
bool SqliteApiComplete();

}  // namespace blaze
