// RpcClient against a scripted cpp-httplib server on 127.0.0.1: what it sends (Basic credentials,
// JSON bodies, wait_ms), how it maps HTTP statuses to errors, and that it refuses responses that
// are not the documented JSON (docs/rpc.md) instead of trusting them.
#include "node/rpc_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace folio::node {
namespace {

using Json = nlohmann::json;

// A server whose every answer the test sets: status and body per path, and a record of the last
// request.
class ScriptedServer {
 public:
  ScriptedServer() {
    auto handler = [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard<std::mutex> lock(mu_);
      last_method_ = request.method;
      last_path_ = request.path;
      last_body_ = request.body;
      last_authorization_ = request.get_header_value("Authorization");
      last_wait_ms_ = request.has_param("wait_ms") ? request.get_param_value("wait_ms") : "";
      ++requests_;
      auto it = script_.find(request.path);
      if (it == script_.end()) {
        response.status = 404;
        response.set_content(R"({"error": "no such path"})", "application/json");
        return;
      }
      auto& answers = it->second;
      auto [status, body] = answers.front();
      if (answers.size() > 1) answers.erase(answers.begin());
      response.status = status;
      response.set_content(body, "application/json");
    };
    server_.Get(R"(/.*)", handler);
    server_.Post(R"(/.*)", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() does nothing to a server that is not running yet, so wait until it is.
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~ScriptedServer() {
    server_.stop();
    thread_.join();
  }

  // Answers for `path`, in order; the last one repeats.
  void script(const std::string& path, std::vector<std::pair<int, std::string>> answers) {
    std::lock_guard<std::mutex> lock(mu_);
    script_[path] = std::move(answers);
  }
  RpcClient client() const { return RpcClient(RpcEndpoint{"127.0.0.1", port_, "demo", "secret"}); }
  std::string last(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    if (what == "method") return last_method_;
    if (what == "path") return last_path_;
    if (what == "body") return last_body_;
    if (what == "authorization") return last_authorization_;
    return last_wait_ms_;
  }
  int requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::map<std::string, std::vector<std::pair<int, std::string>>> script_;
  std::string last_method_, last_path_, last_body_, last_authorization_, last_wait_ms_;
  int requests_ = 0;
};

const std::string kFlow = "00ff10ab";

TEST(RpcClient, StartsAPaymentWithBasicCredentialsAndAJsonBody) {
  ScriptedServer server;
  server.script("/api/v1/flows/cash-pay", {{202, R"({"flow_id": "00ff10ab"})"}});
  Result<std::string> id = server.client().cash_pay("O=Bob, L=Paris, C=FR", 10, "GBP");
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(*id, kFlow);
  EXPECT_EQ(server.last("method"), "POST");
  // "demo:secret" in base64.
  EXPECT_EQ(server.last("authorization"), "Basic ZGVtbzpzZWNyZXQ=");
  Json body = Json::parse(server.last("body"));
  EXPECT_EQ(body, (Json{{"to", "O=Bob, L=Paris, C=FR"}, {"amount", 10}, {"currency", "GBP"}}));
}

TEST(RpcClient, MapsHttpStatusesToErrorCodes) {
  ScriptedServer server;
  RpcClient client = server.client();
  server.script("/api/v1/flows/cash-issue", {{401, R"({"error": "unauthorised"})"}});
  auto r = client.cash_issue(5, "GBP");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kVerification);
  server.script("/api/v1/flows/cash-issue", {{403, R"({"error": "forbidden"})"}});
  r = client.cash_issue(5, "GBP");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kVerification);
  server.script("/api/v1/flows/cash-pay", {{409, R"({"error": "insufficient funds"})"}});
  r = client.cash_pay("O=Bob, L=Paris, C=FR", 5, "GBP");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_NE(r.error().context.find("insufficient funds"), std::string::npos);
  server.script("/api/v1/flows/double-spend", {{400, R"({"error": "unknown party"})"}});
  r = client.double_spend("O=X, L=Y, C=GB", "O=Z, L=Y, C=GB", 5, "GBP");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  auto s = client.flow_status("abcd");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  // A 200 where the contract says 202 is not a started flow.
  server.script("/api/v1/flows/cash-issue", {{200, R"({"flow_id": "00ff10ab"})"}});
  r = client.cash_issue(5, "GBP");
  ASSERT_FALSE(r.ok());
}

TEST(RpcClient, HealthReadsReadyAndNotReady) {
  ScriptedServer server;
  RpcClient client = server.client();
  server.script("/api/v1/health", {{503, R"({"ready": false})"}, {200, R"({"ready": true})"}});
  auto h = client.health();
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(*h);
  h = client.health();
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(*h);
  // A status and a body that disagree, or no boolean, are malformed.
  server.script("/api/v1/health", {{200, R"({"ready": false})"}});
  h = client.health();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, ErrorCode::kMalformed);
  server.script("/api/v1/health", {{200, R"({"ready": "yes"})"}});
  EXPECT_FALSE(client.health().ok());
}

