#include "flow/wire.h"

namespace folio::flow::wire {
namespace {

void put_u64(crypto::Sha256& h, uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  h.update(ByteView(b, 8));
}

void put_text(crypto::Sha256& h, std::string_view s) {
  put_u64(h, s.size());
  h.update(as_bytes(s));
}

}  // namespace

Bytes encode_error(const Error& error) {
  return codec::encode_to_bytes(ErrorBody{static_cast<uint8_t>(error.code), error.context});
}

Error decode_error(ByteView body) {
  auto decoded = codec::decode_from_bytes<ErrorBody>(body);
  if (!decoded.ok()) {
    return make_error(ErrorCode::kMalformed, "undecodable error from counterparty: " +
                                                 decoded.error().message());
  }
  if (decoded->code > static_cast<uint8_t>(ErrorCode::kInternal)) {
    return make_error(ErrorCode::kMalformed, "counterparty error with unknown code " +
                                                 std::to_string(decoded->code) + ": " +
                                                 decoded->text);
  }
  return make_error(static_cast<ErrorCode>(decoded->code), std::move(decoded->text));
}

std::string_view entry_kind_name(EntryKind kind) {
  switch (kind) {
    case EntryKind::kReceive:
      return "receive";
    case EntryKind::kNow:
      return "now";
    case EntryKind::kRandom:
      return "random";
    case EntryKind::kTimer:
      return "timer";
    case EntryKind::kWake:
      return "wake";
    case EntryKind::kRecord:
      return "record";
  }
  return "unknown";
}

crypto::Hash256 message_id(const crypto::Hash256& flow_id, const crypto::Hash256& session_id,
                           bool from_initiator, uint64_t seq) {
  crypto::Sha256 h;
  put_text(h, "folio.flow.message");
  h.update(flow_id.view()).update(session_id.view()).update(from_initiator ? 1 : 0);
  put_u64(h, seq);
  return h.finish();
}

crypto::Hash256 session_id(const crypto::Hash256& flow_id, uint64_t index) {
  crypto::Sha256 h;
  put_text(h, "folio.flow.session");
  h.update(flow_id.view());
  put_u64(h, index);
  return h.finish();
}

crypto::Hash256 responder_flow_id(std::string_view initiator, const crypto::Hash256& session_id) {
  crypto::Sha256 h;
  put_text(h, "folio.flow.responder");
  put_text(h, initiator);
  h.update(session_id.view());
  return h.finish();
}

crypto::Hash256 started_flow_id(std::string_view self, uint64_t number, uint64_t salt) {
  crypto::Sha256 h;
  put_text(h, "folio.flow.started");
  put_text(h, self);
  put_u64(h, number);
  put_u64(h, salt);
  return h.finish();
}

}  // namespace folio::flow::wire
