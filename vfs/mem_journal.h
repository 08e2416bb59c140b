// vfs/mem_journal.h: the rollback journal of a database opened with blaze_journal=absorb,
// kept in memory.
//
// With absorption the store's log gives each transaction its atomicity (everything
// between two commit points is one commit record), so the rollback journal is needed
// only while the process lives: to roll a transaction back, or a statement inside it. It
// is served from memory: writes cost nothing, syncs are free, and no journal ever exists
// on disk, so no process ever finds a hot journal. SQLite's commit in rollback mode then
// costs one log append and one log sync.
//
// Refused (docs/design/store.md, "Journal absorption"): a transaction over several
// databases with a super-journal. The log makes each database atomic, not the set; the
// journal write that would record the super-journal fails with SQLITE_IOERR_WRITE and a
// log line, so SQLite rolls the transaction back rather than commit it unsafely.
#pragma once

#include "vfs/sqlite_api.h"

namespace blaze::vfs {

// Whether the journal SQLite opens as zName (flags of xOpen) is to be absorbed: a main
// journal being created for a database opened with blaze_journal=absorb.
bool ShouldAbsorbJournal(const char* zName, int flags);

// Opens an empty in-memory journal in pFile (a block of at least MemJournalSize()).
int OpenMemJournal(const char* zName, sqlite3_file* pFile, int* pOutFlags);
int MemJournalSize();

// True (once) when zName is an absorbed journal that was closed: its delete must succeed
// without touching the disk.
bool ForgetAbsorbedJournal(const char* zName);

}  // namespace blaze::vfs
