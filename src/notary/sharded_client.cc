#include "notary/sharded_client.h"

#include <future>

#include "net/amqp_names.h"
#include "sbac/binding.h"

namespace folio::notary {

ShardedNotaryClient::ShardedNotaryClient(net::Transport& transport, NotaryEntry entry,
                                         std::vector<std::vector<std::string>> replica_names,
                                         ShardedClientOptions options)
    : transport_(transport),
      entry_(std::move(entry)),
      replica_names_(std::move(replica_names)),
      options_(options) {
  FOLIO_ASSERT(entry_.shard_map.has_value());
  FOLIO_ASSERT(replica_names_.size() == entry_.shard_map->shard_count());
  for (uint32_t s = 0; s < replica_names_.size(); ++s)
    for (const std::string& n : replica_names_[s]) {
      auto c = net::canonical_x500(n);
      if (c.ok()) replica_shard_[*c] = s;
    }
  thread_ = std::thread([this] { loop(); });
}

ShardedNotaryClient::~ShardedNotaryClient() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void ShardedNotaryClient::notarise_async(ledger::SignedTransaction stx,
                                         std::vector<ledger::ProvedState> proved, Callback done) {
  ledger::TxId id = stx.tx.id();
  uint32_t slot = static_cast<uint32_t>(id.value().bytes[0]) % options_.dummy_slots;
  Job job{sbac::prepare_command_for(stx.tx, id, sbac::Sequence(0), slot),
          sbac::bind_non_validating(stx, proved), std::move(done)};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
  }
  wake_.notify_one();
}

Result<NotarisationCertificate> ShardedNotaryClient::notarise(
    ledger::SignedTransaction stx, std::vector<ledger::ProvedState> proved,
    std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Result<NotarisationCertificate>>>();
  auto future = promise->get_future();
  notarise_async(std::move(stx), std::move(proved),
                 [promise](const ledger::TxId&, Result<NotarisationCertificate> r) {
                   promise->set_value(std::move(r));
                 });
  if (future.wait_for(timeout) != std::future_status::ready)
    return make_error(ErrorCode::kTimeout, "no outcome from the notary's shards in time");
  return future.get();
}

net::Disposition ShardedNotaryClient::on_envelope(const net::Envelope& envelope) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (replies_.size() >= options_.pending_max) return net::Disposition::kRejected;
    replies_.push_back(envelope);
  }
  wake_.notify_one();
  return net::Disposition::kAccepted;
}

ShardedClientStats ShardedNotaryClient::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void ShardedNotaryClient::drive(Running& running) {
  for (sbac::CoordinatorSend& s : running.coordinator->take_ready()) {
    uint32_t shard = s.shard.value();
    if (shard >= replica_names_.size()) continue;
    for (uint32_t i = 0; i < replica_names_[shard].size(); ++i) out_[shard][i].push_back(s.message);
  }
}

void ShardedNotaryClient::loop() {
  auto next_tick = std::chrono::steady_clock::now();
  for (;;) {
    std::deque<Job> jobs;
    std::deque<net::Envelope> replies;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait_until(lock, next_tick,
                       [&] { return stopping_ || !jobs_.empty() || !replies_.empty(); });
      if (stopping_) break;
      jobs.swap(jobs_);
      replies.swap(replies_);
    }
    uint64_t malformed = 0;
    for (Job& job : jobs) {
      ledger::TxId id = job.command.tx_id;
      if (running_.contains(id)) {
        job.done(id, make_error(ErrorCode::kConflict, "already being notarised by this client"));
        continue;
      }
      Running r{std::make_unique<sbac::Coordinator>(
                    std::move(job.command), std::move(job.binding), *entry_.shard_map,
                    sbac::CoordinatorConfig{options_.resend_ticks, options_.attempts_max}),
                std::move(job.done)};
      drive(r);
      running_.emplace(id, std::move(r));
    }
    for (const net::Envelope& e : replies) {
      auto sender = net::canonical_x500(e.sender);
      if (e.topic != kTopicReplica || !sender.ok() || !replica_shard_.contains(*sender)) {
        ++malformed;
        continue;
      }
      auto batch = codec::decode_from_bytes<ReplicaBatch>(e.payload, wire_limits());
      if (!batch.ok()) {
        ++malformed;
        continue;
      }
      for (const sbac::ReplicaMessage& m : batch->messages) {
        const ledger::TxId& id = std::holds_alternative<sbac::SignedPrepared>(m)
                                     ? std::get<sbac::SignedPrepared>(m).statement.tx_id
                                     : std::get<sbac::SignedAccepted>(m).statement.tx_id;
        auto it = running_.find(id);
        if (it == running_.end()) continue;  // late statements of a finished transaction
        it->second.coordinator->on_replica(m);
        drive(it->second);
      }
    }
    if (std::chrono::steady_clock::now() >= next_tick) {
      for (auto& [id, r] : running_) {
        r.coordinator->tick();
        drive(r);
      }
      next_tick = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.tick_ms);
    }
    uint64_t sent = 0;
    for (auto& [shard, replicas] : out_)
      for (auto& [index, messages] : replicas) {
        if (messages.empty()) continue;
        net::Envelope env;
        env.id = ids_.next();
        env.recipient = replica_names_[shard][index];
        env.topic = std::string(kTopicManager);
        env.payload = codec::encode_to_bytes(ManagerBatch{std::move(messages)});
        ++sent;
        (void)transport_.send(std::move(env));  // an unreachable replica is retried by resends
      }
    out_.clear();
    uint64_t committed = 0;
    uint64_t aborted = 0;
    for (auto it = running_.begin(); it != running_.end();) {
      sbac::Coordinator& c = *it->second.coordinator;
      if (c.outcome() == sbac::Coordinator::Outcome::kRunning) {
        ++it;
        continue;
      }
      if (c.outcome() == sbac::Coordinator::Outcome::kCommitted && c.certificate().has_value()) {
        ++committed;
        it->second.done(it->first, NotarisationCertificate(*c.certificate()));
      } else {
        ++aborted;
        it->second.done(it->first,
                        make_error(ErrorCode::kConflict,
                                   "aborted by the notary's shards after " +
                                       std::to_string(c.attempts()) + " session(s)"));
      }
      it = running_.erase(it);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.committed += committed;
    stats_.aborted += aborted;
    stats_.malformed += malformed;
    stats_.messages_sent += sent;
  }
}

}  // namespace folio::notary
