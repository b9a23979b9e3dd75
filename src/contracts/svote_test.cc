#include "contracts/svote.h"

#include <gtest/gtest.h>

#include "contracts/privacy_test_ledger.h"

namespace folio::contracts {
namespace {

using Keys = std::vector<const crypto::PrivateKey*>;

class SVoteTest : public ::testing::Test {
 protected:
  SVoteTest()
      : prng_("svote-test"),
        organiser_(PrivacyTestLedger::key("organiser")),
        authority_(PrivacyTestLedger::key("tally authority")),
        tally_keys_(zk::ElGamalKeyPair::generate(prng_)) {}

  std::vector<ledger::StateAndRef> commit_ok(const ledger::WireTransaction& tx, const Keys& keys) {
    ledger::Verdict v;
    auto out = ledger_.commit(tx, keys, &v);
    EXPECT_TRUE(v.ok()) << v.describe();
    return out;
  }

  void expect_refused(const ledger::WireTransaction& tx, const Keys& keys,
                      std::string_view reason) {
    ledger::Verdict v = ledger_.verify(tx, keys);
    ASSERT_FALSE(v.ok());
    EXPECT_NE(v.describe().find(reason), std::string::npos) << v.describe();
  }

  // An election among `n` voters named "voter 0".."voter n-1" over `options`.
  ledger::StateAndRef election(size_t n, std::vector<std::string> options) {
    for (size_t i = 0; i < n; ++i)
      voters_.push_back(PrivacyTestLedger::key("voter " + std::to_string(i)));
    std::vector<crypto::PublicKey> keys;
    for (const auto& v : voters_) keys.push_back(v.public_key());
    auto token =
        commit_ok(svote_init(organiser_.public_key(), ledger_.notary(), prng_), {&organiser_})[0];
    auto tx = svote_create_election(token, std::move(options), keys, authority_.public_key(),
                                    tally_keys_.public_key, prng_);
    EXPECT_TRUE(tx.ok());
    return commit_ok(*tx, {&authority_, &organiser_})[1];
  }

  ledger::StateAndRef vote(const ledger::StateAndRef& e, size_t voter, size_t choice) {
    auto tx = svote_add_vote(e, voters_[voter].public_key(), choice, prng_);
    EXPECT_TRUE(tx.ok());
    return commit_ok(*tx, {&voters_[voter]})[0];
  }

  std::vector<uint64_t> tally(const ledger::StateAndRef& e) {
    auto tx = svote_tally(e, tally_keys_, 1000, prng_);
    EXPECT_TRUE(tx.ok());
    auto outs = commit_ok(*tx, {&authority_});
    if (outs.empty()) return {};
    return std::get<SVoteTally>(*svote_decode(outs[0].state)).counts;
  }

  static SVoteVote vote_of(const ledger::StateAndRef& e) {
    return std::get<SVoteVote>(*svote_decode(e.state));
  }

