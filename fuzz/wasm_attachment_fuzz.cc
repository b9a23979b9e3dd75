// libFuzzer target: contract attachment parsing (libzip and the manifest's JSON on untrusted
// bytes). Parsing must never crash; what parses must describe itself consistently: its id is the
// hash of the input, and rebuilding it from its parts gives an attachment that parses to the
// same parts.
#include <cstddef>
#include <cstdint>

#include "crypto/hash.h"
#include "wasm/attachment.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  folio::ByteView input(data, size);
  auto parsed = folio::wasm::parse_contract_attachment(input);
  if (!parsed.ok()) {
    if (parsed.error().context.empty()) __builtin_trap();
    return 0;
  }
  if (parsed->id.value() != folio::crypto::sha256(input)) __builtin_trap();
  auto rebuilt = folio::wasm::build_contract_attachment(parsed->manifest, parsed->wasm,
                                                        parsed->legal_prose);
  if (!rebuilt.ok()) __builtin_trap();
  auto again = folio::wasm::parse_contract_attachment(*rebuilt);
  if (!again.ok() || !(again->manifest == parsed->manifest) || again->wasm != parsed->wasm ||
      again->legal_prose != parsed->legal_prose) {
    __builtin_trap();
  }
  return 0;
}
