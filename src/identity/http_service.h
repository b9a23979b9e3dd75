// HttpService: an httplib::Server on its own thread, shared by the doorman and the network map
// service. Internal to src/identity (it exposes cpp-httplib types).
//
// start() binds first (port 0 picks a free port, reported back), then serves on a new thread;
// stop() stops the server and joins the thread, and is safe to call twice. Handlers run on
// httplib's worker threads: they must do their own locking. A handler that throws answers 500; the
// exception never leaves the server.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>
#include <thread>

#include "base/result.h"

namespace folio::identity {

class HttpService {
 public:
  HttpService();
  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  // Register routes on server() before start(). `body_bytes_max` bounds every request body.
  httplib::Server& server() { return server_; }

  // Binds `host`:`port` (0: any free port) and serves until stop(). Returns the bound port.
  Result<int> start(const std::string& host, int port, size_t body_bytes_max);
  void stop();
  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// Whether a request came from this machine (the admin endpoints accept nothing else).
bool is_loopback(const httplib::Request& request);

// Sets a plain-text error response.
void reply_error(httplib::Response& response, int status, const std::string& message);

// The HTTP status that an Error from validating a request maps to.
int http_status_of(const Error& error);

// An httplib::Client with bounded connect and read times.
std::unique_ptr<httplib::Client> make_http_client(const std::string& host, int port);

// Error for a failed or non-2xx client call.
Error http_failure(const httplib::Result& result, const std::string& what);

}  // namespace folio::identity
