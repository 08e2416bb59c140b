// compress/codec.cc: the page codecs over liblz4, and the checks on everything they decode.
#include "compress/codec.h"

#include <lz4.h>
#include <lz4hc.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace blaze::compress {
namespace {

// Our documented limits must agree with the liblz4 we build against.
static_assert(kLz4hcLevelMax == LZ4HC_CLEVEL_MAX);
static_assert(kLz4hcLevelDefault == LZ4HC_CLEVEL_DEFAULT);
static_assert(kMaxPageSize == LZ4_MAX_INPUT_SIZE);
// Every size below kMaxPageSize fits lz4's int parameters.
static_assert(kMaxPageSize <= static_cast<size_t>(INT32_MAX));
// The on-disk ids. Changing one of these breaks every existing database.
static_assert(static_cast<uint8_t>(CodecId::kNone) == 0);
static_assert(static_cast<uint8_t>(CodecId::kLz4) == 1);
static_assert(static_cast<uint8_t>(CodecId::kLz4hc) == 2);
static_assert(static_cast<uint8_t>(CodecId::kLz4Dict) == 3);
static_assert(static_cast<uint8_t>(CodecId::kLz4hcDict) == 4);
static_assert(kLz4hcLevelMax < 13);  // Dictionary::hc_ has a state per level

struct FreeDeleter {
  void operator()(void* p) const noexcept { std::free(p); }
};
using StatePtr = std::unique_ptr<void, FreeDeleter>;

// Returns this thread's compression state for `id` (kLz4 or kLz4hc), allocating it on
// the thread's first call; nullptr if that allocation fails (a later call retries).
// malloc's alignment satisfies lz4's 8-byte requirement. Without a dictionary lz4
// re-initializes the state at the start of every block; with one, EncodePage first
// copies the dictionary's prepared state over it. Nothing carries over between pages.
void* ThreadState(CodecId id) {
  thread_local StatePtr lz4_state;
  thread_local StatePtr lz4hc_state;
  StatePtr& state = id == CodecId::kLz4hc ? lz4hc_state : lz4_state;
  if (!state) {
    // At least the header's size: a dictionary encode copies that many bytes into it.
    const size_t size =
        id == CodecId::kLz4hc
            ? std::max(static_cast<size_t>(LZ4_sizeofStateHC()), sizeof(LZ4_streamHC_t))
            : std::max(static_cast<size_t>(LZ4_sizeofState()), sizeof(LZ4_stream_t));
    state.reset(std::malloc(size));
  }
  return state.get();
}

Status OutOfRange(CodecId id, int level, int min, int max) {
  return Status(Code::kInvalidArgument,
                std::string(CodecName(id)) + " level " + std::to_string(level) +
                    " is out of range " + std::to_string(min) + ".." + std::to_string(max));
}

Status Corrupt(CodecId codec, std::string what) {
  return Status(Code::kCorrupt, std::string(CodecName(codec)) + " page: " + what);
}

// lz4 decodes against a dictionary about twice as fast when the dictionary's bytes lie
// right before the output (its prefix path) as when they lie elsewhere (its external
// dictionary path): 1.0 against 2.1 µs per 4 KiB page, page copy included
// (docs/compress.md). Each thread keeps one buffer, the last dictionary it decoded with
// followed by room for a page, allocated at its first such decode and kept until the
// thread exits. Null (use the slow path) when the page does not fit or there is no memory.
std::byte* PrefixBuffer(const Dictionary& dict, size_t page_size) {
  constexpr size_t kPageRoom = 65536;  // SQLite's largest page
  struct Buffer {
    std::unique_ptr<std::byte[]> bytes;
    uint64_t serial = 0;
  };
  thread_local Buffer buffer;
  if (page_size > kPageRoom) return nullptr;
  if (buffer.bytes == nullptr) {
    buffer.bytes.reset(new (std::nothrow) std::byte[Dictionary::kMaxSize + kPageRoom]);
    if (buffer.bytes == nullptr) return nullptr;
  }
  const std::span<const std::byte> d = dict.bytes();
  // Right-aligned, so the page room always starts at kMaxSize.
  std::byte* start = buffer.bytes.get() + Dictionary::kMaxSize - d.size();
  if (buffer.serial != dict.serial()) {
    std::memcpy(start, d.data(), d.size());
    buffer.serial = dict.serial();
  }
  return start;
}

Encoded StoreRaw(std::span<const std::byte> src, std::span<std::byte> dst) {
  if (!src.empty()) std::memcpy(dst.data(), src.data(), src.size());
  return Encoded{CodecId::kNone, src.size()};
}

}  // namespace

