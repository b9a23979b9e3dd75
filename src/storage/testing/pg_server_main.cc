// folio_pg_test_server start|stop <directory>: the ctest fixture that runs one throwaway
// PostgreSQL server for a whole test run (see both_backends.h).
#include <cstdio>
#include <string>

#include "storage/testing/pg_server.h"

int main(int argc, char** argv) {
  using folio::storage::testing::PgServer;
  if (argc != 3) {
    std::fprintf(stderr, "usage: folio_pg_test_server start|stop <directory>\n");
    return 2;
  }
  const std::string command = argv[1];
  const std::string directory = argv[2];
  if (command == "start") {
    if (!PgServer::binaries_available()) {
      // The tests themselves skip; nothing to start.
      std::printf("PostgreSQL binaries not found in %s\n", PgServer::binary_dir().c_str());
      return 0;
    }
    auto server = PgServer::start_in(directory);
    if (!server.ok()) {
      std::fprintf(stderr, "%s\n", server.error().message().c_str());
      return 1;
    }
    (*server)->detach();
    std::printf("PostgreSQL test server running in %s\n", directory.c_str());
    return 0;
  }
  if (command == "stop") {
    folio::Status status = PgServer::stop_and_remove(directory);
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", status.error().message().c_str());
      return 1;
    }
    return 0;
  }
  std::fprintf(stderr, "usage: folio_pg_test_server start|stop <directory>\n");
  return 2;
}
