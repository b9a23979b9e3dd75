#include "net/memory_transport.h"

#include <algorithm>
#include <tuple>

namespace folio::net {

Status MemoryTransport::send(Envelope envelope) {
  envelope.sender = name_;
  return network_.enqueue(std::move(envelope));
}

MemoryNetwork::MemoryNetwork(MemoryNetworkOptions options)
    : options_(std::move(options)), prng_state_(options_.seed) {}

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

Status MemoryNetwork::enqueue(Envelope envelope) {
  size_t size = envelope.payload.size() + envelope.id.size() + envelope.sender.size() +
                envelope.recipient.size() + envelope.topic.size();
  if (size > options_.limits.max_message_bytes) {
    return make_error(ErrorCode::kLimitExceeded,
                      "message of " + std::to_string(size) + " bytes exceeds the limit of " +
                          std::to_string(options_.limits.max_message_bytes));
  }
  if (!has_endpoint(envelope.recipient)) {
    return make_error(ErrorCode::kNotFound, "no endpoint named '" + envelope.recipient + "'");
  }
  uint64_t due = now_ms_ + draw_latency(link(envelope.sender, envelope.recipient));
  queue_.push_back(Queued{std::move(envelope), due, next_order_++, 1});
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
  size_t before = queue_.size();
  std::erase_if(queue_, [&](const Queued& q) { return q.envelope.sender == name; });
  return before - queue_.size();
}

bool MemoryNetwork::blocked(const Queued& message) const {
  const Envelope& e = message.envelope;
  if (partitions_.count(std::minmax(e.sender, e.recipient)) != 0) return true;
  auto it = endpoints_.find(e.recipient);
  FOLIO_ASSERT(it != endpoints_.end());  // checked when queued; endpoints are never removed
  return !it->second->up_ || !it->second->handler_;
}

std::optional<size_t> MemoryNetwork::pick(uint64_t limit_ms) {
  std::vector<size_t> due;
  for (size_t i = 0; i < queue_.size(); ++i) {
    if (queue_[i].due_ms <= limit_ms && !blocked(queue_[i])) due.push_back(i);
  }
  if (due.empty()) return std::nullopt;
  if (options_.reorder) return due[random_below(due.size())];
  return *std::min_element(due.begin(), due.end(), [&](size_t a, size_t b) {
    const Queued& x = queue_[a];
    const Queued& y = queue_[b];
    return std::tie(x.due_ms, x.order) < std::tie(y.due_ms, y.order);
  });
}

void MemoryNetwork::attempt(size_t index) {
  Queued message = std::move(queue_[index]);
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(index));
  if (message.due_ms > now_ms_) now_ms_ = message.due_ms;

  const LinkConfig& config = link(message.envelope.sender, message.envelope.recipient);
  if (config.loss_ppm > 0 && random_below(1'000'000) < config.loss_ppm) {
    // Lost in transit: the sender hears nothing and tries again later.
    ++lost_attempts_;
    message.due_ms = now_ms_ + options_.retry_interval_ms + draw_latency(config);
    message.attempt += 1;
    message.order = next_order_++;
    queue_.push_back(std::move(message));
    return;
  }

  // Copy the handler: it may replace itself (a node being rebuilt) while it runs.
  Transport::Handler handler = endpoints_.at(message.envelope.recipient)->handler_;
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

bool MemoryNetwork::deliver_one() {
  std::optional<uint64_t> earliest;
  for (const Queued& q : queue_) {
    if (!blocked(q) && (!earliest || q.due_ms < *earliest)) earliest = q.due_ms;
  }
  if (!earliest) return false;
  if (*earliest > now_ms_) now_ms_ = *earliest;
  std::optional<size_t> next = pick(now_ms_);
  FOLIO_ASSERT(next.has_value());
  attempt(*next);
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
    std::optional<size_t> next = pick(now_ms_);
    if (!next) break;
    attempt(*next);
    ++steps;
  }
  return steps;
}

}  // namespace folio::net
