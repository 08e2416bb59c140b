// tests/support/peer.h: a second process for multi-process SQL tests: a forked child
// with its own SQLite connection, which runs the SQL the test sends it over a pipe.
//
// Fork only while this process has nothing of the peer's database open: advisory locks
// do not pass to the child, and the child would inherit this process's open stores
// (one per file per process) with their views and cached pages. Fork with no other
// thread running. The child runs the C API only and never returns into Catch2: it
// leaves with _exit.
//
// Every call sends one request and waits for its reply; a failure of the transport, or
// of the SQL where the call requires success, fails the calling test. The destructor
// kills and reaps a child that Finish() did not end.
#pragma once

#include <sqlite3.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace blaze::test {

// FNV-1a over every column of every row of sql (type, length and bytes), as 16 hex
// digits; "" with *rc set when the statement fails. C API only: both sides of a Peer
// use it, so two processes' digests of the same query are comparable.
std::string RowsDigest(sqlite3* db, const std::string& sql, int* rc);
// The same, requiring success (test side only).
std::string RowsDigest(sqlite3* db, const std::string& sql);

class Peer {
 public:
  Peer();
  ~Peer();
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  // sqlite3_open_v2 of a URI (read-write, no create), busy timeout 10 s.
  void Open(const std::string& uri);
  // Runs sql (any number of statements); requires SQLITE_OK.
  void Exec(const std::string& sql);
  // Runs sql; returns the result code (the child's error message in *err when given).
  int TryExec(const std::string& sql, std::string* err = nullptr);
  // The first column of the first row, as text / integer; requires a row.
  std::string QueryText(const std::string& sql);
  int64_t QueryInt(const std::string& sql);
  // RowsDigest in the child.
  std::string Digest(const std::string& sql);
  // Sends sql without waiting (the child may block on the test); FinishExec waits for
  // its result code. One at a time, and no other call in between.
  void StartExec(const std::string& sql);
  int FinishExec(std::string* err = nullptr);
  // Closes the connection and requires a clean exit of the child.
  void Finish();

 private:
  struct Reply {
    int rc = 0;
    std::string text;
  };
  Reply Call(int op, const std::string& payload);
  void Send(int op, const std::string& payload);
  Reply Receive(const std::string& what);

  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
};

}  // namespace blaze::test
