// AmqpTransport::Engine, outbound: the outbox queue, sending, dispositions, the receipts we send.

#include "net/amqp_engine.h"

namespace folio::net {

using namespace amqp_internal;  // NOLINT: the engine's own constants and helpers

void AmqpTransport::Engine::pump_locked(Clock::time_point now, pn_connection_t* current) {
  for (auto& [name, p] : peers_) pump_peer(p, now, current);
}

void AmqpTransport::Engine::transfer(Peer& p, const MessageHead& head, ByteView payload,
                                     ByteView tag) {
  // What proton::sender::send does, minus proton::message: that would copy the payload into a
  // proton::value, again into the message's body, then encode it into a buffer grown by doubling
  // (re-encoding from the start each time). Here Proton copies the bytes once, into the delivery.
  encode_message_head(head, head_);
  pn_link_t* link = c_object<proton::link, pn_link_t>(p.sender);
  pn_delivery_t* delivery =
      pn_delivery(link, pn_dtag(reinterpret_cast<const char*>(tag.data()), tag.size()));
  pn_link_send(link, head_.data(), head_.size());
  pn_link_send(link, reinterpret_cast<const char*>(payload.data()), payload.size());
  pn_link_advance(link);
  if (pn_link_snd_settle_mode(link) == PN_SND_SETTLED) pn_delivery_settle(delivery);
}

void AmqpTransport::Engine::pump_peer(Peer& p, Clock::time_point now, pn_connection_t* current) {
  bool receipts_ready = !p.receipts_due.empty() &&
                        (p.receipts_due.size() >= config_.receipt_batch_max ||
                         now - p.receipts_since >= config_.receipt_interval);
  bool work = !p.queue.empty() || receipts_ready;
  if (!p.connection) {
    if (work && now >= p.next_connect) connect(p, now);
    return;
  }
  if (!p.ready || !p.sender || !p.sender.active()) return;
  uint64_t sent_before = stats_.messages_sent + receipts_started_;
  while (!p.receipts_due.empty() && p.sender.credit() > 0 &&
         (p.receipts_due.size() >= config_.receipt_batch_max ||
          now - p.receipts_since >= config_.receipt_interval)) {
    send_receipts(p);
  }
  // Proton walks every delivery it has not yet written on each pass over a connection's output
  // (pni_process_tpwork, twice per pass). Credit alone would let up to credit_window deliveries
  // wait there while the session window (a few dozen frames) holds them back, which made that
  // walk cost more than the messages themselves. So Proton gets only a short queue; it raises
  // PN_LINK_FLOW (on_sendable) as each transfer leaves, and that refills it.
  pn_link_t* link = c_object<proton::link, pn_link_t>(p.sender);
  pn_session_t* session = pn_link_session(link);
  auto proton_has_room = [&] {
    int queued = pn_link_queued(link);
    return queued < kProtonQueuedMax &&
           (queued == 0 || pn_session_outgoing_bytes(session) < kProtonQueuedBytesMax);
  };
  while (p.sender.credit() > 0 && !p.queue.empty() && proton_has_room()) {
    MessageId id = p.queue.front();
    p.queue.pop_front();
    auto it = p.outbox.find(id);
    if (it == p.outbox.end() || it->second.state != State::kQueued) continue;
    const Envelope& envelope = it->second.envelope;
    // The delivery tag is the message id (AMQP allows tags of up to 32 bytes): the disposition
    // names the message without a side table. A message is never in flight twice on one link.
    transfer(p,
             MessageHead{envelope.id.view(), envelope.recipient, envelope.topic, envelope.sender,
                         it->second.ephemeral, envelope.payload.size()},
             envelope.payload, envelope.id.view());
    it->second.state = State::kInFlight;
    p.in_flight.push_back(id);
    ++stats_.messages_sent;
  }
  // pump_peer also runs outside this connection's own events (timer, wake-ups, events of other
  // connections); the proactor writes a connection's output only while processing one of its
  // events, so wake it. Within its own event (`current`) the proactor writes the output anyway
  // once the event is handled, and a wake would only cost a system call and another event.
  if (stats_.messages_sent + receipts_started_ != sent_before &&
      c_object<proton::connection, pn_connection_t>(p.connection) != current)
    p.connection.wake();
}

void AmqpTransport::Engine::on_sender_close(proton::sender& sender) {
  replace_link(sender, sender.error().name());
}

void AmqpTransport::Engine::on_session_close(proton::session& session) {
  proton::connection connection = session.connection();
  for (proton::sender sender : session.senders()) replace_link(sender, session.error().name());
}

void AmqpTransport::Engine::replace_link(const proton::sender& sender, const std::string& error) {
  std::unique_lock lock(mutex_);
  auto cit = conns_.find(sender.connection());
  if (cit == conns_.end() || !cit->second.outbound) return;
  auto pit = peers_.find(cit->second.peer);
  if (pit == peers_.end() || pit->second.sender != sender) return;
  Peer& p = pit->second;
  if (error == kMessageSizeExceeded && !p.in_flight.empty()) {
    // The peer closed the link on the message it was receiving, the oldest in flight: it is too
    // large for that peer and will never be accepted.
    MessageId id = p.in_flight.front();
    p.in_flight.pop_front();
    auto it = p.outbox.find(id);
    if (it != p.outbox.end()) {
      if (!it->second.reported) report(id, Disposition::kRejected);
      erase_entry(p, it);
    }
  }
  // Dispositions of what was in flight on the closed link will not come: send those again (the
  // peer de-duplicates) on a fresh link over the same connection.
  requeue_in_flight(p);
  proton::connection connection = sender.connection();
  if (!stopping_ && connection.active()) {
    p.sender = connection.open_session().open_sender(kLinkAddress);
  } else {
    p.ready = false;
  }
  flush_outcomes(lock);
}

void AmqpTransport::Engine::on_sendable(proton::sender& sender) {
  std::lock_guard lock(mutex_);
  pump_locked(Clock::now(), c_object<proton::connection, pn_connection_t>(sender.connection()));
}

void AmqpTransport::Engine::send_receipts(Peer& p) {
  // Each entry costs 64 bytes on the wire; keep a receipt well inside the message limit.
  size_t fit = config_.limits.max_message_bytes > 1024
                   ? (config_.limits.max_message_bytes - 1024) / 64
                   : 1;
  size_t count = std::min({p.receipts_due.size(), config_.receipt_batch_max, kReceiptEntriesMax,
                           std::max<size_t>(fit, 1)});
  Receipt receipt{self_, p.name,
                  std::vector<ReceiptEntry>(p.receipts_due.begin(), p.receipts_due.begin() + count)};
  p.receipts_due.erase(p.receipts_due.begin(), p.receipts_due.begin() + count);
  p.receipts_since = Clock::now();
  Bytes body = encode_receipt(sign_receipt(receipt, receipt_key_));
  crypto::Hash256 tag = crypto::sha256(body);
  transfer(p, MessageHead{tag.view(), p.name, kReceiptTopic, self_, false, body.size()}, body,
           tag.view());
  p.receipts_in_flight[tag] = std::move(receipt.entries);
  ++receipts_started_;
}

void AmqpTransport::Engine::report(const MessageId& id, Disposition disposition) {
  if (disposition == Disposition::kAccepted)
    ++stats_.messages_accepted;
  else
    ++stats_.messages_rejected_by_peer;
  outcomes_.emplace_back(id, disposition);
}

void AmqpTransport::Engine::erase_entry(Peer& p,
                                        std::unordered_map<MessageId, OutEntry>::iterator it) {
  if (it->second.ephemeral) {
    --p.ephemeral_count;
    p.ephemeral_bytes -= it->second.envelope.payload.size();
  } else {
    (void)store_->outbox_delete(p.name, it->first);
  }
  p.outbox.erase(it);
}

void AmqpTransport::Engine::flush_outcomes(std::unique_lock<std::mutex>& lock) {
  if (!lock.owns_lock()) lock.lock();
  while (!outcomes_.empty()) {
    auto outcomes = std::move(outcomes_);
    outcomes_.clear();
    Outcome outcome = outcome_;
    lock.unlock();
    if (outcome)
      for (const auto& [id, disposition] : outcomes) outcome(id, disposition);
    lock.lock();
  }
}

void AmqpTransport::Engine::on_tracker_accept(proton::tracker& tracker) {
  std::unique_lock lock(mutex_);
  auto cit = conns_.find(tracker.connection());
  if (cit == conns_.end() || !cit->second.outbound) return;
  auto tag = delivery_tag(tracker);
  if (!tag) return;
  Peer& p = *cit->second.state;
  p.backoff = std::chrono::milliseconds(0);  // progress: the next reconnect starts afresh
  if (auto rit = p.receipts_in_flight.find(*tag); rit != p.receipts_in_flight.end()) {
    Status marked = store_->inbox_mark_receipted(p.name, rit->second);
    if (marked.ok()) ++stats_.receipts_sent;
    p.receipts_in_flight.erase(rit);
    return;
  }
  auto it = p.outbox.find(*tag);
  if (it == p.outbox.end()) return;
  forget_in_flight(p, *tag);
  if (it->second.ephemeral) {
    // Nothing to wait for: no row, no receipt.
    if (!it->second.reported) report(*tag, Disposition::kAccepted);
    erase_entry(p, it);
    flush_outcomes(lock);
    return;
  }
  it->second.state = State::kAccepted;
  it->second.accepted_at = Clock::now();
  if (!it->second.reported) {
    it->second.reported = true;
    // If this write fails the row still says "not accepted": after a restart the message is sent
    // again, de-duplicated by the peer, and reported a second time. At least once.
    (void)store_->outbox_mark_accepted(p.name, *tag);
    report(*tag, Disposition::kAccepted);
  }
  flush_outcomes(lock);
}

void AmqpTransport::Engine::on_tracker_reject(proton::tracker& tracker) {
  std::unique_lock lock(mutex_);
  auto cit = conns_.find(tracker.connection());
  if (cit == conns_.end() || !cit->second.outbound) return;
  auto tag = delivery_tag(tracker);
  if (!tag) return;
  Peer& p = *cit->second.state;
  if (auto rit = p.receipts_in_flight.find(*tag); rit != p.receipts_in_flight.end()) {
    // The peer refused our receipt: nothing to retry that would change its mind.
    last_refusal_ = "a receipt was rejected by " + p.name;
    p.receipts_in_flight.erase(rit);
    return;
  }
  auto it = p.outbox.find(*tag);
  if (it == p.outbox.end()) return;
  forget_in_flight(p, *tag);
  if (!it->second.reported) report(*tag, Disposition::kRejected);
  erase_entry(p, it);
  flush_outcomes(lock);
}

void AmqpTransport::Engine::on_tracker_release(proton::tracker& tracker) {
  std::lock_guard lock(mutex_);
  auto cit = conns_.find(tracker.connection());
  if (cit == conns_.end() || !cit->second.outbound) return;
  auto tag = delivery_tag(tracker);
  if (!tag) return;
  Peer& p = *cit->second.state;
  if (auto rit = p.receipts_in_flight.find(*tag); rit != p.receipts_in_flight.end()) {
    p.receipts_due.insert(p.receipts_due.end(), rit->second.begin(), rit->second.end());
    p.receipts_in_flight.erase(rit);
    return;
  }
  auto it = p.outbox.find(*tag);
  if (it == p.outbox.end() || it->second.state != State::kInFlight) return;
  forget_in_flight(p, *tag);
  // Released (or modified): the peer could not take it now. Back off per message.
  OutEntry& entry = it->second;
  entry.state = State::kQueued;
  ++entry.releases;
  auto delay = config_.retry_initial;
  for (uint32_t i = 1; i < entry.releases && delay < config_.retry_max; ++i) delay *= 2;
  p.delayed.push_back(Delayed{Clock::now() + std::min(delay, config_.retry_max), *tag});
}

void AmqpTransport::Engine::forget_in_flight(Peer& p, const MessageId& id) {
  // Dispositions usually come in the order of sending, so the id is usually the oldest.
  if (!p.in_flight.empty() && p.in_flight.front() == id) {
    p.in_flight.pop_front();
    return;
  }
  if (auto f = std::find(p.in_flight.begin(), p.in_flight.end(), id); f != p.in_flight.end())
    p.in_flight.erase(f);
}

void AmqpTransport::Engine::requeue_in_flight(Peer& p) {
  for (auto it = p.in_flight.rbegin(); it != p.in_flight.rend(); ++it) {
    auto entry = p.outbox.find(*it);
    if (entry == p.outbox.end() || entry->second.state != State::kInFlight) continue;
    entry->second.state = State::kQueued;
    p.queue.push_front(*it);
  }
  p.in_flight.clear();
  for (auto& [tag, entries] : p.receipts_in_flight)
    p.receipts_due.insert(p.receipts_due.end(), entries.begin(), entries.end());
  p.receipts_in_flight.clear();
}

Status AmqpTransport::Engine::send(Envelope envelope) {
  // Senders name the same few peers again and again, usually in canonical form: a name that is
  // already a key of peers_ (whose keys are all canonical) needs no parsing.
  bool known = false;
  {
    std::lock_guard lock(mutex_);
    known = peers_.contains(envelope.recipient);
  }
  if (!known) {
    auto recipient = canonical_x500(envelope.recipient);
    if (!recipient.ok())
      return make_error(ErrorCode::kInvalidArgument,
                        "recipient '" + envelope.recipient + "': " + recipient.error().message());
    envelope.recipient = std::move(*recipient);
  }
  envelope.sender = self_;
  if (envelope.topic.empty() || envelope.topic == kReceiptTopic)
    return make_error(ErrorCode::kInvalidArgument, "topic '" + envelope.topic + "' not allowed");
  if (envelope_bytes(envelope) > config_.limits.max_message_bytes)
    return make_error(ErrorCode::kLimitExceeded,
                      "message of " + std::to_string(envelope_bytes(envelope)) + " bytes, limit " +
                          std::to_string(config_.limits.max_message_bytes));
  if (!directory_.lookup(envelope.recipient))
    return make_error(ErrorCode::kNotFound, envelope.recipient + " is not in the network map");
  if (config_.ephemeral_topics.contains(envelope.topic)) {
    {
      std::lock_guard lock(mutex_);
      Peer& p = peer(envelope.recipient);
      MessageId id = envelope.id;
      if (p.outbox.contains(id)) return ok_status();
      size_t bytes = envelope.payload.size();
      if (p.ephemeral_count >= config_.ephemeral_queue_max ||
          p.ephemeral_bytes + bytes > config_.ephemeral_queue_bytes_max) {
        ++stats_.ephemeral_refused;
        return make_error(ErrorCode::kLimitExceeded,
                          "ephemeral queue to " + p.name + " is full (" +
                              std::to_string(p.ephemeral_count) + " messages)");
      }
      ++p.ephemeral_count;
      p.ephemeral_bytes += bytes;
      p.queue.push_back(id);
      OutEntry entry{std::move(envelope), crypto::Hash256{}};
      entry.ephemeral = true;
      p.outbox.emplace(id, std::move(entry));
      wake_locked();
    }
    return ok_status();
  }
  OutboxRow row{envelope, content_hash(envelope), false};
  auto inserted = store_->outbox_insert(row);
  if (!inserted.ok()) return make_error(ErrorCode::kIo, "outbox: " + inserted.error().message());
  if (!*inserted) return ok_status();
  {
    std::lock_guard lock(mutex_);
    Peer& p = peer(envelope.recipient);
    MessageId id = envelope.id;
    p.queue.push_back(id);
    p.outbox.emplace(id, OutEntry{std::move(envelope), row.content_hash});
    wake_locked();
  }
  return ok_status();
}

}  // namespace folio::net
