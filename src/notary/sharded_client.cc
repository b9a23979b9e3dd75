#include "notary/sharded_client.h"

#include <algorithm>
#include <future>
#include <random>

#include "net/amqp_names.h"
#include "sbac/binding.h"

namespace folio::notary {

void ManagerBatchWriter::add(const sbac::ManagerMessage& message) {
  codec::encode(body_, message);
  ++count_;
}

Bytes ManagerBatchWriter::finish() {
  // ManagerBatch's encoding: the vector's length, then its elements' encodings in order.
  codec::Writer batch(body_.size() + 10);
  batch.length(count_);
  batch.fixed(body_.data());
  body_.clear();
  count_ = 0;
  return batch.take();
}

ShardedNotaryClient::ShardedNotaryClient(net::Transport& transport, NotaryEntry entry,
                                         std::vector<std::vector<std::string>> replica_names,
                                         ShardedClientOptions options)
    : transport_(transport),
      entry_(std::move(entry)),
      replica_names_(std::move(replica_names)),
      options_(options) {
  FOLIO_ASSERT(entry_.shard_map.has_value());
  FOLIO_ASSERT(entry_.shard_map->check_canonical().ok());
  map_ = std::make_shared<const sbac::ShardMap>(*entry_.shard_map);
  // Clients start their round robin at a random slot: several clients starting at slot 0 in step
  // (the nodes of `folio demo`) otherwise lock the same dummy objects and abort each other.
  next_slot_.store(std::random_device{}(), std::memory_order_relaxed);
  FOLIO_ASSERT(replica_names_.size() == entry_.shard_map->shard_count());
  for (uint32_t s = 0; s < replica_names_.size(); ++s)
    for (const std::string& n : replica_names_[s]) {
      auto c = net::canonical_x500(n);
      if (c.ok()) replica_shard_[*c] = s;
    }
  tick_turns_ = static_cast<uint32_t>(
      std::clamp<uint64_t>(options_.resend_ticks / kTickTurnsMax, 1, kTickTurnsMax));
  uint32_t threads = std::max<uint32_t>(1, options_.threads);
  for (uint32_t t = 0; t < threads; ++t) {
    workers_.push_back(std::make_unique<Worker>());
    workers_.back()->out.resize(replica_names_.size());
  }
  for (auto& w : workers_) {
    Worker* worker = w.get();
    w->thread = std::thread([this, worker] { loop(*worker); });
  }
}

ShardedNotaryClient::~ShardedNotaryClient() {
  for (auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->mutex);
    w->stopping = true;
    w->wake.notify_all();
  }
  for (auto& w : workers_) w->thread.join();
}

size_t ShardedNotaryClient::worker_index(const ledger::TxId& id) const {
  return id.value().bytes[1] % workers_.size();
}

ShardedNotaryClient::Worker& ShardedNotaryClient::worker_of(const ledger::TxId& id) {
  return *workers_[worker_index(id)];
}

ShardedNotaryClient::RunningMap& ShardedNotaryClient::running_of(Worker& w,
                                                                 const ledger::TxId& id) const {
  // bytes[1] chose the worker: another byte chooses the turn.
  return w.running[id.value().bytes[2] % tick_turns_];
}

ShardedNotaryClient::Request ShardedNotaryClient::prepare(
    const ledger::SignedTransaction& stx, const std::vector<ledger::ProvedState>& proved) const {
  ledger::TxId id = stx.tx.id();
  // Round robin over the dummy objects: this client's own concurrent sessions never contend for
  // one while fewer than dummy_slots of them are in flight at an output-only shard.
  uint32_t slot = next_slot_.fetch_add(1, std::memory_order_relaxed) % options_.dummy_slots;
  return Request{sbac::prepare_command_for(stx.tx, id, sbac::Sequence(0), slot),
                 sbac::bind_non_validating(stx, proved)};
}

void ShardedNotaryClient::notarise_async(ledger::SignedTransaction stx,
                                         std::vector<ledger::ProvedState> proved, Callback done) {
  submit(prepare(stx, proved), std::move(done));
}

void ShardedNotaryClient::submit(Request request, Callback done) {
  ledger::TxId id = request.command.tx_id;
  // A transaction beyond S-BAC's bounds (too many inputs, an unsorted command) is refused here,
  // before a Coordinator (which requires a canonical command) is built for it.
  if (Status canonical = request.command.check_canonical(); !canonical.ok()) {
    done(id, make_error(ErrorCode::kInvalidArgument,
                        "not a valid S-BAC request: " + canonical.error().message()));
    return;
  }
  Job job{std::move(request.command), std::move(request.binding), std::move(done)};
  Worker& w = worker_of(id);
  std::lock_guard<std::mutex> lock(w.mutex);
  w.jobs.push_back(std::move(job));
  w.wake.notify_one();
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
  auto sender = net::canonical_x500(envelope.sender);
  if (envelope.topic != kTopicReplica || !sender.ok() || !replica_shard_.contains(*sender)) {
    malformed_.fetch_add(1);
    return net::Disposition::kRejected;
  }
  auto batch = codec::decode_from_bytes<ReplicaBatch>(envelope.payload, wire_limits());
  if (!batch.ok()) {
    malformed_.fetch_add(1);
    return net::Disposition::kRejected;
  }
  // Handed over under one lock and one wake-up per worker, not one per statement.
  std::vector<std::vector<sbac::ReplicaMessage>> routed(workers_.size());
  for (sbac::ReplicaMessage& m : batch->messages) {
    const ledger::TxId& id = std::holds_alternative<sbac::SignedPrepared>(m)
                                 ? std::get<sbac::SignedPrepared>(m).statement.tx_id
                                 : std::get<sbac::SignedAccepted>(m).statement.tx_id;
    routed[worker_index(id)].push_back(std::move(m));
  }
  for (size_t i = 0; i < routed.size(); ++i) {
    if (routed[i].empty()) continue;
    Worker& w = *workers_[i];
    std::lock_guard<std::mutex> lock(w.mutex);
    for (sbac::ReplicaMessage& m : routed[i]) {
      if (w.replies.size() >= options_.pending_max) break;  // resends recover the rest
      w.replies.push_back(std::move(m));
    }
    w.wake.notify_one();
  }
  return net::Disposition::kAccepted;
}

