#include "contracts/timelock.h"

#include <algorithm>

namespace folio::contracts {
namespace {

bool any_signed(const std::vector<const ledger::Command*>& commands, std::string_view name,
                const crypto::PublicKey& key) {
  return std::any_of(commands.begin(), commands.end(), [&](const ledger::Command* c) {
    return c->name == name && c->has_signer(key);
  });
}

}  // namespace

Status TimeLock::verify(const ledger::LedgerTransaction& tx) const {
  std::vector<const ledger::Command*> commands = tx.commands_of(kTimeLockContract);
  for (const ledger::Command* c : commands)
    if (c->name != "Lock" && c->name != "Release")
      return ledger::reject("unknown command " + c->name);
  for (size_t i : tx.input_indexes(kTimeLockContract)) {
    auto lock = codec::decode_from_bytes<TimeLockState>(tx.inputs[i].state.data);
    if (!lock.ok())
      return ledger::reject("input " + std::to_string(i) +
                            " is not a time lock: " + lock.error().context);
    if (!tx.time_window || !tx.time_window->from || *tx.time_window->from < lock->until)
      return ledger::reject("input " + std::to_string(i) + " is locked until " +
                            std::to_string(lock->until.value()) +
                            "; the time window must start at or after that time");
    if (!any_signed(commands, "Release", lock->owner))
      return ledger::reject("input " + std::to_string(i) +
                            ": the lock's owner has not signed a Release command");
  }
  for (size_t i : tx.output_indexes(kTimeLockContract)) {
    auto lock = codec::decode_from_bytes<TimeLockState>(tx.outputs[i].data);
    if (!lock.ok())
      return ledger::reject("output " + std::to_string(i) +
                            " is not a time lock: " + lock.error().context);
    if (!tx.outputs[i].encumbrance)
      return ledger::reject("output " + std::to_string(i) +
                            " is a time lock that encumbers nothing");
    if (!any_signed(commands, "Lock", lock->owner))
      return ledger::reject("output " + std::to_string(i) +
                            ": the lock's owner has not signed a Lock command");
  }
  return ok_status();
}

Result<std::vector<crypto::PublicKey>> TimeLock::participants(
    const ledger::TransactionState& state) const {
  auto lock = codec::decode_from_bytes<TimeLockState>(state.data);
  if (!lock.ok()) return lock.error();
  return std::vector<crypto::PublicKey>{lock->owner};
}

ledger::TransactionState timelock_output(const TimeLockState& lock, const ledger::Party& notary) {
  ledger::TransactionState state;
  state.data = codec::encode_to_bytes(lock);
  state.contract = std::string(kTimeLockContract);
  state.notary = notary;
  state.constraint = ledger::AlwaysAcceptConstraint{};
  return state;
}

ledger::Command timelock_lock(const crypto::PublicKey& owner) {
  return ledger::Command{std::string(kTimeLockContract), "Lock", {}, {owner}};
}

ledger::Command timelock_release(const crypto::PublicKey& owner) {
  return ledger::Command{std::string(kTimeLockContract), "Release", {}, {owner}};
}

}  // namespace folio::contracts
