// tests/catch_main.cc: the one main every Catch2 test program links.
//
// It routes sqlite3_log() into tests/support/log_capture.h before SQLite initialises,
// so tests can check the log lines Blaze writes.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "tests/support/log_capture.h"

int main(int argc, char* argv[]) {
  blaze::test::InstallLogCapture();
  return Catch::Session().run(argc, argv);
}
