// vfs/io_methods.h: the sqlite3_io_methods tables of store files.
#pragma once

#include "vfs/sqlite_api.h"

namespace blaze::vfs {

// The method table for a store file whose base file has method table version
// base_version: its iVersion is min(3, base_version), so SQLite never calls a method
// the base file lacks.
const sqlite3_io_methods* StoreIoMethods(int base_version);

}  // namespace blaze::vfs
