// tests/support/peer.cc: the forked SQL peer of multi-process tests (see peer.h).
#include "tests/support/peer.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>

namespace blaze::test {
namespace {

// Requests: op, payload length, payload. Replies: result code, text length, text.
enum Op : int32_t { kOpen = 1, kExec, kQuery, kDigest, kClose };

bool WriteAll(int fd, const void* p, size_t n) {
  const auto* b = static_cast<const char*>(p);
  while (n > 0) {
    const ssize_t w = write(fd, b, n);
    if (w <= 0) return false;
    b += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool ReadAll(int fd, void* p, size_t n) {
  auto* b = static_cast<char*>(p);
  while (n > 0) {
    const ssize_t r = read(fd, b, n);
    if (r <= 0) return false;
    b += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool SendFrame(int fd, int32_t head, const std::string& body) {
  const auto len = static_cast<uint32_t>(body.size());
  return WriteAll(fd, &head, sizeof head) && WriteAll(fd, &len, sizeof len) &&
         WriteAll(fd, body.data(), body.size());
}

bool RecvFrame(int fd, int32_t* head, std::string* body) {
  uint32_t len = 0;
  if (!ReadAll(fd, head, sizeof *head) || !ReadAll(fd, &len, sizeof len)) return false;
  body->resize(len);
  return ReadAll(fd, body->data(), len);
}

// The child: obeys requests until kClose or the pipe closes. Returns its exit status.
int Serve(int in, int out) {
  sqlite3* db = nullptr;
  int32_t op = 0;
  std::string payload;
  while (RecvFrame(in, &op, &payload)) {
    int rc = SQLITE_OK;
    std::string text;
    switch (op) {
      case kOpen:
        rc = sqlite3_open_v2(payload.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI,
                             nullptr);
        if (rc == SQLITE_OK) sqlite3_busy_timeout(db, 10000);
        if (rc != SQLITE_OK && db != nullptr) text = sqlite3_errmsg(db);
        break;
      case kExec: {
        char* err = nullptr;
        rc = sqlite3_exec(db, payload.c_str(), nullptr, nullptr, &err);
        if (err != nullptr) text = err;
        sqlite3_free(err);
        break;
      }
      case kQuery: {
        sqlite3_stmt* s = nullptr;
        rc = sqlite3_prepare_v2(db, payload.c_str(), -1, &s, nullptr);
        if (rc == SQLITE_OK) {
          rc = sqlite3_step(s);
          if (rc == SQLITE_ROW) {
            const unsigned char* t = sqlite3_column_text(s, 0);
            text = t != nullptr ? reinterpret_cast<const char*>(t) : "";
            rc = SQLITE_OK;
          } else if (rc == SQLITE_DONE) {
            rc = SQLITE_NOTFOUND;  // no row
            text = "no row";
          } else {
            text = sqlite3_errmsg(db);
          }
        } else {
          text = sqlite3_errmsg(db);
        }
        sqlite3_finalize(s);
        break;
      }
      case kDigest:
        text = RowsDigest(db, payload, &rc);
        if (rc != SQLITE_OK) text = sqlite3_errmsg(db);
        break;
      case kClose:
        rc = sqlite3_close(db);
        SendFrame(out, rc, "");
        return rc == SQLITE_OK ? 0 : 3;
      default:
        return 4;
    }
    if (!SendFrame(out, rc, text)) return 5;
  }
  return 6;  // the test went away without kClose
}

}  // namespace

std::string RowsDigest(sqlite3* db, const std::string& sql, int* rc) {
  uint64_t h = 1469598103934665603ull;
  auto add = [&h](const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  };
  sqlite3_stmt* s = nullptr;
  *rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
  if (*rc != SQLITE_OK) return "";
  while ((*rc = sqlite3_step(s)) == SQLITE_ROW) {
    for (int i = 0; i < sqlite3_column_count(s); ++i) {
      const int type = sqlite3_column_type(s, i);
      add(&type, sizeof type);
      const void* p = sqlite3_column_blob(s, i);
      const int n = sqlite3_column_bytes(s, i);
      add(&n, sizeof n);
      if (p != nullptr) add(p, static_cast<size_t>(n));
    }
  }
  sqlite3_finalize(s);
  if (*rc != SQLITE_DONE) return "";
  *rc = SQLITE_OK;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

std::string RowsDigest(sqlite3* db, const std::string& sql) {
  int rc = SQLITE_OK;
  std::string d = RowsDigest(db, sql, &rc);
  INFO(sql << " -> " << sqlite3_errmsg(db));
  REQUIRE(rc == SQLITE_OK);
  return d;
}

Peer::Peer() {
  // A child that died must fail the test on the next call, not kill it with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  int down[2], up[2];
  REQUIRE(pipe(down) == 0);
  REQUIRE(pipe(up) == 0);
  std::fflush(nullptr);  // nothing buffered is written twice
  pid_ = fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    close(down[1]);
    close(up[0]);
    _exit(Serve(down[0], up[1]));
  }
  close(down[0]);
  close(up[1]);
  to_child_ = down[1];
  from_child_ = up[0];
}

Peer::~Peer() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  close(to_child_);
  close(from_child_);
}

void Peer::Send(int op, const std::string& payload) {
  REQUIRE(pid_ > 0);
  REQUIRE(SendFrame(to_child_, op, payload));
}

Peer::Reply Peer::Receive(const std::string& what) {
  Reply r;
  int32_t rc = 0;
  INFO("the peer process died during: " << what);
  REQUIRE(RecvFrame(from_child_, &rc, &r.text));
  r.rc = rc;
  return r;
}

Peer::Reply Peer::Call(int op, const std::string& payload) {
  Send(op, payload);
  return Receive(payload);
}

void Peer::StartExec(const std::string& sql) { Send(kExec, sql); }

int Peer::FinishExec(std::string* err) {
  Reply r = Receive("a started statement");
  if (err != nullptr) *err = std::move(r.text);
  return r.rc;
}

void Peer::Open(const std::string& uri) {
  const Reply r = Call(kOpen, uri);
  INFO("peer open " << uri << ": " << r.text);
  REQUIRE(r.rc == SQLITE_OK);
}

void Peer::Exec(const std::string& sql) {
  const Reply r = Call(kExec, sql);
  INFO("peer: " << sql << " -> " << r.text);
  REQUIRE(r.rc == SQLITE_OK);
}

int Peer::TryExec(const std::string& sql, std::string* err) {
  Reply r = Call(kExec, sql);
  if (err != nullptr) *err = std::move(r.text);
  return r.rc;
}

std::string Peer::QueryText(const std::string& sql) {
  Reply r = Call(kQuery, sql);
  INFO("peer: " << sql << " -> " << r.text);
  REQUIRE(r.rc == SQLITE_OK);
  return r.text;
}

int64_t Peer::QueryInt(const std::string& sql) { return std::stoll(QueryText(sql)); }

std::string Peer::Digest(const std::string& sql) {
  Reply r = Call(kDigest, sql);
  INFO("peer digest: " << sql << " -> " << r.text);
  REQUIRE(r.rc == SQLITE_OK);
  return r.text;
}

void Peer::Finish() {
  const Reply r = Call(kClose, "");
  CHECK(r.rc == SQLITE_OK);
  int status = 0;
  REQUIRE(waitpid(pid_, &status, 0) == pid_);
  pid_ = -1;
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace blaze::test
