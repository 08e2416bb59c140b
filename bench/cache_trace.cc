// bench/cache_trace.cc: hit ratios of the page cache's policies (SIEVE, LRU, S3-FIFO) on one synthetic Zipf-plus-scan page trace at equal memory.
//
// Built by meson (build*/bench/cache_trace); not part of bench/run. Usage:
//   cache_trace [--pages N] [--page-size N] [--cache-percent P] [--zipf S]
//               [--points N] [--scan-every N] [--scan-pages N] [--seed N] [--optimum 1]
//               [--scan-hint 0|1]
//
// The trace stands for a database read by index lookups plus occasional table scans:
//   - point accesses: page ranks drawn from Zipf(S) over --pages pages (default 100,000;
//     S = 0.99, the usual skew of key-value and database traces, e.g. YCSB's zipfian),
//     mapped to page numbers by a fixed random permutation, so hot pages are not
//     neighbours;
//   - scans: after every --scan-every point accesses (default 200,000), one sequential
//     read of --scan-pages pages (default 50,000) of another range, the same range every
//     time (a table scanned again and again);
//   - --points point accesses in all (default 2,000,000, so 10 scans and 2.5M accesses).
// The reader does what the store does: Read the page; on a miss, Put it, with the scan
// hint for a scan's pages (--scan-hint 1, the default: the store passes it for pages its
// read-ahead brought in, when the database is over a quarter of the cache, as here;
// with the cache full, the hint changes nothing measurable on this trace). The cache is one
// PageCache with one client and a budget of --cache-percent (default 10) of the point
// pages' blocks (BlockBytes(page size) each). The first --scan-every point accesses warm
// the cache and are not counted. The trace is generated once from --seed and replayed
// for each policy.
//
// Prints the parameters, one line per policy (hit_ratio over every counted access,
// point_hit_ratio and scan_hit_ratio over each kind), then sieve_minus_lru_points and
// s3fifo_minus_lru_points (the difference of hit_ratio, in percentage points;
// point_points is the same for point accesses only).
//
// --optimum 1 adds two bounds no online policy can pass, for a cache of the budget's page
// count, unsharded: belady (evict the cached page read again farthest ahead, or do not
// cache the new page if it is read again later than all of them; Belady's offline
// optimum) and static_top (the pages read most often over the whole trace, cached for
// the whole run).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "cache/page_cache.h"

