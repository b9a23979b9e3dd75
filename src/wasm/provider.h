// WebAssembly contracts as a ledger::ContractProvider: the code that governs a contract in a
// transaction is the attachment of that transaction that declares it, run in the sandbox.
//
// Contract attachments are imported once (`add`): the zip is parsed, its module validated and
// instrumented (cached by code hash), and signatures over its id checked; what the verifier then
// sees is the ledger::Attachment {id, [manifest name], signers}, against which verify_ledger checks
// hash and signature constraints. `find` picks, among the transaction's attachments, the one that
// declares the contract and whose code this provider holds; names it does not serve go to the
// fallback provider (the native registry), so one provider serves both kinds.
//
// Gas: a transaction may carry one `folio.Gas` command named "budget" whose params are a u64, the
// budget of each wasm contract verification in it (default kDefaultGasBudget, at most
// kGasBudgetMax). The provider itself serves `folio.Gas`, a native contract that checks the
// command is well formed.
//
// Not thread-safe while adding; `find`, `execute` and the returned contracts are safe for
// concurrent use after. Contracts returned by `find` live as long as the provider.
#pragma once

#include <map>
#include <memory>

#include "ledger/contract.h"
#include "wasm/attachment.h"
#include "wasm/sandbox.h"

namespace folio::wasm {

constexpr std::string_view kGasContract = "folio.Gas";
constexpr std::string_view kGasBudgetCommand = "budget";
constexpr uint64_t kGasBudgetMax = 1'000'000'000;

// The gas budget a transaction declares for each wasm contract run, or kDefaultGasBudget.
// Fails if the folio.Gas command is malformed or above kGasBudgetMax.
Result<uint64_t> gas_budget(const ledger::LedgerTransaction& tx);
// The budget command; `payer` signs it (every command needs a signer).
ledger::Command gas_budget_command(uint64_t budget, const crypto::PublicKey& payer);

// The contract's own part of a transaction, what most checkers need, so that they need not walk
// the whole encoding in the interpreter (the contract ABI's view_read). Canonical encoding:
//   ContractView = inputs:vec<ViewState> references:vec<ViewState> outputs:vec<ViewState>
//                  commands:vec<ViewCommand>
//   ViewState    = index:u32 data:bytes           (index within the transaction's list)
//   ViewCommand  = index:u32 name:string params:bytes signers:vec<PublicKey>
Bytes contract_view(const ledger::LedgerTransaction& tx, std::string_view contract);

class WasmContract;

class WasmContractProvider : public ledger::ContractProvider {
 public:
  explicit WasmContractProvider(const ledger::ContractProvider* fallback = nullptr,
                                Limits limits = {});
  ~WasmContractProvider() override;

  // Imports a contract attachment. Each signature must be valid over
  // attachment_signature_payload(id); the signers become the Attachment's signers.
  Result<ledger::Attachment> add(ByteView zip,
                                 const std::vector<ledger::TransactionSignature>& signatures = {});

  Result<const ledger::Contract*> find(std::string_view contract,
                                       const ledger::LedgerTransaction& tx) const override;

  // Runs the contract held in attachment `id` for `contract` over `tx` with `budget`: for tools
  // and benchmarks that want the gas figure, not just the verdict.
  Result<Execution> execute(const ledger::AttachmentId& id, std::string_view contract,
                            const ledger::LedgerTransaction& tx, uint64_t budget) const;

  const ContractAttachment* attachment(const ledger::AttachmentId& id) const;

 private:
  struct Entry;
  const ledger::ContractProvider* fallback_;
  ModuleCache cache_;
  std::map<ledger::AttachmentId, std::unique_ptr<Entry>> entries_;
  std::unique_ptr<ledger::Contract> gas_contract_;
};

}  // namespace folio::wasm
