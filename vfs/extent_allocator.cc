// vfs/extent_allocator.cc: best-fit allocation with coalescing (see the header).
#include "vfs/extent_allocator.h"

#include <algorithm>

namespace blaze::vfs {

void ExtentAllocator::Rebuild(std::vector<Extent> used) {
  by_offset_.clear();
  by_size_.clear();
  free_total_ = 0;
  std::sort(used.begin(), used.end(),
            [](const Extent& a, const Extent& b) { return a.offset < b.offset; });
  uint64_t at = kDataStart;
  for (const Extent& e : used) {
    if (e.offset > at) AddHole(at, e.offset - at);
    at = std::max(at, e.offset + e.length);
  }
  end_ = at;
}

uint64_t ExtentAllocator::Allocate(uint64_t length) {
  auto it = by_size_.lower_bound({length, 0});
  if (it == by_size_.end()) {
    const uint64_t offset = end_;
    end_ += length;
    return offset;
  }
  const auto [hole_length, offset] = *it;
  RemoveHole(by_offset_.find(offset));
  if (hole_length > length) AddHole(offset + length, hole_length - length);
  return offset;
}

void ExtentAllocator::Free(uint64_t offset, uint64_t length) {
  if (length == 0) return;
  // Coalesce with the hole before and the hole after.
  auto next = by_offset_.lower_bound(offset);
  if (next != by_offset_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == offset) {
      offset = prev->first;
      length += prev->second;
      RemoveHole(prev);
    }
  }
  next = by_offset_.lower_bound(offset);
  if (next != by_offset_.end() && offset + length == next->first) {
    length += next->second;
    RemoveHole(next);
  }
  if (offset + length == end_) {
    end_ = offset;
    return;
  }
  AddHole(offset, length);
}

void ExtentAllocator::AddHole(uint64_t offset, uint64_t length) {
  by_offset_.emplace(offset, length);
  by_size_.emplace(length, offset);
  free_total_ += length;
}

void ExtentAllocator::RemoveHole(std::map<uint64_t, uint64_t>::iterator it) {
  by_size_.erase({it->second, it->first});
  free_total_ -= it->second;
  by_offset_.erase(it);
}

}  // namespace blaze::vfs
