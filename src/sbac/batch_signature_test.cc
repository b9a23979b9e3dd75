// Batched statement signatures (statements.h: BatchTree, sign_batch, verify_signature) and the
// VerifyCache: every way a batch signature can be bent must fail, and the cache must only save
// work, never accept what a fresh verification would refuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/merkle.h"
#include "sbac/statements.h"
#include "sbac/test_support.h"
#include "sbac/verify_cache.h"

namespace folio::sbac {
namespace {

using ::testing::HasSubstr;
using testing::make_network;

// A block's statements on shard 0 of a 2-shard, n = 4 map: three prepared and two accepted.
class BatchTest : public ::testing::Test {
 protected:
  BatchTest() {
    for (uint32_t i = 0; i < 3; ++i)
      prepared_.push_back(Prepared{testing::tx_id("P" + std::to_string(i)), Sequence(i),
                                   i == 1 ? Verdict::kAbort : Verdict::kCommit, ShardId(0),
                                   net_.map.epoch, Sequence(7 + i)});
    for (uint32_t i = 0; i < 2; ++i)
      accepted_.push_back(Accepted{testing::tx_id("A" + std::to_string(i)), Verdict::kCommit,
                                   ShardId(0), net_.map.epoch});
    std::vector<crypto::Hash256> leaves;
    for (const Prepared& p : prepared_) leaves.push_back(statement_leaf(p));
    for (const Accepted& a : accepted_) leaves.push_back(statement_leaf(a));
    tree_.emplace(std::move(leaves));
    for (uint32_t r = 0; r < 4; ++r) signatures_.push_back(sign_batch(net_.keys[0][r], *tree_));
  }
  // Replica r's signature of prepared_[i] / accepted_[i].
  const ReplicaSignature& of_prepared(uint32_t r, uint32_t i) const { return signatures_[r][i]; }
  const ReplicaSignature& of_accepted(uint32_t r, uint32_t i) const {
    return signatures_[r][3 + i];
  }
  static BatchSignature& batch(ReplicaSignature& s) { return std::get<BatchSignature>(s.signature); }

