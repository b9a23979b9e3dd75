// RpcClient: cpp-httplib calls and strict JSON decoding of the node RPC's responses (docs/rpc.md).
#include "node/rpc_client.h"

#include <httplib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

namespace folio::node {
namespace {

using Json = nlohmann::json;

// The server's `{"error": "..."}` text, or the start of the body if it is not that.
std::string error_text(const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    auto it = j.find("error");
    if (it != j.end() && it->is_string()) return it->get<std::string>().substr(0, 512);
  }
  return body.substr(0, 200);
}

Error status_error(const std::string& what, int status, const std::string& body) {
  ErrorCode code = ErrorCode::kIo;
  switch (status) {
    case 400:
      code = ErrorCode::kInvalidArgument;
      break;
    case 401:
    case 403:
      code = ErrorCode::kVerification;
      break;
    case 404:
      code = ErrorCode::kNotFound;
      break;
    case 409:
      code = ErrorCode::kConflict;
      break;
    case 503:
      code = ErrorCode::kTimeout;
      break;
    default:
      break;
  }
  return make_error(code, what + ": HTTP " + std::to_string(status) + ": " + error_text(body));
}

Result<Json> parse_object(const std::string& what, const std::string& body) {
  Json j = Json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::kMalformed, what + ": the response is not a JSON object");
  return j;
}

// A required string field, bounded; `hex` also checks that it is non-empty lower-case hex.
Result<std::string> string_field(const std::string& what, const Json& j, const char* key,
                                 bool hex = false) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    return make_error(ErrorCode::kMalformed, what + ": '" + key + "' missing or not a string");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.size() > kRpcTextBytesMax)
    return make_error(ErrorCode::kLimitExceeded, what + ": '" + key + "' too long");
  if (hex) {
    if (s.empty() || s.size() % 2 != 0)
      return make_error(ErrorCode::kMalformed, what + ": '" + key + "' is not hex");
    for (char c : s)
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
        return make_error(ErrorCode::kMalformed, what + ": '" + key + "' is not hex");
  }
  return s;
}

Result<std::optional<std::string>> optional_string(const std::string& what, const Json& j,
                                                   const char* key, bool hex = false) {
  if (!j.contains(key)) return std::optional<std::string>();
  FOLIO_ASSIGN_OR_RETURN(std::string s, string_field(what, j, key, hex));
  return std::optional<std::string>(std::move(s));
}

Result<uint64_t> unsigned_field(const std::string& what, const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned())
    return make_error(ErrorCode::kMalformed,
                      what + ": '" + key + "' missing or not a non-negative integer");
  return it->get<uint64_t>();
}

Result<FlowState> parse_flow_state(const std::string& what, const std::string& s) {
  if (s == "running") return FlowState::kRunning;
  if (s == "completed") return FlowState::kCompleted;
  if (s == "hospitalised") return FlowState::kHospitalised;
  if (s == "killed") return FlowState::kKilled;
  return make_error(ErrorCode::kMalformed,
                    what + ": unknown flow status '" + s.substr(0, 64) + "'");
}

bool transient(const Error& e) { return e.code == ErrorCode::kIo || e.code == ErrorCode::kTimeout; }

}  // namespace

std::string_view to_string(FlowState state) {
  switch (state) {
    case FlowState::kRunning:
      return "running";
    case FlowState::kCompleted:
      return "completed";
    case FlowState::kHospitalised:
      return "hospitalised";
    case FlowState::kKilled:
      return "killed";
  }
  return "unknown";
}

RpcClient::RpcClient(RpcEndpoint endpoint, RpcClientOptions options)
    : endpoint_(std::move(endpoint)), options_(options) {}

namespace {

// One request on a fresh connection, the response body bounded by kRpcResponseBytesMax.
template <class Response>
Result<Response> send(const RpcEndpoint& endpoint, const RpcClientOptions& options,
                      const std::string& method, const std::string& path, const std::string& body,
                      std::chrono::milliseconds extra_read) {
  httplib::Client client(endpoint.host, endpoint.port);
  client.set_keep_alive(false);
  client.set_connection_timeout(options.connect_timeout);
  client.set_read_timeout(options.read_timeout + extra_read);
  client.set_write_timeout(options.write_timeout);
  if (!endpoint.user.empty()) client.set_basic_auth(endpoint.user, endpoint.password);
  httplib::Request request;
  request.method = method;
  request.path = path;
  if (method == "POST") {
    request.body = body;
    request.set_header("Content-Type", "application/json");
  }
  std::string received;
  bool too_long = false;
  request.content_receiver = [&](const char* data, size_t length, uint64_t, uint64_t) {
    if (received.size() + length > kRpcResponseBytesMax) {
      too_long = true;
      return false;
    }
    received.append(data, length);
    return true;
  };
  httplib::Result result = client.send(request);
  std::string what = method + " " + endpoint.address() + path;
  if (too_long) return make_error(ErrorCode::kLimitExceeded, what + ": response too long");
  if (!result) return make_error(ErrorCode::kIo, what + ": " + httplib::to_string(result.error()));
  Response r;
  r.status = result->status;
  r.body = std::move(received);
  return r;
}

}  // namespace

