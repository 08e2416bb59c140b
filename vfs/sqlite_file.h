// vfs/sqlite_file.h: a blaze::File over an sqlite3_file of the base VFS.
//
// The store (vfs/store.h) reads and writes through common/File; this adapter is how it
// reaches real files. Two uses:
//  - SqliteFile::Borrow(f): the page file, through a connection's own lower file (the
//    StoreFile keeps one per connection; it does not own f);
//  - SqliteFile::Open(vfs, name, flags): a file the adapter opens and owns (the store
//    log), closed when it is destroyed.
// Errors keep the base VFS's extended result code in Status::detail(), so the code SQLite
// sees is the one the base returned (SQLITE_IOERR_SHORT_READ is not an error here: Read
// reports the short count, as File requires).
#pragma once

#include <memory>
#include <string>

#include "common/file.h"
#include "vfs/sqlite_api.h"

namespace blaze::vfs {

class SqliteFile final : public File {
 public:
  static std::unique_ptr<SqliteFile> Borrow(sqlite3_file* file);
  // Opens `name` on `vfs` with SQLite open flags. On failure returns the base's code.
  static Result<std::unique_ptr<SqliteFile>> Open(sqlite3_vfs* vfs, const std::string& name,
                                                  int flags);
  ~SqliteFile() override;

  [[nodiscard]] Result<size_t> Read(uint64_t offset, std::span<std::byte> dst) override;
  [[nodiscard]] Status Write(uint64_t offset, std::span<const std::byte> src) override;
  [[nodiscard]] Status Sync() override;
  [[nodiscard]] Result<uint64_t> Size() override;
  [[nodiscard]] Status Truncate(uint64_t size) override;

  // SQLITE_SYNC_NORMAL or SQLITE_SYNC_FULL (the flags the next Sync passes down).
  void set_sync_flags(int flags) { sync_flags_ = flags; }
  sqlite3_file* raw() { return file_; }

 private:
  SqliteFile(sqlite3_file* file, bool owned) : file_(file), owned_(owned) {}

  sqlite3_file* file_;
  bool owned_;
  std::string name_;  // owned files: the base VFS may keep a pointer to the name
  int sync_flags_ = SQLITE_SYNC_NORMAL;
};

// The SQLite result code for a failed store operation: the base VFS's own code when the
// failure came from below, else kChecksum -> SQLITE_IOERR_DATA, kCorrupt ->
// SQLITE_CORRUPT, kFull -> SQLITE_FULL, kNoMemory -> SQLITE_NOMEM, others -> `fallback`.
int SqliteCode(const Status& status, int fallback);

}  // namespace blaze::vfs
