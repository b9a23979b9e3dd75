// The AMQP 1.0 bytes of a Folio message as the AMQP transport sends them (docs/messaging.md), built
// without Proton's message object.
//
// A Folio message has three sections: properties (message-id: 32 bytes of binary; user-id: null;
// to: the recipient's canonical name; subject: the topic), application-properties (a map of
// "folio-sender" to the sender's canonical name and, for ephemeral topics, "folio-ephemeral" to
// true) and an amqp-value section holding the payload as binary. These are the bytes Proton's
// decoder reads on the receiving side, so any AMQP 1.0 peer can read them too.
//
// encode_message_head writes everything up to and including the body's binary constructor and
// length; the payload's bytes follow on the wire as they are, so the sender hands Proton the head
// and the payload without building one buffer of both. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace folio::net {

// What precedes a message's payload.
struct MessageHead {
  ByteView id;               // the message id (32 bytes for Folio messages)
  std::string_view to;       // recipient
  std::string_view subject;  // topic
  std::string_view sender;   // value of the "folio-sender" application property
  bool ephemeral = false;    // adds "folio-ephemeral" = true
  size_t body_bytes = 0;     // the payload's length. REQUIRES: below 4 GiB
};

inline constexpr std::string_view kSenderPropertyName = "folio-sender";
inline constexpr std::string_view kEphemeralPropertyName = "folio-ephemeral";

// Replaces `out` with the head's bytes; the payload of head.body_bytes bytes must follow them.
// `out` keeps its capacity, so a caller that reuses it does not allocate per message.
void encode_message_head(const MessageHead& head, std::vector<char>& out);

}  // namespace folio::net
