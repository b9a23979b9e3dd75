// Module preparation: a strict pre-scan of the raw bytes, validation, gas injection through wabt's
// IR, and compilation for the interpreter. Compiled as C++17 (see engine.h).
//
// The pre-scan runs first, over the binary with a streaming reader that never recurses, so that
// the bounds it enforces (nesting depth, locals, counts) protect the later passes: wabt's IR
// destructor and binary writer recurse once per nested block.
#include <wabt/binary-reader-ir.h>
#include <wabt/binary-reader-nop.h>
#include <wabt/binary-reader.h>
#include <wabt/binary-writer.h>
#include <wabt/interp/binary-reader-interp.h>
#include <wabt/ir.h>
#include <wabt/stream.h>
#include <wabt/validator.h>

#include <atomic>
#include <cstring>
#include <new>

#include "wasm/engine_internal.h"

namespace folio::wasm::engine {
namespace {

using wabt::Index;
using wabt::Opcode;
using wabt::Type;

constexpr const char* kGasExportName = "__folio_gas";
constexpr const char* kVerifyExportName = "folio_verify";
constexpr const char* kParticipantsExportName = "folio_participants";
constexpr const char* kMemoryExportName = "memory";
constexpr const char* kHostModuleName = "folio";

std::string type_name(Type type) { return type.GetName(); }

wabt::Var var(Index index) { return wabt::Var(index, wabt::Location()); }

// Features the pre-scan parses so that it can name what it refuses; the later passes enable only
// what contracts may use.
wabt::Features prescan_features() {
  wabt::Features f;
  f.EnableAll();
  f.disable_memory64();
  f.disable_multi_memory();
  f.disable_gc();
  f.disable_function_references();
  f.disable_annotations();
  f.disable_code_metadata();
  f.disable_relaxed_simd();
  return f;
}

wabt::Features contract_features() {
  wabt::Features f;  // wabt's defaults, minus everything a contract must not use
  f.disable_simd();
  f.disable_bulk_memory();
  f.disable_reference_types();
  f.disable_sat_float_to_int();
  f.disable_threads();
  f.disable_exceptions();
  f.disable_tail_call();
  f.enable_mutable_globals();
  f.enable_sign_extension();
  f.enable_multi_value();
  return f;
}

struct Rejection {
  RejectCode code = RejectCode::kNone;
  std::string reason;
};

// Streaming checks over the raw module. Each callback stops the read at the first violation.
class Prescan : public wabt::BinaryReaderNop {
 public:
  explicit Prescan(const EngineLimits& limits) : limits_(limits) {}

  Rejection rejection;
  std::string first_error;
  std::vector<std::pair<std::vector<Type>, std::vector<Type>>> types;
  std::vector<Index> func_sigs;                             // by function index, imports first
  std::vector<std::pair<std::string, Index>> host_imports;  // name, signature index
  std::vector<std::pair<std::string, std::pair<wabt::ExternalKind, Index>>> exports;
  uint32_t memories = 0;

  bool OnError(const wabt::Error& error) override {
    if (first_error.empty()) first_error = error.message;
    return true;
  }

  wabt::Result OnFuncType(Index, Index param_count, Type* params, Index result_count,
                          Type* results) override {
    for (Index i = 0; i < param_count; ++i)
      if (!check_value_type(params[i], "a function parameter")) return wabt::Result::Error;
    for (Index i = 0; i < result_count; ++i)
      if (!check_value_type(results[i], "a function result")) return wabt::Result::Error;
    types.emplace_back(std::vector<Type>(params, params + param_count),
                       std::vector<Type>(results, results + result_count));
    return wabt::Result::Ok;
  }

