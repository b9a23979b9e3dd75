// WebAssembly text (WAT) to binary, through wabt's parser. For tests, tools and the hostile-module
// corpus; the verifier itself only ever sees binary modules. Compiled as C++17 (see engine.h), so
// this header uses only the standard library. Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace folio::wasm {

// Parses `text` as one WAT module and writes its binary encoding to `out`. On failure returns
// false with the parser's first message in `error`. Permissive: floats, SIMD and anything else the
// parser knows are accepted here, so that tests can build modules the sandbox must refuse.
bool wat_to_wasm(const std::string& text, std::vector<uint8_t>* out, std::string* error);

}  // namespace folio::wasm
