#include "contracts/smet.h"

#include <gtest/gtest.h>

#include "contracts/privacy_test_ledger.h"

namespace folio::contracts {
namespace {

using Keys = std::vector<const crypto::PrivateKey*>;

class SMetTest : public ::testing::Test {
 protected:
  SMetTest()
      : prng_("smet-test"),
        utility_(PrivacyTestLedger::key("utility")),
        meter_key_(PrivacyTestLedger::key("meter")),
        owner_(PrivacyTestLedger::key("household")) {}

  std::vector<ledger::StateAndRef> commit_ok(const ledger::WireTransaction& tx, const Keys& keys) {
    ledger::Verdict v;
    auto out = ledger_.commit(tx, keys, &v);
    EXPECT_TRUE(v.ok()) << v.describe();
    return out;
  }

  ledger::StateAndRef token() {
    return commit_ok(smet_init(utility_.public_key(), ledger_.notary(), prng_), {&utility_})[0];
  }

  // A fresh meter for the household; `name` picks the device key.
  ledger::StateAndRef meter(const crypto::PrivateKey& device) {
    auto tx = smet_create_meter(token(), device.public_key(), owner_.public_key(), "flat 3", prng_);
    EXPECT_TRUE(tx.ok());
    return commit_ok(*tx, {&device, &utility_})[1];
  }

  std::pair<ledger::StateAndRef, SMetReadingSecrets> read(const ledger::StateAndRef& m,
                                                          const crypto::PrivateKey& device,
                                                          uint64_t period,
                                                          std::vector<uint64_t> readings) {
    auto r = smet_add_reading(m, period, readings, prng_);
    EXPECT_TRUE(r.ok());
    return {commit_ok(r->first, {&device})[0], r->second};
  }

  void expect_refused(const ledger::WireTransaction& tx, const Keys& keys,
                      std::string_view reason) {
    ledger::Verdict v = ledger_.verify(tx, keys);
    ASSERT_FALSE(v.ok());
    EXPECT_NE(v.describe().find(reason), std::string::npos) << v.describe();
  }

  static SMetState state_of(const ledger::TransactionState& s) { return *smet_decode(s); }

