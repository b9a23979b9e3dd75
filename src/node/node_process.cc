// NodeProcess: a node as an operating-system process (see the header).
#include "node/node_process.h"

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "contracts/cash.h"
#include "identity/certificates.h"
#include "net/amqp_names.h"
#include "node/double_spend_flow.h"
#include "node/flows/cash_flows.h"
#include "notary/replica_wire.h"

namespace folio::node {

namespace fs = std::filesystem;
using nlohmann::json;

// ---- The Node's transport: the AMQP transport with handlers run on the loop ---------------------

class NodeProcess::LoopTransport final : public net::Transport {
 public:
  explicit LoopTransport(net::AmqpTransport& amqp) : amqp_(amqp) {}
  const std::string& self() const override { return amqp_.self(); }
  void set_handler(Handler handler) override { handler_ = std::move(handler); }
  void set_outcome_handler(Outcome outcome) override { outcome_ = std::move(outcome); }
  Status send(net::Envelope envelope) override { return amqp_.send(std::move(envelope)); }

  // Loop thread only.
  Handler handler_;
  Outcome outcome_;

 private:
  net::AmqpTransport& amqp_;
};

namespace {

std::string key_hex(const crypto::PublicKey& key) { return to_hex(codec::encode_to_bytes(key)); }

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string display_name(const std::string& flow_name) {
  constexpr std::string_view kPrefix = "folio.";
  if (flow_name.compare(0, kPrefix.size(), kPrefix) == 0) return flow_name.substr(kPrefix.size());
  return flow_name;
}

// Splits "host:port" (checked by the config loader).
std::pair<std::string, int> split_address(const std::string& address) {
  size_t colon = address.rfind(':');
  return {address.substr(0, colon), std::stoi(address.substr(colon + 1))};
}

// The shared state of one call() waiting for the loop.
template <class R>
struct Pending {
  std::optional<R> value;
};

}  // namespace

// ---- Opening ------------------------------------------------------------------------------------

Result<std::unique_ptr<NodeProcess>> NodeProcess::open(const notary::ProcessConfig& config,
                                                       const NodeProcessOptions& options) {
  if (config.shard.has_value())
    return make_error(ErrorCode::kInvalidArgument,
                      config.name + ": a replica configuration (use `folio replica run`)");
  std::unique_ptr<NodeProcess> p(new NodeProcess());
  p->config_ = config;
  p->options_ = options;
  FOLIO_ASSIGN_OR_RETURN(p->parameters_, notary::load_network_parameters(
                                             config.network_parameters, config.certificates_dir));
  FOLIO_ASSIGN_OR_RETURN(p->notary_entry_, notary::notary_entry(p->parameters_, config.notary));
  const identity::NotaryInfo* notary_info = p->parameters_.find_notary(config.notary);
  bool replicated = p->notary_entry_.kind == notary::NotaryKind::kBft ||
                    p->notary_entry_.kind == notary::NotaryKind::kSharded;

  FOLIO_ASSIGN_OR_RETURN(identity::NodeCertificates certs,
                         identity::read_node_certificates(config.certificates_dir));
  FOLIO_ASSIGN_OR_RETURN(crypto::PrivateKey key, certs.identity_key.to_private_key());
  p->identity_key_ = key.public_key();
  bool hosts_notary = !replicated && config.name == p->notary_entry_.identity.name;
  if (hosts_notary && !(p->identity_key_ == p->notary_entry_.identity.owning_key))
    return make_error(ErrorCode::kVerification,
                      config.name + ": identity key is not the notary key of the parameters");

  fs::path node_dir = config.node_directory.empty()
                          ? fs::path(config.database).parent_path() / "node"
                          : fs::path(config.node_directory);

  // The network map.
  NetworkMapDirectoryConfig dc;
  if (!config.network_map.empty()) {
    auto [host, port] = split_address(config.network_map);
    dc.service_host = host;
    dc.service_port = port;
  }
  dc.cache_dir = (node_dir / "network-map-cache").string();
  dc.root = certs.root;
  dc.refresh_interval = options.map_refresh;
  std::vector<std::string> services;
  if (hosts_notary) services.push_back("notary");
  FOLIO_ASSIGN_OR_RETURN(
      dc.own, identity::make_signed_node_info(
                  certs, {config.listen_host + ":" + std::to_string(config.listen_port)}, services,
                  static_cast<uint64_t>(wall_ms())));
  if (replicated && notary_info != nullptr) {
    std::map<std::string, const notary::PeerEntry*> peers;
    for (const notary::PeerEntry& e : config.peers) {
      FOLIO_ASSIGN_OR_RETURN(std::string canonical, net::canonical_x500(e.name));
      peers[canonical] = &e;
    }
    for (const auto& shard : notary_info->replica_names)
      for (const std::string& name : shard) {
        FOLIO_ASSIGN_OR_RETURN(std::string canonical, net::canonical_x500(name));
        auto it = peers.find(canonical);
        if (it == peers.end())
          return make_error(ErrorCode::kNotFound, "replica " + name + " has no address in " +
                                                      "the configuration's peers");
        dc.replicas[canonical] = net::PeerInfo{{it->second->address}, it->second->key};
      }
  }
  p->directory_ = std::make_unique<NetworkMapDirectory>(std::move(dc));

  // The transport.
  std::error_code ec;
  fs::create_directories(fs::path(config.transport_database).parent_path(), ec);
  storage::SqliteOptions tdb;
  tdb.path = config.transport_database;
  FOLIO_ASSIGN_OR_RETURN(p->transport_db_, storage::open_sqlite(tdb));
  identity::NodeCertificateFiles files = identity::NodeCertificateFiles::in(config.certificates_dir);
  net::AmqpConfig ac;
  ac.self = config.name;
  ac.listen_host = config.listen_host;
  ac.listen_port = config.listen_port;
  ac.tls_certificate_path = files.tls_chain;
  ac.tls_private_key_path = files.tls_key;
  ac.trusted_root_path = files.root;
  ac.limits.max_message_bytes = 24u << 20;
  ac.retry_initial = std::chrono::milliseconds(50);
  ac.retry_max = std::chrono::milliseconds(1000);
  ac.tick = std::chrono::milliseconds(5);
  FOLIO_ASSIGN_OR_RETURN(p->amqp_,
                         net::AmqpTransport::create(ac, *p->directory_, *p->transport_db_, key));
  p->loop_transport_ = std::make_unique<LoopTransport>(*p->amqp_);
  NodeProcess* self = p.get();
  p->amqp_->set_handler([self](const net::Envelope& e) { return self->on_transport_message(e); });
  p->amqp_->set_outcome_handler([self](const net::MessageId& id, net::Disposition d) {
    self->post([self, id, d] {
      if (self->loop_transport_->outcome_) self->loop_transport_->outcome_(id, d);
    });
  });

  // The S-BAC client of a replicated notary, started by the flows' external operations.
  // An outcome wakes the loop (only): the loop then wakes the flow awaiting it (wake_flows).
  p->operations_.set_on_complete([self] {
    std::lock_guard lock(self->mutex_);
    self->outcomes_arrived_ = true;
    self->wake_.notify_all();
  });
  if (replicated) {
    notary::ShardedClientOptions so;
    p->sharded_client_ = std::make_unique<notary::ShardedNotaryClient>(
        *p->amqp_, p->notary_entry_, notary_info->replica_names, so);
    notary::ShardedNotaryClient* client = p->sharded_client_.get();
    std::string notary_name = p->notary_entry_.identity.name;
    FOLIO_TRY(p->operations_.add(
        std::string(flows::kShardedNotarisation),
        [client, notary_name](const flow::OperationId&, const Bytes& raw,
                              flow::ExternalOperations::Completion done) {
          auto request = codec::decode_from_bytes<flows::ShardedNotarisationRequest>(raw);
          if (!request.ok()) return done(request.error());
          if (request->notary != notary_name)
            return done(make_error(ErrorCode::kUnsupported,
                                   "this node runs no S-BAC client for notary " + request->notary));
          client->notarise_async(
              std::move(request->stx), std::move(request->proved),
              [done](const ledger::TxId&, Result<notary::NotarisationCertificate> outcome) {
                if (!outcome.ok()) return done(outcome.error());
                done(codec::encode_to_bytes(*outcome));
              });
        }));
  }
  p->engine_services_.add(p->operations_);

  // The node.
  NodeConfig& nc = p->node_config_;
  nc.name = config.name;
  nc.directory = node_dir;
  nc.identity_seed = key.seed();
  nc.notary = hosts_notary;
  nc.notaries = {p->notary_entry_};
  nc.engine.services = &p->engine_services_;
  nc.register_flows = [](flow::FlowRegistry& registry, flows::FlowServices* services) {
    return register_double_spend_flow(registry, services);
  };
  return p;
}

NodeProcess::~NodeProcess() {
  if (rpc_) rpc_->stop();
  if (amqp_) amqp_->stop();
  sharded_client_.reset();
  if (directory_) directory_->stop();
}

Status NodeProcess::start() {
  FOLIO_TRY(directory_->start());
  FOLIO_TRY(amqp_->start());
  if (config_.rpc && options_.serve_rpc) {
    rpc_ = std::make_unique<RpcServer>(config_.rpc->users, *this);
    FOLIO_ASSIGN_OR_RETURN(rpc_port_, rpc_->start(config_.rpc->host, config_.rpc->port));
  }
  return ok_status();
}

uint16_t NodeProcess::listen_port() const { return amqp_->listen_port(); }

// ---- The loop -----------------------------------------------------------------------------------

bool NodeProcess::post(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (loop_ended_) return false;
  tasks_.push_back(std::move(task));
  wake_.notify_all();
  return true;
}

template <class R>
std::optional<R> NodeProcess::call(std::function<R()> task) {
  auto pending = std::make_shared<Pending<R>>();
  bool posted = post([this, pending, task = std::move(task)] {
    R value = task();
    std::lock_guard lock(mutex_);
    pending->value = std::move(value);
    wake_.notify_all();
  });
  if (!posted) return std::nullopt;
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [&] { return pending->value.has_value() || loop_ended_; });
  return std::move(pending->value);
}

