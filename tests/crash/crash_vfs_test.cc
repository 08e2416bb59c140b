// tests/crash/crash_vfs_test.cc: the crash VFS's own model, driven through sqlite3_vfs.
//
// One file, written through the shim's methods: what PowerLoss leaves on disk for each
// policy, that a sync makes writes durable, that every operation after the crash point
// fails, that deletes are durable and that a lying sync persists nothing.
#include <catch2/catch.hpp>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/crash_vfs.h"
#include "tests/support/db.h"

using namespace blaze::test;

namespace {

using Bytes = std::vector<unsigned char>;

sqlite3_vfs* CrashStack() {
  CrashVfs::Register("crash", "unix");
  sqlite3_vfs* vfs = sqlite3_vfs_find("crash");
  REQUIRE(vfs != nullptr);
  return vfs;
}

// A file opened through a VFS; closed when the object goes away.
class VfsFile {
 public:
  VfsFile(sqlite3_vfs* vfs, const std::string& path)
      : path_(path), mem_(static_cast<size_t>(vfs->szOsFile) / sizeof(max_align_t) + 1) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MAIN_DB;
    REQUIRE(vfs->xOpen(vfs, path_.c_str(), f(), flags, nullptr) == SQLITE_OK);
  }
  ~VfsFile() { Close(); }
  VfsFile(const VfsFile&) = delete;
  VfsFile& operator=(const VfsFile&) = delete;

  int Write(const Bytes& b, int64_t offset) {
    return f()->pMethods->xWrite(f(), b.data(), static_cast<int>(b.size()), offset);
  }
  int Sync() { return f()->pMethods->xSync(f(), SQLITE_SYNC_NORMAL); }
  int Truncate(int64_t size) { return f()->pMethods->xTruncate(f(), size); }
  void Close() {
    if (f()->pMethods != nullptr) f()->pMethods->xClose(f());
    f()->pMethods = nullptr;
  }

 private:
  sqlite3_file* f() { return reinterpret_cast<sqlite3_file*>(mem_.data()); }
  std::string path_;
  std::vector<max_align_t> mem_;
};

Bytes Fill(size_t n, unsigned char c) { return Bytes(n, c); }

Bytes Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("power loss keeps synced writes and keeps, drops or tears the rest", "[crash]") {
  sqlite3_vfs* vfs = CrashStack();
  TempDir dir;
  const std::string path = dir.Path("f");
  const Bytes a = Fill(2048, 'a'), b = Fill(2048, 'b');

  for (uint64_t seed = 0; seed < 40; ++seed) {
    CrashVfs::Reset();
    CrashVfs::Arm({0});
    {
      VfsFile f(vfs, path);
      REQUIRE(f.Truncate(0) == SQLITE_OK);
      REQUIRE(f.Write(a, 0) == SQLITE_OK);
      REQUIRE(f.Sync() == SQLITE_OK);
      REQUIRE(f.Write(b, 1000) == SQLITE_OK);  // unaligned, extends the file to 3048
    }
    const auto policy = seed == 0 ? PowerLossPolicy::kKeepAll
                        : seed == 1 ? PowerLossPolicy::kDropAll : PowerLossPolicy::kRandom;
    const PowerLossReport r = CrashVfs::PowerLoss(seed, policy);
    const Bytes got = Slurp(path);
    INFO("seed " << seed);
    CHECK(r.kept + r.dropped + r.torn == 1);
    if (policy == PowerLossPolicy::kKeepAll) {
      CHECK(got.size() == 3048);
    } else if (policy == PowerLossPolicy::kDropAll) {
      CHECK(got == a);
    }
    // Synced bytes before the unsynced write's range never change; inside it, each
    // piece (cut at multiples of 512) is all old or all new; past the old end, an
    // absent piece reads as zeros (a hole) or is not there at all.
    REQUIRE(got.size() >= 2048);
    CHECK(Bytes(got.begin(), got.begin() + 1000) == Fill(1000, 'a'));
    for (size_t from = 1000; from < got.size();) {
      const size_t to = std::min(got.size(), (from / 512 + 1) * 512);
      const Bytes piece(got.begin() + static_cast<long>(from), got.begin() + static_cast<long>(to));
      const unsigned char old = from < 2048 ? 'a' : 0;
      CHECK((piece == Fill(to - from, 'b') || piece == Fill(to - from, old)));
      from = to;
    }
  }
  CrashVfs::Reset();
}

