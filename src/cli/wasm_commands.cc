// `folio contract validate|run|package|sample` and `folio bench wasm` (issue 7).
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/files.h"
#include "contracts/cscoin.h"
#include "ledger/tx_file.h"
#include "ledger/verify.h"
#include "wasm/provider.h"
#include "wasm/wat.h"

namespace folio::cli {
namespace {

using Json = nlohmann::ordered_json;

// A resolved transaction for `folio contract run`: this magic, then the canonical encoding of a
// LedgerTransaction (inputs and references already resolved to their states).
constexpr std::string_view kLedgerTxMagic = "FOLIOLT1";

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "folio: %s\n", message.c_str());
  throw CLI::RuntimeError(1);
}

// Contract files are modules or attachment zips; transaction files are smaller still.
constexpr size_t kContractFileBytesMax = wasm::kAttachmentBytesMax;

Result<Bytes> read_bytes(const std::string& path) { return read_file(path, kContractFileBytesMax); }

void write_bytes(const std::string& path, ByteView bytes) {
  Status s = write_file(path, bytes);
  if (!s.ok()) fail(s.error().message());
}

bool is_zip(ByteView b) { return b.size() >= 4 && b[0] == 'P' && b[1] == 'K'; }

// A module or an attachment, as the user gave it.
struct ContractFile {
  Bytes wasm;
  std::optional<wasm::ContractAttachment> attachment;
};

ContractFile read_contract(const std::string& path) {
  auto bytes = read_bytes(path);
  if (!bytes.ok()) fail(bytes.error().message());
  ContractFile out;
  if (is_zip(*bytes)) {
    auto parsed = wasm::parse_contract_attachment(*bytes);
    if (!parsed.ok()) {
      std::printf("rejected: %s\n", parsed.error().message().c_str());
      throw CLI::RuntimeError(1);
    }
    out.wasm = parsed->wasm;
    out.attachment = std::move(parsed).value();
  } else {
    out.wasm = std::move(bytes).value();
  }
  return out;
}

void validate_command(const std::string& path) {
  ContractFile file = read_contract(path);
  if (file.attachment) {
    const auto& m = file.attachment->manifest;
    std::printf("attachment %s\n", file.attachment->id.value().hex().c_str());
    std::printf("  contract     %s %s (ABI %u)\n", m.name.c_str(), m.version.c_str(),
                m.abi_version);
    if (!file.attachment->legal_prose.empty())
      std::printf("  legal prose  %zu bytes\n", file.attachment->legal_prose.size());
  }
  wasm::Validation v = wasm::validate(file.wasm);
  if (!v.ok()) {
    std::printf("rejected: %s\n", v.describe().c_str());
    throw CLI::RuntimeError(1);
  }
  std::printf("accepted\n");
  std::printf("  code hash          %s\n", v.module->code_hash().hex().c_str());
  std::printf("  size               %zu bytes, %zu instrumented\n", v.module->original_bytes(),
              v.module->instrumented().size());
  std::printf("  functions          %u\n", v.module->functions());
  std::printf("  accounting blocks  %u\n", v.module->accounting_blocks());
  std::printf("  exports           ");
  for (const std::string& e : v.module->exports()) std::printf(" [%s]", e.c_str());
  std::printf("\n");
}

// Resolution for tools: attachments the tool does not hold resolve to an empty declaration, and
// the contract's own attachment to what it declares.
class ToolAttachments : public ledger::AttachmentLoader {
 public:
  explicit ToolAttachments(std::optional<ledger::Attachment> own) : own_(std::move(own)) {}
  Result<ledger::Attachment> load(const ledger::AttachmentId& id) const override {
    if (own_ && own_->id == id) return *own_;
    return ledger::Attachment{id, {}, {}};
  }

 private:
  std::optional<ledger::Attachment> own_;
};

