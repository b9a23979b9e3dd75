// folio.SVote: private voting (the Chainspace seed §VI-B). Ballots are exponential-ElGamal
// encryptions under the tally authority's key, added homomorphically into per-option counts; only
// the final counts are decrypted, each with a proof of correct decryption.
//
// Types (one variant, SVoteState, is the data of every SVote state):
//   Token  what createElection consumes and re-creates: its owner's capability to open
//          elections; made by `init`.
//   Vote   an election in progress: options, the keys of voters who have not voted yet, the tally
//          authority's signing key and ElGamal key, and one encrypted count per option.
//   Tally  the result: options, plain counts, tally authority.
// Commands (one SVote command per transaction):
//   init            no SVote input; outputs [Token]; its owner signs.
//   createElection  inputs [Token]; outputs [Token unchanged, Vote]; params: one EncryptsProof per
//                   option that the initial count encrypts 0; the tally authority and the
//                   token's owner sign.
//   addVote         inputs [Vote]; outputs [Vote']; params: the voter's key, one ciphertext per
//                   option, a BitProof per option (0 or 1) and an EncryptsProof that the ballot's
//                   sum encrypts 1; the voter signs. Vote' equals Vote with the voter's key removed
//                   from the list (so a second vote finds no key) and each count plus the ballot's
//                   ciphertext for that option.
//   tally           inputs [Vote]; outputs [Tally]; params: the plain counts and a DecryptionProof
//                   for each; the tally authority signs.
// Every proof's transcript is bound to the transaction's inputs (privacy_context.h), the command,
// and (for addVote) the voter's key and the option index.
//
// Procedures (client side) build WireTransactions; the caller signs them. Thread-safe (no state).
#pragma once

#include <variant>

#include "contracts/privacy_context.h"
#include "ledger/contract.h"
#include "zk/proofs.h"

namespace folio::contracts {

constexpr std::string_view kSVoteContract = "folio.SVote";
constexpr size_t kSVoteOptionsMax = 64;
constexpr size_t kSVoteOptionBytesMax = 128;
constexpr size_t kSVoteVotersMax = 100000;

struct SVoteToken {
  crypto::PublicKey owner;
  FOLIO_FIELDS(owner)
  friend bool operator==(const SVoteToken&, const SVoteToken&) = default;
};

struct SVoteVote {
  std::vector<std::string> options;
  std::vector<crypto::PublicKey> voters;  // who may still vote
  crypto::PublicKey tally_authority;      // signs createElection and tally
  zk::Point tally_key;                    // ElGamal public key of the tally authority
  std::vector<zk::Ciphertext> counts;     // one per option
  FOLIO_FIELDS(options, voters, tally_authority, tally_key, counts)
  friend bool operator==(const SVoteVote&, const SVoteVote&) = default;
  Status check_canonical() const;
};

struct SVoteTally {
  std::vector<std::string> options;
  std::vector<uint64_t> counts;
  crypto::PublicKey tally_authority;
  FOLIO_FIELDS(options, counts, tally_authority)
  friend bool operator==(const SVoteTally&, const SVoteTally&) = default;
};

using SVoteState = std::variant<SVoteToken, SVoteVote, SVoteTally>;

struct SVoteCreateElection {
  std::vector<zk::EncryptsProof> zero_proofs;
  FOLIO_FIELDS(zero_proofs)
};

struct SVoteAddVote {
  crypto::PublicKey voter;
  std::vector<zk::Ciphertext> ballot;
  std::vector<zk::BitProof> bit_proofs;
  zk::EncryptsProof sum_proof;
  FOLIO_FIELDS(voter, ballot, bit_proofs, sum_proof)
};

struct SVoteTallyParams {
  std::vector<uint64_t> counts;
  std::vector<zk::DecryptionProof> proofs;
  FOLIO_FIELDS(counts, proofs)
};

class SVote : public ledger::Contract {
 public:
  std::string_view name() const override { return kSVoteContract; }
  Status verify(const ledger::LedgerTransaction& tx) const override;
  Result<std::vector<crypto::PublicKey>> participants(
      const ledger::TransactionState& state) const override;
};

// ---- Procedures (client side) -----------------------------------------------------------------

ledger::TransactionState svote_state(const SVoteState& data, const ledger::Party& notary);
Result<SVoteState> svote_decode(const ledger::TransactionState& state);

ledger::WireTransaction svote_init(const crypto::PublicKey& owner, const ledger::Party& notary,
                                   zk::Prng& prng);
Result<ledger::WireTransaction> svote_create_election(const ledger::StateAndRef& token,
                                                      std::vector<std::string> options,
                                                      std::vector<crypto::PublicKey> voters,
                                                      const crypto::PublicKey& tally_authority,
                                                      const zk::Point& tally_key, zk::Prng& prng);
// A ballot for option `choice`.
Result<ledger::WireTransaction> svote_add_vote(const ledger::StateAndRef& election,
                                               const crypto::PublicKey& voter, size_t choice,
                                               zk::Prng& prng);
// Decrypts the counts (each at most `count_max`) and proves each decryption.
Result<ledger::WireTransaction> svote_tally(const ledger::StateAndRef& election,
                                            const zk::ElGamalKeyPair& tally_keys,
                                            uint64_t count_max, zk::Prng& prng);

}  // namespace folio::contracts
