// Signed receipts of the AMQP transport (the Corda seed, "Serialization, sessioning,
// deduplication and signing": messages that are processed produce a signed acknowledgement, batched
// to amortise signing, identifying each message by the hash of its content).
//
// A receipt is written by the receiver of messages (`receiver`) for one sender (`addressee`) and
// lists the messages it accepted: each by id and content hash, so a receipt is evidence about the
// exact bytes, not only about an id. It is signed with the receiver's identity key over a
// domain-separated encoding. The sender checks the signature against the key the network map gives
// for the receiver, checks the content hashes against its outbox and then deletes those rows.
//
// Pure: no I/O, no clock. Values; thread-safe for concurrent const use.
#pragma once

#include <string>
#include <vector>

#include "codec/codec.h"
#include "crypto/hash.h"
#include "crypto/keys.h"
#include "net/transport.h"

namespace folio::net {

// The most messages one receipt lists; a larger batch is split.
constexpr size_t kReceiptEntriesMax = 4096;

struct ReceiptEntry {
  MessageId id;
  crypto::Hash256 content_hash;
  FOLIO_FIELDS(id, content_hash)
  friend bool operator==(const ReceiptEntry&, const ReceiptEntry&) = default;
};

struct Receipt {
  std::string receiver;   // canonical X.500 name of the node that accepted the messages
  std::string addressee;  // canonical X.500 name of the node that sent them
  std::vector<ReceiptEntry> entries;
  FOLIO_FIELDS(receiver, addressee, entries)
  friend bool operator==(const Receipt&, const Receipt&) = default;
};

struct SignedReceipt {
  Receipt receipt;
  crypto::Signature signature;
  FOLIO_FIELDS(receipt, signature)
  friend bool operator==(const SignedReceipt&, const SignedReceipt&) = default;
};

// SHA-256 over the canonical encoding of (id, sender, recipient, topic, payload), with a domain
// tag: the hash a receipt carries for the message.
crypto::Hash256 content_hash(const Envelope& envelope);

// The bytes a receipt's signature covers.
Bytes receipt_signing_bytes(const Receipt& receipt);

SignedReceipt sign_receipt(Receipt receipt, const crypto::PrivateKey& key);

// Ok iff `signed_receipt` decodes from nothing worse than what it is, lists at most
// kReceiptEntriesMax entries and carries `key`'s valid signature.
Status verify_receipt(const SignedReceipt& signed_receipt, const crypto::PublicKey& key);

// The wire form (codec encoding) and its strict decoder, bounded by `bytes_max`.
Bytes encode_receipt(const SignedReceipt& receipt);
Result<SignedReceipt> decode_receipt(ByteView bytes, size_t bytes_max);

}  // namespace folio::net
