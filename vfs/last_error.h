// vfs/last_error.h: the text behind blaze_last_error(), one per thread.
//
// A VFS cannot give SQLite an error message: a failed xOpen reaches the app as a bare
// SQLITE_CANTOPEN. So each failure that has more to say is reported twice: to
// sqlite3_log() (which the shell shows after ".log stderr") and here, where the app can
// read it with blaze_last_error() on the thread that failed.
#pragma once

#include <string>

namespace blaze::vfs {

// Records message as this thread's last error and writes it to sqlite3_log with rc.
void ReportError(int rc, const std::string& message);

// This thread's last error; empty if none.
const std::string& LastError();

}  // namespace blaze::vfs
