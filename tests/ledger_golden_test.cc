// The transaction id is a format: once transactions are signed, it can never change. This test pins
// the id of a fixed transaction and the encoding it is computed from, so any change to the encoding
// or to the Merkle construction fails loudly here first.
#include <gtest/gtest.h>

#include "contracts/cash.h"
#include "ledger/transaction.h"

namespace folio {
namespace {

ledger::WireTransaction golden_transaction() {
  crypto::PrivateKey alice = crypto::PrivateKey::ed25519(crypto::sha256(as_bytes("golden/alice")));
  crypto::PrivateKey bank = crypto::PrivateKey::ed25519(crypto::sha256(as_bytes("golden/bank")));
  ledger::Party notary{"O=Notary,L=Zurich,C=CH", bank.public_key()};
  contracts::CashAmount amount{
      12345, {{ledger::Party{"O=Bank,L=London,C=GB", bank.public_key()}, {1, 2}}, "GBP"}};
  ledger::WireTransaction tx;
  tx.inputs.push_back(
      ledger::StateRef{ledger::TxId(crypto::sha256(as_bytes("golden/previous"))), 3});
  tx.outputs.push_back(contracts::cash_output(amount, alice.public_key(), notary));
  tx.commands.push_back(contracts::cash_move({bank.public_key()}));
  tx.notary = notary;
  tx.time_window = ledger::TimeWindow{ledger::Timestamp(1'700'000'000'000'000), std::nullopt};
  tx.salt = crypto::sha256(as_bytes("golden/salt"));
  return tx;
}

TEST(GoldenTransaction, EncodingAndIdNeverChange) {
  ledger::WireTransaction tx = golden_transaction();
  EXPECT_EQ(crypto::sha256(codec::encode_to_bytes(tx)).hex(),
            "7766642ab9fd397986c51a0c771ccf06b25ade7c34431cb8c1096029d30b9ade");
  EXPECT_EQ(tx.id().value().hex(),
            "3ef08c313da7ae9f4956179808d7a0b2c9c7fce2498dbe7db5ff3c6e5727b568");
}

// An independent reading of docs/ledger.md's formula, written with nothing but SHA-256.
crypto::Hash256 h(std::initializer_list<ByteView> parts) {
  crypto::Sha256 s;
  for (ByteView p : parts) s.update(p);
  return s.finish();
}
Bytes le32(uint32_t v) { return {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)}; }
crypto::Hash256 tree(std::vector<crypto::Hash256> level) {
  if (level.empty()) return crypto::Hash256{};
  if (level.size() == 1) return level[0];
  size_t k = 1;
  while (k * 2 < level.size()) k *= 2;
  std::vector<crypto::Hash256> left(level.begin(), level.begin() + static_cast<long>(k));
  std::vector<crypto::Hash256> right(level.begin() + static_cast<long>(k), level.end());
  Bytes node = {0x01};
  return h({node, tree(left).view(), tree(right).view()});
}

TEST(GoldenTransaction, IdFollowsTheDocumentedFormula) {
  ledger::WireTransaction tx = golden_transaction();
  std::vector<crypto::Hash256> roots;
  for (uint8_t g = 0; g < ledger::kComponentGroupCount; ++g) {
    std::vector<Bytes> parts = tx.components(static_cast<ledger::ComponentGroup>(g));
    std::vector<crypto::Hash256> leaves;
    for (uint32_t i = 0; i < parts.size(); ++i) {
      crypto::Hash256 nonce = h({Bytes{0x04}, tx.salt.view(), Bytes{g}, le32(i)});
      leaves.push_back(h({Bytes{0x00}, nonce.view(), parts[i]}));
    }
    roots.push_back(
        h({Bytes{0x03}, le32(static_cast<uint32_t>(parts.size())), tree(leaves).view()}));
  }
  EXPECT_EQ(tree(roots), tx.id().value());
}

}  // namespace
}  // namespace folio
