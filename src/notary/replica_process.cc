#include "notary/replica_process.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <unordered_set>
#include <nlohmann/json.hpp>

#include "identity/certificates.h"
#include "net/amqp_names.h"

namespace folio::notary {
namespace {

int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The shard's agreed time comes from leaders' clocks (block timestamps), so the wall clock.
int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<sbac::SessionKey> session_of(const sbac::ShardCommand& command) {
  return std::visit(
      [](const auto& c) -> std::optional<sbac::SessionKey> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, sbac::PrepareCommand>) {
          return sbac::SessionKey{c.tx_id, c.session};
        } else if constexpr (std::is_same_v<T, sbac::AcceptCommand>) {
          return sbac::SessionKey{c.tx_id, c.session};
        } else {
          return sbac::SessionKey{c.prepare.tx_id, c.prepare.session};
        }
      },
      command);
}

// The status file is for operators and tests, rewritten every status_interval_ms: replaced whole
// (write a temporary file, rename it over) so that a reader never sees half of it, but not
// fsynced, which would stall the event loop for a disk flush (5 ms here) each time and compete
// with the consensus writes for the disk. After a machine crash it is simply rewritten.
void write_status_file(const std::string& path, const std::string& text) {
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) return;
  }
  (void)std::rename(temporary.c_str(), path.c_str());
}

}  // namespace

