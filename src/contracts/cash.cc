#include "contracts/cash.h"

#include <algorithm>
#include <map>

namespace folio::contracts {
namespace {

constexpr size_t kLinearGroupsMax = 8;

struct Totals {
  std::vector<const CashState*> inputs;
  uint64_t in = 0;
  uint64_t out = 0;
  uint64_t exited = 0;
  const IssuedCurrency* token = nullptr;
};

bool add(uint64_t& total, uint64_t amount) {
  if (total > UINT64_MAX - amount) return false;
  total += amount;
  return true;
}

std::string token_name(const IssuedCurrency& t) {
  return t.currency + " issued by " + t.issuer.party.name;
}

}  // namespace

Status IssuedCurrency::check_canonical() const {
  bool iso = currency.size() == 3 && std::all_of(currency.begin(), currency.end(),
                                                 [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!iso)
    return make_error(ErrorCode::kMalformed, "currency '" + currency + "' is not an ISO 4217 code");
  if (issuer.reference.size() > kIssuerReferenceBytesMax)
    return make_error(ErrorCode::kMalformed,
                      "issuer reference longer than " + std::to_string(kIssuerReferenceBytesMax));
  return ok_status();
}

Result<CashState> decode_cash(const ledger::TransactionState& state) {
  return codec::decode_from_bytes<CashState>(state.data);
}

Status Cash::verify(const ledger::LedgerTransaction& tx) const {
  // Decode every cash state and group by issued token, in order of first appearance (the same on
  // every verifier). Transactions hold few tokens, so a linear search beats a map.
  std::vector<CashState> ins, outs;
  // Past a few tokens an ordered index keeps a hostile transaction with thousands of them from
  // costing quadratic time.
  std::vector<Totals> groups;
  std::map<Bytes, size_t> index;
  auto find_group = [&](const IssuedCurrency& token) -> Totals* {
    if (groups.size() <= kLinearGroupsMax) {
      for (Totals& t : groups)
        if (*t.token == token) return &t;
      return nullptr;
    }
    if (index.empty())
      for (size_t g = 0; g < groups.size(); ++g)
        index[codec::encode_to_bytes(*groups[g].token)] = g;
    auto it = index.find(codec::encode_to_bytes(token));
    return it == index.end() ? nullptr : &groups[it->second];
  };
  auto group_of = [&](const IssuedCurrency& token) -> Totals& {
    if (Totals* t = find_group(token)) return *t;
    if (!index.empty()) index[codec::encode_to_bytes(token)] = groups.size();
    Totals& t = groups.emplace_back();
    t.token = &token;
    return t;
  };
  for (size_t i : tx.input_indexes(kCashContract)) {
    auto s = decode_cash(tx.inputs[i].state);
    if (!s.ok())
      return ledger::reject("input " + std::to_string(i) +
                            " is not a cash state: " + s.error().context);
    ins.push_back(std::move(s).value());
  }
  for (size_t i : tx.output_indexes(kCashContract)) {
    auto s = decode_cash(tx.outputs[i]);
    if (!s.ok())
      return ledger::reject("output " + std::to_string(i) +
                            " is not a cash state: " + s.error().context);
    if (s->amount.quantity == 0)
      return ledger::reject("output " + std::to_string(i) + " has a zero amount");
    outs.push_back(std::move(s).value());
  }
  for (const CashState& s : ins) {
    Totals& t = group_of(s.amount.token);
    t.inputs.push_back(&s);
    if (!add(t.in, s.amount.quantity))
      return ledger::reject("input amounts of " + token_name(s.amount.token) + " overflow");
  }
  for (const CashState& s : outs) {
    Totals& t = group_of(s.amount.token);
    if (!add(t.out, s.amount.quantity))
      return ledger::reject("output amounts of " + token_name(s.amount.token) + " overflow");
  }

  std::vector<const ledger::Command*> issues, moves, exits;
  for (const ledger::Command* c : tx.commands_of(kCashContract)) {
    if (c->name == "Issue" || c->name == "Move") {
      if (!c->params.empty()) return ledger::reject(c->name + " takes no parameters");
      (c->name == "Issue" ? issues : moves).push_back(c);
    } else if (c->name == "Exit") {
      auto e = codec::decode_from_bytes<CashExit>(c->params);
      if (!e.ok()) return ledger::reject("Exit parameters do not decode: " + e.error().context);
      if (e->amount.quantity == 0) return ledger::reject("Exit of a zero amount");
      Totals* it = find_group(e->amount.token);
      if (it == nullptr || it->inputs.empty())
        return ledger::reject("Exit of " + token_name(e->amount.token) +
                              " but no such cash is consumed");
      if (!add(it->exited, e->amount.quantity)) return ledger::reject("exited amounts overflow");
      if (!c->has_signer(e->amount.token.issuer.party.owning_key))
        return ledger::reject("Exit of " + token_name(e->amount.token) +
                              " is not signed by its issuer");
      exits.push_back(c);
    } else {
      return ledger::reject("unknown command " + c->name);
    }
  }
  if (groups.empty()) {
    // Cash appears only as a reference, or only in commands.
    if (!issues.empty() || !moves.empty() || !exits.empty())
      return ledger::reject("a Cash command but no cash is consumed or created");
    return ok_status();
  }
  if (issues.empty() && moves.empty() && exits.empty())
    return ledger::reject("cash is consumed or created but no Cash command is given");

  bool issued_any = false;
  for (const Totals& t : groups) {
    std::string name = token_name(*t.token);
    if (t.inputs.empty()) {
      // Issuance: created from nothing, so the issuer must sign an Issue command.
      bool signed_issue = std::any_of(issues.begin(), issues.end(), [&](const ledger::Command* c) {
        return c->has_signer(t.token->issuer.party.owning_key);
      });
      if (!signed_issue)
        return ledger::reject("issuance of " + name +
                              " is not signed by the issuer in an Issue command");
      issued_any = true;
      continue;
    }
    // Compared without adding outputs and exits, whose sum could wrap around past 2^64.
    if (t.exited > t.in || t.in - t.exited != t.out) {
      return ledger::reject("amounts of " + name + " are not conserved: inputs " +
                            std::to_string(t.in) + ", outputs " + std::to_string(t.out) +
                            ", exited " + std::to_string(t.exited));
    }
    // Every owner of consumed cash signs: a Move, or the Exit when cash leaves the ledger.
    const auto& signing = t.exited > 0 ? exits : moves;
    for (size_t i = 0; i < t.inputs.size(); ++i) {
      const crypto::PublicKey& owner = t.inputs[i]->owner;
      bool ok = std::any_of(signing.begin(), signing.end(),
                            [&](const ledger::Command* c) { return c->has_signer(owner); });
      if (!ok)
        return ledger::reject("owner " + owner.describe() + " of consumed " + name +
                              " has not signed a " + (t.exited > 0 ? "Exit" : "Move") + " command");
    }
  }
  if (!issues.empty() && !issued_any)
    return ledger::reject("an Issue command but no cash is issued");
  if (!moves.empty() && ins.empty())
    return ledger::reject("a Move command but no cash is consumed");
  return ok_status();
}

Result<std::vector<crypto::PublicKey>> Cash::participants(
    const ledger::TransactionState& state) const {
  auto s = decode_cash(state);
  if (!s.ok()) return s.error();
  return std::vector<crypto::PublicKey>{s->owner};
}

ledger::TransactionState cash_output(const CashAmount& amount, const crypto::PublicKey& owner,
                                     const ledger::Party& notary) {
  ledger::TransactionState state;
  state.data = codec::encode_to_bytes(CashState{amount, owner});
  state.contract = std::string(kCashContract);
  state.notary = notary;
  state.constraint = ledger::AlwaysAcceptConstraint{};
  return state;
}

ledger::Command cash_issue(const crypto::PublicKey& issuer) {
  return ledger::Command{std::string(kCashContract), "Issue", {}, {issuer}};
}

ledger::Command cash_move(std::vector<crypto::PublicKey> owners) {
  std::sort(owners.begin(), owners.end());
  owners.erase(std::unique(owners.begin(), owners.end()), owners.end());
  return ledger::Command{std::string(kCashContract), "Move", {}, std::move(owners)};
}

ledger::Command cash_exit(const CashAmount& amount, std::vector<crypto::PublicKey> signers) {
  std::sort(signers.begin(), signers.end());
  signers.erase(std::unique(signers.begin(), signers.end()), signers.end());
  return ledger::Command{std::string(kCashContract), "Exit",
                         codec::encode_to_bytes(CashExit{amount}), std::move(signers)};
}

}  // namespace folio::contracts
