// The signed statements of S-BAC (Chainspace §V-A; Byzcuit's sessions) and the notarisation
// certificate built from them.
//
// A replica of shard s signs `prepared(T, s_T, verdict, s, epoch, sequence_max)` when it executes a
// sequenced prepare, and `accepted(T, verdict, s, epoch, s_T)` when it executes a sequenced accept.
// Payloads are the canonical encoding prefixed by a domain tag ("folio/sbac/prepared",
// "folio/sbac/accepted"), so one statement can never be replayed as another, nor as a consensus vote
// or a transaction signature. A shard's vote is one statement with f+1 signatures by distinct
// replicas of that shard under the shard map of the statement's epoch (LOCALPREPARED). The
// notarisation certificate is one `accepted(T, commit)` vote per concerned shard;
// `verify_certificate` checks it against a shard map, and anyone (client, counterparty, auditor)
// may run it.
//
// Batched signatures: a replica signs all the statements of one committed block with one Ed25519
// signature over the Merkle root of their leaves (BatchTree; leaf = SHA-256(0x00 || the statement's
// signing payload), interior nodes as crypto/merkle.h with prefix 0x01, so a leaf is never an
// interior node and a prepared never an accepted). The signed payload is
// "folio/sbac/batch/v1" || u32 leaf_count || root, and every statement's ReplicaSignature carries
// its leaf's index, the leaf count, the root and the branch. A verifier recomputes the root from
// the statement and the branch, and checks the one signature, through a VerifyCache if it has one
// (N statements of one batch: one verification). The direct form (a signature over the statement's
// own payload) remains for single statements.
//
// Checks reject untrusted input with a Status whose context starts with a fixed reason phrase
// ("too few signatures", "duplicate signer", ...); they never assert on it. Value types and pure
// functions; thread-safe for concurrent const use (a VerifyCache passed in is its caller's).
#pragma once

#include <set>
#include <string_view>
#include <vector>

#include <variant>

#include "crypto/keys.h"
#include "ledger/state.h"
#include "sbac/shard_map.h"
#include "sbac/verify_cache.h"

namespace folio::sbac {

enum class Verdict : uint8_t { kCommit = 0, kAbort = 1 };
constexpr uint32_t enum_count(Verdict) { return 2; }
constexpr std::string_view enum_name(Verdict) { return "Verdict"; }
std::string_view to_string(Verdict verdict);

// Byzcuit's sequence numbers: one per object, and s_T, the number a transaction instance (session)
// runs under. A retried transaction runs under a higher s_T.
struct SequenceTag {};
using Sequence = Counter<SequenceTag>;

struct Prepared {
  ledger::TxId tx_id;
  Sequence session;  // s_T
  Verdict verdict = Verdict::kAbort;
  ShardId shard;
  Epoch epoch;
  // The highest sequence number among the session's objects on this shard when it was prepared:
  // a manager retrying after an abort picks an s_T at least this high (Byzcuit). Signed, so a
  // manager's f+1 matching reports are f+1 signed reports and a replica can lie only in its own name.
  Sequence sequence_max;
  FOLIO_FIELDS(tx_id, session, verdict, shard, epoch, sequence_max)
  friend bool operator==(const Prepared&, const Prepared&) = default;
};

struct Accepted {
  Accepted() = default;
  // The session defaults to 0 only so that callers of the earlier four-field form (src/notary's
  // tests) still compile; S-BAC itself always names it.
  Accepted(ledger::TxId tx_id, Verdict verdict, ShardId shard, Epoch epoch,
           Sequence session = Sequence(0))
      : tx_id(tx_id), verdict(verdict), shard(shard), epoch(epoch), session(session) {}

  ledger::TxId tx_id;
  Verdict verdict = Verdict::kAbort;
  ShardId shard;
  Epoch epoch;
  // s_T, signed: a manager counts an accepted statement only for the session it names, so an
  // accepted(abort) of an earlier session of T can never be relabelled as the current session's.
  // Last, after the fields of the earlier four-field form. A certificate verifier takes it from
  // the statement itself (a vote is one statement, so a shard's signers agree on it).
  Sequence session;
  FOLIO_FIELDS(tx_id, verdict, shard, epoch, session)
  friend bool operator==(const Accepted&, const Accepted&) = default;
};

// "folio/sbac/prepared" || encoding, and "folio/sbac/accepted" || encoding.
Bytes signing_payload(const Prepared& statement);
Bytes signing_payload(const Accepted& statement);

// ---- Signatures, direct and batched ----------------------------------------------------------

// The most statements one batch signature covers (a block's worth, with room): bounds the branch
// at 20 levels. shard_replica.cc static_asserts that a block's statements (at most two per
// command, consensus::kBatchCountMaxLimit commands) fit.
constexpr uint32_t kBatchLeavesMax = 1u << 20;
constexpr uint8_t kStatementLeafPrefix = 0x00;  // never crypto::kMerkleNodePrefix

// One signature over a batch: `signature` is over batch_payload(leaf_count, root), and `branch`
// leads from the statement's leaf at `index` to `root` (crypto::MerkleProof's shape). Canonical
// only if index < leaf_count <= kBatchLeavesMax, the branch has exactly the length the shape needs
// and leads to `root`; verification checks all of it.
struct BatchSignature {
  uint32_t leaf_count = 0;
  uint32_t index = 0;
  crypto::Hash256 root;
  std::vector<crypto::Hash256> branch;  // from the leaf's level upward
  crypto::Signature signature;
  FOLIO_FIELDS(leaf_count, index, root, branch, signature)
  friend bool operator==(const BatchSignature&, const BatchSignature&) = default;
};

// A replica's signature of one statement: direct (a crypto::Signature over the statement's own
// signing payload) or batched.
struct ReplicaSignature {
  crypto::PublicKey by;  // a replica's Ed25519 key
  std::variant<crypto::Signature, BatchSignature> signature;
  FOLIO_FIELDS(by, signature)
  friend bool operator==(const ReplicaSignature&, const ReplicaSignature&) = default;
  bool batched() const { return std::holds_alternative<BatchSignature>(signature); }
};

// Direct signatures, one per statement.
ReplicaSignature sign(const crypto::PrivateKey& key, const Prepared& statement);
ReplicaSignature sign(const crypto::PrivateKey& key, const Accepted& statement);

// A statement's leaf: SHA-256(kStatementLeafPrefix || signing_payload(statement)).
crypto::Hash256 statement_leaf(ByteView signing_payload);
crypto::Hash256 statement_leaf(const Prepared& statement);
crypto::Hash256 statement_leaf(const Accepted& statement);
// "folio/sbac/batch/v1" || u32 little-endian leaf_count || root: what a batch signature signs.
Bytes batch_payload(uint32_t leaf_count, const crypto::Hash256& root);

// The Merkle tree of one batch's leaves, every level kept, so each leaf's branch costs no hashing.
// The shape is crypto/merkle.h's (RFC 9162): the same root and branches as merkle_root and
// merkle_prove, built bottom-up in leaf_count - 1 node hashes.
class BatchTree {
 public:
  // REQUIRES: 1 <= leaves.size() <= kBatchLeavesMax
  explicit BatchTree(std::vector<crypto::Hash256> leaves);