Result<std::unique_ptr<ReplicaProcess>> ReplicaProcess::open(const ProcessConfig& config,
                                                             const ReplicaProcessOptions& options) {
  if (!config.shard.has_value())
    return make_error(ErrorCode::kInvalidArgument, config.name + ": not a replica configuration");
  std::unique_ptr<ReplicaProcess> p(new ReplicaProcess());
  p->config_ = config;
  p->options_ = options;
  FOLIO_ASSIGN_OR_RETURN(
      identity::NetworkParameters parameters,
      load_network_parameters(config.network_parameters, config.certificates_dir));
  const identity::NotaryInfo* notary = parameters.find_notary(config.notary);
  if (notary == nullptr || !notary->shard_map.has_value())
    return make_error(ErrorCode::kNotFound, "no replicated notary " + config.notary);
  p->map_ = *notary->shard_map;
  uint32_t shard = *config.shard;
  if (!p->map_.contains(sbac::ShardId(shard)) ||
      config.index >= p->map_.shards[shard].replicas.size() ||
      notary->replica_names[shard][config.index] != config.name)
    return make_error(ErrorCode::kInvalidArgument,
                      config.name + ": not replica " + std::to_string(config.index) + " of shard " +
                          std::to_string(shard) + " in the network parameters");
  for (uint32_t s = 0; s < p->map_.shard_count(); ++s)
    for (uint32_t i = 0; i < notary->replica_names[s].size(); ++i) {
      FOLIO_ASSIGN_OR_RETURN(std::string canonical,
                             net::canonical_x500(notary->replica_names[s][i]));
      p->roles_[canonical] = PeerRole{s, i};
    }
  p->shard_names_ = notary->replica_names[shard];
  p->all_names_ = notary->replica_names;

  // Keys: the identity key is the consensus key, and must be the one the map lists.
  FOLIO_ASSIGN_OR_RETURN(identity::NodeCertificates certs,
                         identity::read_node_certificates(config.certificates_dir));
  FOLIO_ASSIGN_OR_RETURN(crypto::PrivateKey key, certs.identity_key.to_private_key());
  if (key.public_key() != p->map_.shards[shard].replicas[config.index])
    return make_error(ErrorCode::kVerification,
                      config.name + ": identity key is not this replica's key in the shard map");

  consensus::Committee committee(p->map_.shards[shard].replicas);
  consensus::MessageLimits limits;
  limits.batch_count_max = options.batch_count_max;
  limits.batch_bytes_max = options.batch_bytes_max;
  limits.command_bytes_max = 1u << 20;
  FOLIO_TRY(limits.check());
  p->validator_ = std::make_unique<consensus::Validator>(committee, limits);

  FOLIO_ASSIGN_OR_RETURN(p->store_, ReplicaStore::open(config.database, options.fsync));
  FOLIO_ASSIGN_OR_RETURN(ReplicaStore::Restored restored, p->store_->restore());
  p->restored_height_ = restored.committed_height;

  consensus::ReplicaConfig rc(committee, consensus::ReplicaId(config.index), key);
  rc.limits = limits;
  rc.mempool.command_bytes_max = limits.command_bytes_max;
  rc.mempool.bytes_max = 256u << 20;
  rc.view_timeout_ms = options.view_timeout_ms;
  rc.backoff_shift_max = options.backoff_shift_max;
  rc.idle_proposal_delay_ms = 50;
  rc.fetch_retry_ms = 100;
  // Catch-up after a restart walks back through stored blocks: keep many.
  rc.committed_blocks_retained_max = 1u << 16;
  sbac::ShardReplicaConfig sc(sbac::ShardId(shard), p->map_, &p->check_, key);
  sc.dummy_slots = kDummySlots;
  // One S-BAC tick per loop tick; staggered so that usually one replica of a shard takes over.
  sc.takeover_ticks =
      options.takeover_ms <= 0
          ? 0
          : static_cast<uint64_t>(options.takeover_ms / options.tick_ms) * (1 + config.index);
  p->replica_ =
      std::make_unique<sbac::ShardReplica>(std::move(sc), std::move(rc), restored.state, wall_ms());

  // Genesis: the states this shard manages.
  FOLIO_ASSIGN_OR_RETURN(GenesisSpec genesis, load_genesis(config.genesis));
  for (const ledger::WireTransaction& tx : genesis_transactions(genesis)) {
    ledger::TxId id = tx.id();
    for (uint32_t i = 0; i < tx.outputs.size(); ++i) {
      ledger::StateRef ref{id, i};
      if (sbac::shard_of(ref, p->map_) == sbac::ShardId(shard))
        FOLIO_TRY(p->replica_->add_genesis(ref));
    }
  }

  for (const PeerEntry& peer : config.peers) {
    FOLIO_TRY(p->directory_.put(peer.name, net::PeerInfo{{peer.address}, peer.key}));
    FOLIO_ASSIGN_OR_RETURN(std::string canonical, net::canonical_x500(peer.name));
    p->roles_.try_emplace(canonical, PeerRole{});
  }
  storage::SqliteOptions tdb;
  tdb.path = config.transport_database;
  FOLIO_ASSIGN_OR_RETURN(p->transport_db_, storage::open_sqlite(tdb));
  identity::NodeCertificateFiles files =
      identity::NodeCertificateFiles::in(config.certificates_dir);
  net::AmqpConfig ac;
  ac.self = config.name;
  ac.listen_host = config.listen_host;
  ac.listen_port = config.listen_port;
  ac.tls_certificate_path = files.tls_chain;
  ac.tls_private_key_path = files.tls_key;
  ac.trusted_root_path = files.root;
  ac.limits.max_message_bytes = 24u << 20;
  ac.retry_initial = std::chrono::milliseconds(50);
  ac.retry_max = std::chrono::milliseconds(500);
  ac.credit_window = 1024;
  ac.tick = std::chrono::milliseconds(5);
  if (options.ephemeral_messages) ac.ephemeral_topics = ephemeral_topics();
  // What waits for a peer that is down: at ~100 views/s a minute of blocks, enough for a restart;
  // past it sends to that peer fail (counted) and it catches up by fetching blocks.
  ac.ephemeral_queue_max = 20'000;
  ac.ephemeral_queue_bytes_max = size_t{64} << 20;
  FOLIO_ASSIGN_OR_RETURN(p->transport_,
                         net::AmqpTransport::create(ac, p->directory_, *p->transport_db_, key));
  ReplicaProcess* self = p.get();
  p->transport_->set_handler([self](const net::Envelope& e) {
    net::Disposition d = net::Disposition::kAccepted;
    self->enqueue(e, d);
    return d;
  });
  p->transport_->set_outcome_handler([](const net::MessageId&, net::Disposition) {});
  return p;
}

