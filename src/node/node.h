// Node: one Folio node (ARCHITECTURE.md section 4; docs/node.md). It owns its database (a SQLite
// file by default, PostgreSQL by conninfo), key store, identity service, transaction and
// attachment stores, vault (with the cash and asset schemas), the registry of native contracts,
// and a flow engine with the core flows and responders, attached to a transport endpoint. A
// notary node also hosts a SingleNotary (its uniqueness tables in a database of its own: a second
// SQLite file, or a second connection to the PostgreSQL database) behind the notary-service
// responder, and batches concurrent requests (flush_notary).
//
// start() runs every migration and resumes unfinished flows from their journals, so destroying a
// Node at any moment and starting it again from the same directory (or conninfo) continues exactly
// where its database says it was.
//
// Ownership: the Node borrows the transport and the clocks (they must outlive it); everything else
// it owns. Single-threaded: one loop (a MockNetwork, a test, the CLI) makes every call, and the
// transport's handlers run on it.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "flow/engine.h"
#include "node/flows/flow_services.h"
#include "notary/clock.h"

namespace folio::node {

struct NodeConfig {
  std::string name;                 // X.500
  std::filesystem::path directory;  // key files, and the SQLite databases
  std::optional<std::string> postgres_conninfo;  // else SQLite files in `directory`
  // SQLite: sync every commit (`synchronous = FULL`), durable against power loss too; otherwise
  // NORMAL, durable against a crash of the process (docs/node.md, "Durability of SQLite").
  bool sqlite_synchronous_full = false;
  // The seed of the node's identity key (its well-known party; a notary's signing key too). An
  // all-zero seed is refused (a key anyone can compute). Unset: the node generates a random key at
  // its first start, keeps it in its key store and finds it again by its name at every restart.
  // A notary node needs a seed (its key is in the network parameters before it starts).
  std::optional<FixedBytes<32>> identity_seed;
  bool notary = false;
  bool validating_notary = false;
  size_t notary_batch_max = 4096;
  // The network map: notaries and well-known parties (registered in the identity service).
  std::vector<notary::NotaryEntry> notaries;
  std::vector<ledger::Party> parties;
  flow::FlowEngineOptions engine;
  // The buyer side of trades: which offers to take (seller, price, currency); unset: none.
  std::function<bool(const std::string&, uint64_t, const std::string&)> trade_policy;
  // Apps' flows beyond the core ones (tests and benchmarks register theirs here).
  std::function<Status(flow::FlowRegistry&, flows::FlowServices*)> register_flows;
};

class Node {
 public:
  static Result<std::unique_ptr<Node>> start(NodeConfig config, net::Transport& transport,
                                             flow::Clock& clock, const notary::Clock& notary_clock);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const ledger::Party& identity() const { return services_.me; }
  const std::string& name() const { return config_.name; }
  const NodeConfig& config() const { return config_; }

  // Flows.
  template <class F>
  Result<flow::FlowHandle> start_flow(const F& flow) {
    auto handle = engine_->start(flow);
    publish_updates();
    return handle;
  }
  template <class R>
  std::optional<Result<R>> result(const flow::FlowId& id) const {
    return engine_->template result<R>(id);
  }
  flow::FlowEngine& engine() { return *engine_; }
  // A batch of messages from a transport that delivers in batches (MockNetwork's in-memory
  // endpoints): stored, and the steps they allow taken, in one group commit; vault updates are
  // published after it. One disposition per envelope.
  std::vector<net::Disposition> on_messages(std::span<const net::Envelope> envelopes);
  // Ends a flow (hospitalised or running) and releases the vault soft locks it held.
  Status kill_flow(const flow::FlowId& id, std::string reason = "killed by the operator");
  Status retry_flow(const flow::FlowId& id);
  // Wakes sleeping flows whose time has come.
  void tick();

  // Notary node: notarises what its responders queued, as one batch; the number of requests.
  Result<size_t> flush_notary();
  flows::NotaryBatcher* notary() { return batcher_.get(); }
  // The notary's uniqueness database (REQUIRES: a notary node).
  storage::Database& notary_database() {
    FOLIO_ASSERT(notary_db_ != nullptr);
    return *notary_db_;
  }

  // Vault.
  Result<vault::Page> query(const vault::Query& query);
  Result<int64_t> count(const vault::QueryCriteria& criteria);
  // A snapshot and live updates (delivered after the step that made them has committed).
  Result<vault::Tracked> track(const vault::Query& query,
                               std::function<void(const vault::VaultUpdate&)> on_update);
  // Unconsumed cash of a currency owned by this node, in minor units.
  Result<uint64_t> cash_balance(const std::string& currency);
  // The buyer side of trades: which offers to take (default: none).
  void set_trade_policy(std::function<bool(const std::string&, uint64_t, const std::string&)> p) {
    services_.accept_offer = std::move(p);
  }

  // Services.
  KeyStore& keys() { return *keys_; }
  IdentityService& identities() { return *identities_; }
  TransactionStore& transactions() { return *transactions_; }
  AttachmentStore& attachments() { return *attachments_; }
  vault::Vault& vault() { return *vault_; }
  storage::Database& database() { return *db_; }
  flows::FlowServices& services() { return services_; }

  // Draining: no new flows or sessions; drained() once running flows have finished.
  void drain() { engine_->drain(); }
  bool drained() const { return engine_->drained(); }

 private:
  Node(NodeConfig config, net::Transport& transport) : config_(std::move(config)),
                                                       transport_(transport) {}
  Status open(flow::Clock& clock, const notary::Clock& notary_clock);
  void publish_updates();

  NodeConfig config_;
  net::Transport& transport_;
  // Declaration order is destruction order reversed: the engine (and its flows' frames) goes
  // first, the databases last.
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<storage::Database> notary_db_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<IdentityService> identities_;
  std::unique_ptr<TransactionStore> transactions_;
  std::unique_ptr<AttachmentStore> attachments_;
  ledger::ContractRegistry contracts_;
  vault::VaultRegistry vault_registry_;
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<StoreAttachmentLoader> attachment_loader_;
  std::unique_ptr<notary::SingleNotary> single_notary_;
  std::unique_ptr<flows::NotaryBatcher> batcher_;
  flows::FlowServices services_;
  flow::FlowRegistry registry_;
  std::unique_ptr<flow::FlowEngine> engine_;
};

}  // namespace folio::node