Result<RpcClient::Response> RpcClient::get(const std::string& path,
                                           std::chrono::milliseconds extra_read) const {
  return send<Response>(endpoint_, options_, "GET", path, "", extra_read);
}

Result<RpcClient::Response> RpcClient::post(const std::string& path,
                                            const std::string& body) const {
  return send<Response>(endpoint_, options_, "POST", path, body, std::chrono::milliseconds(0));
}

Result<bool> RpcClient::health() const {
  const std::string what = "health";
  FOLIO_ASSIGN_OR_RETURN(Response r, get("/api/v1/health", std::chrono::milliseconds(0)));
  if (r.status != 200 && r.status != 503) return status_error(what, r.status, r.body);
  FOLIO_ASSIGN_OR_RETURN(Json j, parse_object(what, r.body));
  auto it = j.find("ready");
  if (it == j.end() || !it->is_boolean())
    return make_error(ErrorCode::kMalformed, what + ": 'ready' missing or not a boolean");
  bool ready = it->get<bool>();
  if (ready != (r.status == 200))
    return make_error(ErrorCode::kMalformed, what + ": 'ready' disagrees with the HTTP status");
  return ready;
}

Result<RpcNodeInfo> RpcClient::node_info() const {
  const std::string what = "node info";
  FOLIO_ASSIGN_OR_RETURN(Response r, get("/api/v1/node", std::chrono::milliseconds(0)));
  if (r.status != 200) return status_error(what, r.status, r.body);
  FOLIO_ASSIGN_OR_RETURN(Json j, parse_object(what, r.body));
  RpcNodeInfo info;
  FOLIO_ASSIGN_OR_RETURN(info.name, string_field(what, j, "name"));
  FOLIO_ASSIGN_OR_RETURN(info.identity_key, string_field(what, j, "identity_key", true));
  FOLIO_ASSIGN_OR_RETURN(info.notary, string_field(what, j, "notary"));
  FOLIO_ASSIGN_OR_RETURN(info.peers, unsigned_field(what, j, "peers"));
  return info;
}

Result<std::string> RpcClient::start_flow(const std::string& path, const std::string& body) const {
  const std::string what = "POST " + path;
  FOLIO_ASSIGN_OR_RETURN(Response r, post(path, body));
  if (r.status != 202) return status_error(what, r.status, r.body);
  FOLIO_ASSIGN_OR_RETURN(Json j, parse_object(what, r.body));
  return string_field(what, j, "flow_id", true);
}

Result<std::string> RpcClient::cash_issue(uint64_t amount, const std::string& currency) const {
  Json body = {{"amount", amount}, {"currency", currency}};
  return start_flow("/api/v1/flows/cash-issue", body.dump());
}

Result<std::string> RpcClient::cash_pay(const std::string& to, uint64_t amount,
                                        const std::string& currency) const {
  Json body = {{"to", to}, {"amount", amount}, {"currency", currency}};
  return start_flow("/api/v1/flows/cash-pay", body.dump());
}

Result<std::string> RpcClient::double_spend(const std::string& to_a, const std::string& to_b,
                                            uint64_t amount, const std::string& currency) const {
  Json body = {{"to_a", to_a}, {"to_b", to_b}, {"amount", amount}, {"currency", currency}};
  return start_flow("/api/v1/flows/double-spend", body.dump());
}