ReplicaProcess::~ReplicaProcess() {
  if (transport_) transport_->stop();
}

Status ReplicaProcess::start() { return transport_->start(); }

void ReplicaProcess::enqueue(const net::Envelope& envelope, net::Disposition& disposition) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (inbox_.size() >= options_.inbox_max) {
    overflow_.fetch_add(1, std::memory_order_relaxed);
    disposition = net::Disposition::kRejected;
    return;
  }
  inbox_.push_back(envelope);
  wake_.notify_one();
}

void ReplicaProcess::send(const std::string& to, std::string_view topic, Bytes payload) {
  net::Envelope e;
  e.id = ids_.next();
  e.recipient = to;
  e.topic = std::string(topic);
  e.payload = std::move(payload);
  Status s = transport_->send(std::move(e));
  // Logged once per 1,000: a peer that is down fills its ephemeral queue and refuses every send.
  if (!s.ok() && counters_.send_failures++ % 1000 == 0)
    std::cerr << "replica: send to " << to << " failed (" << counters_.send_failures
              << " so far): " << s.error().message() << "\n";
}

void ReplicaProcess::remember_manager(const sbac::SessionKey& key, const std::string& manager) {
  auto [named, added] =
      manager_index_.try_emplace(manager, static_cast<uint32_t>(manager_names_.size()));
  if (added) manager_names_.push_back(manager);
  uint32_t index = named->second;
  auto [it, fresh] = managers_.try_emplace(key);
  if (std::find(it->second.begin(), it->second.end(), index) == it->second.end())
    it->second.push_back(index);
  if (!fresh) return;
  manager_order_.push_back(key);
  while (manager_order_.size() > options_.routes_max) {
    managers_.erase(manager_order_.front());
    manager_order_.pop_front();
  }
}

void ReplicaProcess::handle(const net::Envelope& envelope, int64_t now_ms) {
  (void)now_ms;
  auto sender = net::canonical_x500(envelope.sender);
  if (!sender.ok()) {
    ++counters_.malformed;
    return;
  }
  auto role = roles_.find(*sender);
  if (role == roles_.end()) {
    ++counters_.malformed;
    return;
  }
  uint32_t shard = *config_.shard;
  if (envelope.topic == kTopicConsensus) {
    if (!role->second.shard || *role->second.shard != shard) {
      ++counters_.malformed;
      return;
    }
    consensus::Validation v =
        validator_->validate(consensus::ReplicaId(role->second.index), envelope.payload);
    if (auto* verified = std::get_if<consensus::Verified<consensus::Message>>(&v)) {
      replica_->step(std::move(*verified));
    } else {
      ++counters_.consensus_rejected;
    }
    return;
  }
  if (envelope.topic == kTopicManager) {
    auto batch = codec::decode_from_bytes<ManagerBatch>(envelope.payload, wire_limits());
    if (!batch.ok()) {
      ++counters_.malformed;
      return;
    }
    for (const sbac::ManagerMessage& m : batch->messages) {
      if (const auto* submit = std::get_if<sbac::SubmitCommand>(&m)) {
        auto command = sbac::decode_command(submit->command);
        if (!command.ok()) {
          ++counters_.malformed;
          continue;
        }
        if (auto key = session_of(*command)) remember_manager(*key, *sender);
      } else {
        remember_manager(std::get<sbac::StatusQuery>(m).session, *sender);
      }
      for (sbac::ReplicaMessage& answer : replica_->on_manager(m))
        out_statements_[*sender].push_back(std::move(answer));
    }
    return;
  }
  if (envelope.topic == kTopicReplica) {
    // Statements for the sessions this replica took over, from replicas of any shard.
    auto batch = codec::decode_from_bytes<ReplicaBatch>(envelope.payload, wire_limits());
    if (!batch.ok() || !role->second.shard) {
      ++counters_.malformed;
      return;
    }
    for (const sbac::ReplicaMessage& m : batch->messages) feed_takeover(m);
    return;
  }
  if (envelope.topic == kTopicRawSubmit) {
    auto batch = codec::decode_from_bytes<RawSubmit>(envelope.payload, wire_limits());
    if (!batch.ok()) {
      ++counters_.malformed;
      return;
    }
    uint32_t client = 0;
    if (batch->notify) {
      auto known = std::find(raw_clients_.begin(), raw_clients_.end(), *sender);
      client = static_cast<uint32_t>(known - raw_clients_.begin());
      if (known == raw_clients_.end()) raw_clients_.push_back(*sender);  // peers are bounded
    }
    for (Bytes& command : batch->commands) {
      if (batch->notify && raw_waiters_.size() < options_.raw_waiters_max)
        raw_waiters_.insert_or_assign(consensus::command_id(command), client);
      (void)replica_->on_manager(sbac::SubmitCommand{std::move(command)});
    }
    return;
  }
  ++counters_.malformed;
}