void NodeProcess::run_tasks() {
  std::deque<std::function<void()>> tasks;
  {
    std::lock_guard lock(mutex_);
    tasks.swap(tasks_);
  }
  for (auto& task : tasks) task();
}

net::Disposition NodeProcess::on_transport_message(const net::Envelope& envelope) {
  if (envelope.topic == notary::kTopicReplica) {
    if (sharded_client_) return sharded_client_->on_envelope(envelope);
    return net::Disposition::kRejected;
  }
  // Accepted only once the flow engine has processed it (durably) on the loop.
  std::optional<net::Disposition> d = call<net::Disposition>([this, &envelope] {
    if (!loop_transport_->handler_) return net::Disposition::kRejected;
    return loop_transport_->handler_(envelope);
  });
  return d.value_or(net::Disposition::kRejected);
}

void NodeProcess::wake_flows() {
  {
    std::lock_guard lock(mutex_);
    outcomes_arrived_ = false;
  }
  std::vector<flow::FlowId> woken = operations_.take_wakes();
  if (!woken.empty()) node_->engine().wake(woken);
}

void NodeProcess::register_parties() {
  uint64_t version = directory_->version();
  if (version == parties_version_) return;
  parties_version_ = version;
  for (const ledger::Party& party : directory_->parties()) {
    if (party.name == node_->name()) continue;
    auto registered = node_->identities().register_party(party);
    if (!registered.ok())
      std::cerr << "node: party " << party.name << " from the network map not registered: "
                << registered.error().message() << "\n";
  }
}

