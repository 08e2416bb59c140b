// tests/sql/workload.h: a small deterministic CRUD workload and its expected result.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace blaze::test {

// Creates t(id, k, v) with an index, inserts rows 1..n (text and blobs, some larger
// than a 512-byte page so overflow chains appear), updates the even rows, deletes every
// third row. Requires every statement to succeed.
void RunCrudWorkload(sqlite3* db, int n);

// "count|sum(length(v))|sum(id)" of t, and what RunCrudWorkload(n) must leave.
std::string CrudDigest(sqlite3* db);
std::string ExpectedCrudDigest(int n);

}  // namespace blaze::test
