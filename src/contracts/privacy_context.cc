#include "contracts/privacy_context.h"

#include <string>

#include "zk/prng.h"

namespace folio::contracts {

zk::Transcript bound_transcript(std::string_view contract, std::string_view command,
                                std::span<const ledger::StateRef> inputs) {
  std::string domain = std::string(contract) + "/" + std::string(command) + "/v1";
  zk::Transcript t(domain);
  t.append_u64("inputs", inputs.size());
  for (const ledger::StateRef& ref : inputs) t.append("input", codec::encode_to_bytes(ref));
  return t;
}

std::vector<ledger::StateRef> input_refs(const ledger::LedgerTransaction& tx) {
  std::vector<ledger::StateRef> refs;
  refs.reserve(tx.inputs.size());
  for (const ledger::StateAndRef& in : tx.inputs) refs.push_back(in.ref);
  return refs;
}

ledger::PrivacySalt random_salt(zk::Prng& prng) {
  ledger::PrivacySalt salt;
  prng.fill(std::span<uint8_t>(salt.data(), salt.size()));
  return salt;
}

}  // namespace folio::contracts
