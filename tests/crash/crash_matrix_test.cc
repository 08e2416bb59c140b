// tests/crash/crash_matrix_test.cc: power loss at many points of a workload, per setting.
//
// For each stack (stock: "crash" over unix, which calibrates the harness; blaze:
// "blaze-crash" over "crash"), journal mode (DELETE, TRUNCATE, PERSIST, WAL) and
// synchronous setting (FULL, NORMAL): a dry run counts the workload's operations (writes,
// truncates, syncs, deletes); then for each chosen crash point a fresh database runs the
// workload, loses power at that operation, has its files rewritten as a power loss leaves
// them (keep-all, drop-all or random keep/drop/tear, chosen per point), is reopened and
// verified (tests/crash/ledger_workload.h). Required at every point:
//  - integrity_check ok, ledger 0..k with no gap, rows exactly as of txn k;
//  - under FULL, or when every write reached the disk (keep-all: what a process kill
//    leaves), no acknowledged txn is lost: k >= the last acknowledged one.
// Under NORMAL a lost acknowledged txn is allowed and counted.
//
// Points per setting: BLAZE_CRASH_POINTS (default 30: half spread evenly over the dry
// run's operations, half at random); seed: BLAZE_CRASH_SEED (default fixed). Only points
// where the power really went before the workload (and its close) finished are counted.
//
// The self-tests show the verifier can fail: with a disk that lies about syncs, or
// journal_mode=OFF, it must find damage at some points.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "include/blaze.h"
#include "tests/crash/ledger_workload.h"
#include "tests/support/crash_vfs.h"
#include "tests/support/db.h"

using namespace blaze::test;
using namespace blaze::test::crash;

namespace {

constexpr int kTxns = 30;
constexpr int64_t kDefaultPoints = 30;  // per setting

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoll(v, nullptr, 10) : fallback;
}

void RegisterStacks() {
  InitBlaze();
  CrashVfs::Register("crash", "unix");
  REQUIRE(blaze_vfs_register("blaze-crash", "crash", 0) == SQLITE_OK);
}

void RemoveDatabase(const std::string& path) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm", "-blazelog"}) {
    std::error_code ec;
    std::filesystem::remove(path + suffix, ec);
  }
}

struct SweepConfig {
  std::string vfs;
  std::string journal_mode;
  std::string synchronous;
  int64_t points = 0;
  bool lie_about_sync = false;
  bool expect_sound = true;  // false: a self-test, counting damage instead of failing
  bool unordered_truncates = false;
  std::string uri_params = {};  // appended to the database URI ("&blaze_journal=absorb")
};

struct Tally {
  int64_t ops = 0;         // operations of the dry run
  int64_t exercised = 0;   // points where the power went mid-workload
  int64_t during_close = 0;
  int64_t not_fired = 0;   // the run made fewer operations than the point
  int64_t lost_acked = 0;  // points that lost an acknowledged txn (allowed under NORMAL)
  int64_t damaged = 0;     // points with a problem
  std::string first_problem;
};

PowerLossPolicy PickPolicy(std::mt19937_64& rng) {
  const auto r = rng() % 5;
  return r == 0 ? PowerLossPolicy::kKeepAll
                : r == 1 ? PowerLossPolicy::kDropAll : PowerLossPolicy::kRandom;
}