TEST_CASE("power loss undoes an unsynced truncate or keeps it", "[crash]") {
  sqlite3_vfs* vfs = CrashStack();
  TempDir dir;
  const std::string path = dir.Path("f");
  for (auto policy : {PowerLossPolicy::kKeepAll, PowerLossPolicy::kDropAll}) {
    CrashVfs::Reset();
    CrashVfs::Arm({0});
    {
      VfsFile f(vfs, path);
      REQUIRE(f.Write(Fill(4096, 'x'), 0) == SQLITE_OK);
      REQUIRE(f.Sync() == SQLITE_OK);
      REQUIRE(f.Truncate(100) == SQLITE_OK);
      REQUIRE(f.Write(Fill(50, 'y'), 10) == SQLITE_OK);
    }
    CrashVfs::PowerLoss(7, policy);
    const Bytes got = Slurp(path);
    if (policy == PowerLossPolicy::kKeepAll) {
      Bytes want = Fill(100, 'x');
      std::fill(want.begin() + 10, want.begin() + 60, 'y');
      CHECK(got == want);
    } else {
      CHECK(got == Fill(4096, 'x'));
    }
  }
  CrashVfs::Reset();
}

TEST_CASE("after the crash point every operation fails and nothing more is durable",
          "[crash]") {
  sqlite3_vfs* vfs = CrashStack();
  TempDir dir;
  const std::string path = dir.Path("f");
  CrashVfs::Reset();
  CrashVfs::Arm({3});
  {
    VfsFile f(vfs, path);
    CHECK(f.Write(Fill(512, '1'), 0) == SQLITE_OK);     // 1
    CHECK(f.Sync() == SQLITE_OK);                       // 2
    CHECK(f.Write(Fill(512, '2'), 512) != SQLITE_OK);   // 3: in flight when power went
    CHECK(CrashVfs::Crashed());
    CHECK(f.Sync() != SQLITE_OK);                       // dead
    CHECK(f.Write(Fill(512, '3'), 1024) != SQLITE_OK);  // dead, never reaches the disk
    CHECK(vfs->xDelete(vfs, path.c_str(), 0) != SQLITE_OK);
  }
  CHECK(CrashVfs::Ops() == 3);
  CrashVfs::PowerLoss(1, PowerLossPolicy::kDropAll);
  CHECK(Slurp(path) == Fill(512, '1'));
}

TEST_CASE("deletes are durable at once; a lying sync makes nothing durable", "[crash]") {
  sqlite3_vfs* vfs = CrashStack();
  TempDir dir;
  const std::string path = dir.Path("f");
  CrashVfs::Reset();
  CrashVfs::Arm({0});
  {
    VfsFile f(vfs, path);
    REQUIRE(f.Write(Fill(512, 'd'), 0) == SQLITE_OK);
  }
  REQUIRE(vfs->xDelete(vfs, path.c_str(), 0) == SQLITE_OK);
  CrashVfs::PowerLoss(1, PowerLossPolicy::kKeepAll);
  int exists = 1;
  REQUIRE(vfs->xAccess(vfs, path.c_str(), SQLITE_ACCESS_EXISTS, &exists) == SQLITE_OK);
  CHECK(exists == 0);

  CrashVfs::Arm({0, /*lie_about_sync=*/true});
  {
    VfsFile f(vfs, path);
    REQUIRE(f.Write(Fill(512, 'l'), 0) == SQLITE_OK);
    REQUIRE(f.Sync() == SQLITE_OK);
  }
  CrashVfs::PowerLoss(1, PowerLossPolicy::kDropAll);
  CHECK(Slurp(path).empty());
}
