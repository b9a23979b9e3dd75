// Test support: runs each transaction through a native contract and its WebAssembly twin and
// checks that both give the same verdict with the same reason. Test-only; not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "testing/ledger_dsl.h"
#include "wasm/provider.h"

namespace folio::examples {

inline Bytes read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class Twin {
 public:
  // Packs the wasm module at `wasm_path` as a contract attachment named `name` and imports it.
  // Contracts the attachment does not provide (other native contracts in the same transaction)
  // fall back to the ledger's native registry.
  Twin(testing::LedgerDsl& ledger, std::string name, const std::string& wasm_path,
       Bytes config = {})
      : ledger_(ledger), provider_(&ledger.registry()) {
    wasm::ContractManifest manifest{std::move(name), "1.0", wasm::kAbiVersion, std::move(config)};
    auto zip = wasm::build_contract_attachment(manifest, read_file_bytes(wasm_path));
    EXPECT_TRUE(zip.ok()) << zip.error().message();
    zip_ = zip.value();
    auto imported = provider_.add(zip_);
    EXPECT_TRUE(imported.ok()) << imported.error().message();
    attachment_ = imported.value();
    ledger_.attachments().add(attachment_);
  }

  const ledger::Attachment& attachment() const { return attachment_; }
  const Bytes& zip() const { return zip_; }
  wasm::WasmContractProvider& provider() { return provider_; }

  ledger::Verdict wasm_verdict(const testing::TxDsl& tx) {
    return ledger::verify_transaction(tx.signed_transaction(), ledger_.states(),
                                      ledger_.attachments(), provider_);
  }

  // Both implementations reject with a reason containing `expected`; with `from_wasm`, the wasm
  // side's reason must come from the sandbox (not from another, native, contract).
  void fails_with(testing::TxDsl& tx, std::string_view expected, bool from_wasm = true) {
    tx.attachment(attachment_);
    ledger::Verdict native = tx.verdict();
    ledger::Verdict wasm = wasm_verdict(tx);
    EXPECT_EQ(native.rule, ledger::Rule::kContractRejected) << native.describe();
    EXPECT_EQ(wasm.rule, ledger::Rule::kContractRejected) << wasm.describe();
    EXPECT_NE(native.message.find(expected), std::string::npos) << native.describe();
    EXPECT_NE(wasm.message.find(expected), std::string::npos) << wasm.describe();
    if (from_wasm) {  // the reason came from the sandbox, not from a native fallback
      EXPECT_NE(wasm.message.find("in wasm attachment"), std::string::npos) << wasm.describe();
    }
  }

  // Both accept; the transaction is then recorded so that its outputs can be spent.
  ledger::TxId verifies(testing::TxDsl& tx) {
    tx.attachment(attachment_);
    ledger::Verdict wasm = wasm_verdict(tx);
    EXPECT_TRUE(wasm.ok()) << "wasm twin: " << wasm.describe();
    return tx.verifies();
  }

  void fails_with(testing::TxDsl&& tx, std::string_view expected, bool from_wasm = true) {
    fails_with(tx, expected, from_wasm);
  }
  ledger::TxId verifies(testing::TxDsl&& tx) { return verifies(tx); }

 private:
  testing::LedgerDsl& ledger_;
  wasm::WasmContractProvider provider_;
  Bytes zip_;
  ledger::Attachment attachment_;
};

}  // namespace folio::examples