  wabt::Result OnImportFunc(Index, std::string_view module, std::string_view field, Index,
                            Index sig_index) override {
    if (module != kHostModuleName) {
      return reject(RejectCode::kForbiddenImport,
                    "imports function \"" + std::string(module) + "." + std::string(field) +
                        "\": only module \"folio\" of the contract ABI may be imported");
    }
    host_imports.emplace_back(std::string(field), sig_index);
    func_sigs.push_back(sig_index);
    if (func_sigs.size() > limits_.functions_max) return too_many_functions();
    return wabt::Result::Ok;
  }
  wabt::Result OnImportTable(Index, std::string_view module, std::string_view field, Index, Type,
                             const wabt::Limits*) override {
    return forbidden_import("a table", module, field);
  }
  wabt::Result OnImportMemory(Index, std::string_view module, std::string_view field, Index,
                              const wabt::Limits*) override {
    return forbidden_import("a memory", module, field);
  }
  wabt::Result OnImportGlobal(Index, std::string_view module, std::string_view field, Index, Type,
                              bool) override {
    return forbidden_import("a global", module, field);
  }
  wabt::Result OnImportTag(Index, std::string_view module, std::string_view field, Index,
                           Index) override {
    return forbidden_import("a tag", module, field);
  }

  wabt::Result OnFunctionCount(Index count) override {
    if (static_cast<uint64_t>(count) + func_sigs.size() > limits_.functions_max)
      return too_many_functions();
    return wabt::Result::Ok;
  }
  wabt::Result OnFunction(Index, Index sig_index) override {
    func_sigs.push_back(sig_index);
    return wabt::Result::Ok;
  }

  wabt::Result OnTable(Index, Type elem_type, const wabt::Limits* limits) override {
    if (elem_type != Type::FuncRef)
      return reject(RejectCode::kForbiddenFeature, "declares a table of " + type_name(elem_type));
    uint64_t size = limits->has_max ? limits->max : limits->initial;
    if (limits->initial > limits_.table_elements_max || size > limits_.table_elements_max) {
      return reject(RejectCode::kTableTooLarge, "declares a table of up to " +
                                                    std::to_string(size) + " elements, above " +
                                                    std::to_string(limits_.table_elements_max));
    }
    return wabt::Result::Ok;
  }

  wabt::Result OnMemory(Index, const wabt::Limits* limits) override {
    ++memories;
    if (limits->is_shared || limits->is_64)
      return reject(RejectCode::kForbiddenFeature, "declares a shared or 64-bit memory");
    if (!limits->has_max) {
      return reject(RejectCode::kMemoryUnbounded,
                    "declares a memory without a maximum (build with -Wl,--max-memory=N)");
    }
    if (limits->max > limits_.memory_pages_max) {
      return reject(RejectCode::kMemoryTooLarge,
                    "declares a memory maximum of " + std::to_string(limits->max) +
                        " pages, above the cap of " + std::to_string(limits_.memory_pages_max));
    }
    return wabt::Result::Ok;
  }

  wabt::Result OnGlobalCount(Index count) override {
    if (count > limits_.globals_max)
      return reject(RejectCode::kTooLarge, "declares " + std::to_string(count) + " globals");
    return wabt::Result::Ok;
  }
  wabt::Result BeginGlobal(Index, Type type, bool) override {
    return check_value_type(type, "a global") ? wabt::Result::Ok : wabt::Result::Error;
  }

  wabt::Result OnExportCount(Index count) override {
    if (count > limits_.exports_max)
      return reject(RejectCode::kTooLarge, "declares " + std::to_string(count) + " exports");
    return wabt::Result::Ok;
  }
  wabt::Result OnExport(Index, wabt::ExternalKind kind, Index item,
                        std::string_view name) override {
    if (name == kGasExportName)
      return reject(RejectCode::kReservedName, "exports the reserved name " + std::string(name));
    exports.emplace_back(std::string(name), std::make_pair(kind, item));
    return wabt::Result::Ok;
  }

  wabt::Result OnStartFunction(Index func) override {
    return reject(RejectCode::kStartFunction, "declares start function " + std::to_string(func) +
                                                  ": code may run only inside folio_verify");
  }

