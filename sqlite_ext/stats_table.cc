// sqlite_ext/stats_table.cc: blaze_stats, the store's counters as an eponymous table.
//
// Each scan takes one snapshot of the registry (vfs/stats.h) in xFilter and serves rows
// from it, so a query sees a consistent list of files even while others open and close.
#include "sqlite_ext/stats_table.h"

#include <string>
#include <type_traits>
#include <vector>

#include "vfs/guard.h"
#include "vfs/stats.h"

namespace blaze::ext {
namespace {

using vfs::Guard;
using vfs::kCounterCount;
using vfs::StatsRow;

constexpr int kColVfs = 0;
constexpr int kColFile = 1;
constexpr int kColFirstCounter = 2;
constexpr int kColFirstFigure = kColFirstCounter + vfs::kCounterCount;
constexpr int kColRatio = kColFirstFigure + vfs::kFigureCount;
constexpr int kColHitRatio = kColRatio + 1;

std::string Schema() {
  std::string sql = "CREATE TABLE x(vfs TEXT, file TEXT";
  for (std::string_view name : vfs::kCounterNames) {
    sql += ", ";
    sql += name;
    sql += " INTEGER";
  }
  for (std::string_view name : vfs::kFigureNames) {
    sql += ", ";
    sql += name;
    sql += " INTEGER";
  }
  // ratio: logical_bytes / stored_bytes, NULL while nothing is stored; hit_ratio:
  // cache_hits / (cache_hits + cache_misses), NULL before the first read.
  return sql + ", ratio REAL, hit_ratio REAL)";
}

struct Cursor {
  sqlite3_vtab_cursor base{};  // must be first
  std::vector<StatsRow> rows;
  size_t at = 0;
};

static_assert(std::is_standard_layout_v<Cursor>, "SQLite sees a Cursor as its first member");
Cursor* C(sqlite3_vtab_cursor* cur) { return reinterpret_cast<Cursor*>(cur); }

int XConnect(sqlite3* db, void*, int, const char* const*, sqlite3_vtab** ppVtab,
             char**) noexcept {
  return Guard(SQLITE_NOMEM, SQLITE_ERROR, [&] {
    int rc = sqlite3_declare_vtab(db, Schema().c_str());
    if (rc != SQLITE_OK) return rc;
    auto* vtab = static_cast<sqlite3_vtab*>(sqlite3_malloc(sizeof(sqlite3_vtab)));
    if (vtab == nullptr) return SQLITE_NOMEM;
    *vtab = sqlite3_vtab{};
    *ppVtab = vtab;
    return SQLITE_OK;
  });
}

int XDisconnect(sqlite3_vtab* pVtab) noexcept {
  sqlite3_free(pVtab);
  return SQLITE_OK;
}

int XBestIndex(sqlite3_vtab*, sqlite3_index_info* info) noexcept {
  // A handful of rows: a full scan is always right.
  info->estimatedCost = 10;
  info->estimatedRows = 10;
  return SQLITE_OK;
}

int XOpen(sqlite3_vtab*, sqlite3_vtab_cursor** ppCursor) noexcept {
  return Guard(SQLITE_NOMEM, SQLITE_ERROR, [&] {
    *ppCursor = &(new Cursor)->base;
    return SQLITE_OK;
  });
}

int XClose(sqlite3_vtab_cursor* cur) noexcept {
  delete C(cur);
  return SQLITE_OK;
}

int XFilter(sqlite3_vtab_cursor* cur, int, const char*, int, sqlite3_value**) noexcept {
  return Guard(SQLITE_NOMEM, SQLITE_ERROR, [&] {
    C(cur)->rows = vfs::StatsRegistry::Instance().Snapshot();
    C(cur)->at = 0;
    return SQLITE_OK;
  });
}

int XNext(sqlite3_vtab_cursor* cur) noexcept {
  ++C(cur)->at;
  return SQLITE_OK;
}

int XEof(sqlite3_vtab_cursor* cur) noexcept { return C(cur)->at >= C(cur)->rows.size(); }

int XColumn(sqlite3_vtab_cursor* cur, sqlite3_context* ctx, int col) noexcept {
  const StatsRow& row = C(cur)->rows[C(cur)->at];
  if (col == kColVfs || col == kColFile) {
    if (row.is_total) {
      sqlite3_result_null(ctx);
    } else {
      const std::string& s = col == kColVfs ? row.vfs_name : row.path;
      sqlite3_result_text(ctx, s.c_str(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    }
  } else if (col >= kColFirstCounter && col < kColFirstCounter + kCounterCount) {
    sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(row.values[col - kColFirstCounter]));
  } else if (col >= kColFirstFigure && col < kColRatio) {
    sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(row.figures[col - kColFirstFigure]));
  } else if (col == kColRatio) {
    const uint64_t logical = row.figures[static_cast<int>(vfs::Figure::kLogicalBytes)];
    const uint64_t stored = row.figures[static_cast<int>(vfs::Figure::kStoredBytes)];
    if (stored == 0) {
      sqlite3_result_null(ctx);
    } else {
      sqlite3_result_double(ctx, static_cast<double>(logical) / static_cast<double>(stored));
    }
  } else if (col == kColHitRatio) {
    const uint64_t hits = row.figures[static_cast<int>(vfs::Figure::kCacheHits)];
    const uint64_t misses = row.figures[static_cast<int>(vfs::Figure::kCacheMisses)];
    if (hits + misses == 0) {
      sqlite3_result_null(ctx);
    } else {
      sqlite3_result_double(ctx, static_cast<double>(hits) / static_cast<double>(hits + misses));
    }
  }
  return SQLITE_OK;
}

int XRowid(sqlite3_vtab_cursor* cur, sqlite3_int64* pRowid) noexcept {
  *pRowid = static_cast<sqlite3_int64>(C(cur)->at) + 1;
  return SQLITE_OK;
}

const sqlite3_module kModule = {
    0,            // iVersion
    nullptr,      // xCreate: null makes the table eponymous-only
    XConnect,     // xConnect
    XBestIndex,   // xBestIndex
    XDisconnect,  // xDisconnect
    nullptr,      // xDestroy
    XOpen,        // xOpen
    XClose,       // xClose
    XFilter,      // xFilter
    XNext,        // xNext
    XEof,         // xEof
    XColumn,      // xColumn
    XRowid,       // xRowid
    nullptr,      // xUpdate: read-only
    nullptr,      // xBegin
    nullptr,      // xSync
    nullptr,      // xCommit
    nullptr,      // xRollback
    nullptr,      // xFindFunction
    nullptr,      // xRename
    nullptr,      // xSavepoint
    nullptr,      // xRelease
    nullptr,      // xRollbackTo
    nullptr,      // xShadowName
};

}  // namespace

int RegisterStatsTable(sqlite3* db) {
  return sqlite3_create_module(db, "blaze_stats", &kModule, nullptr);
}

}  // namespace blaze::ext
