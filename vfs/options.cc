// vfs/options.cc: the table of blaze_* URI parameters and their parser.
#include "vfs/options.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>

namespace blaze::vfs {
namespace {

constexpr std::string_view kPrefix = "blaze_";

// Values seen on one URI before they are combined into StoreOptions.
struct Given {
  std::optional<compress::CodecId> codec;
  std::optional<int> level;
  std::optional<uint64_t> checkpoint_bytes;
  std::optional<bool> absorb;
  std::optional<uint64_t> write_buffer_bytes;
  std::optional<uint64_t> cache_bytes;
  std::optional<uint64_t> dictionary_bytes;
};

Status BadValue(std::string_view key, std::string_view value, std::string_view expected) {
  return Status(Code::kInvalidArgument, "bad value '" + std::string(value) +
                                            "' for URI parameter " + std::string(key) +
                                            ": expected " + std::string(expected));
}

// The whole of s as a decimal integer of type T, or nullopt.
template <class T>
std::optional<T> ParseNumber(std::string_view s) {
  T v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

// A byte count from 0 (`zero_means`) to 2^max_log2 into `out`.
Status ParseBytes(std::string_view key, std::string_view value, int max_log2,
                  std::string_view zero_means, std::optional<uint64_t>& out) {
  out = ParseNumber<uint64_t>(value);
  if (out && *out <= (uint64_t{1} << max_log2)) return Status::Ok();
  return BadValue(key, value, "a byte count from 0 (" + std::string(zero_means) + ") to 2^" +
                                  std::to_string(max_log2));
}

struct ParamDef {
  std::string_view key;
  Status (*parse)(std::string_view key, std::string_view value, Given& given);
};

constexpr std::array<ParamDef, 7> kParams = {{
    {"blaze_codec",
     [](std::string_view key, std::string_view value, Given& given) {
       given.codec = compress::CodecFromName(value);
       return given.codec ? Status::Ok() : BadValue(key, value, "none, lz4 or lz4hc");
     }},
    {"blaze_level",
     [](std::string_view key, std::string_view value, Given& given) {
       given.level = ParseNumber<int>(value);
       return given.level ? Status::Ok() : BadValue(key, value, "an integer");
     }},
    {"blaze_checkpoint",
     [](std::string_view key, std::string_view value, Given& given) {
       return ParseBytes(key, value, 40, "never automatic", given.checkpoint_bytes);
     }},
    {"blaze_write_buffer",
     [](std::string_view key, std::string_view value, Given& given) {
       return ParseBytes(key, value, 34, "none", given.write_buffer_bytes);
     }},
    {"blaze_cache",
     [](std::string_view key, std::string_view value, Given& given) {
       return ParseBytes(key, value, 40, "no caching", given.cache_bytes);
     }},
    {"blaze_dictionary",
     [](std::string_view key, std::string_view value, Given& given) {
       return ParseBytes(key, value, 40, "never", given.dictionary_bytes);
     }},
    {"blaze_journal",
     [](std::string_view key, std::string_view value, Given& given) {
       if (value == "absorb") given.absorb = true;
       else if (value == "disk") given.absorb = false;
       else return BadValue(key, value, "absorb or disk");
       return Status::Ok();
     }},
}};

}  // namespace

std::string KnownParameterList() {
  std::string out;
  for (const ParamDef& p : kParams) {
    if (!out.empty()) out += ", ";
    out += p.key;
  }
  return out;
}

Result<StoreOptions> ParseStoreOptions(std::span<const UriParam> params) {
  Given given;
  std::array<bool, kParams.size()> seen{};
  for (const UriParam& param : params) {
    // URI keys are case-sensitive; a key that only differs in case from blaze_* is a
    // mistake to report, not someone else's parameter to skip.
    if (param.key.size() < kPrefix.size() ||
        !std::equal(kPrefix.begin(), kPrefix.end(), param.key.begin(),
                    [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
      continue;
    }
    size_t i = 0;
    while (i < kParams.size() && kParams[i].key != param.key) ++i;
    if (i == kParams.size()) {
      return Status(Code::kInvalidArgument, "unknown URI parameter " + std::string(param.key) +
                                                " (known, in lower case: " +
                                                KnownParameterList() + ")");
    }
    if (seen[i]) {
      return Status(Code::kInvalidArgument,
                    "URI parameter " + std::string(param.key) + " given twice");
    }
    seen[i] = true;
    if (Status s = kParams[i].parse(param.key, param.value, given); !s.ok()) return s;
  }

  StoreOptions options;
  if (given.codec) {
    options.codec = {*given.codec, compress::DefaultLevel(*given.codec)};
  }
  if (given.level) options.codec.level = *given.level;
  if (given.checkpoint_bytes) options.checkpoint_bytes = *given.checkpoint_bytes;
  if (given.absorb) options.absorb_journal = *given.absorb;
  if (given.write_buffer_bytes) options.write_buffer_bytes = *given.write_buffer_bytes;
  options.cache_bytes = given.cache_bytes;
  if (given.dictionary_bytes) options.dictionary_bytes = *given.dictionary_bytes;
  if (Status s = compress::ValidateSpec(options.codec); !s.ok()) {
    return Status(Code::kInvalidArgument,
                  "bad value '" + std::to_string(options.codec.level) +
                      "' for URI parameter blaze_level: " + s.message());
  }
  return options;
}

}  // namespace blaze::vfs
