// tests/unit/options_test.cc: the blaze_* URI parameter parser.
#include <catch2/catch.hpp>

#include "vfs/options.h"

using blaze::Code;
using blaze::compress::CodecId;
using blaze::vfs::ParseStoreOptions;
using blaze::vfs::UriParam;

namespace {
blaze::Result<blaze::vfs::StoreOptions> Parse(std::initializer_list<UriParam> params) {
  return ParseStoreOptions(std::span<const UriParam>(params.begin(), params.size()));
}
}  // namespace

TEST_CASE("no blaze parameters give the defaults", "[options]") {
  auto r = Parse({{"vfs", "blaze"}, {"cache", "shared"}});
  REQUIRE(r.ok());
  CHECK(r.value().codec.id == CodecId::kLz4);
  CHECK(r.value().codec.level == 1);
}

TEST_CASE("codec and level are read and combined", "[options]") {
  auto r = Parse({{"blaze_codec", "lz4hc"}});
  REQUIRE(r.ok());
  CHECK(r.value().codec.id == CodecId::kLz4hc);
  CHECK(r.value().codec.level == 9);

  r = Parse({{"blaze_level", "12"}, {"blaze_codec", "lz4hc"}});
  REQUIRE(r.ok());
  CHECK(r.value().codec.level == 12);

  r = Parse({{"blaze_codec", "none"}});
  REQUIRE(r.ok());
  CHECK(r.value().codec.id == CodecId::kNone);
}

TEST_CASE("bad parameters fail with a message naming them", "[options]") {
  struct Case {
    std::initializer_list<UriParam> params;
    const char* must_name;
  };
  const Case cases[] = {
      {{{"blaze_bogus", "1"}}, "blaze_bogus"},
      {{{"blaze_codec", "zstd"}}, "blaze_codec"},
      {{{"blaze_codec", ""}}, "blaze_codec"},
      {{{"blaze_level", "abc"}}, "blaze_level"},
      {{{"blaze_level", "3x"}}, "blaze_level"},
      {{{"blaze_level", ""}}, "blaze_level"},
      {{{"blaze_codec", "lz4hc"}, {"blaze_level", "13"}}, "blaze_level"},
      {{{"blaze_codec", "lz4"}, {"blaze_level", "0"}}, "blaze_level"},
      {{{"blaze_codec", "lz4"}, {"blaze_codec", "lz4"}}, "blaze_codec"},
      {{{"Blaze_codec", "lz4"}}, "Blaze_codec"},
      {{{"BLAZE_LEVEL", "3"}}, "BLAZE_LEVEL"},
      {{{"blaze_dictionary", "1M"}}, "blaze_dictionary"},
      {{{"blaze_dictionary", "-1"}}, "blaze_dictionary"},
      {{{"blaze_dictionary", "1099511627777"}}, "blaze_dictionary"},
      {{{"blaze_checkpoint", "1099511627777"}}, "blaze_checkpoint"},
      {{{"blaze_write_buffer", "17179869185"}}, "blaze_write_buffer"},
      {{{"blaze_cache", "64M"}}, "blaze_cache"},
  };
  for (const Case& c : cases) {
    auto r = Parse(c.params);
    INFO(c.must_name);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::Contains(c.must_name));
  }
}

TEST_CASE("the unknown-parameter message lists the known ones", "[options]") {
  auto r = Parse({{"blaze_bogus", "1"}});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().message(), Catch::Contains("blaze_codec"));
  CHECK_THAT(r.status().message(), Catch::Contains("blaze_level"));
}

TEST_CASE("byte counts are read, up to their limits", "[options]") {
  auto r = Parse({});
  REQUIRE(r.ok());
  CHECK(r.value().dictionary_bytes == 1048576);
  CHECK_FALSE(r.value().cache_bytes.has_value());
  r = Parse({{"blaze_dictionary", "0"}, {"blaze_cache", "1099511627776"},
             {"blaze_checkpoint", "0"}, {"blaze_write_buffer", "17179869184"}});
  REQUIRE(r.ok());
  CHECK(r.value().dictionary_bytes == 0);
  CHECK(r.value().cache_bytes == uint64_t{1} << 40);
  CHECK(r.value().checkpoint_bytes == 0);
  CHECK(r.value().write_buffer_bytes == uint64_t{1} << 34);
  r = Parse({{"blaze_dictionary", "65536"}});
  REQUIRE(r.ok());
  CHECK(r.value().dictionary_bytes == 65536);
  auto bad = Parse({{"blaze_dictionary", "x"}});
  CHECK_THAT(bad.status().message(), Catch::Contains("0 (never) to 2^40"));
}
