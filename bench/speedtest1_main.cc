// bench/speedtest1_main.cc: main() for SQLite's speedtest1 that loads blaze.so first.
//
// bench/speedtest1.sh compiles Debian's test/speedtest1.c with -Dmain=speedtest1_main
// and links it with this file and the system libsqlite3. When BLAZE_MODULE names
// blaze.so, it is loaded through sqlite3_load_extension() on a throw-away :memory:
// connection before speedtest1 starts; the "blaze" VFS stays registered (the module
// loads permanently), so `speedtest1 --vfs blaze` finds it. Without BLAZE_MODULE this is
// plain speedtest1 on stock SQLite.
#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

extern "C" int speedtest1_main(int argc, char** argv);

namespace {

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};

int LoadBlaze(const char* module) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open(":memory:", &raw);
  std::unique_ptr<sqlite3, DbClose> db(raw);
  if (rc != SQLITE_OK) return rc;
  sqlite3_enable_load_extension(raw, 1);
  char* err = nullptr;
  if (sqlite3_load_extension(raw, module, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "speedtest1: cannot load %s: %s\n", module, err ? err : "?");
    sqlite3_free(err);
    return SQLITE_ERROR;
  }
  return SQLITE_OK;
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* module = std::getenv("BLAZE_MODULE"); module != nullptr && *module != '\0') {
    if (LoadBlaze(module) != SQLITE_OK) return 1;
  }
  return speedtest1_main(argc, argv);
}
