#include "node/flows/cash_flows.h"

#include <cstring>

#include "contracts/cash.h"
#include "node/flows/finality.h"
#include "vault/cash.h"

namespace folio::node::flows {

using flow::Flow;
using flow::FlowContext;
using ledger::TxId;

ledger::PrivacySalt fresh_salt(FlowContext& ctx) {
  ledger::PrivacySalt salt;
  for (size_t i = 0; i < 4; ++i) {
    uint64_t word = ctx.random_u64();
    std::memcpy(salt.data() + 8 * i, &word, 8);
  }
  return salt;
}

Result<CoinSelection> select_coins(FlowContext& ctx, FlowServices* services,
                                   const std::string& currency, uint64_t amount,
                                   const std::optional<contracts::PartyAndReference>& issuer) {
  ledger::Timestamp now(ctx.now_ms() * 1000);
  std::string lock_id = ctx.id().hex();
  std::function<Result<CoinSelection>(storage::Session&)> select =
      [&](storage::Session& session) -> Result<CoinSelection> {
    vault::CashSelection selection;
    selection.currency = currency;
    selection.amount = amount;
    selection.issuer = issuer;
    selection.owners = {services->me.owning_key};
    selection.lock_id = lock_id;
    selection.lock_time = now;
    FOLIO_ASSIGN_OR_RETURN(vault::SelectedCash selected,
                           vault::select_cash(*services->vault, session, selection));
    CoinSelection out;
    out.total = selected.total;
    for (vault::VaultState& coin : selected.coins)
      out.coins.push_back(ledger::StateAndRef{std::move(coin.state), coin.ref});
    return out;
  };
  return ctx.record(select);
}

Status add_cash_spend(ledger::WireTransaction& tx, const CoinSelection& selection, uint64_t amount,
                      const crypto::PublicKey& payee, const crypto::PublicKey& change_owner) {
  FOLIO_ASSERT(selection.total >= amount);
  struct Group {
    contracts::IssuedCurrency token;
    uint64_t total = 0;
  };
  std::vector<Group> groups;
  for (const ledger::StateAndRef& coin : selection.coins) {
    FOLIO_ASSIGN_OR_RETURN(contracts::CashState cash, contracts::decode_cash(coin.state));
    tx.inputs.push_back(coin.ref);
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const Group& g) { return g.token == cash.amount.token; });
    if (it == groups.end()) {
      groups.push_back(Group{cash.amount.token, 0});
      it = groups.end() - 1;
    }
    it->total += cash.amount.quantity;
  }
  ledger::Party notary = selection.coins.at(0).state.notary;
  uint64_t remaining = amount;
  for (const Group& g : groups) {
    uint64_t pay = std::min(remaining, g.total);
    remaining -= pay;
    if (pay > 0)
      tx.outputs.push_back(contracts::cash_output({pay, g.token}, payee, notary));
    if (g.total > pay)
      tx.outputs.push_back(contracts::cash_output({g.total - pay, g.token}, change_owner, notary));
  }
  return ok_status();
}

namespace {
Status same_notary(const CoinSelection& selection) {
  for (const ledger::StateAndRef& coin : selection.coins)
    if (!(coin.state.notary == selection.coins.at(0).state.notary))
      return make_error(ErrorCode::kUnsupported,
                        "the selected coins name different notaries: move them to one first");
  return ok_status();
}
}  // namespace

Flow<TxId> CashIssue::call(FlowContext& ctx) {
  ctx.step("Building");
  if (amount == 0) co_return make_error(ErrorCode::kInvalidArgument, "issue of a zero amount");
  FOLIO_CO_ASSIGN_OR_RETURN(notary::NotaryEntry entry, services->notary_entry(notary));
  ledger::Party owner_party = services->me;
  if (!owner.empty()) {
    FOLIO_CO_ASSIGN_OR_RETURN(owner_party, services->identities->party_by_name(owner));
  }
  contracts::CashAmount cash{amount, {{services->me, issuer_ref}, currency}};
  FOLIO_CO_TRY(cash.token.check_canonical());
  ledger::WireTransaction tx;
  tx.outputs.push_back(contracts::cash_output(cash, owner_party.owning_key, entry.identity));
  tx.commands.push_back(contracts::cash_issue(services->me.owning_key));
  tx.notary = entry.identity;
  tx.salt = fresh_salt(ctx);
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::SignedTransaction stx, sign_new(*services, std::move(tx)));
  Finality finality;
  finality.stx = stx;
  finality.services = services;
  FOLIO_CO_ASSIGN_OR_RETURN(TransactionMessage final_tx, co_await ctx.sub_flow(finality));
  co_return final_tx.stx.id();
}

Flow<TxId> CashPayment::call(FlowContext& ctx) {
  ctx.step("Selecting coins");
  if (amount == 0) co_return make_error(ErrorCode::kInvalidArgument, "payment of a zero amount");
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::Party payee, services->identities->party_by_name(recipient));
  FOLIO_CO_ASSIGN_OR_RETURN(CoinSelection selection,
                            select_coins(ctx, services, currency, amount, std::nullopt));
  Status built = same_notary(selection);
  ledger::WireTransaction tx;
  if (built.ok()) built = add_cash_spend(tx, selection, amount, payee.owning_key,
                                         services->me.owning_key);
  if (!built.ok()) co_return built.error();
  tx.commands.push_back(contracts::cash_move({services->me.owning_key}));
  tx.notary = selection.coins.at(0).state.notary;
  tx.salt = fresh_salt(ctx);
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::SignedTransaction stx, sign_new(*services, std::move(tx)));
  ctx.step("Finalising");
  Finality finality;
  finality.stx = stx;
  finality.services = services;
  Result<TransactionMessage> final_tx = co_await ctx.sub_flow(finality);
  // On failure the flow goes to the hospital with its coins still locked (a retry needs them);
  // Node::kill releases them.
  if (!final_tx.ok()) co_return final_tx.error();
  co_return final_tx->stx.id();
}

Flow<TxId> CashExitFlow::call(FlowContext& ctx) {
  ctx.step("Selecting coins");
  if (amount == 0) co_return make_error(ErrorCode::kInvalidArgument, "exit of a zero amount");
  contracts::PartyAndReference issuer{services->me, issuer_ref};
  FOLIO_CO_ASSIGN_OR_RETURN(CoinSelection selection,
                            select_coins(ctx, services, currency, amount, issuer));
  Status built = same_notary(selection);
  ledger::WireTransaction tx;
  if (built.ok()) {
    for (const ledger::StateAndRef& coin : selection.coins) tx.inputs.push_back(coin.ref);
    if (selection.total > amount) {
      contracts::CashAmount change{selection.total - amount, {issuer, currency}};
      tx.outputs.push_back(contracts::cash_output(change, services->me.owning_key,
                                                  selection.coins.at(0).state.notary));
    }
  }
  if (!built.ok()) co_return built.error();
  contracts::CashAmount exited{amount, {issuer, currency}};
  tx.commands.push_back(contracts::cash_exit(exited, {services->me.owning_key}));
  tx.notary = selection.coins.at(0).state.notary;
  tx.salt = fresh_salt(ctx);
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::SignedTransaction stx, sign_new(*services, std::move(tx)));
  ctx.step("Finalising");
  Finality finality;
  finality.stx = stx;
  finality.services = services;
  Result<TransactionMessage> final_tx = co_await ctx.sub_flow(finality);
  // On failure the flow goes to the hospital with its coins still locked (a retry needs them);
  // Node::kill releases them.
  if (!final_tx.ok()) co_return final_tx.error();
  co_return final_tx->stx.id();
}

}  // namespace folio::node::flows
