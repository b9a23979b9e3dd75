// Test-only: a vault over a fresh database of each backend, with the cash app registered, and
// helpers that build real, verified cash transactions with the ledger DSL.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "storage/testing/both_backends.h"
#include "testing/ledger_dsl.h"
#include "vault/cash.h"
#include "vault/vault.h"

namespace folio::vault::testing {

class VaultFixture : public storage::testing::BothBackends {
 protected:
  void SetUp() override {
    BothBackends::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(register_cash(registry_).ok());
    Result<std::unique_ptr<Vault>> opened = Vault::open(database(), registry_);
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    vault_ = std::move(opened).value();
  }
  void TearDown() override {
    vault_.reset();
    BothBackends::TearDown();
  }

  Vault& vault() { return *vault_; }

  contracts::CashAmount amount(uint64_t quantity, std::string currency = "GBP",
                               std::string_view issuer = "bank") {
    return contracts::CashAmount{
        quantity, contracts::IssuedCurrency{
                      contracts::PartyAndReference{ledger_.party(issuer), Bytes{1}}, currency}};
  }
  ledger::TransactionState cash(uint64_t quantity, std::string_view owner,
                                std::string currency = "GBP", std::string_view issuer = "bank") {
    return contracts::cash_output(amount(quantity, std::move(currency), issuer),
                                  ledger_.public_key(owner), ledger_.notary());
  }

  // A verified issuance of the given (owner, quantity) coins.
  ledger::WireTransaction issue(const std::vector<std::pair<std::string, uint64_t>>& coins,
                                std::string currency = "GBP", std::string_view issuer = "bank") {
    folio::testing::TxDsl tx = ledger_.transaction();
    for (const auto& [owner, quantity] : coins) tx.output(cash(quantity, owner, currency, issuer));
    tx.command(contracts::cash_issue(ledger_.public_key(issuer)));
    tx.verifies();
    return tx.wire();
  }

  // A verified move of the inputs (all owned by `from`) to the given outputs.
  ledger::WireTransaction move(const std::vector<ledger::StateRef>& inputs, std::string_view from,
                               const std::vector<std::pair<std::string, uint64_t>>& outputs,
                               std::string currency = "GBP") {
    folio::testing::TxDsl tx = ledger_.transaction();
    for (const ledger::StateRef& input : inputs) tx.input(input);
    for (const auto& [owner, quantity] : outputs) tx.output(cash(quantity, owner, currency));
    tx.command(contracts::cash_move({ledger_.public_key(from)}));
    tx.verifies();
    return tx.wire();
  }

  Relevance ours(std::initializer_list<std::string_view> names) {
    std::set<crypto::PublicKey> keys;
    for (std::string_view name : names) keys.insert(ledger_.public_key(name));
    return Relevance(std::move(keys));
  }

  VaultUpdate record(const ledger::WireTransaction& tx, const Relevance& relevance,
                     int64_t time) {
    VaultUpdate update;
    Status status = database().transact([&](storage::Session& session) -> Status {
      FOLIO_ASSIGN_OR_RETURN(update,
                             vault().record(session, tx, relevance, ledger::Timestamp(time)));
      return ok_status();
    });
    EXPECT_TRUE(status.ok()) << status.error().message();
    vault().publish(update);
    return update;
  }

  Page query(QueryCriteria criteria, PageSpec page = {}, std::vector<Sort> sort = {}) {
    Query q;
    q.criteria = std::move(criteria);
    q.page = page;
    q.sort = std::move(sort);
    Result<Page> result = vault().query(q);
    EXPECT_TRUE(result.ok()) << result.error().message();
    return result.ok() ? std::move(result).value() : Page{};
  }

  static uint64_t quantity(const VaultState& state) {
    Result<contracts::CashState> cash = contracts::decode_cash(state.state);
    EXPECT_TRUE(cash.ok());
    return cash.ok() ? cash->amount.quantity : 0;
  }
  static std::vector<uint64_t> quantities(const Page& page) {
    std::vector<uint64_t> out;
    for (const VaultState& state : page.states) out.push_back(quantity(state));
    return out;
  }

  folio::testing::LedgerDsl ledger_;
  VaultRegistry registry_;
  std::unique_ptr<Vault> vault_;
};

}  // namespace folio::vault::testing
