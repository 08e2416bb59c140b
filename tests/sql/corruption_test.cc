// tests/sql/corruption_test.cc: every byte of a store's files flipped, one at a time.
//
// A small store is built (three tables, an index, a WITHOUT ROWID table, overflow rows
// both compressible and not) with a small blaze_checkpoint, so that several checkpoints
// put the data in the page file and both page-file header copies are in use; then it is
// reopened without automatic checkpoints and changed by three more transactions, which
// stay in the store log. Then, for each byte offset of the page file and of the log
// (every offset, or a deterministic sample when there are more than BLAZE_CORRUPTION_MAX
// of them, default 12000: always the first 256 bytes of each header, the rest at random),
// a copy of the two files with that one byte inverted is opened through blaze, every
// table is scanned (by rowid and through the index) into a digest, and PRAGMA
// integrity_check runs. Each flip must be:
//  - harmless: no error, integrity_check "ok", the digest the original files give; or
//  - detected: an SQLite error whose code is SQLITE_CORRUPT (any extended code),
//    SQLITE_IOERR_DATA or SQLITE_NOTADB, with a sqlite3_log line from blaze; or
//  - the one ambiguity the log format documents (wal/log_reader.cc, rule 6): damage to the
//    last synced transaction, with nothing valid after it, looks exactly like a torn
//    tail. A flip inside the last transaction's bytes of the log may therefore give the
//    state before that transaction, exactly (its digest), and nothing else.
// Never wrong data without an error, never another error code, never a crash.
//
// The slow suite runs every offset (BLAZE_CORRUPTION_MAX=0 means no limit).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/support/db.h"
#include "tests/support/log_capture.h"

using namespace blaze::test;

namespace {

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoll(v, nullptr, 10) : fallback;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Rewrites the file in place (no truncation when the size is unchanged: on ext4 a
// truncate-and-rewrite forces the data out at close, which costs a flush per trial).
void WriteFile(const std::string& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  struct stat st {};
  REQUIRE(fstat(fd, &st) == 0);
  if (static_cast<uint64_t>(st.st_size) != bytes.size()) {
    REQUIRE(ftruncate(fd, static_cast<off_t>(bytes.size())) == 0);
  }
  REQUIRE(pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
  REQUIRE(close(fd) == 0);
}

// Where an offset lies, for the report.
std::string Region(int file, uint64_t offset) {
  if (file == 0) {
    if (offset < 4096) return "page file header copy 0";
    if (offset < 8192) return "page file header copy 1";
    return "page file data";
  }
  return offset < 64 ? "log header" : "log frames";
}

// The result of reading the whole database: the first error, or a digest of everything.
struct Reading {
  int rc = SQLITE_OK;  // extended code of the first failure
  std::string error;
  uint64_t digest = 0;
  std::string integrity;
};

// Never fails the test: errors are data here.
Reading ReadEverything(const std::string& uri) {
  Reading out;
  sqlite3* raw = nullptr;
  const int open_rc = sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, nullptr);
  DbPtr db(raw);
  if (open_rc != SQLITE_OK) {
    out.rc = raw ? sqlite3_extended_errcode(raw) : open_rc;
    out.error = raw ? sqlite3_errmsg(raw) : "open failed";
    return out;
  }
  uint64_t h = 1469598103934665603ull;
  auto add = [&h](const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  for (const char* sql :
       {"SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name",
        "SELECT * FROM a ORDER BY id", "SELECT name, id FROM a INDEXED BY a_name ORDER BY name",
        "SELECT * FROM b ORDER BY id", "SELECT * FROM c ORDER BY k", "PRAGMA integrity_check"}) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db.get(), sql, -1, &s, nullptr);
    const bool integrity = std::string(sql).starts_with("PRAGMA");
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const int type = sqlite3_column_type(s, i);
        const void* p = sqlite3_column_blob(s, i);
        const int n = sqlite3_column_bytes(s, i);
        if (integrity) {
          out.integrity += (p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : "") + "\n";
          continue;
        }
        add(&type, sizeof type);
        add(&n, sizeof n);
        if (p != nullptr) add(p, static_cast<size_t>(n));
      }
      rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
      out.rc = sqlite3_extended_errcode(db.get());
      out.error = sqlite3_errmsg(db.get());
      return out;
    }
  }
  out.digest = h;
  return out;
}

