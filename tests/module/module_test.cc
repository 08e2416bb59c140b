// tests/module/module_test.cc: blaze.so as users load it.
//
// This program links only the system libsqlite3, never Blaze's static libraries: the
// module is found through BLAZE_MODULE (set by meson) and loaded the way an app or the
// sqlite3 shell loads it.
#include <dlfcn.h>
#include <sys/wait.h>
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/support/db.h"

using namespace blaze::test;

namespace {

std::string ModulePath() {
  const char* p = std::getenv("BLAZE_MODULE");
  REQUIRE(p != nullptr);
  return p;
}

using RegisterFn = int (*)(const char*, const char*, int);

// Runs the stock sqlite3 shell on script; returns its stdout+stderr and exit status.
std::pair<std::string, int> RunShell(const std::string& script, const TempDir& dir) {
  const std::string script_path = dir.Path("script.sql");
  FILE* f = fopen(script_path.c_str(), "w");
  REQUIRE(f != nullptr);
  fputs(script.c_str(), f);
  fclose(f);
  // Under AddressSanitizer the uninstrumented shell must preload the runtime that an
  // instrumented blaze.so needs; meson passes it in BLAZE_SHELL_PRELOAD.
  std::string cmd;
  if (const char* preload = std::getenv("BLAZE_SHELL_PRELOAD"); preload && *preload) {
    cmd = std::string("LD_PRELOAD=") + preload + " ASAN_OPTIONS=detect_leaks=0 ";
  }
  cmd += "sqlite3 -batch :memory: < " + script_path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {out, status};
}

}  // namespace