void NodeProcess::log_refusals() {
  net::AmqpStats stats = amqp_->stats();
  uint64_t refusals = stats.connections_refused + stats.incoming_rejected + stats.transport_errors;
  if (refusals == refusals_logged_) return;
  refusals_logged_ = refusals;
  std::cerr << "transport refused a peer or message: " << amqp_->last_refusal() << std::endl;
}

Status NodeProcess::run(const std::atomic<bool>& stop) {
  if (directory_->ready()) node_config_.parties = directory_->parties();
  auto started = Node::start(node_config_, *loop_transport_, clock_, notary_clock_);
  // On failure the transport's handler stays blocked on a loop that never runs, so nothing a peer
  // sent is answered (the peer retries): the caller must end the process (the CLI does, at once).
  if (!started.ok()) return started.error();
  node_ = std::move(started).value();
  ready_ = true;
  size_t running = 0;
  for (const flow::FlowInfo& info : node_->engine().flows())
    if (info.status == flow::FlowStatus::kRunning) ++running;
  std::cout << "node " << node_->name() << " started (identity "
            << key_hex(identity_key_).substr(0, 16) << "..., " << running << " flows resumed)"
            << std::endl;

  auto iterate = [this](std::chrono::milliseconds wait) {
    run_tasks();
    wake_flows();
    node_->tick();
    if (node_->notary() != nullptr) {
      auto flushed = node_->flush_notary();
      if (!flushed.ok()) std::cerr << "notary batch: " << flushed.error().message() << "\n";
    }
    register_parties();
    log_refusals();
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, wait, [this] { return !tasks_.empty() || outcomes_arrived_; });
  };
  const auto tick = std::chrono::milliseconds(options_.tick_ms);
  while (!stop.load()) iterate(tick);

  // Drain: no new flows or sessions; running flows may finish (or resume after a restart).
  draining_ = true;
  node_->drain();
  auto drain_deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  while (!node_->drained() && std::chrono::steady_clock::now() < drain_deadline) iterate(tick);
  std::cout << "node " << node_->name() << (node_->drained() ? " drained" : " drain timed out")
            << std::endl;

  // Stop the RPC server and the transport while the loop still serves their waiting calls.
  std::atomic<bool> stopped{false};
  std::thread stopper([this, &stopped] {
    if (rpc_) rpc_->stop();
    amqp_->stop();
    stopped = true;
    std::lock_guard lock(mutex_);
    wake_.notify_all();
  });
  while (!stopped.load()) iterate(tick);
  stopper.join();
  run_tasks();
  {
    std::lock_guard lock(mutex_);
    loop_ended_ = true;
    tasks_.clear();
    wake_.notify_all();
  }
  sharded_client_.reset();
  directory_->stop();
  node_.reset();
  return ok_status();
}

