// The notary model on its own: certificates of both forms checked by verify_notarisation, and the
// strict codec of requests and responses.
#include "notary/notary.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace folio::notary {
namespace {

crypto::PrivateKey key_named(std::string_view name) {
  return crypto::PrivateKey::ed25519(crypto::sha256(as_bytes(name)));
}

TxId tx_named(std::string_view name) { return TxId(crypto::sha256(as_bytes(name))); }

NotaryEntry single_entry(const crypto::PrivateKey& key) {
  return NotaryEntry{ledger::Party{"O=Notary,L=Zurich,C=CH", key.public_key()}, false,
                     NotaryKind::kSingle, std::nullopt};
}

// A batch certificate for ids[index], built the way the single notary builds one.
BatchCertificate certify(const crypto::PrivateKey& key, const std::vector<TxId>& ids,
                         uint32_t index) {
  std::vector<crypto::Hash256> leaves;
  for (const TxId& id : ids) leaves.push_back(batch_leaf(id));
  BatchCertificate c;
  c.notary_key = key.public_key();
  c.leaf_count = static_cast<uint32_t>(leaves.size());
  c.root = crypto::merkle_root(leaves);
  c.signature = key.sign(batch_signature_payload(c.leaf_count, c.root));
  c.branch = crypto::merkle_prove(leaves, index);
  return c;
}

TEST(BatchCertificate, EveryMemberOfTheBatchVerifies) {
  crypto::PrivateKey key = key_named("notary");
  std::vector<TxId> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(tx_named("tx" + std::to_string(i)));
  for (uint32_t i = 0; i < ids.size(); ++i) {
    Status s = verify_notarisation(ids[i], certify(key, ids, i), single_entry(key));
    EXPECT_TRUE(s.ok()) << s.error().message();
  }
}

TEST(BatchCertificate, ABranchForAnotherTransactionFails) {
  crypto::PrivateKey key = key_named("notary");
  std::vector<TxId> ids = {tx_named("a"), tx_named("b"), tx_named("c")};
  Status s = verify_notarisation(ids[0], certify(key, ids, 1), single_entry(key));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kVerification);
  EXPECT_NE(s.error().context.find("not in the signed batch"), std::string::npos);
  EXPECT_FALSE(verify_notarisation(tx_named("d"), certify(key, ids, 2), single_entry(key)).ok());
}

TEST(BatchCertificate, TamperedBranchFails) {
  crypto::PrivateKey key = key_named("notary");
  std::vector<TxId> ids = {tx_named("a"), tx_named("b"), tx_named("c"), tx_named("d")};
  BatchCertificate c = certify(key, ids, 2);
  ASSERT_FALSE(c.branch.siblings.empty());
  c.branch.siblings[0].bytes[5] ^= 0x40;
  EXPECT_FALSE(verify_notarisation(ids[2], c, single_entry(key)).ok());

  BatchCertificate shrunk = certify(key, ids, 2);
  shrunk.branch.leaf_count = 3;  // disagrees with the signed size
  EXPECT_FALSE(verify_notarisation(ids[2], shrunk, single_entry(key)).ok());
}

TEST(BatchCertificate, WrongKeyOrForgedSignatureFails) {
  crypto::PrivateKey key = key_named("notary");
  crypto::PrivateKey other = key_named("impostor");
  std::vector<TxId> ids = {tx_named("a"), tx_named("b")};
  // Signed by someone else than the entry's key.
  EXPECT_FALSE(verify_notarisation(ids[0], certify(other, ids, 0), single_entry(key)).ok());
  // The right key named, a signature by another.
  BatchCertificate c = certify(key, ids, 0);
  c.signature = other.sign(batch_signature_payload(c.leaf_count, c.root));
  Status s = verify_notarisation(ids[0], c, single_entry(key));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().context.find("signature"), std::string::npos);
}

TEST(BatchCertificate, FormMustFitTheNotaryKind) {
  crypto::PrivateKey key = key_named("notary");
  NotaryEntry entry = single_entry(key);
  Status s = verify_notarisation(tx_named("a"), sbac::NotarisationCertificate{}, entry);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  entry.kind = NotaryKind::kSharded;
  s = verify_notarisation(tx_named("a"), certify(key, {tx_named("a")}, 0), entry);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
}

