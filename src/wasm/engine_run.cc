// Metered execution of a prepared module in wabt's interpreter. Compiled as C++17 (see engine.h).
//
// Each run starts from the module's post-instantiation state (memory image, globals, a reset gas
// counter and host context), so nothing leaks between verifications; threads share only the
// immutable EngineModule and keep their own stores (see PooledInstance). The interpreter is never
// given an instruction or wall-clock budget: the injected counter is the only meter, which is what
// makes the gas figure identical on every machine.
#include <wabt/interp/interp.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "wasm/engine_internal.h"

namespace folio::wasm::engine {
namespace {

namespace interp = wabt::interp;

constexpr size_t kReasonBytesMax = 1024;
constexpr const char* kRejectTrap = "folio: contract rejected";
constexpr const char* kOutOfGasTrap = "folio: out of gas";

// What the host functions of one run share.
struct HostContext {
  const RunInput* input = nullptr;
  std::vector<uint8_t> lazy_tx;
  bool tx_ready = false;
  const uint8_t* tx = nullptr;
  size_t tx_size = 0;

  void ensure_tx() {
    if (tx_ready) return;
    tx_ready = true;
    if (input->tx == nullptr && input->tx_source) {
      lazy_tx = input->tx_source();
      tx = lazy_tx.data();
      tx_size = lazy_tx.size();
    } else {
      tx = input->tx;
      tx_size = input->tx_size;
    }
  }
  interp::Global* gas = nullptr;
  interp::Memory* memory = nullptr;
  bool rejected = false;
  bool out_of_gas = false;
  std::string reason;
  std::vector<std::vector<uint8_t>> participants;
};

constexpr size_t kParticipantsMax = 64;
constexpr size_t kParticipantBytesMax = 4096;

wabt::Result trap(interp::Thread& thread, interp::Trap::Ptr* out, const std::string& message) {
  *out = interp::Trap::New(thread.store(), message);
  return wabt::Result::Error;
}

// Charges a host call; false (and a trap) when the budget is exhausted.
bool charge(HostContext& ctx, uint64_t bytes) {
  int64_t cost = static_cast<int64_t>(GasCosts::kHostCall + bytes / GasCosts::kHostBytesPerGas);
  int64_t left = ctx.gas->Get().Get<int64_t>() - cost;
  ctx.gas->UnsafeSet(interp::Value::Make(left));
  if (left < 0) ctx.out_of_gas = true;
  return left >= 0;
}

// The guest range [ptr, ptr + len) or null when any of it lies outside memory.
uint8_t* guest_range(HostContext& ctx, uint32_t ptr, uint32_t len) {
  if (!ctx.memory->IsValidAccess(ptr, 0, len)) return nullptr;
  return ctx.memory->UnsafeData() + ptr;
}

std::string printable(const uint8_t* data, size_t size) {
  std::string out;
  out.reserve(std::min(size, kReasonBytesMax));
  for (size_t i = 0; i < size && i < kReasonBytesMax; ++i) {
    char c = static_cast<char>(data[i]);
    out.push_back(data[i] >= 0x20 && data[i] < 0x7f ? c : '?');
  }
  return out;
}

// (dst, offset, len): copies source[offset, offset + len) into guest memory at dst.
wabt::Result copy_out(HostContext& ctx, interp::Thread& thread, const interp::Values& params,
                      interp::Trap::Ptr* out, const uint8_t* source, size_t source_size,
                      const char* what) {
  uint32_t dst = params[0].Get<uint32_t>();
  uint64_t offset = params[1].Get<uint32_t>();
  uint32_t len = params[2].Get<uint32_t>();
  if (!charge(ctx, len)) return trap(thread, out, kOutOfGasTrap);
  if (offset + len > source_size)
    return trap(thread, out, std::string(what) + " past the end of its source");
  uint8_t* target = guest_range(ctx, dst, len);
  if (target == nullptr) return trap(thread, out, std::string(what) + " into memory out of bounds");
  if (len != 0) std::memcpy(target, source + offset, len);
  return wabt::Result::Ok;
}

interp::HostFunc::Callback host_function(int id, HostContext& ctx) {
  switch (id) {
    case 0:  // tx_size() -> i32
      return [&ctx](interp::Thread& thread, const interp::Values&, interp::Values& results,
                    interp::Trap::Ptr* out) -> wabt::Result {
        if (!charge(ctx, 0)) return trap(thread, out, kOutOfGasTrap);
        ctx.ensure_tx();
        results[0] = interp::Value::Make(static_cast<uint32_t>(ctx.tx_size));
        return wabt::Result::Ok;
      };
    case 1:  // tx_read(dst, offset, len)
      return [&ctx](interp::Thread& thread, const interp::Values& params, interp::Values&,
                    interp::Trap::Ptr* out) -> wabt::Result {
        ctx.ensure_tx();
        return copy_out(ctx, thread, params, out, ctx.tx, ctx.tx_size, "tx_read");
      };
    case 2:  // contract_name(dst, cap) -> len
      return [&ctx](interp::Thread& thread, const interp::Values& params, interp::Values& results,
                    interp::Trap::Ptr* out) -> wabt::Result {
        uint32_t dst = params[0].Get<uint32_t>();
        uint32_t cap = params[1].Get<uint32_t>();
        const std::string& name = ctx.input->contract;
        uint32_t n = static_cast<uint32_t>(std::min<size_t>(cap, name.size()));
        if (!charge(ctx, n)) return trap(thread, out, kOutOfGasTrap);
        uint8_t* target = guest_range(ctx, dst, n);
        if (target == nullptr) return trap(thread, out, "contract_name into memory out of bounds");
        if (n != 0) std::memcpy(target, name.data(), n);
        results[0] = interp::Value::Make(static_cast<uint32_t>(name.size()));
        return wabt::Result::Ok;
      };
    case 4:  // config_size() -> i32
      return [&ctx](interp::Thread& thread, const interp::Values&, interp::Values& results,
                    interp::Trap::Ptr* out) -> wabt::Result {
        if (!charge(ctx, 0)) return trap(thread, out, kOutOfGasTrap);
        results[0] = interp::Value::Make(static_cast<uint32_t>(ctx.input->config_size));
        return wabt::Result::Ok;
      };
    case 5:  // config_read(dst, offset, len)
      return [&ctx](interp::Thread& thread, const interp::Values& params, interp::Values&,
                    interp::Trap::Ptr* out) -> wabt::Result {
        return copy_out(ctx, thread, params, out, ctx.input->config, ctx.input->config_size,
                        "config_read");
      };
    case 6:  // view_size() -> i32
      return [&ctx](interp::Thread& thread, const interp::Values&, interp::Values& results,
                    interp::Trap::Ptr* out) -> wabt::Result {
        if (!charge(ctx, 0)) return trap(thread, out, kOutOfGasTrap);
        results[0] = interp::Value::Make(static_cast<uint32_t>(ctx.input->view_size));
        return wabt::Result::Ok;
      };
    case 7:  // view_read(dst, offset, len)
      return [&ctx](interp::Thread& thread, const interp::Values& params, interp::Values&,
                    interp::Trap::Ptr* out) -> wabt::Result {
        return copy_out(ctx, thread, params, out, ctx.input->view, ctx.input->view_size,
                        "view_read");
      };
    case 8:  // participant(ptr, len): one encoded key of the state's participants
      return [&ctx](interp::Thread& thread, const interp::Values& params, interp::Values&,
                    interp::Trap::Ptr* out) -> wabt::Result {
        uint32_t ptr = params[0].Get<uint32_t>();
        uint32_t len = params[1].Get<uint32_t>();
        if (!charge(ctx, len)) return trap(thread, out, kOutOfGasTrap);
        if (ctx.participants.size() >= kParticipantsMax || len > kParticipantBytesMax)
          return trap(thread, out, "too many or too large participants");
        uint8_t* key = guest_range(ctx, ptr, len);
        if (key == nullptr) return trap(thread, out, "participant out of bounds");
        ctx.participants.emplace_back(key, key + len);
        return wabt::Result::Ok;
      };
    default:  // 3, reject(ptr, len): never returns
      return [&ctx](interp::Thread& thread, const interp::Values& params, interp::Values&,
                    interp::Trap::Ptr* out) -> wabt::Result {
        uint32_t ptr = params[0].Get<uint32_t>();
        uint32_t len = std::min<uint32_t>(params[1].Get<uint32_t>(), kReasonBytesMax);
        if (!charge(ctx, len)) return trap(thread, out, kOutOfGasTrap);
        uint8_t* reason = guest_range(ctx, ptr, len);
        if (reason == nullptr) return trap(thread, out, "reject reason out of bounds");
        ctx.rejected = true;
        ctx.reason = printable(reason, len);
        if (ctx.reason.empty()) ctx.reason = "rejected without a reason";
        return trap(thread, out, kRejectTrap);
      };
  }
}

interp::FuncType func_type(const HostImport& host) {
  interp::ValueTypes params, results;
  for (uint8_t t : host.params) params.push_back(t == 0x7e ? wabt::Type::I64 : wabt::Type::I32);
  for (uint8_t t : host.results) results.push_back(t == 0x7e ? wabt::Type::I64 : wabt::Type::I32);
  return interp::FuncType(params, results);
}

RunOutcome outcome(RunStatus status, std::string reason, uint64_t gas_used) {
  RunOutcome out;
  out.status = status;
  out.reason = std::move(reason);
  out.gas_used = gas_used;
  return out;
}

// Compiling a module into a store copies its whole description, and instantiating it allocates
// every function object, which together cost more than running a small checker. So each thread
// keeps, for the last few modules it ran, a store with the compiled module and one idle instance.
// Before an instance is used again, its memory is restored byte for byte to the image it had
// right after instantiation and every global to its initial value; an instance whose memory grew
// is discarded instead (wasm memory cannot shrink). Tables cannot change (the validator refuses
// table.set, table.grow and the bulk-memory instructions), nor can data segments be dropped, so
// memory and globals are all of an instance's state: a reused instance is indistinguishable from
// a fresh one, and no run can see anything of an earlier one.
struct PooledInstance {
  HostContext ctx;  // the host functions hold references to it; reset for every run
  std::vector<interp::HostFunc::Ptr> hosts;
  interp::Instance::Ptr instance;
  interp::Global::Ptr gas;
  interp::Memory::Ptr memory;
  interp::Func::Ptr verify;
  interp::Func::Ptr participants;  // null when the module does not export folio_participants
  std::vector<interp::Global::Ptr> globals;
  std::vector<interp::Value> global_init;
  std::vector<uint8_t> memory_init;
  // The interpreter thread (value and call stacks) of the last run, kept only after a run that
  // returned normally: those leave both stacks empty, whereas a trap leaves frames behind.
  std::unique_ptr<interp::Thread> thread;
};

struct CompiledInStore {
  uint64_t module_id = 0;
  std::unique_ptr<interp::Store> store;  // declared first: destroyed after every root below
  interp::Module::Ptr module;
  std::unique_ptr<PooledInstance> idle;
  uint32_t runs_since_collect = 0;
};
constexpr size_t kCompiledPerThreadMax = 8;
constexpr uint32_t kRunsPerCollect = 64;  // traps allocate in the store; collect now and then

CompiledInStore& compiled_for(const EngineModule& module) {
  thread_local std::vector<std::unique_ptr<CompiledInStore>> cache;
  for (auto& entry : cache)
    if (entry->module_id == module.id) return *entry;
  if (cache.size() >= kCompiledPerThreadMax) cache.erase(cache.begin());
  auto entry = std::make_unique<CompiledInStore>();
  entry->module_id = module.id;
  entry->store = std::make_unique<interp::Store>();
  entry->module = interp::Module::New(*entry->store, module.desc);
  cache.push_back(std::move(entry));
  return *cache.back();
}

// A new instance with its host functions, or null and the (deterministic) reason.
std::unique_ptr<PooledInstance> instantiate(const EngineModule& module, interp::Store& store,
                                            const interp::Module::Ptr& compiled,
                                            std::string* failure) {
  auto p = std::make_unique<PooledInstance>();
  interp::RefVec imports;
  const auto& abi = abi_imports();
  for (int id : module.import_host_ids) {
    p->hosts.push_back(interp::HostFunc::New(store, func_type(abi[id]), host_function(id, p->ctx)));
    imports.push_back(p->hosts.back().ref());
  }
  interp::Trap::Ptr trap_ptr;
  p->instance = interp::Instance::Instantiate(store, compiled.ref(), imports, &trap_ptr);
  if (!p->instance) {
    *failure = "instantiation failed: " + (trap_ptr ? trap_ptr->message() : std::string("?"));
    return nullptr;
  }
  for (interp::Ref ref : p->instance->globals()) {
    p->globals.push_back(store.UnsafeGet<interp::Global>(ref));
    p->global_init.push_back(p->globals.back()->Get());
  }
  p->gas = p->globals.at(module.gas_global_index);
  p->memory = store.UnsafeGet<interp::Memory>(p->instance->memories().at(0));
  p->verify = store.UnsafeGet<interp::Func>(p->instance->funcs().at(module.verify_func_index));
  if (module.participants_func_index >= 0) {
    p->participants = store.UnsafeGet<interp::Func>(
        p->instance->funcs().at(static_cast<size_t>(module.participants_func_index)));
  }
  const uint8_t* image = p->memory->UnsafeData();
  p->memory_init.assign(image, image + p->memory->ByteSize());
  return p;
}

// Back to the state right after instantiation; false if that is impossible (memory grew).
bool restore(PooledInstance& p) {
  if (p.memory->ByteSize() != p.memory_init.size()) return false;
  if (!p.memory_init.empty())
    std::memcpy(p.memory->UnsafeData(), p.memory_init.data(), p.memory_init.size());
  for (size_t i = 0; i < p.globals.size(); ++i) p.globals[i]->UnsafeSet(p.global_init[i]);
  return true;
}

RunOutcome run_on(const RunInput& input, interp::Store& store, PooledInstance& p);

RunOutcome run(const EngineModule& module, const RunInput& input) {
  CompiledInStore& cached = compiled_for(module);
  std::unique_ptr<PooledInstance> p = std::move(cached.idle);
  bool collect = false;
  if (!p) {
    std::string failure;
    p = instantiate(module, *cached.store, cached.module, &failure);
    if (!p) {
      cached.store->Collect();
      return outcome(RunStatus::kTrapped, failure, 0);
    }
  }
  RunOutcome out = run_on(input, *cached.store, *p);
  if (restore(*p)) {
    cached.idle = std::move(p);
  } else {
    p.reset();  // its memory grew: drop it now, with its memory
    collect = true;
  }
  if (collect || ++cached.runs_since_collect >= kRunsPerCollect) {
    cached.store->Collect();
    cached.runs_since_collect = 0;
  }
  return out;
}

RunOutcome run_on(const RunInput& input, interp::Store& store, PooledInstance& p) {
  constexpr uint64_t kBudgetMax = static_cast<uint64_t>(INT64_MAX);
  uint64_t budget = std::min(input.gas_budget, kBudgetMax);

  p.ctx = HostContext{};
  HostContext& ctx = p.ctx;
  ctx.input = &input;
  ctx.gas = p.gas.get();
  ctx.memory = p.memory.get();
  interp::Global::Ptr& gas = p.gas;
  interp::Func::Ptr& verify = input.entry == Entry::kVerify ? p.verify : p.participants;
  if (!verify) return outcome(RunStatus::kRejected, "the contract declares no participants", 0);
  interp::Trap::Ptr trap_ptr;
  gas->UnsafeSet(interp::Value::Make(static_cast<int64_t>(budget)));

  interp::Values params;
  interp::Values results;
  if (!p.thread) p.thread = std::make_unique<interp::Thread>(store);
  wabt::Result called = verify->Call(*p.thread, params, results, &trap_ptr);
  if (wabt::Failed(called)) p.thread.reset();
  int64_t left = gas->Get().Get<int64_t>();
  uint64_t used = left < 0 ? budget : budget - static_cast<uint64_t>(left);

  // The counter first: accounting tests are deferred in straight-line code (see GasInjector), so
  // a run that overdrew and then rejected or trapped is out of gas, whatever it did next.
  if (ctx.out_of_gas || left < 0) {
    return outcome(RunStatus::kOutOfGas,
                   "out of gas: budget " + std::to_string(budget) + " exhausted", budget);
  }
  if (ctx.rejected) return outcome(RunStatus::kRejected, ctx.reason, used);
  if (wabt::Failed(called)) {
    return outcome(RunStatus::kTrapped,
                   "trap: " + (trap_ptr ? trap_ptr->message() : std::string("unknown")), used);
  }
  int32_t code = results.empty() ? -1 : results[0].Get<int32_t>();
  if (code != 0) {
    return outcome(RunStatus::kRejected,
                   "folio_verify returned " + std::to_string(code) + " without a reason", used);
  }
  RunOutcome accepted = outcome(RunStatus::kAccepted, "", used);
  accepted.participants = std::move(ctx.participants);
  return accepted;
}

}  // namespace

const char* run_status_name(RunStatus status) {
  switch (status) {
    case RunStatus::kAccepted:
      return "accepted";
    case RunStatus::kRejected:
      return "rejected";
    case RunStatus::kOutOfGas:
      return "out of gas";
    case RunStatus::kTrapped:
      return "trapped";
  }
  return "unknown";
}

RunOutcome engine_run(const EngineModule& module, const RunInput& input) {
  try {
    return run(module, input);
  } catch (const std::bad_alloc&) {
    return outcome(RunStatus::kTrapped, "trap: host memory exhausted", input.gas_budget);
  } catch (const std::exception& e) {
    return outcome(RunStatus::kTrapped, std::string("trap: ") + e.what(), 0);
  }
}

}  // namespace folio::wasm::engine
