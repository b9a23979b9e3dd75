#include "net/amqp_receipt.h"

#include <gtest/gtest.h>

namespace folio::net {
namespace {

crypto::PrivateKey key_from(uint8_t seed_byte) {
  FixedBytes<32> seed;
  seed.bytes.fill(seed_byte);
  return crypto::PrivateKey::ed25519(seed);
}

MessageId id_from(uint8_t byte) {
  MessageId id;
  id.bytes.fill(byte);
  return id;
}

Receipt sample_receipt() {
  Envelope envelope{id_from(1), "O=A, L=London, C=GB", "O=B, L=Paris, C=FR", "flow", {1, 2, 3}};
  return Receipt{"O=B, L=Paris, C=FR", "O=A, L=London, C=GB",
                 {ReceiptEntry{envelope.id, content_hash(envelope)},
                  ReceiptEntry{id_from(2), crypto::sha256(as_bytes("x"))}}};
}

TEST(Receipt, SignedReceiptVerifiesAndRoundTrips) {
  auto key = key_from(7);
  SignedReceipt signed_receipt = sign_receipt(sample_receipt(), key);
  EXPECT_TRUE(verify_receipt(signed_receipt, key.public_key()).ok());
  auto decoded = decode_receipt(encode_receipt(signed_receipt), 1 << 20);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message();
  EXPECT_EQ(*decoded, signed_receipt);
  EXPECT_TRUE(verify_receipt(*decoded, key.public_key()).ok());
}

TEST(Receipt, TamperedReceiptOrWrongKeyFails) {
  auto key = key_from(7);
  SignedReceipt signed_receipt = sign_receipt(sample_receipt(), key);
  EXPECT_EQ(verify_receipt(signed_receipt, key_from(8).public_key()).error().code,
            ErrorCode::kVerification);
  SignedReceipt tampered = signed_receipt;
  tampered.receipt.entries[1].id = id_from(3);
  EXPECT_FALSE(verify_receipt(tampered, key.public_key()).ok());
  tampered = signed_receipt;
  tampered.receipt.addressee = "O=C, L=Rome, C=IT";
  EXPECT_FALSE(verify_receipt(tampered, key.public_key()).ok());
}

TEST(Receipt, ContentHashCoversEveryField) {
  Envelope base{id_from(1), "O=A, L=London, C=GB", "O=B, L=Paris, C=FR", "flow", {1, 2, 3}};
  crypto::Hash256 h = content_hash(base);
  Envelope e = base;
  e.payload.push_back(4);
  EXPECT_NE(content_hash(e), h);
  e = base;
  e.topic = "flox";
  EXPECT_NE(content_hash(e), h);
  e = base;
  e.sender = "O=C, L=London, C=GB";
  EXPECT_NE(content_hash(e), h);
  e = base;
  e.id = id_from(2);
  EXPECT_NE(content_hash(e), h);
  EXPECT_EQ(content_hash(base), h);
}

TEST(Receipt, DecoderRejectsGarbageTrailingBytesAndOversize) {
  auto key = key_from(7);
  Bytes good = encode_receipt(sign_receipt(sample_receipt(), key));
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_FALSE(decode_receipt(trailing, 1 << 20).ok());
  EXPECT_FALSE(decode_receipt(Bytes{0xff, 0xff, 0xff, 0xff, 0xff}, 1 << 20).ok());
  EXPECT_FALSE(decode_receipt(Bytes(good.begin(), good.end() - 1), 1 << 20).ok());
  EXPECT_EQ(decode_receipt(good, good.size() - 1).error().code, ErrorCode::kLimitExceeded);
}

}  // namespace
}  // namespace folio::net