ledger::LedgerTransaction read_ledger_tx(const std::string& path,
                                         const std::optional<ledger::Attachment>& own) {
  auto bytes = read_bytes(path);
  if (!bytes.ok()) fail(bytes.error().message());
  if (bytes->size() >= kLedgerTxMagic.size() &&
      std::equal(kLedgerTxMagic.begin(), kLedgerTxMagic.end(), bytes->begin())) {
    ByteView body(bytes->data() + kLedgerTxMagic.size(), bytes->size() - kLedgerTxMagic.size());
    auto ltx =
        codec::decode_from_bytes<ledger::LedgerTransaction>(body, ledger::transaction_limits());
    if (!ltx.ok()) fail(path + ": " + ltx.error().message());
    return std::move(ltx).value();
  }
  auto content = ledger::decode_tx_file(*bytes);
  if (!content.ok()) fail(path + ": " + content.error().message());
  const ledger::WireTransaction* wire = nullptr;
  if (const auto* w = std::get_if<ledger::WireTransaction>(&*content)) wire = w;
  if (const auto* s = std::get_if<ledger::SignedTransaction>(&*content)) wire = &s->tx;
  if (wire == nullptr) fail(path + ": a filtered transaction hides what a contract must see");
  ledger::MapStateLoader no_states;
  ToolAttachments attachments(own);
  auto ltx = ledger::resolve(*wire, wire->id(), no_states, attachments);
  if (!ltx.ok()) {
    fail(path + ": " + ltx.error().message() +
         " (a transaction with inputs must be given resolved, as a FOLIOLT1 file)");
  }
  return std::move(ltx).value();
}

struct RunOptions {
  std::string contract_path;
  std::string tx_path;
  std::string contract_name;
  uint64_t gas = wasm::kDefaultGasBudget;
  std::string config_hex;
};

void run_command(const RunOptions& o) {
  ContractFile file = read_contract(o.contract_path);
  wasm::Validation v = wasm::validate(file.wasm);
  if (!v.ok()) {
    std::printf("rejected: %s\n", v.describe().c_str());
    throw CLI::RuntimeError(1);
  }
  std::optional<ledger::Attachment> own;
  Bytes config;
  std::string name = o.contract_name;
  if (file.attachment) {
    own = ledger::Attachment{file.attachment->id, {file.attachment->manifest.name}, {}};
    config = file.attachment->manifest.config;
    if (name.empty()) name = file.attachment->manifest.name;
  }
  if (!o.config_hex.empty()) {
    auto c = from_hex(o.config_hex);
    if (!c.ok()) fail("--config: " + c.error().message());
    config = std::move(c).value();
  }
  ledger::LedgerTransaction tx = read_ledger_tx(o.tx_path, own);
  if (name.empty()) {
    if (tx.commands.empty()) fail("--contract is needed: the transaction has no commands");
    name = tx.commands[0].contract;
  }
  Bytes encoded = codec::encode_to_bytes(tx);
  Bytes view = wasm::contract_view(tx, name);
  wasm::Execution e = wasm::run(*v.module, encoded, name, o.gas, config, view);
  std::printf("%s %s\n", name.c_str(), e.describe().c_str());
  std::printf("  gas used  %llu of %llu\n", static_cast<unsigned long long>(e.gas_used),
              static_cast<unsigned long long>(o.gas));
  if (!e.accepted()) throw CLI::RuntimeError(1);
}

struct PackageOptions {
  std::string wasm_path;
  std::string name;
  std::string version = "1.0";
  std::string config_hex;
  std::string legal_path;
  std::string out_path;
};

void package_command(const PackageOptions& o) {
  auto wasm_bytes = read_bytes(o.wasm_path);
  if (!wasm_bytes.ok()) fail(wasm_bytes.error().message());
  wasm::Validation v = wasm::validate(*wasm_bytes);
  if (!v.ok()) fail("the module is not a valid contract: " + v.describe());
  wasm::ContractManifest manifest{o.name, o.version, wasm::kAbiVersion, {}};
  if (!o.config_hex.empty()) {
    auto c = from_hex(o.config_hex);
    if (!c.ok()) fail("--config: " + c.error().message());
    manifest.config = std::move(c).value();
  }
  std::string legal;
  if (!o.legal_path.empty()) {
    auto l = read_bytes(o.legal_path);
    if (!l.ok()) fail(l.error().message());
    legal = to_string(*l);
  }
  auto zip = wasm::build_contract_attachment(manifest, *wasm_bytes, legal);
  if (!zip.ok()) fail(zip.error().message());
  write_bytes(o.out_path, *zip);
  std::printf("attachment %s (%zu bytes) -> %s\n", crypto::sha256(*zip).hex().c_str(), zip->size(),
              o.out_path.c_str());
}

// ---- The CSCoin world shared by `contract sample` and `bench wasm` ----

crypto::PrivateKey named_key(std::string_view name) {
  return crypto::PrivateKey::ed25519(FixedBytes<32>::from(crypto::sha256(as_bytes(name)).view()));
}