  PrivacyTestLedger ledger_;
  zk::SeededPrng prng_;
  crypto::PrivateKey organiser_, authority_;
  zk::ElGamalKeyPair tally_keys_;
  std::vector<crypto::PrivateKey> voters_;
};

TEST_F(SVoteTest, ElectionWithThreeVotersEndsWithTheRightCounts) {
  ledger::StateAndRef e = election(3, {"yes", "no"});
  e = vote(e, 0, 0);
  e = vote(e, 1, 1);
  e = vote(e, 2, 0);
  EXPECT_TRUE(vote_of(e).voters.empty());
  EXPECT_EQ(tally(e), (std::vector<uint64_t>{2, 1}));
}

TEST_F(SVoteTest, ElectionWithFiftyVotersEndsWithTheRightCounts) {
  ledger::StateAndRef e = election(50, {"red", "green", "blue"});
  std::vector<uint64_t> expected(3, 0);
  for (size_t i = 0; i < 50; ++i) {
    size_t choice = (i * 7 + i / 3) % 3;
    ++expected[choice];
    e = vote(e, i, choice);
  }
  EXPECT_EQ(tally(e), expected);
}

TEST_F(SVoteTest, ElectionWithNoVotesTalliesZero) {
  ledger::StateAndRef e = election(2, {"a", "b"});
  EXPECT_EQ(tally(e), (std::vector<uint64_t>{0, 0}));
}

TEST_F(SVoteTest, SecondVoteBySameVoterIsRefused) {
  ledger::StateAndRef e = election(3, {"yes", "no"});
  e = vote(e, 0, 0);
  EXPECT_FALSE(svote_add_vote(e, voters_[0].public_key(), 1, prng_).ok());
  // Build the second ballot as if the voter were still listed, and consume the real state.
  SVoteVote pretend = vote_of(e);
  pretend.voters.push_back(voters_[0].public_key());
  ledger::StateAndRef masquerade{svote_state(pretend, ledger_.notary()), e.ref};
  auto tx = svote_add_vote(masquerade, voters_[0].public_key(), 1, prng_);
  ASSERT_TRUE(tx.ok());
  expect_refused(*tx, {&voters_[0]}, "is not on the election's list (or has already voted)");
}

TEST_F(SVoteTest, VoteForTwoOptionsIsRefused) {
  ledger::StateAndRef e = election(3, {"yes", "no"});
  SVoteVote before = vote_of(e);
  const crypto::PublicKey voter = voters_[0].public_key();
  zk::Transcript t = bound_transcript(kSVoteContract, "addVote", std::vector{e.ref});
  t.append("voter", codec::encode_to_bytes(voter));
  SVoteAddVote params{voter, {}, {}, {}};
  zk::Scalar r_sum;
  for (size_t i = 0; i < 2; ++i) {
    zk::Scalar r = zk::random_scalar(prng_);
    r_sum = r_sum + r;
    params.ballot.push_back(zk::elgamal_encrypt(before.tally_key, zk::Scalar::one(), r));
    zk::Transcript ti = t;
    ti.append_u64("option", i);
    params.bit_proofs.push_back(
        zk::prove_bit(ti, before.tally_key, params.ballot.back(), 1, r, prng_));
  }
  // Both entries are honest bits, so only the sum proof can catch the double vote.
  params.sum_proof = zk::prove_sum(t, before.tally_key, params.ballot, 1, r_sum, prng_);
  SVoteVote after = before;
  after.voters.erase(after.voters.begin());
  for (size_t i = 0; i < 2; ++i) after.counts[i] = before.counts[i] + params.ballot[i];
  ledger::WireTransaction tx;
  tx.inputs = {e.ref};
  tx.outputs = {svote_state(after, ledger_.notary())};
  tx.commands = {ledger::Command{
      std::string(kSVoteContract), "addVote", codec::encode_to_bytes(params), {voter}}};
  tx.notary = ledger_.notary();
  tx.salt = random_salt(prng_);
  expect_refused(tx, {&voters_[0]}, "is not proven to choose exactly one option");
}

TEST_F(SVoteTest, BallotEntryOfTwoIsRefused) {
  ledger::StateAndRef e = election(3, {"yes", "no", "maybe"});
  auto tx = svote_add_vote(e, voters_[1].public_key(), 0, prng_);
  ASSERT_TRUE(tx.ok());
  // Move one unit of the honest ballot from option 1 to option 0: entries (2, −1, 0) still sum to
  // one, so only the per-option proofs can catch it.
  auto params = *codec::decode_from_bytes<SVoteAddVote>(tx->commands[0].params);
  zk::Point g = zk::Generators::g();
  params.ballot[0].b = params.ballot[0].b + g;
  params.ballot[1].b = params.ballot[1].b - g;
  tx->commands[0].params = codec::encode_to_bytes(params);
  SVoteVote after = vote_of(e);
  after.voters.erase(after.voters.begin() + 1);
  for (size_t i = 0; i < 3; ++i) after.counts[i] = after.counts[i] + params.ballot[i];
  tx->outputs[0] = svote_state(after, ledger_.notary());
  expect_refused(*tx, {&voters_[1]}, "is not proven 0 or 1");
}

TEST_F(SVoteTest, WrongTallyIsRefused) {
  ledger::StateAndRef e = election(3, {"yes", "no"});
  e = vote(e, 0, 0);
  e = vote(e, 1, 0);
  auto tx = svote_tally(e, tally_keys_, 100, prng_);
  ASSERT_TRUE(tx.ok());
  EXPECT_TRUE(ledger_.verify(*tx, {&authority_}).ok());
  // Swap the counts in both the command and the output, keeping the proofs.
  auto params = *codec::decode_from_bytes<SVoteTallyParams>(tx->commands[0].params);
  std::swap(params.counts[0], params.counts[1]);
  tx->commands[0].params = codec::encode_to_bytes(params);
  auto result = std::get<SVoteTally>(*svote_decode(tx->outputs[0]));
  std::swap(result.counts[0], result.counts[1]);
  tx->outputs[0] = svote_state(result, ledger_.notary());
  expect_refused(*tx, {&authority_}, "is not proven to be the decryption");
  // Someone without the tally key cannot prove any result, not even the true one.
  zk::SeededPrng other_prng("forger");
  zk::ElGamalKeyPair forger = zk::ElGamalKeyPair::generate(other_prng);
  std::swap(params.counts[0], params.counts[1]);
  std::swap(result.counts[0], result.counts[1]);
  zk::Transcript t = bound_transcript(kSVoteContract, "tally", std::vector{e.ref});
  for (size_t i = 0; i < 2; ++i) {
    zk::Transcript ti = t;
    ti.append_u64("option", i);
    params.proofs[i] =
        zk::prove_decryption(ti, forger, vote_of(e).counts[i], params.counts[i], prng_);
  }
  tx->commands[0].params = codec::encode_to_bytes(params);
  tx->outputs[0] = svote_state(result, ledger_.notary());
  expect_refused(*tx, {&authority_}, "is not proven to be the decryption");
}

TEST_F(SVoteTest, BallotCopiedIntoAnotherTransactionIsRefused) {
  ledger::StateAndRef e0 = election(3, {"yes", "no"});
  auto copied = svote_add_vote(e0, voters_[0].public_key(), 1, prng_);
  ASSERT_TRUE(copied.ok());
  ledger::StateAndRef e1 = vote(e0, 1, 0);
  // Replay voter 0's ballot, proofs and all, against the election's next state.
  auto params = *codec::decode_from_bytes<SVoteAddVote>(copied->commands[0].params);
  SVoteVote after = vote_of(e1);
  after.voters.erase(std::find(after.voters.begin(), after.voters.end(), voters_[0].public_key()));
  for (size_t i = 0; i < 2; ++i) after.counts[i] = after.counts[i] + params.ballot[i];
  ledger::WireTransaction tx;
  tx.inputs = {e1.ref};
  tx.outputs = {svote_state(after, ledger_.notary())};
  tx.commands = {copied->commands[0]};
  tx.notary = ledger_.notary();
  tx.salt = random_salt(prng_);
  expect_refused(tx, {&voters_[0]}, "is not proven 0 or 1");
}

TEST_F(SVoteTest, VoteNotSignedByTheVoterIsRefused) {
  ledger::StateAndRef e = election(3, {"yes", "no"});
  auto tx = svote_add_vote(e, voters_[2].public_key(), 1, prng_);
  ASSERT_TRUE(tx.ok());
  tx->commands[0].signers = {voters_[1].public_key()};
  expect_refused(*tx, {&voters_[1]}, "is not signed by the voter");
}

TEST_F(SVoteTest, InitialCountsMustBeProvenZero) {
  voters_.push_back(PrivacyTestLedger::key("voter 0"));
  auto token =
      commit_ok(svote_init(organiser_.public_key(), ledger_.notary(), prng_), {&organiser_})[0];
  auto tx = svote_create_election(token, {"yes", "no"}, {voters_[0].public_key()},
                                  authority_.public_key(), tally_keys_.public_key, prng_);
  ASSERT_TRUE(tx.ok());
  // Stuff the ballot box: the "yes" count starts at 5.
  auto vote = std::get<SVoteVote>(*svote_decode(tx->outputs[1]));
  vote.counts[0].b = vote.counts[0].b + zk::Point::base_times(zk::Scalar::from_u64(5));
  tx->outputs[1] = svote_state(vote, ledger_.notary());
  expect_refused(*tx, {&authority_, &organiser_}, "initial count of option 0 is not proven zero");
}

TEST_F(SVoteTest, ElectionNotApprovedByTheTokensOwnerIsRefused) {
  voters_.push_back(PrivacyTestLedger::key("voter 0"));
  auto token =
      commit_ok(svote_init(organiser_.public_key(), ledger_.notary(), prng_), {&organiser_})[0];
  auto tx = svote_create_election(token, {"yes", "no"}, {voters_[0].public_key()},
                                  authority_.public_key(), tally_keys_.public_key, prng_);
  ASSERT_TRUE(tx.ok());
  tx->commands[0].signers = {authority_.public_key()};
  expect_refused(*tx, {&authority_}, "createElection is not signed by the token's owner");
}

TEST_F(SVoteTest, MalformedBallotIsRefusedWithAReason) {
  ledger::StateAndRef e = election(3, {"yes", "no"});
  auto tx = svote_add_vote(e, voters_[0].public_key(), 1, prng_);
  ASSERT_TRUE(tx.ok());
  Bytes params = tx->commands[0].params;
  // Flip one bit in every byte position in turn: every variant is refused, none crashes.
  for (size_t i = 0; i < params.size(); i += 7) {
    Bytes bad = params;
    bad[i] ^= 0x40;
    tx->commands[0].params = bad;
    ledger::Verdict v = ledger_.verify(*tx, {&voters_[0]});
    EXPECT_FALSE(v.ok()) << "byte " << i;
  }
}

TEST_F(SVoteTest, HostileParametersAndStatesAreRefusedWithoutCrashing) {
  ledger::StateAndRef e = election(3, {"yes", "no"});
  auto vote_tx = svote_add_vote(e, voters_[0].public_key(), 1, prng_);
  ASSERT_TRUE(vote_tx.ok());
  auto e1 = commit_ok(*vote_tx, {&voters_[0]})[0];
  auto tally_tx = svote_tally(e1, tally_keys_, 100, prng_);
  ASSERT_TRUE(tally_tx.ok());
  auto second = svote_add_vote(e1, voters_[1].public_key(), 0, prng_);
  ASSERT_TRUE(second.ok());
  zk::SeededPrng noise("svote-hostile");
  // Random rewrites of a few bytes of the params and of the output state, and random strings.
  for (const auto& [tx, key] :
       {std::pair{*second, &voters_[1]}, std::pair{*tally_tx, &authority_}}) {
    for (int round = 0; round < 150; ++round) {
      ledger::WireTransaction bad = tx;
      std::array<uint8_t, 4> r{};
      noise.fill(r);
      Bytes& target = (r[0] & 1) ? bad.commands[0].params : bad.outputs[0].data;
      if (r[0] & 2) {
        target.resize(r[1] % 200);
        noise.fill(target);
      } else {
        for (int k = 0; k <= r[3] % 3; ++k)
          target[(r[1] * 256u + r[2] + k * 31u) % target.size()] ^= r[3] | 1;
      }
      EXPECT_FALSE(ledger_.verify(bad, {key}).ok()) << "round " << round;
    }
  }
}

}  // namespace
}  // namespace folio::contracts