Tally Sweep(const SweepConfig& config) {
  const std::string name = config.vfs + " " + config.journal_mode + "/" + config.synchronous +
                           (config.lie_about_sync ? " (lying syncs)" : "") +
                           (config.unordered_truncates ? " (unordered truncates)" : "") +
                           config.uri_params;
  const uint64_t seed = static_cast<uint64_t>(EnvInt("BLAZE_CRASH_SEED", 20240611)) ^
                        std::hash<std::string>{}(name);
  INFO("sweep " << name << ", seed " << seed);
  TempDir dir;
  const Plan plan = MakePlan(seed, kTxns);
  auto setup_for = [&](const std::string& file) {
    return Setup{"file:" + dir.Path(file) + "?vfs=" + config.vfs + config.uri_params,
                 config.journal_mode,
                 config.synchronous};
  };
  const bool full = config.synchronous == "full";

  // Dry run: every operation counted, none failed; then a power loss after a clean close.
  Tally tally;
  CrashVfs::Reset();
  CrashVfs::Arm({0, config.lie_about_sync, config.unordered_truncates});
  const Setup dry = setup_for("dry.db");
  const Outcome dry_out = Run(dry, plan);
  tally.ops = CrashVfs::Ops();
  REQUIRE(dry_out.first_error == SQLITE_OK);
  REQUIRE(dry_out.last_acked == kTxns);
  CrashVfs::PowerLoss(seed, PowerLossPolicy::kRandom);
  if (config.expect_sound) {
    const Verdict v = Verify(dry, plan, dry_out);
    CHECK(v.problem == "");
    if (full) CHECK(v.k == kTxns);
    DbPtr db = Open(dry.uri);
    if (config.journal_mode == "wal") CHECK(QueryText(db.get(), "PRAGMA journal_mode") == "wal");
    if (config.uri_params.find("blaze_dictionary=") != std::string::npos) {
      // The workload reached the size that makes the store's dictionary.
      QueryInt(db.get(), "SELECT count(*) FROM sqlite_schema");
      CHECK(QueryInt(db.get(), "SELECT dictionary_bytes FROM blaze_stats WHERE file LIKE '%dry.db'") >
            0);
    }
  }
  RemoveDatabase(dir.Path("dry.db"));

  std::mt19937_64 rng(seed);
  std::vector<int64_t> points;
  const int64_t even = config.points / 2;
  for (int64_t i = 0; i < even; ++i) {
    points.push_back(1 + (even > 1 ? i * (tally.ops - 1) / (even - 1) : 0));
  }
  while (static_cast<int64_t>(points.size()) < config.points) {
    points.push_back(1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(tally.ops)));
  }

  for (size_t i = 0; i < points.size(); ++i) {
    const std::string file = "p" + std::to_string(i) + ".db";
    const Setup setup = setup_for(file);
    const uint64_t point_seed = rng();
    const PowerLossPolicy policy = PickPolicy(rng);
    CrashVfs::Reset();
    CrashVfs::Arm({points[i], config.lie_about_sync, config.unordered_truncates});
    const Outcome out = Run(setup, plan);
    const bool fired = CrashVfs::Crashed();
    const PowerLossReport report = CrashVfs::PowerLoss(point_seed, policy);
    if (!fired) {
      ++tally.not_fired;
      RemoveDatabase(dir.Path(file));
      continue;
    }
    ++tally.exercised;
    if (out.crash_during_close) ++tally.during_close;
    const Verdict v = Verify(setup, plan, out);
    std::string problem = v.problem;
    if (problem.empty() && v.k < out.last_acked) {
      ++tally.lost_acked;
      if (full || policy == PowerLossPolicy::kKeepAll) {
        problem = "acknowledged txn " + std::to_string(out.last_acked) + " lost: ledger ends at " +
                  std::to_string(v.k);
      }
    }
    if (!problem.empty() && tally.damaged++ == 0) tally.first_problem = problem;
    if (config.expect_sound) {
      INFO("crash at operation " << points[i] << " of " << tally.ops << ", policy "
                                 << PowerLossPolicyName(policy) << ", seed " << point_seed
                                 << ", first error " << out.first_error << ", acked "
                                 << out.last_acked << ", attempted " << out.last_attempted
                                 << "; unsynced in " << report.files << " files: kept "
                                 << report.kept << ", dropped " << report.dropped << ", torn "
                                 << report.torn);
      CHECK(problem == "");
    }
    RemoveDatabase(dir.Path(file));
  }
  CrashVfs::Reset();

  std::cout << "crash " << name << ": " << tally.ops << " operations, " << tally.exercised
            << " crash points exercised (" << tally.during_close << " during close), "
            << tally.not_fired << " not reached, " << tally.lost_acked
            << " lost an acknowledged txn, " << tally.damaged << " damaged"
            << (tally.first_problem.empty() ? "" : " (first: " + tally.first_problem + ")")
            << "\n";
  return tally;
}

int64_t total_exercised = 0;  // over every test case of the run

