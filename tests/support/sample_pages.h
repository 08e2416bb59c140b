// tests/support/sample_pages.h: deterministic page contents for codec tests and benches.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace blaze::test {

using Bytes = std::vector<std::byte>;

// Text-like: words and numbers from a small vocabulary, the way SQLite leaf pages of
// a table with text columns look. Deterministic for a given seed.
inline Bytes TextPage(size_t size, uint32_t seed = 1) {
  static const char* const kWords[] = {
      "alpha", "storage", "page",   "the",     "of",     "record", "blaze",  "index",
      "commit", "log",    "value",  "sqlite",  "cache",  "user",   "name",   "email",
      "street", "city",   "order",  "amount",  "status", "paid",   "open",   "closed",
      "2024-",  "-01-",   "@example.com", "and", "a",    "to",     "in",     "is"};
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < size) {
    const uint32_t r = rng();
    if (r % 7 == 0) {
      s += std::to_string(rng() % 100000);
    } else {
      s += kWords[r % std::size(kWords)];
    }
    s += (r % 11 == 0) ? '\n' : ' ';
  }
  Bytes page(size);
  std::transform(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(size), page.begin(),
                 [](char c) { return static_cast<std::byte>(c); });
  return page;
}

inline Bytes RandomPage(size_t size, uint32_t seed = 2) {
  std::mt19937 rng(seed);
  Bytes page(size);
  for (auto& b : page) b = static_cast<std::byte>(rng());
  return page;
}

inline Bytes ZeroPage(size_t size) { return Bytes(size, std::byte{0}); }

}  // namespace blaze::test
