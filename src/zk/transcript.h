// Transcript: the Fiat–Shamir hash of a sigma proof. It absorbs a domain tag, the context the proof
// is bound to, the statement and the prover's commitments, each framed by a label and a length so
// that no two different sequences of absorbed items hash alike, and derives challenges from all of
// it.
//
// Binding: contracts start a transcript with their own domain ("folio.SVote/addVote/v1") and absorb
// the transaction context a copied proof cannot reuse (the consumed inputs' StateRefs, the
// command's public fields); the proof functions in proofs.h then absorb their statement and
// commitments. A proof verified under any other context derives a different challenge and fails.
//
// A value type: copying a transcript forks it, which is how several proofs share one context.
// Not thread-safe.
#pragma once

#include <string_view>

#include "base/bytes.h"
#include "zk/group.h"

namespace folio::zk {

class Transcript {
 public:
  explicit Transcript(std::string_view domain);

  void append(std::string_view label, ByteView data);
  void append_u64(std::string_view label, uint64_t value);
  void append_point(std::string_view label, const Point& p) { append(label, p.view()); }
  void append_scalar(std::string_view label, const Scalar& s) { append(label, s.view()); }
  // A challenge scalar from everything absorbed so far; the challenge itself is absorbed too, so
  // that later challenges depend on it.
  Scalar challenge(std::string_view label);

 private:
  void absorb_framed(std::string_view label, ByteView data);
  Bytes state_;  // the length-framed concatenation of everything absorbed
};

}  // namespace folio::zk
