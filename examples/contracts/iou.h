// example.IOU: the native C++ twin of examples/contracts/iou.c, the smallest useful contract.
//
// An IOU records that a borrower owes a lender an amount. Commands (params empty):
//   create  no IOU inputs, one IOU output; amount > 0, lender and borrower differ, both sign.
//   settle  one IOU input, no IOU outputs; the lender signs (acknowledging repayment).
// One IOU command per transaction. The wasm twin gives the same verdicts with the same reasons;
// iou_test.cc runs every case through both. Thread-safe (no mutable state).
#pragma once

#include "ledger/contract.h"

namespace folio::examples {

constexpr std::string_view kIouContract = "example.IOU";

struct IouState {
  crypto::PublicKey lender;
  crypto::PublicKey borrower;
  uint64_t amount = 0;
  FOLIO_FIELDS(lender, borrower, amount)
};

class Iou : public ledger::Contract {
 public:
  std::string_view name() const override { return kIouContract; }
  Status verify(const ledger::LedgerTransaction& tx) const override;
};

ledger::TransactionState iou_state(const IouState& iou, const ledger::Party& notary);
ledger::Command iou_command(std::string_view name, std::vector<crypto::PublicKey> signers);

}  // namespace folio::examples