  testing::Network net_ = make_network(2, 4);
  std::vector<Prepared> prepared_;
  std::vector<Accepted> accepted_;
  std::optional<BatchTree> tree_;
  std::vector<std::vector<ReplicaSignature>> signatures_;
};

TEST(BatchTree, HasTheShapeOfCryptoMerkleForEveryLeafCount) {
  for (uint32_t n = 1; n <= 40; ++n) {
    std::vector<crypto::Hash256> leaves;
    for (uint32_t i = 0; i < n; ++i) leaves.push_back(statement_leaf(as_bytes(std::to_string(i))));
    BatchTree tree(leaves);
    EXPECT_EQ(tree.root(), crypto::merkle_root(leaves)) << n;
    EXPECT_EQ(tree.node_hashes(), n - 1u);
    for (uint32_t i = 0; i < n; ++i)
      EXPECT_EQ(tree.branch(i), crypto::merkle_prove(leaves, i).siblings) << n << " " << i;
  }
}

TEST(BatchTree, LeavesAreDomainSeparatedFromNodes) {
  Bytes payload(64, 0x5a);
  crypto::Hash256 left = crypto::Hash256::from(ByteView(payload.data(), 32));
  crypto::Hash256 right = crypto::Hash256::from(ByteView(payload.data() + 32, 32));
  // The same 64 bytes hashed as a leaf and as an interior node differ (prefix 0x00 vs 0x01).
  EXPECT_NE(statement_leaf(payload), crypto::merkle_node(left, right));
  Bytes prefixed{kStatementLeafPrefix};
  prefixed.insert(prefixed.end(), payload.begin(), payload.end());
  EXPECT_EQ(statement_leaf(payload), crypto::sha256(prefixed));
}

TEST_F(BatchTest, EveryStatementOfTheBatchVerifiesUnderOneSignature) {
  for (uint32_t r = 0; r < 4; ++r) {
    for (uint32_t i = 0; i < 3; ++i) EXPECT_TRUE(verify_signature(prepared_[i], of_prepared(r, i)));
    for (uint32_t i = 0; i < 2; ++i) EXPECT_TRUE(verify_signature(accepted_[i], of_accepted(r, i)));
    // One root signature for the whole batch.
    EXPECT_EQ(std::get<BatchSignature>(of_prepared(r, 0).signature).signature,
              std::get<BatchSignature>(of_accepted(r, 1).signature).signature);
  }
  // f+1 batched signatures are a vote, and an accepted vote is a certificate.
  PreparedVote vote{prepared_[0], {of_prepared(0, 0), of_prepared(2, 0)}};
  EXPECT_TRUE(verify_vote(vote, net_.map).ok());
  NotarisationCertificate certificate{
      net_.map.epoch, {AcceptedVote{accepted_[1], {of_accepted(1, 1), of_accepted(3, 1)}}}};
  EXPECT_TRUE(
      verify_certificate(accepted_[1].tx_id, certificate, {ShardId(0)}, net_.map).ok());
}

TEST_F(BatchTest, ATamperedBranchIsRejected) {
  ReplicaSignature s = of_prepared(0, 0);
  ASSERT_FALSE(batch(s).branch.empty());
  batch(s).branch[0].bytes[3] ^= 1;
  EXPECT_FALSE(verify_signature(prepared_[0], s));
  ReplicaSignature shorter = of_prepared(0, 0);
  batch(shorter).branch.pop_back();
  EXPECT_FALSE(verify_signature(prepared_[0], shorter));
  ReplicaSignature longer = of_prepared(0, 0);
  batch(longer).branch.push_back(batch(longer).root);
  EXPECT_FALSE(verify_signature(prepared_[0], longer));
  ReplicaSignature other_root = of_prepared(0, 0);
  batch(other_root).root.bytes[0] ^= 1;
  EXPECT_FALSE(verify_signature(prepared_[0], other_root));
  ReplicaSignature bad_signature = of_prepared(0, 0);
  batch(bad_signature).signature.bytes.bytes[9] ^= 1;
  EXPECT_FALSE(verify_signature(prepared_[0], bad_signature));
}

TEST_F(BatchTest, AWrongLeafCountOrIndexIsRejected) {
  for (uint32_t count : {0u, 1u, 4u, 6u, 8u, kBatchLeavesMax + 1}) {
    ReplicaSignature s = of_prepared(0, 2);
    batch(s).leaf_count = count;
    EXPECT_FALSE(verify_signature(prepared_[2], s)) << count;
  }
  for (uint32_t index : {0u, 1u, 3u, 5u, 99u}) {
    ReplicaSignature s = of_prepared(0, 2);
    batch(s).index = index;
    EXPECT_FALSE(verify_signature(prepared_[2], s)) << index;
  }
}

TEST_F(BatchTest, AStatementCannotBorrowAnotherStatementsBranch) {
  // Swapped for another statement of the same batch, with the same signer and root.
  EXPECT_FALSE(verify_signature(prepared_[0], of_prepared(0, 2)));
  EXPECT_FALSE(verify_signature(prepared_[2], of_prepared(0, 0)));
  EXPECT_FALSE(verify_signature(accepted_[0], of_accepted(0, 1)));
  // A statement that was never in the batch, e.g. another verdict or sequence_max.
  Prepared flipped = prepared_[0];
  flipped.verdict = Verdict::kAbort;
  EXPECT_FALSE(verify_signature(flipped, of_prepared(0, 0)));
  Prepared lied = prepared_[0];
  lied.sequence_max = Sequence(1000);
  EXPECT_FALSE(verify_signature(lied, of_prepared(0, 0)));
}

TEST_F(BatchTest, APreparedLeafCannotBePresentedAsAnAccepted) {
  // prepared_[0] is (P0, s=0, commit, shard 0); an accepted with the same fields is another leaf.
  Accepted lookalike{prepared_[0].tx_id, prepared_[0].verdict, prepared_[0].shard,
                     prepared_[0].epoch};
  EXPECT_FALSE(verify_signature(lookalike, of_prepared(0, 0)));
  EXPECT_FALSE(verify_signature(lookalike, of_prepared(1, 0)));
  // Nor the other way round.
  Prepared back{accepted_[0].tx_id, Sequence(0), accepted_[0].verdict, accepted_[0].shard,
                accepted_[0].epoch, Sequence(0)};
  EXPECT_FALSE(verify_signature(back, of_accepted(0, 0)));
}

TEST_F(BatchTest, ABatchOfAnotherEpochCountsOnlyUnderItsOwnMap) {
  // The same replicas under an epoch-2 map.
  ShardMap next = net_.map;
  next.epoch = Epoch(2);
  PreparedVote vote{prepared_[0], {of_prepared(0, 0), of_prepared(1, 0)}};
  VerifyCache cache;
  ASSERT_TRUE(verify_vote(vote, net_.map, &cache).ok());
  // Verified (and cached) under epoch 1, the vote still does not count under epoch 2 ...
  EXPECT_THAT(verify_vote(vote, next, &cache).error().context, HasSubstr("wrong epoch"));
  // ... nor does relabelling the statement's epoch, whose leaf is then not in the batch.
  PreparedVote relabelled = vote;
  relabelled.statement.epoch = Epoch(2);
  EXPECT_THAT(verify_vote(relabelled, next, &cache).error().context, HasSubstr("bad signature"));
}

TEST_F(BatchTest, TheCacheVerifiesABatchOncePerSigner) {
  VerifyCache cache;
  for (uint32_t i = 0; i < 3; ++i)
    EXPECT_TRUE(verify_signature(prepared_[i], of_prepared(0, i), &cache));
  for (uint32_t i = 0; i < 2; ++i)
    EXPECT_TRUE(verify_signature(accepted_[i], of_accepted(0, i), &cache));
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.hits(), 4u);
  // Another signer of the same batch is another entry.
  EXPECT_TRUE(verify_signature(prepared_[0], of_prepared(1, 0), &cache));
  EXPECT_EQ(cache.misses(), 2u);
  EXPECT_EQ(cache.size(), 2u);
  // A cached batch does not make a bent branch good: the branch is checked before the cache.
  ReplicaSignature bent = of_prepared(0, 1);
  batch(bent).branch[0].bytes[0] ^= 1;
  EXPECT_FALSE(verify_signature(prepared_[1], bent, &cache));
  EXPECT_FALSE(verify_signature(prepared_[0], of_prepared(0, 1), &cache));
}

TEST_F(BatchTest, TheCacheNeverTurnsABadSignatureIntoAGoodOne) {
  VerifyCache cache;
  ASSERT_TRUE(verify_signature(prepared_[0], of_prepared(0, 0), &cache));
  // Same key and root, other signature bytes: a miss, and refused.
  ReplicaSignature forged = of_prepared(0, 0);
  batch(forged).signature.bytes.bytes[0] ^= 1;
  EXPECT_FALSE(verify_signature(prepared_[0], forged, &cache));
  EXPECT_FALSE(verify_signature(prepared_[0], forged, &cache));  // failures are not remembered
  // Same signature bytes claimed by another key: a miss, and refused.
  ReplicaSignature claimed = of_prepared(0, 0);
  claimed.by = net_.keys[0][1].public_key();
  EXPECT_FALSE(verify_signature(prepared_[0], claimed, &cache));
  // Same key and signature, another leaf count (another signed payload): refused.
  ReplicaSignature recounted = of_prepared(0, 0);
  batch(recounted).leaf_count = 4;
  EXPECT_FALSE(verify_signature(prepared_[0], recounted, &cache));
  EXPECT_EQ(cache.size(), 1u);
  // Direct signatures: the cache keys the whole message, so another statement misses.
  Prepared other = prepared_[0];
  other.session = Sequence(5);
  ReplicaSignature direct = sign(net_.keys[0][0], prepared_[0]);
  EXPECT_TRUE(verify_signature(prepared_[0], direct, &cache));
  EXPECT_FALSE(verify_signature(other, direct, &cache));
  EXPECT_TRUE(verify_signature(prepared_[0], direct, &cache));
  EXPECT_EQ(cache.hits(), 1u);
}

TEST_F(BatchTest, TheCacheIsBoundedAndEvictsTheLeastRecentlyUsed) {
  VerifyCache cache(2);
  ASSERT_TRUE(verify_signature(prepared_[0], of_prepared(0, 0), &cache));  // A
  ASSERT_TRUE(verify_signature(prepared_[0], of_prepared(1, 0), &cache));  // B
  ASSERT_TRUE(verify_signature(prepared_[0], of_prepared(0, 0), &cache));  // A again: hit
  ASSERT_TRUE(verify_signature(prepared_[0], of_prepared(2, 0), &cache));  // C evicts B
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.misses(), 3u);
  ASSERT_TRUE(verify_signature(prepared_[0], of_prepared(0, 0), &cache));  // A: hit
  EXPECT_EQ(cache.misses(), 3u);
  ASSERT_TRUE(verify_signature(prepared_[0], of_prepared(1, 0), &cache));  // B: miss
  EXPECT_EQ(cache.misses(), 4u);
  // A copy starts empty, with the same bound.
  VerifyCache copy = cache;
  EXPECT_EQ(copy.size(), 0u);
  EXPECT_EQ(copy.entries_max(), 2u);
}

