// MemoryNetwork and MemoryTransport: an in-process network for tests, MockNetwork and the
// simulator (ARCHITECTURE.md section 4, "Messaging").
//
// A MemoryNetwork owns one MemoryTransport endpoint per X.500 name. Sending puts the message in the
// network's queue; nothing moves until the test pumps (`deliver_one`, `run_until_idle`), so a run is
// single-threaded and reproducible: the only randomness is the network's seeded generator, which
// picks each message's latency within its link's range, whether an attempt is lost, and (when
// `reorder` is on) which of several due messages goes first.
//
// Time is simulated milliseconds on the network's own manual clock. A message is due when its
// delivery time has come; `deliver_one` advances the clock to the next due message when none is due
// yet. Faults:
//   - latency per link (a range, drawn per attempt), loss per link (parts per million): a lost
//     attempt is retried by the sending endpoint after `retry_interval_ms`, as a real transport's
//     outbox would, until the recipient accepts or rejects it;
//   - partition(a, b) blocks both directions until heal; a down endpoint (set_up(name, false))
//     receives nothing, and messages to it wait; blocked messages are not lost, they wait;
//   - an endpoint without a handler also receives nothing (its messages wait), so a node can be torn
//     down and rebuilt around the same endpoint;
//   - drop_queued_from(name) discards what an endpoint had queued, as a crash of a process whose
//     transport kept its outbox in memory would.
// Every delivery (accepted or rejected) is recorded when recording is on.
//
// The sender's Outcome handler is called after the recipient's handler returns; if the sending
// endpoint has no outcome handler at that moment (it is being rebuilt) the outcome is dropped, and
// the sender's own outbox re-sends on restart (the recipient de-duplicates by id).
//
// Batches: an endpoint that also has a batch handler (a node whose flow engine group-commits, see
// docs/flows.md) receives, in one call, every message due to it at the current time and not
// blocked (up to `batch_messages_max`, in delivery order), and answers with one disposition each
// once the whole batch is durably processed. The senders' outcomes follow, through a sender's batch
// outcome handler when it has one (one call per sender and batch), else one by one. Without
// `reorder`, a batch holds exactly the messages that single deliveries would have handed over next
// to that endpoint, in the same order; with it, endpoints receive one message at a time.
//
// Rounds on threads (`deliver_round`): the batches due now to several batch endpoints are handed
// over at once, each endpoint's on a thread of its own (one thread drives one endpoint, so a node's
// single-threaded contract holds). While a round runs, `send` only checks and buffers; once every
// batch is done the buffered messages are queued in endpoint-name order and the outcomes reported,
// on the calling thread, so runs stay reproducible from the seed. Handlers of different endpoints
// must then share nothing unsynchronised.
//
// Free-running threads (`start_free_running`, for throughput benchmarks only): every endpoint
// with a handler gets a thread of its own and a locked inbox; `send` appends to the recipient's
// inbox and wakes its thread, which hands everything in it over as one batch (through the batch
// handler when there is one), then posts the outcomes to the senders' inboxes (their threads
// report them), then runs the endpoint's after-drain hook. No clock, rounds, latency, loss,
// partitions, recording or reproducibility: tests use the pumped modes above. One endpoint's
// handlers, outcome handlers and hook run only on its own thread; handlers must not be changed
// and the pumped calls (deliver_one, ...) not made until `stop_free_running` has returned.
//
// Not thread-safe (except while free-running, as above): one thread drives the network and every
// endpoint. Handlers may call `send` (it only queues), but must not destroy the network.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "net/transport.h"

