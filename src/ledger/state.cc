#include "ledger/state.h"

namespace folio::ledger {
namespace {

bool printable(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

Status check_name(std::string_view what, std::string_view name, size_t max) {
  if (name.empty()) return make_error(ErrorCode::kMalformed, std::string(what) + " is empty");
  if (name.size() > max)
    return make_error(ErrorCode::kMalformed,
                      std::string(what) + " longer than " + std::to_string(max) + " bytes");
  if (!printable(name))
    return make_error(ErrorCode::kMalformed, std::string(what) + " holds control characters");
  if (!is_valid_utf8(name))
    return make_error(ErrorCode::kMalformed, std::string(what) + " is not valid UTF-8");
  return ok_status();
}

}  // namespace

std::string StateRef::describe() const {
  return tx_id.value().short_hex() + ":" + std::to_string(index);
}

Status Party::check_canonical() const { return check_name("party name", name, kPartyNameBytesMax); }

std::string describe(const AttachmentConstraint& constraint) {
  struct Visitor {
    std::string operator()(const AlwaysAcceptConstraint&) const { return "always-accept"; }
    std::string operator()(const HashConstraint& c) const {
      return "hash " + c.attachment.value().short_hex();
    }
    std::string operator()(const SignatureConstraint& c) const {
      return "signed by " + c.key.describe();
    }
  };
  return std::visit(Visitor{}, constraint);
}

Status TransactionState::check_canonical() const {
  if (data.size() > kStateDataBytesMax)
    return make_error(ErrorCode::kMalformed,
                      "state data longer than " + std::to_string(kStateDataBytesMax) + " bytes");
  return check_name("contract name", contract, kContractNameBytesMax);
}

Status Command::check_canonical() const {
  FOLIO_TRY(check_name("command contract", contract, kContractNameBytesMax));
  FOLIO_TRY(check_name("command name", name, kCommandNameBytesMax));
  if (params.size() > kCommandParamsBytesMax)
    return make_error(ErrorCode::kMalformed, "command params longer than " +
                                                 std::to_string(kCommandParamsBytesMax) + " bytes");
  if (signers.empty())
    return make_error(ErrorCode::kMalformed, "command " + name + " has no signers");
  if (signers.size() > kSignersPerCommandMax)
    return make_error(
        ErrorCode::kMalformed,
        "command " + name + " has more than " + std::to_string(kSignersPerCommandMax) + " signers");
  for (size_t i = 0; i < signers.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (signers[i] == signers[j])
        return make_error(ErrorCode::kMalformed,
                          "command " + name + " lists signer " + signers[i].describe() + " twice");
  return ok_status();
}

std::optional<std::string> TimeWindow::malformation() const {
  if (!from && !until) return "time window has neither a start nor an end";
  if (from && until && !(*from < *until))
    return "time window starts at " + std::to_string(from->value()) + " but ends at " +
           std::to_string(until->value()) + " (start must be before end)";
  return std::nullopt;
}

}  // namespace folio::ledger
