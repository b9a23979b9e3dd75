#include "consensus/validate.h"

namespace folio::consensus {
namespace {

Rejection reject(ReplicaId from, RejectReason reason, std::string detail) {
  return Rejection{from, reason, std::move(detail)};
}

}  // namespace

std::string_view to_string(RejectReason reason) {
  switch (reason) {
    case RejectReason::kMalformed:
      return "malformed";
    case RejectReason::kOversize:
      return "oversize";
    case RejectReason::kUnknownReplica:
      return "unknown replica";
    case RejectReason::kBadSignature:
      return "bad signature";
    case RejectReason::kWrongSender:
      return "wrong sender";
    case RejectReason::kWrongLeader:
      return "wrong leader";
    case RejectReason::kInvalidCertificate:
      return "invalid certificate";
    case RejectReason::kStaleView:
      return "stale view";
    case RejectReason::kFutureView:
      return "future view";
    case RejectReason::kInvalidBlock:
      return "invalid block";
    case RejectReason::kBadTimestamp:
      return "bad timestamp";
    case RejectReason::kUnsafe:
      return "unsafe to vote";
    case RejectReason::kUnsolicited:
      return "unsolicited";
    case RejectReason::kDuplicate:
      return "duplicate";
    case RejectReason::kMempoolFull:
      return "mempool full";
  }
  return "unknown reason";
}

Committee::Committee(std::vector<crypto::PublicKey> keys) : keys_(std::move(keys)) {
  FOLIO_ASSERT(!keys_.empty());
  FOLIO_ASSERT(keys_.size() <= kReplicasMax);
  for (const crypto::PublicKey& k : keys_) FOLIO_ASSERT(!k.is_compound());
}

const crypto::PublicKey& Committee::key(ReplicaId id) const {
  FOLIO_ASSERT(contains(id));
  return keys_[id.value()];
}

Status MessageLimits::check() const {
  if (batch_count_max == 0 || batch_count_max > kBatchCountMaxLimit)
    return make_error(ErrorCode::kInvalidArgument, "batch_count_max out of range");
  if (command_bytes_max == 0 || command_bytes_max > kCommandBytesMaxLimit)
    return make_error(ErrorCode::kInvalidArgument, "command_bytes_max out of range");
  if (batch_bytes_max < command_bytes_max || batch_bytes_max > kBatchBytesMaxLimit)
    return make_error(ErrorCode::kInvalidArgument, "batch_bytes_max out of range");
  if (fetch_blocks_max == 0 || fetch_blocks_max > kFetchBlocksMaxLimit)
    return make_error(ErrorCode::kInvalidArgument, "fetch_blocks_max out of range");
  return ok_status();
}

size_t MessageLimits::message_bytes_max(uint32_t replicas) const {
  // A block: its commands with their length prefixes, a QC of at most `replicas` votes, fixed
  // fields. A response holds up to fetch_blocks_max blocks; a proposal also carries a TC.
  size_t cert = 64 + replicas * 80;
  size_t block = batch_bytes_max + batch_count_max * 4 + cert + 64;
  return fetch_blocks_max * block + cert + 64;
}

void VerifyCache::insert(const crypto::Hash256& digest) {
  if (!set_.insert(digest).second) return;
  order_.push_back(digest);
  if (order_.size() > entries_max_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
}

Validator::Validator(Committee committee, MessageLimits limits, VerifyCache* shared_cache)
    : committee_(std::move(committee)),
      limits_(limits),
      cache_(shared_cache != nullptr ? shared_cache : &own_cache_) {
  FOLIO_ASSERT(limits_.check().ok());
}

bool Validator::verify(ReplicaId signer, ByteView payload, const crypto::Signature& signature) {
  const crypto::PublicKey& key = committee_.key(signer);
  crypto::Sha256 h;
  h.update(key.leaf_bytes());
  h.update(payload);
  h.update(signature.bytes.view());
  crypto::Hash256 digest = h.finish();
  if (cache_->contains(digest)) return true;
  ++signatures_verified_;
  if (!crypto::verify(key, payload, signature)) return false;
  cache_->insert(digest);
  return true;
}

std::optional<Rejection> Validator::check_qc(ReplicaId from, const QuorumCert& qc) {
  if (qc.view == View(0)) {
    // Only the genesis block lives in view 0, and its certificate is fixed.
    if (qc == genesis_qc()) return std::nullopt;
    return reject(from, RejectReason::kInvalidCertificate, "view-0 certificate is not genesis");
  }
  if (qc.height == Height(0))
    return reject(from, RejectReason::kInvalidCertificate, "certificate of height 0 in view > 0");
  if (qc.votes.size() < committee_.quorum())
    return reject(from, RejectReason::kInvalidCertificate, "quorum certificate below quorum");
  Bytes payload = vote_payload(qc.block_id, qc.view, qc.height);
  for (const QcVote& v : qc.votes) {
    if (!committee_.contains(v.voter))
      return reject(from, RejectReason::kUnknownReplica, "certificate signer not in committee");
    if (!verify(v.voter, payload, v.signature))
      return reject(from, RejectReason::kBadSignature,
                    "certificate vote of replica " + std::to_string(v.voter.value()));
  }
  return std::nullopt;
}

std::optional<Rejection> Validator::check_tc(ReplicaId from, const TimeoutCert& tc) {
  if (tc.view == View(0))
    return reject(from, RejectReason::kInvalidCertificate, "timeout certificate for view 0");
  if (tc.entries.size() < committee_.quorum())
    return reject(from, RejectReason::kInvalidCertificate, "timeout certificate below quorum");
  for (const TcEntry& e : tc.entries) {
    if (!committee_.contains(e.voter))
      return reject(from, RejectReason::kUnknownReplica, "timeout signer not in committee");
    if (e.high_qc_view >= tc.view)
      return reject(from, RejectReason::kInvalidCertificate, "timeout entry's QC not below view");
    if (!verify(e.voter, timeout_payload(tc.view, e.high_qc_view), e.signature))
      return reject(from, RejectReason::kBadSignature,
                    "timeout entry of replica " + std::to_string(e.voter.value()));
  }
  return std::nullopt;
}

std::optional<Rejection> Validator::check_block(ReplicaId from, const Block& block) {
  if (block.view == View(0) || block.height == Height(0))
    return reject(from, RejectReason::kInvalidBlock, "block in view 0 or at height 0");
  if (block.leader != committee_.leader(block.view))
    return reject(from, RejectReason::kWrongLeader, "block leader is not its view's leader");
  if (block.qc.view >= block.view)
    return reject(from, RejectReason::kInvalidBlock, "block's QC not from an earlier view");
  if (block.qc.height.next() != block.height)
    return reject(from, RejectReason::kInvalidBlock, "block height is not its parent's plus one");
  if (block.commands.size() > limits_.batch_count_max)
    return reject(from, RejectReason::kOversize, "batch has too many commands");
  size_t total = 0;
  for (const Bytes& c : block.commands) {
    if (c.empty() || c.size() > limits_.command_bytes_max)
      return reject(from, RejectReason::kOversize, "command empty or over command_bytes_max");
    total += c.size();
  }
  if (total > limits_.batch_bytes_max)
    return reject(from, RejectReason::kOversize, "batch over batch_bytes_max");
  return check_qc(from, block.qc);
}

Validation Validator::validate(ReplicaId from, ByteView bytes) {
  if (!committee_.contains(from))
    return reject(from, RejectReason::kUnknownReplica, "sender not in committee");
  codec::Limits limits;
  limits.input_bytes_max = limits_.message_bytes_max(committee_.size());
  limits.bytes_length_max = limits_.command_bytes_max;
  limits.sequence_length_max = std::max<size_t>(limits_.batch_count_max, kReplicasMax);
  if (bytes.size() > limits.input_bytes_max)
    return reject(from, RejectReason::kOversize, "message over message_bytes_max");
  auto decoded = codec::decode_from_bytes<Message>(bytes, limits);
  if (!decoded.ok()) return reject(from, RejectReason::kMalformed, decoded.error().message());
  return validate_message(from, std::move(decoded).value());
}

Validation Validator::validate_message(ReplicaId from, Message message) {
  if (!committee_.contains(from))
    return reject(from, RejectReason::kUnknownReplica, "sender not in committee");
  std::optional<Rejection> bad;
  if (auto* p = std::get_if<Proposal>(&message)) {
    if (p->block.leader != from)
      return reject(from, RejectReason::kWrongLeader, "proposal not sent by its leader");
    bad = check_block(from, p->block);
    if (!bad && p->tc) bad = check_tc(from, *p->tc);
  } else if (auto* v = std::get_if<Vote>(&message)) {
    if (v->voter != from) return reject(from, RejectReason::kWrongSender, "vote relayed");
    if (v->view == View(0) || v->height == Height(0))
      return reject(from, RejectReason::kInvalidBlock, "vote for view 0 or height 0");
    if (!verify(v->voter, vote_payload(v->block_id, v->view, v->height), v->signature))
      return reject(from, RejectReason::kBadSignature, "vote signature");
  } else if (auto* t = std::get_if<TimeoutMessage>(&message)) {
    const Timeout& to = t->timeout;
    if (to.voter != from) return reject(from, RejectReason::kWrongSender, "timeout relayed");
    if (to.view == View(0) || to.high_qc.view >= to.view)
      return reject(from, RejectReason::kInvalidCertificate, "timeout's QC not below its view");
    if (!verify(to.voter, timeout_payload(to.view, to.high_qc.view), to.signature))
      return reject(from, RejectReason::kBadSignature, "timeout signature");
    bad = check_qc(from, to.high_qc);
    if (!bad && t->high_tc) bad = check_tc(from, *t->high_tc);
  } else if (auto* r = std::get_if<BlockRequest>(&message)) {
    if (r->count == 0 || r->count > limits_.fetch_blocks_max)
      return reject(from, RejectReason::kOversize, "block request count out of range");
  } else if (auto* resp = std::get_if<BlockResponse>(&message)) {
    if (resp->blocks.empty() || resp->blocks.size() > limits_.fetch_blocks_max)
      return reject(from, RejectReason::kOversize, "block response count out of range");
    for (const Block& b : resp->blocks) {
      bad = check_block(from, b);
      if (bad) break;
    }
  }
  if (bad) return *bad;
  return Verified<Message>(from, std::move(message));
}

}  // namespace folio::consensus
