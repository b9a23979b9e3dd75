#include <algorithm>

#include "iou.h"

namespace folio::examples {

Status Iou::verify(const ledger::LedgerTransaction& tx) const {
  std::vector<size_t> ins = tx.input_indexes(kIouContract);
  std::vector<size_t> outs = tx.output_indexes(kIouContract);
  std::vector<const ledger::Command*> commands = tx.commands_of(kIouContract);
  if (commands.size() != 1) return ledger::reject("exactly one IOU command is required");
  const ledger::Command& command = *commands[0];
  auto signs = [&](const crypto::PublicKey& key) {
    return std::find(command.signers.begin(), command.signers.end(), key) != command.signers.end();
  };
  if (!command.params.empty()) return ledger::reject("IOU commands take no parameters");
  if (command.name == "create") {
    if (!ins.empty()) return ledger::reject("create consumes no IOU");
    if (outs.size() != 1) return ledger::reject("create makes exactly one IOU");
    auto iou = codec::decode_from_bytes<IouState>(tx.outputs[outs[0]].data);
    if (!iou.ok()) return ledger::reject("the output is not an IOU");
    if (iou->amount == 0) return ledger::reject("an IOU is for a positive amount");
    if (iou->lender == iou->borrower) return ledger::reject("lender and borrower must differ");
    if (!signs(iou->lender) || !signs(iou->borrower))
      return ledger::reject("create must be signed by lender and borrower");
    return ok_status();
  }
  if (command.name == "settle") {
    if (ins.size() != 1 || !outs.empty())
      return ledger::reject("settle consumes one IOU and makes none");
    auto iou = codec::decode_from_bytes<IouState>(tx.inputs[ins[0]].state.data);
    if (!iou.ok()) return ledger::reject("the input is not an IOU");
    if (!signs(iou->lender)) return ledger::reject("settle must be signed by the lender");
    return ok_status();
  }
  return ledger::reject("unknown IOU command");
}

ledger::TransactionState iou_state(const IouState& iou, const ledger::Party& notary) {
  ledger::TransactionState state;
  state.data = codec::encode_to_bytes(iou);
  state.contract = std::string(kIouContract);
  state.notary = notary;
  state.constraint = ledger::AlwaysAcceptConstraint{};
  return state;
}

ledger::Command iou_command(std::string_view name, std::vector<crypto::PublicKey> signers) {
  return ledger::Command{std::string(kIouContract), std::string(name), {}, std::move(signers)};
}

}  // namespace folio::examples
