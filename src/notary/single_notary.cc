#include "notary/single_notary.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <map>
#include <set>

#include "ledger/verify.h"

namespace folio::notary {

ledger::Timestamp SystemClock::now() const {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return ledger::Timestamp(
      std::chrono::duration_cast<std::chrono::microseconds>(since_epoch).count());
}

namespace {

constexpr std::string_view kComponent = "notary";

const std::vector<storage::Migration>& migrations() {
  static const std::vector<storage::Migration> kMigrations = {
      {1,
       "uniqueness record: consumed states, notarised transactions, signed batches",
       {
           "CREATE TABLE notary_consumed_states (tx_id BLOB NOT NULL, output_index INTEGER NOT "
           "NULL, consuming_tx BLOB NOT NULL, batch INTEGER NOT NULL, PRIMARY KEY (tx_id, "
           "output_index))",
           "CREATE TABLE notary_transactions (tx_id BLOB PRIMARY KEY, batch INTEGER NOT NULL)",
           "CREATE TABLE notary_batches (batch INTEGER PRIMARY KEY, leaf_count INTEGER NOT NULL, "
           "root BLOB NOT NULL, notary_time INTEGER NOT NULL)",
       }},
  };
  return kMigrations;
}

storage::Value blob(const crypto::Hash256& h) {
  return storage::Value(Bytes(h.bytes.begin(), h.bytes.end()));
}

}  // namespace

// The batch's Merkle tree (crypto/merkle.h's shape: RFC 9162 §2.1) with every subtree root
// computed once, so that all of a batch's inclusion proofs cost O(n log n) rather than the O(n²)
// of crypto::merkle_prove per leaf (which rebuilds the sibling subtrees each time).
BatchTree::BatchTree(std::span<const crypto::Hash256> leaves)
    : leaves_(leaves.begin(), leaves.end()) {
  root_ = build(0, leaves_.size());
}

crypto::Hash256 BatchTree::build(size_t offset, size_t size) {
  if (size == 0) return crypto::Hash256{};
  if (size == 1) return leaves_[offset];
  const size_t k = std::bit_floor(size - 1);
  crypto::Hash256 node = crypto::merkle_node(build(offset, k), build(offset + k, size - k));
  roots_.emplace(std::make_pair(offset, size), node);
  return node;
}

const crypto::Hash256& BatchTree::subtree(size_t offset, size_t size) const {
  if (size == 1) return leaves_[offset];
  return roots_.at({offset, size});
}

crypto::MerkleProof BatchTree::prove(uint32_t index) const {
  FOLIO_ASSERT(index < leaves_.size());
  crypto::MerkleProof proof;
  proof.index = index;
  proof.leaf_count = static_cast<uint32_t>(leaves_.size());
  // Down from the root, noting each sibling; the proof lists them from the leaf upward.
  size_t offset = 0;
  size_t size = leaves_.size();
  size_t at = index;
  while (size > 1) {
    const size_t k = std::bit_floor(size - 1);
    if (at < k) {
      proof.siblings.push_back(subtree(offset + k, size - k));
      size = k;
    } else {
      proof.siblings.push_back(subtree(offset, k));
      offset += k;
      at -= k;
      size -= k;
    }
  }
  std::reverse(proof.siblings.begin(), proof.siblings.end());
  return proof;
}

namespace {

Result<TxId> tx_id_from(const storage::Row& row, size_t column) {
  if (row.is_null(column) || !std::holds_alternative<Bytes>(row.values[column]) ||
      row.blob(column).size() != crypto::Hash256::kSize)
    return make_error(ErrorCode::kInternal, "notary database holds a malformed transaction id");
  return TxId(crypto::Hash256::from(row.blob(column)));
}

Refusal refuse(RefusalReason reason, std::string message) {
  if (message.size() > kRefusalMessageBytesMax) message.resize(kRefusalMessageBytesMax);
  return Refusal{reason, std::move(message), {}};
}

// Whether `key` is a leaf of one of `signers`.
bool is_signer_leaf(const crypto::PublicKey& key, const std::vector<crypto::PublicKey>& signers) {
  for (const crypto::PublicKey& signer : signers) {
    if (signer == key) return true;
    if (signer.is_compound()) {
      for (const crypto::PublicKey& leaf : signer.leaf_keys())
        if (leaf == key) return true;
    }
  }
  return false;
}

std::optional<Refusal> check_requester(const TxId& id,
                                       const ledger::TransactionSignature& requester,
                                       const std::vector<crypto::PublicKey>& signers) {
  if (requester.by.is_compound())
    return refuse(RefusalReason::kBadRequester, "the requester must sign with a leaf key");
  if (!crypto::verify(requester.by, request_signature_payload(id), requester.signature))
    return refuse(RefusalReason::kBadRequester, "the requester's signature over transaction " +
                                                    id.value().short_hex() + " is invalid");
  if (!is_signer_leaf(requester.by, signers))
    return refuse(RefusalReason::kBadRequester,
                  "requester " + requester.by.describe() + " is not a signer of the transaction");
  return std::nullopt;
}

// No state twice among inputs, nor among references, nor in both.
std::optional<Refusal> check_distinct(const std::vector<ledger::StateRef>& inputs,
                                      const std::vector<ledger::StateRef>& references) {
  std::set<ledger::StateRef> seen;
  for (const ledger::StateRef& ref : inputs)
    if (!seen.insert(ref).second)
      return refuse(RefusalReason::kInvalidTransaction, "input " + ref.describe() + " repeats");
  for (const ledger::StateRef& ref : references)
    if (!seen.insert(ref).second)
      return refuse(RefusalReason::kInvalidTransaction,
                    "reference " + ref.describe() + " repeats or is also an input");
  return std::nullopt;
}

}  // namespace

// The outcome of the checks that need no database: a refusal, or what the uniqueness step needs.
struct SingleNotary::Checked {
  TxId tx_id;
  std::optional<Refusal> refusal;
  std::vector<ledger::StateRef> inputs;
  std::vector<ledger::StateRef> references;
  std::optional<ledger::TimeWindow> time_window;
};

SingleNotary::SingleNotary(storage::Database& db, crypto::PrivateKey key, SingleNotaryConfig config,
                           const Clock& clock, const ledger::ContractProvider* contracts,
                           const ledger::AttachmentLoader* attachments)
    : db_(db),
      key_(std::move(key)),
      config_(std::move(config)),
      clock_(clock),
      contracts_(contracts),
      attachments_(attachments) {}

Result<std::unique_ptr<SingleNotary>> SingleNotary::open(
    storage::Database& db, crypto::PrivateKey key, SingleNotaryConfig config, const Clock& clock,
    const ledger::ContractProvider* contracts, const ledger::AttachmentLoader* attachments) {
  if (config.identity.owning_key != key.public_key())
    return make_error(ErrorCode::kInvalidArgument, "notary " + config.identity.name +
                                                       ": its identity key is not the signing key");
  if (config.validating && (contracts == nullptr || attachments == nullptr))
    return make_error(ErrorCode::kInvalidArgument,
                      "a validating notary needs a contract provider and an attachment loader");
  if (config.batch_requests_max == 0 || config.batch_requests_max > kBatchLeavesMax)
    return make_error(ErrorCode::kInvalidArgument,
                      "batch_requests_max must be 1.." + std::to_string(kBatchLeavesMax));
  FOLIO_TRY(db.migrate(kComponent, migrations()));
  return std::unique_ptr<SingleNotary>(
      new SingleNotary(db, std::move(key), std::move(config), clock, contracts, attachments));
}

NotaryEntry SingleNotary::entry() const {
  return NotaryEntry{config_.identity, config_.validating, NotaryKind::kSingle, std::nullopt};
}

SingleNotary::Checked SingleNotary::check(const NotarisationRequest& request) const {
  if (const auto* nv = std::get_if<NonValidatingPayload>(&request.payload)) {
    if (config_.validating) {
      Checked out;
      out.tx_id = nv->tx.id;
      out.refusal = refuse(RefusalReason::kMalformedRequest,
                           "this notary validates: send the signed transaction and proved states");
      return out;
    }
    return check_non_validating(*nv, request.requester);
  }
  const auto& v = std::get<ValidatingPayload>(request.payload);
  if (!config_.validating) {
    Checked out;
    out.tx_id = v.tx.id();
    out.refusal = refuse(RefusalReason::kMalformedRequest,
                         "this notary does not validate: send a filtered transaction");
    return out;
  }
  return check_validating(v, request.requester);
}

SingleNotary::Checked SingleNotary::check_non_validating(
    const NonValidatingPayload& payload, const ledger::TransactionSignature& requester) const {
  using ledger::ComponentGroup;
  const ledger::FilteredTransaction& ftx = payload.tx;
  Checked out;
  out.tx_id = ftx.id;
  if (Status s = ftx.verify(); !s.ok()) {
    out.refusal = refuse(RefusalReason::kInvalidTransaction, s.error().context);
    return out;
  }
  for (ComponentGroup g :
       {ComponentGroup::kInputs, ComponentGroup::kReferences, ComponentGroup::kNotary,
        ComponentGroup::kTimeWindow, ComponentGroup::kSigners}) {
    if (Status s = ftx.check_all_visible(g); !s.ok()) {
      out.refusal = refuse(RefusalReason::kMalformedRequest, s.error().context);
      return out;
    }
  }
  auto inputs = ftx.revealed<ledger::StateRef>(ComponentGroup::kInputs);
  auto references = ftx.revealed<ledger::StateRef>(ComponentGroup::kReferences);
  auto notary = ftx.revealed<ledger::Party>(ComponentGroup::kNotary);
  auto window = ftx.revealed<ledger::TimeWindow>(ComponentGroup::kTimeWindow);
  auto signers = ftx.revealed<std::vector<crypto::PublicKey>>(ComponentGroup::kSigners);
  for (const Error* e :
       {inputs.ok() ? nullptr : &inputs.error(), references.ok() ? nullptr : &references.error(),
        notary.ok() ? nullptr : &notary.error(), window.ok() ? nullptr : &window.error(),
        signers.ok() ? nullptr : &signers.error()}) {
    if (e != nullptr) {
      out.refusal = refuse(RefusalReason::kMalformedRequest, e->context);
      return out;
    }
  }
  if (notary->empty() || notary->front().second != config_.identity) {
    out.refusal =
        refuse(RefusalReason::kWrongNotary, notary->empty() ? "the transaction names no notary"
                                                            : "the transaction names notary " +
                                                                  notary->front().second.name +
                                                                  ", not " + config_.identity.name);
    return out;
  }
  // A genuine transaction has at most one notary and one time window, and bounded groups; a tree
  // built to look otherwise is refused rather than half read.
  if (notary->size() > 1 || window->size() > 1) {
    out.refusal =
        refuse(RefusalReason::kMalformedRequest, "more than one notary or time window component");
    return out;
  }
  if (inputs->size() > ledger::kComponentsPerGroupMax ||
      references->size() > ledger::kComponentsPerGroupMax) {
    out.refusal = refuse(RefusalReason::kMalformedRequest, "too many inputs or references");
    return out;
  }
  for (auto& [index, ref] : *inputs) out.inputs.push_back(ref);
  for (auto& [index, ref] : *references) out.references.push_back(ref);
  if (!window->empty()) {
    out.time_window = window->front().second;
    if (auto bad = out.time_window->malformation()) {
      out.refusal = refuse(RefusalReason::kInvalidTransaction, *bad);
      return out;
    }
  }
  if (auto r = check_distinct(out.inputs, out.references)) {
    out.refusal = std::move(r);
    return out;
  }
  std::vector<crypto::PublicKey> all_signers;
  for (auto& [index, keys] : *signers)
    all_signers.insert(all_signers.end(), keys.begin(), keys.end());
  out.refusal = check_requester(out.tx_id, requester, all_signers);
  return out;
}

SingleNotary::Checked SingleNotary::check_validating(
    const ValidatingPayload& payload, const ledger::TransactionSignature& requester) const {
  const ledger::SignedTransaction& stx = payload.tx;
  Checked out;
  out.tx_id = stx.id();
  if (!stx.tx.notary || *stx.tx.notary != config_.identity) {
    out.refusal = refuse(RefusalReason::kWrongNotary,
                         !stx.tx.notary ? "the transaction names no notary"
                                        : "the transaction names notary " + stx.tx.notary->name +
                                              ", not " + config_.identity.name);
    return out;
  }
  if (auto r = check_distinct(stx.tx.inputs, stx.tx.references)) {
    out.refusal = std::move(r);
    return out;
  }
  if (auto r = check_requester(out.tx_id, requester, stx.required_signers())) {
    out.refusal = std::move(r);
    return out;
  }
  // Proved states: exactly the transaction's inputs and references, each proved against the id of
  // the transaction that created it.
  auto match = [&](const std::vector<ledger::StateRef>& refs,
                   const std::vector<ledger::ProvedState>& proved, std::string_view what,
                   ledger::MapStateLoader& loader) -> std::optional<Refusal> {
    if (proved.size() != refs.size())
      return refuse(RefusalReason::kMalformedRequest,
                    std::to_string(proved.size()) + " proved " + std::string(what) + " for " +
                        std::to_string(refs.size()) + " " + std::string(what));
    for (size_t i = 0; i < refs.size(); ++i) {
      if (proved[i].ref != refs[i])
        return refuse(RefusalReason::kMalformedRequest,
                      "proved " + std::string(what) + " " + std::to_string(i) + " is " +
                          proved[i].ref.describe() + ", the transaction has " + refs[i].describe());
      if (Status s = proved[i].verify(); !s.ok())
        return refuse(RefusalReason::kInvalidTransaction, s.error().context);
      loader.add(proved[i].ref, proved[i].state);
    }
    return std::nullopt;
  };
  ledger::MapStateLoader loader;
  if (auto r = match(stx.tx.inputs, payload.inputs, "inputs", loader)) {
    out.refusal = std::move(r);
    return out;
  }
  if (auto r = match(stx.tx.references, payload.references, "references", loader)) {
    out.refusal = std::move(r);
    return out;
  }
  ledger::VerifyOptions options;
  options.allowed_missing_signers.push_back(config_.identity.owning_key);
  ledger::Verdict verdict =
      ledger::verify_transaction(stx, loader, *attachments_, *contracts_, options);
  if (!verdict.ok()) {
    out.refusal = refuse(RefusalReason::kInvalidTransaction, verdict.describe());
    return out;
  }
  out.inputs = stx.tx.inputs;
  out.references = stx.tx.references;
  out.time_window = stx.tx.time_window;
  return out;
}

Result<std::vector<NotarisationResponse>> SingleNotary::process_batch(
    std::span<const NotarisationRequest> requests) {
  if (requests.size() > config_.batch_requests_max)
    return make_error(ErrorCode::kLimitExceeded, "a batch of " + std::to_string(requests.size()) +
                                                     " requests, above " +
                                                     std::to_string(config_.batch_requests_max));
  std::lock_guard<std::mutex> lock(process_mutex_);

  // Checks that need no database, outside the database transaction.
  std::vector<Checked> checked;
  checked.reserve(requests.size());
  for (const NotarisationRequest& request : requests) checked.push_back(check(request));

  const ledger::Timestamp now = clock_.now();
  // Per request: a refusal, or nothing (notarised). Filled inside the transaction, which may run
  // only once, but is reset at its start so that a retried function never sees stale values.
  std::vector<std::optional<Refusal>> outcomes;
  std::vector<TxId> notarised;  // the batch's leaves, in request order
  std::vector<crypto::Hash256> leaves;
  std::optional<BatchTree> tree;
  Status status = db_.transact([&](storage::Session& session) -> Status {
    outcomes.assign(checked.size(), std::nullopt);
    notarised.clear();
    leaves.clear();
    tree.reset();
    FOLIO_ASSIGN_OR_RETURN(storage::Rows last,
                           session.query("SELECT COALESCE(MAX(batch), 0) FROM notary_batches"));
    const int64_t batch = (last.empty() || last[0].is_null(0) ? 0 : last[0].integer(0)) + 1;
    std::map<ledger::StateRef, TxId> consumed_in_batch;
    std::set<TxId> notarised_in_batch;

    auto consumer = [&](const ledger::StateRef& ref) -> Result<std::optional<TxId>> {
      if (auto it = consumed_in_batch.find(ref); it != consumed_in_batch.end())
        return std::optional<TxId>(it->second);
      storage::Value params[] = {blob(ref.tx_id.value()),
                                 storage::Value(static_cast<int64_t>(ref.index))};
      FOLIO_ASSIGN_OR_RETURN(
          storage::Rows rows,
          session.query("SELECT consuming_tx FROM notary_consumed_states WHERE tx_id = ? AND "
                        "output_index = ?",
                        params));
      if (rows.empty()) return std::optional<TxId>();
      FOLIO_ASSIGN_OR_RETURN(TxId id, tx_id_from(rows[0], 0));
      return std::optional<TxId>(id);
    };

    for (size_t i = 0; i < checked.size(); ++i) {
      const Checked& c = checked[i];
      if (c.refusal) {
        outcomes[i] = c.refusal;
        continue;
      }
      bool already = notarised_in_batch.count(c.tx_id) > 0;
      if (!already) {
        storage::Value params[] = {blob(c.tx_id.value())};
        FOLIO_ASSIGN_OR_RETURN(
            storage::Rows rows,
            session.query("SELECT batch FROM notary_transactions WHERE tx_id = ?", params));
        already = !rows.empty();
      }
      if (already) {  // idempotent: the same transaction, notarised again
        notarised.push_back(c.tx_id);
        notarised_in_batch.insert(c.tx_id);
        continue;
      }
      if (c.time_window && !c.time_window->contains(now)) {
        outcomes[i] =
            refuse(RefusalReason::kTimeWindow, "the notary's time " + std::to_string(now.value()) +
                                                   " is outside the transaction's time window");
        continue;
      }
      std::vector<Conflict> conflicts;
      for (const ledger::StateRef& ref : c.inputs) {
        FOLIO_ASSIGN_OR_RETURN(std::optional<TxId> by, consumer(ref));
        if (by) conflicts.push_back(Conflict{ref, *by, false});
      }
      for (const ledger::StateRef& ref : c.references) {
        FOLIO_ASSIGN_OR_RETURN(std::optional<TxId> by, consumer(ref));
        if (by) conflicts.push_back(Conflict{ref, *by, true});
      }
      if (!conflicts.empty()) {
        Refusal r = refuse(RefusalReason::kConflict,
                           std::to_string(conflicts.size()) + " state(s) already consumed");
        r.conflicts = std::move(conflicts);
        outcomes[i] = std::move(r);
        continue;
      }
      for (const ledger::StateRef& ref : c.inputs) {
        storage::Value params[] = {blob(ref.tx_id.value()),
                                   storage::Value(static_cast<int64_t>(ref.index)),
                                   blob(c.tx_id.value()), storage::Value(batch)};
        FOLIO_TRY(session.exec(
            "INSERT INTO notary_consumed_states (tx_id, output_index, consuming_tx, batch) "
            "VALUES (?, ?, ?, ?)",
            params));
        consumed_in_batch.emplace(ref, c.tx_id);
      }
      storage::Value params[] = {blob(c.tx_id.value()), storage::Value(batch)};
      FOLIO_TRY(
          session.exec("INSERT INTO notary_transactions (tx_id, batch) VALUES (?, ?)", params));
      notarised.push_back(c.tx_id);
      notarised_in_batch.insert(c.tx_id);
    }
    if (!notarised.empty()) {
      for (const TxId& id : notarised) leaves.push_back(batch_leaf(id));
      tree.emplace(leaves);
      storage::Value params[] = {storage::Value(batch),
                                 storage::Value(static_cast<int64_t>(leaves.size())),
                                 blob(tree->root()), storage::Value(now.value())};
      FOLIO_TRY(session.exec(
          "INSERT INTO notary_batches (batch, leaf_count, root, notary_time) VALUES (?, ?, ?, ?)",
          params));
    }
    return ok_status();
  });
  if (!status.ok()) return status.error();

  // Committed: sign the batch root once and hand out the branches.
  FOLIO_ASSERT(leaves.size() == notarised.size());
  BatchCertificate common;
  if (!leaves.empty()) {
    common.notary_key = key_.public_key();
    common.leaf_count = static_cast<uint32_t>(leaves.size());
    common.root = tree->root();
    common.signature = key_.sign(batch_signature_payload(common.leaf_count, common.root));
  }
  std::vector<NotarisationResponse> responses;
  responses.reserve(checked.size());
  uint32_t leaf = 0;
  for (size_t i = 0; i < checked.size(); ++i) {
    NotarisationResponse response;
    response.tx_id = checked[i].tx_id;
    if (outcomes[i]) {
      response.outcome = std::move(*outcomes[i]);
    } else {
      FOLIO_ASSERT(leaf < leaves.size());
      FOLIO_ASSERT(notarised[leaf] == checked[i].tx_id);
      BatchCertificate certificate = common;
      certificate.branch = tree->prove(leaf);
      ++leaf;
      response.outcome = NotarisationCertificate(std::move(certificate));
    }
    responses.push_back(std::move(response));
  }
  FOLIO_ASSERT(leaf == leaves.size());
  return responses;
}

Result<std::vector<Bytes>> SingleNotary::process_encoded_batch(std::span<const Bytes> requests) {
  std::vector<NotarisationRequest> decoded;
  std::vector<std::optional<Refusal>> undecodable(requests.size());
  decoded.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    auto request = decode_request(requests[i]);
    if (request.ok()) {
      decoded.push_back(std::move(request).value());
    } else {
      undecodable[i] = refuse(RefusalReason::kMalformedRequest,
                              "the request does not decode: " + request.error().context);
    }
  }
  FOLIO_ASSIGN_OR_RETURN(std::vector<NotarisationResponse> responses, process_batch(decoded));
  std::vector<Bytes> out;
  out.reserve(requests.size());
  size_t next = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (undecodable[i]) {
      out.push_back(codec::encode_to_bytes(NotarisationResponse{TxId(), *undecodable[i]}));
    } else {
      FOLIO_ASSERT(next < responses.size());
      out.push_back(codec::encode_to_bytes(responses[next++]));
    }
  }
  FOLIO_ASSERT(next == responses.size());
  return out;
}