ShardedClientStats ShardedNotaryClient::stats() const {
  ShardedClientStats total;
  for (const auto& w : workers_) {
    std::lock_guard<std::mutex> lock(w->mutex);
    total.committed += w->stats.committed;
    total.aborted += w->stats.aborted;
    total.messages_sent += w->stats.messages_sent;
  }
  total.malformed = malformed_.load();
  return total;
}

void ShardedNotaryClient::drive(Worker& w, Running& running) {
  for (const sbac::CoordinatorSend& s : running.coordinator.take_ready()) {
    uint32_t shard = s.shard.value();
    if (shard >= w.out.size()) continue;
    w.out[shard].add(s.message);  // for every replica of the shard
  }
}

void ShardedNotaryClient::loop(Worker& w) {
  auto next_tick = std::chrono::steady_clock::now();
  std::vector<Job> jobs;
  std::vector<sbac::ReplicaMessage> replies;
  std::vector<ledger::TxId> finished;
  for (;;) {
    jobs.clear();
    replies.clear();
    {
      std::unique_lock<std::mutex> lock(w.mutex);
      w.wake.wait_until(lock, next_tick,
                        [&] { return w.stopping || !w.jobs.empty() || !w.replies.empty(); });
      if (w.stopping) break;
      jobs.swap(w.jobs);
      replies.swap(w.replies);
    }
    // Only a coordinator that was stepped or ticked can have finished: those are checked, not
    // every coordinator in flight.
    finished.clear();
    for (Job& job : jobs) {
      ledger::TxId id = job.command.tx_id;
      RunningMap& running = running_of(w, id);
      if (running.contains(id)) {
        job.done(id, make_error(ErrorCode::kConflict, "already being notarised by this client"));
        continue;
      }
      auto [it, inserted] = running.try_emplace(
          id, Running{sbac::Coordinator(
                          std::move(job.command), std::move(job.binding), map_,
                          sbac::CoordinatorConfig{options_.resend_ticks, options_.attempts_max},
                          &w.verify_cache),
                      std::move(job.done), w.ticks});
      FOLIO_ASSERT(inserted);
      drive(w, it->second);
    }
    for (const sbac::ReplicaMessage& m : replies) {
      const ledger::TxId& id = std::holds_alternative<sbac::SignedPrepared>(m)
                                   ? std::get<sbac::SignedPrepared>(m).statement.tx_id
                                   : std::get<sbac::SignedAccepted>(m).statement.tx_id;
      RunningMap& running = running_of(w, id);
      auto it = running.find(id);
      if (it == running.end()) continue;  // late statements of a finished transaction
      it->second.coordinator.on_replica(m);
      drive(w, it->second);
      if (it->second.coordinator.outcome() != sbac::Coordinator::Outcome::kRunning)
        finished.push_back(id);
    }
    if (std::chrono::steady_clock::now() >= next_tick) {
      ++w.ticks;
      for (auto& [id, r] : w.running[w.ticks % tick_turns_]) {
        for (; r.ticked_to < w.ticks; ++r.ticked_to) r.coordinator.tick();
        drive(w, r);
        if (r.coordinator.outcome() != sbac::Coordinator::Outcome::kRunning)
          finished.push_back(id);
      }
      next_tick = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.tick_ms);
    }
    uint64_t sent = 0;
    for (uint32_t shard = 0; shard < w.out.size(); ++shard) {
      if (w.out[shard].empty()) continue;
      Bytes batch = w.out[shard].finish();
      const std::vector<std::string>& names = replica_names_[shard];
      for (uint32_t index = 0; index < names.size(); ++index) {
        net::Envelope env;
        env.id = w.ids.next();
        env.recipient = names[index];
        env.topic = std::string(kTopicManager);
        // Every replica its own copy of the one encoding; the last takes the original.
        env.payload = index + 1 < names.size() ? batch : std::move(batch);
        ++sent;
        (void)transport_.send(std::move(env));  // an unreachable replica is retried by resends
      }
    }
    uint64_t committed = 0;
    uint64_t aborted = 0;
    for (const ledger::TxId& id : finished) {
      RunningMap& running = running_of(w, id);
      auto it = running.find(id);
      if (it == running.end()) continue;  // listed twice, already answered
      sbac::Coordinator& c = it->second.coordinator;
      if (c.outcome() == sbac::Coordinator::Outcome::kCommitted && c.certificate().has_value()) {
        ++committed;
        it->second.done(id, NotarisationCertificate(*c.certificate()));
      } else {
        ++aborted;
        it->second.done(id, make_error(ErrorCode::kConflict,
                                       "aborted by the notary's shards after " +
                                           std::to_string(c.attempts()) + " session(s)"));
      }
      running.erase(it);
    }
    std::lock_guard<std::mutex> lock(w.mutex);
    w.stats.committed += committed;
    w.stats.aborted += aborted;
    w.stats.messages_sent += sent;
  }
}

}  // namespace folio::notary
