// tests/unit/stats_test.cc: the counters registry behind blaze_stats.
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "vfs/stats.h"

using namespace blaze::vfs;

namespace {
// The registry is process-wide; other tests in this program do not open store files,
// so the rows seen here are the ones this file registers.
const StatsRow* Find(const std::vector<StatsRow>& rows, const std::string& path) {
  for (const auto& r : rows)
    if (!r.is_total && r.path == path) return &r;
  return nullptr;
}
}  // namespace

TEST_CASE("counters are exact under concurrent updates", "[stats]") {
  auto& reg = StatsRegistry::Instance();
  auto f = reg.Register("blaze", "/x/concurrent.db");
  constexpr int kThreads = 4, kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        f->Add(Counter::kReads);
        f->Add(Counter::kBytesRead, 4096);
      }
    });
  for (auto& t : threads) t.join();
  CHECK(f->Get(Counter::kReads) == uint64_t{kThreads} * kPerThread);
  CHECK(f->Get(Counter::kBytesRead) == uint64_t{kThreads} * kPerThread * 4096);
  reg.Unregister(f);
}

TEST_CASE("the total row keeps closed files and adds open ones", "[stats]") {
  auto& reg = StatsRegistry::Instance();
  const uint64_t before = reg.Snapshot().back().values[static_cast<int>(Counter::kWrites)];

  auto a = reg.Register("blaze", "/x/a.db");
  auto b = reg.Register("blaze2", "/x/b.db");
  a->Add(Counter::kWrites, 3);
  b->Add(Counter::kWrites, 5);

  auto rows = reg.Snapshot();
  REQUIRE(rows.back().is_total);
  CHECK(rows.back().values[static_cast<int>(Counter::kWrites)] == before + 8);
  REQUIRE(Find(rows, "/x/a.db") != nullptr);
  CHECK(Find(rows, "/x/a.db")->vfs_name == "blaze");
  CHECK(Find(rows, "/x/b.db")->vfs_name == "blaze2");
  CHECK(Find(rows, "/x/b.db")->values[static_cast<int>(Counter::kWrites)] == 5);

  reg.Unregister(a);
  rows = reg.Snapshot();
  CHECK(Find(rows, "/x/a.db") == nullptr);
  CHECK(rows.back().values[static_cast<int>(Counter::kWrites)] == before + 8);
  reg.Unregister(b);
  CHECK(reg.Snapshot().back().values[static_cast<int>(Counter::kWrites)] == before + 8);
}

TEST_CASE("every counter has a distinct column name", "[stats]") {
  for (int i = 0; i < kCounterCount; ++i)
    for (int j = i + 1; j < kCounterCount; ++j) CHECK(kCounterNames[i] != kCounterNames[j]);
}