void Matrix(const std::string& vfs, const std::string& uri_params = "",
            std::vector<const char*> modes = {"delete", "truncate", "persist", "wal"}) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t points = EnvInt("BLAZE_CRASH_POINTS", kDefaultPoints);
  int64_t exercised = 0;
  for (const char* mode : modes) {
    for (const char* sync : {"full", "normal"}) {
      SweepConfig config{vfs, mode, sync, points};
      config.uri_params = uri_params;
      const Tally t = Sweep(config);
      CHECK(t.exercised > 0);
      exercised += t.exercised;
    }
  }
  total_exercised += exercised;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::cout << "crash " << vfs << uri_params << ": " << exercised << " crash points exercised in " << ms
            << " ms; " << total_exercised << " in this run so far\n";
}

}  // namespace

TEST_CASE("stock SQLite over the crash VFS survives every simulated power loss",
          "[crash]") {
  RegisterStacks();
  Matrix("crash");
}

TEST_CASE("blaze over the crash VFS survives every simulated power loss", "[crash]") {
  RegisterStacks();
  Matrix("blaze-crash");
}

// Absorption: the rollback journal lives in memory, so after a power cut only the store
// log can bring the database back to a commit.
TEST_CASE("blaze with an absorbed journal survives every simulated power loss", "[crash]") {
  RegisterStacks();
  Matrix("blaze-crash", "&blaze_journal=absorb", {"delete", "truncate", "persist"});
}

// A tiny checkpoint threshold: the store checkpoints after almost every commit, so power
// goes in the middle of checkpoints (slots, map, header copies, log reset) too.
TEST_CASE("blaze survives power loss during its checkpoints", "[crash]") {
  RegisterStacks();
  Matrix("blaze-crash", "&blaze_checkpoint=16384", {"delete", "wal"});
  Matrix("blaze-crash", "&blaze_checkpoint=16384&blaze_journal=absorb", {"delete"});
}

// A dictionary made as soon as the database reaches 16 KiB, and checkpoints after almost
// every commit: power goes while the checkpoint that makes the dictionary writes it, and
// while pages encoded against it are logged and checkpointed.
TEST_CASE("blaze survives power loss while it makes and uses its dictionary", "[crash]") {
  RegisterStacks();
  Matrix("blaze-crash", "&blaze_checkpoint=16384&blaze_dictionary=16384", {"delete", "wal"});
}

// A write buffer of four pages: spilled transactions evict pages to the log all the time,
// so power goes between evictions, commit-time flushes and commit records.
TEST_CASE("blaze survives power loss with a tiny write buffer", "[crash]") {
  RegisterStacks();
  Matrix("blaze-crash", "&blaze_write_buffer=16384", {"delete", "wal"});
  Matrix("blaze-crash", "&blaze_write_buffer=16384&blaze_journal=absorb", {"delete"});
}

TEST_CASE("the verifier finds damage when the disk lies about syncs", "[crash][selftest]") {
  RegisterStacks();
  for (const char* mode : {"delete", "wal"}) {
    const Tally t = Sweep({"crash", mode, "full", 20, /*lie_about_sync=*/true,
                           /*expect_sound=*/false});
    INFO("journal mode " << mode);
    CHECK(t.damaged > 0);
  }
}

TEST_CASE("the verifier finds damage without a journal", "[crash][selftest]") {
  RegisterStacks();
  const Tally t = Sweep({"crash", "off", "full", 20, false, /*expect_sound=*/false});
  CHECK(t.damaged > 0);
}

// Without ordered metadata (see CrashPlan::unordered_truncates), TRUNCATE mode under
// NORMAL can resurrect the last journal, truncated but not synced, under the next
// transaction's journal pages: SQLite documents that NORMAL may corrupt a rollback-mode
// database on such file systems. FULL syncs the truncate and must stay sound.
TEST_CASE("TRUNCATE mode under FULL does not rely on ordered metadata", "[crash]") {
  RegisterStacks();
  SweepConfig full{"crash", "truncate", "full", 30};
  full.unordered_truncates = true;
  CHECK(Sweep(full).exercised > 0);
  SweepConfig normal{"crash", "truncate", "normal", 30};
  normal.unordered_truncates = true;
  normal.expect_sound = false;  // reported, not required either way
  Sweep(normal);
}