namespace {

using blaze::cache::BlockBytes;
using blaze::cache::PageCache;
using blaze::cache::Policy;

struct Params {
  uint32_t pages = 100000;
  uint32_t page_size = 4096;
  double cache_percent = 10;
  double zipf = 0.99;
  uint64_t points = 2000000;
  uint64_t scan_every = 200000;
  uint32_t scan_pages = 50000;
  uint64_t seed = 1;
  bool optimum = false;
  bool scan_hint = true;
};

struct Access {
  uint32_t page;
  bool scan;
};

double Uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// The trace: point accesses in runs of scan_every, each run followed by one scan.
std::vector<Access> MakeTrace(const Params& p) {
  std::mt19937_64 rng(p.seed);
  // Zipf over ranks 1..pages: P(k) proportional to 1 / k^s, drawn through its CDF.
  std::vector<double> cdf(p.pages);
  double sum = 0;
  for (uint32_t k = 0; k < p.pages; ++k) {
    sum += 1.0 / std::pow(static_cast<double>(k + 1), p.zipf);
    cdf[k] = sum;
  }
  for (double& c : cdf) c /= sum;
  // Rank -> page number (1..pages), a Fisher-Yates shuffle of our own so that the trace
  // is the same with every standard library.
  std::vector<uint32_t> page_of(p.pages);
  for (uint32_t k = 0; k < p.pages; ++k) page_of[k] = k + 1;
  for (uint32_t k = p.pages - 1; k > 0; --k) {
    const auto j = static_cast<uint32_t>(rng() % (uint64_t{k} + 1));
    std::swap(page_of[k], page_of[j]);
  }
  std::vector<Access> trace;
  trace.reserve(p.points + (p.points / p.scan_every) * p.scan_pages);
  for (uint64_t i = 0; i < p.points; ++i) {
    const double u = Uniform(rng);
    auto k = static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
    if (k >= cdf.size()) k = cdf.size() - 1;
    trace.push_back({page_of[k], false});
    if ((i + 1) % p.scan_every == 0) {
      for (uint32_t s = 1; s <= p.scan_pages; ++s) trace.push_back({p.pages + s, true});
    }
  }
  return trace;
}

struct Result {
  uint64_t hits = 0, accesses = 0, point_hits = 0, points = 0, scan_hits = 0, scans = 0;
  uint64_t evictions = 0;
  double seconds = 0;
  double Ratio() const { return accesses ? static_cast<double>(hits) / accesses : 0; }
  double PointRatio() const { return points ? static_cast<double>(point_hits) / points : 0; }
  double ScanRatio() const { return scans ? static_cast<double>(scan_hits) / scans : 0; }
};

// Counts one access toward r if it is past the warm-up run.
struct Counter {
  const Params& p;
  Result& r;
  uint64_t points_seen = 0;
  void Add(const Access& a, bool hit) {
    const bool counted = points_seen >= p.scan_every;
    if (!a.scan) ++points_seen;
    if (!counted) return;
    r.accesses += 1;
    r.hits += hit;
    if (a.scan) {
      r.scans += 1;
      r.scan_hits += hit;
    } else {
      r.points += 1;
      r.point_hits += hit;
    }
  }
};

Result Replay(const Params& p, const std::vector<Access>& trace, uint64_t budget,
              Policy policy) {
  PageCache cache(budget, policy);
  auto client = cache.Connect();
  std::vector<std::byte> buf(p.page_size);
  Result r;
  Counter count{p, r};
  const auto t0 = std::chrono::steady_clock::now();
  for (const Access& a : trace) {
    const bool hit = client->Read(a.page, 0, buf);
    if (!hit) {
      std::memcpy(buf.data(), &a.page, sizeof a.page);  // the "decoded" page
      (void)client->Put(a.page, buf, /*keep=*/false, p.scan_hint && a.scan);
    }
    count.Add(a, hit);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.evictions = client->Figures().evictions;
  return r;
}

// Belady's offline optimum for a cache of `pages` pages, which may decline a page.
Result Belady(const Params& p, const std::vector<Access>& trace, uint64_t pages) {
  constexpr uint64_t kNever = UINT64_MAX;
  std::vector<uint64_t> next_use(trace.size());
  std::unordered_map<uint32_t, uint64_t> seen_at;
  for (size_t i = trace.size(); i-- > 0;) {
    auto it = seen_at.find(trace[i].page);
    next_use[i] = it == seen_at.end() ? kNever : it->second;
    seen_at[trace[i].page] = i;
  }
  std::set<std::pair<uint64_t, uint32_t>> cached;  // (next use, page)
  std::unordered_map<uint32_t, uint64_t> next_of;  // cached page -> its key's next use
  Result r;
  Counter count{p, r};
  for (size_t i = 0; i < trace.size(); ++i) {
    const uint32_t page = trace[i].page;
    auto it = next_of.find(page);
    const bool hit = it != next_of.end();
    if (hit) {
      cached.erase({it->second, page});
      it->second = next_use[i];
      cached.insert({next_use[i], page});
    } else if (pages > 0) {
      if (cached.size() >= pages) {
        auto farthest = std::prev(cached.end());
        if (farthest->first > next_use[i]) {
          next_of.erase(farthest->second);
          cached.erase(farthest);
        }
      }
      if (cached.size() < pages) {
        cached.insert({next_use[i], page});
        next_of[page] = next_use[i];
      }
    }
    count.Add(trace[i], hit);
  }
  return r;
}

// The `pages` pages read most often over the whole trace, cached throughout.
Result StaticTop(const Params& p, const std::vector<Access>& trace, uint64_t pages) {
  std::unordered_map<uint32_t, uint64_t> reads;
  for (const Access& a : trace) reads[a.page] += 1;
  std::vector<std::pair<uint64_t, uint32_t>> by_reads;
  for (const auto& [page, n] : reads) by_reads.push_back({n, page});
  std::sort(by_reads.begin(), by_reads.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::unordered_set<uint32_t> top;
  for (size_t i = 0; i < by_reads.size() && i < pages; ++i) top.insert(by_reads[i].second);
  Result r;
  Counter count{p, r};
  for (const Access& a : trace) count.Add(a, top.count(a.page) != 0);
  return r;
}

bool ParseArgs(int argc, char** argv, Params& p) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (arg == "--pages") p.pages = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
    else if (arg == "--page-size") p.page_size = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
    else if (arg == "--cache-percent") p.cache_percent = std::strtod(v, nullptr);
    else if (arg == "--zipf") p.zipf = std::strtod(v, nullptr);
    else if (arg == "--points") p.points = std::strtoull(v, nullptr, 10);
    else if (arg == "--scan-every") p.scan_every = std::strtoull(v, nullptr, 10);
    else if (arg == "--scan-pages") p.scan_pages = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
    else if (arg == "--seed") p.seed = std::strtoull(v, nullptr, 10);
    else if (arg == "--optimum") p.optimum = std::strtoul(v, nullptr, 10) != 0;
    else if (arg == "--scan-hint") p.scan_hint = std::strtoul(v, nullptr, 10) != 0;
    else return false;
  }
  return p.pages > 1 && p.scan_every > 0 && p.points >= p.scan_every && p.cache_percent > 0 &&
         p.page_size >= 512 && p.page_size <= 65536 && (p.page_size & (p.page_size - 1)) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Params p;
  if (!ParseArgs(argc, argv, p)) {
    std::fprintf(stderr,
                 "usage: cache_trace [--pages N] [--page-size N] [--cache-percent P] "
                 "[--zipf S] [--points N] [--scan-every N] [--scan-pages N] [--seed N] "
                 "[--optimum 1]\n");
    return 2;
  }
  const std::vector<Access> trace = MakeTrace(p);
  const auto budget = static_cast<uint64_t>(static_cast<double>(p.pages) *
                                            static_cast<double>(BlockBytes(p.page_size)) *
                                            p.cache_percent / 100.0);
  std::printf("cache_trace: pages=%u page_size=%u block_bytes=%llu cache_percent=%g "
              "budget=%llu (about %llu pages) zipf_s=%g seed=%llu\n",
              p.pages, p.page_size, static_cast<unsigned long long>(BlockBytes(p.page_size)),
              p.cache_percent, static_cast<unsigned long long>(budget),
              static_cast<unsigned long long>(budget / BlockBytes(p.page_size)), p.zipf,
              static_cast<unsigned long long>(p.seed));
  std::printf("trace: accesses=%zu points=%llu scan_every=%llu scan_pages=%u scans=%llu "
              "warmup_points=%llu (not counted)\n",
              trace.size(), static_cast<unsigned long long>(p.points),
              static_cast<unsigned long long>(p.scan_every), p.scan_pages,
              static_cast<unsigned long long>(p.points / p.scan_every),
              static_cast<unsigned long long>(p.scan_every));
  constexpr int kPolicies = 3;
  Result r[kPolicies];
  const Policy policies[kPolicies] = {Policy::kSieve, Policy::kLru, Policy::kS3Fifo};
  for (int i = 0; i < kPolicies; ++i) {
    r[i] = Replay(p, trace, budget, policies[i]);
    std::printf("policy=%s hit_ratio=%.4f point_hit_ratio=%.4f scan_hit_ratio=%.4f "
                "evictions=%llu seconds=%.2f\n",
                std::string(blaze::cache::PolicyName(policies[i])).c_str(), r[i].Ratio(),
                r[i].PointRatio(), r[i].ScanRatio(),
                static_cast<unsigned long long>(r[i].evictions), r[i].seconds);
  }
  std::printf("sieve_minus_lru_points=%.1f point_points=%.1f\n",
              100.0 * (r[0].Ratio() - r[1].Ratio()),
              100.0 * (r[0].PointRatio() - r[1].PointRatio()));
  std::printf("s3fifo_minus_lru_points=%.1f point_points=%.1f\n",
              100.0 * (r[2].Ratio() - r[1].Ratio()),
              100.0 * (r[2].PointRatio() - r[1].PointRatio()));
  if (p.optimum) {
    const uint64_t pages = budget / BlockBytes(p.page_size);
    const Result bounds[2] = {Belady(p, trace, pages), StaticTop(p, trace, pages)};
    const char* names[2] = {"belady", "static_top"};
    for (int i = 0; i < 2; ++i) {
      std::printf("bound=%s pages=%llu hit_ratio=%.4f point_hit_ratio=%.4f scan_hit_ratio=%.4f "
                  "minus_lru_points=%.1f\n",
                  names[i], static_cast<unsigned long long>(pages), bounds[i].Ratio(),
                  bounds[i].PointRatio(), bounds[i].ScanRatio(),
                  100.0 * (bounds[i].Ratio() - r[1].Ratio()));
    }
  }
  return 0;
}