namespace folio::net {

struct LinkConfig {
  uint64_t latency_min_ms = 1;
  uint64_t latency_max_ms = 1;
  uint32_t loss_ppm = 0;  // chance that one delivery attempt is lost, per million
};

struct MemoryNetworkOptions {
  uint64_t seed = 1;
  LinkConfig default_link;
  uint64_t retry_interval_ms = 50;
  // When several messages are due, pick one at random instead of the earliest queued.
  bool reorder = false;
  TransportLimits limits;
  bool record = true;
  // Most messages handed to an endpoint's batch handler in one call.
  size_t batch_messages_max = 1024;
};

struct DeliveryRecord {
  uint64_t time_ms;
  MessageId id;
  std::string sender;
  std::string recipient;
  std::string topic;
  Disposition disposition;
  uint32_t attempt;  // 1 for the first attempt
};

class MemoryNetwork;

class MemoryTransport final : public Transport {
 public:
  // One disposition per envelope, in order. Used only while `set_handler` has a handler too (a
  // torn-down endpoint receives nothing).
  using BatchHandler = std::function<std::vector<Disposition>(std::span<const Envelope>)>;
  using BatchOutcome =
      std::function<void(std::span<const std::pair<MessageId, Disposition>> outcomes)>;

  const std::string& self() const override { return name_; }
  void set_handler(Handler handler) override { handler_ = std::move(handler); }
  void set_outcome_handler(Outcome outcome) override { outcome_ = std::move(outcome); }
  void set_batch_handler(BatchHandler handler) { batch_handler_ = std::move(handler); }
  void set_batch_outcome_handler(BatchOutcome outcome) { batch_outcome_ = std::move(outcome); }
  // Free-running mode only: called on this endpoint's thread after each drained inbox.
  void set_after_drain(std::function<void()> hook) { after_drain_ = std::move(hook); }
  // Fills in `sender` with this endpoint's name (the network authenticates it).
  Status send(Envelope envelope) override;

 private:
  friend class MemoryNetwork;
  MemoryTransport(MemoryNetwork& network, std::string name)
      : network_(network), name_(std::move(name)) {}

  MemoryNetwork& network_;
  std::string name_;
  Handler handler_;
  Outcome outcome_;
  std::vector<Envelope> buffered_;  // sent during a round on threads, queued after it
  BatchHandler batch_handler_;
  BatchOutcome batch_outcome_;
  bool up_ = true;

  // Free-running mode: the inbox other threads append to, and the thread that drains it.
  void serve();
  std::function<void()> after_drain_;
  std::mutex inbox_mutex_;
  std::condition_variable inbox_wake_;
  std::vector<Envelope> inbox_;
  std::vector<std::pair<MessageId, Disposition>> inbox_outcomes_;
  bool stopping_ = false;
  std::thread thread_;
};

class MemoryNetwork {
 public:
  explicit MemoryNetwork(MemoryNetworkOptions options = {});
  ~MemoryNetwork();
  MemoryNetwork(const MemoryNetwork&) = delete;
  MemoryNetwork& operator=(const MemoryNetwork&) = delete;

  // The endpoint for `name`, created on first use. The network owns it; the reference stays valid
  // for the network's lifetime.
  MemoryTransport& endpoint(const std::string& name);
  bool has_endpoint(const std::string& name) const { return endpoints_.count(name) != 0; }

  // Delivers one message: the earliest due (or a random due one with `reorder`), advancing the
  // clock to the next delivery time when nothing is due yet. False when no message can move
  // (none queued, or all blocked by partitions, down endpoints or missing handlers).
  bool deliver_one();
  // Delivers until no message can move or `steps_max` attempts were made; returns the number of
  // delivery attempts (lost attempts count).
  size_t run_until_idle(size_t steps_max = 1'000'000);
  // Delivers only what is due at the current time, without advancing the clock.
  size_t deliver_due(size_t steps_max = 1'000'000);
  // One round: advances the clock to the earliest due message, then hands every batch endpoint
  // its batch of what is due, up to `threads` endpoints at a time in parallel (see above). Falls
  // back to deliver_one() when the due messages go to endpoints without a batch handler, or with
  // `reorder`. False when no message can move.
  bool deliver_round(size_t threads);

  // Free-running threads (see above): starts one thread per endpoint that has a handler and is
  // up; what is queued for those endpoints moves to their inboxes (ignoring latency and
  // partitions), the rest stays queued. REQUIRES: not free-running.
  void start_free_running();
  // Stops and joins the threads once their inboxes are empty; messages sent to an endpoint after
  // its thread ended stay in its inbox, undelivered. No-op when not free-running.
  void stop_free_running();
  bool free_running() const { return free_running_; }
  // Messages handed over while free-running.
  uint64_t free_delivered() const { return free_delivered_.load(); }

