// The signed statements of S-BAC: payloads, direct and batched signatures, votes, certificates.
#include "sbac/statements.h"

#include <array>
#include <cstring>
#include <string>

#include "crypto/merkle.h"

namespace folio::sbac {
namespace {

constexpr std::string_view kPreparedDomain = "folio/sbac/prepared";
constexpr std::string_view kAcceptedDomain = "folio/sbac/accepted";
constexpr std::string_view kBatchDomain = "folio/sbac/batch/v1";

// VerifyCache's Merkle memo holds a path of every tree this bound allows.
static_assert(kBatchLeavesMax <= (1u << (kVerifyCacheTreeLevelsMax - 1)));

template <class Statement>
Bytes payload(std::string_view domain, const Statement& statement) {
  codec::Writer w(128);  // a statement's payload is about 80 bytes: one allocation
  w.fixed(as_bytes(domain));
  codec::encode(w, statement);
  return w.take();
}

Error fault(std::string_view reason, const std::string& detail) {
  return make_error(ErrorCode::kVerification, std::string(reason) + ": " + detail);
}

template <class Statement>
Status verify_vote_impl(const ShardVote<Statement>& vote, const ShardMap& map,
                        VerifyCache* cache) {
  const Statement& s = vote.statement;
  std::string where = "shard " + std::to_string(s.shard.value());
  if (!map.contains(s.shard)) return fault("unknown shard", where);
  if (s.epoch != map.epoch)
    return fault("wrong epoch", where + " signed epoch " + std::to_string(s.epoch.value()) +
                                    ", the map is epoch " + std::to_string(map.epoch.value()));
  const Shard& shard = map.shard(s.shard);
  if (vote.signatures.size() < shard.vote_quorum())
    return fault("too few signatures", where + ": " + std::to_string(vote.signatures.size()) +
                                           " of the " + std::to_string(shard.vote_quorum()) +
                                           " needed");
  if (vote.signatures.size() > shard.size())
    return fault("too many signatures", where + ": " + std::to_string(vote.signatures.size()));
  Bytes message = signing_payload(s);
  std::set<crypto::PublicKey> signers;
  for (const ReplicaSignature& sig : vote.signatures) {
    if (!shard.is_member(sig.by)) return fault("not a member", where + ": " + sig.by.describe());
    if (!signers.insert(sig.by).second)
      return fault("duplicate signer", where + ": " + sig.by.describe());
    if (!verify_signature(message, sig, cache))
      return fault("bad signature", where + ": " + sig.by.describe());
  }
  return ok_status();
}

}  // namespace

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kCommit:
      return "commit";
    case Verdict::kAbort:
      return "abort";
  }
  return "unknown verdict";
}

Bytes signing_payload(const Prepared& statement) { return payload(kPreparedDomain, statement); }
Bytes signing_payload(const Accepted& statement) { return payload(kAcceptedDomain, statement); }

ReplicaSignature sign(const crypto::PrivateKey& key, const Prepared& statement) {
  return ReplicaSignature{key.public_key(), key.sign(signing_payload(statement))};
}
ReplicaSignature sign(const crypto::PrivateKey& key, const Accepted& statement) {
  return ReplicaSignature{key.public_key(), key.sign(signing_payload(statement))};
}

crypto::Hash256 statement_leaf(ByteView signing_payload) {
  // A statement's payload is about 80 bytes: hashed in one call from the stack, which costs less
  // than an incremental hash's own context.
  std::array<uint8_t, 256> buffer;
  if (signing_payload.size() < buffer.size()) {
    buffer[0] = kStatementLeafPrefix;
    std::memcpy(buffer.data() + 1, signing_payload.data(), signing_payload.size());
    return crypto::sha256(ByteView(buffer.data(), signing_payload.size() + 1));
  }
  crypto::Sha256 h;
  h.update(kStatementLeafPrefix);
  h.update(signing_payload);
  return h.finish();
}
crypto::Hash256 statement_leaf(const Prepared& statement) {
  return statement_leaf(signing_payload(statement));
}
crypto::Hash256 statement_leaf(const Accepted& statement) {
  return statement_leaf(signing_payload(statement));
}

Bytes batch_payload(uint32_t leaf_count, const crypto::Hash256& root) {
  codec::Writer w(kBatchDomain.size() + 4 + 32);
  w.fixed(as_bytes(kBatchDomain));
  w.u32(leaf_count);
  w.fixed(root.view());
  return w.take();
}

BatchTree::BatchTree(std::vector<crypto::Hash256> leaves) {
  FOLIO_ASSERT(!leaves.empty());
  FOLIO_ASSERT(leaves.size() <= kBatchLeavesMax);
  levels_.push_back(std::move(leaves));
  // Bottom-up, pairing neighbours and lifting an odd last node unchanged: the RFC 9162 shape
  // (its left subtree, a power of two, pairs perfectly at every level).
  while (levels_.back().size() > 1) {
    const std::vector<crypto::Hash256>& below = levels_.back();
    std::vector<crypto::Hash256> above;
    above.reserve((below.size() + 1) / 2);
    for (size_t i = 0; i + 1 < below.size(); i += 2)
      above.push_back(crypto::merkle_node(below[i], below[i + 1]));
    if (below.size() % 2 == 1) above.push_back(below.back());
    levels_.push_back(std::move(above));
  }
}

