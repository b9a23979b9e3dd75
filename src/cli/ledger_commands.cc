// `folio ledger-demo`, `folio tx decode|sample` and `folio bench ledger`.
#include <sodium.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/files.h"
#include "cli/json.h"
#include "contracts/cash.h"
#include "contracts/native.h"
#include "ledger/verify.h"

namespace folio::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

crypto::PrivateKey fresh_key() {
  FixedBytes<32> seed;
  randombytes_buf(seed.data(), seed.size());
  crypto::PrivateKey key = crypto::PrivateKey::ed25519(seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

ledger::PrivacySalt fresh_salt() {
  ledger::PrivacySalt salt;
  randombytes_buf(salt.data(), salt.size());
  return salt;
}

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "folio: " << message << "\n";
  throw CLI::RuntimeError(1);
}

// ---- A small cash world shared by the demo, the sample files and the bench ----

struct CashWorld {
  crypto::PrivateKey bank = fresh_key();
  crypto::PrivateKey notary_key = fresh_key();
  ledger::Party bank_party{"O=Bank of Folio,L=London,C=GB", bank.public_key()};
  ledger::Party notary{"O=Notary,L=Zurich,C=CH", notary_key.public_key()};
  ledger::ContractRegistry registry;
  ledger::MapStateLoader states;
  ledger::MapAttachmentLoader attachments;

  CashWorld() {
    Status s = contracts::register_native_contracts(registry, {bank.public_key()});
    FOLIO_ASSERT(s.ok());
  }

  contracts::CashAmount gbp(uint64_t pennies) const {
    return contracts::CashAmount{pennies,
                                 contracts::IssuedCurrency{{bank_party, Bytes{0x01}}, "GBP"}};
  }

  ledger::SignedTransaction issue(uint64_t pennies, const crypto::PublicKey& owner) const {
    ledger::SignedTransaction stx;
    stx.tx.outputs.push_back(contracts::cash_output(gbp(pennies), owner, notary));
    stx.tx.commands.push_back(contracts::cash_issue(bank.public_key()));
    stx.tx.notary = notary;
    stx.tx.salt = fresh_salt();
    stx.signatures.push_back(ledger::sign_transaction(bank, stx.tx.id()));
    return stx;
  }

  // A 1-input, 1-output payment of the whole of `input` to `to`.
  ledger::SignedTransaction pay(const ledger::StateRef& input, uint64_t pennies,
                                const crypto::PrivateKey& from, const crypto::PublicKey& to) const {
    ledger::SignedTransaction stx;
    stx.tx.inputs.push_back(input);
    stx.tx.outputs.push_back(contracts::cash_output(gbp(pennies), to, notary));
    stx.tx.commands.push_back(contracts::cash_move({from.public_key()}));
    stx.tx.notary = notary;
    stx.tx.salt = fresh_salt();
    stx.signatures.push_back(ledger::sign_transaction(from, stx.tx.id()));
    return stx;
  }

  ledger::Verdict verify(const ledger::SignedTransaction& stx) const {
    return ledger::verify_transaction(stx, states, attachments, registry);
  }
};

// ---- folio ledger-demo ----

void progress(size_t done, size_t total, bool tty) {
  if (!tty && done != total && done % (total / 10 == 0 ? 1 : total / 10) != 0) return;
  constexpr int kWidth = 40;
  int filled = static_cast<int>(kWidth * done / (total == 0 ? 1 : total));
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  std::printf("%s[%s] %zu/%zu transactions verified%s", tty ? "\r" : "", bar.c_str(), done, total,
              tty ? "" : "\n");
  if (done == total && tty) std::printf("\n");
  std::fflush(stdout);
}

void run_demo(size_t chain_length, bool json) {
  bool tty = !json && isatty(STDOUT_FILENO);
  if (!json) {
    std::printf("Folio demo: the ledger core, in one process (no network or notary yet).\n");
    std::printf(
        "Issuing cash, then paying it along a chain of %zu transactions between fresh keys;\n",
        chain_length);
    std::printf(
        "every transaction is encoded, decoded and fully verified as a receiving node would.\n\n");
  }
  CashWorld world;
  const uint64_t issued = 1'000'000'00;  // one million pounds, in pennies
  crypto::PrivateKey owner = fresh_key();
  ledger::SignedTransaction issue = world.issue(issued, owner.public_key());
  ledger::Verdict v = world.verify(issue);
  if (!v.ok()) fail("the issuance does not verify: " + v.describe());
  world.states.add_outputs(issue.id(), issue.tx);
  ledger::StateRef current{issue.id(), 0};

  double build_seconds = 0, verify_seconds = 0;
  size_t verified = 0, forgeries_refused = 0, forgeries_tried = 0, bytes_total = 0;
  for (size_t i = 0; i < chain_length; ++i) {
    crypto::PrivateKey next = fresh_key();
    auto t0 = Clock::now();
    ledger::SignedTransaction payment = world.pay(current, issued, owner, next.public_key());
    Bytes wire = codec::encode_to_bytes(payment);
    build_seconds += seconds_since(t0);
    bytes_total += wire.size();

    auto t1 = Clock::now();
    auto received =
        codec::decode_from_bytes<ledger::SignedTransaction>(wire, ledger::transaction_limits());
    if (!received.ok())
      fail("transaction " + std::to_string(i) + " does not decode: " + received.error().message());
    ledger::Verdict verdict = world.verify(*received);
    verify_seconds += seconds_since(t1);
    if (!verdict.ok())
      fail("transaction " + std::to_string(i) + " does not verify: " + verdict.describe());
    ++verified;

    // Every 1,000th step a thief tries to pay the same cash to itself, creating a penny on the way.
    if (i % 1000 == 0) {
      ++forgeries_tried;
      crypto::PrivateKey thief = fresh_key();
      ledger::SignedTransaction forged = world.pay(current, issued + 1, owner, thief.public_key());
      if (!world.verify(forged).ok()) ++forgeries_refused;
      ledger::SignedTransaction stolen = world.pay(current, issued, thief, thief.public_key());
      ++forgeries_tried;
      if (!world.verify(stolen).ok()) ++forgeries_refused;
    }

    world.states.add_outputs(received->id(), received->tx);
    current = ledger::StateRef{received->id(), 0};
    owner = std::move(next);
    if (!json) progress(i + 1, chain_length, tty);
  }
  auto final_state = world.states.load(current);
  auto final_cash = contracts::decode_cash(*final_state);
  bool conserved = final_cash.ok() && final_cash->amount.quantity == issued &&
                   final_cash->owner == owner.public_key();

  Json summary;
  summary["chain_length"] = chain_length;
  summary["verified"] = verified;
  summary["forgeries_tried"] = forgeries_tried;
  summary["forgeries_refused"] = forgeries_refused;
  summary["mean_tx_bytes"] = chain_length ? bytes_total / chain_length : 0;
  summary["build_tx_per_s"] =
      build_seconds > 0 ? static_cast<uint64_t>(chain_length / build_seconds) : 0;
  summary["verify_tx_per_s"] =
      verify_seconds > 0 ? static_cast<uint64_t>(chain_length / verify_seconds) : 0;
  summary["cash_conserved"] = conserved;
  summary["final_state"] = current.describe();
  if (json) {
    std::printf("%s\n", summary.dump().c_str());
  } else {
    std::printf("\nSummary\n");
    std::printf("  payments verified      %zu of %zu\n", verified, chain_length);
    std::printf("  forgeries refused      %zu of %zu (overspend and wrong signer)\n",
                forgeries_refused, forgeries_tried);
    std::printf("  mean transaction size  %zu bytes\n",
                chain_length ? bytes_total / chain_length : 0);
    std::printf("  build + sign + encode  %.0f tx/s\n",
                build_seconds > 0 ? chain_length / build_seconds : 0.0);
    std::printf("  decode + verify        %.0f tx/s (one core)\n",
                verify_seconds > 0 ? chain_length / verify_seconds : 0.0);
    std::printf("  cash conserved         %s: GBP %.2f held by the last key, at %s\n",
                conserved ? "yes" : "NO", static_cast<double>(issued) / 100.0,
                current.describe().c_str());
  }
  if (!conserved || forgeries_refused != forgeries_tried) throw CLI::RuntimeError(1);
}

// ---- folio tx ----

void decode_command(const std::string& path) {
  auto bytes = read_file(path, ledger::kTransactionBytesMax + ledger::kTxFileMagic.size() + 8);
  if (!bytes.ok()) fail(bytes.error().message());
  auto content = ledger::decode_tx_file(*bytes);
  if (!content.ok()) fail(path + ": " + content.error().message());
  // Strings are UTF-8 checked at decode where the ledger defines them; replace anything else.
  std::printf(
      "%s\n",
      transaction_file_json(*content).dump(2, ' ', false, Json::error_handler_t::replace).c_str());
}

void sample_command(const std::string& kind, const std::string& path) {
  CashWorld world;
  crypto::PrivateKey alice = fresh_key();
  crypto::PrivateKey bob = fresh_key();
  ledger::SignedTransaction issue = world.issue(10'000, alice.public_key());
  ledger::SignedTransaction payment =
      world.pay(ledger::StateRef{issue.id(), 0}, 10'000, alice, bob.public_key());
  ledger::TxFileContent content;
  if (kind == "wire") {
    content = payment.tx;
  } else if (kind == "signed") {
    content = payment;
  } else if (kind == "filtered") {
    // What a non-validating notary sees: inputs, notary, time window and signers only.
    content = payment.tx.filter([](ledger::ComponentGroup g, uint32_t) {
      return g == ledger::ComponentGroup::kInputs || g == ledger::ComponentGroup::kNotary ||
             g == ledger::ComponentGroup::kTimeWindow || g == ledger::ComponentGroup::kSigners;
    });
  } else {
    fail("unknown kind " + kind + " (wire, signed or filtered)");
  }
  Status s = write_file(path, ledger::encode_tx_file(content));
  if (!s.ok()) fail(s.error().message());
  std::printf("wrote a %s transaction (%s) to %s\n", kind.c_str(),
              payment.id().value().hex().c_str(), path.c_str());
}

// ---- folio bench ledger ----

// Runs `op` in batches until `seconds` have passed; returns operations per second.
template <class Op>
double rate(double seconds, size_t batch, Op op) {
  auto start = Clock::now();
  size_t done = 0;
  double elapsed = 0;
  do {
    for (size_t i = 0; i < batch; ++i) op(done + i);
    done += batch;
    elapsed = seconds_since(start);
  } while (elapsed < seconds);
  return static_cast<double>(done) / elapsed;
}

void bench_ledger(double seconds, const std::string& out_path) {
  std::fprintf(stderr, "bench ledger: %.1f s per measurement, one thread\n", seconds);
  Bytes block(256, 0xab);
  volatile uint8_t sink = 0;
  double sha = rate(seconds, 10000, [&](size_t i) {
    block[0] = static_cast<uint8_t>(i);
    sink = sink ^ crypto::sha256(block).bytes[0];
  });
  std::fprintf(stderr, "  sha256 of 256 B         %12.0f /s\n", sha);

  crypto::PrivateKey key = fresh_key();
  Bytes message = ledger::signature_payload(ledger::TxId(crypto::sha256(block)));
  crypto::Signature sig = key.sign(message);
  double sign = rate(seconds, 1000, [&](size_t i) {
    message[0] = static_cast<uint8_t>(i);
    sink = sink ^ key.sign(message).bytes.bytes[0];
  });
  std::fprintf(stderr, "  ed25519 sign            %12.0f /s\n", sign);
  message[0] = sig.bytes.bytes[0];
  message = ledger::signature_payload(ledger::TxId(crypto::sha256(block)));
  sig = key.sign(message);
  double verify = rate(seconds, 1000, [&](size_t) {
    sink = sink ^ static_cast<uint8_t>(crypto::verify(key.public_key(), message, sig));
  });
  std::fprintf(stderr, "  ed25519 verify          %12.0f /s\n", verify);

  // Signed 1-in-1-out cash payments, each spending its own issued state.
  CashWorld world;
  constexpr size_t kPool = 2000;
  std::vector<crypto::PrivateKey> owners;
  std::vector<ledger::StateRef> coins;
  for (size_t i = 0; i < kPool; ++i) {
    owners.push_back(fresh_key());
    ledger::SignedTransaction issue = world.issue(100 + i, owners.back().public_key());
    world.states.add_outputs(issue.id(), issue.tx);
    coins.push_back(ledger::StateRef{issue.id(), 0});
  }
  crypto::PublicKey payee = fresh_key().public_key();
  std::vector<Bytes> wires(kPool);
  double build = rate(seconds, 200, [&](size_t i) {
    size_t k = i % kPool;
    wires[k] = codec::encode_to_bytes(world.pay(coins[k], 100 + k, owners[k], payee));
  });
  std::fprintf(stderr, "  tx build+sign+encode    %12.0f /s\n", build);
  // The parts of a verification other than the signature check, for the breakdown.
  double decode_only = rate(seconds, 500, [&](size_t i) {
    auto stx = codec::decode_from_bytes<ledger::SignedTransaction>(wires[i % kPool],
                                                                   ledger::transaction_limits());
    sink = sink ^ static_cast<uint8_t>(stx.ok());
  });
  auto sample_tx =
      codec::decode_from_bytes<ledger::SignedTransaction>(wires[0], ledger::transaction_limits());
  double id_only =
      rate(seconds, 500, [&](size_t) { sink = sink ^ sample_tx->id().value().bytes[0]; });
  std::fprintf(stderr, "  tx decode               %12.0f /s\n", decode_only);
  std::fprintf(stderr, "  tx id (Merkle root)     %12.0f /s\n", id_only);
  size_t failures = 0;
  double full = rate(seconds, 200, [&](size_t i) {
    auto stx = codec::decode_from_bytes<ledger::SignedTransaction>(wires[i % kPool],
                                                                   ledger::transaction_limits());
    if (!stx.ok() || !world.verify(*stx).ok()) ++failures;
  });
  if (failures > 0) fail("bench transactions failed to verify: " + std::to_string(failures));
  std::fprintf(stderr, "  tx decode+verify        %12.0f /s\n", full);

  Json out;
  out["sha256_per_s"] = static_cast<uint64_t>(sha);
  out["ed25519_sign_per_s"] = static_cast<uint64_t>(sign);
  out["ed25519_verify_per_s"] = static_cast<uint64_t>(verify);
  out["tx_build_per_s"] = static_cast<uint64_t>(build);
  out["tx_verify_per_s"] = static_cast<uint64_t>(full);
  out["verify_vs_ed25519"] = std::round(full / verify * 1000.0) / 1000.0;
  out["tx_decode_per_s"] = static_cast<uint64_t>(decode_only);
  out["tx_id_per_s"] = static_cast<uint64_t>(id_only);
  out["tx_bytes"] = wires[0].size();
  out["seconds_per_measurement"] = seconds;
  out["threads"] = 1;
  std::printf("%s\n", out.dump(2).c_str());
  Status s = write_file(out_path, as_bytes(out.dump(2) + "\n"));
  if (!s.ok()) fail(s.error().message());
  (void)sink;
}

// Storage for the parsed options: CLI11 binds options by reference, so they outlive add_*().
struct LedgerOptions {
  size_t chain = 10'000;
  bool json = false;
  std::string decode_path;
  std::string sample_kind = "signed";
  std::string sample_path;
  double bench_seconds = 1.0;
  std::string bench_out = "bench/results/ledger.json";
};

LedgerOptions& options() {
  static LedgerOptions o;
  return o;
}

}  // namespace

void add_ledger_commands(CLI::App& app, Groups& groups) {
  if (sodium_init() < 0) {
    std::cerr << "folio: libsodium failed to initialise\n";
    std::exit(1);
  }
  LedgerOptions& o = options();
  auto* demo =
      app.add_subcommand("ledger-demo",
                        "The ledger core alone: issue cash and pay it along a chain of verified "
                        "transactions, in one process");
  demo->add_option("--chain", o.chain, "Length of the payment chain")
      ->check(CLI::Range(1, 10'000'000));
  demo->add_flag("--json", o.json, "Print the summary as one JSON object");
  demo->callback([&o] { run_demo(o.chain, o.json); });

  auto* decode = groups.tx->add_subcommand(
      "decode", "Print a wire, signed or filtered transaction file as JSON");
  decode->add_option("file", o.decode_path, "Transaction file")->required();
  decode->callback([&o] { decode_command(o.decode_path); });

  auto* sample =
      groups.tx->add_subcommand("sample", "Write a sample cash payment as a transaction file");
  sample->add_option("--kind", o.sample_kind, "wire, signed or filtered");
  sample->add_option("--out", o.sample_path, "Output file")->required();
  sample->callback([&o] { sample_command(o.sample_kind, o.sample_path); });

  auto* bench =
      groups.bench->add_subcommand("ledger", "Hashing, signing and transaction build/verify rates");
  bench->add_option("--seconds", o.bench_seconds, "Seconds per measurement")
      ->check(CLI::Range(0.05, 60.0));
  bench->add_option("--out", o.bench_out, "Where to write the JSON results");
  bench->callback([&o] { bench_ledger(o.bench_seconds, o.bench_out); });
}

}  // namespace folio::cli
