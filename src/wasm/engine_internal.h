// Private to the sandbox engine: the compiled form of a prepared module. Included only by the
// C++17 translation units that use wabt (engine_prepare.cc, engine_run.cc).
//
// An EngineModule is immutable once built and shared between concurrent runs.
#pragma once

#include <wabt/interp/interp.h>

#include "wasm/engine.h"

namespace folio::wasm::engine {

class EngineModule {
 public:
  uint64_t id = 0;  // unique per prepared module, for per-thread caches
  wabt::interp::ModuleDesc desc;
  uint32_t gas_global_index = 0;         // the injected counter among the instance's globals
  uint32_t verify_func_index = 0;        // `folio_verify` among the instance's functions
  int64_t participants_func_index = -1;  // `folio_participants`, or -1 when not exported
  std::vector<int> import_host_ids;      // for each import, its index in abi_imports()
};

}  // namespace folio::wasm::engine
