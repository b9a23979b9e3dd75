#include "net/memory_transport.h"

#include <algorithm>
#include <iterator>
#include <thread>
#include <tuple>

namespace folio::net {

Status MemoryTransport::send(Envelope envelope) {
  envelope.sender = name_;
  if (network_.free_running_) {
    FOLIO_TRY(network_.check(envelope));
    network_.post(std::move(envelope));
    return ok_status();
  }
  if (network_.in_round_) {
    // A round on threads: only this endpoint's thread touches its buffer; queued after the round.
    FOLIO_TRY(network_.check(envelope));
    buffered_.push_back(std::move(envelope));
    return ok_status();
  }
  return network_.enqueue(std::move(envelope));
}

MemoryNetwork::MemoryNetwork(MemoryNetworkOptions options)
    : options_(std::move(options)), prng_state_(options_.seed) {}

MemoryNetwork::~MemoryNetwork() { stop_free_running(); }

// ---- Free-running threads -------------------------------------------------------------------

void MemoryNetwork::post(Envelope envelope) {
  MemoryTransport& to = *endpoints_.find(envelope.recipient)->second;  // checked by the sender
  {
    std::lock_guard<std::mutex> lock(to.inbox_mutex_);
    to.inbox_.push_back(std::move(envelope));
  }
  to.inbox_wake_.notify_one();
}

void MemoryNetwork::post_outcomes(const std::string& sender,
                                  std::vector<std::pair<MessageId, Disposition>> outcomes) {
  auto it = endpoints_.find(sender);
  if (it == endpoints_.end()) return;
  MemoryTransport& to = *it->second;
  {
    std::lock_guard<std::mutex> lock(to.inbox_mutex_);
    for (auto& o : outcomes) to.inbox_outcomes_.push_back(std::move(o));
  }
  to.inbox_wake_.notify_one();
}

void MemoryNetwork::start_free_running() {
  FOLIO_ASSERT(!free_running_);
  free_running_ = true;
  // What is queued for endpoints that will be served moves to their inboxes, in queue order.
  for (auto it = queue_.begin(); it != queue_.end();) {
    MemoryTransport* to = it->second.to;
    if (!to->up_ || (!to->handler_ && !to->batch_handler_)) {
      ++it;
      continue;
    }
    to->inbox_.push_back(std::move(it->second.envelope));
    it = queue_.erase(it);
  }
  for (auto& [name, endpoint] : endpoints_) {
    MemoryTransport* e = endpoint.get();
    if (!e->up_ || (!e->handler_ && !e->batch_handler_)) continue;
    {
      std::lock_guard<std::mutex> lock(e->inbox_mutex_);
      e->stopping_ = false;
    }
    e->thread_ = std::thread([e] { e->serve(); });
  }
}

void MemoryNetwork::stop_free_running() {
  if (!free_running_) return;
  for (auto& [name, endpoint] : endpoints_) {
    {
      std::lock_guard<std::mutex> lock(endpoint->inbox_mutex_);
      endpoint->stopping_ = true;
    }
    endpoint->inbox_wake_.notify_one();
  }
  for (auto& [name, endpoint] : endpoints_)
    if (endpoint->thread_.joinable()) endpoint->thread_.join();
  free_running_ = false;
}

void MemoryTransport::serve() {
  for (;;) {
    std::vector<Envelope> messages;
    std::vector<std::pair<MessageId, Disposition>> outcomes;
    {
      std::unique_lock<std::mutex> lock(inbox_mutex_);
      inbox_wake_.wait(lock,
                       [&] { return stopping_ || !inbox_.empty() || !inbox_outcomes_.empty(); });
      if (inbox_.empty() && inbox_outcomes_.empty()) return;  // stopping, nothing left
      messages.swap(inbox_);
      outcomes.swap(inbox_outcomes_);
    }
    if (!outcomes.empty()) {
      if (batch_outcome_) {
        batch_outcome_(outcomes);
      } else if (outcome_) {
        for (const auto& [id, disposition] : outcomes) outcome_(id, disposition);
      }
    }
    if (!messages.empty()) {
      std::vector<Disposition> dispositions;
      if (batch_handler_) {
        dispositions = batch_handler_(messages);
        FOLIO_ASSERT(dispositions.size() == messages.size());
      } else {
        for (const Envelope& e : messages) dispositions.push_back(handler_(e));
      }
      network_.free_delivered_ += messages.size();
      // Outcomes grouped by sender, in the order the senders first appear in the batch.
      std::vector<std::pair<std::string, std::vector<std::pair<MessageId, Disposition>>>> by_sender;
      for (size_t i = 0; i < messages.size(); ++i) {
        const Envelope& e = messages[i];
        auto group = std::find_if(by_sender.begin(), by_sender.end(),
                                  [&](const auto& g) { return g.first == e.sender; });
        if (group == by_sender.end()) {
          by_sender.emplace_back(e.sender, std::vector<std::pair<MessageId, Disposition>>{});
          group = std::prev(by_sender.end());
        }
        group->second.emplace_back(e.id, dispositions[i]);
      }
      for (auto& [sender, list] : by_sender) network_.post_outcomes(sender, std::move(list));
    }
    if (after_drain_) after_drain_();
  }
}

MemoryTransport& MemoryNetwork::endpoint(const std::string& name) {
  auto it = endpoints_.find(name);
  if (it == endpoints_.end()) {
    it = endpoints_.emplace(name, std::unique_ptr<MemoryTransport>(new MemoryTransport(*this, name)))
             .first;
  }
  return *it->second;
}

// splitmix64: small, fast and good enough to draw latencies and losses reproducibly.
uint64_t MemoryNetwork::next_random() {
  uint64_t z = (prng_state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t MemoryNetwork::random_below(uint64_t bound) {
  FOLIO_ASSERT(bound > 0);
  // Rejection sampling keeps the draw unbiased.
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  for (;;) {
    uint64_t r = next_random();
    if (r < limit) return r % bound;
  }
}

const LinkConfig& MemoryNetwork::link(const std::string& from, const std::string& to) const {
  auto it = links_.find({from, to});
  return it == links_.end() ? options_.default_link : it->second;
}

uint64_t MemoryNetwork::draw_latency(const LinkConfig& config) {
  if (config.latency_max_ms <= config.latency_min_ms) return config.latency_min_ms;
  return config.latency_min_ms + random_below(config.latency_max_ms - config.latency_min_ms + 1);
}

Status MemoryNetwork::check(const Envelope& envelope) const {
  size_t size = envelope.payload.size() + envelope.id.size() + envelope.sender.size() +
                envelope.recipient.size() + envelope.topic.size();
  if (size > options_.limits.max_message_bytes) {
    return make_error(ErrorCode::kLimitExceeded,
                      "message of " + std::to_string(size) + " bytes exceeds the limit of " +
                          std::to_string(options_.limits.max_message_bytes));
  }
  if (endpoints_.find(envelope.recipient) == endpoints_.end()) {
    return make_error(ErrorCode::kNotFound, "no endpoint named '" + envelope.recipient + "'");
  }
  return ok_status();
}

Status MemoryNetwork::enqueue(Envelope envelope) {
  FOLIO_TRY(check(envelope));
  auto to = endpoints_.find(envelope.recipient);
  uint64_t due = now_ms_ + draw_latency(link(envelope.sender, envelope.recipient));
  uint64_t order = next_order_++;
  queue_.emplace(Key{due, order}, Queued{std::move(envelope), due, order, 1, to->second.get()});
  return ok_status();
}

void MemoryNetwork::advance_to(uint64_t ms) {
  FOLIO_ASSERT(ms >= now_ms_);
  now_ms_ = ms;
}

void MemoryNetwork::set_link(const std::string& from, const std::string& to, LinkConfig config) {
  links_[{from, to}] = config;
}

void MemoryNetwork::partition(const std::string& a, const std::string& b) {
  partitions_[std::minmax(a, b)] = true;
}

void MemoryNetwork::heal(const std::string& a, const std::string& b) {
  partitions_.erase(std::minmax(a, b));
}

void MemoryNetwork::set_up(const std::string& name, bool up) { endpoint(name).up_ = up; }

size_t MemoryNetwork::drop_queued_from(const std::string& name) {
  return std::erase_if(queue_, [&](const auto& entry) { return entry.second.envelope.sender == name; });
}

bool MemoryNetwork::blocked(const Queued& message) const {
  const Envelope& e = message.envelope;
  if (!partitions_.empty() && partitions_.count(std::minmax(e.sender, e.recipient)) != 0) return true;
  return !message.to->up_ || !message.to->handler_;
}

std::optional<MemoryNetwork::Key> MemoryNetwork::pick(uint64_t limit_ms) {
  if (!options_.reorder) {
    // The earliest due, ties by queueing order: the first unblocked entry of the ordered queue.
    for (const auto& [key, message] : queue_) {
      if (key.first > limit_ms) return std::nullopt;
      if (!blocked(message)) return key;
    }
    return std::nullopt;
  }
  // A random one of the due messages, drawn over them in queueing order.
  std::vector<Key> due;
  for (const auto& [key, message] : queue_) {
    if (key.first > limit_ms) break;
    if (!blocked(message)) due.push_back(key);
  }
  if (due.empty()) return std::nullopt;
  std::sort(due.begin(), due.end(), [](const Key& a, const Key& b) { return a.second < b.second; });
  return due[random_below(due.size())];
}

bool MemoryNetwork::take(Key key, Queued& out) {
  auto node = queue_.extract(key);
  FOLIO_ASSERT(!node.empty());
  out = std::move(node.mapped());
  if (out.due_ms > now_ms_) now_ms_ = out.due_ms;
  const LinkConfig& config = link(out.envelope.sender, out.envelope.recipient);
  if (config.loss_ppm > 0 && random_below(1'000'000) < config.loss_ppm) {
    // Lost in transit: the sender hears nothing and tries again later.
    ++lost_attempts_;
    out.due_ms = now_ms_ + options_.retry_interval_ms + draw_latency(config);
    out.attempt += 1;
    out.order = next_order_++;
    uint64_t due = out.due_ms;
    uint64_t order = out.order;
    queue_.emplace(Key{due, order}, std::move(out));
    return true;
  }
  return false;
}

void MemoryNetwork::attempt(Key key) {
  Queued message;
  if (take(key, message)) return;
  MemoryTransport* to = message.to;
  if (to->batch_handler_ && !options_.reorder) {
    // Everything else due to the same endpoint now, in delivery order, goes in the same batch.
    std::vector<Queued> batch;
    batch.push_back(std::move(message));
    for (auto it = queue_.begin(); it != queue_.end() && it->first.first <= now_ms_ &&
                                   batch.size() < options_.batch_messages_max;) {
      if (it->second.to != to || blocked(it->second)) {
        ++it;
        continue;
      }
      Key next = it->first;
      ++it;  // a lost attempt is queued again later than now, past the end of this walk
      Queued other;
      if (!take(next, other)) batch.push_back(std::move(other));
    }
    deliver_batch(std::move(batch));
    return;
  }

  // Copy the handler: it may replace itself (a node being rebuilt) while it runs.
  Transport::Handler handler = to->handler_;
  Disposition disposition = handler(message.envelope);
  if (options_.record) {
    deliveries_.push_back(DeliveryRecord{now_ms_, message.envelope.id, message.envelope.sender,
                                         message.envelope.recipient, message.envelope.topic,
                                         disposition, message.attempt});
  }
  auto sender = endpoints_.find(message.envelope.sender);
  if (sender != endpoints_.end() && sender->second->outcome_) {
    Transport::Outcome outcome = sender->second->outcome_;
    outcome(message.envelope.id, disposition);
  }
}

std::vector<Disposition> MemoryNetwork::hand_batch(MemoryTransport* to,
                                                   std::vector<Envelope>& envelopes) {
  // Copied: the handler may replace itself while it runs.
  MemoryTransport::BatchHandler handler = to->batch_handler_;
  std::vector<Disposition> dispositions = handler(envelopes);
  FOLIO_ASSERT(dispositions.size() == envelopes.size());
  return dispositions;
}

void MemoryNetwork::deliver_batch(std::vector<Queued> batch) {
  MemoryTransport* to = batch.front().to;
  std::vector<Envelope> envelopes;
  envelopes.reserve(batch.size());
  for (Queued& q : batch) envelopes.push_back(std::move(q.envelope));
  std::vector<Disposition> dispositions = hand_batch(to, envelopes);
  report_batch(batch, envelopes, dispositions);
}

void MemoryNetwork::report_batch(const std::vector<Queued>& batch,
                                 const std::vector<Envelope>& envelopes,
                                 const std::vector<Disposition>& dispositions) {
  if (envelopes.size() > 1) batched_messages_ += envelopes.size();
  // Outcomes grouped by sender, in the order the senders first appear in the batch.
  std::vector<std::pair<std::string, std::vector<std::pair<MessageId, Disposition>>>> by_sender;
  for (size_t i = 0; i < envelopes.size(); ++i) {
    const Envelope& e = envelopes[i];
    if (options_.record) {
      deliveries_.push_back(DeliveryRecord{now_ms_, e.id, e.sender, e.recipient, e.topic,
                                           dispositions[i], batch[i].attempt});
    }
    auto group = std::find_if(by_sender.begin(), by_sender.end(),
                              [&](const auto& g) { return g.first == e.sender; });
    if (group == by_sender.end()) {
      by_sender.emplace_back(e.sender, std::vector<std::pair<MessageId, Disposition>>{});
      group = std::prev(by_sender.end());
    }
    group->second.emplace_back(e.id, dispositions[i]);
  }
  for (const auto& [name, outcomes] : by_sender) {
    auto sender = endpoints_.find(name);
    if (sender == endpoints_.end()) continue;
    if (sender->second->batch_outcome_) {
      MemoryTransport::BatchOutcome outcome = sender->second->batch_outcome_;
      outcome(outcomes);
    } else if (sender->second->outcome_) {
      Transport::Outcome outcome = sender->second->outcome_;
      for (const auto& [id, disposition] : outcomes) outcome(id, disposition);
    }
  }
}

bool MemoryNetwork::deliver_one() {
  std::optional<uint64_t> earliest;
  for (const auto& [key, message] : queue_) {
    if (!blocked(message)) {
      earliest = key.first;
      break;
    }
  }
  if (!earliest) return false;
  if (*earliest > now_ms_) now_ms_ = *earliest;
  std::optional<Key> next = pick(now_ms_);
  FOLIO_ASSERT(next.has_value());
  attempt(*next);
  return true;
}

bool MemoryNetwork::deliver_round(size_t threads) {
  if (threads <= 1 || options_.reorder) return deliver_one();
  std::optional<uint64_t> earliest;
  for (const auto& [key, message] : queue_) {
    if (!blocked(message)) {
      earliest = key.first;
      break;
    }
  }
  if (!earliest) return false;
  if (*earliest > now_ms_) now_ms_ = *earliest;
  // Each batch endpoint's due messages, in delivery order; losses drawn here, on this thread.
  std::vector<std::pair<MemoryTransport*, std::vector<Queued>>> batches;
  for (auto it = queue_.begin(); it != queue_.end() && it->first.first <= now_ms_;) {
    const Queued& q = it->second;
    if (!q.to->batch_handler_ || blocked(q)) {
      ++it;
      continue;
    }
    auto group = std::find_if(batches.begin(), batches.end(),
                              [&](const auto& b) { return b.first == q.to; });
    if (group == batches.end()) {
      batches.emplace_back(q.to, std::vector<Queued>{});
      group = std::prev(batches.end());
    }
    if (group->second.size() >= options_.batch_messages_max) {
      ++it;
      continue;
    }
    Key key = it->first;
    ++it;  // a lost attempt is queued again later than now, past the end of this walk
    Queued taken;
    if (!take(key, taken)) group->second.push_back(std::move(taken));
  }
  std::erase_if(batches, [](const auto& b) { return b.second.empty(); });
  if (batches.empty()) return deliver_one();
  // The endpoints' batches in parallel, `threads` at a time; this thread takes the first of each
  // wave.
  std::vector<std::vector<Envelope>> envelopes(batches.size());
  std::vector<std::vector<Disposition>> dispositions(batches.size());
  for (size_t i = 0; i < batches.size(); ++i) {
    for (Queued& q : batches[i].second) envelopes[i].push_back(std::move(q.envelope));
  }
  in_round_ = true;
  for (size_t first = 0; first < batches.size(); first += threads) {
    const size_t end = std::min(batches.size(), first + threads);
    std::vector<std::thread> workers;
    for (size_t i = first + 1; i < end; ++i) {
      workers.emplace_back(
          [&, i] { dispositions[i] = hand_batch(batches[i].first, envelopes[i]); });
    }
    dispositions[first] = hand_batch(batches[first].first, envelopes[first]);
    for (std::thread& worker : workers) worker.join();
  }
  in_round_ = false;
  // What the handlers sent, queued in endpoint-name order (the latency draws stay reproducible),
  // then the deliveries recorded and the outcomes reported.
  for (auto& [name, endpoint] : endpoints_) {
    std::vector<Envelope> sent = std::move(endpoint->buffered_);
    endpoint->buffered_.clear();
    for (Envelope& e : sent) {
      Status queued = enqueue(std::move(e));
      FOLIO_ASSERT(queued.ok());  // checked when sent; endpoints are never removed
    }
  }
  for (size_t i = 0; i < batches.size(); ++i)
    report_batch(batches[i].second, envelopes[i], dispositions[i]);
  return true;
}

size_t MemoryNetwork::run_until_idle(size_t steps_max) {
  size_t steps = 0;
  while (steps < steps_max && deliver_one()) ++steps;
  return steps;
}

size_t MemoryNetwork::deliver_due(size_t steps_max) {
  size_t steps = 0;
  while (steps < steps_max) {
    std::optional<Key> next = pick(now_ms_);
    if (!next) break;
    attempt(*next);
    ++steps;
  }
  return steps;
}

}  // namespace folio::net