std::optional<CodecId> CodecFromName(std::string_view name) {
  if (name == "none") return CodecId::kNone;
  if (name == "lz4") return CodecId::kLz4;
  if (name == "lz4hc") return CodecId::kLz4hc;
  return std::nullopt;  // the dictionary codecs follow from a dictionary, not a name
}

std::string_view CodecName(CodecId id) {
  switch (id) {
    case CodecId::kNone: return "none";
    case CodecId::kLz4: return "lz4";
    case CodecId::kLz4hc: return "lz4hc";
    case CodecId::kLz4Dict: return "lz4+dict";
    case CodecId::kLz4hcDict: return "lz4hc+dict";
  }
  return "unknown";
}

int DefaultLevel(CodecId id) {
  switch (id) {
    case CodecId::kNone: return 0;
    case CodecId::kLz4:
    case CodecId::kLz4Dict: return kLz4LevelDefault;
    case CodecId::kLz4hc:
    case CodecId::kLz4hcDict: return kLz4hcLevelDefault;
  }
  return 0;
}

Status ValidateSpec(CodecSpec spec) {
  switch (spec.id) {
    case CodecId::kNone:
      return Status::Ok();
    case CodecId::kLz4:
      if (spec.level < kLz4LevelMin || spec.level > kLz4LevelMax) {
        return OutOfRange(spec.id, spec.level, kLz4LevelMin, kLz4LevelMax);
      }
      return Status::Ok();
    case CodecId::kLz4hc:
      if (spec.level < kLz4hcLevelMin || spec.level > kLz4hcLevelMax) {
        return OutOfRange(spec.id, spec.level, kLz4hcLevelMin, kLz4hcLevelMax);
      }
      return Status::Ok();
    case CodecId::kLz4Dict:
    case CodecId::kLz4hcDict:
      break;  // chosen by EncodePage when it has a dictionary, never asked for
  }
  return Status(Code::kInvalidArgument,
                "codec id " + std::to_string(static_cast<unsigned>(spec.id)) +
                    " is unknown: expected 0 (none), 1 (lz4) or 2 (lz4hc)");
}

// ---- Dictionary ----

Result<std::shared_ptr<const Dictionary>> Dictionary::Make(std::span<const std::byte> bytes) {
  if (bytes.size() < kMinSize || bytes.size() > kMaxSize) {
    return Status(Code::kInvalidArgument, "a dictionary of " + std::to_string(bytes.size()) +
                                              " bytes is outside " + std::to_string(kMinSize) +
                                              ".." + std::to_string(kMaxSize));
  }
  // Encoding copies prepared states by the header's sizes: a liblz4 built with other
  // sizes than its header says cannot be used that way.
  if (static_cast<size_t>(LZ4_sizeofState()) != sizeof(LZ4_stream_t) ||
      static_cast<size_t>(LZ4_sizeofStateHC()) != sizeof(LZ4_streamHC_t)) {
    return Status(Code::kInvalidArgument, "liblz4's state sizes differ from lz4.h's");
  }
  std::shared_ptr<Dictionary> d(new (std::nothrow) Dictionary());
  if (d == nullptr) return Status(Code::kNoMemory, "cannot allocate a dictionary");
  d->bytes_.assign(bytes.begin(), bytes.end());
  static std::atomic<uint64_t> next_serial{1};
  d->serial_ = next_serial.fetch_add(1, std::memory_order_relaxed);
  d->lz4_ = std::malloc(sizeof(LZ4_stream_t));
  if (d->lz4_ == nullptr) return Status(Code::kNoMemory, "cannot allocate a dictionary");
  LZ4_stream_t* stream = LZ4_initStream(d->lz4_, sizeof(LZ4_stream_t));
  if (stream == nullptr) return Status(Code::kInvalidArgument, "liblz4 refused a stream state");
  LZ4_loadDict(stream, reinterpret_cast<const char*>(d->bytes_.data()),
               static_cast<int>(d->bytes_.size()));
  return std::shared_ptr<const Dictionary>(std::move(d));
}

