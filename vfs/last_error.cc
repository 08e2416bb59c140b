// vfs/last_error.cc: per-thread last error text and its sqlite3_log line.
#include "vfs/last_error.h"

#include "vfs/sqlite_api.h"

namespace blaze::vfs {
namespace {
thread_local std::string last_error;
}  // namespace

void ReportError(int rc, const std::string& message) {
  last_error = message;
  if (SqliteApiReady()) sqlite3_log(rc, "blaze: %s", message.c_str());
}

const std::string& LastError() { return last_error; }

}  // namespace blaze::vfs
