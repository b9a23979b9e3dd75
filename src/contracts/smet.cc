#include "contracts/smet.h"

#include <algorithm>

namespace folio::contracts {
namespace {

constexpr std::string_view kInit = "init";
constexpr std::string_view kCreateMeter = "createMeter";
constexpr std::string_view kAddReading = "addReading";
constexpr std::string_view kComputeBill = "computeBill";

Result<SMetState> decode_at(const ledger::TransactionState& state, const std::string& where) {
  auto s = codec::decode_from_bytes<SMetState>(state.data);
  if (!s.ok()) return ledger::reject(where + " is not an SMet state: " + s.error().context);
  return s;
}

template <class T>
const T* as(const SMetState& s) {
  return std::get_if<T>(&s);
}

std::vector<zk::Scalar> to_scalars(std::span<const uint64_t> values) {
  std::vector<zk::Scalar> out;
  out.reserve(values.size());
  for (uint64_t v : values) out.push_back(zk::Scalar::from_u64(v));
  return out;
}

// The transcript of a computeBill proof: the transaction's inputs, then the billed period. The
// tariffs, total and commitments enter as the linear proof's statement.
zk::Transcript bill_transcript(std::span<const ledger::StateRef> inputs, uint64_t period) {
  zk::Transcript t = bound_transcript(kSMetContract, kComputeBill, inputs);
  t.append_u64("period", period);
  return t;
}

Status verify_init(const ledger::Command& command, const std::vector<SMetState>& ins,
                   const std::vector<SMetState>& outs) {
  if (!command.params.empty()) return ledger::reject("init takes no parameters");
  if (!ins.empty()) return ledger::reject("init consumes no SMet state");
  if (outs.size() != 1 || as<SMetToken>(outs[0]) == nullptr)
    return ledger::reject("init creates exactly one SMet token");
  if (!command.has_signer(as<SMetToken>(outs[0])->owner))
    return ledger::reject("init is not signed by the token's owner");
  return ok_status();
}

Status verify_create_meter(const ledger::Command& command, const std::vector<SMetState>& ins,
                           const std::vector<SMetState>& outs) {
  if (!command.params.empty()) return ledger::reject("createMeter takes no parameters");
  if (ins.size() != 1 || as<SMetToken>(ins[0]) == nullptr)
    return ledger::reject("createMeter consumes exactly one SMet token");
  if (outs.size() != 2 || as<SMetToken>(outs[0]) == nullptr || as<SMetMeter>(outs[1]) == nullptr)
    return ledger::reject("createMeter creates [token, meter]");
  if (*as<SMetToken>(outs[0]) != *as<SMetToken>(ins[0]))
    return ledger::reject("createMeter changes the token");
  const SMetMeter& meter = *as<SMetMeter>(outs[1]);
  if (!meter.periods.empty()) return ledger::reject("a new meter has no readings");
  if (!command.has_signer(meter.key))
    return ledger::reject("createMeter is not signed by the meter's key " + meter.key.describe());
  // The token is the owner's capability to register meters (the utility provisions them).
  if (!command.has_signer(as<SMetToken>(ins[0])->owner))
    return ledger::reject("createMeter is not signed by the token's owner");
  return ok_status();
}

Status verify_add_reading(const ledger::Command& command, const std::vector<SMetState>& ins,
                          const std::vector<SMetState>& outs) {
  auto params = codec::decode_from_bytes<SMetAddReading>(command.params);
  if (!params.ok())
    return ledger::reject("addReading parameters do not decode: " + params.error().context);
  if (ins.size() != 1 || as<SMetMeter>(ins[0]) == nullptr)
    return ledger::reject("addReading consumes exactly one meter");
  if (outs.size() != 1 || as<SMetMeter>(outs[0]) == nullptr)
    return ledger::reject("addReading creates exactly one meter");
  const SMetMeter& before = *as<SMetMeter>(ins[0]);
  if (params->commitments.empty()) return ledger::reject("addReading adds at least one reading");
  if (params->commitments.size() > kSMetReadingsPerPeriodMax)
    return ledger::reject("addReading adds more than " + std::to_string(kSMetReadingsPerPeriodMax) +
                          " readings");
  if (!before.periods.empty() && params->period <= before.periods.back().period)
    return ledger::reject("period " + std::to_string(params->period) +
                          " is not after the meter's last period " +
                          std::to_string(before.periods.back().period));
  if (before.periods.size() >= kSMetOpenPeriodsMax)
    return ledger::reject("the meter already holds " + std::to_string(kSMetOpenPeriodsMax) +
                          " unbilled periods");
  SMetMeter expected = before;
  expected.periods.push_back(SMetPeriodReadings{params->period, params->commitments});
  if (*as<SMetMeter>(outs[0]) != expected)
    return ledger::reject(
        "the new meter is not the consumed meter with the period's readings appended");
  if (!command.has_signer(before.key))
    return ledger::reject("addReading is not signed by the meter's key " + before.key.describe());
  return ok_status();
}

Status verify_compute_bill(const ledger::LedgerTransaction& tx, const ledger::Command& command,
                           const std::vector<SMetState>& ins, const std::vector<SMetState>& outs) {
  auto params = codec::decode_from_bytes<SMetComputeBill>(command.params);
  if (!params.ok())
    return ledger::reject("computeBill parameters do not decode: " + params.error().context);
  if (ins.size() != 1 || as<SMetMeter>(ins[0]) == nullptr)
    return ledger::reject("computeBill consumes exactly one meter");
  if (outs.size() != 2 || as<SMetMeter>(outs[0]) == nullptr || as<SMetBill>(outs[1]) == nullptr)
    return ledger::reject("computeBill creates [meter, bill]");
  const SMetMeter& meter = *as<SMetMeter>(ins[0]);
  auto period =
      std::find_if(meter.periods.begin(), meter.periods.end(),
                   [&](const SMetPeriodReadings& p) { return p.period == params->period; });
  if (period == meter.periods.end())
    return ledger::reject("the meter holds no unbilled readings for period " +
                          std::to_string(params->period));
  if (params->tariffs.size() != period->commitments.size())
    return ledger::reject("computeBill gives " + std::to_string(params->tariffs.size()) +
                          " tariffs for " + std::to_string(period->commitments.size()) +
                          " readings");
  for (uint64_t t : params->tariffs)
    if (t > kSMetTariffMax)
      return ledger::reject("tariff " + std::to_string(t) + " exceeds the bound");
  SMetMeter expected_meter = meter;
  expected_meter.periods.erase(expected_meter.periods.begin() + (period - meter.periods.begin()));
  if (*as<SMetMeter>(outs[0]) != expected_meter)
    return ledger::reject("the new meter is not the consumed meter without the billed period");
  SMetBill expected_bill{meter.key, meter.owner, params->period, params->tariffs, params->total};
  if (*as<SMetBill>(outs[1]) != expected_bill)
    return ledger::reject(
        "the bill does not state the meter, period, tariffs and total of the command");
  if (!command.has_signer(meter.owner))
    return ledger::reject("computeBill is not signed by the meter's owner");
  std::vector<ledger::StateRef> refs = input_refs(tx);
  std::vector<zk::Scalar> tariffs = to_scalars(params->tariffs);
  Status proof = zk::verify_linear(bill_transcript(refs, params->period), period->commitments,
                                   tariffs, zk::Scalar::from_u64(params->total), params->proof);
  if (!proof.ok())
    return ledger::reject(
        "the bill's total " + std::to_string(params->total) +
        " is not proven from the meter's committed readings: " + proof.error().context);
  return ok_status();
}

}  // namespace

Status SMetMeter::check_canonical() const {
  if (info.size() > kSMetInfoBytesMax)
    return make_error(ErrorCode::kMalformed, "meter info is too long");
  if (periods.size() > kSMetOpenPeriodsMax)
    return make_error(ErrorCode::kMalformed, "meter holds too many periods");
  for (size_t i = 0; i < periods.size(); ++i) {
    if (periods[i].commitments.empty() || periods[i].commitments.size() > kSMetReadingsPerPeriodMax)
      return make_error(ErrorCode::kMalformed, "meter period with no or too many readings");
    if (i > 0 && periods[i].period <= periods[i - 1].period)
      return make_error(ErrorCode::kMalformed, "meter periods are not strictly increasing");
  }
  return ok_status();
}

Status SMet::verify(const ledger::LedgerTransaction& tx) const {
  std::vector<size_t> in_idx = tx.input_indexes(kSMetContract);
  std::vector<size_t> out_idx = tx.output_indexes(kSMetContract);
  std::vector<const ledger::Command*> commands = tx.commands_of(kSMetContract);
  if (in_idx.empty() && out_idx.empty() && commands.empty()) return ok_status();  // referenced only
  if (commands.size() != 1)
    return ledger::reject("a transaction carries exactly one SMet command, not " +
                          std::to_string(commands.size()));
  const ledger::Command& command = *commands[0];
  std::vector<SMetState> ins, outs;
  for (size_t i : in_idx) {
    FOLIO_ASSIGN_OR_RETURN(SMetState s,
                           decode_at(tx.inputs[i].state, "input " + std::to_string(i)));
    ins.push_back(std::move(s));
  }
  for (size_t i : out_idx) {
    FOLIO_ASSIGN_OR_RETURN(SMetState s, decode_at(tx.outputs[i], "output " + std::to_string(i)));
    outs.push_back(std::move(s));
  }
  if (command.name == kInit) return verify_init(command, ins, outs);
  if (command.name == kCreateMeter) return verify_create_meter(command, ins, outs);
  if (command.name == kAddReading) return verify_add_reading(command, ins, outs);
  if (command.name == kComputeBill) return verify_compute_bill(tx, command, ins, outs);
  return ledger::reject("unknown SMet command " + command.name);
}

Result<std::vector<crypto::PublicKey>> SMet::participants(
    const ledger::TransactionState& state) const {
  FOLIO_ASSIGN_OR_RETURN(SMetState s, decode_at(state, "state"));
  if (const auto* t = as<SMetToken>(s)) return std::vector<crypto::PublicKey>{t->owner};
  if (const auto* m = as<SMetMeter>(s)) return std::vector<crypto::PublicKey>{m->key, m->owner};
  return std::vector<crypto::PublicKey>{std::get<SMetBill>(s).owner};
}

// ---- Procedures -------------------------------------------------------------------------------

ledger::TransactionState smet_state(const SMetState& data, const ledger::Party& notary) {
  ledger::TransactionState state;
  state.data = codec::encode_to_bytes(data);
  state.contract = std::string(kSMetContract);
  state.notary = notary;
  state.constraint = ledger::AlwaysAcceptConstraint{};
  return state;
}

Result<SMetState> smet_decode(const ledger::TransactionState& state) {
  if (state.contract != kSMetContract)
    return make_error(ErrorCode::kInvalidArgument,
                      "state belongs to " + state.contract + ", not SMet");
  auto s = codec::decode_from_bytes<SMetState>(state.data);
  if (!s.ok()) return s.error();
  return s;
}

namespace {
Result<SMetMeter> meter_of(const ledger::StateAndRef& in) {
  FOLIO_ASSIGN_OR_RETURN(SMetState s, smet_decode(in.state));
  if (as<SMetMeter>(s) == nullptr)
    return make_error(ErrorCode::kInvalidArgument, "state is not an SMet meter");
  return std::get<SMetMeter>(std::move(s));
}

ledger::Command command(std::string_view name, Bytes params,
                        std::vector<crypto::PublicKey> signers) {
  return ledger::Command{std::string(kSMetContract), std::string(name), std::move(params),
                         std::move(signers)};
}
}  // namespace

ledger::WireTransaction smet_init(const crypto::PublicKey& owner, const ledger::Party& notary,
                                  zk::Prng& prng) {
  ledger::WireTransaction tx;
  tx.outputs.push_back(smet_state(SMetToken{owner}, notary));
  tx.commands.push_back(command(kInit, {}, {owner}));
  tx.notary = notary;
  tx.salt = random_salt(prng);
  return tx;
}

Result<ledger::WireTransaction> smet_create_meter(const ledger::StateAndRef& token,
                                                  const crypto::PublicKey& meter_key,
                                                  const crypto::PublicKey& owner, std::string info,
                                                  zk::Prng& prng) {
  FOLIO_ASSIGN_OR_RETURN(SMetState s, smet_decode(token.state));
  if (as<SMetToken>(s) == nullptr)
    return make_error(ErrorCode::kInvalidArgument, "state is not an SMet token");
  if (info.size() > kSMetInfoBytesMax)
    return make_error(ErrorCode::kInvalidArgument, "meter info is too long");
  ledger::WireTransaction tx;
  tx.inputs.push_back(token.ref);
  tx.outputs.push_back(token.state);
  tx.outputs.push_back(
      smet_state(SMetMeter{meter_key, owner, std::move(info), {}}, token.state.notary));
  std::vector<crypto::PublicKey> signers = {meter_key};
  const crypto::PublicKey& token_owner = std::get<SMetToken>(s).owner;
  if (token_owner != meter_key) signers.push_back(token_owner);
  tx.commands.push_back(command(kCreateMeter, {}, std::move(signers)));
  tx.notary = token.state.notary;
  tx.salt = random_salt(prng);
  return tx;
}

Result<std::pair<ledger::WireTransaction, SMetReadingSecrets>> smet_add_reading(
    const ledger::StateAndRef& meter_state, uint64_t period, std::span<const uint64_t> readings,
    zk::Prng& prng) {
  FOLIO_ASSIGN_OR_RETURN(SMetMeter meter, meter_of(meter_state));
  if (readings.empty() || readings.size() > kSMetReadingsPerPeriodMax)
    return make_error(
        ErrorCode::kInvalidArgument,
        "a period has between 1 and " + std::to_string(kSMetReadingsPerPeriodMax) + " readings");
  if (!meter.periods.empty() && period <= meter.periods.back().period)
    return make_error(ErrorCode::kInvalidArgument,
                      "period " + std::to_string(period) + " is not after the meter's last period");
  SMetReadingSecrets secrets{period, {}};
  SMetAddReading params{period, {}};
  for (uint64_t reading : readings) {
    zk::Opening o{zk::Scalar::from_u64(reading), zk::random_scalar(prng)};
    params.commitments.push_back(zk::pedersen_commit(o.value, o.blinding));
    secrets.openings.push_back(o);
  }
  meter.periods.push_back(SMetPeriodReadings{period, params.commitments});
  ledger::WireTransaction tx;
  tx.inputs.push_back(meter_state.ref);
  tx.outputs.push_back(smet_state(meter, meter_state.state.notary));
  tx.commands.push_back(command(kAddReading, codec::encode_to_bytes(params), {meter.key}));
  tx.notary = meter_state.state.notary;
  tx.salt = random_salt(prng);
  return std::make_pair(std::move(tx), std::move(secrets));
}

Result<ledger::WireTransaction> smet_compute_bill(const ledger::StateAndRef& meter_state,
                                                  const SMetReadingSecrets& secrets,
                                                  std::span<const uint64_t> tariffs,
                                                  zk::Prng& prng) {
  FOLIO_ASSIGN_OR_RETURN(SMetMeter meter, meter_of(meter_state));
  auto period =
      std::find_if(meter.periods.begin(), meter.periods.end(),
                   [&](const SMetPeriodReadings& p) { return p.period == secrets.period; });
  if (period == meter.periods.end())
    return make_error(ErrorCode::kNotFound,
                      "the meter holds no readings for period " + std::to_string(secrets.period));
  if (tariffs.size() != period->commitments.size() ||
      secrets.openings.size() != period->commitments.size())
    return make_error(ErrorCode::kInvalidArgument, "need one tariff and one opening per reading");
  // The total over the integers; bounded readings (meter) and tariffs keep it within 128 bits.
  unsigned __int128 total = 0;
  for (size_t i = 0; i < tariffs.size(); ++i) {
    if (tariffs[i] > kSMetTariffMax)
      return make_error(ErrorCode::kInvalidArgument, "tariff exceeds the bound");
    if (zk::pedersen_commit(secrets.openings[i].value, secrets.openings[i].blinding) !=
        period->commitments[i])
      return make_error(ErrorCode::kInvalidArgument,
                        "opening " + std::to_string(i) + " does not match the meter");
    const auto& value = secrets.openings[i].value.bytes();
    if (std::any_of(value.begin() + 8, value.end(), [](uint8_t b) { return b != 0; }))
      return make_error(ErrorCode::kInvalidArgument,
                        "reading " + std::to_string(i) + " exceeds 64 bits");
    uint64_t reading = 0;
    for (int b = 7; b >= 0; --b)
      reading = (reading << 8) | secrets.openings[i].value.bytes()[static_cast<size_t>(b)];
    total += static_cast<unsigned __int128>(reading) * tariffs[i];
  }
  if (total > UINT64_MAX)
    return make_error(ErrorCode::kInvalidArgument, "the bill's total exceeds 64 bits");
  SMetComputeBill params{secrets.period,
                         std::vector<uint64_t>(tariffs.begin(), tariffs.end()),
                         static_cast<uint64_t>(total),
                         {}};
  std::vector<ledger::StateRef> refs = {meter_state.ref};
  std::vector<zk::Scalar> tariff_scalars = to_scalars(tariffs);
  params.proof =
      zk::prove_linear(bill_transcript(refs, secrets.period), period->commitments, tariff_scalars,
                       zk::Scalar::from_u64(params.total), secrets.openings, prng);
  SMetBill bill{meter.key, meter.owner, secrets.period, params.tariffs, params.total};
  meter.periods.erase(period);
  ledger::WireTransaction tx;
  tx.inputs.push_back(meter_state.ref);
  tx.outputs.push_back(smet_state(meter, meter_state.state.notary));
  tx.outputs.push_back(smet_state(bill, meter_state.state.notary));
  tx.commands.push_back(command(kComputeBill, codec::encode_to_bytes(params), {meter.owner}));
  tx.notary = meter_state.state.notary;
  tx.salt = random_salt(prng);
  return tx;
}

}  // namespace folio::contracts