  wabt::Result BeginFunctionBody(Index index, wabt::Offset) override {
    depth_ = 0;
    function_ = index;
    locals_ = 0;
    if (index < func_sigs.size() && func_sigs[index] < types.size())
      locals_ = types[func_sigs[index]].first.size();
    return wabt::Result::Ok;
  }
  wabt::Result OnLocalDecl(Index, Index count, Type type) override {
    if (!check_value_type(type, "a local")) return wabt::Result::Error;
    locals_ += count;
    if (locals_ > limits_.locals_per_function_max) {
      return reject(RejectCode::kTooManyLocals,
                    "function " + std::to_string(function_) + " declares " +
                        std::to_string(locals_) + " locals and parameters, above " +
                        std::to_string(limits_.locals_per_function_max));
    }
    return wabt::Result::Ok;
  }

  wabt::Result OnOpcode(Opcode opcode) override {
    uint8_t prefix = opcode.GetPrefix();
    if (prefix == 0xfd) return reject(RejectCode::kSimd, op_message("uses SIMD opcode", opcode));
    if (prefix == 0xfe)
      return reject(RejectCode::kForbiddenFeature, op_message("uses atomic opcode", opcode));
    for (Type t : {opcode.GetResultType(), opcode.GetParamType1(), opcode.GetParamType2(),
                   opcode.GetParamType3()}) {
      if (t == Type::F32 || t == Type::F64)
        return reject(RejectCode::kFloatingPoint, op_message("uses floating-point opcode", opcode));
      if (t == Type::V128) return reject(RejectCode::kSimd, op_message("uses SIMD opcode", opcode));
    }
    switch (opcode) {
      case Opcode::Block:
      case Opcode::Loop:
      case Opcode::If:
      case Opcode::Try:
        if (++blocks_ > limits_.blocks_max) {
          return reject(RejectCode::kTooLarge,
                        "has more than " + std::to_string(limits_.blocks_max) + " blocks");
        }
        if (++depth_ > static_cast<int64_t>(limits_.block_nesting_max)) {
          return reject(RejectCode::kNestingTooDeep, "function " + std::to_string(function_) +
                                                         " nests blocks deeper than " +
                                                         std::to_string(limits_.block_nesting_max));
        }
        break;
      case Opcode::End:
        --depth_;
        break;
      default:
        break;
    }
    if (prefix == 0xfc) {
      return reject(RejectCode::kForbiddenFeature,
                    op_message("uses bulk-memory or table opcode", opcode));
    }
    switch (opcode) {
      case Opcode::Try:
      case Opcode::Catch:
      case Opcode::CatchAll:
      case Opcode::Throw:
      case Opcode::Rethrow:
      case Opcode::Delegate:
      case Opcode::ReturnCall:
      case Opcode::ReturnCallIndirect:
      case Opcode::CallRef:
      case Opcode::RefNull:
      case Opcode::RefIsNull:
      case Opcode::RefFunc:
      case Opcode::TableGet:
      case Opcode::TableSet:
        return reject(RejectCode::kForbiddenFeature, op_message("uses opcode", opcode));
      default:
        return wabt::Result::Ok;
    }
  }

  wabt::Result OnBlockExpr(Type sig) override { return check_block_type(sig); }
  wabt::Result OnLoopExpr(Type sig) override { return check_block_type(sig); }
  wabt::Result OnIfExpr(Type sig) override { return check_block_type(sig); }
  wabt::Result OnSelectExpr(Index count, Type* types_in) override {
    for (Index i = 0; i < count; ++i)
      if (!check_value_type(types_in[i], "a select")) return wabt::Result::Error;
    return wabt::Result::Ok;
  }

