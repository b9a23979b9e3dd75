// folio.Agreement: terms that several parties hold together, the test bed of multi-party signing
// (CollectSignatures) and of notary changes whose participants are on several nodes.
//
// An AgreementState is a text and its parties (2..kAgreementPartiesMax, distinct keys); every party
// is a participant. One command per transaction, whose signers must include every party of every
// agreement input and output:
//   Create  no agreement inputs;
//   Amend   outputs are the inputs in order with the same parties (new terms);
//   End     agreement inputs and no agreement outputs.
// Registered through ledger::ContractRegistry and vault::VaultRegistry (register_agreement).
// Stateless and thread-safe.
//
//   AgreementCreate  flow: builds a Create with this node and the named parties, signs it, collects
//                    the other parties' signatures with the CollectSignatures sub-flow (each
//                    answers with SignTransactionResponder and its node's sign_policy), then
//                    Finality.
#pragma once

#include <string>
#include <vector>

#include "flow/context.h"
#include "ledger/contract.h"
#include "node/flows/flow_services.h"
#include "vault/schema.h"

namespace folio::node::flows {

constexpr std::string_view kAgreementContract = "folio.Agreement";
constexpr std::string_view kAgreementStateType = "folio.AgreementState";
constexpr size_t kAgreementTermsBytesMax = 4096;
constexpr size_t kAgreementPartiesMax = 16;

struct AgreementState {
  std::string terms;
  std::vector<ledger::Party> parties;
  FOLIO_FIELDS(terms, parties)
  friend bool operator==(const AgreementState&, const AgreementState&) = default;
};

class AgreementContract : public ledger::Contract {
 public:
  std::string_view name() const override { return kAgreementContract; }
  Status verify(const ledger::LedgerTransaction& tx) const override;
  Result<std::vector<crypto::PublicKey>> participants(
      const ledger::TransactionState& state) const override;
};

Result<AgreementState> decode_agreement(const ledger::TransactionState& state);
ledger::TransactionState agreement_output(const AgreementState& agreement,
                                          const ledger::Party& notary);
// A command of the contract ("Create", "Amend", "End") signed by every party of `agreement`.
ledger::Command agreement_command(std::string name, const AgreementState& agreement);

vault::ContractDescription agreement_description();
// The contract into `contracts`, the description into `vault`.
Status register_agreement(ledger::ContractRegistry& contracts, vault::VaultRegistry& vault);

struct AgreementCreate {
  static constexpr std::string_view kName = "folio.AgreementCreate";
  std::string terms;
  std::vector<std::string> parties;  // the other parties, by name
  std::string notary;
  FOLIO_FIELDS(terms, parties, notary)
  FlowServices* services = nullptr;
  flow::Flow<ledger::StateRef> call(flow::FlowContext& ctx);
};

}  // namespace folio::node::flows
