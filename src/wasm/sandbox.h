// The WebAssembly sandbox (ARCHITECTURE.md §2): load a contract module, validate it, inject gas
// accounting, and run its checker against a transaction under a gas budget.
//
// `validate`/`load` take untrusted bytes and never crash or assert on them: every refusal is a
// typed RejectCode with a sentence saying what rule was broken. A loaded `Module` is immutable and
// may be shared (std::shared_ptr) and run from many threads at once; each `run` builds a fresh
// instance, so contracts cannot keep state between verifications. Runs are deterministic: the same
// module, transaction, contract name and budget give the same status, reason and gas everywhere.
// `ModuleCache` memoises loading by the SHA-256 of the module bytes; it is thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/hash.h"
#include "wasm/engine.h"

namespace folio::wasm {

using Limits = engine::EngineLimits;
using RejectCode = engine::RejectCode;
using RunStatus = engine::RunStatus;
using GasCosts = engine::GasCosts;

// The version of the host ABI described in include/folio/contract.h and docs/wasm.md.
constexpr uint32_t kAbiVersion = 1;
// The default budget of one contract verification when a transaction names none.
constexpr uint64_t kDefaultGasBudget = 10'000'000;

struct Validation;

class Module {
 public:
  const crypto::Hash256& code_hash() const { return code_hash_; }  // SHA-256 of the original bytes
  size_t original_bytes() const { return original_bytes_; }
  // The gas-instrumented module, as the interpreter runs it.
  const Bytes& instrumented() const { return instrumented_; }
  const std::vector<std::string>& exports() const { return exports_; }
  uint32_t functions() const { return functions_; }
  uint32_t accounting_blocks() const { return accounting_blocks_; }
  const engine::EngineModule& engine() const { return *engine_; }

 private:
  friend Validation validate(ByteView wasm, const Limits& limits);
  crypto::Hash256 code_hash_;
  size_t original_bytes_ = 0;
  Bytes instrumented_;
  std::vector<std::string> exports_;
  uint32_t functions_ = 0;
  uint32_t accounting_blocks_ = 0;
  std::shared_ptr<const engine::EngineModule> engine_;
};

struct Validation {
  RejectCode code = RejectCode::kNone;
  std::string reason;
  std::shared_ptr<const Module> module;  // set iff ok()
  bool ok() const { return code == RejectCode::kNone; }
  // "floating point: uses floating-point opcode f32.add in function 0"
  std::string describe() const;
};

// Checks `wasm` against the limits and the contract ABI and prepares it for running.
Validation validate(ByteView wasm, const Limits& limits = {});
// validate() as a Result: kMalformed, kLimitExceeded or kUnsupported with the reason.
Result<std::shared_ptr<const Module>> load(ByteView wasm, const Limits& limits = {});

struct Execution {
  RunStatus status = RunStatus::kTrapped;
  std::string reason;
  uint64_t gas_used = 0;
  std::vector<Bytes> participants;  // encoded keys, from run_participants only
  bool accepted() const { return status == RunStatus::kAccepted; }
  // "accepted (gas 1234)", "rejected: amounts differ (gas 99)", "out of gas: ... (gas 1000)".
  std::string describe() const;
};

// Runs `folio_verify` of `module` for `contract` over the canonical transaction bytes `tx`, with
// the contract's deployment parameters `config` and its ContractView `view` (provider.h).
Execution run(const Module& module, ByteView tx, std::string_view contract, uint64_t gas_budget,
              ByteView config = {}, ByteView view = {});

// As run(), with the transaction bytes produced by `encode_tx` only if the contract reads them.
Execution run_lazy(const Module& module, std::function<Bytes()> encode_tx,
                   std::string_view contract, uint64_t gas_budget, ByteView config, ByteView view);

// Runs `folio_participants` of `module`: the state is the only output of `view`, and the contract
// reports its participants' encoded keys through folio_participant(). A module without that
// export gives kRejected, "the contract declares no participants".
Execution run_participants(const Module& module, ByteView view, std::string_view contract,
                           uint64_t gas_budget, ByteView config);

// Loaded modules (and rejections) by code hash, so a contract used by many transactions is
// validated and instrumented once. Bounded: the oldest entry is dropped past entries_max.
class ModuleCache {
 public:
  explicit ModuleCache(Limits limits = {}, size_t entries_max = 256)
      : limits_(limits), entries_max_(entries_max) {}
  Result<std::shared_ptr<const Module>> get(ByteView wasm);
  size_t size() const;
  uint64_t hits() const;

 private:
  Limits limits_;
  size_t entries_max_;
  mutable std::mutex mutex_;
  std::map<crypto::Hash256, Result<std::shared_ptr<const Module>>> entries_;  // GUARDED_BY(mutex_)
  std::deque<crypto::Hash256> order_;                                         // GUARDED_BY(mutex_)
  uint64_t hits_ = 0;                                                         // GUARDED_BY(mutex_)
};

}  // namespace folio::wasm
