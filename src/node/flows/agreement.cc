// folio.Agreement and AgreementCreate: see agreement.h.
#include "node/flows/agreement.h"

#include <algorithm>
#include <set>

#include "node/flows/cash_flows.h"
#include "node/flows/collect_signatures.h"
#include "node/flows/finality.h"

namespace folio::node::flows {

Result<AgreementState> decode_agreement(const ledger::TransactionState& state) {
  auto a = codec::decode_from_bytes<AgreementState>(state.data);
  if (!a.ok()) return a.error();
  if (a->terms.size() > kAgreementTermsBytesMax)
    return make_error(ErrorCode::kLimitExceeded,
                      "agreement terms over " + std::to_string(kAgreementTermsBytesMax) + " bytes");
  if (a->parties.size() < 2 || a->parties.size() > kAgreementPartiesMax)
    return make_error(ErrorCode::kMalformed,
                      "an agreement has 2.." + std::to_string(kAgreementPartiesMax) + " parties");
  std::set<crypto::PublicKey> keys;
  for (const ledger::Party& p : a->parties)
    if (!keys.insert(p.owning_key).second)
      return make_error(ErrorCode::kMalformed, "party " + p.name + " appears twice");
  return a;
}

Status AgreementContract::verify(const ledger::LedgerTransaction& tx) const {
  std::vector<AgreementState> ins, outs;
  for (size_t i : tx.input_indexes(kAgreementContract)) {
    auto a = decode_agreement(tx.inputs[i].state);
    if (!a.ok()) return ledger::reject("input " + std::to_string(i) + ": " + a.error().context);
    ins.push_back(std::move(a).value());
  }
  for (size_t i : tx.output_indexes(kAgreementContract)) {
    auto a = decode_agreement(tx.outputs[i]);
    if (!a.ok()) return ledger::reject("output " + std::to_string(i) + ": " + a.error().context);
    outs.push_back(std::move(a).value());
  }
  std::vector<const ledger::Command*> commands = tx.commands_of(kAgreementContract);
  if (ins.empty() && outs.empty()) {
    if (!commands.empty()) return ledger::reject("an Agreement command but no agreement");
    return ok_status();
  }
  if (commands.size() != 1) return ledger::reject("exactly one Agreement command is required");
  const ledger::Command& command = *commands[0];
  if (!command.params.empty()) return ledger::reject(command.name + " takes no parameters");
  auto all_sign = [&](const std::vector<AgreementState>& states, const char* what) -> Status {
    for (size_t i = 0; i < states.size(); ++i)
      for (const ledger::Party& p : states[i].parties)
        if (!command.has_signer(p.owning_key))
          return ledger::reject(std::string(what) + " agreement " + std::to_string(i) +
                                " lacks party " + p.name + " among the signers");
    return ok_status();
  };
  if (Status s = all_sign(ins, "input"); !s.ok()) return s;
  if (Status s = all_sign(outs, "output"); !s.ok()) return s;
  if (command.name == "Create") {
    if (!ins.empty()) return ledger::reject("Create consumes no agreement");
    return ok_status();
  }
  if (command.name == "Amend") {
    if (ins.size() != outs.size()) return ledger::reject("Amend keeps the number of agreements");
    for (size_t i = 0; i < ins.size(); ++i)
      if (ins[i].parties != outs[i].parties)
        return ledger::reject("Amend changes the parties of agreement " + std::to_string(i));
    return ok_status();
  }
  if (command.name == "End") {
    if (!outs.empty()) return ledger::reject("End creates no agreement");
    return ok_status();
  }
  return ledger::reject("unknown command " + command.name);
}

Result<std::vector<crypto::PublicKey>> AgreementContract::participants(
    const ledger::TransactionState& state) const {
  return agreement_description().participants(state);
}

ledger::TransactionState agreement_output(const AgreementState& agreement,
                                          const ledger::Party& notary) {
  ledger::TransactionState s;
  s.data = codec::encode_to_bytes(agreement);
  s.contract = std::string(kAgreementContract);
  s.notary = notary;
  s.constraint = ledger::AlwaysAcceptConstraint{};
  return s;
}

ledger::Command agreement_command(std::string name, const AgreementState& agreement) {
  std::vector<crypto::PublicKey> signers;
  for (const ledger::Party& p : agreement.parties) signers.push_back(p.owning_key);
  std::sort(signers.begin(), signers.end());
  return ledger::Command{std::string(kAgreementContract), std::move(name), {}, std::move(signers)};
}

vault::ContractDescription agreement_description() {
  vault::ContractDescription d;
  d.contract = std::string(kAgreementContract);
  d.state_type = std::string(kAgreementStateType);
  d.participants =
      [](const ledger::TransactionState& state) -> Result<std::vector<crypto::PublicKey>> {
    auto a = decode_agreement(state);
    if (!a.ok()) return a.error();
    std::vector<crypto::PublicKey> keys;
    for (const ledger::Party& p : a->parties) keys.push_back(p.owning_key);
    return keys;
  };
  return d;
}

Status register_agreement(ledger::ContractRegistry& contracts, vault::VaultRegistry& vault) {
  FOLIO_TRY(contracts.add(std::make_unique<AgreementContract>()));
  return vault.add_contract(agreement_description());
}

flow::Flow<ledger::StateRef> AgreementCreate::call(flow::FlowContext& ctx) {
  ctx.step("Proposing");
  // The network map's answers are journalled: a replay builds the same transaction.
  std::function<Result<notary::NotaryEntry>(storage::Session&)> find_notary =
      [this](storage::Session&) { return services->notary_entry(notary); };
  FOLIO_CO_ASSIGN_OR_RETURN(notary::NotaryEntry entry, ctx.record(find_notary));
  std::function<Result<std::vector<ledger::Party>>(storage::Session&)> find_parties =
      [this](storage::Session&) -> Result<std::vector<ledger::Party>> {
    std::vector<ledger::Party> found;
    for (const std::string& name : parties) {
      FOLIO_ASSIGN_OR_RETURN(ledger::Party party, services->identities->party_by_name(name));
      found.push_back(party);
    }
    return found;
  };
  FOLIO_CO_ASSIGN_OR_RETURN(std::vector<ledger::Party> others, ctx.record(find_parties));
  AgreementState agreement;
  agreement.terms = terms;
  agreement.parties.push_back(services->me);
  for (const ledger::Party& party : others) agreement.parties.push_back(party);
  ledger::WireTransaction tx;
  tx.outputs.push_back(agreement_output(agreement, entry.identity));
  tx.commands.push_back(agreement_command("Create", agreement));
  tx.notary = entry.identity;
  tx.salt = fresh_salt(ctx);
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::SignedTransaction stx, sign_new(*services, std::move(tx)));
  CollectSignatures collect;
  collect.stx = stx;
  collect.parties = parties;
  collect.services = services;
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::SignedTransaction signed_tx, co_await ctx.sub_flow(collect));
  Finality finality;
  finality.stx = signed_tx;
  finality.services = services;
  FOLIO_CO_ASSIGN_OR_RETURN(TransactionMessage final_tx, co_await ctx.sub_flow(finality));
  co_return ledger::StateRef{final_tx.stx.id(), 0};
}

}  // namespace folio::node::flows
