#include "node/flows/finality.h"

#include <algorithm>
#include <deque>
#include <map>

#include "ledger/verify.h"
#include "node/flows/sharded_notary.h"

namespace folio::node::flows {
namespace {

using flow::Flow;
using flow::FlowContext;
using flow::Session;
using ledger::TxId;

// The transactions a transaction depends on: the creators of its inputs and references, sorted,
// each once.
std::vector<TxId> dependencies_of(const ledger::WireTransaction& tx) {
  std::vector<TxId> ids;
  ids.reserve(tx.inputs.size() + tx.references.size());
  for (const ledger::StateRef& r : tx.inputs) ids.push_back(r.tx_id);
  for (const ledger::StateRef& r : tx.references) ids.push_back(r.tx_id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

// Outputs of downloaded (not yet recorded) transactions first, then the node's store.
class ChainStateLoader final : public ledger::StateLoader {
 public:
  ChainStateLoader(const TransactionStore& store,
                   const std::map<TxId, const ledger::WireTransaction*>& extra)
      : store_(store), extra_(extra) {}
  Result<ledger::TransactionState> load(const ledger::StateRef& ref) const override {
    auto it = extra_.find(ref.tx_id);
    if (it == extra_.end()) return store_.load_state(ref);
    if (ref.index >= it->second->outputs.size())
      return make_error(ErrorCode::kNotFound, "no output " + ref.describe());
    return it->second->outputs[ref.index];
  }

 private:
  const TransactionStore& store_;
  const std::map<TxId, const ledger::WireTransaction*>& extra_;
};

Status verify_with(FlowServices& services, const TransactionMessage& message,
                   const std::map<TxId, const ledger::WireTransaction*>& extra,
                   bool require_certificate, const std::vector<crypto::PublicKey>& allowed_missing) {
  ChainStateLoader states(*services.transactions, extra);
  StoreAttachmentLoader attachments(*services.attachments);
  ledger::VerifyOptions options;
  options.allowed_missing_signers = allowed_missing;
  TxId id = message.stx.id();
  ledger::Verdict verdict = ledger::verify_transaction(message.stx, states, attachments,
                                                       *services.contracts, options);
  if (!verdict.ok())
    return make_error(ErrorCode::kVerification,
                      "transaction " + id.value().short_hex() + ": " + verdict.describe());
  if (!require_certificate) return ok_status();
  if (!message.certificate)
    return make_error(ErrorCode::kVerification,
                      "transaction " + id.value().short_hex() + " has no notarisation certificate");
  if (!message.stx.tx.notary)
    return make_error(ErrorCode::kVerification,
                      "transaction " + id.value().short_hex() + " names no notary");
  FOLIO_ASSIGN_OR_RETURN(notary::NotaryEntry entry,
                         services.notary_entry(message.stx.tx.notary->name));
  notary::TransactionFootprint footprint = notary::TransactionFootprint::of(message.stx.tx);
  Status certified = notary::verify_notarisation(id, *message.certificate, entry, &footprint);
  if (!certified.ok())
    return make_error(ErrorCode::kVerification, "transaction " + id.value().short_hex() +
                                                    ": certificate: " + certified.error().message());
  return ok_status();
}

}  // namespace

// ---- Services -----------------------------------------------------------------------------------

void NotaryBatcher::submit(const crypto::Hash256& flow, Bytes request) {
  if (answered_.count(flow) != 0) return;
  pending_.emplace(flow, std::move(request));
}

std::optional<Bytes> NotaryBatcher::take(const crypto::Hash256& flow) {
  auto it = answered_.find(flow);
  if (it == answered_.end()) return std::nullopt;
  Bytes out = std::move(it->second);
  answered_.erase(it);
  return out;
}

Result<size_t> NotaryBatcher::flush() {
  if (pending_.empty()) return size_t{0};
  std::vector<crypto::Hash256> flows;
  std::vector<Bytes> requests;
  for (auto it = pending_.begin(); it != pending_.end() && flows.size() < batch_max_; ++it) {
    flows.push_back(it->first);
    requests.push_back(it->second);
  }
  FOLIO_ASSIGN_OR_RETURN(std::vector<Bytes> responses, notary_.process_encoded_batch(requests));
  FOLIO_ASSERT(responses.size() == flows.size());
  for (size_t i = 0; i < flows.size(); ++i) {
    pending_.erase(flows[i]);
    answered_[flows[i]] = std::move(responses[i]);
  }
  ++batches_;
  return flows.size();
}

Result<notary::NotaryEntry> FlowServices::notary_entry(const std::string& name) const {
  auto it = notaries.find(name);
  if (it == notaries.end())
    return make_error(ErrorCode::kNotFound, "notary " + name + " is not in the network parameters");
  return it->second;
}

// ---- Helpers ------------------------------------------------------------------------------------

bool needs_notary(const ledger::WireTransaction& tx) {
  return !tx.inputs.empty() || !tx.references.empty() || tx.time_window.has_value();
}

Status verify_message(FlowServices& services, const TransactionMessage& message,
                      const std::vector<TransactionMessage>& extra, bool require_certificate,
                      const std::vector<crypto::PublicKey>& allowed_missing) {
  std::map<TxId, const ledger::WireTransaction*> index;
  for (const TransactionMessage& m : extra) index[m.stx.id()] = &m.stx.tx;
  return verify_with(services, message, index, require_certificate, allowed_missing);
}

Status record_transaction(FlowContext& ctx, FlowServices* services,
                          const TransactionMessage& message) {
  ledger::Timestamp now(ctx.now_ms() * 1000);
  return ctx.write([services, &message, now](storage::Session& session) -> Status {
    FOLIO_TRY(services->transactions->record(session, message.stx, message.certificate));
    FOLIO_ASSIGN_OR_RETURN(vault::VaultUpdate update,
                           services->vault->record(session, message.stx, services->relevance(), now));
    if (services->tracking && !update.empty()) services->pending_updates.push_back(std::move(update));
    return ok_status();
  });
}

Result<std::vector<std::string>> participant_names(FlowServices& services,
                                                   const ledger::WireTransaction& tx) {
  std::vector<std::string> names;
  for (const ledger::TransactionState& output : tx.outputs) {
    auto described = services.vault->registry().describe(output);
    if (!described.ok()) continue;  // a contract without participants: nobody to tell
    for (const crypto::PublicKey& key : described->participants) {
      if (services.keys->is_relevant(key)) continue;
      auto party = services.identities->party_by_key(key);
      if (!party.ok()) {
        if (party.error().code == ErrorCode::kNotFound) continue;  // an unknown key: cannot send
        return party.error();
      }
      if (std::find(names.begin(), names.end(), party->name) == names.end())
        names.push_back(party->name);
    }
  }
  return names;
}

Result<ledger::SignedTransaction> sign_new(FlowServices& services, ledger::WireTransaction tx) {
  ledger::SignedTransaction stx;
  stx.tx = std::move(tx);
  FOLIO_ASSIGN_OR_RETURN(ledger::TransactionSignature signature,
                         services.keys->sign_transaction(services.me.owning_key, stx.id()));
  stx.signatures.push_back(signature);
  return stx;
}

// ---- Resolution ---------------------------------------------------------------------------------

Flow<bool> send_transaction(FlowContext& ctx, Session session, FlowServices* services,
                            TransactionMessage message) {
  (void)ctx;  // the session carries everything; kept for symmetry with receive_transaction
  // Only transactions in the dependency graph of what we sent are served.
  std::set<TxId> allowed;
  for (const TxId& id : dependencies_of(message.stx.tx)) allowed.insert(id);
  FOLIO_CO_TRY(co_await session.send(message));
  for (;;) {
    FOLIO_CO_ASSIGN_OR_RETURN(FetchRequest request, co_await session.receive<FetchRequest>());
    if (!request.refusal.empty()) {
      constexpr size_t kShownMax = 1024;
      co_return make_error(ErrorCode::kVerification,
                           session.party() + " refused the transaction: " +
                               request.refusal.substr(0, kShownMax));
    }
    if (request.ids.empty()) co_return true;
    if (request.ids.size() > kFetchIdsMax)
      co_return make_error(ErrorCode::kLimitExceeded,
                           session.party() + " asked for too many transactions at once");
    // The requested transactions, then their ancestors breadth-first, within the byte budget.
    FetchResponse response;
    size_t bytes = 0;
    std::deque<TxId> queue(request.ids.begin(), request.ids.end());
    std::set<TxId> included;
    size_t requested = request.ids.size();
    size_t prefetched = 0;
    for (size_t n = 0; !queue.empty(); ++n) {
      TxId id = queue.front();
      queue.pop_front();
      bool asked = n < requested;
      if (!included.insert(id).second) continue;
      if (asked && allowed.count(id) == 0)
        co_return make_error(ErrorCode::kVerification,
                             session.party() + " asked for transaction " + id.value().short_hex() +
                                 ", which is not a dependency of what was sent");
      auto stored = services->transactions->get(id);
      if (!stored.ok()) {
        // A dependency this node lacks is left out: the receiver, getting none of what it asked
        // for, refuses and so ends its side (instead of waiting for an answer that never comes),
        // and Finality resends once the dependency is here.
        if (asked && stored.error().code != ErrorCode::kNotFound) co_return stored.error();
        continue;
      }
      TransactionMessage m{stored->transaction, stored->certificate};
      size_t size = codec::encode_to_bytes(m).size();
      if (!asked && (bytes + size > kFetchResponseBytesMax || prefetched >= request.prefetch_max))
        break;
      if (!asked) ++prefetched;
      if (asked && bytes + size > kFetchResponseBytesMax && !response.transactions.empty()) {
        // The rest of the level waits for the next request.
        continue;
      }
      bytes += size;
      for (const TxId& dep : dependencies_of(m.stx.tx)) {
        allowed.insert(dep);
        queue.push_back(dep);
      }
      response.transactions.push_back(std::move(m));
    }
    FOLIO_CO_TRY(co_await session.send(response));
  }
}

Flow<Resolved> receive_transaction(FlowContext& ctx, Session session, FlowServices* services) {
  FOLIO_CO_ASSIGN_OR_RETURN(TransactionMessage top, co_await session.receive<TransactionMessage>());
  Resolved out;
  TxId top_id = top.stx.id();
  std::map<TxId, TransactionMessage> downloaded;
  std::vector<TxId> frontier = dependencies_of(top.stx.tx);
  std::set<TxId> known_in_store;
  uint32_t prefetch = kPrefetchFirst;
  for (;;) {
    std::vector<TxId> candidates;
    for (const TxId& id : frontier)
      if (downloaded.count(id) == 0 && known_in_store.count(id) == 0) candidates.push_back(id);
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    if (candidates.empty()) break;
    // Which of them this node already holds (verified earlier): journalled, so a replay takes the
    // same path.
    std::function<Result<std::vector<TxId>>(storage::Session&)> missing_in_store =
        [services, &candidates](storage::Session& tx) -> Result<std::vector<TxId>> {
      std::vector<TxId> missing;
      for (const TxId& id : candidates) {
        auto stored = services->transactions->get(tx, id);
        if (stored.ok()) continue;
        if (stored.error().code != ErrorCode::kNotFound) return stored.error();
        missing.push_back(id);
      }
      return missing;
    };
    FOLIO_CO_ASSIGN_OR_RETURN(std::vector<TxId> missing, ctx.record(missing_in_store));
    for (const TxId& id : candidates)
      if (!std::binary_search(missing.begin(), missing.end(), id)) known_in_store.insert(id);
    if (missing.empty()) break;
    if (downloaded.size() + missing.size() > kResolveTransactionsMax)
      co_return make_error(ErrorCode::kLimitExceeded,
                           "the back-chain of " + top_id.value().short_hex() + " has more than " +
                               std::to_string(kResolveTransactionsMax) + " transactions");
    if (missing.size() > kFetchIdsMax) missing.resize(kFetchIdsMax);
    if (out.round_trips >= kResolveRoundTripsMax)
      co_return make_error(ErrorCode::kLimitExceeded,
                           "the back-chain of " + top_id.value().short_hex() + " needs more than " +
                               std::to_string(kResolveRoundTripsMax) + " round trips");
    FetchRequest request;
    request.ids = missing;
    request.prefetch_max = prefetch;
    prefetch = std::min(prefetch * 2, kPrefetchMax);
    FOLIO_CO_TRY(co_await session.send(request));
    ++out.round_trips;
    FOLIO_CO_ASSIGN_OR_RETURN(FetchResponse response, co_await session.receive<FetchResponse>());
    if (response.transactions.empty())
      co_return make_error(ErrorCode::kVerification,
                           session.party() + " did not send the transactions it was asked for");
    frontier.clear();
    // Every round must bring at least one of the transactions asked for (an honest sender always
    // sends the first it holds, whatever its size): else a peer answering with transactions the
    // receiver already has, or with others, would keep it asking forever.
    size_t asked_arrived = 0;
    for (TransactionMessage& m : response.transactions) {
      TxId id = m.stx.id();
      if (downloaded.count(id) != 0) continue;
      if (std::binary_search(missing.begin(), missing.end(), id)) ++asked_arrived;
      for (const TxId& dep : dependencies_of(m.stx.tx)) frontier.push_back(dep);
      downloaded.emplace(id, std::move(m));
      if (downloaded.size() > kResolveTransactionsMax)
        co_return make_error(ErrorCode::kLimitExceeded, "too many transactions in a back-chain");
    }
    if (asked_arrived == 0)
      co_return make_error(ErrorCode::kVerification,
                           session.party() + " sent none of the " + std::to_string(missing.size()) +
                               " transactions it was asked for");
    // Asked for but not sent this time (the sender's byte budget): ask again.
    for (const TxId& id : missing)
      if (downloaded.count(id) == 0) frontier.push_back(id);
  }

  // Dependency order (depth-first post-order from the top), over what is reachable from the top.
  std::vector<TxId> order;
  {
    std::set<TxId> done;
    std::vector<std::pair<TxId, size_t>> stack;
    std::map<TxId, std::vector<TxId>> deps;
    auto deps_of = [&](const TxId& id) -> const std::vector<TxId>& {
      auto it = deps.find(id);
      if (it != deps.end()) return it->second;
      std::vector<TxId> d;
      auto m = downloaded.find(id);
      if (m != downloaded.end()) {
        for (const TxId& dep : dependencies_of(m->second.stx.tx))
          if (downloaded.count(dep) != 0) d.push_back(dep);
      }
      return deps.emplace(id, std::move(d)).first->second;
    };
    for (const TxId& root : dependencies_of(top.stx.tx)) {
      if (downloaded.count(root) == 0 || done.count(root) != 0) continue;
      stack.push_back({root, 0});
      std::set<TxId> on_stack{root};
      while (!stack.empty()) {
        auto& [id, next] = stack.back();
        const std::vector<TxId>& d = deps_of(id);
        if (next < d.size()) {
          TxId child = d[next++];
          if (done.count(child) != 0) continue;
          if (on_stack.count(child) != 0)
            co_return make_error(ErrorCode::kVerification, "a dependency cycle");
          on_stack.insert(child);
          stack.push_back({child, 0});
          continue;
        }
        done.insert(id);
        on_stack.erase(id);
        order.push_back(id);
        stack.pop_back();
      }
    }
  }

  std::map<TxId, const ledger::WireTransaction*> verified;
  for (const TxId& id : order) {
    const TransactionMessage& m = downloaded.at(id);
    FOLIO_CO_TRY(verify_with(*services, m, verified, needs_notary(m.stx.tx), {}));
    verified[id] = &m.stx.tx;
  }
  for (const TxId& id : order) out.dependencies.push_back(downloaded.at(id));
  const std::vector<TransactionMessage>& dependencies = out.dependencies;
  FOLIO_CO_TRY(ctx.write([services, &dependencies](storage::Session& tx) -> Status {
    for (const TransactionMessage& m : dependencies)
      FOLIO_TRY(services->transactions->record(tx, m.stx, m.certificate));
    return ok_status();
  }));
  out.top = std::move(top);
  FetchRequest done;  // no ids: resolution is over
  FOLIO_CO_TRY(co_await session.send(done));
  co_return out;
}

// ---- Notary client and service -----------------------------------------------------------------

Flow<notary::NotarisationCertificate> NotaryClient::call(FlowContext& ctx) {
  ctx.step("Requesting notarisation");
  if (!stx.tx.notary) co_return make_error(ErrorCode::kInvalidArgument, "no notary named");
  FOLIO_CO_ASSIGN_OR_RETURN(notary::NotaryEntry entry, services->notary_entry(stx.tx.notary->name));
  // A replicated (bft or sharded) notary: the S-BAC manager, as an external operation.
  if (entry.kind == notary::NotaryKind::kBft || entry.kind == notary::NotaryKind::kSharded)
    co_return co_await sharded_notarise(ctx, services, stx, entry);
  TxId id = stx.id();
  notary::RequestPayload payload;
  if (entry.validating) {
    FOLIO_CO_ASSIGN_OR_RETURN(payload,
                              notary::validating_payload(stx, services->transactions->lookup()));
  } else {
    payload = notary::non_validating_payload(stx.tx);
  }
  FOLIO_CO_ASSIGN_OR_RETURN(crypto::Signature signature,
                            services->keys->sign(services->me.owning_key,
                                                 notary::request_signature_payload(id)));
  notary::NotarisationRequest request;
  request.payload = std::move(payload);
  request.requester = ledger::TransactionSignature{services->me.owning_key, signature};
  Bytes encoded = codec::encode_to_bytes(request);
  Session session = ctx.initiate(entry.identity.name);
  FOLIO_CO_TRY(co_await session.send(encoded));
  FOLIO_CO_ASSIGN_OR_RETURN(Bytes raw, co_await session.receive<Bytes>());
  FOLIO_CO_ASSIGN_OR_RETURN(notary::NotarisationResponse response, notary::decode_response(raw));
  if (!(response.tx_id == id))
    co_return make_error(ErrorCode::kVerification, "the notary answered about another transaction");
  if (!response.notarised())
    co_return make_error(ErrorCode::kConflict, "notary " + entry.identity.name + " refused " +
                                                   id.value().short_hex() + ": " +
                                                   response.refusal().describe());
  notary::TransactionFootprint footprint = notary::TransactionFootprint::of(stx.tx);
  Status certified = notary::verify_notarisation(id, response.certificate(), entry, &footprint);
  if (!certified.ok())
    co_return make_error(ErrorCode::kVerification,
                         "the notary's certificate does not verify: " + certified.error().message());
  ctx.step("Notarised");
  co_return response.certificate();
}

Flow<bool> NotaryServiceResponder::call(FlowContext& ctx, Session session) {
  if (services->notary == nullptr)
    co_return make_error(ErrorCode::kUnsupported, "this node is not a notary");
  FOLIO_CO_ASSIGN_OR_RETURN(Bytes request, co_await session.receive<Bytes>());
  ctx.step("Waiting for the batch");
  // A request waits for the node's next batch; a wait that outlives a restart resubmits.
  constexpr int kPollsMax = 100'000;
  for (int poll = 0; poll < kPollsMax; ++poll) {
    if (!ctx.replaying()) services->notary->submit(ctx.id(), request);
    FOLIO_CO_TRY(co_await ctx.sleep(std::chrono::milliseconds(1)));
    std::function<Result<std::optional<Bytes>>(storage::Session&)> take =
        [this, &ctx](storage::Session&) -> Result<std::optional<Bytes>> {
      return services->notary->take(ctx.id());
    };
    FOLIO_CO_ASSIGN_OR_RETURN(std::optional<Bytes> answer, ctx.record(take));
    if (answer) {
      FOLIO_CO_TRY(co_await session.send(*answer));
      co_return true;
    }
  }
  co_return make_error(ErrorCode::kTimeout, "no batch answered the request");
}

// ---- Finality -----------------------------------------------------------------------------------

Flow<TransactionMessage> Finality::call(FlowContext& ctx) {
  TransactionMessage message;
  message.stx = stx;
  if (needs_notary(stx.tx) || sharded_notarises(*services, stx.tx)) {
    ctx.step("Notarising");
    NotaryClient client;
    client.stx = stx;
    client.services = services;
    FOLIO_CO_ASSIGN_OR_RETURN(notary::NotarisationCertificate certificate,
                              co_await ctx.sub_flow(client));
    message.certificate = std::move(certificate);
  }
  ctx.step("Recording");
  FOLIO_CO_TRY(record_transaction(ctx, services, message));
  // Journalled: a replay sends to the same parties even if the identities changed meanwhile.
  std::function<Result<std::vector<std::string>>(storage::Session&)> find_names =
      [this](storage::Session&) { return participant_names(*services, stx.tx); };
  FOLIO_CO_ASSIGN_OR_RETURN(std::vector<std::string> names, ctx.record(find_names));
  for (const std::string& r : recipients)
    if (r != services->me.name && std::find(names.begin(), names.end(), r) == names.end())
      names.push_back(r);
  ctx.step("Broadcasting");
  // Every participant must end up with the final transaction: one that refuses it (a session
  // rejected while it drains, a dependency it could not resolve yet) is sent it again later, on a
  // new session. Recording is idempotent on its side, so a resend never records anything twice.
  std::vector<std::string> pending = std::move(names);
  int64_t delay_ms = kFinalityResendFirstMs;
  for (uint32_t attempt = 1; !pending.empty(); ++attempt) {
    std::vector<std::string> refused;
    std::string last_error;
    for (const std::string& name : pending) {
      Session session = ctx.initiate(name);
      auto sent = co_await send_transaction(ctx, session, services, message);
      if (!sent.ok()) {
        last_error = name + ": " + sent.error().message();
        ctx.log("finality: attempt " + std::to_string(attempt) + " to " + last_error);
        refused.push_back(name);
      }
    }
    pending = std::move(refused);
    if (pending.empty()) break;
    // The transaction is final: giving up would leave a participant without it for good, so the
    // flow resends at the capped interval until every participant has it or the operator kills
    // the flow (Corda's finality waits the same way). The log says who still refuses and why.
    if (attempt % kFinalityWarnEvery == 0)
      ctx.log("finality: transaction " + stx.id().value().short_hex() + " is final but " +
              std::to_string(pending.size()) + " participant(s) still refuse it after " +
              std::to_string(attempt) + " attempts; last: " + last_error);
    ctx.step("Waiting to resend to " + std::to_string(pending.size()) + " participant(s)");
    FOLIO_CO_TRY(co_await ctx.sleep(std::chrono::milliseconds(delay_ms)));
    delay_ms = std::min(delay_ms * 2, kFinalityResendMaxMs);
    ctx.step("Resending");
  }
  co_return message;
}

Flow<FinalityOutcome> ReceiveFinality::call(FlowContext& ctx, Session session) {
  ctx.step("Resolving");
  auto resolved = co_await receive_transaction(ctx, session, services);
  // Journalled (as the refusal's text, empty: verified): the verification reads the transaction
  // store, and a replay must take the same branch.
  std::function<Result<std::string>(storage::Session&)> check =
      [&](storage::Session&) -> Result<std::string> {
    Status s = resolved.ok() ? verify_message(*services, resolved->top, resolved->dependencies,
                                              needs_notary(resolved->top.stx.tx))
                             : Status(resolved.error());
    if (s.ok()) return std::string();
    return s.error().message().empty() ? std::string("refused") : s.error().message();
  };
  FOLIO_CO_ASSIGN_OR_RETURN(std::string refused, ctx.record(check));
  Status verified = refused.empty() ? ok_status() : make_error(ErrorCode::kVerification, refused);
  FinalityOutcome outcome;
  if (!verified.ok()) {
    // The sender learns why and resends later. A refusal is an answer: the flow completes with it
    // (any peer can send transactions that do not verify; each would otherwise leave a flow and
    // its journal in the hospital), and its messages commit with that last step.
    ctx.step("Refusing");
    outcome.refusal = verified.error().message();
    if (outcome.refusal.empty()) outcome.refusal = "refused";
    if (outcome.refusal.size() > kRefusalTextMax) outcome.refusal.resize(kRefusalTextMax);
    if (resolved.ok()) outcome.id = resolved->top.stx.id();
    FetchRequest refusal;
    refusal.refusal = outcome.refusal;
    // A session that already failed cannot carry it; the outcome still says why.
    (void)co_await session.send(refusal);
    co_return outcome;
  }
  ctx.step("Recording");
  FOLIO_CO_TRY(record_transaction(ctx, services, resolved->top));
  outcome.id = resolved->top.stx.id();
  outcome.recorded = true;
  co_return outcome;
}

}  // namespace folio::node::flows