struct CsCoinWorld {
  crypto::PrivateKey alice = named_key("alice");
  crypto::PrivateKey bob = named_key("bob");
  crypto::PrivateKey mint = named_key("mint");
  ledger::Party notary{"O=Notary,L=London,C=GB", named_key("notary").public_key()};
  ledger::MapStateLoader states;
  ledger::MapAttachmentLoader attachments;
  ledger::TxId issue_id;

  CsCoinWorld() {
    ledger::WireTransaction issue;
    issue.outputs = {contracts::cscoin_account(alice.public_key(), 1'000'000, notary),
                     contracts::cscoin_account(bob.public_key(), 1'000'000, notary)};
    issue.commands = {contracts::cscoin_issue(2'000'000, mint.public_key())};
    issue.notary = notary;
    issue_id = issue.id();
    states.add_outputs(issue_id, issue);
  }

  Bytes mint_config() const { return codec::encode_to_bytes(mint.public_key()); }

  // alice pays bob `amount`: inputs [alice, bob], outputs [alice', bob'].
  ledger::SignedTransaction transfer(uint64_t amount, const ledger::Attachment& code) const {
    ledger::SignedTransaction stx;
    stx.tx.inputs = {ledger::StateRef{issue_id, 0}, ledger::StateRef{issue_id, 1}};
    stx.tx.outputs = {contracts::cscoin_account(alice.public_key(), 1'000'000 - amount, notary),
                      contracts::cscoin_account(bob.public_key(), 1'000'000 + amount, notary)};
    stx.tx.commands = {contracts::cscoin_transfer({alice.public_key(), bob.public_key(), amount})};
    stx.tx.attachments = {code.id};
    stx.tx.notary = notary;
    stx.signatures = {ledger::sign_transaction(alice, stx.tx.id())};
    return stx;
  }
};

Bytes cscoin_attachment_zip(const std::string& module_path, const CsCoinWorld& world) {
  auto wasm_bytes = read_bytes(module_path);
  if (!wasm_bytes.ok())
    fail(wasm_bytes.error().message() + " (build the cscoin_wasm target or pass --module)");
  auto zip = wasm::build_contract_attachment(
      {std::string(contracts::kCsCoinContract), "1.0", wasm::kAbiVersion, world.mint_config()},
      *wasm_bytes, "Port of the native folio.CSCoin checker.");
  if (!zip.ok()) fail(zip.error().message());
  return std::move(zip).value();
}

void sample_command(const std::string& module_path, const std::string& tx_out,
                    const std::string& zip_out) {
  CsCoinWorld world;
  Bytes zip = cscoin_attachment_zip(module_path, world);
  wasm::WasmContractProvider provider;
  auto attachment = provider.add(zip);
  if (!attachment.ok()) fail(attachment.error().message());
  world.attachments.add(*attachment);
  ledger::SignedTransaction stx = world.transfer(250, *attachment);
  auto ltx = ledger::resolve(stx.tx, stx.id(), world.states, world.attachments);
  if (!ltx.ok()) fail(ltx.error().message());
  Bytes file = to_bytes(kLedgerTxMagic);
  Bytes body = codec::encode_to_bytes(*ltx);
  file.insert(file.end(), body.begin(), body.end());
  write_bytes(tx_out, file);
  write_bytes(zip_out, zip);
  std::printf("resolved CSCoin transfer -> %s\ncontract attachment %s -> %s\n", tx_out.c_str(),
              attachment->id.value().hex().c_str(), zip_out.c_str());
}

// ---- folio bench wasm ----

