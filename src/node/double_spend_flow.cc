// CashDoubleSpend (see the header).
#include "node/double_spend_flow.h"

#include "contracts/cash.h"
#include "node/flows/cash_flows.h"
#include "node/flows/finality.h"

namespace folio::node {

using flow::Flow;
using flow::FlowContext;

Flow<DoubleSpendResult> CashDoubleSpend::call(FlowContext& ctx) {
  ctx.step("Selecting coins");
  if (amount == 0) co_return make_error(ErrorCode::kInvalidArgument, "double spend of zero");
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::Party payee_a, services->identities->party_by_name(to_a));
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::Party payee_b, services->identities->party_by_name(to_b));
  FOLIO_CO_ASSIGN_OR_RETURN(flows::CoinSelection selection,
                            flows::select_coins(ctx, services, currency, amount, std::nullopt));
  for (const ledger::StateAndRef& coin : selection.coins)
    if (!(coin.state.notary == selection.coins.at(0).state.notary))
      co_return make_error(ErrorCode::kInvalidArgument, "the coins name different notaries");
  auto build = [&](const ledger::Party& payee) -> Result<ledger::SignedTransaction> {
    ledger::WireTransaction tx;
    FOLIO_TRY(flows::add_cash_spend(tx, selection, amount, payee.owning_key,
                                    services->me.owning_key));
    tx.commands.push_back(contracts::cash_move({services->me.owning_key}));
    tx.notary = selection.coins.at(0).state.notary;
    tx.salt = flows::fresh_salt(ctx);
    return flows::sign_new(*services, std::move(tx));
  };
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::SignedTransaction a, build(payee_a));
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::SignedTransaction b, build(payee_b));

  ctx.step("Finalising the first spend");
  flows::Finality finality;
  finality.stx = a;
  finality.services = services;
  FOLIO_CO_ASSIGN_OR_RETURN(flows::TransactionMessage final_a, co_await ctx.sub_flow(finality));

  ctx.step("Notarising the second spend");
  flows::NotaryClient client;
  client.stx = b;
  client.services = services;
  Result<notary::NotarisationCertificate> second = co_await ctx.sub_flow(client);
  if (second.ok())
    co_return make_error(ErrorCode::kInternal,
                         "the notary accepted both spends of the same coins (" +
                             a.id().value().short_hex() + ", " + b.id().value().short_hex() + ")");
  if (second.error().code != ErrorCode::kConflict) co_return second.error();
  DoubleSpendResult out;
  out.committed = final_a.stx.id();
  out.refused = b.id();
  out.refusal = second.error().context;
  co_return out;
}

Status register_double_spend_flow(flow::FlowRegistry& registry, flows::FlowServices* services) {
  return flows::add_flow<CashDoubleSpend>(registry, services);
}

}  // namespace folio::node