 private:
  wabt::Result reject(RejectCode code, std::string reason) {
    if (rejection.code == RejectCode::kNone) rejection = Rejection{code, std::move(reason)};
    return wabt::Result::Error;
  }
  wabt::Result too_many_functions() {
    return reject(RejectCode::kTooManyFunctions,
                  "has more than " + std::to_string(limits_.functions_max) + " functions");
  }
  wabt::Result forbidden_import(const char* what, std::string_view module, std::string_view field) {
    return reject(RejectCode::kForbiddenImport, "imports " + std::string(what) + " \"" +
                                                    std::string(module) + "." + std::string(field) +
                                                    "\": contracts may import only functions");
  }
  std::string op_message(const char* what, Opcode opcode) {
    return std::string(what) + " " + opcode.GetName() + " in function " + std::to_string(function_);
  }
  bool check_value_type(Type type, const char* where) {
    if (type == Type::I32 || type == Type::I64) return true;
    RejectCode code = RejectCode::kForbiddenFeature;
    if (type == Type::F32 || type == Type::F64) code = RejectCode::kFloatingPoint;
    if (type == Type::V128) code = RejectCode::kSimd;
    reject(code, std::string("declares ") + where + " of type " + type_name(type));
    return false;
  }
  wabt::Result check_block_type(Type sig) {
    if (sig == Type::Void || sig.IsIndex()) return wabt::Result::Ok;
    return check_value_type(sig, "a block result") ? wabt::Result::Ok : wabt::Result::Error;
  }

  const EngineLimits& limits_;
  int64_t depth_ = 0;
  uint64_t blocks_ = 0;
  Index function_ = 0;
  uint64_t locals_ = 0;
};

uint64_t expr_cost(const wabt::Expr& expr) {
  switch (expr.type()) {
    case wabt::ExprType::Call:
      return GasCosts::kCall;
    case wabt::ExprType::CallIndirect:
      return GasCosts::kCallIndirect;
    case wabt::ExprType::Load:
    case wabt::ExprType::Store:
      return GasCosts::kMemoryAccess;
    case wabt::ExprType::MemoryGrow:
      return GasCosts::kMemoryGrowBase;
    case wabt::ExprType::Binary: {
      switch (wabt::cast<wabt::BinaryExpr>(&expr)->opcode) {
        case Opcode::I32DivS:
        case Opcode::I32DivU:
        case Opcode::I32RemS:
        case Opcode::I32RemU:
        case Opcode::I64DivS:
        case Opcode::I64DivU:
        case Opcode::I64RemS:
        case Opcode::I64RemU:
          return GasCosts::kDivision;
        default:
          return GasCosts::kInstruction;
      }
    }
    default:
      return GasCosts::kInstruction;
  }
}

// Rewrites function bodies so that every basic block charges its static cost on entry (the Corda
// seed's "accounting blocks"). A block here is a maximal run of instructions between structure
// boundaries (function entry, block/loop/if bodies, and the code after each of them); a branch out
// of the middle of a run only means the run was charged in full, which keeps the cost static.
//
// wabt's interpreter pays much more for a global access than for a local one, so blocks add their
// cost to a per-call accumulator local, and the accumulator is flushed into the global counter
// where it matters: at loop heads (which also charge their own block and test the counter), before
// every call, return, branch out of the function and memory.grow, and at the end of the body.
// Function entries charge the global directly and test it. Between two tests a run executes only
// forward, loop-free code of one function, so the counter can be overdrawn by at most one
// function's static cost before a test, a host call, or the host's check after the run catches
// it: a run that returns or calls the host after exceeding its budget is out of gas. A run that
// traps before its last blocks were flushed reports the trap and excludes them from its gas. Both
// depend only on the code and the path, so they are the same on every machine.
class GasInjector {
 public:
  explicit GasInjector(Index gas_global) : gas_(gas_global) {}
  uint32_t charge_points = 0;

  void instrument_function(wabt::Func& func) {
    func_ = &func;
    scratch_local_ = -1;
    acc_local_ = static_cast<Index>(func.GetNumParamsAndLocals());
    func.local_types.AppendDecl(Type::I64, 1);
    instrument_list(func.exprs, Head::kFunction, 0);
    insert_flush(func.exprs, func.exprs.end());
  }

 private:
  using ExprPtr = std::unique_ptr<wabt::Expr>;
  using Iter = wabt::ExprList::iterator;
  enum class Head { kFunction, kLoop, kOther };

