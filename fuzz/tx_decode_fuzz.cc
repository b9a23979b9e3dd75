// libFuzzer target: the transaction file decoder, the decoder behind `folio tx decode`.
// Whatever decodes must re-encode to exactly the input (one encoding per value), and computing the
// id of a decoded transaction or checking a filtered one's branches must not crash.
#include <cstddef>
#include <cstdint>

#include "ledger/tx_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  folio::ByteView input(data, size);
  auto content = folio::ledger::decode_tx_file(input);
  if (!content.ok()) return 0;
  folio::Bytes again = folio::ledger::encode_tx_file(*content);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) __builtin_trap();
  if (const auto* wire = std::get_if<folio::ledger::WireTransaction>(&*content)) (void)wire->id();
  if (const auto* stx = std::get_if<folio::ledger::SignedTransaction>(&*content)) (void)stx->id();
  if (const auto* ftx = std::get_if<folio::ledger::FilteredTransaction>(&*content))
    (void)ftx->verify();
  return 0;
}