Result<FlowStatus> RpcClient::flow_status(const std::string& flow_id,
                                          std::chrono::milliseconds wait) const {
  FOLIO_ASSERT(wait.count() >= 0 && wait <= kRpcWaitMax);
  const std::string what = "flow " + flow_id.substr(0, 64);
  for (char c : flow_id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return make_error(ErrorCode::kInvalidArgument, what + ": a flow id is lower-case hex");
  std::string path = "/api/v1/flows/" + flow_id;
  if (wait.count() > 0) path += "?wait_ms=" + std::to_string(wait.count());
  FOLIO_ASSIGN_OR_RETURN(Response r, get(path, wait));
  if (r.status != 200) return status_error(what, r.status, r.body);
  FOLIO_ASSIGN_OR_RETURN(Json j, parse_object(what, r.body));
  FlowStatus s;
  FOLIO_ASSIGN_OR_RETURN(s.flow_id, string_field(what, j, "flow_id", true));
  if (s.flow_id != flow_id)
    return make_error(ErrorCode::kMalformed, what + ": the response is about flow " + s.flow_id);
  FOLIO_ASSIGN_OR_RETURN(s.name, string_field(what, j, "name"));
  FOLIO_ASSIGN_OR_RETURN(std::string state, string_field(what, j, "status"));
  FOLIO_ASSIGN_OR_RETURN(s.state, parse_flow_state(what, state));
  FOLIO_ASSIGN_OR_RETURN(s.tx_id, optional_string(what, j, "tx_id", true));
  FOLIO_ASSIGN_OR_RETURN(s.error, optional_string(what, j, "error"));
  FOLIO_ASSIGN_OR_RETURN(s.error_kind, optional_string(what, j, "error_kind"));
  FOLIO_ASSIGN_OR_RETURN(s.conflicting_tx, optional_string(what, j, "conflicting_tx", true));
  FOLIO_ASSIGN_OR_RETURN(s.committed_tx, optional_string(what, j, "committed_tx", true));
  FOLIO_ASSIGN_OR_RETURN(s.refused_tx, optional_string(what, j, "refused_tx", true));
  if (s.error_kind && *s.error_kind != "conflict" && *s.error_kind != "other")
    return make_error(ErrorCode::kMalformed, what + ": unknown error_kind");
  return s;
}

Result<FlowStatus> RpcClient::wait_flow(const std::string& flow_id,
                                        std::chrono::milliseconds timeout,
                                        const std::function<bool()>& cancelled) const {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  std::optional<Error> last;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    if (cancelled && cancelled())
      return make_error(ErrorCode::kTimeout, "flow " + flow_id + ": cancelled");
    auto wait = std::min(left, std::chrono::milliseconds(5'000));
    Result<FlowStatus> s = flow_status(flow_id, wait);
    if (s.ok()) {
      if (s->finished()) return s;
      continue;
    }
    if (!transient(s.error())) return s.error();
    // The node is down or not ready (restarting): try again shortly.
    last = s.error();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return make_error(ErrorCode::kTimeout,
                    "flow " + flow_id + " still running after " + std::to_string(timeout.count()) +
                        " ms" + (last ? " (last error: " + last->message() + ")" : std::string()));
}

Result<CashBalances> RpcClient::vault_cash() const {
  const std::string what = "vault cash";
  FOLIO_ASSIGN_OR_RETURN(Response r, get("/api/v1/vault/cash", std::chrono::milliseconds(0)));
  if (r.status != 200) return status_error(what, r.status, r.body);
  FOLIO_ASSIGN_OR_RETURN(Json j, parse_object(what, r.body));
  auto it = j.find("balances");
  if (it == j.end() || !it->is_object())
    return make_error(ErrorCode::kMalformed, what + ": 'balances' missing or not an object");
  if (it->size() > kRpcCurrenciesMax)
    return make_error(ErrorCode::kLimitExceeded, what + ": too many currencies");
  CashBalances b;
  for (auto& [currency, amount] : it->items()) {
    if (currency.empty() || currency.size() > 16 || !amount.is_number_unsigned())
      return make_error(ErrorCode::kMalformed, what + ": a balance is not currency: amount");
    b.balances[currency] = amount.get<uint64_t>();
  }
  FOLIO_ASSIGN_OR_RETURN(b.unconsumed_states, unsigned_field(what, j, "unconsumed_states"));
  return b;
}

Result<std::string> read_rpc_password(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, path + ": cannot open");
  std::string text;
  char buffer[4096];
  in.read(buffer, sizeof(buffer));
  text.assign(buffer, static_cast<size_t>(in.gcount()));
  if (!in.eof()) return make_error(ErrorCode::kLimitExceeded, path + ": too long for a password");
  size_t end = text.find_first_of("\r\n");
  if (end != std::string::npos) text.resize(end);
  if (text.empty()) return make_error(ErrorCode::kMalformed, path + ": empty password");
  return text;
}

}  // namespace folio::node
