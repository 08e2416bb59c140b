// vfs/blaze_vfs.h: one registered Blaze VFS, stacked over a base VFS.
//
// A BlazeVfs routes by file type. Main database files become StoreFiles (the
// compressing store). Every other file SQLite opens (rollback journals, the -wal file,
// temp databases, statement journals) is opened directly by the base VFS into the block
// SQLite gave us, so those files carry the base's own method table and cost nothing
// extra; the -shm file is reached through the main file's xShm* methods, which a
// StoreFile forwards. The VFS-level methods (xDelete, xAccess, xDlOpen,
// xSetSystemCall, ...) all forward to the base.
//
// Instances live until the process ends: SQLite keeps pointers to registered VFSes
// and to their files, and nothing tells us when the last one is gone.
#pragma once

#include <string>

#include "common/status.h"
#include "vfs/sqlite_api.h"

namespace blaze::vfs {

class BlazeVfs {
 public:
  BlazeVfs(const BlazeVfs&) = delete;
  BlazeVfs& operator=(const BlazeVfs&) = delete;

  // Registers (or finds) the Blaze VFS zName over zBase (null: the default VFS); the
  // contract is blaze_vfs_register's in include/blaze.h. Thread-safe.
  static int Register(const char* zName, const char* zBase, bool make_default);

  // The BlazeVfs behind a registered sqlite3_vfs, or null if it is not a Blaze VFS.
  static BlazeVfs* From(sqlite3_vfs* vfs);

  const std::string& name() const { return name_; }
  sqlite3_vfs* base() const { return base_; }
  sqlite3_vfs* sqlite_vfs() { return &vfs_; }

 private:
  BlazeVfs(std::string name, sqlite3_vfs* base);

  sqlite3_vfs vfs_;  // what SQLite sees; vfs_.pAppData points back here
  sqlite3_vfs* const base_;
  const std::string name_;
};

}  // namespace blaze::vfs