Status ReplicaProcess::flush() {
  // Consensus first; the committed blocks execute after the votes have left (step 3 below).
  sbac::ShardReady ready = replica_->take_consensus_ready();
  auto send_consensus = [&](const consensus::Outgoing& o) {
    Bytes bytes = codec::encode_to_bytes(o.message);
    for (uint32_t i = 0; i < shard_names_.size(); ++i) {
      if (i == config_.index || (o.to && o.to->value() != i)) continue;
      send(shard_names_[i], kTopicConsensus, bytes);
    }
  };
  auto is_proposal = [](const consensus::Outgoing& o) {
    return std::holds_alternative<consensus::Proposal>(o.message);
  };
  // 0. A proposal leaves before the write: it carries no vote (the leader's own vote for its
  // block is a Vote to the next leader, sent below, after the write), and safety rests on votes
  // alone: a replica votes once per view, so even a leader that crashed before its write and
  // proposed again in the same view (proposed_view_ is not persisted either) could not get two
  // blocks certified. The leader's write (its block and its vote) then overlaps the voters'.
  for (const consensus::Outgoing& o : ready.consensus.send)
    if (is_proposal(o)) send_consensus(o);
  // 1. Durable before any vote or timeout leaves (consensus/replica.h).
  if (!ready.consensus.persist.empty()) {
    int64_t started = steady_us();
    FOLIO_TRY(store_->write(ready.consensus.persist));
    counters_.persist_us += static_cast<uint64_t>(steady_us() - started);
    ++counters_.persists;
  }
  // 2. Send the rest.
  for (const consensus::Outgoing& o : ready.consensus.send)
    if (!is_proposal(o)) send_consensus(o);
  // 3. Apply: execute the committed blocks (S-BAC statements, takeovers) now that this replica's
  // vote is on its way, so a block's execution is off the critical path of the next view.
  replica_->apply_ready(ready);
  auto route = [&](const sbac::SessionKey& key, const sbac::ReplicaMessage& m) {
    auto it = managers_.find(key);
    if (it == managers_.end()) return;
    for (uint32_t manager : it->second) out_statements_[manager_names_[manager]].push_back(m);
  };
  // A session prepared and accepted(commit) in the same step is the single-shard fast path: its
  // manager decides on the accepted statements alone (TransactionManager::on_accepted), so the
  // prepared ones stay here (a status query still returns them). Aborts keep both: a retry needs
  // the sequence_max of the prepared statements.
  std::unordered_set<sbac::SessionKey, SessionKeyHash> fast_commits;
  for (const auto& a : ready.accepted)
    if (a.statement.verdict == sbac::Verdict::kCommit) fast_commits.insert(a.session);
  for (const auto& p : ready.prepared) {
    sbac::SessionKey key{p.statement.tx_id, p.statement.session};
    if (p.statement.verdict == sbac::Verdict::kCommit && fast_commits.contains(key)) continue;
    route(key, p);
  }
  for (const auto& a : ready.accepted) route(a.session, a);
  for (const auto& p : ready.prepared) feed_takeover(p);
  for (const auto& a : ready.accepted) feed_takeover(a);
  for (sbac::Takeover& t : ready.takeovers) {
    sbac::SessionKey key{t.command.tx_id, t.command.session};
    if (takeovers_.contains(key) || takeovers_.size() >= options_.takeovers_max) continue;
    if (!t.command.check_canonical().ok()) continue;
    auto c = std::make_unique<sbac::Coordinator>(
        t.command, std::move(t.binding), map_,
        sbac::CoordinatorConfig{options_.takeover_resend_ticks, 1});
    sbac::Coordinator& coordinator = *c;
    takeovers_.emplace(key, std::move(c));
    drive_takeover(coordinator);
  }
  // Notify raw clients of their committed commands.
  for (const consensus::CommittedBlock& b : ready.consensus.commit) {
    counters_.committed_commands += b.block->commands.size();
    if (raw_waiters_.empty()) continue;
    // The consensus replica hashed every command already: no second SHA-256 per command here.
    FOLIO_ASSERT(b.command_ids.size() == b.block->commands.size());
    for (const consensus::CommandId& id : b.command_ids) {
      auto it = raw_waiters_.find(id);
      if (it == raw_waiters_.end()) continue;
      out_raw_[it->second].push_back(it->first);
      raw_waiters_.erase(it);
    }
  }
  counters_.protocol_rejections += ready.consensus.rejections.size();
  counters_.undecodable_commands += ready.undecodable;
  counters_.takeovers += ready.takeovers.size();
  for (const consensus::Report& r : ready.consensus.reports)
    std::cerr << "replica: REPORT " << r.detail << "\n";
  replica_->advance(ready);

  for (auto& [to, messages] : out_statements_) {
    if (messages.empty()) continue;
    ReplicaBatch batch{std::move(messages)};
    send(to, kTopicReplica, codec::encode_to_bytes(batch));
  }
  out_statements_.clear();
  for (auto it = takeovers_.begin(); it != takeovers_.end();) {
    sbac::Coordinator::Outcome outcome = it->second->outcome();
    if (outcome == sbac::Coordinator::Outcome::kRunning) {
      ++it;
      continue;
    }
    ++(outcome == sbac::Coordinator::Outcome::kCommitted ? counters_.takeovers_committed
                                                         : counters_.takeovers_aborted);
    it = takeovers_.erase(it);
  }
  for (auto& [to, messages] : out_manager_) {
    if (messages.empty()) continue;
    send(to, kTopicManager, codec::encode_to_bytes(ManagerBatch{std::move(messages)}));
  }
  out_manager_.clear();
  for (auto& [client, ids] : out_raw_) {
    if (ids.empty()) continue;
    RawCommitted batch{std::move(ids)};
    send(raw_clients_[client], kTopicRawCommitted, codec::encode_to_bytes(batch));
  }
  out_raw_.clear();
  return ok_status();
}

