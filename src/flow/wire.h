// The flow engine's wire format and journal values (docs/flows.md, "Messages" and "Tables").
// Internal to src/flow: apps and core flows use context.h and engine.h.
//
// Every session message travels on topic "flow.session" as a canonical SessionMessage. Sequence
// numbers count per direction from 0; kOutOfBand (the largest uint64) marks an error or a failure
// that ends the session at once (a reject, a flow that failed or was killed) rather than in
// sequence. Message ids are deterministic:
// sha256 over (sending flow id, session id, direction, sequence number), so a replayed flow re-sends
// the same ids and receivers de-duplicate. Plain values, no state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "base/result.h"
#include "codec/codec.h"
#include "crypto/hash.h"

namespace folio::flow::wire {

inline constexpr std::string_view kTopic = "flow.session";
inline constexpr uint64_t kOutOfBand = UINT64_MAX;

enum class Kind : uint8_t {
  kOpen,   // opens a session whose initiator receives first; carries nothing for the flow
  kData,   // a payload for receive()
  kEnd,    // the sender's flow finished normally, in sequence
  kError,  // the session was refused (no responder, draining, a cap): an ErrorBody, out of band
  // The sender's flow failed (its own error, an exception) or was killed, with sessions still
  // open: an ErrorBody whose text is a safe reason (never the flow's own error text), out of band.
  kFailed,
};
constexpr uint32_t enum_count(Kind) { return 5; }
// Whether messages of this kind travel out of band (seq kOutOfBand) and end the session at once.
constexpr bool out_of_band_kind(Kind kind) {
  return kind == Kind::kError || kind == Kind::kFailed;
}
constexpr std::string_view enum_name(Kind) { return "flow message kind"; }

struct SessionMessage {
  crypto::Hash256 session_id;
  bool from_initiator = false;
  std::string initiating_flow;  // the initiating flow's registered name (from the initiator only)
  uint64_t seq = 0;
  Kind kind = Kind::kData;
  Bytes payload;
  FOLIO_FIELDS(session_id, from_initiator, initiating_flow, seq, kind, payload)
};

struct ErrorBody {
  uint8_t code = 0;  // an ErrorCode
  std::string text;
  FOLIO_FIELDS(code, text)
};

Bytes encode_error(const Error& error);
// Never fails: an undecodable body becomes a kMalformed error describing it.
Error decode_error(ByteView body);

// The value of a journalled receive (entry kind kReceive).
struct ReceivedValue {
  crypto::Hash256 session_id;
  uint64_t seq = 0;
  Kind kind = Kind::kData;
  Bytes payload;
  FOLIO_FIELDS(session_id, seq, kind, payload)
};

// The value of a journalled context call that can fail (entry kind kRecord).
struct RecordedValue {
  bool ok = false;
  Bytes value;      // the encoded T when ok
  uint8_t code = 0;  // the ErrorCode otherwise
  std::string text;
  FOLIO_FIELDS(ok, value, code, text)
};

enum class EntryKind : int64_t {
  kReceive = 1,
  kNow = 2,
  kRandom = 3,
  kTimer = 4,  // a sleep's deadline, fixed when the sleep begins
  kWake = 5,   // the sleep ended
  kRecord = 6,
};
std::string_view entry_kind_name(EntryKind kind);

crypto::Hash256 message_id(const crypto::Hash256& flow_id, const crypto::Hash256& session_id,
                           bool from_initiator, uint64_t seq);
crypto::Hash256 session_id(const crypto::Hash256& flow_id, uint64_t index);
crypto::Hash256 responder_flow_id(std::string_view initiator, const crypto::Hash256& session_id);
crypto::Hash256 started_flow_id(std::string_view self, uint64_t number, uint64_t salt);

}  // namespace folio::flow::wire
