#include "consensus/types.h"

#include <algorithm>

namespace folio::consensus {
namespace {

constexpr std::string_view kBlockDomain = "folio/consensus/block";
constexpr std::string_view kVoteDomain = "folio/consensus/vote";
constexpr std::string_view kTimeoutDomain = "folio/consensus/timeout";
constexpr std::string_view kGenesisDomain = "folio/consensus/genesis";

}  // namespace

Status QuorumCert::check_canonical() const {
  for (size_t i = 1; i < votes.size(); ++i) {
    if (!(votes[i - 1].voter < votes[i].voter))
      return make_error(ErrorCode::kMalformed, "quorum certificate votes not strictly sorted");
  }
  return ok_status();
}

Status TimeoutCert::check_canonical() const {
  for (size_t i = 1; i < entries.size(); ++i) {
    if (!(entries[i - 1].voter < entries[i].voter))
      return make_error(ErrorCode::kMalformed, "timeout certificate entries not strictly sorted");
  }
  return ok_status();
}

View TimeoutCert::max_high_qc_view() const {
  View out(0);
  for (const TcEntry& e : entries) out = std::max(out, e.high_qc_view);
  return out;
}

size_t Block::command_bytes() const {
  size_t total = 0;
  for (const Bytes& c : commands) total += c.size();
  return total;
}

size_t Block::encoded_bytes_max() const {
  // Fixed fields and the QC's id, view and height fit in 128 bytes; each vote is a voter and a
  // 64-byte signature, each command its bytes behind a length prefix of at most 10 bytes.
  return 128 + 96 * qc.votes.size() + command_bytes() + 10 * (commands.size() + 1);
}

std::string_view message_name(const Message& message) {
  constexpr std::string_view kNames[] = {"proposal", "vote", "timeout", "block-request",
                                         "block-response"};
  return kNames[message.index()];
}

const Block& genesis_block() {
  static const Block block = [] {
    Block b;
    b.qc.block_id = BlockId(crypto::sha256(as_bytes(kGenesisDomain)));
    return b;
  }();
  return block;
}

const BlockId& genesis_id() {
  static const BlockId id = block_id(genesis_block());
  return id;
}

const QuorumCert& genesis_qc() {
  static const QuorumCert qc = [] {
    QuorumCert q;
    q.block_id = genesis_id();
    return q;
  }();
  return qc;
}

BlockId block_id(const Block& block) {
  codec::Writer w(kBlockDomain.size() + block.encoded_bytes_max());
  w.fixed(as_bytes(kBlockDomain));
  codec::encode(w, block);
  return BlockId(crypto::sha256(w.data()));
}

CommandId command_id(ByteView command) { return crypto::sha256(command); }

Bytes vote_payload(const BlockId& block_id, View view, Height height) {
  codec::Writer w(kVoteDomain.size() + 48);
  w.fixed(as_bytes(kVoteDomain));
  codec::encode(w, block_id);
  codec::encode(w, view);
  codec::encode(w, height);
  return w.take();
}

Bytes timeout_payload(View view, View high_qc_view) {
  codec::Writer w(kTimeoutDomain.size() + 16);
  w.fixed(as_bytes(kTimeoutDomain));
  codec::encode(w, view);
  codec::encode(w, high_qc_view);
  return w.take();
}

Vote make_vote(const crypto::PrivateKey& key, ReplicaId voter, const Block& block,
               const BlockId& id) {
  Vote v;
  v.block_id = id;
  v.view = block.view;
  v.height = block.height;
  v.voter = voter;
  v.signature = key.sign(vote_payload(id, block.view, block.height));
  return v;
}

Timeout make_timeout(const crypto::PrivateKey& key, ReplicaId voter, View view,
                     const QuorumCert& high_qc) {
  Timeout t;
  t.view = view;
  t.high_qc = high_qc;
  t.voter = voter;
  t.signature = key.sign(timeout_payload(view, high_qc.view));
  return t;
}

SafetyState initial_safety_state() {
  SafetyState s;
  s.view = View(1);
  s.highest_voted_view = View(0);
  s.high_qc = genesis_qc();
  return s;
}

}  // namespace folio::consensus
