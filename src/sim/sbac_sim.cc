#include "sim/sbac_sim.h"

#include <sstream>

#include "contracts/cash.h"
#include "sim/consensus_sim.h"
#include "sim/sbac_sim_world.h"

namespace folio::sim {
namespace sbac_sim_detail {

// ---- Construction -------------------------------------------------------------------------------

void SbacSimulation::build() {
  const SbacSimOptions& o = options_;
  FOLIO_ASSERT(o.shards >= 1 && o.shards <= 16);
  FOLIO_ASSERT(o.replicas >= 4 && o.replicas <= kSimReplicasMax);
  FOLIO_ASSERT(o.accounts >= 2);
  map_.epoch = sbac::Epoch(1);
  for (uint32_t s = 0; s < o.shards; ++s) {
    std::vector<crypto::PrivateKey> keys;
    for (uint32_t i = 0; i < o.replicas; ++i)
      keys.push_back(crypto::PrivateKey::ed25519(random_seed(prng_)));
    std::sort(keys.begin(), keys.end(),
              [](const auto& a, const auto& b) { return a.public_key() < b.public_key(); });
    sbac::Shard shard;
    for (const auto& k : keys) shard.replicas.push_back(k.public_key());
    committees_.push_back(std::make_unique<consensus::Committee>(shard.replicas));
    verify_caches_.push_back(std::make_unique<consensus::VerifyCache>(1u << 14));
    map_.shards.push_back(std::move(shard));
    keys_.push_back(std::move(keys));
  }
  FOLIO_ASSERT(map_.check_canonical().ok());

  FOLIO_ASSERT(contracts_.add(std::make_unique<contracts::Cash>()).ok());
  if (o.validating) {
    check_ = std::make_unique<sbac::ValidatingCheck>(contracts_, attachments_);
  } else {
    check_ = std::make_unique<sbac::NonValidatingCheck>();
  }

  for (uint32_t a = 0; a < o.accounts; ++a)
    accounts_.push_back(crypto::PrivateKey::ed25519(random_seed(workload_)));
  bank_.emplace(crypto::PrivateKey::ed25519(random_seed(workload_)));
  notary_ = ledger::Party{"O=Folio Sharded Notary, L=Sim, C=GB",
                          crypto::PrivateKey::ed25519(random_seed(workload_)).public_key()};

  // Which replicas lie, and how.
  nodes_.resize(replica_count());
  for (uint32_t s = 0; s < o.shards; ++s) {
    std::vector<uint32_t> order(o.replicas);
    for (uint32_t i = 0; i < o.replicas; ++i) order[i] = i;
    for (uint32_t i = o.replicas; i > 1; --i) std::swap(order[i - 1], order[faults_.below(i)]);
    for (uint32_t k = 0; k < std::min(o.byzantine, o.replicas); ++k) {
      uint32_t lies = o.byzantine_behaviours;
      if (lies == 0) lies = static_cast<uint32_t>(faults_.below(kSbacBehaviourAll)) + 1;
      nodes_[replica_endpoint(ShardId(s), order[k])].lies = lies;
    }
  }
  for (uint32_t s = 0; s < o.shards; ++s) {
    for (uint32_t i = 0; i < o.replicas; ++i) {
      ReplicaNode& node = nodes_[replica_endpoint(ShardId(s), i)];
      node.shard = ShardId(s);
      node.index = i;
      // The validator's codec bounds byte strings by the sequence bound, which it derives from
      // batch_count_max; S-BAC commands of a few KiB need it raised.
      consensus::MessageLimits limits;
      limits.batch_count_max = kBatchCountMax;
      node.validator =
          std::make_unique<consensus::Validator>(*committees_[s], limits, verify_caches_[s].get());
      consensus::ReplicaConfig config(*committees_[s], consensus::ReplicaId(i), keys_[s][i]);
      config.limits = limits;
      config.view_timeout_ms = 300;
      config.idle_proposal_delay_ms = 40;
      config.backoff_shift_max = 1;
      config.fetch_retry_ms = 100;
      sbac::ShardReplicaConfig sbac_config(ShardId(s), map_, check_.get(), keys_[s][i]);
      sbac_config.dummy_slots = kDummySlots;
      if (o.sessions_max != 0) sbac_config.sessions_max = o.sessions_max;
      // Staggered, so that one replica of a shard usually takes over first.
      sbac_config.takeover_ticks = kTakeoverTicks * (1 + i);
      sbac_config.test_only_replay_defences = !o.break_replay_defences;
      node.replica = std::make_unique<sbac::ShardReplica>(std::move(sbac_config), std::move(config),
                                                          consensus::RestoredState{}, 0);
      if ((node.lies & kSbacConsensus) != 0) {
        uint32_t behaviours = static_cast<uint32_t>(faults_.below(kBehaviourAll)) + 1;
        node.consensus_liar =
            std::make_unique<Byzantine>(behaviours, keys_[s][i], o.replicas, faults_.fork());
      }
    }
  }
  build_genesis();

  if (o.partitions) {
    uint32_t count = 1 + static_cast<uint32_t>(faults_.below(kPartitionsMax));
    uint32_t endpoints = replica_count() + o.transactions;
    for (uint32_t k = 0; k < count; ++k) {
      Partition p;
      p.start_ms = faults_.range(0, o.heal_ms - 1);
      p.end_ms = std::min(o.heal_ms, p.start_ms + faults_.range(100, kPartitionMaxMs));
      for (uint32_t e = 0; e < endpoints; ++e) p.side.push_back(faults_.below(2) == 0);
      partitions_.push_back(std::move(p));
    }
  }

  // One client per payment, starting at a random time of the fault phase; some crash after.
  clients_.resize(o.transactions);
  for (uint32_t c = 0; c < o.transactions; ++c) {
    int64_t at = workload_.range(50, std::max<int64_t>(60, o.heal_ms * 3 / 4));
    schedule(Event{at, 0, EventKind::kStart, c, 0, {}, {}, {}});
    if (faults_.chance_ppm(o.client_crash_ppm)) {
      int64_t crash = at + faults_.range(0, 400);
      schedule(Event{crash, 0, EventKind::kCrash, c, 0, {}, {}, {}});
    }
  }
  schedule(Event{0, 0, EventKind::kTick, 0, 0, {}, {}, {}});
  schedule(Event{o.heal_ms, 0, EventKind::kHeal, 0, 0, {}, {}, {}});
}

void SbacSimulation::build_genesis() {
  ledger::WireTransaction genesis;
  contracts::IssuedCurrency token{
      contracts::PartyAndReference{ledger::Party{"O=Bank, L=Sim, C=GB", bank_->public_key()},
                                   Bytes{1}},
      "GBP"};
  for (uint32_t a = 0; a < options_.accounts; ++a)
    for (uint32_t k = 0; k < kCoinsPerAccount; ++k)
      genesis.outputs.push_back(contracts::cash_output(contracts::CashAmount{kCoinValue, token},
                                                       accounts_[a].public_key(), notary_));
  genesis.commands.push_back(contracts::cash_issue(bank_->public_key()));
  genesis.notary = notary_;
  genesis.salt = random_seed(workload_);
  TxId id = genesis.id();
  for (uint32_t i = 0; i < genesis.outputs.size(); ++i) {
    StateRef ref{id, i};
    Coin coin{i / kCoinsPerAccount, kCoinValue};
    coins_[ref] = coin;
    unspent_[ref] = coin;
    issued_ += kCoinValue;
    ShardId shard = sbac::shard_of(ref, map_);
    for (uint32_t r = 0; r < options_.replicas; ++r)
      FOLIO_ASSERT(nodes_[replica_endpoint(shard, r)].replica->add_genesis(ref).ok());
  }
  transactions_[id] = std::move(genesis);
}

// ---- The network --------------------------------------------------------------------------------

bool SbacSimulation::cut(uint32_t a, uint32_t b, int64_t t) const {
  for (const Partition& p : partitions_) {
    if (t < p.start_ms || t >= p.end_ms) continue;
    if (a < p.side.size() && b < p.side.size() && p.side[a] != p.side[b]) return true;
  }
  return false;
}

int64_t SbacSimulation::latency() {
  int64_t l = options_.latency_min_ms + net_.range(0, options_.latency_spread_ms);
  if (net_.chance_ppm(options_.tail_ppm))
    l += net_.range(0, options_.latency_spread_ms * kTailFactor);
  return l;
}

bool SbacSimulation::lost(uint32_t from, uint32_t to, int64_t t) {
  ++result_.messages_sent;
  if (faulty_period(t) && (cut(from, to, t) || net_.chance_ppm(options_.loss_ppm))) {
    ++result_.messages_dropped;
    return true;
  }
  return false;
}

void SbacSimulation::send_consensus(uint32_t from, uint32_t to, Bytes bytes, int64_t t) {
  if (lost(from, to, t)) return;
  schedule(Event{t + latency(), 0, EventKind::kConsensus, to, from, std::move(bytes), {}, {}});
}

void SbacSimulation::send_to_replica(uint32_t from, uint32_t to, const sbac::ManagerMessage& m,
                                     int64_t t, bool tapped) {
  if (tapped && options_.replay) {
    if (const auto* submit = std::get_if<sbac::SubmitCommand>(&m)) tap_submit(submit->command);
  }
  if (lost(from, to, t)) return;
  schedule(Event{t + latency(), 0, EventKind::kToReplica, to, from, {}, m, {}});
}

void SbacSimulation::send_to_manager(uint32_t from, uint32_t to, const sbac::ReplicaMessage& m,
                                     int64_t t) {
  // The checker's pool: every accepted(commit) signature that crossed the network.
  if (const auto* a = std::get_if<sbac::SignedAccepted>(&m)) {
    if (a->statement.verdict == sbac::Verdict::kCommit)
      accepted_commit_seen_[a->statement.tx_id][a->statement.shard][a->statement.session].emplace(
          a->signature.by, a->signature);
  }
  if (options_.replay) tap_statement(m, t);
  if (lost(from, to, t)) return;
  schedule(Event{t + latency(), 0, EventKind::kToManager, to, from, {}, {}, m});
}

void SbacSimulation::send_coordinator(uint32_t from, std::vector<sbac::CoordinatorSend> sends,
                                      int64_t t) {
  for (const sbac::CoordinatorSend& s : sends) {
    // A tapped submit is recorded once, not once per replica.
    bool first = true;
    for (uint32_t r = 0; r < options_.replicas; ++r) {
      send_to_replica(from, replica_endpoint(s.shard, r), s.message, t, first);
      first = false;
    }
  }
}

// A Byzantine replica signs its lie the way honest replicas sign: one batch signature over a
// Merkle root, here a root over the honest statement it replaces, the lie (say prepared(T, commit)
// and prepared(T, abort) under one signature) and a few filler leaves, at positions it chooses.
// The lie's BatchSignature is then as well-formed as an honest one; only matching decides.
sbac::ReplicaSignature SbacSimulation::sign_lie_in_batch(const crypto::PrivateKey& key,
                                                         const crypto::Hash256& honest_leaf,
                                                         const crypto::Hash256& lie_leaf) {
  std::vector<crypto::Hash256> leaves{honest_leaf, lie_leaf};
  for (uint64_t k = adversary_.below(4); k > 0; --k) {
    FixedBytes<32> filler = random_seed(adversary_);
    leaves.push_back(crypto::sha256(filler.view()));
  }
  for (size_t i = leaves.size(); i > 1; --i) std::swap(leaves[i - 1], leaves[adversary_.below(i)]);
  uint32_t index = static_cast<uint32_t>(
      std::find(leaves.begin(), leaves.end(), lie_leaf) - leaves.begin());
  sbac::BatchTree tree(std::move(leaves));
  return sbac::sign_batch(key, tree)[index];
}

std::optional<sbac::ReplicaMessage> SbacSimulation::lie(const ReplicaNode& node, uint32_t to,
                                                        const sbac::ReplicaMessage& honest) {
  if (node.lies == 0) return honest;
  if ((node.lies & kSbacSilent) != 0) return std::nullopt;
  bool flip = (node.lies & kSbacFlip) != 0;
  if ((node.lies & kSbacEquivocate) != 0) flip = (to % 2) == 0;
  const crypto::PrivateKey& key = keys_[node.shard.value()][node.index];
  auto other = [](sbac::Verdict v) {
    return v == sbac::Verdict::kCommit ? sbac::Verdict::kAbort : sbac::Verdict::kCommit;
  };
  sbac::ReplicaMessage out = honest;
  if (auto* p = std::get_if<sbac::SignedPrepared>(&out)) {
    bool resign = flip;
    if (flip) p->statement.verdict = other(p->statement.verdict);
    // sequence_max is signed inside the statement: a liar can only sign its own lie (and so never
    // joins the f+1 honest replicas' matching statement).
    if ((node.lies & kSbacLieSequence) != 0) {
      p->statement.sequence_max = sbac::Sequence(adversary_.below(1u << 20));
      resign = true;
    }
    if (resign) {
      const auto& said = std::get<sbac::SignedPrepared>(honest).statement;
      p->signature = sign_lie_in_batch(key, sbac::statement_leaf(said),
                                       sbac::statement_leaf(p->statement));
    }
  } else {
    auto& a = std::get<sbac::SignedAccepted>(out);
    if (flip) {
      a.statement.verdict = other(a.statement.verdict);
      const auto& said = std::get<sbac::SignedAccepted>(honest).statement;
      a.signature = sign_lie_in_batch(key, sbac::statement_leaf(said),
                                      sbac::statement_leaf(a.statement));
    }
  }
  return out;
}

// A replica's new statement goes to the session's managers: the paying client and every replica
// running a takeover of that session. Others learn it by querying.
void SbacSimulation::route_statement(uint32_t from, const sbac::ReplicaMessage& m, int64_t t) {
  SessionKey key;
  if (const auto* p = std::get_if<sbac::SignedPrepared>(&m)) {
    key = SessionKey{p->statement.tx_id, p->statement.session};
  } else {
    key = std::get<sbac::SignedAccepted>(m).session;
  }
  std::vector<uint32_t> to;
  if (auto it = payment_of_.find(key.tx_id); it != payment_of_.end())
    to.push_back(client_endpoint(payments_[it->second].client));
  for (uint32_t r = 0; r < replica_count(); ++r)
    if (nodes_[r].takeovers.contains(key)) to.push_back(r);
  for (uint32_t endpoint : to) {
    if (auto said = lie(nodes_[from], endpoint, m)) send_to_manager(from, endpoint, *said, t);
  }
}

// ---- Replicas -----------------------------------------------------------------------------------

void SbacSimulation::record_outcome(ReplicaNode& node, const sbac::Outcome& outcome) {
  Decisions& d = node.decisions;
  if (const auto* p = std::get_if<sbac::PrepareDecision>(&outcome)) {
    d.prepared.emplace(p->key, p->verdict);
    if (!d.accepted.contains(p->key)) d.open.insert(p->key);
    return;
  }
  if (const auto* a = std::get_if<sbac::AcceptDecision>(&outcome)) {
    d.accepted.emplace(a->key, a->verdict);
    d.open.erase(a->key);
    for (const StateRef& ref : a->consumed) {
      auto [it, fresh] = d.consumed.emplace(ref, a->key);
      if (!fresh && it->second != a->key)
        d.double_consumption.push_back(ref.describe() + " consumed by " +
                                       it->second.tx_id.value().short_hex() + " and " +
                                       a->key.tx_id.value().short_hex());
    }
  }
}

void SbacSimulation::flush(uint32_t r, int64_t t) {
  ReplicaNode& node = nodes_[r];
  sbac::ShardReady ready = node.replica->take_ready();
  if (node.consensus_liar) {
    for (Packet& p : node.consensus_liar->transform(node.replica->consensus(), ready.consensus))
      send_consensus(r, replica_endpoint(node.shard, p.to), std::move(p.bytes), t);
  } else {
    for (const consensus::Outgoing& o : ready.consensus.send) {
      Bytes bytes = codec::encode_to_bytes(o.message);
      for (uint32_t i = 0; i < options_.replicas; ++i) {
        if (i == node.index || (o.to && o.to->value() != i)) continue;
        send_consensus(r, replica_endpoint(node.shard, i), bytes, t);
      }
    }
  }
  result_.undecodable += ready.undecodable;
  if (node.lies == 0) {
    for (const sbac::Outcome& outcome : ready.outcomes) record_outcome(node, outcome);
  }
  for (const auto& p : ready.prepared) route_statement(r, p, t);
  for (const auto& a : ready.accepted) route_statement(r, a, t);
  for (sbac::Takeover& takeover : ready.takeovers) {
    SessionKey key{takeover.command.tx_id, takeover.command.session};
    // The timer fires again while the session is not accepted here: a coordinator that finished
    // (its decision accepted elsewhere) is replaced, one still running keeps going.
    auto running = node.takeovers.find(key);
    if (running != node.takeovers.end() &&
        running->second.outcome() == Coordinator::Outcome::kRunning)
      continue;
    if (running != node.takeovers.end()) node.takeovers.erase(running);
    ++result_.takeovers;
    auto [it, fresh] =
        node.takeovers.emplace(key, Coordinator(takeover.command, std::move(takeover.binding), map_,
                                                sbac::CoordinatorConfig{kResendTicks, 1}));
    send_coordinator(r, it->second.take_ready(), t);
  }
  node.replica->advance(ready);
}

void SbacSimulation::deliver_consensus(uint32_t to, uint32_t from, const Bytes& bytes, int64_t t) {
  ReplicaNode& node = nodes_[to];
  ReplicaNode& sender = nodes_[from];
  node.replica->set_time(t);
  consensus::Validation v = node.validator->validate(consensus::ReplicaId(sender.index), bytes);
  if (const auto* verified = std::get_if<consensus::Verified<consensus::Message>>(&v)) {
    if (node.consensus_liar) {
      std::vector<Packet> extra;
      node.consensus_liar->observe(node.replica->consensus(), sender.index, verified->get(), bytes,
                                   extra);
      for (Packet& p : extra)
        send_consensus(to, replica_endpoint(node.shard, p.to), std::move(p.bytes), t);
    }
    node.replica->step(*verified);
  }
  flush(to, t);
}

void SbacSimulation::deliver_to_replica(uint32_t to, uint32_t from, const sbac::ManagerMessage& m,
                                        int64_t t) {
  ReplicaNode& node = nodes_[to];
  node.replica->set_time(t);
  for (const sbac::ReplicaMessage& answer : node.replica->on_manager(m)) {
    if (auto said = lie(node, from, answer)) send_to_manager(to, from, *said, t);
  }
  flush(to, t);
}

// ---- Managers -----------------------------------------------------------------------------------

void SbacSimulation::coordinator_finished(const Coordinator& c, std::optional<uint32_t> client) {
  if (c.outcome() == Coordinator::Outcome::kCommitted) {
    FOLIO_ASSERT(c.certificate().has_value());
    certificates_.emplace_back(c.tx_id(), *c.certificate());
  }
  if (!client) return;
  // The paying client updates its view of the ledger.
  Client& cl = clients_[*client];
  const Payment& pay = payments_[*cl.payment];
  for (const StateRef& ref : cl.reserved) reserved_.erase(ref);
  if (c.outcome() == Coordinator::Outcome::kCommitted) {
    for (const StateRef& ref : pay.stx.tx.inputs) unspent_.erase(ref);
    for (uint32_t i = 0; i < pay.stx.tx.outputs.size(); ++i)
      unspent_[StateRef{pay.id, i}] = coins_.at(StateRef{pay.id, i});
  }
}

void SbacSimulation::deliver_to_manager(uint32_t to, const sbac::ReplicaMessage& m, int64_t t) {
  if (is_replica(to)) {
    SessionKey key;
    if (const auto* p = std::get_if<sbac::SignedPrepared>(&m)) {
      key = SessionKey{p->statement.tx_id, p->statement.session};
    } else {
      key = std::get<sbac::SignedAccepted>(m).session;
    }
    auto it = nodes_[to].takeovers.find(key);
    if (it == nodes_[to].takeovers.end()) return;
    Coordinator& c = it->second;
    if (c.outcome() != Coordinator::Outcome::kRunning) return;
    c.on_replica(m);
    send_coordinator(to, c.take_ready(), t);
    if (c.outcome() != Coordinator::Outcome::kRunning) coordinator_finished(c, std::nullopt);
    return;
  }
  uint32_t index = to - replica_count();
  Client& client = clients_[index];
  if (client.crashed || !client.coordinator) return;
  Coordinator& c = *client.coordinator;
  if (c.outcome() != Coordinator::Outcome::kRunning) return;
  c.on_replica(m);
  send_coordinator(to, c.take_ready(), t);
  if (c.outcome() != Coordinator::Outcome::kRunning) coordinator_finished(c, index);
}

// A payment from one account to another, from coins the client believes unspent.
void SbacSimulation::start_client(uint32_t c, int64_t t) {
  Client& client = clients_[c];
  if (client.crashed) return;
  client.started = true;
  const uint32_t accounts = options_.accounts;
  uint32_t payer = static_cast<uint32_t>(workload_.below(accounts));
  if (options_.high_contention && workload_.below(4) != 0)
    payer = static_cast<uint32_t>(workload_.below(2));
  // High contention reuses coins that payments in flight already spend, on purpose.
  bool reuse = options_.high_contention && workload_.below(2) == 0;
  std::vector<StateRef> mine;
  for (const auto& [ref, coin] : unspent_)
    if (coin.account == payer && (reuse || !reserved_.contains(ref))) mine.push_back(ref);
  if (mine.empty()) return;  // nothing to pay with: the client does nothing
  for (size_t i = mine.size(); i > 1; --i) std::swap(mine[i - 1], mine[workload_.below(i)]);
  size_t take = std::min<size_t>(mine.size(), 1 + workload_.below(2));
  mine.resize(take);

  ledger::WireTransaction tx;
  uint64_t total = 0;
  for (const StateRef& ref : mine) {
    tx.inputs.push_back(ref);
    total += coins_.at(ref).quantity;
  }
  // Sometimes a reference to another account's coin (locked during the commit, stays active).
  if (workload_.below(6) == 0) {
    std::vector<StateRef> others;
    for (const auto& [ref, coin] : unspent_)
      if (coin.account != payer) others.push_back(ref);
    if (!others.empty()) tx.references.push_back(others[workload_.below(others.size())]);
  }
  uint32_t payee = static_cast<uint32_t>(workload_.below(accounts - 1));
  if (payee >= payer) ++payee;
  uint64_t amount = 1 + workload_.below(total);
  contracts::IssuedCurrency token{
      contracts::PartyAndReference{ledger::Party{"O=Bank, L=Sim, C=GB", bank_->public_key()},
                                   Bytes{1}},
      "GBP"};
  tx.outputs.push_back(contracts::cash_output(contracts::CashAmount{amount, token},
                                              accounts_[payee].public_key(), notary_));
  if (amount < total)
    tx.outputs.push_back(contracts::cash_output(contracts::CashAmount{total - amount, token},
                                                accounts_[payer].public_key(), notary_));
  tx.commands.push_back(contracts::cash_move({accounts_[payer].public_key()}));
  tx.notary = notary_;
  // Time windows, checked against the shard's agreed block time: open, already past, or opening
  // soon (the first session may abort and a retry commit: a later instance for the replayer).
  uint64_t window = workload_.below(10);
  if (window == 0) {
    tx.time_window = ledger::TimeWindow{ledger::Timestamp((t - 1'000) * 1000),
                                        ledger::Timestamp((t + 60'000) * 1000)};
  } else if (window == 1) {
    tx.time_window = ledger::TimeWindow{std::nullopt, ledger::Timestamp((t - 5) * 1000)};
  } else if (window <= 3) {
    tx.time_window =
        ledger::TimeWindow{ledger::Timestamp((t + workload_.range(20, 250)) * 1000), std::nullopt};
  }
  tx.salt = random_seed(workload_);
  TxId id = tx.id();
  ledger::SignedTransaction stx{tx, {ledger::sign_transaction(accounts_[payer], id)}};

  std::vector<ledger::ProvedState> proved;
  for (const auto* refs : {&tx.inputs, &tx.references})
    for (const StateRef& ref : *refs)
      proved.push_back(ledger::prove_output(transactions_.at(ref.tx_id), ref.tx_id, ref.index));
  for (uint32_t i = 0; i < tx.outputs.size(); ++i) {
    const auto cash = contracts::decode_cash(tx.outputs[i]);
    FOLIO_ASSERT(cash.ok());
    coins_[StateRef{id, i}] = Coin{i == 0 ? payee : payer, cash->amount.quantity};
  }
  sbac::PrepareCommand command = sbac::prepare_command_for(
      tx, id, sbac::Sequence(0), static_cast<uint32_t>(workload_.below(kDummySlots)));
  sbac::PrepareBinding binding = options_.validating ? sbac::bind_validating(stx, proved)
                                                     : sbac::bind_non_validating(stx, proved);
  Payment pay{stx, id,
              sbac::concerned_shards(id, command.inputs, command.references, command.output_count,
                                     options_.shards),
              c};
  if (pay.concerned.size() > 1) ++result_.cross_shard;
  transactions_[id] = tx;
  payment_of_[id] = payments_.size();
  client.payment = payments_.size();
  payments_.push_back(std::move(pay));
  for (const StateRef& ref : mine) {
    reserved_.insert(ref);
    client.reserved.push_back(ref);
  }
  client.coordinator.emplace(std::move(command), std::move(binding), map_,
                             sbac::CoordinatorConfig{kResendTicks, kAttemptsMax});
  send_coordinator(client_endpoint(c), client.coordinator->take_ready(), t);
}

void SbacSimulation::on_tick(int64_t t) {
  for (uint32_t r = 0; r < replica_count(); ++r) {
    ReplicaNode& node = nodes_[r];
    node.replica->tick(t);
    if (node.consensus_liar) {
      std::vector<Packet> extra;
      node.consensus_liar->on_tick(node.replica->consensus(), extra);
      for (Packet& p : extra)
        send_consensus(r, replica_endpoint(node.shard, p.to), std::move(p.bytes), t);
    }
    if ((node.lies & kSbacGarbage) != 0 && faults_.chance_ppm(20'000)) {
      Bytes garbage(1 + faults_.below(40));
      for (uint8_t& b : garbage) b = static_cast<uint8_t>(faults_.next());
      (void)node.replica->on_manager(sbac::SubmitCommand{garbage});
    }
    flush(r, t);
    for (auto& [key, c] : node.takeovers) {
      c.tick();
      send_coordinator(r, c.take_ready(), t);
    }
  }
  for (uint32_t c = 0; c < clients_.size(); ++c) {
    Client& client = clients_[c];
    if (client.crashed || !client.coordinator) continue;
    client.coordinator->tick();
    send_coordinator(client_endpoint(c), client.coordinator->take_ready(), t);
  }
  // The adversary also replays recorded commands at random, anywhere.
  if (options_.replay && !submits_seen_.empty() && adversary_.below(10) == 0 &&
      random_replays_ < kRandomReplaysMax) {
    ++random_replays_;
    const Bytes& command = submits_seen_[adversary_.below(submits_seen_.size())];
    inject_command(command, ShardId(static_cast<uint32_t>(adversary_.below(options_.shards))),
                   t + 1);
  }
}

SbacSimResult SbacSimulation::run() {
  result_.options = options_;
  int64_t stop_ms = options_.heal_ms + options_.liveness_bound_ms;
  int64_t t = 0;
  int64_t next_check = options_.heal_ms;
  while (!queue_.empty()) {
    Event e = queue_.top();
    queue_.pop();
    t = e.at_ms;
    if (t > stop_ms) break;
    switch (e.kind) {
      case EventKind::kConsensus:
        deliver_consensus(e.to, e.from, e.bytes, t);
        break;
      case EventKind::kToReplica:
        deliver_to_replica(e.to, e.from, *e.manager, t);
        break;
      case EventKind::kToManager:
        deliver_to_manager(e.to, *e.replica, t);
        break;
      case EventKind::kTick:
        on_tick(t);
        schedule(Event{t + kTickMs, 0, EventKind::kTick, 0, 0, {}, {}, {}});
        break;
      case EventKind::kStart:
        start_client(e.to, t);
        break;
      case EventKind::kCrash:
        if (!clients_[e.to].crashed) {
          clients_[e.to].crashed = true;
          ++result_.client_crashes;
        }
        break;
      case EventKind::kHeal:
        break;
    }
    if (t >= next_check) {
      next_check = t + kQuiescenceCheckMs;
      if (quiescent()) break;
    }
  }
  result_.end_ms = t;
  check(result_);
  return result_;
}

}  // namespace sbac_sim_detail

using sbac_sim_detail::percent;
using sbac_sim_detail::SbacSimulation;

// ---- Options and results
// --------------------------------------------------------------------------

std::string SbacSimOptions::describe() const {
  std::ostringstream out;
  out << "K=" << shards << " n=" << replicas << " byz=" << byzantine;
  if (byzantine_behaviours != 0) out << "(" << byzantine_behaviours << ")";
  out << " tx=" << transactions << " accounts=" << accounts
      << (high_contention ? " contention" : "") << (validating ? " validating" : " non-validating")
      << " crash=" << percent(client_crash_ppm) << " loss=" << percent(loss_ppm)
      << (partitions ? " partitions" : "") << (replay ? " replay" : "")
      << (sessions_max != 0 ? " sessions_max=" + std::to_string(sessions_max) : "")
      << (break_replay_defences ? " NO-REPLAY-DEFENCES" : "");
  return out.str();
}

std::string SbacSimOptions::command_line() const {
  std::ostringstream out;
  out << "folio sim sbac --seed " << seed << " --shards " << shards << " --replicas " << replicas
      << " --byzantine " << byzantine << " --behaviours " << byzantine_behaviours
      << " --transactions " << transactions << " --accounts " << accounts << " --client-crash-ppm "
      << client_crash_ppm << " --loss-ppm " << loss_ppm << " --tail-ppm " << tail_ppm
      << " --heal-ms " << heal_ms;
  if (sessions_max != 0) out << " --sessions-max " << sessions_max;
  if (high_contention) out << " --high-contention";
  if (validating) out << " --validating";
  if (partitions) out << " --partitions";
  if (replay) out << " --replay";
  if (break_replay_defences) out << " --break-replay-defences";
  return out.str();
}

SbacSimOptions sbac_sweep_options(uint64_t seed, const SbacSimOptions& base, bool keep_shape) {
  SbacSimOptions o = base;
  o.seed = seed;
  Prng mix(seed ^ 0x5bac5bac5bac5bacull);
  if (!keep_shape) {
    uint64_t shape = mix.below(16);
    o.shards = shape < 2 ? 1 : shape < 10 ? 2 : shape < 14 ? 3 : 4;
    o.replicas = mix.below(8) == 0 ? 7 : 4;
  }
  uint32_t f = (o.replicas - 1) / 3;
  o.byzantine = std::min(o.byzantine, f);
  // What the base switches on stays on; the mix adds to it.
  o.validating = mix.below(2) == 0 || base.validating;
  o.replay = mix.below(2) == 0 || base.replay;
  o.high_contention = mix.below(3) == 0 || base.high_contention;
  // A tiny session cache on some seeds, so that pruning meets the replay adversary.
  if (o.sessions_max == 0 && mix.below(4) == 0) o.sessions_max = 4;
  switch (seed % 6) {
    case 0:  // clean network, crashing clients
      o.client_crash_ppm = 300'000;
      break;
    case 1:  // lossy network
      o.loss_ppm = 50'000;
      o.tail_ppm = 100'000;
      break;
    case 2:
      o.partitions = true;
      o.client_crash_ppm = 200'000;
      break;
    case 3:
      o.byzantine = f;
      break;
    case 4:
      o.byzantine = f;
      o.loss_ppm = 20'000;
      o.client_crash_ppm = 300'000;
      o.replay = true;
      break;
    default:
      o.byzantine = static_cast<uint32_t>(mix.below(f + 1));
      o.loss_ppm = 30'000;
      o.partitions = true;
      o.client_crash_ppm = 200'000;
      break;
  }
  return o;
}

std::string SbacSimResult::summary_line() const {
  std::ostringstream out;
  out << "seed=" << options.seed << " " << options.describe() << (ok() ? " OK" : " FAIL")
      << " committed=" << committed << " aborted=" << aborted << " cross_shard=" << cross_shard
      << " sessions=" << sessions << " takeovers=" << takeovers
      << " client_crashes=" << client_crashes << " replays=" << replays
      << " undecodable=" << undecodable << " msgs=" << messages_sent
      << " dropped=" << messages_dropped << " sim_ms=" << end_ms;
  if (!ok()) {
    out << " violations:";
    for (const std::string& v : violations) out << " [" << v << "]";
    out << " reproduce: " << options.command_line();
  }
  return out.str();
}

SbacSimResult run_sbac_sim(const SbacSimOptions& options) {
  SbacSimulation sim(options);
  return sim.run();
}

}  // namespace folio::sim
