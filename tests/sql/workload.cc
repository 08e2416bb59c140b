// tests/sql/workload.cc: the deterministic CRUD workload of the SQL tests.
#include "tests/sql/workload.h"

#include "tests/support/db.h"

namespace blaze::test {

namespace {
// Length of v for row id before and after the update of even rows.
int64_t InitialLength(int id) { return 20 + (id % 7) * 150; }
}  // namespace

void RunCrudWorkload(sqlite3* db, int n) {
  Exec(db,
       "CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v BLOB);"
       "CREATE INDEX t_k ON t(k);");
  // Half in one transaction, half in small ones: both commit paths run.
  Exec(db, "BEGIN;"
           "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < " +
               std::to_string(n / 2) +
               ") INSERT INTO t SELECT i, printf('key-%08d', i), "
               "zeroblob(20 + (i % 7) * 150) FROM c;"
               "COMMIT;");
  for (int id = n / 2 + 1; id <= n; id += 50) {
    const int last = std::min(n, id + 49);
    Exec(db, "WITH RECURSIVE c(i) AS (SELECT " + std::to_string(id) +
                 " UNION ALL SELECT i+1 FROM c WHERE i < " + std::to_string(last) +
                 ") INSERT INTO t SELECT i, printf('key-%08d', i), "
                 "zeroblob(20 + (i % 7) * 150) FROM c;");
  }
  Exec(db, "UPDATE t SET v = zeroblob(length(v) + 10), k = k || '-u' WHERE id % 2 = 0;");
  Exec(db, "DELETE FROM t WHERE id % 3 = 0;");
}

std::string CrudDigest(sqlite3* db) {
  return QueryRows(db, "SELECT count(*), sum(length(v)), sum(id) FROM t").at(0);
}

std::string ExpectedCrudDigest(int n) {
  int64_t count = 0, length = 0, ids = 0;
  for (int id = 1; id <= n; ++id) {
    if (id % 3 == 0) continue;
    ++count;
    ids += id;
    length += InitialLength(id) + (id % 2 == 0 ? 10 : 0);
  }
  return std::to_string(count) + "|" + std::to_string(length) + "|" + std::to_string(ids);
}

}  // namespace blaze::test
