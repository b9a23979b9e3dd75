// CollectSignatures / SignTransaction: see collect_signatures.h and docs/node.md.
#include "node/flows/collect_signatures.h"

#include <algorithm>
#include <map>
#include <set>

namespace folio::node::flows {
namespace {

using flow::Flow;
using flow::FlowContext;
using flow::Session;

std::string bounded(std::string text) {
  if (text.size() > kRefusalBytesMax) text.resize(kRefusalBytesMax);
  return text;
}

bool has_signature(const ledger::SignedTransaction& stx, const crypto::PublicKey& key) {
  return std::any_of(stx.signatures.begin(), stx.signatures.end(),
                     [&](const ledger::TransactionSignature& s) { return s.by == key; });
}

// Asks every group's party, over its session, for its signatures and checks them.
// REQUIRES: sessions[i] is the session with groups[i].party.
Flow<ledger::SignedTransaction> collect_from(FlowContext& ctx, FlowServices* services,
                                             ledger::SignedTransaction stx,
                                             std::vector<SignerGroup> groups,
                                             std::vector<Session> sessions) {
  FOLIO_ASSERT(groups.size() == sessions.size());
  const ledger::TxId id = stx.id();
  const Bytes payload = ledger::signature_payload(id);
  for (size_t i = 0; i < groups.size(); ++i) {
    const SignerGroup& group = groups[i];
    Session session = sessions[i];
    ctx.step("Asking " + group.party);
    // The signatures collected so far travel with the transaction: the signer verifies them.
    TransactionMessage message;
    message.stx = stx;
    FOLIO_CO_TRY(co_await send_transaction(ctx, session, services, message));
    SignatureRequest request;
    request.keys = group.keys;
    FOLIO_CO_TRY(co_await session.send(request));
    FOLIO_CO_ASSIGN_OR_RETURN(SignatureReply reply, co_await session.receive<SignatureReply>());
    if (!reply.refusal.empty())
      co_return make_error(ErrorCode::kUnsupported,
                           group.party + " refused to sign: " + bounded(reply.refusal));
    if (reply.signatures.size() != group.keys.size())
      co_return make_error(ErrorCode::kVerification,
                           group.party + " returned " + std::to_string(reply.signatures.size()) +
                               " signatures for the " + std::to_string(group.keys.size()) +
                               " keys it was asked to sign with");
    std::set<crypto::PublicKey> asked(group.keys.begin(), group.keys.end());
    for (const ledger::TransactionSignature& signature : reply.signatures) {
      if (asked.erase(signature.by) != 1)
        co_return make_error(ErrorCode::kVerification,
                             group.party + " signed with key " + signature.by.describe() +
                                 ", which it was not asked to sign with (or twice)");
      if (!crypto::verify(signature.by, payload, signature.signature))
        co_return make_error(ErrorCode::kVerification,
                             group.party + "'s signature by " + signature.by.describe() +
                                 " is not valid for transaction " + id.value().short_hex());
      stx.signatures.push_back(signature);
    }
  }
  std::vector<crypto::PublicKey> still = missing_signers(stx);
  if (!still.empty())
    co_return make_error(ErrorCode::kVerification, "transaction " + id.value().short_hex() +
                                                       " still lacks the signature of " +
                                                       still.front().describe());
  ctx.step("Signed by every signer");
  co_return stx;
}

// What a signer decides: the reply to send and the transaction with its signatures.
struct Decision {
  ledger::SignedTransaction stx;
  SignatureReply reply;
};

Flow<Decision> decide(FlowContext& ctx, Session session, FlowServices* services,
                      TransactionCheck check) {
  FOLIO_CO_ASSIGN_OR_RETURN(Resolved resolved,
                            co_await receive_transaction(ctx, session, services));
  FOLIO_CO_ASSIGN_OR_RETURN(SignatureRequest request, co_await session.receive<SignatureRequest>());
  ctx.step("Checking");
  const std::string asker = session.party();
  const ledger::SignedTransaction& stx = resolved.top.stx;
  // One journalled value: a replay sends the same answer without running the check again.
  std::function<Result<SignatureReply>(storage::Session&)> answer =
      [&](storage::Session& db) -> Result<SignatureReply> {
    SignatureReply refused;
    auto refuse = [&](std::string why) {
      refused.refusal = bounded(std::move(why));
      if (refused.refusal.empty()) refused.refusal = "refused";
      return refused;
    };
    if (request.keys.empty() || request.keys.size() > kSignaturesPerPartyMax)
      return refuse("asked to sign with " + std::to_string(request.keys.size()) + " keys");
    std::vector<crypto::PublicKey> missing = missing_signers(stx);
    Status verified =
        verify_message(*services, resolved.top, resolved.dependencies, false, missing);
    if (!verified.ok()) return refuse(verified.error().message());
    bool asker_signed = false;
    for (const ledger::TransactionSignature& s : stx.signatures) {
      auto party = services->identities->party_by_key(s.by);
      if (party.ok() && party->name == asker) asker_signed = true;
    }
    if (!asker_signed) return refuse(asker + " has not signed the transaction it asks us to sign");
    std::set<crypto::PublicKey> seen;
    for (const crypto::PublicKey& key : request.keys) {
      if (!seen.insert(key).second) return refuse("asked twice for key " + key.describe());
      if (!std::binary_search(missing.begin(), missing.end(), key))
        return refuse("key " + key.describe() + " is not a missing signer of the transaction");
      if (!services->keys->is_ours(key))
        return refuse("key " + key.describe() + " is not this node's");
    }
    Status checked = check(db, stx);
    if (!checked.ok()) return refuse(checked.error().context);
    SignatureReply reply;
    for (const crypto::PublicKey& key : request.keys) {
      FOLIO_ASSIGN_OR_RETURN(ledger::TransactionSignature signature,
                             services->keys->sign_transaction(key, stx.id()));
      reply.signatures.push_back(signature);
    }
    return reply;
  };
  FOLIO_CO_ASSIGN_OR_RETURN(SignatureReply reply, ctx.record(answer));
  FOLIO_CO_TRY(co_await session.send(reply));
  Decision decision;
  decision.stx = stx;
  for (const ledger::TransactionSignature& s : reply.signatures)
    decision.stx.signatures.push_back(s);
  decision.reply = std::move(reply);
  co_return decision;
}

}  // namespace

std::vector<crypto::PublicKey> missing_signers(const ledger::SignedTransaction& stx) {
  std::vector<crypto::PublicKey> missing;
  for (const crypto::PublicKey& key : stx.required_signers())
    if (!has_signature(stx, key)) missing.push_back(key);
  std::sort(missing.begin(), missing.end());
  return missing;
}

Result<ledger::SignedTransaction> sign_own(FlowServices& services, ledger::SignedTransaction stx) {
  const ledger::TxId id = stx.id();
  for (const crypto::PublicKey& key : missing_signers(stx)) {
    if (!services.keys->is_ours(key)) continue;
    FOLIO_ASSIGN_OR_RETURN(ledger::TransactionSignature signature,
                           services.keys->sign_transaction(key, id));
    stx.signatures.push_back(signature);
  }
  return stx;
}

Result<std::vector<SignerGroup>> remote_signers(FlowContext& ctx, FlowServices* services,
                                                const ledger::SignedTransaction& stx) {
  std::function<Result<std::vector<SignerGroup>>(storage::Session&)> lookup =
      [&](storage::Session&) -> Result<std::vector<SignerGroup>> {
    std::map<std::string, std::vector<crypto::PublicKey>> by_party;
    for (const crypto::PublicKey& key : missing_signers(stx)) {
      if (services->keys->is_ours(key)) continue;
      auto party = services->identities->party_by_key(key);
      if (!party.ok()) {
        if (party.error().code == ErrorCode::kNotFound)
          return make_error(ErrorCode::kNotFound,
                            "no known party owns required signer " + key.describe());
        return party.error();
      }
      if (party->name == services->me.name)
        return make_error(ErrorCode::kUnsupported, "required signer " + key.describe() +
                                                       " is this node's but it cannot "
                                                       "sign with it");
      by_party[party->name].push_back(key);
    }
    std::vector<SignerGroup> groups;
    for (auto& [name, keys] : by_party) {
      if (keys.size() > kSignaturesPerPartyMax)
        return make_error(ErrorCode::kLimitExceeded, name + " would have to sign with " +
                                                         std::to_string(keys.size()) + " keys");
      groups.push_back(SignerGroup{name, std::move(keys)});
    }
    return groups;
  };
  return ctx.record(lookup);
}

Flow<ledger::SignedTransaction> collect_signatures(FlowContext& ctx, FlowServices* services,
                                                   ledger::SignedTransaction stx,
                                                   std::vector<Session> sessions) {
  ctx.step("Collecting signatures");
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::SignedTransaction own, sign_own(*services, std::move(stx)));
  FOLIO_CO_ASSIGN_OR_RETURN(std::vector<SignerGroup> groups, remote_signers(ctx, services, own));
  std::vector<Session> matched;
  for (const SignerGroup& group : groups) {
    auto it = std::find_if(sessions.begin(), sessions.end(),
                           [&](const Session& s) { return s.party() == group.party; });
    if (it == sessions.end())
      co_return make_error(ErrorCode::kInvalidArgument, group.party + " must sign (key " +
                                                            group.keys.front().describe() +
                                                            ") but no session with it was given");
    matched.push_back(*it);
  }
  co_return co_await collect_from(ctx, services, std::move(own), std::move(groups),
                                  std::move(matched));
}

