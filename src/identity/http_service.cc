#include "identity/http_service.h"

#include <chrono>
#include <exception>

namespace folio::identity {

HttpService::HttpService() {
  server_.set_exception_handler(
      [](const httplib::Request&, httplib::Response& response, std::exception_ptr) {
        reply_error(response, 500, "internal error");
      });
  // cpp-httplib's default is SO_REUSEPORT, which lets a second service bind the same port and
  // silently share its connections. SO_REUSEADDR alone still allows a quick restart while old
  // connections linger in TIME_WAIT, but a port in use makes start() fail.
  server_.set_socket_options([](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_.set_read_timeout(5, 0);
  server_.set_write_timeout(5, 0);
}

HttpService::~HttpService() { stop(); }

Result<int> HttpService::start(const std::string& host, int port, size_t body_bytes_max) {
  FOLIO_ASSERT(!thread_.joinable());
  server_.set_payload_max_length(body_bytes_max);
  if (port == 0) {
    port_ = server_.bind_to_any_port(host);
    if (port_ <= 0) return make_error(ErrorCode::kIo, "cannot bind " + host);
  } else {
    if (!server_.bind_to_port(host, port))
      return make_error(ErrorCode::kIo, "cannot bind " + host + ":" + std::to_string(port));
    port_ = port;
  }
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // cpp-httplib 0.11 has no wait_until_ready(): the socket is bound and listening already, so
  // clients can connect; is_running() turns true once the accept loop has started.
  for (int i = 0; i < 2000 && !server_.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return port_;
}

void HttpService::stop() {
  if (!thread_.joinable()) return;
  server_.stop();
  thread_.join();
}

bool is_loopback(const httplib::Request& request) {
  return request.remote_addr == "127.0.0.1" || request.remote_addr == "::1" ||
         request.remote_addr == "::ffff:127.0.0.1";
}

void reply_error(httplib::Response& response, int status, const std::string& message) {
  response.status = status;
  response.set_content(message + "\n", "text/plain");
}

int http_status_of(const Error& error) {
  switch (error.code) {
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kLimitExceeded:
      return 413;
    case ErrorCode::kVerification:
      return 403;
    case ErrorCode::kIo:
    case ErrorCode::kInternal:
    case ErrorCode::kTimeout:
      return 500;
    default:
      return 400;
  }
}

std::unique_ptr<httplib::Client> make_http_client(const std::string& host, int port) {
  auto client = std::make_unique<httplib::Client>(host, port);
  client->set_connection_timeout(2, 0);
  client->set_read_timeout(10, 0);
  client->set_write_timeout(10, 0);
  return client;
}

Error http_failure(const httplib::Result& result, const std::string& what) {
  if (!result) return make_error(ErrorCode::kIo, what + ": " + httplib::to_string(result.error()));
  std::string body = result->body.substr(0, 300);
  while (!body.empty() && body.back() == '\n') body.pop_back();
  ErrorCode code = result->status == 404   ? ErrorCode::kNotFound
                   : result->status == 409 ? ErrorCode::kConflict
                   : result->status == 403 ? ErrorCode::kVerification
                   : result->status >= 500 ? ErrorCode::kIo
                                           : ErrorCode::kInvalidArgument;
  return make_error(code, what + ": HTTP " + std::to_string(result->status) + ": " + body);
}

}  // namespace folio::identity