  static ExprPtr i64_const(uint64_t v) {
    return std::make_unique<wabt::ConstExpr>(wabt::Const::I64(v));
  }
  template <class T>
  static ExprPtr op(Opcode opcode) {
    return std::make_unique<T>(opcode);
  }
  ExprPtr global_get() const { return std::make_unique<wabt::GlobalGetExpr>(var(gas_)); }
  ExprPtr global_set() const { return std::make_unique<wabt::GlobalSetExpr>(var(gas_)); }
  ExprPtr acc_get() const { return std::make_unique<wabt::LocalGetExpr>(var(acc_local_)); }
  ExprPtr acc_set() const { return std::make_unique<wabt::LocalSetExpr>(var(acc_local_)); }

  // if (gas < 0) unreachable. The host tells an exhausted budget from a contract's own trap by
  // the counter's sign.
  void insert_test(wabt::ExprList& list, Iter before) {
    list.insert(before, global_get());
    list.insert(before, i64_const(0));
    list.insert(before, op<wabt::CompareExpr>(Opcode::I64LtS));
    auto check = std::make_unique<wabt::IfExpr>();
    check->true_.exprs.push_back(std::make_unique<wabt::UnreachableExpr>());
    list.insert(before, std::move(check));
  }

  // gas -= acc; acc = 0. Leaves the operand stack as it was.
  void insert_flush(wabt::ExprList& list, Iter before) {
    list.insert(before, global_get());
    list.insert(before, acc_get());
    list.insert(before, op<wabt::BinaryExpr>(Opcode::I64Sub));
    list.insert(before, global_set());
    list.insert(before, i64_const(0));
    list.insert(before, acc_set());
  }

  void charge(wabt::ExprList& list, Iter before, uint64_t cost, Head head) {
    if (cost == 0 && head == Head::kOther) return;
    ++charge_points;
    if (head == Head::kOther) {  // acc += cost
      list.insert(before, acc_get());
      list.insert(before, i64_const(cost));
      list.insert(before, op<wabt::BinaryExpr>(Opcode::I64Add));
      list.insert(before, acc_set());
      return;
    }
    list.insert(before, global_get());  // gas -= [acc +] cost, then test
    if (head == Head::kLoop) {
      list.insert(before, acc_get());
      list.insert(before, op<wabt::BinaryExpr>(Opcode::I64Sub));
    }
    list.insert(before, i64_const(cost));
    list.insert(before, op<wabt::BinaryExpr>(Opcode::I64Sub));
    list.insert(before, global_set());
    if (head == Head::kLoop) {
      list.insert(before, i64_const(0));
      list.insert(before, acc_set());
    }
    insert_test(list, before);
  }

  // memory.grow n: flush, then charge kMemoryGrowPerPage * n and test before growing, with n kept
  // in a scratch local.
  void charge_grow(wabt::ExprList& list, Iter grow) {
    if (scratch_local_ < 0) {
      scratch_local_ = static_cast<int64_t>(func_->GetNumParamsAndLocals());
      func_->local_types.AppendDecl(Type::I32, 1);
    }
    wabt::Var scratch = var(static_cast<Index>(scratch_local_));
    list.insert(grow, std::make_unique<wabt::LocalSetExpr>(scratch));
    insert_flush(list, grow);
    list.insert(grow, global_get());
    list.insert(grow, std::make_unique<wabt::LocalGetExpr>(scratch));
    list.insert(grow, op<wabt::ConvertExpr>(Opcode::I64ExtendI32U));
    list.insert(grow, i64_const(GasCosts::kMemoryGrowPerPage));
    list.insert(grow, op<wabt::BinaryExpr>(Opcode::I64Mul));
    list.insert(grow, op<wabt::BinaryExpr>(Opcode::I64Sub));
    list.insert(grow, global_set());
    insert_test(list, grow);
    list.insert(grow, std::make_unique<wabt::LocalGetExpr>(scratch));
  }

  static bool leaves_function(const wabt::Var& target, Index depth) {
    return target.is_index() && target.index() == depth;
  }

