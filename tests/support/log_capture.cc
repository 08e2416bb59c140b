// tests/support/log_capture.cc: the sqlite3_log() collector.
#include "tests/support/log_capture.h"

#include <sqlite3.h>

#include <mutex>

namespace blaze::test {
namespace {

std::mutex mu;
std::vector<std::string>* lines = new std::vector<std::string>;  // never freed: SQLite may log at exit

void Collect(void*, int rc, const char* msg) {
  std::lock_guard lock(mu);
  lines->push_back("(" + std::to_string(rc) + ") " + msg);
}

}  // namespace

void InstallLogCapture() { sqlite3_config(SQLITE_CONFIG_LOG, Collect, nullptr); }

std::vector<std::string> TakeLogLines() {
  std::lock_guard lock(mu);
  std::vector<std::string> out;
  out.swap(*lines);
  return out;
}

}  // namespace blaze::test
