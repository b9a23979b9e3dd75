// PgServer: a throwaway PostgreSQL 15 server for tests.
//
// start() runs initdb and pg_ctl (under `runuser -u postgres` when the process is root, since
// initdb refuses root) in a fresh temporary directory owned by the server's user; the server
// listens only on a unix socket in that directory, with fsync off. The destructor stops it and
// deletes the directory. create_database() gives each test its own database. Not thread-safe.
//
// A server started by start() also gets a watchdog: a small shell in a session of its own that waits
// for the test process to go away, however it ends (a failed assertion's abort, a ctest timeout's
// kill), and then stops the server and deletes the directory, so no server outlives its test.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace folio::storage::testing {

class PgServer {
 public:
  // Where the server binaries are looked for: $FOLIO_PG_BIN, else /usr/lib/postgresql/15/bin.
  static std::string binary_dir();
  // Whether initdb, pg_ctl and postgres exist there (the only reason for a test to skip).
  static bool binaries_available();

  static Result<std::unique_ptr<PgServer>> start();
  // The same in a given directory (created; a stale server left there is stopped and removed).
  static Result<std::unique_ptr<PgServer>> start_in(const std::string& directory);
  // A server already running in `directory` (started by start_in elsewhere), which this object
  // neither stops nor deletes.
  static Result<std::unique_ptr<PgServer>> attach(const std::string& directory);
  // Stops the server in `directory`, if any, and deletes the directory.
  static Status stop_and_remove(const std::string& directory);
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // Creates a database with a fresh name and returns its libpq conninfo.
  Result<std::string> create_database();
  std::string conninfo(std::string_view database) const;

  // Stops the server at once, as a crash would (pg_ctl stop -m immediate).
  Status kill();
  // Starts it again on the same data directory and socket.
  Status restart();
  bool running() const { return running_; }
  // Leave the server running and its directory in place when this object is destroyed.
  void detach() { owned_ = false; }
  const std::string& directory() const { return directory_; }

 private:
  PgServer() = default;
  Status run(const std::vector<std::string>& command) const;
  Status start_server();
  Status start_watchdog();
  static Result<std::unique_ptr<PgServer>> initialise(std::string directory);

  std::string directory_;  // the temporary directory: data/, the socket, logs
  bool running_ = false;
  bool owned_ = true;  // stop and delete on destruction
  int watchdog_fd_ = -1;  // write end of the watchdog's pipe; closing it (or dying) fires it
  int watchdog_pid_ = 0;
  int next_database_ = 0;
};

}  // namespace folio::storage::testing
