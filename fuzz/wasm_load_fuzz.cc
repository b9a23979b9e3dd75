// libFuzzer target: the sandbox's module loader (pre-scan, wabt IR, validation, gas injection,
// compilation) on arbitrary bytes, and, for whatever it accepts, metered runs of folio_verify
// and folio_participants. Loading must never crash or assert; a refusal must carry a reason; an
// accepted module must run to a verdict within its budget, twice with the same verdict and gas.
#include <cstddef>
#include <cstdint>

#include "wasm/sandbox.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  folio::wasm::Validation v = folio::wasm::validate(folio::ByteView(data, size));
  if (!v.ok()) {
    if (v.reason.empty()) __builtin_trap();
    return 0;
  }
  static const folio::Bytes kTx = {1, 2, 3, 4, 5, 6, 7, 8};
  static const folio::Bytes kView = {0, 0, 0, 0};
  folio::wasm::Execution a = folio::wasm::run(*v.module, kTx, "fuzz.Contract", 20'000, {}, kView);
  folio::wasm::Execution b = folio::wasm::run(*v.module, kTx, "fuzz.Contract", 20'000, {}, kView);
  if (a.status != b.status || a.gas_used != b.gas_used || a.reason != b.reason) __builtin_trap();
  if (a.gas_used > 20'000) __builtin_trap();
  folio::wasm::Execution p =
      folio::wasm::run_participants(*v.module, kView, "fuzz.Contract", 20'000, {});
  folio::wasm::Execution q =
      folio::wasm::run_participants(*v.module, kView, "fuzz.Contract", 20'000, {});
  if (p.status != q.status || p.gas_used != q.gas_used || p.participants != q.participants)
    __builtin_trap();
  return 0;
}
