// The file format for transactions that tools exchange (`folio tx decode`, `folio contract run`):
// the 8-byte magic "FOLIOTX1", then the canonical encoding of one of a wire, signed or filtered
// transaction, as a variant (index 0, 1 or 2). Decoding is strict: wrong magic, unknown kind,
// malformed content and trailing bytes are all rejected with the byte offset and field path.
#pragma once

#include <variant>

#include "ledger/transaction.h"

namespace folio::ledger {

constexpr std::string_view kTxFileMagic = "FOLIOTX1";

using TxFileContent = std::variant<WireTransaction, SignedTransaction, FilteredTransaction>;

std::string_view tx_file_kind(const TxFileContent& content);  // "wire", "signed", "filtered"
Bytes encode_tx_file(const TxFileContent& content);
Result<TxFileContent> decode_tx_file(ByteView file);

// Limits for untrusted transaction bytes.
codec::Limits transaction_limits();

}  // namespace folio::ledger
