// The signed statements of S-BAC (Chainspace §V-A; Byzcuit's sessions) and the notarisation
// certificate built from them.
//
// A replica of shard s signs `prepared(T, s_T, verdict, s, epoch)` when it executes a sequenced
// prepare, and `accepted(T, verdict, s, epoch)` when it executes a sequenced accept. Payloads are
// the canonical encoding prefixed by a domain tag ("folio/sbac/prepared", "folio/sbac/accepted"),
// so one statement can never be replayed as another, nor as a consensus vote or a transaction
// signature. A shard's vote is one statement with f+1 signatures by distinct replicas of that shard
// under the shard map of the statement's epoch (LOCALPREPARED). The notarisation certificate is one
// `accepted(T, commit)` vote per concerned shard; `verify_certificate` checks it against a shard
// map, and anyone (client, counterparty, auditor) may run it.
//
// Checks reject untrusted input with a Status whose context starts with a fixed reason phrase
// ("too few signatures", "duplicate signer", ...); they never assert on it. Value types and pure
// functions; thread-safe for concurrent const use.
#pragma once

#include <set>
#include <string_view>
#include <vector>

#include "crypto/keys.h"
#include "ledger/state.h"
#include "sbac/shard_map.h"

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
  FOLIO_FIELDS(tx_id, session, verdict, shard, epoch)
  friend bool operator==(const Prepared&, const Prepared&) = default;
};

struct Accepted {
  ledger::TxId tx_id;
  Verdict verdict = Verdict::kAbort;
  ShardId shard;
  Epoch epoch;
  FOLIO_FIELDS(tx_id, verdict, shard, epoch)
  friend bool operator==(const Accepted&, const Accepted&) = default;
};

// "folio/sbac/prepared" || encoding, and "folio/sbac/accepted" || encoding.
Bytes signing_payload(const Prepared& statement);
Bytes signing_payload(const Accepted& statement);

struct ReplicaSignature {
  crypto::PublicKey by;  // a replica's Ed25519 key
  crypto::Signature signature;
  FOLIO_FIELDS(by, signature)
  friend bool operator==(const ReplicaSignature&, const ReplicaSignature&) = default;
};

ReplicaSignature sign(const crypto::PrivateKey& key, const Prepared& statement);
ReplicaSignature sign(const crypto::PrivateKey& key, const Accepted& statement);

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
// signatures, every signer a member of the shard, no signer twice, every signature valid.
Status verify_vote(const PreparedVote& vote, const ShardMap& map);
Status verify_vote(const AcceptedVote& vote, const ShardMap& map);

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
// map.check_canonical() is OK, as it is for any decoded map.
Status verify_certificate(const ledger::TxId& tx_id, const NotarisationCertificate& certificate,
                          const std::set<ShardId>& concerned, const ShardMap& map);

}  // namespace folio::sbac
