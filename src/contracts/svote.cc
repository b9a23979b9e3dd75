#include "contracts/svote.h"

#include <algorithm>
#include <set>

namespace folio::contracts {
namespace {

constexpr std::string_view kInit = "init";
constexpr std::string_view kCreateElection = "createElection";
constexpr std::string_view kAddVote = "addVote";
constexpr std::string_view kTally = "tally";

Result<SVoteState> decode_at(const ledger::TransactionState& state, const std::string& where) {
  auto s = codec::decode_from_bytes<SVoteState>(state.data);
  if (!s.ok()) return ledger::reject(where + " is not an SVote state: " + s.error().context);
  return s;
}

template <class T>
const T* as(const SVoteState& s) {
  return std::get_if<T>(&s);
}

// Per-option proofs fork the command's transcript with the option's index, so a proof for one
// option cannot stand in for another's.
zk::Transcript for_option(const zk::Transcript& t, size_t option) {
  zk::Transcript forked = t;
  forked.append_u64("option", option);
  return forked;
}

zk::Transcript vote_transcript(std::span<const ledger::StateRef> inputs,
                               const crypto::PublicKey& voter) {
  zk::Transcript t = bound_transcript(kSVoteContract, kAddVote, inputs);
  t.append("voter", codec::encode_to_bytes(voter));
  return t;
}

Status verify_init(const ledger::Command& command, const std::vector<SVoteState>& ins,
                   const std::vector<SVoteState>& outs) {
  if (!command.params.empty()) return ledger::reject("init takes no parameters");
  if (!ins.empty()) return ledger::reject("init consumes no SVote state");
  if (outs.size() != 1 || as<SVoteToken>(outs[0]) == nullptr)
    return ledger::reject("init creates exactly one SVote token");
  if (!command.has_signer(as<SVoteToken>(outs[0])->owner))
    return ledger::reject("init is not signed by the token's owner");
  return ok_status();
}

Status verify_create_election(const ledger::LedgerTransaction& tx, const ledger::Command& command,
                              const std::vector<SVoteState>& ins,
                              const std::vector<SVoteState>& outs) {
  auto params = codec::decode_from_bytes<SVoteCreateElection>(command.params);
  if (!params.ok())
    return ledger::reject("createElection parameters do not decode: " + params.error().context);
  if (ins.size() != 1 || as<SVoteToken>(ins[0]) == nullptr)
    return ledger::reject("createElection consumes exactly one SVote token");
  if (outs.size() != 2 || as<SVoteToken>(outs[0]) == nullptr || as<SVoteVote>(outs[1]) == nullptr)
    return ledger::reject("createElection creates [token, vote]");
  if (*as<SVoteToken>(outs[0]) != *as<SVoteToken>(ins[0]))
    return ledger::reject("createElection changes the token");
  const SVoteVote& vote = *as<SVoteVote>(outs[1]);
  if (vote.options.size() < 2) return ledger::reject("an election has at least two options");
  if (vote.voters.empty()) return ledger::reject("an election has at least one voter");
  if (!command.has_signer(vote.tally_authority))
    return ledger::reject("createElection is not signed by the tally authority");
  // The token is its owner's capability to open elections under this contract.
  if (!command.has_signer(as<SVoteToken>(ins[0])->owner))
    return ledger::reject("createElection is not signed by the token's owner");
  if (params->zero_proofs.size() != vote.options.size())
    return ledger::reject("createElection gives " + std::to_string(params->zero_proofs.size()) +
                          " zero proofs for " + std::to_string(vote.options.size()) + " options");
  std::vector<ledger::StateRef> refs = input_refs(tx);
  zk::Transcript t = bound_transcript(kSVoteContract, kCreateElection, refs);
  for (size_t i = 0; i < vote.options.size(); ++i) {
    Status s = zk::verify_encrypts(for_option(t, i), vote.tally_key, vote.counts[i], 0,
                                   params->zero_proofs[i]);
    if (!s.ok())
      return ledger::reject("the initial count of option " + std::to_string(i) +
                            " is not proven zero");
  }
  return ok_status();
}

Status verify_add_vote(const ledger::LedgerTransaction& tx, const ledger::Command& command,
                       const std::vector<SVoteState>& ins, const std::vector<SVoteState>& outs) {
  auto params = codec::decode_from_bytes<SVoteAddVote>(command.params);
  if (!params.ok())
    return ledger::reject("addVote parameters do not decode: " + params.error().context);
  if (ins.size() != 1 || as<SVoteVote>(ins[0]) == nullptr)
    return ledger::reject("addVote consumes exactly one vote");
  if (outs.size() != 1 || as<SVoteVote>(outs[0]) == nullptr)
    return ledger::reject("addVote creates exactly one vote");
  const SVoteVote& before = *as<SVoteVote>(ins[0]);
  const SVoteVote& after = *as<SVoteVote>(outs[0]);
  auto voter = std::find(before.voters.begin(), before.voters.end(), params->voter);
  if (voter == before.voters.end())
    return ledger::reject("voter " + params->voter.describe() +
                          " is not on the election's list (or has already voted)");
  if (!command.has_signer(params->voter))
    return ledger::reject("addVote is not signed by the voter " + params->voter.describe());
  const size_t n = before.options.size();
  if (params->ballot.size() != n || params->bit_proofs.size() != n)
    return ledger::reject("the ballot must hold one ciphertext and one proof per option (" +
                          std::to_string(n) + ")");
  SVoteVote expected = before;
  expected.voters.erase(expected.voters.begin() + (voter - before.voters.begin()));
  for (size_t i = 0; i < n; ++i) expected.counts[i] = before.counts[i] + params->ballot[i];
  if (after != expected)
    return ledger::reject(
        "the new vote is not the old one with the voter removed and the ballot added to the "
        "counts");
  std::vector<ledger::StateRef> refs = input_refs(tx);
  zk::Transcript t = vote_transcript(refs, params->voter);
  for (size_t i = 0; i < n; ++i) {
    Status s = zk::verify_bit(for_option(t, i), before.tally_key, params->ballot[i],
                              params->bit_proofs[i]);
    if (!s.ok())
      return ledger::reject("the ballot's entry for option " + std::to_string(i) +
                            " is not proven 0 or 1");
  }
  Status s = zk::verify_sum(t, before.tally_key, params->ballot, 1, params->sum_proof);
  if (!s.ok()) return ledger::reject("the ballot is not proven to choose exactly one option");
  return ok_status();
}

Status verify_tally(const ledger::LedgerTransaction& tx, const ledger::Command& command,
                    const std::vector<SVoteState>& ins, const std::vector<SVoteState>& outs) {
  auto params = codec::decode_from_bytes<SVoteTallyParams>(command.params);
  if (!params.ok())
    return ledger::reject("tally parameters do not decode: " + params.error().context);
  if (ins.size() != 1 || as<SVoteVote>(ins[0]) == nullptr)
    return ledger::reject("tally consumes exactly one vote");
  if (outs.size() != 1 || as<SVoteTally>(outs[0]) == nullptr)
    return ledger::reject("tally creates exactly one tally");
  const SVoteVote& vote = *as<SVoteVote>(ins[0]);
  if (!command.has_signer(vote.tally_authority))
    return ledger::reject("tally is not signed by the tally authority");
  const size_t n = vote.options.size();
  if (params->counts.size() != n || params->proofs.size() != n)
    return ledger::reject("the tally must give one count and one proof per option (" +
                          std::to_string(n) + ")");
  SVoteTally expected{vote.options, params->counts, vote.tally_authority};
  if (*as<SVoteTally>(outs[0]) != expected)
    return ledger::reject(
        "the tally output does not state the election's options and the command's counts");
  std::vector<ledger::StateRef> refs = input_refs(tx);
  zk::Transcript t = bound_transcript(kSVoteContract, kTally, refs);
  for (size_t i = 0; i < n; ++i) {
    Status s = zk::verify_decryption(for_option(t, i), vote.tally_key, vote.counts[i],
                                     params->counts[i], params->proofs[i]);
    if (!s.ok())
      return ledger::reject("the count " + std::to_string(params->counts[i]) + " of option " +
                            std::to_string(i) +
                            " is not proven to be the decryption of its encrypted count");
  }
  return ok_status();
}

}  // namespace

Status SVoteVote::check_canonical() const {
  if (options.empty() || options.size() > kSVoteOptionsMax)
    return make_error(ErrorCode::kMalformed, "an election has between 1 and " +
                                                 std::to_string(kSVoteOptionsMax) + " options");
  std::set<std::string_view> names;
  for (const std::string& o : options) {
    if (o.empty() || o.size() > kSVoteOptionBytesMax)
      return make_error(ErrorCode::kMalformed, "option name is empty or too long");
    if (!names.insert(o).second)
      return make_error(ErrorCode::kMalformed, "option " + o + " is listed twice");
  }
  if (voters.size() > kSVoteVotersMax) return make_error(ErrorCode::kMalformed, "too many voters");
  std::set<crypto::PublicKey> seen;
  for (const crypto::PublicKey& v : voters)
    if (!seen.insert(v).second)
      return make_error(ErrorCode::kMalformed, "voter " + v.describe() + " is listed twice");
  if (counts.size() != options.size())
    return make_error(ErrorCode::kMalformed, "one encrypted count per option");
  if (tally_key.is_identity())
    return make_error(ErrorCode::kMalformed, "the tally key is the identity");
  return ok_status();
}

Status SVote::verify(const ledger::LedgerTransaction& tx) const {
  std::vector<size_t> in_idx = tx.input_indexes(kSVoteContract);
  std::vector<size_t> out_idx = tx.output_indexes(kSVoteContract);
  std::vector<const ledger::Command*> commands = tx.commands_of(kSVoteContract);
  if (in_idx.empty() && out_idx.empty() && commands.empty()) return ok_status();  // referenced only
  if (commands.size() != 1)
    return ledger::reject("a transaction carries exactly one SVote command, not " +
                          std::to_string(commands.size()));
  const ledger::Command& command = *commands[0];
  std::vector<SVoteState> ins, outs;
  for (size_t i : in_idx) {
    FOLIO_ASSIGN_OR_RETURN(SVoteState s,
                           decode_at(tx.inputs[i].state, "input " + std::to_string(i)));
    ins.push_back(std::move(s));
  }
  for (size_t i : out_idx) {
    FOLIO_ASSIGN_OR_RETURN(SVoteState s, decode_at(tx.outputs[i], "output " + std::to_string(i)));
    outs.push_back(std::move(s));
  }
  if (command.name == kInit) return verify_init(command, ins, outs);
  if (command.name == kCreateElection) return verify_create_election(tx, command, ins, outs);
  if (command.name == kAddVote) return verify_add_vote(tx, command, ins, outs);
  if (command.name == kTally) return verify_tally(tx, command, ins, outs);
  return ledger::reject("unknown SVote command " + command.name);
}

Result<std::vector<crypto::PublicKey>> SVote::participants(
    const ledger::TransactionState& state) const {
  FOLIO_ASSIGN_OR_RETURN(SVoteState s, decode_at(state, "state"));
  if (const auto* t = as<SVoteToken>(s)) return std::vector<crypto::PublicKey>{t->owner};
  if (const auto* v = as<SVoteVote>(s)) return std::vector<crypto::PublicKey>{v->tally_authority};
  return std::vector<crypto::PublicKey>{std::get<SVoteTally>(s).tally_authority};
}

// ---- Procedures -------------------------------------------------------------------------------

ledger::TransactionState svote_state(const SVoteState& data, const ledger::Party& notary) {
  ledger::TransactionState state;
  state.data = codec::encode_to_bytes(data);
  state.contract = std::string(kSVoteContract);
  state.notary = notary;
  state.constraint = ledger::AlwaysAcceptConstraint{};
  return state;
}

Result<SVoteState> svote_decode(const ledger::TransactionState& state) {
  if (state.contract != kSVoteContract)
    return make_error(ErrorCode::kInvalidArgument,
                      "state belongs to " + state.contract + ", not SVote");
  auto s = codec::decode_from_bytes<SVoteState>(state.data);
  if (!s.ok()) return s.error();
  return s;
}

namespace {
Result<SVoteVote> vote_of(const ledger::StateAndRef& in) {
  FOLIO_ASSIGN_OR_RETURN(SVoteState s, svote_decode(in.state));
  if (as<SVoteVote>(s) == nullptr)
    return make_error(ErrorCode::kInvalidArgument, "state is not an SVote vote");
  return std::get<SVoteVote>(std::move(s));
}

ledger::Command command(std::string_view name, Bytes params,
                        std::vector<crypto::PublicKey> signers) {
  return ledger::Command{std::string(kSVoteContract), std::string(name), std::move(params),
                         std::move(signers)};
}

ledger::WireTransaction consume_one(const ledger::StateAndRef& in, ledger::TransactionState out,
                                    ledger::Command c, zk::Prng& prng) {
  ledger::WireTransaction tx;
  tx.inputs.push_back(in.ref);
  tx.outputs.push_back(std::move(out));
  tx.commands.push_back(std::move(c));
  tx.notary = in.state.notary;
  tx.salt = random_salt(prng);
  return tx;
}
}  // namespace

ledger::WireTransaction svote_init(const crypto::PublicKey& owner, const ledger::Party& notary,
                                   zk::Prng& prng) {
  ledger::WireTransaction tx;
  tx.outputs.push_back(svote_state(SVoteToken{owner}, notary));
  tx.commands.push_back(command(kInit, {}, {owner}));
  tx.notary = notary;
  tx.salt = random_salt(prng);
  return tx;
}

Result<ledger::WireTransaction> svote_create_election(const ledger::StateAndRef& token,
                                                      std::vector<std::string> options,
                                                      std::vector<crypto::PublicKey> voters,
                                                      const crypto::PublicKey& tally_authority,
                                                      const zk::Point& tally_key, zk::Prng& prng) {
  FOLIO_ASSIGN_OR_RETURN(SVoteState s, svote_decode(token.state));
  if (as<SVoteToken>(s) == nullptr)
    return make_error(ErrorCode::kInvalidArgument, "state is not an SVote token");
  std::vector<crypto::PublicKey> signers = {tally_authority};
  const crypto::PublicKey& token_owner = std::get<SVoteToken>(s).owner;
  if (token_owner != tally_authority) signers.push_back(token_owner);
  SVoteVote vote{std::move(options), std::move(voters), tally_authority, tally_key, {}};
  std::vector<ledger::StateRef> refs = {token.ref};
  zk::Transcript t = bound_transcript(kSVoteContract, kCreateElection, refs);
  SVoteCreateElection params;
  for (size_t i = 0; i < vote.options.size(); ++i) {
    zk::Scalar r = zk::random_scalar(prng);
    vote.counts.push_back(zk::elgamal_encrypt(tally_key, zk::Scalar::zero(), r));
    params.zero_proofs.push_back(
        zk::prove_encrypts(for_option(t, i), tally_key, vote.counts.back(), 0, r, prng));
  }
  FOLIO_TRY(vote.check_canonical());
  ledger::WireTransaction tx;
  tx.inputs.push_back(token.ref);
  tx.outputs.push_back(token.state);
  tx.outputs.push_back(svote_state(vote, token.state.notary));
  tx.commands.push_back(
      command(kCreateElection, codec::encode_to_bytes(params), std::move(signers)));
  tx.notary = token.state.notary;
  tx.salt = random_salt(prng);
  return tx;
}

Result<ledger::WireTransaction> svote_add_vote(const ledger::StateAndRef& election,
                                               const crypto::PublicKey& voter, size_t choice,
                                               zk::Prng& prng) {
  FOLIO_ASSIGN_OR_RETURN(SVoteVote vote, vote_of(election));
  if (choice >= vote.options.size())
    return make_error(ErrorCode::kInvalidArgument,
                      "option " + std::to_string(choice) + " does not exist");
  auto it = std::find(vote.voters.begin(), vote.voters.end(), voter);
  if (it == vote.voters.end())
    return make_error(ErrorCode::kInvalidArgument, "the voter is not on the list");
  std::vector<ledger::StateRef> refs = {election.ref};
  zk::Transcript t = vote_transcript(refs, voter);
  SVoteAddVote params{voter, {}, {}, {}};
  zk::Scalar randomness_sum;
  for (size_t i = 0; i < vote.options.size(); ++i) {
    const uint32_t bit = i == choice ? 1 : 0;
    zk::Scalar r = zk::random_scalar(prng);
    randomness_sum = randomness_sum + r;
    params.ballot.push_back(zk::elgamal_encrypt(vote.tally_key, zk::Scalar::from_u64(bit), r));
    params.bit_proofs.push_back(
        zk::prove_bit(for_option(t, i), vote.tally_key, params.ballot.back(), bit, r, prng));
    vote.counts[i] = vote.counts[i] + params.ballot.back();
  }
  params.sum_proof = zk::prove_sum(t, vote.tally_key, params.ballot, 1, randomness_sum, prng);
  vote.voters.erase(it);
  return consume_one(election, svote_state(vote, election.state.notary),
                     command(kAddVote, codec::encode_to_bytes(params), {voter}), prng);
}

Result<ledger::WireTransaction> svote_tally(const ledger::StateAndRef& election,
                                            const zk::ElGamalKeyPair& tally_keys,
                                            uint64_t count_max, zk::Prng& prng) {
  FOLIO_ASSIGN_OR_RETURN(SVoteVote vote, vote_of(election));
  if (tally_keys.public_key != vote.tally_key)
    return make_error(ErrorCode::kInvalidArgument, "these are not the election's tally keys");
  if (count_max > zk::kDecryptValueMax)
    return make_error(ErrorCode::kInvalidArgument, "count bound too large");
  std::vector<ledger::StateRef> refs = {election.ref};
  zk::Transcript t = bound_transcript(kSVoteContract, kTally, refs);
  SVoteTallyParams params;
  for (size_t i = 0; i < vote.options.size(); ++i) {
    FOLIO_ASSIGN_OR_RETURN(uint64_t count,
                           zk::elgamal_decrypt(tally_keys.secret, vote.counts[i], count_max));
    params.counts.push_back(count);
    params.proofs.push_back(
        zk::prove_decryption(for_option(t, i), tally_keys, vote.counts[i], count, prng));
  }
  SVoteTally tally{vote.options, params.counts, vote.tally_authority};
  return consume_one(election, svote_state(tally, election.state.notary),
                     command(kTally, codec::encode_to_bytes(params), {vote.tally_authority}), prng);
}

}  // namespace folio::contracts