Dictionary::~Dictionary() {
  std::free(lz4_);
  for (void* p : hc_) std::free(p);
}

const void* Dictionary::HcState(int level) const {
  std::lock_guard lock(mu_);
  void*& state = hc_[static_cast<size_t>(level)];
  if (state == nullptr) {
    state = std::malloc(sizeof(LZ4_streamHC_t));
    if (state == nullptr) return nullptr;
    LZ4_streamHC_t* stream = LZ4_initStreamHC(state, sizeof(LZ4_streamHC_t));
    if (stream == nullptr) {
      std::free(state);
      state = nullptr;
      return nullptr;
    }
    LZ4_resetStreamHC_fast(stream, level);
    LZ4_loadDictHC(stream, reinterpret_cast<const char*>(bytes_.data()),
                   static_cast<int>(bytes_.size()));
  }
  return state;
}

std::vector<std::byte> SampleDictionary(
    uint32_t pages, size_t page_size,
    const std::function<bool(uint32_t page, std::span<std::byte> dst)>& read_page) {
  // The end of a page is where SQLite keeps cell content (a b-tree page grows its cells
  // from the end) and all of an overflow page is content.
  std::vector<std::byte> bytes;
  const size_t piece = std::min<size_t>(page_size / 2, 2048);
  if (pages == 0 || piece == 0) return bytes;
  const uint32_t count =
      static_cast<uint32_t>(std::min<uint64_t>(pages, Dictionary::kMaxSize / piece));
  std::vector<std::byte> page(page_size);
  bytes.reserve(uint64_t{count} * piece);
  for (uint32_t k = 0; k < count; ++k) {
    const uint32_t p = 1 + static_cast<uint32_t>((uint64_t{k} * pages + pages / 2) / count);
    if (p > pages || !read_page(p, page)) continue;
    const auto tail = std::span<const std::byte>(page).last(piece);
    if (std::all_of(tail.begin(), tail.end(), [](std::byte b) { return b == std::byte{0}; })) {
      continue;  // free space: nothing to match
    }
    bytes.insert(bytes.end(), tail.begin(), tail.end());
  }
  if (bytes.size() < Dictionary::kMinSize) bytes.clear();
  return bytes;
}

// ---- Pages ----

Result<Encoded> EncodePage(CodecSpec spec, std::span<const std::byte> src,
                           std::span<std::byte> dst, const Dictionary* dict) {
  if (Status s = ValidateSpec(spec); !s.ok()) return s;
  if (src.size() > kMaxPageSize) {
    return Status(Code::kInvalidArgument, "page of " + std::to_string(src.size()) +
                                              " bytes exceeds the maximum of " +
                                              std::to_string(kMaxPageSize));
  }
  if (dst.size() < MaxEncodedSize(src.size())) {
    return Status(Code::kInvalidArgument,
                  "destination of " + std::to_string(dst.size()) + " bytes is smaller than " +
                      std::to_string(MaxEncodedSize(src.size())) + " for a page of " +
                      std::to_string(src.size()));
  }
  // A compressed page must save at least one byte, so the compressor gets one byte less
  // than the page: lz4 gives up (returns 0) as soon as the output would reach the page
  // size, which also bounds the work wasted on incompressible pages.
  if (spec.id == CodecId::kNone || src.size() < 2) return StoreRaw(src, dst);
  void* state = ThreadState(spec.id);
  if (state == nullptr) {
    return Status(Code::kNoMemory,
                  "cannot allocate the " + std::string(CodecName(spec.id)) + " state");
  }
  const auto* in = reinterpret_cast<const char*>(src.data());
  auto* out = reinterpret_cast<char*>(dst.data());
  const int in_size = static_cast<int>(src.size());
  const int capacity = in_size - 1;
  const bool hc = spec.id == CodecId::kLz4hc;
  // The dictionary's prepared state, copied: a copy is what lz4 would build by loading
  // the dictionary again, for the price of a memcpy (16 KiB; 256 KiB for HC). Without
  // it (no memory for an HC level's state) the page is encoded plain: always valid.
  const void* prepared =
      dict == nullptr ? nullptr : hc ? dict->HcState(spec.level) : dict->Lz4State();
  if (prepared != nullptr) {
    int n = 0;
    if (hc) {
      std::memcpy(state, prepared, sizeof(LZ4_streamHC_t));
      n = LZ4_compress_HC_continue(static_cast<LZ4_streamHC_t*>(state), in, out, in_size,
                                   capacity);
    } else {
      std::memcpy(state, prepared, sizeof(LZ4_stream_t));
      n = LZ4_compress_fast_continue(static_cast<LZ4_stream_t*>(state), in, out, in_size,
                                     capacity, spec.level);
    }
    if (n <= 0) return StoreRaw(src, dst);
    return Encoded{hc ? CodecId::kLz4hcDict : CodecId::kLz4Dict, static_cast<size_t>(n)};
  }
  const int n = hc ? LZ4_compress_HC_extStateHC(state, in, out, in_size, capacity, spec.level)
                   : LZ4_compress_fast_extState(state, in, out, in_size, capacity, spec.level);
  if (n <= 0) return StoreRaw(src, dst);
  return Encoded{spec.id, static_cast<size_t>(n)};
}