  PrivacyTestLedger ledger_;
  zk::SeededPrng prng_;
  crypto::PrivateKey utility_, meter_key_, owner_;
};

TEST_F(SMetTest, BillIsProvenWithoutRevealingReadings) {
  auto [m, secrets] = read(meter(meter_key_), meter_key_, 202601, {10, 20, 30});
  std::vector<uint64_t> tariffs = {5, 3, 5};
  auto tx = smet_compute_bill(m, secrets, tariffs, prng_);
  ASSERT_TRUE(tx.ok());
  auto outs = commit_ok(*tx, {&owner_});
  ASSERT_EQ(outs.size(), 2u);
  const SMetBill bill = std::get<SMetBill>(state_of(outs[1].state));
  EXPECT_EQ(bill.total, 10u * 5 + 20 * 3 + 30 * 5);
  EXPECT_EQ(bill.period, 202601u);
  EXPECT_EQ(bill.meter_key, meter_key_.public_key());
  EXPECT_TRUE(std::get<SMetMeter>(state_of(outs[0].state)).periods.empty());
  // The readings appear nowhere in the transaction: only commitments and the total do.
  const auto params = codec::decode_from_bytes<SMetComputeBill>(tx->commands[0].params);
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(params->tariffs, tariffs);
}

TEST_F(SMetTest, ZeroReadingsGiveAZeroBill) {
  auto [m, secrets] = read(meter(meter_key_), meter_key_, 1, {0, 0});
  std::vector<uint64_t> tariffs = {7, 9};
  auto tx = smet_compute_bill(m, secrets, tariffs, prng_);
  ASSERT_TRUE(tx.ok());
  auto outs = commit_ok(*tx, {&owner_});
  EXPECT_EQ(std::get<SMetBill>(state_of(outs[1].state)).total, 0u);
}

TEST_F(SMetTest, BillWithAWrongTotalIsRefused) {
  auto [m, secrets] = read(meter(meter_key_), meter_key_, 1, {10, 20, 30});
  std::vector<uint64_t> tariffs = {5, 3, 5};
  auto tx = smet_compute_bill(m, secrets, tariffs, prng_);
  ASSERT_TRUE(tx.ok());
  // The customer lowers the total in both the command and the bill, keeping the proof.
  auto params = *codec::decode_from_bytes<SMetComputeBill>(tx->commands[0].params);
  params.total = 250;
  tx->commands[0].params = codec::encode_to_bytes(params);
  auto bill = std::get<SMetBill>(state_of(tx->outputs[1]));
  bill.total = 250;
  tx->outputs[1] = smet_state(bill, ledger_.notary());
  expect_refused(*tx, {&owner_}, "is not proven from the meter's committed readings");
  // A proof made for the wrong total by the prover's own algorithm fails the same way.
  std::vector<zk::Scalar> t = {zk::Scalar::from_u64(5), zk::Scalar::from_u64(3),
                               zk::Scalar::from_u64(5)};
  std::vector<zk::Point> commitments =
      std::get<SMetMeter>(state_of(m.state)).periods[0].commitments;
  zk::Transcript transcript = bound_transcript(kSMetContract, "computeBill", std::vector{m.ref});
  transcript.append_u64("period", 1);
  params.proof = zk::prove_linear(transcript, commitments, t, zk::Scalar::from_u64(250),
                                  secrets.openings, prng_);
  tx->commands[0].params = codec::encode_to_bytes(params);
  expect_refused(*tx, {&owner_}, "is not proven");
}

TEST_F(SMetTest, BillUsingAnotherMetersCommitmentsIsRefused) {
  crypto::PrivateKey other_device = PrivacyTestLedger::key("neighbour's meter");
  auto [mine, my_secrets] = read(meter(meter_key_), meter_key_, 1, {10, 20, 30});
  auto [theirs, their_secrets] = read(meter(other_device), other_device, 1, {1, 2, 3});
  std::vector<uint64_t> tariffs = {5, 3, 5};
  // Prove a bill over the neighbour's commitments (a lower total) while consuming my meter.
  ledger::StateAndRef masquerade{theirs.state, mine.ref};
  auto tx = smet_compute_bill(masquerade, their_secrets, tariffs, prng_);
  ASSERT_TRUE(tx.ok());
  SMetMeter my_meter = std::get<SMetMeter>(state_of(mine.state));
  my_meter.periods.clear();
  tx->outputs[0] = smet_state(my_meter, ledger_.notary());
  auto bill = std::get<SMetBill>(state_of(tx->outputs[1]));
  bill.meter_key = meter_key_.public_key();
  tx->outputs[1] = smet_state(bill, ledger_.notary());
  expect_refused(*tx, {&owner_}, "is not proven from the meter's committed readings");
}

TEST_F(SMetTest, ProofCopiedIntoAnotherTransactionIsRefused) {
  auto [m1, secrets] = read(meter(meter_key_), meter_key_, 1, {10, 20, 30});
  std::vector<uint64_t> tariffs = {5, 3, 5};
  auto first = smet_compute_bill(m1, secrets, tariffs, prng_);
  ASSERT_TRUE(first.ok());
  // The meter moves on before that bill is notarised; the same statement is then billed from the
  // new meter state with the old proof pasted in.
  auto [m2, secrets2] = read(m1, meter_key_, 2, {4});
  auto second = smet_compute_bill(m2, secrets, tariffs, prng_);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(ledger_.verify(*second, {&owner_}).ok());
  second->commands[0].params = first->commands[0].params;
  expect_refused(*second, {&owner_}, "is not proven");
}

TEST_F(SMetTest, MeterNotApprovedByTheTokensOwnerIsRefused) {
  auto tx = smet_create_meter(token(), meter_key_.public_key(), owner_.public_key(), "shed", prng_);
  ASSERT_TRUE(tx.ok());
  tx->commands[0].signers = {meter_key_.public_key()};
  expect_refused(*tx, {&meter_key_}, "createMeter is not signed by the token's owner");
}

TEST_F(SMetTest, ReadingsSignedByAnotherKeyAreRefused) {
  ledger::StateAndRef m = meter(meter_key_);
  std::vector<uint64_t> readings = {5};
  auto r = smet_add_reading(m, 1, readings, prng_);
  ASSERT_TRUE(r.ok());
  crypto::PrivateKey impostor = PrivacyTestLedger::key("impostor");
  r->first.commands[0].signers = {impostor.public_key()};
  expect_refused(r->first, {&impostor}, "not signed by the meter's key");
}

TEST_F(SMetTest, PeriodCannotBeBilledTwiceOrRewound) {
  auto [m, secrets] = read(meter(meter_key_), meter_key_, 5, {10});
  std::vector<uint64_t> tariffs = {2};
  auto bill = smet_compute_bill(m, secrets, tariffs, prng_);
  ASSERT_TRUE(bill.ok());
  auto outs = commit_ok(*bill, {&owner_});
  EXPECT_FALSE(smet_compute_bill(outs[0], secrets, tariffs, prng_).ok());
  std::vector<uint64_t> readings = {1};
  auto rewind = smet_add_reading(outs[0], 5, readings, prng_);
  ASSERT_TRUE(rewind.ok());
  EXPECT_TRUE(ledger_.verify(rewind->first, {&meter_key_}).ok());  // the meter holds no period yet
  auto [m2, s2] = read(outs[0], meter_key_, 6, {1});
  EXPECT_FALSE(smet_add_reading(m2, 5, readings, prng_).ok());
  // Forced through anyway: the new meter state itself is not canonical.
  auto forward = smet_add_reading(m2, 7, readings, prng_);
  ASSERT_TRUE(forward.ok());
  auto params = *codec::decode_from_bytes<SMetAddReading>(forward->first.commands[0].params);
  params.period = 5;
  forward->first.commands[0].params = codec::encode_to_bytes(params);
  auto meter = std::get<SMetMeter>(state_of(forward->first.outputs[0]));
  meter.periods.back().period = 5;
  forward->first.outputs[0] = smet_state(meter, ledger_.notary());
  expect_refused(forward->first, {&meter_key_}, "meter periods are not strictly increasing");
}

TEST_F(SMetTest, MalformedParametersAreRefusedWithAReason) {
  auto [m, secrets] = read(meter(meter_key_), meter_key_, 1, {10});
  std::vector<uint64_t> tariffs = {2};
  auto tx = smet_compute_bill(m, secrets, tariffs, prng_);
  ASSERT_TRUE(tx.ok());
  Bytes params = tx->commands[0].params;
  for (size_t cut : {size_t{0}, size_t{5}, params.size() - 1}) {
    tx->commands[0].params = Bytes(params.begin(), params.begin() + static_cast<long>(cut));
    expect_refused(*tx, {&owner_}, "parameters do not decode");
  }
  // A non-canonical scalar (all ones) in the proof's response.
  Bytes bad = params;
  std::fill(bad.end() - 32, bad.end(), 0xff);
  tx->commands[0].params = bad;
  expect_refused(*tx, {&owner_}, "parameters do not decode");
  // A tariff count that does not match the readings.
  auto p = *codec::decode_from_bytes<SMetComputeBill>(params);
  p.tariffs.push_back(1);
  tx->commands[0].params = codec::encode_to_bytes(p);
  expect_refused(*tx, {&owner_}, "tariffs for 1 readings");
}

TEST_F(SMetTest, HostileParametersAndStatesAreRefusedWithoutCrashing) {
  auto [m, secrets] = read(meter(meter_key_), meter_key_, 1, {10, 20, 30});
  std::vector<uint64_t> tariffs = {5, 3, 5};
  auto bill = smet_compute_bill(m, secrets, tariffs, prng_);
  ASSERT_TRUE(bill.ok());
  std::vector<uint64_t> readings = {7, 8};
  auto reading = smet_add_reading(m, 2, readings, prng_);
  ASSERT_TRUE(reading.ok());
  zk::SeededPrng noise("smet-hostile");
  for (const auto& [tx, key] :
       {std::pair{*bill, &owner_}, std::pair{reading->first, &meter_key_}}) {
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
