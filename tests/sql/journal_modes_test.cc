// tests/sql/journal_modes_test.cc: every journal mode at several page sizes, through
// the blaze VFS: create, insert, update, delete, integrity_check, reopen.
#include <catch2/catch.hpp>

#include "tests/sql/workload.h"
#include "tests/support/db.h"

using namespace blaze::test;

TEST_CASE("CRUD and integrity_check in every journal mode and page size", "[sql]") {
  InitBlaze();
  const char* modes[] = {"delete", "truncate", "persist", "memory", "wal", "off"};
  const int page_sizes[] = {512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
  constexpr int kRows = 1500;
  for (const char* mode : modes) {
    for (int page_size : page_sizes) {
      DYNAMIC_SECTION("journal_mode=" << mode << " page_size=" << page_size) {
        TempDir dir;
        const std::string path = dir.Path("t.db");
        const std::string uri = "file:" + path + "?vfs=blaze";
        {
          DbPtr db = Open(uri);
          Exec(db.get(), "PRAGMA page_size=" + std::to_string(page_size));
          REQUIRE(QueryText(db.get(), std::string("PRAGMA journal_mode=") + mode) == mode);
          RunCrudWorkload(db.get(), kRows);
          CHECK(CrudDigest(db.get()) == ExpectedCrudDigest(kRows));
          CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
          CHECK(QueryInt(db.get(), "PRAGMA page_size") == page_size);
          // The I/O went through the store, and blaze_stats saw it. In WAL mode the
          // database file is written by checkpoints: change a page, checkpoint, and see
          // the checkpoint write it.
          Exec(db.get(), "UPDATE t SET k = k WHERE id = 1");
          const int64_t writes = FileCounter(db.get(), path, "writes");
          Exec(db.get(), "PRAGMA wal_checkpoint(TRUNCATE)");
          const int64_t after = FileCounter(db.get(), path, "writes");
          if (mode == std::string("wal")) {
            CHECK(after > writes);
          } else {
            CHECK(after == writes);  // nothing left to write back outside WAL mode
          }
          CHECK(writes > 0);
          CHECK(FileCounter(db.get(), path, "bytes_written") == after * page_size);
          CHECK(FileCounter(db.get(), path, "locks") > 0);
        }
        DbPtr db = Open(uri);
        CHECK(CrudDigest(db.get()) == ExpectedCrudDigest(kRows));
        CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
        CHECK(FileCounter(db.get(), path, "reads") > 0);
      }
    }
  }
}
