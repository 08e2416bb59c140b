// common/status.h: how every Blaze layer reports failure.
//
// Inside the library errors are values, never exceptions: a function that can fail
// returns Status (or Result<T>), both [[nodiscard]]. Only the vfs/ and sqlite_ext/
// layers know SQLite; they map a Code to an SQLite result code at the C boundary.
// The message is for sqlite3_log() and error strings; it is
// built only on the failure path, so a successful call allocates nothing.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace blaze {

enum class Code {
  kOk = 0,
  kInvalidArgument,  // a caller passed a value outside the documented range
  kCorrupt,          // stored structure is inconsistent (bad size, bad offset, bad tag)
  kChecksum,         // stored bytes do not match their checksum
  kIoError,          // the layer below failed
  kNoMemory,
  kFull,             // no space left
  kMisuse,           // called in a state the contract forbids
  kNotFound,
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  // `detail`: the failing layer's own code, carried up unchanged (the vfs layer puts the
  // base VFS's extended SQLite result code here, so SQLITE_IOERR_SHORT_READ or
  // SQLITE_FULL reach SQLite as the base returned them). 0 when there is none.
  Status(Code code, std::string message, int detail)
      : code_(code), detail_(detail), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  int detail() const { return detail_; }

 private:
  Code code_ = Code::kOk;
  int detail_ = 0;
  std::string message_;
};

// Result<T> holds either a value or a non-ok Status.
// REQUIRES: value() only when ok(); status() is Ok() when ok().
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}   // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace blaze