std::string CodeName(int rc) {
  if (rc == SQLITE_IOERR_DATA) return "SQLITE_IOERR_DATA";
  if (rc == SQLITE_NOTADB) return "SQLITE_NOTADB";
  if (rc == SQLITE_CORRUPT) return "SQLITE_CORRUPT";
  if ((rc & 0xff) == SQLITE_CORRUPT) return "SQLITE_CORRUPT(extended " + std::to_string(rc) + ")";
  return std::string(sqlite3_errstr(rc)) + " (" + std::to_string(rc) + ")";
}

bool Acceptable(int rc) {
  return (rc & 0xff) == SQLITE_CORRUPT || rc == SQLITE_IOERR_DATA || rc == SQLITE_NOTADB;
}

}  // namespace

TEST_CASE("every single-byte flip of a store's files is harmless or detected",
          "[sql][corruption]") {
  InitBlaze();
  TempDir dir;
  const std::string build_path = dir.Path("build.db");
  {
    // blaze_dictionary: the store makes its dictionary (page file version 2) early on, so
    // flips land in it and in pages encoded against it too.
    DbPtr db = Open("file:" + build_path + "?vfs=blaze&blaze_checkpoint=16384&blaze_dictionary=16384");
    Exec(db.get(),
         "CREATE TABLE a(id INTEGER PRIMARY KEY, name TEXT, n INTEGER);"
         "CREATE INDEX a_name ON a(name);"
         "CREATE TABLE b(id INTEGER PRIMARY KEY, data BLOB);"
         "CREATE TABLE c(k TEXT PRIMARY KEY, v) WITHOUT ROWID;");
    for (int t = 0; t < 4; ++t) {
      Exec(db.get(),
           "BEGIN;"
           "WITH RECURSIVE x(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM x WHERE i < 60) "
           "INSERT INTO a(name, n) SELECT 'name-' || i || '-' || hex(randomblob(6)), i FROM x;"
           "INSERT INTO b(data) VALUES (randomblob(5000)), "
           "(CAST(printf('%.9000c', 'z') || hex(randomblob(20)) AS BLOB));"
           "WITH RECURSIVE x(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM x WHERE i < 15) "
           "INSERT INTO c SELECT 'key-" + std::to_string(t) + "-' || i, hex(randomblob(10)) FROM x;"
           "COMMIT;");
    }
    REQUIRE(FileCounter(db.get(), build_path, "checkpoints") >= 2);  // both header copies in use
    REQUIRE(FileCounter(db.get(), build_path, "dictionary_bytes") > 0);
  }
  uint64_t prev_digest = 0;
  uint64_t last_txn_from = 0;  // log offset where the last transaction's bytes begin
  {
    DbPtr db = Open("file:" + build_path + "?vfs=blaze&blaze_checkpoint=0");
    Exec(db.get(), "UPDATE a SET n = n + 1000 WHERE id % 7 = 0");
    Exec(db.get(), "INSERT INTO b(data) VALUES (randomblob(3000)); DELETE FROM c WHERE k LIKE 'key-1-%'");
    db.reset();
    prev_digest = ReadEverything("file:" + build_path + "?vfs=blaze&blaze_checkpoint=0").digest;
    last_txn_from = ReadFile(build_path + "-blazelog").size();
    db = Open("file:" + build_path + "?vfs=blaze&blaze_checkpoint=0");
    // One transaction: one commit record, the log's last.
    Exec(db.get(), "BEGIN; UPDATE a SET name = name || '!' WHERE id % 5 = 0; "
                   "INSERT INTO c VALUES ('zz', randomblob(100)); COMMIT");
    CHECK(FileCounter(db.get(), build_path, "checkpoints") == 0);
  }
  const std::string page_file = ReadFile(build_path);
  const std::string log = ReadFile(build_path + "-blazelog");
  REQUIRE(log.size() > last_txn_from);
  REQUIRE(!std::filesystem::exists(build_path + "-journal"));

  const std::string path = dir.Path("flip.db");
  const std::string uri = "file:" + path + "?vfs=blaze&blaze_checkpoint=0";
  WriteFile(path, page_file);
  WriteFile(path + "-blazelog", log);
  const Reading original = ReadEverything(uri);
  REQUIRE(original.rc == SQLITE_OK);
  REQUIRE(original.integrity == "ok\n");
  REQUIRE(original.digest != prev_digest);

  // The offsets to flip: (file, offset), file 0 = page file, 1 = log.
  std::vector<std::pair<int, uint64_t>> all;
  for (uint64_t i = 0; i < page_file.size(); ++i) all.push_back({0, i});
  for (uint64_t i = 0; i < log.size(); ++i) all.push_back({1, i});
  const auto limit = static_cast<size_t>(EnvInt("BLAZE_CORRUPTION_MAX", 12000));
  std::vector<std::pair<int, uint64_t>> offsets;
  if (limit == 0 || all.size() <= limit) {
    offsets = all;
  } else {
    std::vector<std::pair<int, uint64_t>> rest;
    for (const auto& o : all) {
      const bool header = (o.first == 0 && (o.second % 4096) < 256 && o.second < 8192) ||
                          (o.first == 1 && o.second < 256);
      (header ? offsets : rest).push_back(o);
    }
    std::mt19937_64 rng(static_cast<uint64_t>(EnvInt("BLAZE_CORRUPTION_SEED", 4242)));
    std::shuffle(rest.begin(), rest.end(), rng);
    rest.resize(std::min(rest.size(), limit > offsets.size() ? limit - offsets.size() : 0));
    offsets.insert(offsets.end(), rest.begin(), rest.end());
    std::sort(offsets.begin(), offsets.end());
  }

  int64_t harmless = 0, torn_tail = 0, failures = 0;
  std::map<std::string, int64_t> detected;
  std::vector<std::string> first_failures;
  std::map<std::string, std::pair<int64_t, uint64_t>> failures_by_region;  // count, first
  const auto start = std::chrono::steady_clock::now();
  for (const auto& [file, offset] : offsets) {
    std::string pf = page_file, lg = log;
    std::string& target = file == 0 ? pf : lg;
    target[offset] = static_cast<char>(target[offset] ^ 0xff);
    WriteFile(path, pf);
    WriteFile(path + "-blazelog", lg);
    TakeLogLines();
    const Reading r = ReadEverything(uri);
    bool blaze_logged = false;
    std::string lines;
    for (const std::string& line : TakeLogLines()) {
      blaze_logged = blaze_logged || line.find("blaze") != std::string::npos;
      lines += "\n    " + line;
    }
    std::string problem;
    if (r.rc == SQLITE_OK) {
      if (r.integrity != "ok\n") {
        problem = "no error, but integrity_check says: " + r.integrity;
      } else if (r.digest == original.digest) {
        ++harmless;
      } else if (file == 1 && offset >= last_txn_from && r.digest == prev_digest) {
        ++torn_tail;
      } else {
        problem = "no error, but different data";
      }
    } else if (!Acceptable(r.rc)) {
      problem = "error " + CodeName(r.rc) + ": " + r.error;
    } else if (!blaze_logged) {
      problem = "error " + CodeName(r.rc) + " (" + r.error + ") without a blaze log line";
    } else {
      ++detected[CodeName(r.rc)];
    }
    if (!problem.empty()) {
      ++failures;
      auto& region = failures_by_region[Region(file, offset)];
      if (region.first++ == 0) region.second = offset;
      if (region.first <= 3) {
        first_failures.push_back(std::string(file == 0 ? "page file" : "log") + " offset " +
                                 std::to_string(offset) + ": " + problem + lines);
      }
    }
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();

  std::cout << "corruption: page file " << page_file.size() << " bytes, log " << log.size()
            << " bytes (last transaction from " << last_txn_from << "); flipped "
            << offsets.size() << " of " << all.size() << " offsets"
            << (offsets.size() < all.size() ? " (deterministic sample)" : "") << " in " << ms
            << " ms: " << harmless << " harmless, " << torn_tail
            << " dropped the last transaction as a torn tail";
  for (const auto& [code, n] : detected) std::cout << ", " << n << " detected as " << code;
  std::cout << ", " << failures << " failures\n";
  for (const auto& [region, n] : failures_by_region) {
    std::cout << "  failures in " << region << ": " << n.first << " (first at offset " << n.second
              << ")\n";
  }
  for (const std::string& f : first_failures) std::cout << "  " << f << "\n";
  CHECK(failures == 0);
  CHECK(harmless > 0);
  CHECK(!detected.empty());
}