TEST_F(BatchTest, BatchSignaturesRoundTripThroughTheCodecStrictly) {
  PreparedVote vote{prepared_[1], {of_prepared(0, 1), sign(net_.keys[0][3], prepared_[1])}};
  Bytes bytes = codec::encode_to_bytes(vote);
  auto decoded = codec::decode_from_bytes<PreparedVote>(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, vote);
  EXPECT_TRUE(verify_vote(*decoded, net_.map).ok());
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(codec::decode_from_bytes<PreparedVote>(ByteView(bytes.data(), n)).ok()) << n;
  bytes.push_back(0);
  EXPECT_FALSE(codec::decode_from_bytes<PreparedVote>(bytes).ok());
}

// ---- The Merkle memo (VerifyCache::verify_batch) --------------------------------------------

// A tree of `n` leaves signed by `key`, with every leaf's signature.
struct SignedTree {
  std::vector<crypto::Hash256> leaves;
  std::optional<BatchTree> tree;
  std::vector<ReplicaSignature> signatures;
};
SignedTree signed_tree(const crypto::PrivateKey& key, uint32_t n, const std::string& salt) {
  SignedTree t;
  for (uint32_t i = 0; i < n; ++i)
    t.leaves.push_back(statement_leaf(as_bytes(salt + std::to_string(i))));
  t.tree.emplace(t.leaves);
  t.signatures = sign_batch(key, *t.tree);
  return t;
}
bool verify_leaf(VerifyCache& cache, const crypto::Hash256& leaf, const ReplicaSignature& s) {
  const auto& b = std::get<BatchSignature>(s.signature);
  return cache.verify_batch(leaf, b.index, b.leaf_count, b.branch, b.root, s.by,
                            batch_payload(b.leaf_count, b.root), b.signature);
}

