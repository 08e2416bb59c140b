// vfs/mem_journal.cc: an in-memory rollback journal (see the header).
#include "vfs/mem_journal.h"

#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "vfs/guard.h"
#include "vfs/last_error.h"

namespace blaze::vfs {
namespace {

// The 8 bytes SQLite writes after a super-journal name in a journal (a fact of SQLite's
// journal format, pager.c).
constexpr unsigned char kJournalMagic[8] = {0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7};

struct MemJournal {
  sqlite3_file base;  // must be first
  std::vector<unsigned char>* bytes;
  std::string* name;
};

std::mutex& NamesMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}
std::set<std::string>& ClosedNames() {  // absorbed journals closed, not yet deleted
  static auto* names = new std::set<std::string>;
  return *names;
}

MemJournal* J(sqlite3_file* f) { return reinterpret_cast<MemJournal*>(f); }

int XClose(sqlite3_file* f) noexcept {
  {
    std::lock_guard lock(NamesMutex());
    ClosedNames().insert(*J(f)->name);
  }
  delete J(f)->bytes;
  delete J(f)->name;
  J(f)->bytes = nullptr;
  J(f)->name = nullptr;
  return SQLITE_OK;
}
int XRead(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) noexcept {
  const auto& b = *J(f)->bytes;
  const auto size = static_cast<sqlite3_int64>(b.size());
  const int have = off >= size ? 0 : static_cast<int>(std::min<sqlite3_int64>(n, size - off));
  if (have > 0) std::memcpy(buf, b.data() + off, static_cast<size_t>(have));
  if (have < n) {
    std::memset(static_cast<char*>(buf) + have, 0, static_cast<size_t>(n - have));
    return SQLITE_IOERR_SHORT_READ;
  }
  return SQLITE_OK;
}
int XWrite(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) noexcept {
  if (n == 8 && std::memcmp(buf, kJournalMagic, 8) == 0 && off > 0) {
    // A magic this late in the journal ends a super-journal record (a journal header
    // is written in one larger write): a multi-database transaction.
    ReportError(SQLITE_IOERR_WRITE,
                "a transaction over several attached databases cannot be made atomic "
                "with blaze_journal=absorb (" + *J(f)->name +
                    "); commit each database separately, or open it without absorption");
    return SQLITE_IOERR_WRITE;
  }
  return Guard(SQLITE_IOERR_NOMEM, SQLITE_IOERR_WRITE, [&] {
    auto& b = *J(f)->bytes;
    const auto end = static_cast<size_t>(off) + static_cast<size_t>(n);
    if (b.size() < end) b.resize(end);
    std::memcpy(b.data() + off, buf, static_cast<size_t>(n));
    return SQLITE_OK;
  });
}
int XTruncate(sqlite3_file* f, sqlite3_int64 size) noexcept {
  return Guard(SQLITE_IOERR_NOMEM, SQLITE_IOERR_TRUNCATE, [&] {
    J(f)->bytes->resize(static_cast<size_t>(size));
    return SQLITE_OK;
  });
}
int XSync(sqlite3_file*, int) noexcept { return SQLITE_OK; }
int XFileSize(sqlite3_file* f, sqlite3_int64* size) noexcept {
  *size = static_cast<sqlite3_int64>(J(f)->bytes->size());
  return SQLITE_OK;
}
int XLock(sqlite3_file*, int) noexcept { return SQLITE_OK; }
int XUnlock(sqlite3_file*, int) noexcept { return SQLITE_OK; }
int XCheckReservedLock(sqlite3_file*, int* out) noexcept {
  *out = 0;
  return SQLITE_OK;
}
int XFileControl(sqlite3_file*, int, void*) noexcept { return SQLITE_NOTFOUND; }
int XSectorSize(sqlite3_file*) noexcept { return 512; }
int XDeviceCharacteristics(sqlite3_file*) noexcept {
  return SQLITE_IOCAP_SAFE_APPEND | SQLITE_IOCAP_SEQUENTIAL | SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

const sqlite3_io_methods kMethods = {
    1,          XClose,    XRead,       XWrite,
    XTruncate,  XSync,     XFileSize,   XLock,
    XUnlock,    XCheckReservedLock, XFileControl, XSectorSize,
    XDeviceCharacteristics, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
};

}  // namespace

bool ShouldAbsorbJournal(const char* zName, int flags) {
  if (zName == nullptr || (flags & SQLITE_OPEN_MAIN_JOURNAL) == 0 ||
      (flags & SQLITE_OPEN_CREATE) == 0) {
    return false;  // a journal opened to roll back a hot journal is a real file
  }
  const char* db = sqlite3_filename_database(zName);
  if (db == nullptr || db[0] == '\0') return false;
  const char* mode = sqlite3_uri_parameter(db, "blaze_journal");
  return mode != nullptr && std::strcmp(mode, "absorb") == 0;
}

int MemJournalSize() { return static_cast<int>(sizeof(MemJournal)); }

int OpenMemJournal(const char* zName, sqlite3_file* pFile, int* pOutFlags) {
  auto* j = reinterpret_cast<MemJournal*>(pFile);
  j->base.pMethods = nullptr;
  j->bytes = new std::vector<unsigned char>();
  j->name = new std::string(zName);
  {
    std::lock_guard lock(NamesMutex());
    ClosedNames().erase(zName);
  }
  j->base.pMethods = &kMethods;
  if (pOutFlags != nullptr) *pOutFlags = SQLITE_OPEN_READWRITE;
  return SQLITE_OK;
}

bool ForgetAbsorbedJournal(const char* zName) {
  if (zName == nullptr) return false;
  std::lock_guard lock(NamesMutex());
  return ClosedNames().erase(zName) > 0;
}

}  // namespace blaze::vfs