TEST(RpcClient, FlowStatusSendsWaitAndParsesEveryField) {
  ScriptedServer server;
  server.script("/api/v1/flows/" + kFlow,
                {{200, R"({"flow_id": "00ff10ab", "name": "CashDoubleSpend", "status": "completed",
                           "committed_tx": "aa", "refused_tx": "bb"})"}});
  auto s = server.client().flow_status(kFlow, std::chrono::milliseconds(1500));
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(server.last("wait"), "1500");
  EXPECT_EQ(s->state, FlowState::kCompleted);
  EXPECT_EQ(s->name, "CashDoubleSpend");
  EXPECT_EQ(s->committed_tx.value_or(""), "aa");
  EXPECT_EQ(s->refused_tx.value_or(""), "bb");
  EXPECT_FALSE(s->tx_id.has_value());
  EXPECT_FALSE(s->conflict());

  server.script("/api/v1/flows/" + kFlow,
                {{200, R"({"flow_id": "00ff10ab", "name": "CashPayment", "status": "hospitalised",
                           "error": "refused", "error_kind": "conflict", "conflicting_tx": "cc"})"}});
  s = server.client().flow_status(kFlow);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->state, FlowState::kHospitalised);
  EXPECT_TRUE(s->conflict());
  EXPECT_EQ(s->conflicting_tx.value_or(""), "cc");
  EXPECT_EQ(server.last("wait"), "");
}

TEST(RpcClient, RefusesResponsesThatAreNotTheContract) {
  ScriptedServer server;
  RpcClient client = server.client();
  const std::string path = "/api/v1/flows/" + kFlow;
  const std::vector<std::string> bad = {
      "not json",
      "[1, 2]",
      R"({"flow_id": "00ff10ab", "name": "CashPayment"})",                        // no status
      R"({"flow_id": "00ff10ab", "name": "CashPayment", "status": "sleeping"})",  // unknown
      R"({"flow_id": "11111111", "name": "CashPayment", "status": "running"})",   // another flow
      R"({"flow_id": "00ff10ab", "name": "CashPayment", "status": "completed", "tx_id": "XYZ"})",
      R"({"flow_id": "00ff10ab", "name": "CashPayment", "status": "completed", "tx_id": 7})",
      R"({"flow_id": "00ff10ab", "name": "CashPayment", "status": "killed", "error_kind": "x"})",
  };
  for (const std::string& body : bad) {
    server.script(path, {{200, body}});
    auto s = client.flow_status(kFlow);
    EXPECT_FALSE(s.ok()) << body;
  }
  server.script("/api/v1/vault/cash",
                {{200, R"({"balances": {"GBP": -5}, "unconsumed_states": 1})"}});
  EXPECT_FALSE(client.vault_cash().ok());
  server.script("/api/v1/vault/cash", {{200, R"({"balances": {"GBP": 5}})"}});
  EXPECT_FALSE(client.vault_cash().ok());
  server.script("/api/v1/flows/cash-pay", {{202, R"({"flow_id": ""})"}});
  EXPECT_FALSE(client.cash_pay("O=Bob, L=Paris, C=FR", 1, "GBP").ok());
  server.script("/api/v1/node", {{200, R"({"name": "O=A, L=B, C=GB", "identity_key": "0a",
                                           "notary": "O=N, L=B, C=GB", "peers": -1})"}});
  EXPECT_FALSE(client.node_info().ok());
  // A flow id that is not hex is refused before anything is sent.
  int before = server.requests();
  EXPECT_FALSE(client.flow_status("../node").ok());
  EXPECT_EQ(server.requests(), before);
}

TEST(RpcClient, RefusesAnOversizedResponse) {
  ScriptedServer server;
  std::string huge = R"({"balances": {"GBP": 5}, "unconsumed_states": 1, "pad": ")" +
                     std::string(kRpcResponseBytesMax, 'x') + "\"}";
  server.script("/api/v1/vault/cash", {{200, huge}});
  auto b = server.client().vault_cash();
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kLimitExceeded);
}

TEST(RpcClient, ReadsVaultCashAndNodeInfo) {
  ScriptedServer server;
  RpcClient client = server.client();
  server.script("/api/v1/vault/cash",
                {{200, R"({"balances": {"GBP": 990, "USD": 3}, "unconsumed_states": 4})"}});
  auto b = client.vault_cash();
  ASSERT_TRUE(b.ok()) << b.error().message();
  EXPECT_EQ(b->of("GBP"), 990u);
  EXPECT_EQ(b->of("USD"), 3u);
  EXPECT_EQ(b->of("EUR"), 0u);
  EXPECT_EQ(b->unconsumed_states, 4u);
  server.script("/api/v1/node",
                {{200, R"({"name": "O=Alice, L=London, C=GB", "identity_key": "0a1b",
                                           "notary": "O=Notary, L=London, C=GB", "peers": 3})"}});
  auto info = client.node_info();
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->name, "O=Alice, L=London, C=GB");
  EXPECT_EQ(info->peers, 3u);
}

TEST(RpcClient, WaitFlowPollsUntilTheFlowIsNoLongerRunning) {
  ScriptedServer server;
  const std::string running =
      R"({"flow_id": "00ff10ab", "name": "CashPayment", "status": "running"})";
  server.script("/api/v1/flows/" + kFlow,
                {{200, running},
                 {503, R"({"error": "draining"})"},
                 {200, running},
                 {200, R"({"flow_id": "00ff10ab", "name": "CashPayment", "status": "completed",
                           "tx_id": "beef"})"}});
  auto s = server.client().wait_flow(kFlow, std::chrono::milliseconds(60'000));
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->state, FlowState::kCompleted);
  EXPECT_EQ(s->tx_id.value_or(""), "beef");
  EXPECT_EQ(server.requests(), 4);
  // A wait that is cancelled ends without a status.
  server.script("/api/v1/flows/" + kFlow, {{200, running}});
  auto c = server.client().wait_flow(kFlow, std::chrono::milliseconds(60'000), [] { return true; });
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, ErrorCode::kTimeout);
}

TEST(RpcClient, NothingListeningIsAnIoError) {
  int port = 0;
  {
    ScriptedServer server;  // a port that was free a moment ago and is closed now
    port = server.client().endpoint().port;
  }
  RpcClientOptions o;
  o.connect_timeout = std::chrono::milliseconds(500);
  RpcClient client(RpcEndpoint{"127.0.0.1", port, "demo", "x"}, o);
  auto h = client.health();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace folio::node
