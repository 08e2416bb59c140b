// vfs/sqlite_file.cc: blaze::File over an sqlite3_file (see the header).
#include "vfs/sqlite_file.h"

#include <algorithm>
#include <cstdlib>

#include "vfs/store.h"

namespace blaze::vfs {

static_assert(kNotAStore == SQLITE_NOTADB);

namespace {

// The most bytes one xRead/xWrite of the base is given. SQLite itself never asks a VFS
// for more than a page (64 KiB) at once, and the unix VFS relies on it: seekAndWriteFd
// masks the count with 0x1ffff, so a 192 KiB write writes 64 KiB and unixWrite returns
// SQLITE_FULL (a checkpoint's batched slot writes failed that way); debug builds assert
// it, and some releases mask reads the same way (seekAndRead), which would turn the log
// recovery's 1 MiB scan window into a zero-filled short read.
constexpr size_t kMaxIo = size_t{1} << 16;

Status Failed(int rc, const char* what) {
  return Status(Code::kIoError, std::string(what) + " failed (SQLite code " + std::to_string(rc) + ")",
                rc);
}

}  // namespace

std::unique_ptr<SqliteFile> SqliteFile::Borrow(sqlite3_file* file) {
  return std::unique_ptr<SqliteFile>(new SqliteFile(file, false));
}

Result<std::unique_ptr<SqliteFile>> SqliteFile::Open(sqlite3_vfs* vfs, const std::string& name,
                                                     int flags) {
  auto* raw = static_cast<sqlite3_file*>(std::calloc(1, static_cast<size_t>(vfs->szOsFile)));
  if (raw == nullptr) return Status(Code::kNoMemory, "out of memory opening " + name);
  std::unique_ptr<SqliteFile> file(new SqliteFile(raw, true));
  // Filenames handed to xOpen end with extra NULs (SQLite's own convention for names
  // that may carry URI parameters): a base VFS may look for them.
  file->name_ = name;
  file->name_.append(4, '\0');
  int out_flags = 0;
  const int rc = vfs->xOpen(vfs, file->name_.c_str(), raw, flags, &out_flags);
  if (rc != SQLITE_OK) {
    if (raw->pMethods == nullptr) file->owned_ = false, std::free(raw), file->file_ = nullptr;
    return Status(Code::kIoError, "cannot open " + name + " (SQLite code " + std::to_string(rc) + ")",
                  rc);
  }
  return file;
}

SqliteFile::~SqliteFile() {
  if (owned_ && file_ != nullptr) {
    if (file_->pMethods != nullptr) file_->pMethods->xClose(file_);
    std::free(file_);
  }
}

Result<size_t> SqliteFile::Read(uint64_t offset, std::span<std::byte> dst) {
  size_t done = 0;
  while (done < dst.size()) {
    const size_t n = std::min(dst.size() - done, kMaxIo);
    const int rc = file_->pMethods->xRead(file_, dst.data() + done, static_cast<int>(n),
                                          static_cast<sqlite3_int64>(offset + done));
    if (rc == SQLITE_OK) {
      done += n;
      continue;
    }
    if (rc != SQLITE_IOERR_SHORT_READ) return Failed(rc, "read");
    // The base zero-filled past the end; File promises the count of bytes that exist.
    Result<uint64_t> size = Size();
    if (!size.ok()) return size.status();
    const uint64_t at = offset + done;
    return done + static_cast<size_t>(size.value() <= at ? 0 : std::min<uint64_t>(size.value() - at, n));
  }
  return dst.size();
}

Status SqliteFile::Write(uint64_t offset, std::span<const std::byte> src) {
  size_t done = 0;
  while (done < src.size()) {  // the base takes an int count
    const size_t n = std::min(src.size() - done, kMaxIo);
    const int rc = file_->pMethods->xWrite(file_, src.data() + done, static_cast<int>(n),
                                           static_cast<sqlite3_int64>(offset + done));
    if (rc != SQLITE_OK) return Failed(rc, "write");
    done += n;
  }
  return Status::Ok();
}

Status SqliteFile::Sync() {
  const int rc = file_->pMethods->xSync(file_, sync_flags_);
  return rc == SQLITE_OK ? Status::Ok() : Failed(rc, "sync");
}

Result<uint64_t> SqliteFile::Size() {
  sqlite3_int64 size = 0;
  const int rc = file_->pMethods->xFileSize(file_, &size);
  if (rc != SQLITE_OK) return Failed(rc, "size");
  return static_cast<uint64_t>(size);
}

Status SqliteFile::Truncate(uint64_t size) {
  const int rc = file_->pMethods->xTruncate(file_, static_cast<sqlite3_int64>(size));
  return rc == SQLITE_OK ? Status::Ok() : Failed(rc, "truncate");
}

int SqliteCode(const Status& status, int fallback) {
  if (status.detail() != 0) return status.detail();
  switch (status.code()) {
    case Code::kOk:
      return SQLITE_OK;
    case Code::kChecksum:
      return SQLITE_IOERR_DATA;
    case Code::kCorrupt:
      return SQLITE_CORRUPT;
    case Code::kFull:
      return SQLITE_FULL;
    case Code::kNoMemory:
      return SQLITE_NOMEM;
    default:
      return fallback;
  }
}

}  // namespace blaze::vfs
