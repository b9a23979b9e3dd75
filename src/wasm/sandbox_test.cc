// The sandbox against well-behaved and hostile modules written in WAT.
#include "wasm/sandbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "wasm/wat.h"

namespace folio::wasm {
namespace {

Bytes wat(const std::string& text) {
  std::vector<uint8_t> out;
  std::string error;
  EXPECT_TRUE(wat_to_wasm(text, &out, &error)) << error;
  return out;
}

// A module with the ABI's required exports around `body` (module fields).
std::string contract(const std::string& fields) {
  return "(module " + fields + "\n(memory (export \"memory\") 1 2))";
}

const std::string kAccept = contract("(func (export \"folio_verify\") (result i32) (i32.const 0))");

std::shared_ptr<const Module> must_load(const std::string& text) {
  Validation v = validate(wat(text));
  EXPECT_TRUE(v.ok()) << v.describe();
  return v.module;
}

RejectCode rejection(const Bytes& wasm, const Limits& limits = {}) {
  Validation v = validate(wasm, limits);
  EXPECT_FALSE(v.reason.empty() && !v.ok());
  return v.code;
}

const Bytes kTx = {42, 1, 2, 3};

TEST(Validate, AcceptsMinimalCheckerAndReportsExports) {
  Validation v = validate(wat(kAccept));
  ASSERT_TRUE(v.ok()) << v.describe();
  EXPECT_EQ(v.module->exports(), (std::vector<std::string>{"func folio_verify", "memory memory"}));
  EXPECT_GT(v.module->instrumented().size(), v.module->original_bytes());
  EXPECT_EQ(v.module->accounting_blocks(), 1u);
}

TEST(Validate, RejectsFloatingPointOpcode) {
  Bytes wasm = wat(contract(R"((func (export "folio_verify") (result i32)
      (drop (f32.add (f32.const 1) (f32.const 2))) (i32.const 0)))"));
  Validation v = validate(wasm);
  EXPECT_EQ(v.code, RejectCode::kFloatingPoint);
  EXPECT_NE(v.reason.find("f32"), std::string::npos) << v.reason;
}

TEST(Validate, RejectsFloatingPointLocalAndConversion) {
  EXPECT_EQ(rejection(wat(contract(R"((func (export "folio_verify") (result i32) (local f64)
      (i32.const 0)))"))),
            RejectCode::kFloatingPoint);
  EXPECT_EQ(rejection(wat(contract(R"((func (export "folio_verify") (result i32)
      (i32.reinterpret_f32 (f32.const 0))))"))),
            RejectCode::kFloatingPoint);
}

TEST(Validate, RejectsSimd) {
  EXPECT_EQ(rejection(wat(contract(R"((func (export "folio_verify") (result i32)
      (i32x4.extract_lane 0 (v128.const i32x4 0 0 0 0))))"))),
            RejectCode::kSimd);
}

TEST(Validate, RejectsBulkMemory) {
  EXPECT_EQ(rejection(wat(contract(R"((func (export "folio_verify") (result i32)
      (memory.fill (i32.const 0) (i32.const 0) (i32.const 100)) (i32.const 0)))"))),
            RejectCode::kForbiddenFeature);
}

TEST(Validate, RejectsMemoryWithoutMaximumOrAboveCap) {
  EXPECT_EQ(rejection(wat(R"((module (memory (export "memory") 1)
      (func (export "folio_verify") (result i32) (i32.const 0))))")),
            RejectCode::kMemoryUnbounded);
  EXPECT_EQ(rejection(wat(R"((module (memory (export "memory") 1 65536)
      (func (export "folio_verify") (result i32) (i32.const 0))))")),
            RejectCode::kMemoryTooLarge);
}

TEST(Validate, RejectsHugeLocals) {
  Validation v = validate(wat(contract(R"((func (export "folio_verify") (result i32)
      (local i64 i64) (local i32) (i32.const 0)))")),
                          Limits{.locals_per_function_max = 2});
  EXPECT_EQ(v.code, RejectCode::kTooManyLocals);
  // One declaration of 2^28 - 1 locals is a few bytes of module: it must be refused, not
  // allocated. Written byte by byte, since no assembler would produce it.
  Bytes huge = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05,
                0x01, 0x60, 0x00, 0x01, 0x7f,        // type: [] -> [i32]
                0x03, 0x02, 0x01, 0x00,              // one function of type 0
                0x05, 0x04, 0x01, 0x01, 0x01, 0x02,  // memory 1..2 pages
                0x07, 0x19, 0x02,                    // two exports
                0x06, 'm',  'e',  'm',  'o',  'r',  'y',  0x02, 0x00, 0x0c,
                'f',  'o',  'l',  'i',  'o',  '_',  'v',  'e',  'r',  'i',
                'f',  'y',  0x00, 0x00, 0x0a, 0x0b, 0x01, 0x09,  // code: one body of 9 bytes
                0x01, 0xff, 0xff, 0xff, 0x7f, 0x7f,              // 268435455 locals of i32
                0x41, 0x00, 0x0b};                               // i32.const 0, end
  Validation h = validate(huge);
  EXPECT_EQ(h.code, RejectCode::kTooManyLocals) << h.describe();
  huge[57] = 0x01;  // the same module with one local is fine: the test's bytes are right
  huge.erase(huge.begin() + 58, huge.begin() + 61);
  huge[53] -= 3;
  huge[55] -= 3;
  EXPECT_TRUE(validate(huge).ok()) << validate(huge).describe();
}

TEST(Validate, RejectsTooManyFunctions) {
  std::string fields = "(func (export \"folio_verify\") (result i32) (i32.const 0))";
  for (int i = 0; i < 8; ++i) fields += "(func)";
  EXPECT_EQ(rejection(wat(contract(fields)), Limits{.functions_max = 4}),
            RejectCode::kTooManyFunctions);
}

TEST(Validate, RejectsImportsOutsideTheAbi) {
  Validation clock = validate(wat(contract(R"((import "env" "clock" (func (result i64)))
      (func (export "folio_verify") (result i32) (i32.const 0)))")));
  EXPECT_EQ(clock.code, RejectCode::kForbiddenImport);
  EXPECT_NE(clock.reason.find("env.clock"), std::string::npos) << clock.reason;
  EXPECT_EQ(rejection(wat(contract(R"((import "folio" "random" (func (result i64)))
      (func (export "folio_verify") (result i32) (i32.const 0)))"))),
            RejectCode::kForbiddenImport);
  EXPECT_EQ(rejection(wat(contract(R"((import "folio" "tx_size" (func (result i64)))
      (func (export "folio_verify") (result i32) (i32.const 0)))"))),
            RejectCode::kForbiddenImport);
  EXPECT_EQ(rejection(wat(R"((module (import "folio" "mem" (memory 1 2))
      (export "memory" (memory 0))
      (func (export "folio_verify") (result i32) (i32.const 0))))")),
            RejectCode::kForbiddenImport);
}

TEST(Validate, RejectsStartFunction) {
  EXPECT_EQ(rejection(wat(contract(R"((func $s) (start $s)
      (func (export "folio_verify") (result i32) (i32.const 0)))"))),
            RejectCode::kStartFunction);
}

TEST(Validate, RejectsMissingOrMistypedExports) {
  EXPECT_EQ(rejection(wat(contract("(func (export \"verify\") (result i32) (i32.const 0))"))),
            RejectCode::kMissingExport);
  EXPECT_EQ(rejection(wat(contract("(func (export \"folio_verify\") (result i64) (i64.const 0))"))),
            RejectCode::kMissingExport);
  EXPECT_EQ(rejection(wat(R"((module (memory 1 2)
      (func (export "folio_verify") (result i32) (i32.const 0))))")),
            RejectCode::kMissingExport);
  EXPECT_EQ(rejection(wat(contract(R"((global (export "__folio_gas") (mut i64) (i64.const 0))
      (func (export "folio_verify") (result i32) (i32.const 0)))"))),
            RejectCode::kReservedName);
}

TEST(Validate, RejectsMalformedBytesWithoutCrashing) {
  EXPECT_EQ(rejection(Bytes{}), RejectCode::kMalformed);
  EXPECT_EQ(rejection(Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'}),
            RejectCode::kMalformed);
  Bytes good = wat(kAccept);
  for (size_t cut = 0; cut < good.size(); ++cut) {
    Bytes truncated(good.begin(), good.begin() + cut);
    EXPECT_FALSE(validate(truncated).ok()) << "cut at " << cut;
  }
  // Every single-byte corruption is either refused or still a valid, runnable module.
  for (size_t i = 8; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0xff;
    Validation v = validate(bad);
    if (v.ok()) (void)run(*v.module, kTx, "c", 1000);
  }
}

TEST(Validate, RejectsTypeErrors) {
  // A body that leaves the wrong type on the stack is caught by validation, not by a trap.
  Bytes wasm = wat(contract("(func (export \"folio_verify\") (result i32) (i64.const 0))"));
  EXPECT_EQ(rejection(wasm), RejectCode::kMalformed);
}

TEST(Validate, RejectsNestingDeeperThanTheBound) {
  std::string body;
  for (int i = 0; i < 40; ++i) body += "(block ";
  body += "(nop)";
  for (int i = 0; i < 40; ++i) body += ")";
  std::string text =
      contract("(func (export \"folio_verify\") (result i32) " + body + " (i32.const 0))");
  EXPECT_EQ(rejection(wat(text), Limits{.block_nesting_max = 32}), RejectCode::kNestingTooDeep);
  EXPECT_TRUE(validate(wat(text)).ok());
}

TEST(Validate, RejectsMoreBlocksThanTheBound) {
  std::string body;
  for (int i = 0; i < 20; ++i) body += "(block (nop))";
  std::string text =
      contract("(func (export \"folio_verify\") (result i32) " + body + " (i32.const 0))");
  Validation v = validate(wat(text), Limits{.blocks_max = 16});
  EXPECT_EQ(v.code, RejectCode::kTooLarge);
  EXPECT_NE(v.reason.find("more than 16 blocks"), std::string::npos) << v.reason;
  EXPECT_TRUE(validate(wat(text)).ok());
}

TEST(Validate, RejectsModulesAboveTheSizeBound) {
  Bytes big = wat(kAccept);
  big.resize(Limits{}.module_bytes_max + 1, 0);
  EXPECT_EQ(validate(big).code, RejectCode::kTooLarge);
}

TEST(Run, AcceptingCheckerUsesStaticGas) {
  auto module = must_load(kAccept);
  Execution e = run(*module, kTx, "c", 1000);
  EXPECT_EQ(e.status, RunStatus::kAccepted) << e.describe();
  EXPECT_EQ(e.gas_used, 1u);  // one i32.const, charged at function entry
}

TEST(Run, ContractRejectsWithItsReason) {
  auto module = must_load(contract(R"((import "folio" "reject" (func $reject (param i32 i32)))
      (data (i32.const 16) "amounts differ")
      (func (export "folio_verify") (result i32)
        (call $reject (i32.const 16) (i32.const 14)) (i32.const 0)))"));
  Execution e = run(*module, kTx, "c", 1000);
  EXPECT_EQ(e.status, RunStatus::kRejected);
  EXPECT_EQ(e.reason, "amounts differ");
}

TEST(Run, NonZeroReturnRejectsWithoutReason) {
  auto module = must_load(contract("(func (export \"folio_verify\") (result i32) (i32.const 7))"));
  Execution e = run(*module, kTx, "c", 1000);
  EXPECT_EQ(e.status, RunStatus::kRejected);
  EXPECT_NE(e.reason.find("returned 7"), std::string::npos);
}

// Reads the transaction and the contract name through the host ABI and checks the first byte.
const std::string kReader = contract(R"(
  (import "folio" "tx_size" (func $tx_size (result i32)))
  (import "folio" "tx_read" (func $tx_read (param i32 i32 i32)))
  (import "folio" "contract_name" (func $name (param i32 i32) (result i32)))
  (func (export "folio_verify") (result i32)
    (if (i32.ne (call $tx_size) (i32.const 4)) (then (return (i32.const 1))))
    (call $tx_read (i32.const 100) (i32.const 0) (call $tx_size))
    (if (i32.ne (i32.load8_u (i32.const 100)) (i32.const 42)) (then (return (i32.const 2))))
    (if (i32.ne (call $name (i32.const 200) (i32.const 64)) (i32.const 9))
      (then (return (i32.const 3))))
    (if (i32.ne (i32.load8_u (i32.const 200)) (i32.const 0x66)) (then (return (i32.const 4))))
    (i32.const 0)))");

TEST(Run, HostAbiExposesTransactionAndContractName) {
  auto module = must_load(kReader);
  Execution e = run(*module, kTx, "folio.IOU", 10'000);
  EXPECT_EQ(e.status, RunStatus::kAccepted) << e.describe();
  Execution other = run(*module, Bytes{41, 1, 2, 3}, "folio.IOU", 10'000);
  EXPECT_EQ(other.reason, "folio_verify returned 2 without a reason");
  // Host calls cost more than instructions.
  EXPECT_GT(e.gas_used, 4 * GasCosts::kHostCall);
}

TEST(Run, ConfigAndContractViewReachTheGuest) {
  // Returns config[0] + view[1] - 10: zero only when both sources were copied in.
  auto module = must_load(contract(R"(
      (import "folio" "config_size" (func $config_size (result i32)))
      (import "folio" "config_read" (func $config_read (param i32 i32 i32)))
      (import "folio" "view_size" (func $view_size (result i32)))
      (import "folio" "view_read" (func $view_read (param i32 i32 i32)))
      (func (export "folio_verify") (result i32)
        (call $config_read (i32.const 0) (i32.const 0) (call $config_size))
        (call $view_read (i32.const 8) (i32.const 0) (call $view_size))
        (i32.sub (i32.add (i32.load8_u (i32.const 0)) (i32.load8_u (i32.const 9)))
                 (i32.const 10))))"));
  EXPECT_TRUE(run(*module, kTx, "c", 10'000, Bytes{4}, Bytes{0, 6}).accepted());
  EXPECT_EQ(run(*module, kTx, "c", 10'000, Bytes{4}, Bytes{0, 7}).status, RunStatus::kRejected);
  // With nothing to copy in, memory stays zero and the checker rejects.
  EXPECT_EQ(run(*module, kTx, "c", 10'000, Bytes{}, Bytes{}).status, RunStatus::kRejected);
}

TEST(Run, HostReadOutOfBoundsTraps) {
  auto module = must_load(contract(R"(
      (import "folio" "tx_read" (func $tx_read (param i32 i32 i32)))
      (func (export "folio_verify") (result i32)
        (call $tx_read (i32.const 0) (i32.const 2) (i32.const 100)) (i32.const 0)))"));
  Execution e = run(*module, kTx, "c", 10'000);
  EXPECT_EQ(e.status, RunStatus::kTrapped);
  EXPECT_NE(e.reason.find("tx_read past the end"), std::string::npos) << e.reason;
  auto into = must_load(contract(R"(
      (import "folio" "tx_read" (func $tx_read (param i32 i32 i32)))
      (func (export "folio_verify") (result i32)
        (call $tx_read (i32.const 131070) (i32.const 0) (i32.const 4)) (i32.const 0)))"));
  EXPECT_EQ(run(*into, kTx, "c", 10'000).status, RunStatus::kTrapped);
}

TEST(Gas, InfiniteLoopRunsOutDeterministically) {
  auto module = must_load(contract(R"((func (export "folio_verify") (result i32)
      (loop $forever (br $forever)) (i32.const 0)))"));
  Execution first = run(*module, kTx, "c", 200'000);
  Execution second = run(*module, kTx, "c", 200'000);
  EXPECT_EQ(first.status, RunStatus::kOutOfGas);
  EXPECT_EQ(first.gas_used, 200'000u);
  EXPECT_EQ(first.reason, second.reason);
  EXPECT_EQ(first.gas_used, second.gas_used);
}

// A loop of n iterations; each iteration is one accounting block of known static cost.
std::string counting_loop(int n) {
  return contract(R"((func (export "folio_verify") (result i32) (local $i i32)
      (local.set $i (i32.const )" +
                  std::to_string(n) + R"())
      (loop $again
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br_if $again (local.get $i)))
      (i32.const 0)))");
}

TEST(Gas, CostIsStaticPerBlockAndLinearInIterations) {
  Execution hundred = run(*must_load(counting_loop(100)), kTx, "c", 1'000'000);
  Execution two_hundred = run(*must_load(counting_loop(200)), kTx, "c", 1'000'000);
  ASSERT_TRUE(hundred.accepted());
  ASSERT_TRUE(two_hundred.accepted());
  // The loop body: local.get, i32.const, i32.sub, local.set, local.get, br_if = 6 per iteration.
  EXPECT_EQ(two_hundred.gas_used - hundred.gas_used, 600u);
  // Running out exactly at the boundary is deterministic too.
  Execution tight = run(*must_load(counting_loop(100)), kTx, "c", hundred.gas_used);
  EXPECT_TRUE(tight.accepted());
  Execution short_by_one = run(*must_load(counting_loop(100)), kTx, "c", hundred.gas_used - 1);
  EXPECT_EQ(short_by_one.status, RunStatus::kOutOfGas);
}

TEST(Gas, ScheduleIsPinned) {
  // Gas is consensus: this figure may change only with a new ABI version (docs/wasm.md, §3).
  auto module = must_load(contract(R"((import "folio" "tx_size" (func $size (result i32)))
      (func $f (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
      (func (export "folio_verify") (result i32)
        (drop (call $f (i32.const 1)))
        (drop (i32.load (i32.const 0)))
        (drop (i32.div_u (i32.const 7) (i32.const 2)))
        (drop (call $size))
        (drop (memory.grow (i32.const 1)))
        (i32.const 0)))"));
  Execution e = run(*module, kTx, "c", 1'000'000);
  ASSERT_TRUE(e.accepted()) << e.describe();
  // folio_verify: const + call 20 + drop, const + load 2 + drop, 2 consts + div 4 + drop,
  // call 20 + drop, const + grow 100 + drop, const = 157; $f: 3 instructions; the host call 50;
  // one page grown 2,000.
  uint64_t expected = (1 + GasCosts::kCall + 1) + (1 + GasCosts::kMemoryAccess + 1) +
                      (2 + GasCosts::kDivision + 1) + (GasCosts::kCall + 1) +
                      (1 + GasCosts::kMemoryGrowBase + 1) + 1 + 3 + GasCosts::kHostCall +
                      GasCosts::kMemoryGrowPerPage;
  EXPECT_EQ(expected, 2210u);
  EXPECT_EQ(e.gas_used, expected);
}

TEST(Gas, DeepRecursionFailsDeterministicallyAndVerifierStaysHealthy) {
  auto module = must_load(contract(R"((func $down (param i32) (result i32)
        (call $down (i32.add (local.get 0) (i32.const 1))))
      (func (export "folio_verify") (result i32) (call $down (i32.const 0))))"));
  Execution first = run(*module, kTx, "c", 1'000'000'000);
  Execution second = run(*module, kTx, "c", 1'000'000'000);
  EXPECT_EQ(first.status, RunStatus::kTrapped) << first.describe();
  EXPECT_EQ(first.reason, second.reason);
  EXPECT_EQ(first.gas_used, second.gas_used);
  EXPECT_TRUE(run(*must_load(kAccept), kTx, "c", 100).accepted());
}

TEST(Gas, MemoryBombHitsTheCapAndPaysPerPage) {
  // Grows one page at a time until growth fails, then traps.
  auto module = must_load(R"((module (memory (export "memory") 1 64)
      (func (export "folio_verify") (result i32)
        (loop $grow
          (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
        unreachable)))");
  Execution rich = run(*module, kTx, "c", 100'000'000);
  EXPECT_EQ(rich.status, RunStatus::kTrapped) << rich.describe();
  EXPECT_GT(rich.gas_used, 63 * GasCosts::kMemoryGrowPerPage);
  Execution poor = run(*module, kTx, "c", 10 * GasCosts::kMemoryGrowPerPage);
  EXPECT_EQ(poor.status, RunStatus::kOutOfGas);
  // One huge request is charged for every page it asks for, before growing.
  auto huge = must_load(R"((module (memory (export "memory") 1 64)
      (func (export "folio_verify") (result i32)
        (drop (memory.grow (i32.const 60000))) (i32.const 0))))");
  EXPECT_EQ(run(*huge, kTx, "c", 1'000'000).status, RunStatus::kOutOfGas);
}

TEST(Run, TrapIsReportedWithItsMessage) {
  auto module = must_load(contract(R"((func (export "folio_verify") (result i32)
      (drop (i32.div_u (i32.const 1) (i32.const 0))) (i32.const 0)))"));
  Execution e = run(*module, kTx, "c", 1000);
  EXPECT_EQ(e.status, RunStatus::kTrapped);
  EXPECT_NE(e.reason.find("divide by zero"), std::string::npos) << e.reason;
}

TEST(Run, NoStateSurvivesBetweenRuns) {
  // Counts calls in a global and in memory; a fresh instance per run must see zero every time.
  auto module = must_load(contract(R"((global $g (mut i32) (i32.const 0))
      (func (export "folio_verify") (result i32)
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (i32.store (i32.const 8) (i32.add (i32.load (i32.const 8)) (i32.const 1)))
        (i32.add (i32.sub (global.get $g) (i32.const 1))
                 (i32.sub (i32.load (i32.const 8)) (i32.const 1)))))"));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(run(*module, kTx, "c", 1000).accepted());
}

TEST(Run, GrownMemoryDoesNotSurviveIntoTheNextRun) {
  // Fails unless it starts with exactly one zeroed page and its data segment intact.
  auto module = must_load(R"((module (memory (export "memory") 1 4)
      (data (i32.const 100) "\07")
      (func (export "folio_verify") (result i32)
        (if (i32.ne (memory.size) (i32.const 1)) (then (return (i32.const 1))))
        (if (i32.ne (i32.load8_u (i32.const 100)) (i32.const 7)) (then (return (i32.const 2))))
        (if (i32.ne (i32.load (i32.const 200)) (i32.const 0)) (then (return (i32.const 3))))
        (i32.store8 (i32.const 100) (i32.const 9))
        (i32.store (i32.const 200) (i32.const 5))
        (drop (memory.grow (i32.const 1)))
        (i32.store (i32.const 70000) (i32.const 1))
        (i32.const 0))))");
  for (int i = 0; i < 3; ++i) {
    Execution e = run(*module, kTx, "c", 100'000);
    EXPECT_TRUE(e.accepted()) << "run " << i << ": " << e.describe();
  }
}

TEST(Gas, RecursionWithTheMostLocalsStaysBounded) {
  // 510 locals per frame (plus the parameter and the sandbox's own) in unbounded recursion: the
  // interpreter's fixed call stack ends it, long before the value stack could grow large.
  std::string locals;
  for (int i = 0; i < 510; ++i) locals += " i64";
  auto module = must_load(contract(R"((func $down (param i32) (result i32) (local)" + locals +
                                   R"()
        (call $down (i32.add (local.get 0) (i32.const 1))))
      (func (export "folio_verify") (result i32) (call $down (i32.const 0))))"));
  Execution e = run(*module, kTx, "c", 1'000'000'000);
  EXPECT_EQ(e.status, RunStatus::kTrapped) << e.describe();
  EXPECT_NE(e.reason.find("call stack exhausted"), std::string::npos) << e.reason;
}

TEST(Run, ConcurrentRunsAgree) {
  // Each thread has its own compiled copy and instance; all must reach the same verdict and gas.
  auto module = must_load(counting_loop(1000));
  Execution expected = run(*module, kTx, "c", 1'000'000);
  ASSERT_TRUE(expected.accepted());
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        Execution e = run(*module, kTx, "c", 1'000'000);
        if (e.status != expected.status || e.gas_used != expected.gas_used) ++mismatches;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Run, ParticipantsEntryReportsKeys) {
  auto module = must_load(contract(R"(
      (import "folio" "participant" (func $participant (param i32 i32)))
      (data (i32.const 0) "key-one" "key-two")
      (func (export "folio_verify") (result i32) (i32.const 0))
      (func (export "folio_participants") (result i32)
        (call $participant (i32.const 0) (i32.const 7))
        (call $participant (i32.const 7) (i32.const 7))
        (i32.const 0)))"));
  Execution e = run_participants(*module, {}, "c", 10'000, {});
  ASSERT_TRUE(e.accepted()) << e.describe();
  EXPECT_EQ(e.participants, (std::vector<Bytes>{to_bytes("key-one"), to_bytes("key-two")}));
  // A verification of the same instance afterwards sees none of it.
  Execution verify = run(*module, kTx, "c", 10'000);
  EXPECT_TRUE(verify.accepted());
  EXPECT_TRUE(verify.participants.empty());

  Execution none = run_participants(*must_load(kAccept), {}, "c", 10'000, {});
  EXPECT_EQ(none.status, RunStatus::kRejected);
  EXPECT_EQ(none.reason, "the contract declares no participants");
  EXPECT_EQ(rejection(wat(contract(R"((func (export "folio_verify") (result i32) (i32.const 0))
      (func (export "folio_participants") (result i64) (i64.const 0)))"))),
            RejectCode::kMissingExport);
}

TEST(Cache, LoadsEachModuleOnceByHash) {
  ModuleCache cache;
  Bytes wasm = wat(kAccept);
  auto a = cache.get(wasm);
  auto b = cache.get(wasm);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a.value().get(), b.value().get());
  EXPECT_EQ(cache.hits(), 1u);
  auto bad = cache.get(Bytes{0, 'a', 's', 'm', 1, 0, 0, 0, 99});
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(cache.size(), 2u);
}

}  // namespace
}  // namespace folio::wasm
