// AmqpTransport::Engine, inbound: checking and accepting messages, de-duplication, size bounds,
// the receipts we receive.

#include "net/amqp_engine.h"

namespace folio::net {

using namespace amqp_internal;  // NOLINT: the engine's own constants and helpers

void AmqpTransport::Engine::check_partial_deliveries() {
  // A delivery still arriving past the limit can never be accepted: close its session with the
  // error AMQP defines for that (the connection stays). The session's incoming capacity (set in
  // on_session_open) stops the peer from sending much more in the meantime.
  const size_t bound = config_.limits.max_message_bytes + kEncodingSlackBytes;
  for (auto& [connection, conn] : conns_) {
    if (conn.outbound || !conn.verified || !connection.active()) continue;
    bool closed = false;
    for (proton::receiver receiver : connection.receivers()) {
      if (!receiver.active() || !receiver.session().active()) continue;
      pn_delivery_t* delivery = pn_link_current(c_object<proton::link, pn_link_t>(receiver));
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
      receiver.close(proton::error_condition(kMessageSizeExceeded, last_refusal_));
      closed = true;
    }
    if (closed) proton::connection(connection).wake();
  }
}

Result<Envelope> AmqpTransport::Engine::parse(const proton::message& message,
                                              const std::string& peer, bool& ephemeral) const {
  // Proton's accessors throw on values of unexpected types; every throw is a malformed message.
  try {
    Envelope envelope;
    ephemeral = false;
    if (message.properties().exists(kEphemeralProperty)) {
      proton::scalar flag = message.properties().get(kEphemeralProperty);
      if (flag.type() != proton::BOOLEAN || !proton::get<bool>(flag))
        return make_error(ErrorCode::kMalformed, kEphemeralProperty + " is not true");
      ephemeral = true;
    }
    proton::message_id id = message.id();
    if (id.type() != proton::BINARY)
      return make_error(ErrorCode::kMalformed, "message id is not binary");
    auto id_hash = hash_from_binary(proton::get<proton::binary>(id));
    if (!id_hash) return make_error(ErrorCode::kMalformed, "message id is not 32 bytes");
    envelope.id = *id_hash;
    const proton::value& body = message.body();
    if (body.type() != proton::BINARY)
      return make_error(ErrorCode::kMalformed, "message body is not binary");
    auto payload = proton::get<proton::binary>(body);
    envelope.payload.assign(payload.begin(), payload.end());
    envelope.topic = message.subject();
    if (envelope.topic.empty()) return make_error(ErrorCode::kMalformed, "message without topic");
    if (!message.properties().exists(kSenderProperty))
      return make_error(ErrorCode::kMalformed, "message without " + kSenderProperty);
    FOLIO_ASSIGN_OR_RETURN(std::string sender,
                           scalar_text(message.properties().get(kSenderProperty), kSenderProperty));
    FOLIO_ASSIGN_OR_RETURN(envelope.sender, canonical_x500(sender));
    if (envelope.sender != peer)
      return make_error(ErrorCode::kVerification,
                        "message claims sender " + envelope.sender + " on the connection of " + peer);
    auto recipient = canonical_x500(message.to());
    if (!recipient.ok() || *recipient != self_)
      return make_error(ErrorCode::kMalformed, "message addressed to '" + message.to() + "'");
    envelope.recipient = *recipient;
    if (envelope_bytes(envelope) > config_.limits.max_message_bytes)
      return make_error(ErrorCode::kLimitExceeded,
                        "message of " + std::to_string(envelope_bytes(envelope)) +
                            " bytes, limit " + std::to_string(config_.limits.max_message_bytes));
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
  const std::string peer_name = cit->second.peer;
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
  Peer& from = peer(peer_name);
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
  Peer& sender = peer(peer_name);
  if (sender.receipts_due.empty()) sender.receipts_since = Clock::now();
  sender.receipts_due.push_back(entry);
  delivery.accept();
  if (sender.receipts_due.size() >= config_.receipt_batch_max) pump_peer(sender, Clock::now());
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
  for (const MessageId& id : *deleted) {
    auto it = outbox_.find(Key{peer_name, id});
    if (it == outbox_.end()) continue;
    // The receipt can overtake the disposition, which travels on the other connection.
    if (!it->second.reported) report(id, Disposition::kAccepted);
    outbox_.erase(it);
  }
  ++stats_.receipts_verified;
  delivery.accept();
}

}  // namespace folio::net