  // `depth`: how many labels enclose `list` inside the function (a branch to label `depth` leaves
  // the function). Recursion is bounded by the pre-scan's block_nesting_max.
  void instrument_list(wabt::ExprList& list, Head head, Index depth) {
    Iter segment = list.begin();
    uint64_t cost = 0;
    for (Iter it = list.begin(); it != list.end(); ++it) {
      wabt::Expr& expr = *it;
      cost += expr_cost(expr);
      bool boundary = false;
      switch (expr.type()) {
        case wabt::ExprType::Block:
          instrument_list(wabt::cast<wabt::BlockExpr>(&expr)->block.exprs, Head::kOther, depth + 1);
          boundary = true;
          break;
        case wabt::ExprType::Loop:
          instrument_list(wabt::cast<wabt::LoopExpr>(&expr)->block.exprs, Head::kLoop, depth + 1);
          boundary = true;
          break;
        case wabt::ExprType::If: {
          auto* if_expr = wabt::cast<wabt::IfExpr>(&expr);
          instrument_list(if_expr->true_.exprs, Head::kOther, depth + 1);
          instrument_list(if_expr->false_, Head::kOther, depth + 1);
          boundary = true;
          break;
        }
        case wabt::ExprType::MemoryGrow:
          charge_grow(list, it);
          break;
        case wabt::ExprType::Call:
        case wabt::ExprType::CallIndirect:
        case wabt::ExprType::Return:
          insert_flush(list, it);
          break;
        case wabt::ExprType::Br:
          if (leaves_function(wabt::cast<wabt::BrExpr>(&expr)->var, depth)) insert_flush(list, it);
          break;
        case wabt::ExprType::BrIf:
          if (leaves_function(wabt::cast<wabt::BrIfExpr>(&expr)->var, depth))
            insert_flush(list, it);
          break;
        case wabt::ExprType::BrTable: {
          auto* table = wabt::cast<wabt::BrTableExpr>(&expr);
          bool leaves = leaves_function(table->default_target, depth);
          for (const wabt::Var& target : table->targets)
            leaves = leaves || leaves_function(target, depth);
          if (leaves) insert_flush(list, it);
          break;
        }
        default:
          break;
      }
      if (boundary) {
        charge(list, segment, cost, head);
        cost = 0;
        head = Head::kOther;
        segment = std::next(it);
      }
    }
    charge(list, segment, cost, head);
  }