// A map of one shard of four replicas (f = 1), and their keys.
struct OneShard {
  std::vector<crypto::PrivateKey> keys;
  sbac::ShardMap map;
  OneShard() {
    for (int i = 0; i < 4; ++i) keys.push_back(key_named("replica" + std::to_string(i)));
    std::sort(keys.begin(), keys.end(),
              [](const auto& a, const auto& b) { return a.public_key() < b.public_key(); });
    sbac::Shard shard;
    for (const auto& k : keys) shard.replicas.push_back(k.public_key());
    map.epoch = sbac::Epoch(3);
    map.shards.push_back(shard);
  }
  sbac::NotarisationCertificate certify(const TxId& id, size_t signers) const {
    sbac::Accepted accepted{id, sbac::Verdict::kCommit, sbac::ShardId(0), map.epoch};
    sbac::AcceptedVote vote{accepted, {}};
    for (size_t i = 0; i < signers; ++i) vote.signatures.push_back(sbac::sign(keys[i], accepted));
    return sbac::NotarisationCertificate{map.epoch, {vote}};
  }
};

TEST(ShardCertificate, BftAndShardedNotariesVerifyShardVotes) {
  OneShard shard;
  TxId id = tx_named("sharded");
  NotaryEntry bft{ledger::Party{"O=Bft,L=Paris,C=FR", shard.keys[0].public_key()}, true,
                  NotaryKind::kBft, shard.map};
  EXPECT_TRUE(verify_notarisation(id, shard.certify(id, 2), bft).ok());
  Status too_few = verify_notarisation(id, shard.certify(id, 1), bft);
  ASSERT_FALSE(too_few.ok());
  EXPECT_NE(too_few.error().context.find("too few signatures"), std::string::npos);
  EXPECT_FALSE(verify_notarisation(tx_named("other"), shard.certify(id, 2), bft).ok());

  NotaryEntry sharded = bft;
  sharded.kind = NotaryKind::kSharded;
  // Without the transaction's footprint a sharded certificate cannot be checked.
  EXPECT_EQ(verify_notarisation(id, shard.certify(id, 2), sharded).error().code,
            ErrorCode::kInvalidArgument);
  TransactionFootprint footprint{{ledger::StateRef{tx_named("in"), 0}}, {}, 1};
  EXPECT_TRUE(verify_notarisation(id, shard.certify(id, 2), sharded, &footprint).ok());
}

NotarisationResponse sample_response() {
  crypto::PrivateKey key = key_named("notary");
  std::vector<TxId> ids = {tx_named("a"), tx_named("b"), tx_named("c")};
  return NotarisationResponse{ids[1], NotarisationCertificate(certify(key, ids, 1))};
}

TEST(NotaryCodec, ResponsesRoundTripAndDecodeStrictly) {
  NotarisationResponse response = sample_response();
  Bytes bytes = codec::encode_to_bytes(response);
  auto decoded = decode_response(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, response);

  Bytes longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(decode_response(longer).ok());
  Bytes shorter(bytes.begin(), bytes.end() - 1);
  EXPECT_FALSE(decode_response(shorter).ok());
  for (size_t cut = 0; cut < bytes.size(); cut += 7)
    EXPECT_FALSE(decode_response(ByteView(bytes.data(), cut)).ok()) << cut;

  Refusal refusal{RefusalReason::kConflict,
                  "1 state(s) already consumed",
                  {Conflict{ledger::StateRef{tx_named("in"), 2}, tx_named("spender"), false}}};
  NotarisationResponse refused{tx_named("x"), refusal};
  auto back = decode_response(codec::encode_to_bytes(refused));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->refusal().conflicts.at(0).consumed_by, tx_named("spender"));
  EXPECT_NE(back->refusal().describe().find("consumed by"), std::string::npos);

  // Conflicts on a refusal that is not a conflict are not canonical.
  refused.outcome = Refusal{RefusalReason::kTimeWindow, "late", refusal.conflicts};
  EXPECT_FALSE(decode_response(codec::encode_to_bytes(refused)).ok());
}

TEST(NotaryCodec, RequestsRoundTripAndRefuseGarbage) {
  ledger::WireTransaction wtx;
  wtx.inputs.push_back(ledger::StateRef{tx_named("in"), 0});
  crypto::PrivateKey alice = key_named("alice");
  wtx.commands.push_back(ledger::Command{"test.Gate", "Move", {}, {alice.public_key()}});
  NotarisationRequest request = make_request(
      NonValidatingPayload{wtx.filter([](ledger::ComponentGroup, uint32_t) { return true; })},
      alice);
  EXPECT_EQ(request.tx_id(), wtx.id());
  auto decoded = decode_request(codec::encode_to_bytes(request));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, request);

  Bytes garbage = {0x07, 0xff, 0xff, 0xff, 0xff, 0x0f};
  EXPECT_FALSE(decode_request(garbage).ok());
  EXPECT_FALSE(decode_request({}).ok());
}

}  // namespace
}  // namespace folio::notary
