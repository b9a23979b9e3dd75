// The sandbox's C++20 face over the engine (see sandbox.h).
#include "wasm/sandbox.h"

namespace folio::wasm {

namespace {

Execution from_outcome(engine::RunOutcome ran) {
  Execution out;
  out.status = ran.status;
  out.reason = std::move(ran.reason);
  out.gas_used = ran.gas_used;
  out.participants = std::move(ran.participants);
  return out;
}

}  // namespace

std::string Validation::describe() const {
  if (ok()) return "accepted";
  return std::string(engine::reject_code_name(code)) + ": " + reason;
}

Validation validate(ByteView wasm, const Limits& limits) {
  engine::PrepareOutcome prepared = engine::engine_prepare(wasm.data(), wasm.size(), limits);
  Validation out;
  out.code = prepared.code;
  out.reason = std::move(prepared.reason);
  if (!out.ok()) return out;
  auto module = std::make_shared<Module>();
  module->code_hash_ = crypto::sha256(wasm);
  module->original_bytes_ = wasm.size();
  module->instrumented_ = std::move(prepared.instrumented);
  module->exports_ = std::move(prepared.exports);
  module->functions_ = prepared.functions;
  module->accounting_blocks_ = prepared.accounting_blocks;
  module->engine_ = std::move(prepared.module);
  out.module = std::move(module);
  return out;
}

Result<std::shared_ptr<const Module>> load(ByteView wasm, const Limits& limits) {
  Validation v = validate(wasm, limits);
  if (v.ok()) return std::move(v.module);
  ErrorCode code = ErrorCode::kUnsupported;
  if (v.code == RejectCode::kMalformed) code = ErrorCode::kMalformed;
  if (v.code == RejectCode::kTooLarge || v.code == RejectCode::kTooManyFunctions ||
      v.code == RejectCode::kTooManyLocals || v.code == RejectCode::kNestingTooDeep ||
      v.code == RejectCode::kMemoryTooLarge || v.code == RejectCode::kTableTooLarge) {
    code = ErrorCode::kLimitExceeded;
  }
  return make_error(code, "wasm module rejected: " + v.describe());
}

std::string Execution::describe() const {
  std::string out = engine::run_status_name(status);
  if (!reason.empty() && status != RunStatus::kOutOfGas) out += ": " + reason;
  return out + " (gas " + std::to_string(gas_used) + ")";
}

namespace {

// The fields every entry point sets alike.
engine::RunInput run_input(std::string_view contract, uint64_t gas_budget, ByteView config,
                           ByteView view) {
  engine::RunInput input;
  input.contract = std::string(contract);
  input.gas_budget = gas_budget;
  input.config = config.data();
  input.config_size = config.size();
  input.view = view.data();
  input.view_size = view.size();
  return input;
}

}  // namespace

Execution run(const Module& module, ByteView tx, std::string_view contract, uint64_t gas_budget,
              ByteView config, ByteView view) {
  engine::RunInput input = run_input(contract, gas_budget, config, view);
  input.tx = tx.data();
  input.tx_size = tx.size();
  engine::RunOutcome ran = engine::engine_run(module.engine(), input);
  return from_outcome(std::move(ran));
}

Execution run_lazy(const Module& module, std::function<Bytes()> encode_tx,
                   std::string_view contract, uint64_t gas_budget, ByteView config, ByteView view) {
  engine::RunInput input = run_input(contract, gas_budget, config, view);
  input.tx_source = std::move(encode_tx);
  engine::RunOutcome ran = engine::engine_run(module.engine(), input);
  return from_outcome(std::move(ran));
}

Execution run_participants(const Module& module, ByteView view, std::string_view contract,
                           uint64_t gas_budget, ByteView config) {
  engine::RunInput input = run_input(contract, gas_budget, config, view);
  input.entry = engine::Entry::kParticipants;
  return from_outcome(engine::engine_run(module.engine(), input));
}

Result<std::shared_ptr<const Module>> ModuleCache::get(ByteView wasm) {
  crypto::Hash256 hash = crypto::sha256(wasm);
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(hash);
    if (it != entries_.end()) {
      ++hits_;
      return it->second;
    }
  }
  // Loading happens outside the lock; two threads may load the same module once each, and the
  // results are equal, so either may win.
  Result<std::shared_ptr<const Module>> loaded = load(wasm, limits_);
  std::lock_guard lock(mutex_);
  if (entries_.emplace(hash, loaded).second) {
    order_.push_back(hash);
    while (order_.size() > entries_max_) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
  }
  return loaded;
}

size_t ModuleCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

uint64_t ModuleCache::hits() const {
  std::lock_guard lock(mutex_);
  return hits_;
}

}  // namespace folio::wasm