  uint64_t now_ms() const { return now_ms_; }
  // REQUIRES: ms >= now_ms()
  void advance_to(uint64_t ms);
  void advance(uint64_t ms) { advance_to(now_ms_ + ms); }

  // Faults. Links are directed for configuration (from, to), symmetric for partitions.
  void set_link(const std::string& from, const std::string& to, LinkConfig config);
  void set_default_link(LinkConfig config) { options_.default_link = config; }
  void partition(const std::string& a, const std::string& b);
  void heal(const std::string& a, const std::string& b);
  void heal_all() { partitions_.clear(); }
  // A down endpoint receives nothing; messages to it wait until it is up again.
  void set_up(const std::string& name, bool up);
  // Discards every queued message sent by `name` (a crashed process's in-memory outbox).
  size_t drop_queued_from(const std::string& name);

  size_t queued() const { return queue_.size(); }
  // Messages handed over in batches of more than one (a measure of how much batching happened).
  uint64_t batched_messages() const { return batched_messages_; }
  const std::vector<DeliveryRecord>& deliveries() const { return deliveries_; }
  void clear_deliveries() { deliveries_.clear(); }
  uint64_t lost_attempts() const { return lost_attempts_; }

 private:
  friend class MemoryTransport;

  struct Queued {
    Envelope envelope;
    uint64_t due_ms = 0;
    uint64_t order = 0;  // queueing order, for the earliest-first choice and as a tie-break
    uint32_t attempt = 0;
    MemoryTransport* to = nullptr;  // the recipient's endpoint (endpoints are never removed)
  };
  using Key = std::pair<uint64_t, uint64_t>;  // (due_ms, order)

  Status enqueue(Envelope envelope);
  // Free-running: into the recipient's inbox (checked already), and outcomes into a sender's.
  void post(Envelope envelope);
  void post_outcomes(const std::string& sender,
                     std::vector<std::pair<MessageId, Disposition>> outcomes);
  const LinkConfig& link(const std::string& from, const std::string& to) const;
  uint64_t draw_latency(const LinkConfig& config);
  bool blocked(const Queued& message) const;
  // The message to deliver next among those not blocked and due by `limit_ms`.
  std::optional<Key> pick(uint64_t limit_ms);
  // Delivers the message at `key` (and, to an endpoint with a batch handler, the others due to it).
  void attempt(Key key);
  // Takes the message out of the queue; true when this attempt is lost (it is queued again).
  bool take(Key key, Queued& out);
  void deliver_batch(std::vector<Queued> batch);
  // A batch handed over without reporting: the dispositions, for report_batch.
  std::vector<Disposition> hand_batch(MemoryTransport* to, std::vector<Envelope>& envelopes);
  void report_batch(const std::vector<Queued>& batch, const std::vector<Envelope>& envelopes,
                    const std::vector<Disposition>& dispositions);
  Status check(const Envelope& envelope) const;
  uint64_t next_random();
  uint64_t random_below(uint64_t bound);

  MemoryNetworkOptions options_;
  uint64_t prng_state_;
  uint64_t now_ms_ = 0;
  uint64_t next_order_ = 0;
  uint64_t lost_attempts_ = 0;
  std::map<std::string, std::unique_ptr<MemoryTransport>> endpoints_;
  std::map<std::pair<std::string, std::string>, LinkConfig> links_;
  std::map<std::pair<std::string, std::string>, bool> partitions_;  // key ordered (min, max)
  // The queue, in delivery order: (due time, queueing order). Finding the next message costs a
  // walk past the blocked ones only, not a scan of everything queued.
  std::map<Key, Queued> queue_;
  std::vector<DeliveryRecord> deliveries_;
  uint64_t batched_messages_ = 0;
  bool in_round_ = false;  // a round on threads runs: sends are buffered
  bool free_running_ = false;  // written only while no endpoint thread runs
  std::atomic<uint64_t> free_delivered_{0};
};

}  // namespace folio::net
