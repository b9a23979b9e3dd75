// example.IOU, native and WebAssembly, through the same cases: each case runs against the native
// contract and against one wasm build, the C one (iou.c) or the C++ one (iou_cpp.cc).
#include "iou.h"

#include "twin.h"

namespace folio::examples {
namespace {

class IouTest : public ::testing::TestWithParam<const char*> {
 protected:
  IouTest() : twin(init(ledger), std::string(kIouContract), GetParam()) {}
  static testing::LedgerDsl& init(testing::LedgerDsl& l) {
    Status s = l.registry().add(std::make_unique<Iou>());
    EXPECT_TRUE(s.ok());
    return l;
  }
  ledger::TransactionState iou(std::string_view lender, std::string_view borrower,
                               uint64_t amount) {
    return iou_state({ledger.public_key(lender), ledger.public_key(borrower), amount},
                     ledger.notary());
  }
  ledger::Command create(std::vector<std::string_view> signers) {
    std::vector<crypto::PublicKey> keys;
    for (auto s : signers) keys.push_back(ledger.public_key(s));
    return iou_command("create", keys);
  }
  testing::LedgerDsl ledger;
  Twin twin;
};

TEST_P(IouTest, CreateNeedsBothPartiesAndAPositiveAmount) {
  twin.verifies(ledger.transaction()
                    .output("iou", iou("alice", "bob", 10))
                    .command(create({"alice", "bob"})));
  twin.fails_with(ledger.transaction().output(iou("alice", "bob", 10)).command(create({"alice"})),
                  "create must be signed by lender and borrower");
  twin.fails_with(
      ledger.transaction().output(iou("alice", "bob", 0)).command(create({"alice", "bob"})),
      "an IOU is for a positive amount");
  twin.fails_with(ledger.transaction().output(iou("alice", "alice", 5)).command(create({"alice"})),
                  "lender and borrower must differ");
  twin.fails_with(ledger.transaction()
                      .output(iou("alice", "bob", 1))
                      .output(iou("alice", "bob", 2))
                      .command(create({"alice", "bob"})),
                  "create makes exactly one IOU");
}

TEST_P(IouTest, SettleNeedsTheLender) {
  twin.verifies(ledger.transaction()
                    .output("iou", iou("alice", "bob", 10))
                    .command(create({"alice", "bob"})));
  twin.fails_with(
      ledger.transaction().input("iou").command(iou_command("settle", {ledger.public_key("bob")})),
      "settle must be signed by the lender");
  twin.fails_with(ledger.transaction()
                      .input("iou")
                      .output(iou("alice", "bob", 10))
                      .command(iou_command("settle", {ledger.public_key("alice")})),
                  "settle consumes one IOU and makes none");
  twin.verifies(ledger.transaction().input("iou").command(
      iou_command("settle", {ledger.public_key("alice")})));
}

TEST_P(IouTest, MalformedStateAndUnknownCommandAreRejected) {
  ledger::TransactionState junk = iou("alice", "bob", 1);
  junk.data = Bytes{1, 2, 3};
  twin.fails_with(ledger.transaction().output(junk).command(create({"alice", "bob"})),
                  "the output is not an IOU");
  twin.fails_with(ledger.transaction()
                      .output(iou("alice", "bob", 1))
                      .command(iou_command("forgive", {ledger.public_key("alice")})),
                  "unknown IOU command");
  ledger::Command with_params = create({"alice", "bob"});
  with_params.params = Bytes{0};
  twin.fails_with(ledger.transaction().output(iou("alice", "bob", 1)).command(with_params),
                  "IOU commands take no parameters");
  twin.fails_with(ledger.transaction()
                      .output(iou("alice", "bob", 1))
                      .command(create({"alice", "bob"}))
                      .command(create({"bob", "alice"})),
                  "exactly one IOU command is required");
}

INSTANTIATE_TEST_SUITE_P(CAndCpp, IouTest, ::testing::Values(FOLIO_IOU_WASM, FOLIO_IOU_CPP_WASM),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return info.index == 0 ? std::string("C") : std::string("Cpp");
                         });

}  // namespace
}  // namespace folio::examples