template <class F>
double rate_per_second(double seconds, F&& body) {
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  uint64_t n = 0;
  double elapsed = 0;
  do {
    for (int i = 0; i < 16; ++i) body();
    n += 16;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  return static_cast<double>(n) / elapsed;
}

void bench_command(const std::string& module_path, double seconds, const std::string& out_path) {
  CsCoinWorld world;
  Bytes zip = cscoin_attachment_zip(module_path, world);
  wasm::WasmContractProvider wasm_provider;
  auto attachment = wasm_provider.add(zip);
  if (!attachment.ok()) fail(attachment.error().message());
  world.attachments.add(*attachment);
  ledger::ContractRegistry native;
  if (!native.add(std::make_unique<contracts::CsCoin>(world.mint.public_key())).ok())
    fail("cannot register the native CSCoin");
  ledger::SignedTransaction stx = world.transfer(250, *attachment);

  // Both must accept the same transaction before anything is timed.
  for (const ledger::ContractProvider* p :
       {static_cast<const ledger::ContractProvider*>(&native),
        static_cast<const ledger::ContractProvider*>(&wasm_provider)}) {
    ledger::Verdict v = ledger::verify_transaction(stx, world.states, world.attachments, *p);
    if (!v.ok()) fail("the benchmark transfer does not verify: " + v.describe());
  }
  auto ltx = ledger::resolve(stx.tx, stx.id(), world.states, world.attachments);
  if (!ltx.ok()) fail(ltx.error().message());
  auto gas = wasm_provider.execute(attachment->id, contracts::kCsCoinContract, *ltx,
                                   wasm::kDefaultGasBudget);
  if (!gas.ok() || !gas->accepted()) fail("the wasm checker does not accept the transfer");

  std::fprintf(stderr,
               "folio bench wasm: CSCoin transfer (2 accounts in, 2 out), %.1f s per figure, "
               "median of 5 alternating rounds\n",
               seconds);
  // The machine is shared, so native and wasm are measured in alternating rounds and each figure
  // is the median of its rounds: a burst of load then hurts both sides alike.
  size_t sink = 0;
  const ledger::Contract* native_checker = native.find(contracts::kCsCoinContract);
  auto wasm_checker = wasm_provider.find(contracts::kCsCoinContract, *ltx);
  if (native_checker == nullptr || !wasm_checker.ok()) fail("checker lookup failed");
  constexpr int kRounds = 5;
  std::vector<double> native_fulls, wasm_fulls, native_checks, wasm_checks;
  for (int round = 0; round < kRounds; ++round) {
    double slice = seconds / kRounds;
    native_fulls.push_back(rate_per_second(slice, [&] {
      sink += ledger::verify_transaction(stx, world.states, world.attachments, native).ok();
    }));
    wasm_fulls.push_back(rate_per_second(slice, [&] {
      sink += ledger::verify_transaction(stx, world.states, world.attachments, wasm_provider).ok();
    }));
    native_checks.push_back(
        rate_per_second(slice / 4, [&] { sink += native_checker->verify(*ltx).ok(); }));
    wasm_checks.push_back(
        rate_per_second(slice / 4, [&] { sink += (*wasm_checker)->verify(*ltx).ok(); }));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  double native_full = median(native_fulls), wasm_full = median(wasm_fulls);
  double native_check = median(native_checks), wasm_check = median(wasm_checks);
  std::fprintf(stderr, "  native full verification %10.0f /s\n", native_full);
  std::fprintf(stderr, "  wasm full verification   %10.0f /s\n", wasm_full);
  std::fprintf(stderr, "  native checker alone     %10.0f /s\n", native_check);
  std::fprintf(stderr, "  wasm checker alone       %10.0f /s (gas %llu)\n", wasm_check,
               static_cast<unsigned long long>(gas->gas_used));

  // Raw interpreter speed on a tight loop: 6 unit-cost instructions per iteration, so the gas
  // used counts the contract's own instructions (the injected accounting is not counted).
  std::vector<uint8_t> loop_wasm;
  std::string wat_error;
  if (!wasm::wat_to_wasm(R"((module (memory (export "memory") 1 1)
      (func (export "folio_verify") (result i32) (local $i i32)
        (local.set $i (i32.const 10000000))
        (loop $again
          (local.set $i (i32.sub (local.get $i) (i32.const 1)))
          (br_if $again (local.get $i)))
        (i32.const 0))))",
                         &loop_wasm, &wat_error)) {
    fail("loop module: " + wat_error);
  }
  auto loop = wasm::validate(loop_wasm);
  if (!loop.ok()) fail("loop module: " + loop.describe());
  auto start = std::chrono::steady_clock::now();
  wasm::Execution ran = wasm::run(*loop.module, {}, "bench.Loop", 1'000'000'000);
  double loop_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!ran.accepted()) fail("loop module: " + ran.describe());
  double instructions = static_cast<double>(ran.gas_used) / loop_seconds;
  std::fprintf(stderr, "  wasm instructions        %10.0f /s (%llu in %.2f s)\n", instructions,
               static_cast<unsigned long long>(ran.gas_used), loop_seconds);

  Json out;
  out["native_verifies_per_s"] = static_cast<uint64_t>(native_full);
  out["wasm_verifies_per_s"] = static_cast<uint64_t>(wasm_full);
  out["wasm_vs_native"] = std::round(wasm_full / native_full * 1000.0) / 1000.0;
  out["wasm_instructions_per_s"] = static_cast<uint64_t>(instructions);
  out["native_checker_per_s"] = static_cast<uint64_t>(native_check);
  out["wasm_checker_per_s"] = static_cast<uint64_t>(wasm_check);
  out["wasm_checker_gas"] = gas->gas_used;
  out["wasm_checker_ms"] = std::round(1000.0 / wasm_check * 10000.0) / 10000.0;
  out["chainspace_python_checker_ms"] = 5.75;
  out["transaction"] = "CSCoin transfer: 2 accounts in, 2 out, one Ed25519 signature";
  out["seconds_per_measurement"] = seconds;
  out["rounds"] = kRounds;
  out["threads"] = 1;
  std::printf("%s\n", out.dump(2).c_str());
  write_bytes(out_path, as_bytes(out.dump(2) + "\n"));
  (void)sink;
}