TEST(MerkleMemo, FoldsExactlyAsCryptoMerkleForEveryShapeAndBentBranch) {
  // For every leaf count and index: the true branch, and branches bent in every way (a flipped
  // bit at each level, one sibling too few or too many, the wrong index), with and without the
  // memo warmed by every other leaf, answer as merkle_compute_root does.
  crypto::PrivateKey key = crypto::PrivateKey::ed25519(crypto::Hash256{});
  for (uint32_t n = 1; n <= 33; ++n) {
    SignedTree t = signed_tree(key, n, "n" + std::to_string(n) + "/");
    VerifyCache cold;
    VerifyCache warm;
    for (uint32_t i = 0; i < n; ++i) ASSERT_TRUE(verify_leaf(warm, t.leaves[i], t.signatures[i]));
    for (uint32_t i = 0; i < n; ++i) {
      const auto& b = std::get<BatchSignature>(t.signatures[i].signature);
      std::vector<std::pair<uint32_t, std::vector<crypto::Hash256>>> cases{{i, b.branch}};
      for (size_t level = 0; level < b.branch.size(); ++level) {
        auto bent = b.branch;
        bent[level].bytes[31] ^= 0x80;
        cases.emplace_back(i, bent);
      }
      if (!b.branch.empty()) cases.emplace_back(i, std::vector(b.branch.begin(), b.branch.end() - 1));
      auto longer = b.branch;
      longer.push_back(t.leaves[0]);
      cases.emplace_back(i, longer);
      cases.emplace_back((i + 1) % n, b.branch);
      for (const auto& [index, branch] : cases) {
        std::optional<crypto::Hash256> root =
            crypto::merkle_compute_root(t.leaves[i], crypto::MerkleProof{index, n, branch});
        bool expected = root.has_value() && *root == b.root;
        ReplicaSignature s = t.signatures[i];
        std::get<BatchSignature>(s.signature).index = index;
        std::get<BatchSignature>(s.signature).branch = branch;
        EXPECT_EQ(verify_leaf(cold, t.leaves[i], s), expected) << n << " " << i << " " << index;
        EXPECT_EQ(verify_leaf(warm, t.leaves[i], s), expected) << n << " " << i << " " << index;
      }
    }
  }
}

