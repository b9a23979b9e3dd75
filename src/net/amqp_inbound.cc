// AmqpTransport::Engine, inbound: checking and accepting messages, de-duplication, size bounds,
// the receipts we receive.

#include "net/amqp_engine.h"

namespace folio::net {

using namespace amqp_internal;  // NOLINT: the engine's own constants and helpers

void AmqpTransport::Engine::check_partial_deliveries() {
  // A delivery still arriving past the limit can never be accepted: close its session with the
  // error AMQP defines for that (the connection stays). The session's incoming capacity (set in
  // on_session_open) stops the peer from sending much more in the meantime. This runs on every
  // tick, so it walks Proton's C objects rather than building C++ wrappers for every link.
  const size_t bound = config_.limits.max_message_bytes + kEncodingSlackBytes;
  constexpr pn_state_t kActive = PN_LOCAL_ACTIVE | PN_REMOTE_ACTIVE;
  auto active = [](pn_state_t state) { return (state & kActive) == kActive; };
  for (auto& [connection, conn] : conns_) {
    if (conn.outbound || !conn.verified || !connection.active()) continue;
    pn_connection_t* c = c_object<proton::connection, pn_connection_t>(connection);
    bool closed = false;
    for (pn_link_t* link = pn_link_head(c, kActive); link != nullptr;
         link = pn_link_next(link, kActive)) {
      if (!pn_link_is_receiver(link) || !active(pn_session_state(pn_link_session(link))))
        continue;
      pn_delivery_t* delivery = pn_link_current(link);
      if (delivery == nullptr || !pn_delivery_partial(delivery) ||
          pn_delivery_pending(delivery) <= bound)
        continue;
      ++stats_.incoming_rejected;
      ++stats_.incoming_oversize;
      last_refusal_ = "incoming message from " + conn.peer + " passed " + std::to_string(bound) +
                      " bytes while arriving; link closed";
      // Only the link: ending the session while its frames still arrive trips Proton 0.37 ("no
      // such channel"). The session's window still counts the abandoned bytes, so the sender
      // continues on a new session; kSessionsMax bounds how often a peer can leave one behind.
      pn_condition_t* condition = pn_link_condition(link);
      pn_condition_set_name(condition, kMessageSizeExceeded.c_str());
      pn_condition_set_description(condition, last_refusal_.c_str());
      pn_link_close(link);
      closed = true;
    }
    if (closed) proton::connection(connection).wake();
  }
}

Result<Envelope> AmqpTransport::Engine::parse(const proton::message& message,
                                              const std::string& peer, bool& ephemeral) const {
  // Proton's accessors throw on values of unexpected types; every throw is a malformed message.
  // The body and the application properties are read through Proton's C data API, in place:
  // the C++ accessors would decode the properties into a std::map and copy the body twice.
  try {
    Envelope envelope;
    ephemeral = false;
    pn_data_t* properties = value_data(message.properties().value());
    std::optional<std::string_view> claimed_sender;
    pn_data_rewind(properties);
    if (pn_data_next(properties)) {
      if (pn_data_type(properties) != PN_MAP)
        return make_error(ErrorCode::kMalformed, "application properties are not a map");
      size_t count = pn_data_get_map(properties);
      pn_data_enter(properties);
      for (size_t i = 0; i + 1 < count; i += 2) {
        if (!pn_data_next(properties) || pn_data_type(properties) != PN_STRING)
          return make_error(ErrorCode::kMalformed, "application property name is not a string");
        pn_bytes_t key_bytes = pn_data_get_string(properties);
        std::string_view key(key_bytes.start, key_bytes.size);
        if (!pn_data_next(properties))
          return make_error(ErrorCode::kMalformed, "application property without a value");
        pn_type_t type = pn_data_type(properties);
        if (key == kSenderPropertyName) {
          if (claimed_sender)
            return make_error(ErrorCode::kMalformed, kSenderProperty + " given twice");
          if (type != PN_STRING)
            return make_error(ErrorCode::kMalformed, kSenderProperty + " is not an AMQP string");
          pn_bytes_t sender = pn_data_get_string(properties);
          claimed_sender = std::string_view(sender.start, sender.size);
        } else if (key == kEphemeralPropertyName) {
          if (type != PN_BOOL || !pn_data_get_bool(properties))
            return make_error(ErrorCode::kMalformed, kEphemeralProperty + " is not true");
          ephemeral = true;
        } else if (type == PN_LIST || type == PN_MAP || type == PN_ARRAY || type == PN_DESCRIBED) {
          // AMQP allows only simple types here (part 3, section 3.2.5).
          return make_error(ErrorCode::kMalformed, "application property of a compound type");
        }
      }
      pn_data_exit(properties);
    }
    proton::message_id id = message.id();
    if (id.type() != proton::BINARY)
      return make_error(ErrorCode::kMalformed, "message id is not binary");
    auto id_hash = hash_from_binary(proton::get<proton::binary>(id));
    if (!id_hash) return make_error(ErrorCode::kMalformed, "message id is not 32 bytes");
    envelope.id = *id_hash;
    pn_data_t* body = value_data(message.body());
    pn_data_rewind(body);
    if (!pn_data_next(body) || pn_data_type(body) != PN_BINARY)
      return make_error(ErrorCode::kMalformed, "message body is not binary");
    pn_bytes_t payload = pn_data_get_binary(body);
    envelope.topic = message.subject();
    if (envelope.topic.empty()) return make_error(ErrorCode::kMalformed, "message without topic");
    if (!claimed_sender)
      return make_error(ErrorCode::kMalformed, "message without " + kSenderProperty);
    FOLIO_ASSIGN_OR_RETURN(envelope.sender, canonical_as_expected(*claimed_sender, peer));
    if (envelope.sender != peer)
      return make_error(ErrorCode::kVerification,
                        "message claims sender " + envelope.sender + " on the connection of " + peer);
    std::string to = message.to();
    auto recipient = canonical_as_expected(to, self_);
    if (!recipient.ok() || *recipient != self_)
      return make_error(ErrorCode::kMalformed, "message addressed to '" + to + "'");
    envelope.recipient = std::move(*recipient);
    // Checked before the payload is copied out of Proton's buffer.
    size_t bytes = payload.size + envelope.topic.size() + envelope.sender.size() +
                   envelope.recipient.size() + envelope.id.size();
    if (bytes > config_.limits.max_message_bytes)
      return make_error(ErrorCode::kLimitExceeded,
                        "message of " + std::to_string(bytes) + " bytes, limit " +
                            std::to_string(config_.limits.max_message_bytes));
    const uint8_t* start = reinterpret_cast<const uint8_t*>(payload.start);
    envelope.payload.assign(start, start + payload.size);
    FOLIO_ASSERT(envelope_bytes(envelope) == bytes);
    return envelope;
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kMalformed, std::string("undecodable message: ") + e.what());
  }
}

