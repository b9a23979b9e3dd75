// WebAssembly contracts behind ledger::ContractProvider (see provider.h).
#include "wasm/provider.h"

#include "codec/codec.h"
#include "crypto/keys.h"

namespace folio::wasm {

// One imported attachment's contract: verification encodes the transaction canonically and runs
// the module under the transaction's budget.
class WasmContract : public ledger::Contract {
 public:
  WasmContract(const ContractAttachment& attachment, std::shared_ptr<const Module> module)
      : attachment_(attachment), module_(std::move(module)) {}

  std::string_view name() const override { return attachment_.manifest.name; }

  Status verify(const ledger::LedgerTransaction& tx) const override {
    FOLIO_ASSIGN_OR_RETURN(uint64_t budget, gas_budget(tx));
    Execution e = run_with(tx, budget);
    if (e.accepted()) return ok_status();
    return ledger::reject(e.describe() + " in wasm attachment " +
                          attachment_.id.value().short_hex());
  }

  // The state goes in as the only output of a ContractView; the contract reports the keys.
  Result<std::vector<crypto::PublicKey>> participants(
      const ledger::TransactionState& state) const override {
    codec::Writer view;
    view.length(0);  // inputs
    view.length(0);  // references
    view.length(1);  // outputs
    view.u32(0);
    view.bytes(state.data);
    view.length(0);  // commands
    Execution e = run_participants(*module_, view.data(), attachment_.manifest.name,
                                   kDefaultGasBudget, attachment_.manifest.config);
    if (!e.accepted()) {
      ErrorCode code = e.reason == "the contract declares no participants"
                           ? ErrorCode::kUnsupported
                           : ErrorCode::kVerification;
      return make_error(code, "wasm contract " + attachment_.manifest.name +
                                  " gives no participants: " + e.describe());
    }
    std::vector<crypto::PublicKey> keys;
    for (size_t i = 0; i < e.participants.size(); ++i) {
      auto key = codec::decode_from_bytes<crypto::PublicKey>(e.participants[i]);
      if (!key.ok()) {
        return make_error(ErrorCode::kVerification, "wasm contract " + attachment_.manifest.name +
                                                        ": participant " + std::to_string(i) +
                                                        " is not a canonical key");
      }
      keys.push_back(std::move(key).value());
    }
    return keys;
  }

  Execution run_with(const ledger::LedgerTransaction& tx, uint64_t budget) const {
    Bytes view = contract_view(tx, attachment_.manifest.name);
    return run_lazy(
        *module_, [&tx] { return codec::encode_to_bytes(tx); }, attachment_.manifest.name, budget,
        attachment_.manifest.config, view);
  }