  Index gas_;
  wabt::Func* func_ = nullptr;
  Index acc_local_ = 0;
  int64_t scratch_local_ = -1;
};

std::string first_message(const wabt::Errors& errors, const std::string& fallback) {
  if (!errors.empty()) return errors.front().message;
  return fallback;
}

PrepareOutcome rejected(RejectCode code, std::string reason) {
  PrepareOutcome out;
  out.code = code;
  out.reason = std::move(reason);
  return out;
}

bool same_types(const std::vector<Type>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    Type expected = b[i] == 0x7e ? Type::I64 : Type::I32;
    if (a[i] != expected) return false;
  }
  return true;
}

PrepareOutcome prepare(const uint8_t* wasm, size_t size, const EngineLimits& limits) {
  if (size > limits.module_bytes_max) {
    return rejected(RejectCode::kTooLarge, "module is " + std::to_string(size) + " bytes, above " +
                                               std::to_string(limits.module_bytes_max));
  }
  if (size < 8) return rejected(RejectCode::kMalformed, "not a WebAssembly module: too short");

  // 1. Pre-scan: bounds, types, imports, opcodes.
  Prescan scan(limits);
  wabt::ReadBinaryOptions scan_options(prescan_features(), nullptr, false, true, false);
  wabt::Result scanned = wabt::ReadBinary(wasm, size, &scan, scan_options);
  if (scan.rejection.code != RejectCode::kNone)
    return rejected(scan.rejection.code, scan.rejection.reason);
  if (wabt::Failed(scanned))
    return rejected(RejectCode::kMalformed, "malformed module: " + scan.first_error);

  std::vector<int> host_ids;
  const auto& abi = abi_imports();
  for (const auto& [name, sig] : scan.host_imports) {
    int found = -1;
    for (size_t i = 0; i < abi.size(); ++i)
      if (name == abi[i].name) found = static_cast<int>(i);
    if (found < 0) {
      return rejected(RejectCode::kForbiddenImport,
                      "imports \"folio." + name + "\", which is not in the contract ABI");
    }
    if (sig >= scan.types.size() || !same_types(scan.types[sig].first, abi[found].params) ||
        !same_types(scan.types[sig].second, abi[found].results)) {
      return rejected(RejectCode::kForbiddenImport,
                      "imports \"folio." + name + "\" with a signature other than the ABI's");
    }
    host_ids.push_back(found);
  }
  bool has_memory = false;
  int64_t verify_index = -1;
  int64_t participants_index = -1;
  std::vector<std::string> export_names;
  auto returns_i32 = [&scan](Index func) {
    if (func >= scan.func_sigs.size()) return false;
    Index sig = scan.func_sigs[func];
    return sig < scan.types.size() && scan.types[sig].first.empty() &&
           scan.types[sig].second.size() == 1 && scan.types[sig].second[0] == Type::I32;
  };
  for (const auto& [name, item] : scan.exports) {
    const auto& [kind, index] = item;
    export_names.push_back(std::string(wabt::GetKindName(kind)) + " " + name);
    if (name == kMemoryExportName && kind == wabt::ExternalKind::Memory) has_memory = true;
    if (name == kVerifyExportName && kind == wabt::ExternalKind::Func && returns_i32(index))
      verify_index = index;
    if (name == kParticipantsExportName && kind == wabt::ExternalKind::Func) {
      if (!returns_i32(index)) {
        return rejected(RejectCode::kMissingExport,
                        "exports \"folio_participants\" with a type other than [] -> [i32]");
      }
      participants_index = index;
    }
  }
  if (!has_memory || scan.memories != 1)
    return rejected(RejectCode::kMissingExport, "does not export its memory as \"memory\"");
  if (verify_index < 0) {
    return rejected(RejectCode::kMissingExport,
                    "does not export \"folio_verify\" of type [] -> [i32]");
  }

  // 2. Read into wabt's IR and validate (types, indexes, stack discipline).
  wabt::Module module;
  wabt::Errors errors;
  wabt::ReadBinaryOptions ir_options(contract_features(), nullptr, false, true, false);
  if (wabt::Failed(wabt::ReadBinaryIr("contract.wasm", wasm, size, ir_options, &errors, &module)))
    return rejected(RejectCode::kMalformed,
                    "malformed module: " + first_message(errors, "unreadable"));
  wabt::ValidateOptions validate_options(contract_features());
  if (wabt::Failed(wabt::ValidateModule(&module, &errors, validate_options))) {
    return rejected(RejectCode::kMalformed,
                    "invalid module: " + first_message(errors, "validation failed"));
  }

  // 3. Inject the gas counter: a mutable i64 global after all others, exported for the host.
  Index gas_index = static_cast<Index>(module.globals.size());
  GasInjector injector(gas_index);
  // Imported functions come first in wabt's list and have no body.
  for (Index i = module.num_func_imports; i < module.funcs.size(); ++i)
    injector.instrument_function(*module.funcs[i]);
  auto gas_field = std::make_unique<wabt::GlobalModuleField>();
  gas_field->global.type = Type::I64;
  gas_field->global.mutable_ = true;
  gas_field->global.init_expr.push_back(std::make_unique<wabt::ConstExpr>(wabt::Const::I64(0)));
  module.AppendField(std::move(gas_field));
  auto gas_export = std::make_unique<wabt::ExportModuleField>();
  gas_export->export_.name = kGasExportName;
  gas_export->export_.kind = wabt::ExternalKind::Global;
  gas_export->export_.var = var(gas_index);
  module.AppendField(std::move(gas_export));

  wabt::MemoryStream stream;
  wabt::WriteBinaryOptions write_options(contract_features(), true, false, false);
  if (wabt::Failed(wabt::WriteBinaryModule(&stream, &module, write_options)))
    return rejected(RejectCode::kMalformed, "could not write the instrumented module");
  std::vector<uint8_t> instrumented = std::move(stream.output_buffer().data);

  // 4. Compile for the interpreter (which validates the rewritten module once more).
  auto engine_module = std::make_shared<EngineModule>();
  wabt::ReadBinaryOptions interp_options(contract_features(), nullptr, false, true, false);
  if (wabt::Failed(wabt::interp::ReadBinaryInterp("contract.wasm", instrumented.data(),
                                                  instrumented.size(), interp_options, &errors,
                                                  &engine_module->desc))) {
    return rejected(RejectCode::kMalformed,
                    "instrumented module failed to compile: " + first_message(errors, "unknown"));
  }
  static std::atomic<uint64_t> next_id{1};
  engine_module->id = next_id.fetch_add(1);
  engine_module->gas_global_index = gas_index;
  engine_module->verify_func_index = static_cast<uint32_t>(verify_index);
  engine_module->participants_func_index = participants_index;
  engine_module->import_host_ids = std::move(host_ids);

  PrepareOutcome out;
  out.module = std::move(engine_module);
  out.instrumented = std::move(instrumented);
  out.exports = std::move(export_names);
  out.functions = static_cast<uint32_t>(module.funcs.size());
  out.accounting_blocks = injector.charge_points;
  return out;
}

}  // namespace