std::vector<crypto::Hash256> BatchTree::branch(uint32_t index) const {
  FOLIO_ASSERT(index < leaf_count());
  std::vector<crypto::Hash256> out;
  size_t i = index;
  for (size_t level = 0; level + 1 < levels_.size(); ++level) {
    const std::vector<crypto::Hash256>& nodes = levels_[level];
    size_t sibling = i ^ 1;
    if (sibling < nodes.size()) out.push_back(nodes[sibling]);  // else lifted: no sibling here
    i >>= 1;
  }
  return out;
}

ReplicaSignature BatchTree::signature(uint32_t index, const crypto::PublicKey& by,
                                      const crypto::Signature& root_signature) const {
  return ReplicaSignature{by, BatchSignature{leaf_count(), index, root(), branch(index),
                                             root_signature}};
}

std::vector<ReplicaSignature> sign_batch(const crypto::PrivateKey& key, const BatchTree& tree) {
  crypto::Signature root_signature = key.sign(tree.payload());
  std::vector<ReplicaSignature> out;
  out.reserve(tree.leaf_count());
  for (uint32_t i = 0; i < tree.leaf_count(); ++i)
    out.push_back(tree.signature(i, key.public_key(), root_signature));
  return out;
}

bool verify_signature(ByteView signing_payload, const ReplicaSignature& signature,
                      VerifyCache* cache) {
  auto check = [&](ByteView message, const crypto::Signature& s) {
    return cache != nullptr ? cache->verify(signature.by, message, s)
                            : crypto::verify(signature.by, message, s);
  };
  if (const auto* direct = std::get_if<crypto::Signature>(&signature.signature))
    return check(signing_payload, *direct);
  const auto& batch = std::get<BatchSignature>(signature.signature);
  if (batch.leaf_count == 0 || batch.leaf_count > kBatchLeavesMax) return false;
  if (batch.index >= batch.leaf_count) return false;
  // With a cache, its Merkle memo saves the hashes of nodes that earlier statements of the same
  // tree proved, and the root's signature is still checked for this statement (verify_cache.h).
  if (cache != nullptr)
    return cache->verify_batch(statement_leaf(signing_payload), batch.index, batch.leaf_count,
                               batch.branch, batch.root, signature.by,
                               batch_payload(batch.leaf_count, batch.root), batch.signature);
  // merkle_compute_root rejects a branch too short or too long for (index, leaf_count).
  crypto::MerkleProof proof{batch.index, batch.leaf_count, batch.branch};
  std::optional<crypto::Hash256> root =
      crypto::merkle_compute_root(statement_leaf(signing_payload), proof);
  if (!root || *root != batch.root) return false;
  return check(batch_payload(batch.leaf_count, batch.root), batch.signature);
}
bool verify_signature(const Prepared& statement, const ReplicaSignature& signature,
                      VerifyCache* cache) {
  return verify_signature(signing_payload(statement), signature, cache);
}
bool verify_signature(const Accepted& statement, const ReplicaSignature& signature,
                      VerifyCache* cache) {
  return verify_signature(signing_payload(statement), signature, cache);
}

Status verify_vote(const PreparedVote& vote, const ShardMap& map, VerifyCache* cache) {
  return verify_vote_impl(vote, map, cache);
}
Status verify_vote(const AcceptedVote& vote, const ShardMap& map, VerifyCache* cache) {
  return verify_vote_impl(vote, map, cache);
}

Status verify_certificate(const ledger::TxId& tx_id, const NotarisationCertificate& certificate,
                          const std::set<ShardId>& concerned, const ShardMap& map) {
  return verify_certificate(tx_id, certificate, concerned, map, nullptr);
}

Status verify_certificate(const ledger::TxId& tx_id, const NotarisationCertificate& certificate,
                          const std::set<ShardId>& concerned, const ShardMap& map,
                          VerifyCache* cache) {
  if (concerned.empty()) return fault("no concerned shard", "nothing to certify");
  if (certificate.epoch != map.epoch)
    return fault("wrong epoch", "certificate of epoch " +
                                    std::to_string(certificate.epoch.value()) + ", the map is " +
                                    std::to_string(map.epoch.value()));
  std::set<ShardId> seen;
  for (const AcceptedVote& vote : certificate.votes) {
    const Accepted& s = vote.statement;
    std::string where = "shard " + std::to_string(s.shard.value());
    if (s.tx_id != tx_id)
      return fault("wrong transaction", where + " accepted " + s.tx_id.value().short_hex());
    if (s.verdict != Verdict::kCommit) return fault("not a commit", where + " accepted abort");
    if (!concerned.contains(s.shard)) return fault("unexpected shard", where);
    if (!seen.insert(s.shard).second) return fault("duplicate shard", where);
    FOLIO_TRY(verify_vote(vote, map, cache));
  }
  for (ShardId shard : concerned)
    if (!seen.contains(shard))
      return fault("missing shard", "no vote of shard " + std::to_string(shard.value()));
  return ok_status();
}

}  // namespace folio::sbac
