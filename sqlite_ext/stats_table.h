// sqlite_ext/stats_table.h: the eponymous virtual table blaze_stats.
#pragma once

#include "vfs/sqlite_api.h"

namespace blaze::ext {

// Adds the read-only table blaze_stats to db: one row per open store file in this
// process (vfs, file, then one column per vfs::Counter), then a total row whose vfs and
// file are NULL. Returns an SQLite result code.
int RegisterStatsTable(sqlite3* db);

}  // namespace blaze::ext
