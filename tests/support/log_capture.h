// tests/support/log_capture.h: collects sqlite3_log() lines so tests can assert on them.
#pragma once

#include <string>
#include <vector>

namespace blaze::test {

// Installs the collector with SQLITE_CONFIG_LOG. Call before SQLite initialises.
void InstallLogCapture();

// Every line logged since the last call, as "(rc) message"; clears the list.
std::vector<std::string> TakeLogLines();

}  // namespace blaze::test
