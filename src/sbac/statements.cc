#include "sbac/statements.h"

#include <string>

namespace folio::sbac {
namespace {

constexpr std::string_view kPreparedDomain = "folio/sbac/prepared";
constexpr std::string_view kAcceptedDomain = "folio/sbac/accepted";

template <class Statement>
Bytes payload(std::string_view domain, const Statement& statement) {
  codec::Writer w;
  w.fixed(as_bytes(domain));
  codec::encode(w, statement);
  return w.take();
}

Error fault(std::string_view reason, const std::string& detail) {
  return make_error(ErrorCode::kVerification, std::string(reason) + ": " + detail);
}

template <class Statement>
Status verify_vote_impl(const ShardVote<Statement>& vote, const ShardMap& map) {
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
    if (!crypto::verify(sig.by, message, sig.signature))
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

Status verify_vote(const PreparedVote& vote, const ShardMap& map) {
  return verify_vote_impl(vote, map);
}
Status verify_vote(const AcceptedVote& vote, const ShardMap& map) {
  return verify_vote_impl(vote, map);
}

Status verify_certificate(const ledger::TxId& tx_id, const NotarisationCertificate& certificate,
                          const std::set<ShardId>& concerned, const ShardMap& map) {
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
    FOLIO_TRY(verify_vote(vote, map));
  }
  for (ShardId shard : concerned)
    if (!seen.contains(shard))
      return fault("missing shard", "no vote of shard " + std::to_string(shard.value()));
  return ok_status();
}

}  // namespace folio::sbac
