// vfs/sqlite_api.cc: owns the sqlite3_api pointer of blaze.so (see sqlite_api.h).
#include "vfs/sqlite_api.h"

#include <atomic>
#include <cstring>
#include <mutex>

#if !defined(SQLITE_CORE)
#include <dlfcn.h>
#endif

SQLITE_EXTENSION_INIT1

namespace blaze {
namespace {

#if !defined(SQLITE_CORE)
std::atomic<bool> ready{false};
std::atomic<bool> complete{false};  // SQLite handed us its full table
std::mutex mu;
// Built by EnsureSqliteApi from the process's symbols; never freed, since SQLite keeps
// calling through it for the life of the process.
sqlite3_api_routines subset{};

// Completes the subset with the slots of a full table. Only empty slots are written, so
// threads already calling through the subset's filled slots never race with this.
void CompleteSubset(const sqlite3_api_routines* full) {
  static_assert(sizeof(sqlite3_api_routines) % sizeof(void*) == 0);
  constexpr size_t kSlots = sizeof(sqlite3_api_routines) / sizeof(void*);
  auto* to = reinterpret_cast<unsigned char*>(&subset);
  const auto* from = reinterpret_cast<const unsigned char*>(full);
  for (size_t i = 0; i < kSlots; ++i) {
    void* slot = nullptr;
    std::memcpy(&slot, to + i * sizeof(void*), sizeof(void*));
    if (slot == nullptr) std::memcpy(to + i * sizeof(void*), from + i * sizeof(void*), sizeof(void*));
  }
}

template <class Fn>
bool Resolve(Fn*& slot, const char* name) {
  slot = reinterpret_cast<Fn*>(dlsym(RTLD_DEFAULT, name));
  return slot != nullptr;
}
#endif

}  // namespace

void SetSqliteApi([[maybe_unused]] const sqlite3_api_routines* api) {
#if !defined(SQLITE_CORE)
  std::lock_guard lock(mu);
  if (sqlite3_api == nullptr) {
    sqlite3_api = api;
  } else if (sqlite3_api == &subset) {
    CompleteSubset(api);
  }
  complete.store(true, std::memory_order_release);
  ready.store(true, std::memory_order_release);
#endif
}

bool EnsureSqliteApi() {
#if defined(SQLITE_CORE)
  return true;
#else
  if (ready.load(std::memory_order_acquire)) return true;
  std::lock_guard lock(mu);
  if (sqlite3_api != nullptr) return true;
  const bool found = Resolve(subset.vfs_find, "sqlite3_vfs_find") &&
                     Resolve(subset.vfs_register, "sqlite3_vfs_register") &&
                     Resolve(subset.uri_key, "sqlite3_uri_key") &&
                     Resolve(subset.uri_parameter, "sqlite3_uri_parameter") &&
                     Resolve(subset.mprintf, "sqlite3_mprintf") &&
                     Resolve(subset.log, "sqlite3_log");
  if (!found) return false;
  sqlite3_api = &subset;
  ready.store(true, std::memory_order_release);
  return true;
#endif
}

bool SqliteApiReady() {
#if defined(SQLITE_CORE)
  return true;
#else
  return ready.load(std::memory_order_acquire);
#endif
}

}  // namespace blaze

namespace blaze {

bool SqliteApiComplete() {
#if defined(SQLITE_CORE)
  return true;
#else
  return complete.load(std::memory_order_acquire);
#endif
}

}  // namespace blaze
