// vfs/guard.h: keeps C++ exceptions from crossing into SQLite.
//
// Every function SQLite calls is noexcept. Those whose body can throw (it allocates,
// or may in later versions) run it through Guard: an escaping std::bad_alloc becomes
// the given out-of-memory code, anything else the given error code. Blaze code reports
// errors as values; this is the backstop for the standard library's allocations. Pure
// forwarders that cannot throw (xSectorSize, the VFS-level methods) skip it.
#pragma once

#include <new>

namespace blaze::vfs {

template <class Body>
int Guard(int nomem_rc, int error_rc, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return nomem_rc;
  } catch (...) {
    return error_rc;
  }
}

}  // namespace blaze::vfs
