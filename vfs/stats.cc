// vfs/stats.cc: the counters registry behind blaze_stats.
#include "vfs/stats.h"

#include <algorithm>

namespace blaze::vfs {

CounterValues FileStats::Values() const {
  CounterValues v{};
  for (int i = 0; i < kCounterCount; ++i) v[i] = Get(static_cast<Counter>(i));
  return v;
}

StatsRegistry& StatsRegistry::Instance() {
  // Never destroyed: a store file may close during static destruction.
  static StatsRegistry* registry = new StatsRegistry();
  return *registry;
}

std::shared_ptr<FileStats> StatsRegistry::Register(std::string vfs_name, std::string path,
                                                   std::function<FigureValues()> figures) {
  auto stats =
      std::make_shared<FileStats>(std::move(vfs_name), std::move(path), std::move(figures));
  std::lock_guard lock(mu_);
  open_.push_back(stats);
  return stats;
}

void StatsRegistry::Unregister(const std::shared_ptr<FileStats>& stats) {
  std::lock_guard lock(mu_);
  auto it = std::find(open_.begin(), open_.end(), stats);
  if (it == open_.end()) return;
  const CounterValues v = stats->Values();
  for (int i = 0; i < kCounterCount; ++i) closed_[i] += v[i];
  open_.erase(it);
}

std::vector<StatsRow> StatsRegistry::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<StatsRow> rows;
  rows.reserve(open_.size() + 1);
  StatsRow total{.is_total = true, .vfs_name = {}, .path = {}, .values = closed_};
  for (const auto& f : open_) {
    StatsRow row{.is_total = false, .vfs_name = f->vfs_name(), .path = f->path(),
                 .values = f->Values(), .figures = f->Figures()};
    for (int i = 0; i < kCounterCount; ++i) total.values[i] += row.values[i];
    for (int i = 0; i < kFigureCount; ++i) total.figures[i] += row.figures[i];
    rows.push_back(std::move(row));
  }
  rows.push_back(std::move(total));
  return rows;
}

}  // namespace blaze::vfs