// ---- RPC ----------------------------------------------------------------------------------------

bool NodeProcess::ready() { return ready_.load() && !draining_.load() && directory_->ready(); }

RpcReply NodeProcess::node_info() {
  json j = {{"name", config_.name},
            {"identity_key", key_hex(identity_key_)},
            {"notary", notary_entry_.identity.name},
            {"peers", directory_->node_count()}};
  return RpcReply{200, j.dump()};
}

RpcReply NodeProcess::start_flow_reply(Result<flow::FlowHandle> handle) {
  if (!handle.ok()) {
    const Error& e = handle.error();
    int status = e.code == ErrorCode::kUnsupported ? 503
                 : (e.code == ErrorCode::kInvalidArgument || e.code == ErrorCode::kMalformed)
                     ? 400
                     : 500;
    return rpc_error(status, e.message());
  }
  return RpcReply{202, json{{"flow_id", handle->id.hex()}}.dump()};
}

RpcReply NodeProcess::cash_issue(uint64_t amount, const std::string& currency) {
  if (!ready()) return rpc_error(503, "not ready");
  auto reply = call<RpcReply>([this, amount, currency] {
    flows::CashIssue issue;
    issue.amount = amount;
    issue.currency = currency;
    issue.issuer_ref = Bytes{1};
    issue.notary = notary_entry_.identity.name;
    contracts::CashAmount check{amount, {{node_->identity(), issue.issuer_ref}, currency}};
    Status canonical = check.token.check_canonical();
    if (!canonical.ok()) return rpc_error(400, canonical.error().message());
    return start_flow_reply(node_->start_flow(issue));
  });
  return reply.value_or(rpc_error(503, "stopping"));
}

RpcReply NodeProcess::cash_pay(const std::string& to, uint64_t amount, const std::string& currency) {
  if (!ready()) return rpc_error(503, "not ready");
  auto reply = call<RpcReply>([this, to, amount, currency] {
    auto payee = node_->identities().party_by_name(to);
    if (!payee.ok()) return rpc_error(400, "unknown party " + to);
    auto balance = node_->cash_balance(currency);
    if (!balance.ok()) return rpc_error(500, balance.error().message());
    if (*balance < amount)
      return rpc_error(409, "insufficient funds: " + std::to_string(*balance) + " " + currency);
    flows::CashPayment pay;
    pay.amount = amount;
    pay.currency = currency;
    pay.recipient = payee->name;
    return start_flow_reply(node_->start_flow(pay));
  });
  return reply.value_or(rpc_error(503, "stopping"));
}

