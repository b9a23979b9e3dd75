// The replicated-notary path of the node's notary client (see the header).
#include "node/flows/sharded_notary.h"

#include <algorithm>
#include <chrono>

namespace folio::node::flows {

using flow::Flow;
using flow::FlowContext;

bool sharded_notarises(const FlowServices& services, const ledger::WireTransaction& tx) {
  if (!tx.notary || tx.outputs.empty()) return false;
  auto entry = services.notary_entry(tx.notary->name);
  return entry.ok() && (entry->kind == notary::NotaryKind::kBft ||
                        entry->kind == notary::NotaryKind::kSharded);
}

namespace {
// One poll of the operation, as journalled.
struct PollOutcome {
  bool done = false;
  bool ok = false;
  uint8_t code = 0;
  std::string text;
  std::optional<notary::NotarisationCertificate> certificate;
  FOLIO_FIELDS(done, ok, code, text, certificate)
};
constexpr int64_t kPollFirstMs = 5;
constexpr int64_t kPollMaxMs = 100;
constexpr int kPollsMax = 200'000;
}  // namespace

Flow<notary::NotarisationCertificate> sharded_notarise(FlowContext& ctx, FlowServices* services,
                                                       ledger::SignedTransaction stx,
                                                       notary::NotaryEntry entry) {
  ReplicatedNotaryService* service = ctx.service<ReplicatedNotaryService>();
  if (service == nullptr || service->entry().identity.name != entry.identity.name)
    co_return make_error(ErrorCode::kUnsupported,
                         "this node runs no S-BAC client for notary " + entry.identity.name);
  ledger::TxId id = stx.id();
  ctx.step("Notarising with the shards");
  bool started = false;
  int64_t delay_ms = kPollFirstMs;
  for (int poll = 0; poll < kPollsMax; ++poll) {
    if (!started && !ctx.replaying()) {
      // Live (first run, or past the journal after a crash): start, or attach to, the operation.
      std::vector<ledger::ProvedState> proved;
      if (!stx.tx.inputs.empty() || !stx.tx.references.empty()) {
        FOLIO_CO_ASSIGN_OR_RETURN(notary::ValidatingPayload payload,
                                  notary::validating_payload(stx, services->transactions->lookup()));
        proved = std::move(payload.inputs);
        proved.insert(proved.end(), payload.references.begin(), payload.references.end());
      }
      service->start(stx, std::move(proved));
      started = true;
    }
    FOLIO_CO_TRY(co_await ctx.sleep(std::chrono::milliseconds(delay_ms)));
    delay_ms = std::min(delay_ms * 2, kPollMaxMs);
    std::function<Result<PollOutcome>(storage::Session&)> read =
        [service, &id](storage::Session&) -> Result<PollOutcome> {
      PollOutcome out;
      auto outcome = service->take(id);
      if (!outcome) return out;
      out.done = true;
      out.ok = outcome->ok();
      if (outcome->ok()) {
        out.certificate = outcome->value();
      } else {
        out.code = static_cast<uint8_t>(outcome->error().code);
        out.text = outcome->error().context;
      }
      return out;
    };
    FOLIO_CO_ASSIGN_OR_RETURN(PollOutcome outcome, ctx.record(read));
    if (!outcome.done) continue;
    if (!outcome.ok) {
      ErrorCode code = outcome.code <= static_cast<uint8_t>(ErrorCode::kInternal)
                           ? static_cast<ErrorCode>(outcome.code)
                           : ErrorCode::kInternal;
      co_return make_error(code, "notary " + entry.identity.name + " refused " +
                                     id.value().short_hex() + ": " + outcome.text);
    }
    if (!outcome.certificate)
      co_return make_error(ErrorCode::kInternal, "journalled outcome without a certificate");
    notary::TransactionFootprint footprint = notary::TransactionFootprint::of(stx.tx);
    Status certified =
        notary::verify_notarisation(id, *outcome.certificate, entry, &footprint);
    if (!certified.ok())
      co_return make_error(ErrorCode::kVerification, "the shards' certificate does not verify: " +
                                                         certified.error().message());
    ctx.step("Notarised");
    co_return *outcome.certificate;
  }
  co_return make_error(ErrorCode::kTimeout, "no outcome from the notary's shards");
}

}  // namespace folio::node::flows
