#include "cli/json.h"

#include "contracts/cash.h"
#include "contracts/cscoin.h"
#include "contracts/timelock.h"

namespace folio::cli {
namespace {

template <class T>
std::optional<Json> try_decode(ByteView bytes) {
  auto v = codec::decode_from_bytes<T>(bytes);
  if (!v.ok()) return std::nullopt;
  return to_json(*v);
}

std::optional<Json> decode_state(const ledger::TransactionState& s) {
  if (s.contract == contracts::kCashContract) return try_decode<contracts::CashState>(s.data);
  if (s.contract == contracts::kCsCoinContract) return try_decode<contracts::CsCoinAccount>(s.data);
  if (s.contract == contracts::kTimeLockContract)
    return try_decode<contracts::TimeLockState>(s.data);
  return std::nullopt;
}

std::optional<Json> decode_params(const ledger::Command& c) {
  if (c.contract == contracts::kCashContract && c.name == "Exit")
    return try_decode<contracts::CashExit>(c.params);
  if (c.contract == contracts::kCsCoinContract && c.name == "transfer")
    return try_decode<contracts::CsCoinValueFlow>(c.params);
  if (c.contract == contracts::kCsCoinContract && c.name == "issue")
    return try_decode<contracts::CsCoinIssue>(c.params);
  return std::nullopt;
}

}  // namespace

Json key_json(const crypto::PublicKey& key) {
  Json out;
  if (!key.is_compound()) {
    out["scheme"] = std::string(crypto::to_string(key.scheme()));
    out["key"] = to_hex(key.leaf_bytes());
    return out;
  }
  out["threshold"] = key.threshold();
  Json members = Json::array();
  for (const auto& m : key.members())
    members.push_back(Json{{"weight", m.weight}, {"key", key_json(m.key)}});
  out["members"] = members;
  return out;
}

Json transaction_json(const ledger::WireTransaction& tx) {
  Json out;
  out["id"] = tx.id().value().hex();
  Json body = to_json(tx);
  for (size_t i = 0; i < tx.outputs.size(); ++i)
    if (auto d = decode_state(tx.outputs[i])) body["outputs"][i]["decoded"] = *d;
  for (size_t i = 0; i < tx.commands.size(); ++i)
    if (auto d = decode_params(tx.commands[i])) body["commands"][i]["decoded"] = *d;
  for (auto& [k, v] : body.items()) out[k] = v;
  return out;
}

Json transaction_file_json(const ledger::TxFileContent& content) {
  Json out;
  out["kind"] = std::string(ledger::tx_file_kind(content));
  if (const auto* wire = std::get_if<ledger::WireTransaction>(&content)) {
    out["transaction"] = transaction_json(*wire);
  } else if (const auto* stx = std::get_if<ledger::SignedTransaction>(&content)) {
    out["transaction"] = transaction_json(stx->tx);
    out["signatures"] = to_json(stx->signatures);
  } else {
    const auto& ftx = std::get<ledger::FilteredTransaction>(content);
    Status verified = ftx.verify();
    out["transaction"] = to_json(ftx);
    out["branches_verify"] = verified.ok();
    if (!verified.ok()) out["branch_error"] = verified.error().context;
  }
  return out;
}

}  // namespace folio::cli
