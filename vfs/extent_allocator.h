// vfs/extent_allocator.h: free space of the page file, in memory.
//
// Free space is never stored: it is the complement of the extents the durable map
// reaches, rebuilt at every load (Rebuild), so it can never disagree with the map. The
// store allocates the extents of a checkpoint here and frees the extents that checkpoint
// replaced only after the new header is durable, so an extent a durable header reaches
// is never handed out.
//
// Policy: best fit among free holes (smallest hole that fits, lowest offset among
// equals), else the end of the file. Freed extents coalesce with their neighbours and
// with the end. Not thread-safe: the store serializes calls.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "vfs/page_format.h"

namespace blaze::vfs {

class ExtentAllocator {
 public:
  // Empty: everything from kDataStart on is free.
  ExtentAllocator() = default;

  // Rebuilds from the extents in use (any order, not overlapping, each >= kDataStart).
  void Rebuild(std::vector<Extent> used);

  // Returns an extent of exactly `length` bytes (a multiple of kExtentAlign).
  uint64_t Allocate(uint64_t length);

  // Returns [offset, offset + length) to free space.
  void Free(uint64_t offset, uint64_t length);

  // Everything at or after this offset is free.
  uint64_t end() const { return end_; }
  uint64_t free_bytes_below_end() const { return free_total_; }
  size_t hole_count() const { return by_offset_.size(); }

 private:
  void AddHole(uint64_t offset, uint64_t length);
  void RemoveHole(std::map<uint64_t, uint64_t>::iterator it);

  std::map<uint64_t, uint64_t> by_offset_;          // hole offset -> length
  std::set<std::pair<uint64_t, uint64_t>> by_size_;  // (length, offset)
  uint64_t end_ = kDataStart;
  uint64_t free_total_ = 0;
};

}  // namespace blaze::vfs