void AmqpTransport::Engine::reject_incoming(proton::delivery& delivery, const Error& error) {
  ++stats_.incoming_rejected;
  if (error.code == ErrorCode::kLimitExceeded) ++stats_.incoming_oversize;
  last_refusal_ = "incoming message rejected: " + error.message();
  delivery.reject();
}

void AmqpTransport::Engine::on_message(proton::delivery& delivery, proton::message& message) {
  std::unique_lock lock(mutex_);
  auto cit = conns_.find(delivery.connection());
  if (cit == conns_.end() || cit->second.outbound || !cit->second.verified) {
    reject_incoming(delivery, make_error(ErrorCode::kVerification, "unverified connection"));
    return;
  }
  const std::string& peer_name = cit->second.peer;
  Peer& from = *cit->second.state;
  bool ephemeral = false;
  auto parsed = parse(message, peer_name, ephemeral);
  if (!parsed.ok()) {
    reject_incoming(delivery, parsed.error());
    return;
  }
  Envelope& envelope = *parsed;
  if (envelope.topic == kReceiptTopic) {
    handle_receipt(delivery, peer_name, envelope.payload);
    lock.unlock();
    flush_outcomes(lock);
    return;
  }
  if (ephemeral) {
    // No de-duplication row and no receipt (amqp_transport.h).
    Handler handler = handler_;
    if (!handler) {
      delivery.release();
      return;
    }
    lock.unlock();
    Disposition disposition = handler(envelope);
    lock.lock();
    if (disposition == Disposition::kRejected) {
      ++stats_.incoming_rejected;
      delivery.reject();
      return;
    }
    ++stats_.messages_delivered;
    ++stats_.ephemeral_delivered;
    delivery.accept();
    return;
  }
  ReceiptEntry entry{envelope.id, content_hash(envelope)};
  auto duplicate = store_->inbox_check_duplicate(peer_name, envelope.id);
  if (!duplicate.ok()) {
    last_refusal_ = "inbox: " + duplicate.error().message();
    delivery.release();  // the sender retries
    return;
  }
  if (*duplicate) {
    ++stats_.duplicates;
    if (from.receipts_due.empty()) from.receipts_since = Clock::now();
    from.receipts_due.push_back(entry);
    delivery.accept();
    return;
  }
  Handler handler = handler_;
  if (!handler) {
    delivery.release();
    return;
  }
  lock.unlock();
  Disposition disposition = handler(envelope);
  lock.lock();
  if (disposition == Disposition::kRejected) {
    ++stats_.incoming_rejected;
    delivery.reject();
    return;
  }
  Status stored = store_->inbox_insert(peer_name, entry);
  if (!stored.ok()) {
    // The handler ran but the de-duplication record is lost: the sender retries and the handler
    // may see the message again, which at-least-once delivery allows.
    last_refusal_ = "inbox: " + stored.error().message();
    delivery.release();
    return;
  }
  ++stats_.messages_delivered;
  if (from.receipts_due.empty()) from.receipts_since = Clock::now();
  from.receipts_due.push_back(entry);
  delivery.accept();
  if (from.receipts_due.size() >= config_.receipt_batch_max) pump_peer(from, Clock::now());
}