  uint32_t leaf_count() const { return static_cast<uint32_t>(levels_.front().size()); }
  const crypto::Hash256& root() const { return levels_.back().front(); }
  Bytes payload() const { return batch_payload(leaf_count(), root()); }
  // REQUIRES: index < leaf_count()
  std::vector<crypto::Hash256> branch(uint32_t index) const;
  // The signature of leaf `index` under `root_signature`, `by`'s signature of payload().
  ReplicaSignature signature(uint32_t index, const crypto::PublicKey& by,
                             const crypto::Signature& root_signature) const;
  // Node hashes the tree took (leaf hashes not counted): leaf_count() - 1.
  uint64_t node_hashes() const { return leaf_count() - 1; }

 private:
  std::vector<std::vector<crypto::Hash256>> levels_;  // levels_[0]: the leaves; back(): the root
};

// Signs a batch: one signature of `key` over the tree's root, and each leaf's ReplicaSignature.
std::vector<ReplicaSignature> sign_batch(const crypto::PrivateKey& key, const BatchTree& tree);

// Whether `signature` is a valid signature by signature.by of the statement whose signing payload
// is `signing_payload`, in either form: a batch form must have a consistent shape and a branch that
// leads from the statement's leaf to its root. With a cache, a (key, payload, signature) triple
// verified before costs no Ed25519 verification (VerifyCache).
bool verify_signature(ByteView signing_payload, const ReplicaSignature& signature,
                      VerifyCache* cache = nullptr);
bool verify_signature(const Prepared& statement, const ReplicaSignature& signature,
                      VerifyCache* cache = nullptr);
bool verify_signature(const Accepted& statement, const ReplicaSignature& signature,
                      VerifyCache* cache = nullptr);

// One statement and the signatures of distinct replicas of its shard.
template <class Statement>
struct ShardVote {
  Statement statement;
  std::vector<ReplicaSignature> signatures;
  FOLIO_FIELDS(statement, signatures)
  friend bool operator==(const ShardVote&, const ShardVote&) = default;
};
using PreparedVote = ShardVote<Prepared>;
using AcceptedVote = ShardVote<Accepted>;

// Checks a vote against `map`: the shard exists, the epoch is the map's, at least f+1 and at most n
// signatures, every signer a member of the shard, no signer twice, every signature valid
// (verify_signature, with `cache` if given).
Status verify_vote(const PreparedVote& vote, const ShardMap& map, VerifyCache* cache = nullptr);
Status verify_vote(const AcceptedVote& vote, const ShardMap& map, VerifyCache* cache = nullptr);

// The proof that a transaction committed: f+1 `accepted(T, commit)` per concerned shard.
struct NotarisationCertificate {
  Epoch epoch;
  std::vector<AcceptedVote> votes;  // one per concerned shard, ascending shard
  FOLIO_FIELDS(epoch, votes)
  friend bool operator==(const NotarisationCertificate&, const NotarisationCertificate&) = default;
};

// OK iff `certificate` proves that `tx_id` committed: its epoch is the map's; it holds exactly one
// vote per shard in `concerned` and none for another shard; each vote is `accepted(tx_id, commit)`
// for its shard and epoch and passes verify_vote. `concerned` comes from the verifier's own view of
// the transaction (concerned_shards), never from the certificate. REQUIRES (also of verify_vote):
// map.check_canonical() is OK, as it is for any decoded map. Pure without a cache; with one, the
// same result at the cost of fewer verifications.
Status verify_certificate(const ledger::TxId& tx_id, const NotarisationCertificate& certificate,
                          const std::set<ShardId>& concerned, const ShardMap& map);
Status verify_certificate(const ledger::TxId& tx_id, const NotarisationCertificate& certificate,
                          const std::set<ShardId>& concerned, const ShardMap& map,
                          VerifyCache* cache);

}  // namespace folio::sbac
