#include "zk/transcript.h"

#include <sodium.h>

namespace folio::zk {
namespace {
void put_u64(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
}  // namespace

Transcript::Transcript(std::string_view domain) {
  state_.reserve(512);
  absorb_framed("folio/zk/transcript/v1", as_bytes(domain));
}

void Transcript::absorb_framed(std::string_view label, ByteView data) {
  put_u64(state_, label.size());
  state_.insert(state_.end(), label.begin(), label.end());
  put_u64(state_, data.size());
  state_.insert(state_.end(), data.begin(), data.end());
}

void Transcript::append(std::string_view label, ByteView data) { absorb_framed(label, data); }

void Transcript::append_u64(std::string_view label, uint64_t value) {
  uint8_t raw[8];
  for (int i = 0; i < 8; ++i) raw[i] = static_cast<uint8_t>(value >> (8 * i));
  absorb_framed(label, ByteView(raw, 8));
}

Scalar Transcript::challenge(std::string_view label) {
  ensure_sodium();
  // A distinct frame marks the challenge point, so absorbing data labelled like a challenge can
  // never produce the same hash input as deriving one.
  absorb_framed("challenge", as_bytes(label));
  std::array<uint8_t, 64> wide{};
  crypto_hash_sha512(wide.data(), state_.data(), state_.size());
  Scalar c = Scalar::reduce_wide(wide);
  absorb_framed("challenge-value", c.view());
  return c;
}

}  // namespace folio::zk