TEST(MerkleMemo, ABlockCostsAboutOneNodeHashPerStatement) {
  crypto::PrivateKey key = crypto::PrivateKey::ed25519(crypto::Hash256{});
  SignedTree t = signed_tree(key, 256, "block/");
  VerifyCache cache;
  for (uint32_t i = 0; i < 256; ++i) ASSERT_TRUE(verify_leaf(cache, t.leaves[i], t.signatures[i]));
  // 255 interior nodes, each hashed once: without the memo 256 branches of 8 hashes.
  EXPECT_EQ(cache.node_hashes(), 255u);
  EXPECT_EQ(cache.misses(), 1u);
  EXPECT_EQ(cache.trees(), 1u);
  // The same statements again (another copy of the block's statements): no node hashed.
  for (uint32_t i = 0; i < 256; ++i) ASSERT_TRUE(verify_leaf(cache, t.leaves[i], t.signatures[i]));
  EXPECT_EQ(cache.node_hashes(), 255u);
}

TEST(MerkleMemo, ATamperedBranchIsStillRefusedWhenItsNodesAreRemembered) {
  crypto::PrivateKey key = crypto::PrivateKey::ed25519(crypto::Hash256{});
  SignedTree t = signed_tree(key, 16, "t/");
  VerifyCache cache;
  for (uint32_t i = 0; i < 16; ++i) ASSERT_TRUE(verify_leaf(cache, t.leaves[i], t.signatures[i]));
  // Every node of the tree is remembered now. A leaf that is not in the tree, under a remembered
  // leaf's branch, is refused: its first node is not remembered, so it is hashed, and the hash
  // leads elsewhere.
  crypto::Hash256 stranger = statement_leaf(as_bytes(std::string("not in the block")));
  EXPECT_FALSE(verify_leaf(cache, stranger, t.signatures[5]));
  // A remembered leaf with a bent sibling at each level is refused too, including above the
  // level where its own nodes match.
  for (size_t level = 0; level < 4; ++level) {
    ReplicaSignature bent = t.signatures[5];
    std::get<BatchSignature>(bent.signature).branch[level].bytes[0] ^= 1;
    EXPECT_FALSE(verify_leaf(cache, t.leaves[5], bent)) << level;
  }
  // A remembered leaf claimed at another index (its own branch) is refused.
  ReplicaSignature moved = t.signatures[5];
  std::get<BatchSignature>(moved.signature).index = 4;
  EXPECT_FALSE(verify_leaf(cache, t.leaves[5], moved));
  // Remembered nodes do not stand in for the root's signature: another key, or other signature
  // bytes, over the same remembered tree are refused.
  ReplicaSignature forged = t.signatures[5];
  std::get<BatchSignature>(forged.signature).signature.bytes.bytes[0] ^= 1;
  EXPECT_FALSE(verify_leaf(cache, t.leaves[5], forged));
  ReplicaSignature claimed = t.signatures[5];
  claimed.by = crypto::PrivateKey::ed25519(crypto::sha256(as_bytes(std::string("other"))))
                   .public_key();
  EXPECT_FALSE(verify_leaf(cache, t.leaves[5], claimed));
  // And the honest statements still pass.
  EXPECT_TRUE(verify_leaf(cache, t.leaves[5], t.signatures[5]));
}