RpcReply NodeProcess::double_spend(const std::string& to_a, const std::string& to_b,
                                   uint64_t amount, const std::string& currency) {
  if (!ready()) return rpc_error(503, "not ready");
  auto reply = call<RpcReply>([this, to_a, to_b, amount, currency] {
    auto a = node_->identities().party_by_name(to_a);
    if (!a.ok()) return rpc_error(400, "unknown party " + to_a);
    auto b = node_->identities().party_by_name(to_b);
    if (!b.ok()) return rpc_error(400, "unknown party " + to_b);
    auto balance = node_->cash_balance(currency);
    if (!balance.ok()) return rpc_error(500, balance.error().message());
    if (*balance < amount)
      return rpc_error(409, "insufficient funds: " + std::to_string(*balance) + " " + currency);
    CashDoubleSpend flow;
    flow.to_a = a->name;
    flow.to_b = b->name;
    flow.amount = amount;
    flow.currency = currency;
    return start_flow_reply(node_->start_flow(flow));
  });
  return reply.value_or(rpc_error(503, "stopping"));
}

RpcFlowStatus NodeProcess::flow_status(const crypto::Hash256& id) {
  auto status = call<RpcFlowStatus>([this, id] {
    RpcFlowStatus out;
    std::optional<flow::FlowInfo> info = node_->engine().flow(id);
    if (!info) return out;
    out.found = true;
    out.running = info->status == flow::FlowStatus::kRunning;
    json j = {{"flow_id", id.hex()},
              {"name", display_name(info->name)},
              {"status", std::string(flow::to_string(info->status))}};
    if (info->status == flow::FlowStatus::kCompleted) {
      if (info->name == CashDoubleSpend::kName) {
        auto r = node_->result<DoubleSpendResult>(id);
        if (r && r->ok()) {
          j["committed_tx"] = (*r)->committed.value().hex();
          j["refused_tx"] = (*r)->refused.value().hex();
        }
      } else {
        auto r = node_->result<ledger::TxId>(id);
        if (r && r->ok()) j["tx_id"] = (*r)->value().hex();
      }
    } else if (info->status != flow::FlowStatus::kRunning) {
      std::string error = info->error;
      auto r = node_->engine().result(id);
      bool conflict = (r && !r->ok() && r->error().code == ErrorCode::kConflict) ||
                      error.find("conflict") != std::string::npos ||
                      error.find("refused") != std::string::npos;
      j["error"] = error;
      j["error_kind"] = conflict ? "conflict" : "other";
    }
    out.json = j.dump();
    return out;
  });
  return status.value_or(RpcFlowStatus{});
}

RpcReply NodeProcess::vault_cash() {
  auto reply = call<RpcReply>([this] {
    vault::Query q;
    q.criteria = vault::QueryCriteria::unconsumed() &&
                 vault::QueryCriteria::contract_is(std::string(contracts::kCashContract)) &&
                 vault::QueryCriteria::has_participant(node_->identity().owning_key);
    q.page.size = vault::kPageSizeMax;
    std::map<std::string, uint64_t> balances;
    int64_t states = 0;
    for (int64_t page = 1;; ++page) {
      q.page.number = page;
      auto p = node_->query(q);
      if (!p.ok()) return rpc_error(500, p.error().message());
      for (const vault::VaultState& s : p->states) {
        auto cash = contracts::decode_cash(s.state);
        if (!cash.ok()) continue;
        if (!(cash->owner == node_->identity().owning_key)) continue;
        balances[cash->amount.token.currency] += cash->amount.quantity;
        ++states;
      }
      if (page * q.page.size >= p->total_states) break;
    }
    json b = json::object();
    for (const auto& [currency, total] : balances) b[currency] = total;
    return RpcReply{200, json{{"balances", b}, {"unconsumed_states", states}}.dump()};
  });
  return reply.value_or(rpc_error(503, "stopping"));
}

}  // namespace folio::node