Flow<ledger::SignedTransaction> sign_transaction(FlowContext& ctx, Session session,
                                                 FlowServices* services, TransactionCheck check) {
  FOLIO_CO_ASSIGN_OR_RETURN(Decision decision,
                            co_await decide(ctx, session, services, std::move(check)));
  if (!decision.reply.refusal.empty()) {
    // A step that ends in an error loses its messages: the refusal commits in a step of its own
    // (the shortest sleep) before the flow fails.
    FOLIO_CO_TRY(co_await ctx.sleep(std::chrono::milliseconds(1)));
    co_return make_error(ErrorCode::kUnsupported,
                         "refused to sign for " + session.party() + ": " + decision.reply.refusal);
  }
  co_return decision.stx;
}

Flow<SigningOutcome> sign_or_refuse(FlowContext& ctx, Session session, FlowServices* services,
                                    TransactionCheck check) {
  FOLIO_CO_ASSIGN_OR_RETURN(Decision decision,
                            co_await decide(ctx, session, services, std::move(check)));
  SigningOutcome outcome;
  outcome.id = decision.stx.id();
  outcome.signed_it = decision.reply.refusal.empty();
  outcome.refusal = decision.reply.refusal;
  co_return outcome;
}

Flow<ledger::SignedTransaction> CollectSignatures::call(FlowContext& ctx) {
  ctx.step("Signing");
  FOLIO_CO_ASSIGN_OR_RETURN(ledger::SignedTransaction own, sign_own(*services, stx));
  FOLIO_CO_ASSIGN_OR_RETURN(std::vector<SignerGroup> groups, remote_signers(ctx, services, own));
  std::vector<Session> sessions;
  for (const SignerGroup& group : groups) {
    if (!parties.empty() && std::find(parties.begin(), parties.end(), group.party) == parties.end())
      co_return make_error(ErrorCode::kInvalidArgument,
                           group.party + " must sign but is not among the counterparties given");
    sessions.push_back(ctx.initiate(group.party));
  }
  co_return co_await collect_from(ctx, services, std::move(own), std::move(groups),
                                  std::move(sessions));
}

Flow<SigningOutcome> SignTransactionResponder::call(FlowContext& ctx, Session session) {
  FlowServices* s = services;
  std::string asker = session.party();
  TransactionCheck check = [s, asker](storage::Session&,
                                      const ledger::SignedTransaction& stx) -> Status {
    if (!s->sign_policy)
      return make_error(ErrorCode::kUnsupported, "this node has no signing policy");
    return s->sign_policy(asker, stx);
  };
  co_return co_await sign_or_refuse(ctx, session, services, std::move(check));
}

}  // namespace folio::node::flows