Status DecodePage(CodecId codec, std::span<const std::byte> src, std::span<std::byte> dst,
                  const Dictionary* dict) {
  switch (codec) {
    case CodecId::kNone:
      if (src.size() != dst.size()) {
        return Corrupt(codec, "stored " + std::to_string(src.size()) +
                                  " bytes, expected exactly " + std::to_string(dst.size()));
      }
      if (!src.empty()) std::memcpy(dst.data(), src.data(), src.size());
      return Status::Ok();
    case CodecId::kLz4:
    case CodecId::kLz4hc:
      break;
    case CodecId::kLz4Dict:
    case CodecId::kLz4hcDict:
      if (dict == nullptr) return Corrupt(codec, "encoded with a dictionary, and there is none");
      break;
    default:
      return Status(Code::kCorrupt, "page has unknown codec id " +
                                        std::to_string(static_cast<unsigned>(codec)));
  }
  if (src.size() > kMaxPageSize || dst.size() > kMaxPageSize) {
    return Corrupt(codec, "size " + std::to_string(std::max(src.size(), dst.size())) +
                              " exceeds the maximum of " + std::to_string(kMaxPageSize));
  }
  // A page stored compressed is never empty and never decodes to nothing (EncodePage
  // stores those raw); rejecting them here also keeps null pointers away from lz4.
  if (src.empty() || dst.empty()) {
    return Corrupt(codec, "stored " + std::to_string(src.size()) + " bytes for a page of " +
                              std::to_string(dst.size()));
  }
  const auto* in = reinterpret_cast<const char*>(src.data());
  auto* out = reinterpret_cast<char*>(dst.data());
  const int in_size = static_cast<int>(src.size());
  const int out_size = static_cast<int>(dst.size());
  int n = 0;
  if (!UsesDictionary(codec)) {
    n = LZ4_decompress_safe(in, out, in_size, out_size);
  } else if (std::byte* prefix = PrefixBuffer(*dict, dst.size()); prefix != nullptr) {
    // Decoded right after the thread's copy of the dictionary, then copied out; lz4
    // writes nothing before the page room, so the copy stays intact even on bad input.
    const int dict_size = static_cast<int>(dict->bytes().size());
    char* room = reinterpret_cast<char*>(prefix) + dict_size;
    n = LZ4_decompress_safe_usingDict(in, room, in_size, out_size,
                                      reinterpret_cast<const char*>(prefix), dict_size);
    if (n > 0) std::memcpy(out, room, static_cast<size_t>(n));
  } else {
    n = LZ4_decompress_safe_usingDict(in, out, in_size, out_size,
                                      reinterpret_cast<const char*>(dict->bytes().data()),
                                      static_cast<int>(dict->bytes().size()));
  }
  if (n < 0) {
    return Corrupt(codec, "malformed block of " + std::to_string(src.size()) +
                              " bytes (for a page of " + std::to_string(dst.size()) + ")");
  }
  if (static_cast<size_t>(n) != dst.size()) {
    return Corrupt(codec, "block of " + std::to_string(src.size()) + " bytes decodes to " +
                              std::to_string(n) + " bytes, expected " +
                              std::to_string(dst.size()));
  }
  return Status::Ok();
}

}  // namespace blaze::compress
