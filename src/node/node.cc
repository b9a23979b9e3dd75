#include "node/node.h"

#include <algorithm>

#include "contracts/cash.h"
#include "contracts/native.h"
#include "node/flows/agreement.h"
#include "node/flows/asset.h"
#include "vault/cash.h"

namespace folio::node {

Result<std::unique_ptr<Node>> Node::start(NodeConfig config, net::Transport& transport,
                                          flow::Clock& clock, const notary::Clock& notary_clock) {
  if (config.name != transport.self())
    return make_error(ErrorCode::kInvalidArgument,
                      "node " + config.name + " on the transport endpoint of " + transport.self());
  std::unique_ptr<Node> node(new Node(std::move(config), transport));
  FOLIO_TRY(node->open(clock, notary_clock));
  return node;
}

Node::~Node() {
  engine_.reset();  // destroys the flows' frames while the services they point at still exist
  transport_.set_handler(nullptr);
  transport_.set_outcome_handler(nullptr);
}

namespace {
// The node's identity key: from the configured seed (never all zeros: anyone could compute that
// key), else the key registered under the node's name at an earlier start, else a new random key
// (kept in the key store; the caller registers it under the name).
Result<crypto::PublicKey> open_identity_key(const NodeConfig& config, KeyStore& keys,
                                            const IdentityService& identities) {
  if (config.notary && !config.identity_seed)
    return make_error(ErrorCode::kInvalidArgument,
                      "a notary node needs an identity seed (its key is in the network parameters)");
  if (config.identity_seed) {
    const FixedBytes<32>& seed = *config.identity_seed;
    if (std::all_of(seed.bytes.begin(), seed.bytes.end(), [](uint8_t b) { return b == 0; }))
      return make_error(ErrorCode::kInvalidArgument,
                        "the identity seed is all zeros: give a secret seed or none (a random "
                        "key is then generated and kept)");
    return keys.add(crypto::PrivateKey::ed25519(seed));
  }
  auto known = identities.party_by_name(config.name);
  if (!known.ok() && known.error().code != ErrorCode::kNotFound) return known.error();
  if (known.ok() && keys.is_ours(known->owning_key)) return known->owning_key;
  return keys.generate();
}
}  // namespace

Status Node::open(flow::Clock& clock, const notary::Clock& notary_clock) {
  std::error_code ec;
  std::filesystem::create_directories(config_.directory, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create " + config_.directory.string());
  if (config_.postgres_conninfo) {
    FOLIO_ASSIGN_OR_RETURN(db_, storage::open_postgres({.conninfo = *config_.postgres_conninfo}));
  } else {
    FOLIO_ASSIGN_OR_RETURN(db_, storage::open_sqlite(
                                    {.path = (config_.directory / "node.db").string(),
                                     .synchronous_full = config_.sqlite_synchronous_full}));
  }
  FOLIO_ASSIGN_OR_RETURN(keys_, KeyStore::open(config_.directory / "keys", *db_));
  FOLIO_ASSIGN_OR_RETURN(identities_, IdentityService::open(*db_));
  FOLIO_ASSIGN_OR_RETURN(crypto::PublicKey identity_key, open_identity_key(config_, *keys_,
                                                                           *identities_));
  ledger::Party me{config_.name, identity_key};
  FOLIO_ASSIGN_OR_RETURN(me, identities_->register_party(me));
  for (const ledger::Party& party : config_.parties) {
    if (party.name == me.name) continue;
    FOLIO_TRY(identities_->register_party(party));
  }
  FOLIO_ASSIGN_OR_RETURN(transactions_, TransactionStore::open(*db_));
  FOLIO_ASSIGN_OR_RETURN(attachments_, AttachmentStore::open(*db_));

  FOLIO_TRY(contracts::register_native_contracts(contracts_, {}));
  FOLIO_TRY(flows::register_asset(contracts_, vault_registry_));
  FOLIO_TRY(flows::register_agreement(contracts_, vault_registry_));
  FOLIO_TRY(vault::register_cash(vault_registry_));
  vault_registry_.set_fallback(&contracts_);
  FOLIO_ASSIGN_OR_RETURN(vault_, vault::Vault::open(*db_, vault_registry_));

  services_.me = me;
  services_.keys = keys_.get();
  services_.identities = identities_.get();
  services_.transactions = transactions_.get();
  services_.attachments = attachments_.get();
  services_.vault = vault_.get();
  services_.contracts = &contracts_;
  services_.accept_offer = config_.trade_policy;
  for (const notary::NotaryEntry& entry : config_.notaries)
    services_.notaries[entry.identity.name] = entry;

  if (config_.notary) {
    // The uniqueness tables live in a database of their own, so that a batch (one transaction of
    // its own) never nests inside a flow step's transaction on the same connection.
    if (config_.postgres_conninfo) {
      FOLIO_ASSIGN_OR_RETURN(notary_db_,
                             storage::open_postgres({.conninfo = *config_.postgres_conninfo}));
    } else {
      FOLIO_ASSIGN_OR_RETURN(notary_db_, storage::open_sqlite(
                                             {.path = (config_.directory / "notary.db").string(),
                                              .synchronous_full = config_.sqlite_synchronous_full}));
    }
    notary::SingleNotaryConfig notary_config;
    notary_config.identity = me;
    notary_config.validating = config_.validating_notary;
    notary_config.batch_requests_max = config_.notary_batch_max;
    attachment_loader_ = std::make_unique<StoreAttachmentLoader>(*attachments_);
    FOLIO_ASSIGN_OR_RETURN(single_notary_,
                           notary::SingleNotary::open(*notary_db_,
                                                      crypto::PrivateKey::ed25519(
                                                          *config_.identity_seed),
                                                      notary_config,
                                                      notary_clock, &contracts_,
                                                      attachment_loader_.get()));
    batcher_ = std::make_unique<flows::NotaryBatcher>(*single_notary_, config_.notary_batch_max);
    services_.notary = batcher_.get();
  }

  FOLIO_TRY(flows::register_core_flows(registry_, &services_));
  if (config_.register_flows) FOLIO_TRY(config_.register_flows(registry_, &services_));
  FOLIO_ASSIGN_OR_RETURN(engine_,
                         flow::FlowEngine::open(*db_, transport_, registry_, clock, config_.engine));
  // Vault updates made by flow steps are published once the steps have committed, which they
  // have when the engine returns.
  transport_.set_handler([this](const net::Envelope& envelope) {
    net::Disposition d = engine_->on_message(envelope);
    publish_updates();
    return d;
  });
  FOLIO_TRY(engine_->resume_all());
  publish_updates();
  return ok_status();
}

std::vector<net::Disposition> Node::on_messages(std::span<const net::Envelope> envelopes) {
  std::vector<net::Disposition> dispositions = engine_->on_messages(envelopes);
  publish_updates();
  return dispositions;
}

void Node::publish_updates() {
  if (services_.pending_updates.empty()) return;
  std::vector<vault::VaultUpdate> updates = std::move(services_.pending_updates);
  services_.pending_updates.clear();
  for (const vault::VaultUpdate& update : updates) vault_->publish(update);
}

void Node::tick() {
  engine_->tick();
  publish_updates();
}

Status Node::kill_flow(const flow::FlowId& id, std::string reason) {
  FOLIO_TRY(engine_->kill(id, std::move(reason)));
  auto released = vault_->release(id.hex());
  if (!released.ok()) return released.error();
  return ok_status();
}

Status Node::retry_flow(const flow::FlowId& id) {
  Status s = engine_->retry(id);
  publish_updates();
  return s;
}

Result<size_t> Node::flush_notary() {
  if (!batcher_) return size_t{0};
  return batcher_->flush();
}

Result<vault::Page> Node::query(const vault::Query& query) { return vault_->query(query); }

Result<int64_t> Node::count(const vault::QueryCriteria& criteria) {
  return vault_->count(criteria);
}

Result<vault::Tracked> Node::track(const vault::Query& query,
                                   std::function<void(const vault::VaultUpdate&)> on_update) {
  services_.tracking = true;
  return vault_->track(query, std::move(on_update));
}

Result<uint64_t> Node::cash_balance(const std::string& currency) {
  vault::Query q;
  q.criteria = vault::QueryCriteria::unconsumed() &&
               vault::QueryCriteria::contract_is(std::string(contracts::kCashContract)) &&
               vault::QueryCriteria::has_participant(services_.me.owning_key);
  q.page.size = vault::kPageSizeMax;
  uint64_t total = 0;
  for (int64_t page = 1;; ++page) {
    q.page.number = page;
    FOLIO_ASSIGN_OR_RETURN(vault::Page p, vault_->query(q));
    for (const vault::VaultState& s : p.states) {
      FOLIO_ASSIGN_OR_RETURN(contracts::CashState cash, contracts::decode_cash(s.state));
      if (cash.amount.token.currency == currency) total += cash.amount.quantity;
    }
    if (page * q.page.size >= p.total_states) break;
  }
  return total;
}

}  // namespace folio::node