void ReplicaProcess::feed_takeover(const sbac::ReplicaMessage& message) {
  sbac::SessionKey key =
      std::holds_alternative<sbac::SignedPrepared>(message)
          ? sbac::SessionKey{std::get<sbac::SignedPrepared>(message).statement.tx_id,
                             std::get<sbac::SignedPrepared>(message).statement.session}
          : std::get<sbac::SignedAccepted>(message).session;
  auto it = takeovers_.find(key);
  if (it == takeovers_.end()) return;
  it->second->on_replica(message);
  drive_takeover(*it->second);
}

void ReplicaProcess::drive_takeover(sbac::Coordinator& coordinator) {
  // Messages to this replica itself are answered here (a few rounds: an answer can make the
  // coordinator send again); the rest go out in batches.
  for (int round = 0; round < 4; ++round) {
    std::vector<sbac::ReplicaMessage> own;
    for (sbac::CoordinatorSend& s : coordinator.take_ready()) {
      uint32_t shard = s.shard.value();
      if (shard >= all_names_.size()) continue;
      for (uint32_t i = 0; i < all_names_[shard].size(); ++i) {
        if (shard == *config_.shard && i == config_.index) {
          for (sbac::ReplicaMessage& answer : replica_->on_manager(s.message))
            own.push_back(std::move(answer));
        } else {
          out_manager_[all_names_[shard][i]].push_back(s.message);
        }
      }
    }
    if (own.empty()) return;
    for (const sbac::ReplicaMessage& m : own) coordinator.on_replica(m);
  }
}