const char* reject_code_name(RejectCode code) {
  switch (code) {
    case RejectCode::kNone:
      return "none";
    case RejectCode::kMalformed:
      return "malformed";
    case RejectCode::kTooLarge:
      return "too large";
    case RejectCode::kFloatingPoint:
      return "floating point";
    case RejectCode::kSimd:
      return "SIMD";
    case RejectCode::kForbiddenFeature:
      return "forbidden feature";
    case RejectCode::kForbiddenImport:
      return "forbidden import";
    case RejectCode::kStartFunction:
      return "start function";
    case RejectCode::kMemoryUnbounded:
      return "unbounded memory";
    case RejectCode::kMemoryTooLarge:
      return "memory too large";
    case RejectCode::kTableTooLarge:
      return "table too large";
    case RejectCode::kTooManyLocals:
      return "too many locals";
    case RejectCode::kTooManyFunctions:
      return "too many functions";
    case RejectCode::kNestingTooDeep:
      return "nesting too deep";
    case RejectCode::kMissingExport:
      return "missing export";
    case RejectCode::kReservedName:
      return "reserved name";
  }
  return "unknown";
}

const std::vector<HostImport>& abi_imports() {
  static const std::vector<HostImport> imports = {
      {"tx_size", {}, {0x7f}},
      {"tx_read", {0x7f, 0x7f, 0x7f}, {}},
      {"contract_name", {0x7f, 0x7f}, {0x7f}},
      {"reject", {0x7f, 0x7f}, {}},
      {"config_size", {}, {0x7f}},
      {"config_read", {0x7f, 0x7f, 0x7f}, {}},
      {"view_size", {}, {0x7f}},
      {"view_read", {0x7f, 0x7f, 0x7f}, {}},
      {"participant", {0x7f, 0x7f}, {}},
  };
  return imports;
}

PrepareOutcome engine_prepare(const uint8_t* wasm, size_t size, const EngineLimits& limits) {
  // wabt reports problems through return values; only allocation failure can throw, and a bounded
  // module cannot make it allocate much, but the boundary must not let an exception through.
  try {
    return prepare(wasm, size, limits);
  } catch (const std::bad_alloc&) {
    return rejected(RejectCode::kTooLarge, "module exhausted memory while loading");
  } catch (const std::exception& e) {
    return rejected(RejectCode::kMalformed, std::string("module could not be loaded: ") + e.what());
  }
}

}  // namespace folio::wasm::engine