void AmqpTransport::Engine::handle_receipt(proton::delivery& delivery, const std::string& peer_name,
                                           const Bytes& payload) {
  auto receipt = decode_receipt(payload, config_.limits.max_message_bytes);
  Status verdict = ok_status();
  std::optional<PeerInfo> info;
  if (!receipt.ok()) {
    verdict = receipt.error();
  } else if (receipt->receipt.receiver != peer_name || receipt->receipt.addressee != self_) {
    verdict = make_error(ErrorCode::kVerification, "receipt names " + receipt->receipt.receiver +
                                                       " -> " + receipt->receipt.addressee);
  } else if (!(info = directory_.lookup(peer_name))) {
    verdict = make_error(ErrorCode::kNotFound, peer_name + " is not in the network map");
  } else {
    verdict = verify_receipt(*receipt, info->receipt_key);
  }
  if (!verdict.ok()) {
    ++stats_.receipts_invalid;
    reject_incoming(delivery, verdict.error());
    return;
  }
  auto deleted = store_->apply_receipt(*receipt, crypto::sha256(payload));
  if (!deleted.ok()) {
    last_refusal_ = "outbox: " + deleted.error().message();
    delivery.release();
    return;
  }
  Peer& p = peer(peer_name);
  for (const MessageId& id : *deleted) {
    auto it = p.outbox.find(id);
    if (it == p.outbox.end()) continue;
    // The receipt can overtake the disposition, which travels on the other connection.
    if (!it->second.reported) report(id, Disposition::kAccepted);
    p.outbox.erase(it);
  }
  ++stats_.receipts_verified;
  delivery.accept();
}

}  // namespace folio::net
