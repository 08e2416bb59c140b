// sqlite_ext/extension.cc: the module's entry point and its SQL functions.
//
// sqlite3_blaze_init runs when blaze.so is loaded: it registers the "blaze" VFS over
// the default VFS (once per process), adds the SQL surface to the loading connection,
// and registers an auto-extension that adds it to every connection opened afterwards.
// It returns SQLITE_OK_LOAD_PERMANENTLY so SQLite never unloads the module while the VFS
// it registered is in use.
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "cache/page_cache.h"
#include "include/blaze.h"
#include "sqlite_ext/stats_table.h"
#include "vfs/blaze_vfs.h"
#include "vfs/guard.h"
#include "vfs/last_error.h"
#include "vfs/sqlite_api.h"
#include "vfs/store_file.h"

namespace blaze::ext {
namespace {

using vfs::Guard;

// The project version from meson.build, the one place it is written.
constexpr char kVersion[] = BLAZE_VERSION;

void VersionFunc(sqlite3_context* ctx, int, sqlite3_value**) noexcept {
  sqlite3_result_text(ctx, kVersion, -1, SQLITE_STATIC);
}

void LastErrorFunc(sqlite3_context* ctx, int, sqlite3_value**) noexcept {
  const std::string& message = vfs::LastError();
  sqlite3_result_text(ctx, message.c_str(), static_cast<int>(message.size()), SQLITE_TRANSIENT);
}

// blaze_checkpoint([schema]) and blaze_compact([schema]): the store file control of the
// named database ("main" by default). Returns 0; errors name the reason.
void MaintenanceFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  const int op = *static_cast<const int*>(sqlite3_user_data(ctx));
  const char* schema = "main";
  if (argc == 1) {
    schema = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
    if (schema == nullptr) schema = "main";
  }
  sqlite3* db = sqlite3_context_db_handle(ctx);
  // A connection in WAL mode maps SQLite's wal-index at its first read, and the file
  // control needs it (vfs/store_file.cc, RunMaintenance): read the schema first.
  if (char* sql = sqlite3_mprintf("SELECT 1 FROM \"%w\".sqlite_schema LIMIT 1", schema)) {
    (void)sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    sqlite3_free(sql);
  }
  const int rc = sqlite3_file_control(db, schema, op, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_result_int(ctx, 0);
    return;
  }
  const std::string message =
      rc == SQLITE_NOTFOUND || rc == SQLITE_ERROR
          ? std::string("database '") + schema + "' is not a Blaze store"
          : std::string(sqlite3_errstr(rc)) + ": " + vfs::LastError();
  sqlite3_result_error(ctx, message.c_str(), -1);
  sqlite3_result_error_code(ctx, rc == SQLITE_NOTFOUND ? SQLITE_ERROR : rc);
}

// blaze_cache_budget([bytes]): the process's page-cache budget, set first when given
// (shrinking evicts at once). Returns the budget in bytes.
void CacheBudgetFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  cache::PageCache& cache = cache::PageCache::Process();
  if (argc == 1) {
    const sqlite3_int64 bytes = sqlite3_value_int64(argv[0]);
    if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER || bytes < 0 || bytes > (sqlite3_int64{1} << 40)) {
      sqlite3_result_error(ctx, "blaze_cache_budget: the budget must be an integer byte count from 0 to 2^40", -1);
      return;
    }
    cache.SetBudget(static_cast<uint64_t>(bytes));
  }
  sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(cache.budget()));
}

// blaze_cache_policy([name]): the page cache's eviction policy ('sieve', 'lru' or
// 's3fifo'), set first when given. Returns the policy's name.
void CachePolicyFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  cache::PageCache& cache = cache::PageCache::Process();
  if (argc == 1) {
    const char* name = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
    std::optional<cache::Policy> policy =
        name != nullptr ? cache::ParsePolicy(name) : std::nullopt;
    if (!policy) {
      sqlite3_result_error(ctx, "blaze_cache_policy: the policy must be 'sieve', 'lru' or 's3fifo'", -1);
      return;
    }
    cache.SetPolicy(*policy);
  }
  const std::string_view name = cache::PolicyName(cache.policy());
  sqlite3_result_text(ctx, name.data(), static_cast<int>(name.size()), SQLITE_STATIC);
}

