// RpcServer: the node process's HTTP RPC (see the header; the contract is docs/rpc.md).
#include "node/rpc_server.h"

#include <sodium.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "identity/http_service.h"

namespace folio::node {

using nlohmann::json;

RpcReply rpc_error(int status, const std::string& message) {
  return RpcReply{status, json{{"error", message}}.dump()};
}

std::optional<std::string> decode_base64(std::string_view text, size_t bytes_max) {
  if (text.size() % 4 != 0 || text.size() / 4 * 3 > bytes_max + 2) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (c == '=') {
        if (!last || k < 2) return std::nullopt;
        ++pad;
        v[k] = 0;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      v[k] = value(c);
      if (v[k] < 0) return std::nullopt;
    }
    uint32_t triple = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) |
                      uint32_t(v[3]);
    out.push_back(static_cast<char>(triple >> 16));
    if (pad < 2) out.push_back(static_cast<char>((triple >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(triple & 0xff));
  }
  if (out.size() > bytes_max) return std::nullopt;
  return out;
}

struct RpcServer::Impl {
  identity::HttpService http;
};

RpcServer::RpcServer(std::vector<notary::RpcUser> users, RpcBackend& backend)
    : users_(std::move(users)), backend_(backend), impl_(std::make_unique<Impl>()) {}

RpcServer::~RpcServer() { stop(); }

int RpcServer::authorise(const std::string& authorization, std::string_view permission) {
  constexpr std::string_view kBasic = "Basic ";
  if (authorization.size() <= kBasic.size() || authorization.compare(0, kBasic.size(), kBasic) != 0)
    return 401;
  auto decoded = decode_base64(std::string_view(authorization).substr(kBasic.size()), 1024);
  if (!decoded) return 401;
  size_t colon = decoded->find(':');
  if (colon == std::string::npos) return 401;
  std::string name = decoded->substr(0, colon);
  std::string password = decoded->substr(colon + 1);
  const notary::RpcUser* user = nullptr;
  for (const notary::RpcUser& u : users_)
    if (u.name == name) user = &u;
  if (user == nullptr) {
    std::cerr << "rpc: refused credentials for unknown user '" << name << "'\n";
    return 401;
  }
  crypto::Hash256 digest = crypto::sha256(as_bytes(password));
  bool known = false;
  {
    std::lock_guard lock(mutex_);
    auto it = verified_.find(name);
    known = it != verified_.end() &&
            sodium_memcmp(it->second.bytes.data(), digest.bytes.data(), digest.bytes.size()) == 0;
  }
  if (!known) {
    // One verification at a time (each takes tens of MB and milliseconds): concurrent first
    // requests of a user wait, and then find the password remembered.
    std::lock_guard verifying(verify_mutex_);
    {
      std::lock_guard lock(mutex_);
      auto it = verified_.find(name);
      known = it != verified_.end() && sodium_memcmp(it->second.bytes.data(), digest.bytes.data(),
                                                     digest.bytes.size()) == 0;
    }
    if (!known) {
      if (crypto_pwhash_str_verify(user->password_hash.c_str(), password.data(),
                                   password.size()) != 0) {
        std::cerr << "rpc: refused a wrong password for user '" << name << "'\n";
        return 401;
      }
      std::lock_guard lock(mutex_);
      verified_[name] = digest;
    }
  }
  for (const std::string& p : user->permissions)
    if (p == kPermissionAll || p == permission) return 200;
  return 403;
}

namespace {

void reply(httplib::Response& response, const RpcReply& r) {
  response.status = r.status;
  response.set_content(r.body, "application/json");
}

// A non-negative integer amount within 2^53 (exact in every JSON reader).
std::optional<uint64_t> amount_of(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_number_unsigned()) return std::nullopt;
  uint64_t v = it->get<uint64_t>();
  if (v == 0 || v > (uint64_t{1} << 53)) return std::nullopt;
  return v;
}

std::optional<std::string> string_of(const json& body, const char* key, size_t max) {
  auto it = body.find(key);
  if (it == body.end() || !it->is_string()) return std::nullopt;
  std::string v = it->get<std::string>();
  if (v.empty() || v.size() > max) return std::nullopt;
  return v;
}

bool only_keys(const json& body, std::initializer_list<const char*> keys) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    bool known = false;
    for (const char* k : keys) known = known || it.key() == k;
    if (!known) return false;
  }
  return true;
}

}  // namespace