TEST_CASE("blaze.so loads into a program and registers the blaze VFS", "[module]") {
  const std::string path = ModulePath();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  REQUIRE(handle != nullptr);
  auto reg = reinterpret_cast<RegisterFn>(dlsym(handle, "blaze_vfs_register"));
  REQUIRE(reg != nullptr);
  REQUIRE(dlsym(handle, "sqlite3_blaze_init") != nullptr);

  // Before SQLite ever initialised the module, blaze_vfs_register finds SQLite among the
  // process's symbols (this program links libsqlite3), while blaze_init, which needs
  // the whole SQL API, refuses.
  CHECK(reg("blaze-early", "unix", 0) == SQLITE_OK);
  CHECK(sqlite3_vfs_find("blaze-early") != nullptr);
  auto init = reinterpret_cast<int (*)()>(dlsym(handle, "blaze_init"));
  REQUIRE(init != nullptr);
  if (sqlite3_vfs_find("blaze") == nullptr) CHECK(init() == SQLITE_MISUSE);

  TempDir dir;
  {
    DbPtr loader = Open(":memory:");
    REQUIRE(sqlite3_enable_load_extension(loader.get(), 1) == SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_load_extension(loader.get(), path.c_str(), nullptr, &err);
    INFO((err ? err : ""));
    sqlite3_free(err);
    REQUIRE(rc == SQLITE_OK);
    REQUIRE(sqlite3_vfs_find("blaze") != nullptr);
    // The loading connection has the SQL surface too.
    CHECK(QueryText(loader.get(), "SELECT blaze_version()") == "0.1.0");
  }  // the loading connection is gone; the VFS stays (SQLITE_OK_LOAD_PERMANENTLY)

  // Stacking through the exported C function, found with dlsym.
  REQUIRE(reg("blaze-over-dotfile", "unix-dotfile", 0) == SQLITE_OK);

  for (const char* vfs : {"blaze", "blaze-over-dotfile", "blaze-early"}) {
    DYNAMIC_SECTION(vfs) {
      const std::string db_path = dir.Path(std::string(vfs) + ".db");
      DbPtr db = Open("file:" + db_path + "?vfs=" + vfs);
      Exec(db.get(),
           "CREATE TABLE t(x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c "
           "WHERE i < 1000) INSERT INTO t SELECT i FROM c");
      // A connection opened after loading gets blaze_stats from the auto-extension.
      CHECK(FileCounter(db.get(), db_path, "writes") > 0);
      CHECK(QueryText(db.get(), "PRAGMA integrity_check") == "ok");
    }
  }
  dlclose(handle);  // drops our reference; SQLite keeps its own
}

TEST_CASE("the sqlite3 shell loads blaze and shows its figures", "[module][shell]") {
  if (std::system("command -v sqlite3 >/dev/null 2>&1") != 0) {
    FAIL("the sqlite3 shell is not installed (apt-get install sqlite3)");
  }
  TempDir dir;
  std::string module = ModulePath();
  module = module.substr(0, module.size() - 3);  // ".load" adds ".so" itself
  const std::string db_path = dir.Path("shell.db");
  const std::string script =
      ".load " + module + "\n"
      ".open file:" + db_path + "?vfs=blaze\n"
      ".vfsname\n"
      "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);\n"
      "INSERT INTO notes(body) SELECT printf('note %d', value) FROM generate_series(1, 500);\n"
      "SELECT 'rows', count(*) FROM notes;\n"
      "SELECT 'stats', writes > 0, bytes_written >= 4096, syncs > 0 FROM blaze_stats "
      "WHERE file = '" + db_path + "';\n"
      ".open file:" + dir.Path("bad.db") + "?vfs=blaze&blaze_codec=zstd\n"
      ".open :memory:\n"
      "SELECT 'error', blaze_last_error();\n";
  auto [out, status] = RunShell(script, dir);
  INFO(out);
  CHECK(status == 0);
  CHECK_THAT(out, Catch::Contains("blaze/unix"));
  CHECK_THAT(out, Catch::Contains("rows|500"));
  CHECK_THAT(out, Catch::Contains("stats|1|1|1"));
  CHECK_THAT(out, Catch::Contains("error|bad value 'zstd' for URI parameter blaze_codec"));
  // The file is a Blaze store: it reopens through blaze in a new shell, and stock SQLite
  // without blaze refuses it instead of misreading compressed pages.
  REQUIRE(std::filesystem::exists(db_path));
  auto [again, again_status] = RunShell(".load " + module + "\n.open file:" + db_path +
                                            "?vfs=blaze\nSELECT 'again', count(*) FROM notes;\n"
                                            "PRAGMA integrity_check;\n",
                                        dir);
  INFO(again);
  CHECK(again_status == 0);
  CHECK_THAT(again, Catch::Contains("again|500"));
  CHECK_THAT(again, Catch::Contains("ok"));
  DbPtr db = Open("file:" + db_path + "?vfs=unix");
  CHECK(TryExec(db.get(), "SELECT count(*) FROM notes") == SQLITE_NOTADB);
}

TEST_CASE("blaze.so exports exactly the public API", "[module]") {
  const std::string cmd = "nm -D --defined-only " + ModulePath() + " | awk '{print $3}' | sort";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  REQUIRE(pclose(p) == 0);
  CHECK(out == "blaze_init\nblaze_last_error\nblaze_vfs_register\nsqlite3_blaze_init\n");
}

namespace {
void Noop(sqlite3_context* ctx, int, sqlite3_value**) { sqlite3_result_null(ctx); }
}  // namespace

// Run only in a fresh process by the test below (hidden tag "[.]"): the module must not
// be loaded yet when this starts.
TEST_CASE("load failure child", "[.][load-failure-child]") {
  DbPtr db = Open(":memory:");
  REQUIRE(sqlite3_enable_load_extension(db.get(), 1) == SQLITE_OK);
  // With a function of the same name in use, SQLite refuses to let the module replace
  // blaze_version() while a statement runs: the load fails after the VFS is registered,
  // and SQLite dlclose()s the module.
  REQUIRE(sqlite3_create_function(db.get(), "blaze_version", 0, SQLITE_UTF8, nullptr, Noop,
                                  nullptr, nullptr) == SQLITE_OK);
  CHECK(TryExec(db.get(), "SELECT load_extension('" + ModulePath() + "')") != SQLITE_OK);
  // The VFS it registered must still work: the module stays mapped (-z nodelete).
  REQUIRE(sqlite3_vfs_find("blaze") != nullptr);
  TempDir dir;
  DbPtr store = Open("file:" + dir.Path("after-failure.db") + "?vfs=blaze");
  Exec(store.get(), "CREATE TABLE t(x); INSERT INTO t VALUES (1)");
  CHECK(QueryInt(store.get(), "SELECT count(*) FROM t") == 1);
}

TEST_CASE("a load that fails half-way leaves no dangling VFS", "[module]") {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const int status = std::system(("'" + self + "' '[load-failure-child]' >/dev/null 2>&1").c_str());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
