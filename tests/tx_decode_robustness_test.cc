// `folio tx decode` must never crash or hang on any input: random bytes, truncations and bit flips
// of valid files all end in a clean error or a canonical decode, and the JSON view never throws.
#include <gtest/gtest.h>

#include <random>

#include "cli/json.h"
#include "contracts/cash.h"

namespace folio {
namespace {

Bytes sample_file(int kind) {
  crypto::PrivateKey alice = crypto::PrivateKey::ed25519(crypto::sha256(as_bytes("alice")));
  crypto::PrivateKey bank = crypto::PrivateKey::ed25519(crypto::sha256(as_bytes("bank")));
  ledger::Party notary{"O=Notary,L=Zurich,C=GB", bank.public_key()};
  contracts::CashAmount amount{
      500, contracts::IssuedCurrency{
               {ledger::Party{"O=Bank,L=London,C=GB", bank.public_key()}, {7}}, "GBP"}};
  ledger::SignedTransaction stx;
  stx.tx.inputs.push_back(ledger::StateRef{ledger::TxId(crypto::sha256(as_bytes("prev"))), 0});
  stx.tx.outputs.push_back(contracts::cash_output(amount, alice.public_key(), notary));
  stx.tx.commands.push_back(contracts::cash_move({alice.public_key()}));
  stx.tx.notary = notary;
  stx.tx.time_window = ledger::TimeWindow{ledger::Timestamp(1), ledger::Timestamp(2)};
  stx.signatures.push_back(ledger::sign_transaction(alice, stx.id()));
  if (kind == 0) return ledger::encode_tx_file(stx.tx);
  if (kind == 1) return ledger::encode_tx_file(stx);
  return ledger::encode_tx_file(stx.tx.filter(
      [](ledger::ComponentGroup g, uint32_t) { return g != ledger::ComponentGroup::kOutputs; }));
}

// Decodes and renders; a successful decode must be canonical.
void exercise(ByteView input) {
  auto content = ledger::decode_tx_file(input);
  if (!content.ok()) {
    EXPECT_FALSE(content.error().context.empty());
    return;
  }
  Bytes again = ledger::encode_tx_file(*content);
  ASSERT_TRUE(std::equal(again.begin(), again.end(), input.begin(), input.end()));
  std::string json = cli::transaction_file_json(*content).dump(-1, ' ', false,
                                                               cli::Json::error_handler_t::replace);
  EXPECT_FALSE(json.empty());
}

TEST(TxDecode, ValidFilesDecodeAndRender) {
  for (int kind = 0; kind < 3; ++kind) {
    Bytes file = sample_file(kind);
    auto content = ledger::decode_tx_file(file);
    ASSERT_TRUE(content.ok()) << content.error().message();
    EXPECT_EQ(static_cast<int>(content->index()), kind);
    cli::Json json = cli::transaction_file_json(*content);
    EXPECT_TRUE(json.contains("transaction"));
    if (kind == 2) {
      EXPECT_TRUE(json["branches_verify"].get<bool>());
    }
  }
}

TEST(TxDecode, EveryTruncationFailsCleanly) {
  for (int kind = 0; kind < 3; ++kind) {
    Bytes file = sample_file(kind);
    for (size_t n = 0; n < file.size(); ++n) {
      auto content = ledger::decode_tx_file(ByteView(file.data(), n));
      EXPECT_FALSE(content.ok()) << "kind " << kind << " truncated to " << n;
    }
  }
}

TEST(TxDecode, BitFlipsNeverCrash) {
  std::mt19937_64 rng(42);
  for (int kind = 0; kind < 3; ++kind) {
    Bytes file = sample_file(kind);
    for (int round = 0; round < 3000; ++round) {
      Bytes mutated = file;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f)
        mutated[rng() % mutated.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      exercise(mutated);
    }
  }
}

TEST(TxDecode, RandomBytesNeverCrash) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 3000; ++round) {
    Bytes input(rng() % 600);
    for (uint8_t& b : input) b = static_cast<uint8_t>(rng());
    // Half the inputs get the right magic so the decoder goes deeper.
    if (round % 2 == 0 && input.size() >= 8)
      std::memcpy(input.data(), ledger::kTxFileMagic.data(), 8);
    exercise(input);
  }
}

TEST(TxDecode, HugeDeclaredLengthsAreRejectedWithoutAllocation) {
  // Magic, variant 0 (wire), then an inputs vector claiming 2^62 elements.
  Bytes file(ledger::kTxFileMagic.begin(), ledger::kTxFileMagic.end());
  file.push_back(0);
  for (int i = 0; i < 8; ++i) file.push_back(0xff);
  file.push_back(0x3f);
  auto content = ledger::decode_tx_file(file);
  ASSERT_FALSE(content.ok());
  EXPECT_NE(content.error().context.find("length"), std::string::npos) << content.error().message();
}

}  // namespace
}  // namespace folio