const int kCheckpointOp = vfs::kFcntlCheckpoint;
const int kCompactOp = vfs::kFcntlCompact;

// Adds blaze_stats, blaze_version() and blaze_last_error() to db.
int AddSqlSurface(sqlite3* db) {
  int rc = RegisterStatsTable(db);
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function(db, "blaze_version", 0,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                 nullptr, VersionFunc, nullptr, nullptr);
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_create_function(db, "blaze_last_error", 0, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                 nullptr, LastErrorFunc, nullptr, nullptr);
  }
  for (int args = 0; args <= 1 && rc == SQLITE_OK; ++args) {
    rc = sqlite3_create_function(db, "blaze_cache_budget", args, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                 nullptr, CacheBudgetFunc, nullptr, nullptr);
    if (rc == SQLITE_OK) {
      rc = sqlite3_create_function(db, "blaze_cache_policy", args, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                   nullptr, CachePolicyFunc, nullptr, nullptr);
    }
  }
  for (const auto& [name, op] : {std::pair{"blaze_checkpoint", &kCheckpointOp},
                                 std::pair{"blaze_compact", &kCompactOp}}) {
    for (int args = 0; args <= 1 && rc == SQLITE_OK; ++args) {
      rc = sqlite3_create_function(db, name, args, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                   const_cast<int*>(op), MaintenanceFunc, nullptr, nullptr);
    }
  }
  return rc;
}

// The auto-extension: SQLite treats any non-zero return as failure, so unlike the
// entry point it returns plain SQLITE_OK.
int AutoInit(sqlite3* db, char** pzErrMsg, const sqlite3_api_routines*) noexcept {
  return Guard(SQLITE_NOMEM, SQLITE_ERROR, [&] {
    int rc = AddSqlSurface(db);
    if (rc != SQLITE_OK) *pzErrMsg = sqlite3_mprintf("blaze: cannot add its SQL functions");
    return rc;
  });
}

// The process-wide part of loading: the "blaze" VFS and the auto-extension.
// pApi is null when a statically linked program calls blaze_init().
int InitProcess(const sqlite3_api_routines* pApi) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  if (pApi != nullptr) SetSqliteApi(pApi);
  if (!SqliteApiComplete()) {
    vfs::ReportError(SQLITE_MISUSE, "blaze.so was not loaded by sqlite3_load_extension()");
    return SQLITE_MISUSE;
  }
  // A program may have registered "blaze" itself: keep that one.
  if (vfs::BlazeVfs::From(sqlite3_vfs_find("blaze")) == nullptr) {
    int rc = vfs::BlazeVfs::Register("blaze", nullptr, false);
    if (rc != SQLITE_OK) return rc;
  }
  // Registering the same auto-extension twice is a no-op in SQLite.
  int rc = sqlite3_auto_extension(reinterpret_cast<void (*)(void)>(&AutoInit));
  if (rc != SQLITE_OK) vfs::ReportError(rc, "cannot register the auto-extension");
  return rc;
}

int Init(sqlite3* db, char** pzErrMsg, const sqlite3_api_routines* pApi) {
  int rc = InitProcess(pApi);
  if (rc != SQLITE_OK) {
    *pzErrMsg = sqlite3_mprintf("blaze: %s", vfs::LastError().c_str());
    return rc;
  }
  rc = AddSqlSurface(db);
  if (rc != SQLITE_OK) {
    *pzErrMsg = sqlite3_mprintf("blaze: cannot add its SQL functions");
    return rc;
  }
  return SQLITE_OK_LOAD_PERMANENTLY;
}

}  // namespace
}  // namespace blaze::ext

extern "C" BLAZE_API int blaze_init(void) noexcept {
  return blaze::vfs::Guard(SQLITE_NOMEM, SQLITE_ERROR, [] { return blaze::ext::InitProcess(nullptr); });
}

extern "C" BLAZE_API int sqlite3_blaze_init(sqlite3* db, char** pzErrMsg,
                                            const sqlite3_api_routines* pApi) noexcept {
  return blaze::vfs::Guard(SQLITE_NOMEM, SQLITE_ERROR,
                           [&] { return blaze::ext::Init(db, pzErrMsg, pApi); });
}