void ReplicaProcess::write_status(int64_t now_ms) {
  if (config_.status_file.empty()) return;
  const consensus::Replica& c = replica_->consensus();
  nlohmann::json j = {{"name", config_.name},
                      {"shard", *config_.shard},
                      {"index", config_.index},
                      {"view", c.view().value()},
                      {"highest_voted_view", c.highest_voted_view().value()},
                      {"committed_height", c.committed().height.value()},
                      {"restored_height", restored_height_.value()},
                      {"objects", replica_->table().objects().size()},
                      {"committed_commands", counters_.committed_commands},
                      {"consensus_rejected", counters_.consensus_rejected},
                      {"malformed", counters_.malformed},
                      {"inbox_overflow", overflow_.load()},
                      {"protocol_rejections", counters_.protocol_rejections},
                      {"undecodable_commands", counters_.undecodable_commands},
                      {"takeovers", counters_.takeovers},
                      {"takeovers_committed", counters_.takeovers_committed},
                      {"takeovers_aborted", counters_.takeovers_aborted},
                      {"takeovers_running", takeovers_.size()},
                      {"send_failures", counters_.send_failures},
                      {"raw_waiters", raw_waiters_.size()},
                      {"loop_iterations", counters_.loop_iterations},
                      {"envelopes_handled", counters_.envelopes_handled},
                      {"wait_us", counters_.wait_us},
                      {"handle_us", counters_.handle_us},
                      {"flush_us", counters_.flush_us},
                      {"persist_us", counters_.persist_us},
                      {"persists", counters_.persists},
                      {"uptime_ms", now_ms - start_ms_}};
  // A status file that cannot be written does not stop the replica.
  write_status_file(config_.status_file, j.dump() + "\n");
}

Status ReplicaProcess::run(const std::atomic<bool>& stop) {
  start_ms_ = steady_ms();
  int64_t next_tick = start_ms_;
  int64_t next_status = start_ms_;
  std::deque<net::Envelope> batch;
  while (!stop.load(std::memory_order_relaxed)) {
    int64_t waited_from = steady_us();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      int64_t wait = std::max<int64_t>(0, next_tick - steady_ms());
      if (inbox_.empty())
        wake_.wait_for(lock, std::chrono::milliseconds(wait), [&] { return !inbox_.empty(); });
      batch.swap(inbox_);
    }
    int64_t handled_from = steady_us();
    counters_.wait_us += static_cast<uint64_t>(handled_from - waited_from);
    ++counters_.loop_iterations;
    counters_.envelopes_handled += batch.size();
    int64_t now = steady_ms();
    int64_t wall = wall_ms();
    replica_->set_time(wall);
    for (const net::Envelope& e : batch) handle(e, wall);
    batch.clear();
    if (now >= next_tick) {
      replica_->tick(wall);
      next_tick = now + options_.tick_ms;
      for (auto& [key, coordinator] : takeovers_) {
        coordinator->tick();
        drive_takeover(*coordinator);
      }
    }
    int64_t flushed_from = steady_us();
    counters_.handle_us += static_cast<uint64_t>(flushed_from - handled_from);
    FOLIO_TRY(flush());
    counters_.flush_us += static_cast<uint64_t>(steady_us() - flushed_from);
    if (now >= next_status) {
      write_status(now);
      next_status = now + options_.status_interval_ms;
    }
  }
  write_status(steady_ms());
  return ok_status();
}

}  // namespace folio::notary
