// vfs/options.h: the URI parameters of a store file, parsed and validated in one place.
//
// Every parameter Blaze reads is named blaze_*; the table in options.cc lists them with
// their type and range, and docs/uri-parameters.md documents them. An unknown blaze_*
// parameter, a parameter given twice, or a bad value fails the open with a message
// that names the parameter. So does a key that is blaze_* in another case
// (Blaze_Codec): URI keys are case-sensitive, and a silently ignored setting is worse
// than an error. Other parameters belong to SQLite or other VFSes and are ignored here.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "compress/codec.h"

namespace blaze::vfs {

struct StoreOptions {
  compress::CodecSpec codec{compress::CodecId::kLz4, 1};
  // blaze_checkpoint: log bytes after which a commit checkpoints (0: only on demand).
  uint64_t checkpoint_bytes = uint64_t{4} << 20;
  // blaze_journal=absorb: the rollback journal stays in memory (vfs/mem_journal.h).
  bool absorb_journal = false;
  // blaze_write_buffer: bytes of the open transaction's pages kept in memory (0: none).
  uint64_t write_buffer_bytes = uint64_t{8} << 20;
  // blaze_cache: the most this database may hold in the process's page cache (unset:
  // up to the whole budget). The latest open that gives it sets it for the file.
  std::optional<uint64_t> cache_bytes;
  // blaze_dictionary: the first checkpoint that finds the database at least this long
  // makes the store's compression dictionary (0: this connection's checkpoints make
  // none; a connection or process with another setting still may). A store that has
  // one keeps it; this only decides when a store without one makes it.
  uint64_t dictionary_bytes = uint64_t{1} << 20;
};

struct UriParam {
  std::string_view key;
  std::string_view value;
};

// Builds options from the parameters of one database URI, in the order given.
// On failure the Status is kInvalidArgument and its message names the parameter.
Result<StoreOptions> ParseStoreOptions(std::span<const UriParam> params);

// The blaze_* keys this build knows, comma separated (for error messages and docs).
std::string KnownParameterList();

}  // namespace blaze::vfs