Ticket SingleNotary::enqueue(NotarisationRequest request) {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  Ticket ticket = next_ticket_;
  next_ticket_ = next_ticket_.next();
  queue_.emplace_back(ticket, std::move(request));
  return ticket;
}

size_t SingleNotary::queued() const {
  std::lock_guard<std::mutex> lock(queue_mutex_);
  return queue_.size();
}

Result<std::vector<std::pair<Ticket, NotarisationResponse>>> SingleNotary::flush() {
  std::vector<std::pair<Ticket, NotarisationRequest>> taken;
  {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    size_t n = std::min(queue_.size(), config_.batch_requests_max);
    for (size_t i = 0; i < n; ++i) {
      taken.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
  }
  std::vector<NotarisationRequest> requests;
  requests.reserve(taken.size());
  for (auto& [ticket, request] : taken) requests.push_back(request);
  auto responses = process_batch(requests);
  if (!responses.ok()) {
    std::lock_guard<std::mutex> lock(queue_mutex_);
    for (auto it = taken.rbegin(); it != taken.rend(); ++it) queue_.push_front(std::move(*it));
    return responses.error();
  }
  std::vector<std::pair<Ticket, NotarisationResponse>> out;
  out.reserve(taken.size());
  for (size_t i = 0; i < taken.size(); ++i)
    out.emplace_back(taken[i].first, std::move((*responses)[i]));
  return out;
}

Result<std::optional<TxId>> SingleNotary::consumed_by(const ledger::StateRef& state) {
  storage::Value params[] = {blob(state.tx_id.value()),
                             storage::Value(static_cast<int64_t>(state.index))};
  FOLIO_ASSIGN_OR_RETURN(
      storage::Rows rows,
      db_.query("SELECT consuming_tx FROM notary_consumed_states WHERE tx_id = ? AND "
                "output_index = ?",
                params));
  if (rows.empty()) return std::optional<TxId>();
  FOLIO_ASSIGN_OR_RETURN(TxId id, tx_id_from(rows[0], 0));
  return std::optional<TxId>(id);
}

}  // namespace folio::notary