struct WasmOptions {
  std::string validate_path;
  RunOptions run;
  PackageOptions package;
  std::string sample_tx = "cscoin_transfer.lt";
  std::string sample_zip = "cscoin.zip";
  std::string module = FOLIO_CSCOIN_WASM_DEFAULT;
  double bench_seconds = 1.0;
  std::string bench_out = "bench/results/wasm.json";
};

WasmOptions& options() {
  static WasmOptions o;
  return o;
}

}  // namespace

void add_wasm_commands(CLI::App& app, Groups& groups) {
  (void)app;
  if (sodium_init() < 0) fail("libsodium failed to initialise");
  WasmOptions& o = options();

  auto* validate = groups.contract->add_subcommand(
      "validate", "Check a .wasm module or contract attachment zip against the sandbox's rules");
  validate->add_option("FILE", o.validate_path, "contract.wasm or attachment.zip")->required();
  validate->callback([&o] { validate_command(o.validate_path); });

  auto* run =
      groups.contract->add_subcommand("run", "Run a contract's checker against a transaction");
  run->add_option("FILE", o.run.contract_path, "contract.wasm or attachment.zip")->required();
  run->add_option("--tx", o.run.tx_path,
                  "FOLIOTX1 transaction file or FOLIOLT1 resolved transaction")
      ->required();
  run->add_option("--contract", o.run.contract_name, "Contract name (default: the manifest's)");
  run->add_option("--gas", o.run.gas, "Gas budget")
      ->check(CLI::Range(uint64_t{1}, wasm::kGasBudgetMax));
  run->add_option("--config", o.run.config_hex,
                  "Deployment config as hex (default: the manifest's)");
  run->callback([&o] { run_command(o.run); });

  auto* package = groups.contract->add_subcommand("package", "Build a contract attachment zip");
  package->add_option("--wasm", o.package.wasm_path, "The module")->required();
  package->add_option("--name", o.package.name, "Contract name, e.g. acme.Bond")->required();
  package->add_option("--version", o.package.version, "Contract version");
  package->add_option("--config", o.package.config_hex, "Deployment config as hex");
  package->add_option("--legal", o.package.legal_path, "Legal prose (markdown)");
  package->add_option("-o,--out", o.package.out_path, "Output zip")->required();
  package->callback([&o] { package_command(o.package); });

  auto* sample = groups.contract->add_subcommand(
      "sample", "Write a resolved CSCoin transfer and the CSCoin attachment, for `contract run`");
  sample->add_option("--module", o.module, "cscoin.wasm");
  sample->add_option("--tx-out", o.sample_tx, "Resolved transaction file");
  sample->add_option("--zip-out", o.sample_zip, "Attachment zip");
  sample->callback([&o] { sample_command(o.module, o.sample_tx, o.sample_zip); });

  auto* bench =
      groups.bench->add_subcommand("wasm", "CSCoin transfer verification, native vs wasm");
  bench->add_option("--module", o.module, "cscoin.wasm");
  bench->add_option("--seconds", o.bench_seconds, "Seconds per figure")
      ->check(CLI::Range(0.1, 120.0));
  bench->add_option("--out", o.bench_out, "Where to write the JSON results");
  bench->callback([&o] { bench_command(o.module, o.bench_seconds, o.bench_out); });
}

}  // namespace folio::cli