 private:
  const ContractAttachment& attachment_;
  std::shared_ptr<const Module> module_;
};

struct WasmContractProvider::Entry {
  ContractAttachment attachment;
  std::unique_ptr<WasmContract> contract;
};

namespace {

class GasContract : public ledger::Contract {
 public:
  std::string_view name() const override { return kGasContract; }
  Status verify(const ledger::LedgerTransaction& tx) const override {
    for (const auto& in : tx.inputs)
      if (in.state.contract == kGasContract) return ledger::reject("folio.Gas governs no states");
    for (const auto& out : tx.outputs)
      if (out.contract == kGasContract) return ledger::reject("folio.Gas governs no states");
    auto budget = gas_budget(tx);
    if (!budget.ok()) return ledger::reject(budget.error().context);
    return ok_status();
  }
};

}  // namespace

Bytes contract_view(const ledger::LedgerTransaction& tx, std::string_view contract) {
  codec::Writer w(256);
  auto states = [&](auto count, auto state_at) {
    std::vector<uint32_t> mine;
    for (size_t i = 0; i < count; ++i)
      if (state_at(i).contract == contract) mine.push_back(static_cast<uint32_t>(i));
    w.length(mine.size());
    for (uint32_t i : mine) {
      w.u32(i);
      w.bytes(state_at(i).data);
    }
  };
  states(tx.inputs.size(),
         [&](size_t i) -> const ledger::TransactionState& { return tx.inputs[i].state; });
  states(tx.references.size(),
         [&](size_t i) -> const ledger::TransactionState& { return tx.references[i].state; });
  states(tx.outputs.size(),
         [&](size_t i) -> const ledger::TransactionState& { return tx.outputs[i]; });
  std::vector<uint32_t> commands;
  for (size_t i = 0; i < tx.commands.size(); ++i)
    if (tx.commands[i].contract == contract) commands.push_back(static_cast<uint32_t>(i));
  w.length(commands.size());
  for (uint32_t i : commands) {
    const ledger::Command& c = tx.commands[i];
    w.u32(i);
    w.string(c.name);
    w.bytes(c.params);
    codec::encode(w, c.signers);
  }
  return w.take();
}

Result<uint64_t> gas_budget(const ledger::LedgerTransaction& tx) {
  std::vector<const ledger::Command*> commands = tx.commands_of(kGasContract);
  if (commands.empty()) return kDefaultGasBudget;
  if (commands.size() > 1) return ledger::reject("more than one folio.Gas command");
  const ledger::Command& c = *commands[0];
  if (c.name != kGasBudgetCommand) return ledger::reject("unknown folio.Gas command " + c.name);
  auto budget = codec::decode_from_bytes<uint64_t>(c.params);
  if (!budget.ok())
    return ledger::reject("folio.Gas budget does not decode: " + budget.error().context);
  if (*budget > kGasBudgetMax) {
    return ledger::reject("gas budget " + std::to_string(*budget) + " is above the maximum " +
                          std::to_string(kGasBudgetMax));
  }
  return *budget;
}

ledger::Command gas_budget_command(uint64_t budget, const crypto::PublicKey& payer) {
  return ledger::Command{std::string(kGasContract),
                         std::string(kGasBudgetCommand),
                         codec::encode_to_bytes(budget),
                         {payer}};
}

WasmContractProvider::WasmContractProvider(const ledger::ContractProvider* fallback, Limits limits)
    : fallback_(fallback), cache_(limits), gas_contract_(std::make_unique<GasContract>()) {}

WasmContractProvider::~WasmContractProvider() = default;

Result<ledger::Attachment> WasmContractProvider::add(
    ByteView zip, const std::vector<ledger::TransactionSignature>& signatures) {
  FOLIO_ASSIGN_OR_RETURN(ContractAttachment parsed, parse_contract_attachment(zip));
  ledger::Attachment out{parsed.id, {parsed.manifest.name}, {}};
  Bytes payload = attachment_signature_payload(parsed.id);
  for (const ledger::TransactionSignature& s : signatures) {
    if (!crypto::verify(s.by, payload, s.signature)) {
      return make_error(ErrorCode::kVerification,
                        "signature by " + s.by.describe() + " over attachment " +
                            parsed.id.value().short_hex() + " is invalid");
    }
    out.signers.push_back(s.by);
  }
  std::sort(out.signers.begin(), out.signers.end());
  out.signers.erase(std::unique(out.signers.begin(), out.signers.end()), out.signers.end());
  FOLIO_ASSIGN_OR_RETURN(std::shared_ptr<const Module> module, cache_.get(parsed.wasm));
  // Importing the same attachment again (say, with more signatures) keeps the first entry, so the
  // contracts that find() already handed out stay valid.
  if (entries_.count(out.id) != 0) return out;
  auto entry = std::make_unique<Entry>();
  entry->attachment = std::move(parsed);
  entry->contract = std::make_unique<WasmContract>(entry->attachment, std::move(module));
  entries_[out.id] = std::move(entry);
  return out;
}

Result<const ledger::Contract*> WasmContractProvider::find(
    std::string_view contract, const ledger::LedgerTransaction& tx) const {
  if (contract == kGasContract) return static_cast<const ledger::Contract*>(gas_contract_.get());
  const ledger::Contract* found = nullptr;
  for (const ledger::Attachment& a : tx.attachments) {
    if (std::find(a.contracts.begin(), a.contracts.end(), contract) == a.contracts.end()) continue;
    auto it = entries_.find(a.id);
    if (it == entries_.end()) continue;
    if (found != nullptr) {
      return make_error(ErrorCode::kConflict,
                        "more than one attachment provides contract " + std::string(contract));
    }
    found = it->second->contract.get();
  }
  if (found != nullptr) return found;
  if (fallback_ != nullptr) return fallback_->find(contract, tx);
  return make_error(
      ErrorCode::kNotFound,
      "no attachment of the transaction provides wasm contract " + std::string(contract));
}

Result<Execution> WasmContractProvider::execute(const ledger::AttachmentId& id,
                                                std::string_view contract,
                                                const ledger::LedgerTransaction& tx,
                                                uint64_t budget) const {
  auto it = entries_.find(id);
  if (it == entries_.end())
    return make_error(ErrorCode::kNotFound,
                      "attachment " + id.value().short_hex() + " is not imported");
  if (it->second->attachment.manifest.name != contract) {
    return make_error(ErrorCode::kNotFound, "attachment " + id.value().short_hex() +
                                                " does not provide " + std::string(contract));
  }
  return it->second->contract->run_with(tx, budget);
}

const ContractAttachment* WasmContractProvider::attachment(const ledger::AttachmentId& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second->attachment;
}

}  // namespace folio::wasm