TEST(MerkleMemo, NodesAreRememberedOnlyForPathsWhoseRootSignatureVerified) {
  crypto::PrivateKey key = crypto::PrivateKey::ed25519(crypto::Hash256{});
  SignedTree t = signed_tree(key, 8, "s/");
  VerifyCache cache;
  // A correct branch under a forged root signature: refused, and nothing remembered.
  ReplicaSignature forged = t.signatures[2];
  std::get<BatchSignature>(forged.signature).signature.bytes.bytes[3] ^= 1;
  EXPECT_FALSE(verify_leaf(cache, t.leaves[2], forged));
  EXPECT_EQ(cache.trees(), 0u);
  // Then the honest signature: remembered.
  EXPECT_TRUE(verify_leaf(cache, t.leaves[2], t.signatures[2]));
  EXPECT_EQ(cache.trees(), 1u);
}

TEST(MerkleMemo, TreesWithTheSameRootButAnotherLeafCountShareNothing) {
  // The memo is keyed by (leaf_count, root): a branch claimed under another leaf count (another
  // shape, another signed payload) never takes this tree's nodes.
  crypto::PrivateKey key = crypto::PrivateKey::ed25519(crypto::Hash256{});
  SignedTree t = signed_tree(key, 6, "c/");
  VerifyCache cache;
  for (uint32_t i = 0; i < 6; ++i) ASSERT_TRUE(verify_leaf(cache, t.leaves[i], t.signatures[i]));
  for (uint32_t count : {5u, 7u, 8u}) {
    ReplicaSignature recounted = t.signatures[4];
    std::get<BatchSignature>(recounted.signature).leaf_count = count;
    EXPECT_FALSE(verify_leaf(cache, t.leaves[4], recounted)) << count;
  }
}

TEST(MerkleMemo, TreesAreBoundedOldestFirstOutAndCopiesStartEmpty) {
  crypto::PrivateKey key = crypto::PrivateKey::ed25519(crypto::Hash256{});
  VerifyCache cache(16, 2);
  std::vector<SignedTree> trees;
  for (int k = 0; k < 3; ++k) trees.push_back(signed_tree(key, 4, "b" + std::to_string(k)));
  for (const SignedTree& t : trees)
    for (uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(verify_leaf(cache, t.leaves[i], t.signatures[i]));
  EXPECT_EQ(cache.trees(), 2u);
  uint64_t hashed = cache.node_hashes();
  // The first tree was evicted: its statements verify again, hashing again.
  ASSERT_TRUE(verify_leaf(cache, trees[0].leaves[0], trees[0].signatures[0]));
  EXPECT_EQ(cache.node_hashes(), hashed + 2);
  EXPECT_EQ(cache.trees(), 2u);
  VerifyCache copy = cache;
  EXPECT_EQ(copy.trees(), 0u);
  EXPECT_EQ(copy.trees_max(), 2u);
}

TEST_F(BatchTest, VerifySignatureWithACacheAnswersAsWithoutOne) {
  // Every replica's signature of every statement, true and bent, through one shared cache.
  VerifyCache cache;
  for (uint32_t r = 0; r < 4; ++r)
    for (uint32_t i = 0; i < 3; ++i) {
      ReplicaSignature good = of_prepared(r, i);
      EXPECT_TRUE(verify_signature(prepared_[i], good, &cache));
      ReplicaSignature bent = good;
      batch(bent).branch.back().bytes[7] ^= 4;
      EXPECT_EQ(verify_signature(prepared_[i], bent, &cache), verify_signature(prepared_[i], bent));
      EXPECT_FALSE(verify_signature(prepared_[(i + 1) % 3], good, &cache));
    }
}

}  // namespace
}  // namespace folio::sbac
