#include "net/amqp_receipt.h"

#include <string_view>

namespace folio::net {
namespace {

constexpr std::string_view kContentDomain = "folio.net.message.v1";
constexpr std::string_view kReceiptDomain = "folio.net.receipt.v1";

}  // namespace

crypto::Hash256 content_hash(const Envelope& envelope) {
  codec::Writer w(envelope.payload.size() + 256);
  w.string(kContentDomain);
  w.fixed(envelope.id.view());
  w.string(envelope.sender);
  w.string(envelope.recipient);
  w.string(envelope.topic);
  w.bytes(envelope.payload);
  return crypto::sha256(w.data());
}

Bytes receipt_signing_bytes(const Receipt& receipt) {
  codec::Writer w;
  w.string(kReceiptDomain);
  codec::encode(w, receipt);
  return w.take();
}

SignedReceipt sign_receipt(Receipt receipt, const crypto::PrivateKey& key) {
  FOLIO_ASSERT(receipt.entries.size() <= kReceiptEntriesMax);
  SignedReceipt out;
  out.signature = key.sign(receipt_signing_bytes(receipt));
  out.receipt = std::move(receipt);
  return out;
}

Status verify_receipt(const SignedReceipt& signed_receipt, const crypto::PublicKey& key) {
  if (signed_receipt.receipt.entries.size() > kReceiptEntriesMax)
    return make_error(ErrorCode::kLimitExceeded, "receipt lists more than " +
                                                     std::to_string(kReceiptEntriesMax) +
                                                     " messages");
  if (!crypto::verify(key, receipt_signing_bytes(signed_receipt.receipt), signed_receipt.signature))
    return make_error(ErrorCode::kVerification,
                      "receipt signature does not verify with " + key.describe());
  return ok_status();
}

Bytes encode_receipt(const SignedReceipt& receipt) { return codec::encode_to_bytes(receipt); }

Result<SignedReceipt> decode_receipt(ByteView bytes, size_t bytes_max) {
  if (bytes.size() > bytes_max)
    return make_error(ErrorCode::kLimitExceeded, "receipt of " + std::to_string(bytes.size()) +
                                                     " bytes");
  codec::Limits limits;
  limits.input_bytes_max = bytes_max;
  limits.sequence_length_max = kReceiptEntriesMax;
  return codec::decode_from_bytes<SignedReceipt>(bytes, limits);
}

}  // namespace folio::net
