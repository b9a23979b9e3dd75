#include "contracts/cscoin.h"

#include <algorithm>

namespace folio::contracts {
namespace {

Result<CsCoinAccount> decode_account(const ledger::TransactionState& state,
                                     const std::string& where) {
  auto a = codec::decode_from_bytes<CsCoinAccount>(state.data);
  if (!a.ok()) return ledger::reject(where + " is not a CSCoin account: " + a.error().context);
  return a;
}

}  // namespace

Status CsCoin::verify(const ledger::LedgerTransaction& tx) const {
  std::vector<size_t> in_idx = tx.input_indexes(kCsCoinContract);
  std::vector<size_t> out_idx = tx.output_indexes(kCsCoinContract);
  std::vector<const ledger::Command*> commands = tx.commands_of(kCsCoinContract);
  if (in_idx.empty() && out_idx.empty() && commands.empty()) return ok_status();  // referenced only
  if (commands.size() != 1)
    return ledger::reject("a transaction carries exactly one CSCoin command, not " +
                          std::to_string(commands.size()));
  const ledger::Command& command = *commands[0];

  std::vector<CsCoinAccount> ins, outs;
  for (size_t i : in_idx) {
    FOLIO_ASSIGN_OR_RETURN(CsCoinAccount a,
                           decode_account(tx.inputs[i].state, "input " + std::to_string(i)));
    ins.push_back(std::move(a));
  }
  for (size_t i : out_idx) {
    FOLIO_ASSIGN_OR_RETURN(CsCoinAccount a,
                           decode_account(tx.outputs[i], "output " + std::to_string(i)));
    outs.push_back(std::move(a));
  }

  if (command.name == "createAccount") {
    if (!command.params.empty()) return ledger::reject("createAccount takes no parameters");
    if (!ins.empty()) return ledger::reject("createAccount consumes no CSCoin account");
    if (outs.size() != 1) return ledger::reject("createAccount creates exactly one account");
    if (outs[0].balance != 0)
      return ledger::reject("a new account starts with balance 0, not " +
                            std::to_string(outs[0].balance));
    if (!command.has_signer(outs[0].owner))
      return ledger::reject("createAccount is not signed by the new account's owner");
    return ok_status();
  }

  if (command.name == "issue") {
    auto params = codec::decode_from_bytes<CsCoinIssue>(command.params);
    if (!params.ok())
      return ledger::reject("issue parameters do not decode: " + params.error().context);
    if (!ins.empty()) return ledger::reject("issue consumes no CSCoin account");
    if (outs.empty()) return ledger::reject("issue creates at least one account");
    if (!command.has_signer(mint_authority_))
      return ledger::reject("issue is not signed by the mint authority");
    uint64_t total = 0;
    for (const CsCoinAccount& a : outs) {
      if (total > UINT64_MAX - a.balance) return ledger::reject("issued balances overflow");
      total += a.balance;
    }
    if (total != params->supply)
      return ledger::reject("issued balances sum to " + std::to_string(total) +
                            ", not the supply " + std::to_string(params->supply));
    return ok_status();
  }

  if (command.name == "transfer") {
    auto flow = codec::decode_from_bytes<CsCoinValueFlow>(command.params);
    if (!flow.ok())
      return ledger::reject("transfer parameters do not decode: " + flow.error().context);
    if (ins.size() != 2 || outs.size() != 2)
      return ledger::reject(
          "transfer consumes two accounts [from, to] and creates their two new versions");
    const CsCoinAccount& from = ins[0];
    const CsCoinAccount& to = ins[1];
    if (from.owner == to.owner) return ledger::reject("transfer from an account to itself");
    if (flow->from != from.owner || flow->to != to.owner)
      return ledger::reject("the declared value flow does not name the consumed accounts' owners");
    if (outs[0].owner != from.owner || outs[1].owner != to.owner)
      return ledger::reject("transfer changes an account's owner");
    if (flow->amount == 0) return ledger::reject("transfer of zero");
    if (flow->amount > from.balance)
      return ledger::reject("transfer of " + std::to_string(flow->amount) +
                            " exceeds the balance " + std::to_string(from.balance));
    if (to.balance > UINT64_MAX - flow->amount)
      return ledger::reject("the receiving balance overflows");
    if (outs[0].balance != from.balance - flow->amount)
      return ledger::reject("the sender's new balance is " + std::to_string(outs[0].balance) +
                            ", expected " + std::to_string(from.balance - flow->amount));
    if (outs[1].balance != to.balance + flow->amount)
      return ledger::reject("the receiver's new balance is " + std::to_string(outs[1].balance) +
                            ", expected " + std::to_string(to.balance + flow->amount));
    if (!command.has_signer(from.owner))
      return ledger::reject("transfer is not signed by the sender " + from.owner.describe());
    return ok_status();
  }
  return ledger::reject("unknown command " + command.name);
}

Result<std::vector<crypto::PublicKey>> CsCoin::participants(
    const ledger::TransactionState& state) const {
  FOLIO_ASSIGN_OR_RETURN(CsCoinAccount a, decode_account(state, "state"));
  return std::vector<crypto::PublicKey>{a.owner};
}

ledger::TransactionState cscoin_account(const crypto::PublicKey& owner, uint64_t balance,
                                        const ledger::Party& notary) {
  ledger::TransactionState state;
  state.data = codec::encode_to_bytes(CsCoinAccount{owner, balance});
  state.contract = std::string(kCsCoinContract);
  state.notary = notary;
  state.constraint = ledger::AlwaysAcceptConstraint{};
  return state;
}

ledger::Command cscoin_create_account(const crypto::PublicKey& owner) {
  return ledger::Command{std::string(kCsCoinContract), "createAccount", {}, {owner}};
}

ledger::Command cscoin_issue(uint64_t supply, const crypto::PublicKey& mint_authority) {
  return ledger::Command{std::string(kCsCoinContract),
                         "issue",
                         codec::encode_to_bytes(CsCoinIssue{supply}),
                         {mint_authority}};
}

ledger::Command cscoin_transfer(const CsCoinValueFlow& flow) {
  return ledger::Command{
      std::string(kCsCoinContract), "transfer", codec::encode_to_bytes(flow), {flow.from}};
}

std::vector<CsCoinValueFlow> cscoin_value_flows(const ledger::LedgerTransaction& tx) {
  std::vector<CsCoinValueFlow> out;
  for (const ledger::Command* c : tx.commands_of(kCsCoinContract)) {
    if (c->name != "transfer") continue;
    auto flow = codec::decode_from_bytes<CsCoinValueFlow>(c->params);
    if (flow.ok()) out.push_back(std::move(flow).value());
  }
  return out;
}

}  // namespace folio::contracts
