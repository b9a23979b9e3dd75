// The wabt-facing core of the WebAssembly sandbox: validation, gas injection and metered execution.
//
// This header is the only boundary between Folio and wabt. g++ 12 rejects wabt's interpreter
// headers as C++20, so the translation units behind it are compiled as C++17 and this header uses
// nothing newer than C++17 and no Folio headers (which are C++20). Callers use `sandbox.h`, which
// wraps these functions in Result<T> and adds hashing and caching.
//
// `engine_prepare` is a pure function of its input bytes and limits. `EngineModule` is immutable
// after preparation and may be run from several threads at once: every run builds its own store,
// instance, memory and gas counter, so no state survives from one run to the next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace folio::wasm::engine {

// Bounds applied to every untrusted module. The defaults are what the verifier uses; tests lower
// them to exercise each rejection.
struct EngineLimits {
  // Contracts are tens of KiB; these two also bound the memory that validation and injection use
  // (wabt's IR costs a few hundred bytes per block).
  size_t module_bytes_max = 256u << 10;
  uint32_t blocks_max = 65536;             // block, loop and if, in the whole module
  uint32_t functions_max = 1024;           // defined plus imported
  uint32_t locals_per_function_max = 512;  // parameters plus declared locals
  uint32_t block_nesting_max = 256;        // block, loop and if nested inside one another
  uint32_t memory_pages_max = 256;  // 16 MiB, the largest memory maximum a module may declare
  uint32_t table_elements_max = 4096;
  uint32_t globals_max = 256;
  uint32_t exports_max = 256;
};

// Why a module was refused, one value per rule so callers and tests can tell them apart.
enum class RejectCode {
  kNone = 0,
  kMalformed,         // not a well-formed or not a valid WebAssembly module
  kTooLarge,          // module bytes or a count over its bound
  kFloatingPoint,     // an f32/f64 type or opcode
  kSimd,              // a v128 type or SIMD opcode
  kForbiddenFeature,  // atomics, bulk memory, reference types, exceptions, tail calls
  kForbiddenImport,   // an import outside the contract ABI, or with the wrong signature
  kStartFunction,     // a start function (it would run at instantiation, outside the checker)
  kMemoryUnbounded,   // a memory without a declared maximum
  kMemoryTooLarge,    // a memory maximum above memory_pages_max
  kTableTooLarge,
  kTooManyLocals,
  kTooManyFunctions,
  kNestingTooDeep,
  kMissingExport,  // no `memory` or no `folio_verify` of type [] -> [i32]
  kReservedName,   // the module exports a name the sandbox reserves for itself
};
const char* reject_code_name(RejectCode code);

// One host function of the contract ABI (module "folio"): its name and wasm signature.
struct HostImport {
  const char* name;
  std::vector<uint8_t> params;  // 0x7f i32, 0x7e i64
  std::vector<uint8_t> results;
};
// The ABI version 1 host functions, the only imports a module may have.
const std::vector<HostImport>& abi_imports();

// Static gas costs (documented in docs/wasm.md). They are part of consensus: changing one changes
// every contract's gas and must come with a new ABI version.
struct GasCosts {
  static constexpr uint64_t kInstruction = 1;
  static constexpr uint64_t kMemoryAccess = 2;
  static constexpr uint64_t kDivision = 4;
  static constexpr uint64_t kCall = 20;
  static constexpr uint64_t kCallIndirect = 30;
  static constexpr uint64_t kMemoryGrowBase = 100;
  static constexpr uint64_t kMemoryGrowPerPage = 2000;
  static constexpr uint64_t kHostCall = 50;
  static constexpr uint64_t kHostBytesPerGas = 8;  // host copies cost 1 per 8 bytes
};

class EngineModule;

struct PrepareOutcome {
  RejectCode code = RejectCode::kNone;
  std::string reason;  // empty when accepted
  std::shared_ptr<const EngineModule> module;
  std::vector<uint8_t> instrumented;  // the gas-injected binary
  std::vector<std::string> exports;   // "func folio_verify", "memory memory", ...
  uint32_t functions = 0;
  uint32_t accounting_blocks = 0;  // gas charge points injected
};

// Validates `wasm` against the limits and the contract ABI, injects gas accounting and compiles the
// result for the interpreter. Never throws, never aborts on any input.
PrepareOutcome engine_prepare(const uint8_t* wasm, size_t size, const EngineLimits& limits);

enum class RunStatus { kAccepted, kRejected, kOutOfGas, kTrapped };
const char* run_status_name(RunStatus status);

// Which export a run calls.
enum class Entry { kVerify, kParticipants };

struct RunInput {
  Entry entry = Entry::kVerify;
  const uint8_t* tx = nullptr;  // canonical LedgerTransaction bytes
  size_t tx_size = 0;
  // When set (and tx is null), produces the transaction bytes on the first tx_size/tx_read: most
  // checkers read only their ContractView, and encoding the whole transaction is not free.
  std::function<std::vector<uint8_t>()> tx_source;
  std::string contract;             // the contract being verified
  const uint8_t* config = nullptr;  // deployment parameters from the contract's manifest
  size_t config_size = 0;
  const uint8_t* view = nullptr;  // the contract's own states and commands (ContractView)
  size_t view_size = 0;
  uint64_t gas_budget = 0;
};

struct RunOutcome {
  RunStatus status = RunStatus::kTrapped;
  std::string reason;                              // the contract's reason, or the trap's
  uint64_t gas_used = 0;                           // equals the budget when out of gas
  std::vector<std::vector<uint8_t>> participants;  // what folio_participants reported
};

// Runs the module's `folio_verify` (or, for Entry::kParticipants, `folio_participants`, whose
// absence is a kRejected outcome) against one input. Deterministic: the outcome, reason and gas
// depend only on the module, the input and the budget.
RunOutcome engine_run(const EngineModule& module, const RunInput& input);

}  // namespace folio::wasm::engine
