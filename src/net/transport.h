// Transport: how a node or a notary replica exchanges messages with its peers (ARCHITECTURE.md
// section 4, "Messaging"). Two implementations share this interface: the in-memory transport
// (tests, MockNetwork, the simulator: injectable latency, loss, partition, recording) and the AMQP
// 1.0 transport over mutual TLS (Qpid Proton, real processes).
//
// Delivery is at least once. A sender hands an Envelope to `send`; the transport retries it, with
// back-off, until the recipient accepts it, across restarts (the AMQP transport keeps its outbox in
// the node's database; the in-memory one for its lifetime). A recipient may therefore see a message
// more than once and must de-duplicate by `id`, which the sender derives deterministically (for a
// flow: from flow id, session and sequence number), so a replayed flow re-sends the same ids.
//
// A recipient accepts a message by returning from its handler with `Disposition::kAccepted` once
// the message is durably processed or recognised as a duplicate; `kRejected` (malformed, unknown
// topic) also ends redelivery, and is reported to the sender. The handler may be called on a
// transport thread; it must not block for long.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/hash.h"

namespace folio::net {

using MessageId = crypto::Hash256;

struct Envelope {
  MessageId id;
  std::string sender;     // X.500 name of the sending node or replica, as authenticated
  std::string recipient;  // X.500 name
  std::string topic;      // e.g. "flow.session", "notary.sbac", "consensus"
  Bytes payload;
};

enum class Disposition : uint8_t { kAccepted, kRejected };

struct TransportLimits {
  size_t max_message_bytes = 10u << 20;  // payload plus headers
};

class Transport {
 public:
  using Handler = std::function<Disposition(const Envelope&)>;
  // Called once for each sent message when the recipient has accepted or rejected it.
  using Outcome = std::function<void(const MessageId&, Disposition)>;

  virtual ~Transport() = default;

  // This endpoint's X.500 name.
  virtual const std::string& self() const = 0;

  // Set before the first message can arrive (before `start` for transports that have one).
  virtual void set_handler(Handler handler) = 0;
  virtual void set_outcome_handler(Outcome outcome) = 0;

  // Queues `envelope` for delivery. Errors: kLimitExceeded (too large), kNotFound (recipient not
  // in the network map), kIo (the outbox could not be written). Returns once the message is
  // queued, not delivered.
  virtual Status send(Envelope envelope) = 0;
};

}  // namespace folio::net