Result<int> RpcServer::start(const std::string& host, int port) {
  httplib::Server& server = impl_->http.server();
  // Long polls hold a worker each: more workers than httplib's default.
  server.new_task_queue = [] { return new httplib::ThreadPool(32); };
  auto guard = [this](const httplib::Request& request, httplib::Response& response,
                      std::string_view permission) {
    int status = authorise(request.get_header_value("Authorization"), permission);
    if (status == 200) return true;
    if (status == 401) response.set_header("WWW-Authenticate", "Basic realm=\"folio\"");
    reply(response, rpc_error(status, status == 401 ? "authentication required"
                                                    : "permission " + std::string(permission) +
                                                          " required"));
    return false;
  };
  auto parse_body = [](const httplib::Request& request, json& body) {
    body = json::parse(request.body, nullptr, false);
    return !body.is_discarded() && body.is_object();
  };

  server.Get("/api/v1/health", [this](const httplib::Request&, httplib::Response& response) {
    bool ready = backend_.ready();
    reply(response, RpcReply{ready ? 200 : 503, json{{"ready", ready}}.dump()});
  });
  server.Get("/api/v1/node", [this, guard](const httplib::Request& request,
                                           httplib::Response& response) {
    if (!guard(request, response, kPermissionNodeInfo)) return;
    reply(response, backend_.node_info());
  });
  server.Post("/api/v1/flows/cash-issue", [this, guard, parse_body](const httplib::Request& request,
                                                                    httplib::Response& response) {
    if (!guard(request, response, kPermissionCashIssue)) return;
    json body;
    if (!parse_body(request, body) || !only_keys(body, {"amount", "currency"}))
      return reply(response, rpc_error(400, "body: {\"amount\": N, \"currency\": \"GBP\"}"));
    auto amount = amount_of(body, "amount");
    auto currency = string_of(body, "currency", 16);
    if (!amount || !currency) return reply(response, rpc_error(400, "bad amount or currency"));
    reply(response, backend_.cash_issue(*amount, *currency));
  });
  server.Post("/api/v1/flows/cash-pay", [this, guard, parse_body](const httplib::Request& request,
                                                                  httplib::Response& response) {
    if (!guard(request, response, kPermissionCashPayment)) return;
    json body;
    if (!parse_body(request, body) || !only_keys(body, {"to", "amount", "currency"}))
      return reply(response, rpc_error(400, "body: {\"to\": X.500, \"amount\": N, \"currency\": C}"));
    auto to = string_of(body, "to", 1024);
    auto amount = amount_of(body, "amount");
    auto currency = string_of(body, "currency", 16);
    if (!to || !amount || !currency)
      return reply(response, rpc_error(400, "bad recipient, amount or currency"));
    reply(response, backend_.cash_pay(*to, *amount, *currency));
  });
  server.Post("/api/v1/flows/double-spend", [this, guard, parse_body](
                                                const httplib::Request& request,
                                                httplib::Response& response) {
    if (!guard(request, response, kPermissionDoubleSpend)) return;
    json body;
    if (!parse_body(request, body) || !only_keys(body, {"to_a", "to_b", "amount", "currency"}))
      return reply(response, rpc_error(400, "body: {\"to_a\", \"to_b\", \"amount\", \"currency\"}"));
    auto to_a = string_of(body, "to_a", 1024);
    auto to_b = string_of(body, "to_b", 1024);
    auto amount = amount_of(body, "amount");
    auto currency = string_of(body, "currency", 16);
    if (!to_a || !to_b || !amount || !currency)
      return reply(response, rpc_error(400, "bad recipients, amount or currency"));
    reply(response, backend_.double_spend(*to_a, *to_b, *amount, *currency));
  });
  server.Get(R"(/api/v1/flows/([0-9a-fA-F]+))", [this, guard](const httplib::Request& request,
                                                             httplib::Response& response) {
    if (!guard(request, response, kPermissionFlowStatus)) return;
    auto id = crypto::Hash256::from_hex(request.matches[1].str());
    if (!id.ok()) return reply(response, rpc_error(404, "no such flow"));
    int64_t wait_ms = 0;
    if (request.has_param("wait_ms")) {
      const std::string text = request.get_param_value("wait_ms");
      if (text.empty() || text.size() > 6 ||
          text.find_first_not_of("0123456789") != std::string::npos)
        return reply(response, rpc_error(400, "wait_ms: a number of milliseconds"));
      wait_ms = std::min<int64_t>(std::stoll(text), kRpcWaitMsMax);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    for (;;) {
      RpcFlowStatus status = backend_.flow_status(*id);
      if (!status.found) return reply(response, rpc_error(404, "no such flow"));
      if (!status.running || std::chrono::steady_clock::now() >= deadline)
        return reply(response, RpcReply{200, status.json});
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  server.Get("/api/v1/vault/cash", [this, guard](const httplib::Request& request,
                                                 httplib::Response& response) {
    if (!guard(request, response, kPermissionVaultQuery)) return;
    reply(response, backend_.vault_cash());
  });
  return impl_->http.start(host, port, kRpcBodyBytesMax);
}

void RpcServer::stop() {
  if (impl_) impl_->http.stop();
}

}  // namespace folio::node
