// ManageContracts: deploying a wasm checker through the singleton token.
#include "contracts/manage_contracts.h"

#include <gtest/gtest.h>

#include "testing/ledger_dsl.h"
#include "wasm/wat.h"

namespace folio::contracts {
namespace {

Bytes checker_zip(const std::string& name, const std::string& body = "(i32.const 0)") {
  std::vector<uint8_t> wasm;
  std::string error;
  EXPECT_TRUE(wasm::wat_to_wasm(R"((module (memory (export "memory") 1 1)
      (func (export "folio_verify") (result i32) )" +
                                    body + "))",
                                &wasm, &error))
      << error;
  auto zip = wasm::build_contract_attachment({name, "1.0", wasm::kAbiVersion, {}}, wasm);
  EXPECT_TRUE(zip.ok());
  return zip.value();
}

class ManageContractsTest : public ::testing::Test {
 protected:
  ManageContractsTest() : code(&ledger.registry()) {
    Status s = ledger.registry().add(
        std::make_unique<ManageContracts>(ledger.public_key("operator"), &code));
    EXPECT_TRUE(s.ok());
    ledger.transaction()
        .output("token", mc_state(McToken{0}, ledger.notary()))
        .command(mc_init(ledger.public_key("operator")))
        .verifies();
  }
  ledger::Attachment import(const Bytes& zip) {
    auto a = code.add(zip);
    EXPECT_TRUE(a.ok()) << a.error().message();
    ledger.attachments().add(a.value());
    return a.value();
  }
  testing::TxDsl create(const McCreate& p, uint64_t next = 1) {
    testing::TxDsl tx = ledger.transaction();
    tx.input("token")
        .output("token2", mc_state(McToken{next}, ledger.notary()))
        .output(mc_state(McContract{p.name, p.version, p.attachment}, ledger.notary()))
        .output(mc_state(McMapping{p.name, p.shard_count}, ledger.notary()))
        .command(mc_create(p, ledger.public_key("dev")));
    return tx;
  }

  testing::LedgerDsl ledger;
  wasm::WasmContractProvider code;
};

TEST_F(ManageContractsTest, InitNeedsTheOperator) {
  ledger.transaction()
      .output(mc_state(McToken{0}, ledger.notary()))
      .command(mc_init(ledger.public_key("mallory")))
      .fails_with("not signed by the network operator");
}

TEST_F(ManageContractsTest, CreateDeploysAValidatedCheckerAndPassesTheTokenOn) {
  ledger::Attachment a = import(checker_zip("acme.Bond"));
  McCreate p{"acme.Bond", "1.0", a.id, 4};
  create(p).attachment(a).verifies();
  // The token moved on: the next deployment consumes token2 with sequence 2.
  ledger::Attachment b = import(checker_zip("acme.Loan"));
  McCreate q{"acme.Loan", "1.0", b.id, 1};
  ledger.transaction()
      .input("token2")
      .output(mc_state(McToken{2}, ledger.notary()))
      .output(mc_state(McContract{q.name, q.version, q.attachment}, ledger.notary()))
      .output(mc_state(McMapping{q.name, q.shard_count}, ledger.notary()))
      .command(mc_create(q, ledger.public_key("dev")))
      .attachment(b)
      .verifies();
}

TEST_F(ManageContractsTest, CreateRefusesBrokenDeployments) {
  ledger::Attachment a = import(checker_zip("acme.Bond"));
  McCreate p{"acme.Bond", "1.0", a.id, 4};
  create(p).fails_with("the checker's attachment is not attached");
  create(p, 5).attachment(a).fails_with("create outputs exactly");
  McCreate wrong_name = p;
  wrong_name.name = "acme.Other";
  create(wrong_name).attachment(a).fails_with("does not declare contract acme.Other");
  McCreate no_shards = p;
  no_shards.shard_count = 0;
  create(no_shards).attachment(a).fails_with("shard_count must be");

  // A binary this node never imported (for instance one its sandbox refused) cannot be deployed.
  wasm::WasmContractProvider elsewhere;
  auto foreign = elsewhere.add(checker_zip("acme.Bond", "(i32.const 1)"));
  ASSERT_TRUE(foreign.ok());
  ledger.attachments().add(foreign.value());
  McCreate unvalidated{"acme.Bond", "1.0", foreign->id, 1};
  create(unvalidated).attachment(foreign.value()).fails_with("not imported and validated");
}

}  // namespace
}  // namespace folio::contracts
