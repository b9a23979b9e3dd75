#include "ledger/tx_file.h"

namespace folio::ledger {

std::string_view tx_file_kind(const TxFileContent& content) {
  switch (content.index()) {
    case 0:
      return "wire";
    case 1:
      return "signed";
    default:
      return "filtered";
  }
}

codec::Limits transaction_limits() {
  codec::Limits limits;
  limits.input_bytes_max = kTransactionBytesMax + kTxFileMagic.size() + 1;
  limits.bytes_length_max = kStateDataBytesMax;
  limits.sequence_length_max = kComponentsPerGroupMax;
  return limits;
}

Bytes encode_tx_file(const TxFileContent& content) {
  codec::Writer w;
  w.fixed(as_bytes(kTxFileMagic));
  codec::encode(w, content);
  return w.take();
}

Result<TxFileContent> decode_tx_file(ByteView file) {
  if (file.size() < kTxFileMagic.size() ||
      folio::to_string(file.first(kTxFileMagic.size())) != kTxFileMagic)
    return make_error(ErrorCode::kMalformed,
                      "not a Folio transaction file (it does not start with \"FOLIOTX1\")");
  auto content = codec::decode_from_bytes<TxFileContent>(file.subspan(kTxFileMagic.size()),
                                                         transaction_limits());
  if (!content.ok()) {
    // Report offsets relative to the whole file.
    return make_error(ErrorCode::kMalformed, content.error().context + " (after the " +
                                                 std::to_string(kTxFileMagic.size()) +
                                                 "-byte magic)");
  }
  return content;
}

}  // namespace folio::ledger
