#include "storage/testing/pg_server.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <vector>

extern char** environ;

namespace folio::storage::testing {
namespace {

constexpr const char* kServerUser = "postgres";

}  // namespace

std::string PgServer::binary_dir() {
  const char* configured = std::getenv("FOLIO_PG_BIN");
  return configured != nullptr && *configured != '\0' ? configured
                                                      : "/usr/lib/postgresql/15/bin";
}

bool PgServer::binaries_available() {
  std::error_code ec;
  const std::filesystem::path dir = binary_dir();
  return std::filesystem::exists(dir / "initdb", ec) && std::filesystem::exists(dir / "pg_ctl", ec) &&
         std::filesystem::exists(dir / "postgres", ec);
}

// Runs a command (as the server's user when we are root) with its output in directory_/commands.log.
Status PgServer::run(const std::vector<std::string>& command) const {
  std::vector<std::string> full;
  if (geteuid() == 0) full = {"/usr/sbin/runuser", "-u", kServerUser, "--"};
  full.insert(full.end(), command.begin(), command.end());
  std::vector<char*> argv;
  for (std::string& part : full) argv.push_back(part.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = directory_ + "/commands.log";
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addchdir_np(&actions, directory_.c_str());
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0)
    return make_error(ErrorCode::kIo, "pg test server: cannot run " + full[0] + ": " +
                                          std::strerror(spawned));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return make_error(ErrorCode::kIo, "pg test server: waitpid failed");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return make_error(ErrorCode::kIo, "pg test server: `" + command[0] + "` failed; see " + log);
  return ok_status();
}

Status PgServer::start_server() {
  const std::string options = "-c fsync=off -c full_page_writes=off -c listen_addresses='' "
                              "-c unix_socket_directories='" + directory_ + "' -c port=5432";
  FOLIO_TRY(run({binary_dir() + "/pg_ctl", "start", "-w", "-t", "60", "-D", directory_ + "/data",
                 "-l", directory_ + "/server.log", "-o", options}));
  running_ = true;
  return ok_status();
}

Result<std::unique_ptr<PgServer>> PgServer::initialise(std::string directory) {
  if (!binaries_available())
    return make_error(ErrorCode::kNotFound,
                      "PostgreSQL server binaries not found in " + binary_dir());
  std::unique_ptr<PgServer> server(new PgServer());
  server->directory_ = directory;
  if (geteuid() == 0) {
    const passwd* user = getpwnam(kServerUser);
    if (user == nullptr)
      return make_error(ErrorCode::kNotFound, "pg test server: no user named postgres");
    if (chown(directory.c_str(), user->pw_uid, user->pw_gid) != 0)
      return make_error(ErrorCode::kIo, "pg test server: chown failed on " + directory);
  }
  chmod(directory.c_str(), 0700);
  FOLIO_TRY(server->run({binary_dir() + "/initdb", "-D", directory + "/data", "-U", "postgres",
                         "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"}));
  FOLIO_TRY(server->start_server());
  return server;
}

Status PgServer::start_watchdog() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return make_error(ErrorCode::kIo, "pg test server: pipe failed for the watchdog");
  // sh -c SCRIPT DIRECTORY STOP-COMMAND...: $0 is the directory, "$@" the stop command. `read`
  // returns when every write end is closed: at our destruction or at our death.
  std::vector<std::string> args = {
      "/bin/sh", "-c", "read -r _; \"$@\" >/dev/null 2>&1; rm -rf -- \"$0\"", directory_};
  if (geteuid() == 0) {
    for (const char* part : {"/usr/sbin/runuser", "-u", kServerUser, "--"}) args.push_back(part);
  }
  for (const std::string& part : {binary_dir() + "/pg_ctl", std::string("stop"), std::string("-w"),
                                  std::string("-m"), std::string("immediate"), std::string("-D"),
                                  directory_ + "/data"})
    args.push_back(part);
  std::vector<char*> argv;
  for (std::string& part : args) argv.push_back(part.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // A session of its own, so that killing the test's process group does not kill the watchdog.
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(fds[0]);
  if (spawned != 0) {
    close(fds[1]);
    return make_error(ErrorCode::kIo, "pg test server: cannot start the watchdog");
  }
  watchdog_fd_ = fds[1];
  watchdog_pid_ = pid;
  return ok_status();
}

Result<std::unique_ptr<PgServer>> PgServer::start() {
  if (!binaries_available())
    return make_error(ErrorCode::kNotFound,
                      "PostgreSQL server binaries not found in " + binary_dir());
  std::string pattern = (std::filesystem::temp_directory_path() / "folio-pg-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    return make_error(ErrorCode::kIo, "pg test server: mkdtemp failed: " + pattern);
  Result<std::unique_ptr<PgServer>> server = initialise(pattern);
  if (!server.ok()) {
    (void)stop_and_remove(pattern);
    return server;
  }
  FOLIO_TRY((*server)->start_watchdog());
  return server;
}

Result<std::unique_ptr<PgServer>> PgServer::start_in(const std::string& directory) {
  FOLIO_TRY(stop_and_remove(directory));
  std::error_code ec;
  if (!std::filesystem::create_directories(directory, ec))
    return make_error(ErrorCode::kIo, "pg test server: cannot create " + directory);
  return initialise(directory);
}

Result<std::unique_ptr<PgServer>> PgServer::attach(const std::string& directory) {
  std::error_code ec;
  if (!std::filesystem::exists(directory + "/data/postmaster.pid", ec))
    return make_error(ErrorCode::kNotFound, "pg test server: no server running in " + directory);
  std::unique_ptr<PgServer> server(new PgServer());
  server->directory_ = directory;
  server->running_ = true;
  server->owned_ = false;
  return server;
}

Status PgServer::stop_and_remove(const std::string& directory) {
  std::error_code ec;
  if (!std::filesystem::exists(directory, ec)) return ok_status();
  if (std::filesystem::exists(directory + "/data/postmaster.pid", ec)) {
    std::unique_ptr<PgServer> server(new PgServer());
    server->directory_ = directory;
    server->running_ = true;
    (void)server->kill();
    server->directory_.clear();
  }
  std::filesystem::remove_all(directory, ec);
  if (ec) return make_error(ErrorCode::kIo, "pg test server: cannot remove " + directory);
  return ok_status();
}

PgServer::~PgServer() {
  if (owned_) {
    if (running_) (void)kill();
    std::error_code ec;
    if (!directory_.empty()) std::filesystem::remove_all(directory_, ec);
  }
  if (watchdog_fd_ >= 0) {
    close(watchdog_fd_);  // the watchdog wakes, finds nothing to stop, and exits
    int status = 0;
    while (waitpid(watchdog_pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

Status PgServer::kill() {
  if (!running_) return ok_status();
  running_ = false;
  return run({binary_dir() + "/pg_ctl", "stop", "-w", "-m", "immediate", "-D",
              directory_ + "/data"});
}

Status PgServer::restart() {
  if (running_) return ok_status();
  return start_server();
}

std::string PgServer::conninfo(std::string_view database) const {
  return "host=" + directory_ + " port=5432 user=postgres dbname=" + std::string(database);
}

Result<std::string> PgServer::create_database() {
  // Several test processes may share one server (see both_backends.h): the pid and a random
  // word keep their database names apart.
  const std::string name = "folio_" + std::to_string(getpid()) + "_" +
                           std::to_string(std::random_device()() % 1000000) + "_" +
                           std::to_string(++next_database_);
  PGconn* conn = PQconnectdb(conninfo("postgres").c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    return make_error(ErrorCode::kIo, "pg test server: cannot connect: " + message);
  }
  PGresult* result = PQexec(conn, ("CREATE DATABASE " + name).c_str());
  const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
  std::string message = ok ? "" : PQresultErrorMessage(result);
  PQclear(result);
  PQfinish(conn);
  if (!ok) return make_error(ErrorCode::kIo, "pg test server: CREATE DATABASE: " + message);
  return conninfo(name);
}

}  // namespace folio::storage::testing
