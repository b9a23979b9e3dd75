// Coordinator: see coordinator.h.
#include "sbac/coordinator.h"

#include <algorithm>
#include <type_traits>
#include <variant>

namespace folio::sbac {

namespace {

// The index of alternative T in Variant, as the codec writes it.
template <class Variant, class T, size_t I = 0>
constexpr uint32_t variant_index() {
  if constexpr (std::is_same_v<std::variant_alternative_t<I, Variant>, T>) {
    return I;
  } else {
    return variant_index<Variant, T, I + 1>();
  }
}

}  // namespace

Coordinator::Coordinator(PrepareCommand command, std::optional<PrepareBinding> binding,
                         ShardMap map, CoordinatorConfig config, VerifyCache* shared_cache)
    : Coordinator(std::move(command), std::move(binding),
                  std::make_shared<const ShardMap>(std::move(map)), config, shared_cache) {
  FOLIO_ASSERT(map_->check_canonical().ok());
}

Coordinator::Coordinator(PrepareCommand command, std::optional<PrepareBinding> binding,
                         std::shared_ptr<const ShardMap> map, CoordinatorConfig config,
                         VerifyCache* shared_cache)
    : binding_(std::move(binding)),
      map_(std::move(map)),
      config_(config),
      own_cache_(shared_cache ? nullptr : std::make_unique<VerifyCache>(1024)),
      verify_cache_(shared_cache ? shared_cache : own_cache_.get()) {
  FOLIO_ASSERT(map_ != nullptr);
  FOLIO_ASSERT(config_.attempts_max >= 1);
  FOLIO_ASSERT(config_.resend_ticks >= 1);
  start_session(std::move(command));
}

void Coordinator::start_session(PrepareCommand command) {
  manager_.emplace(std::move(command), map_, verify_cache_);
  ++attempts_;
  waited_ = 0;
  accept_sent_ = false;
  sequence_reports_.clear();
  abort_accepted_.clear();
  prepared_signers_.clear();
  // A query with the first prepare: a session this client restarted may already be decided
  // (its repeated command is kept out of the log), and only a query brings the statements back.
  send_phase_commands(/*query=*/true);
}

Bytes Coordinator::encode_prepare() const {
  const PrepareCommand& command = manager_->prepare_command();
  bool single = manager_->concerned().size() == 1;
  // ShardCommand's encoding (a variant index, then the alternative's fields in order) written
  // from the parts, so the command and its binding (about 2 KB) are not copied into a
  // BoundPrepareCommand first. coordinator_test checks it against the codec's own encoding.
  codec::Writer w(binding_ ? 2048 : 256);
  if (binding_) {
    w.variant(variant_index<ShardCommand, BoundPrepareCommand>());
    codec::encode(w, command);    // BoundPrepareCommand::prepare
    codec::encode(w, *binding_);  // BoundPrepareCommand::binding
    codec::encode(w, single);     // BoundPrepareCommand::single_shard
  } else if (single) {
    w.variant(variant_index<ShardCommand, SingleShardCommand>());
    codec::encode(w, command);  // SingleShardCommand::prepare
  } else {
    w.variant(variant_index<ShardCommand, PrepareCommand>());
    codec::encode(w, command);
  }
  return w.take();
}

Bytes Coordinator::encode_accept() const {
  codec::Writer w(1024);
  w.variant(variant_index<ShardCommand, AcceptCommand>());
  codec::encode(w, *manager_->accept_command());
  return w.take();
}

void Coordinator::send_phase_commands(bool query) {
  const std::set<ShardId>& concerned = manager_->concerned();
  // Each form is encoded at most once per call, and only if some shard is sent it.
  std::optional<Bytes> accept;
  std::optional<Bytes> prepare;
  for (ShardId shard : concerned) {
    // The accept goes only to shards known to have sequenced the prepare: sequenced first, an
    // accept would be refused (no session) and then kept out of the log as a duplicate forever.
    // A shard that missed the prepare (an abort decided on another shard's vote) gets it again.
    if (manager_->accept_command() && shard_prepared(shard)) {
      if (!accept) accept = encode_accept();
      out_.push_back(CoordinatorSend{shard, SubmitCommand{*accept}});
    } else {
      if (!prepare) prepare = encode_prepare();
      out_.push_back(CoordinatorSend{shard, SubmitCommand{*prepare}});
    }
  }
  if (query) send_queries();
}

void Coordinator::send_queries() {
  const PrepareCommand& command = manager_->prepare_command();
  for (ShardId shard : manager_->concerned())
    out_.push_back(CoordinatorSend{shard, StatusQuery{SessionKey{command.tx_id, command.session}}});
}

bool Coordinator::shard_prepared(ShardId shard) const {
  auto it = prepared_signers_.find(shard);
  return it != prepared_signers_.end() && it->second.size() >= map_->shard(shard).vote_quorum();
}

void Coordinator::tick() {
  if (outcome_ != Outcome::kRunning) return;
  if (++waited_ < config_.resend_ticks) return;
  waited_ = 0;
  send_phase_commands(/*query=*/true);
}

bool Coordinator::abort_accepted_everywhere() const {
  for (ShardId shard : manager_->concerned()) {
    auto it = abort_accepted_.find(shard);
    if (it == abort_accepted_.end() || it->second.size() < map_->shard(shard).vote_quorum())
      return false;
  }
  return true;
}

void Coordinator::on_replica(const ReplicaMessage& message) {
  if (outcome_ != Outcome::kRunning) return;
  if (const auto* p = std::get_if<SignedPrepared>(&message)) {
    bool had_decision = manager_->accept_command().has_value();
    std::optional<ManagerRefusal> refusal = manager_->on_prepared(p->statement, p->signature);
    if (refusal == ManagerRefusal::kTooLate) {
      // After a commit decision, a late statement of a shard already known to have sequenced
      // the prepare changes nothing (its sequence_max matters only to a retry after an abort):
      // not worth a verification.
      if (manager_->accept_command() && manager_->accept_command()->verdict == Verdict::kCommit &&
          shard_prepared(p->statement.shard))
        return;
      // Counted no more, but it still tells that this shard sequenced the prepare.
      const Shard& members = map_->shard(p->statement.shard);
      if (!members.is_member(p->signature.by) ||
          !verify_signature(p->statement, p->signature, verify_cache_)) {
        ++refused_;
        return;
      }
    } else if (refusal) {
      ++refused_;
      return;
    }
    ShardId shard = p->statement.shard;
    bool was_prepared = shard_prepared(shard);
    prepared_signers_[shard].insert(p->signature.by);
    sequence_reports_[shard][p->signature.by] = p->statement.sequence_max;
    if (!had_decision && manager_->accept_command()) {
      waited_ = 0;
      send_phase_commands(/*query=*/true);
    } else if (had_decision && !was_prepared && shard_prepared(shard)) {
      out_.push_back(CoordinatorSend{shard, SubmitCommand{encode_accept()}});
    }
    return;
  }
  // Matched on the statement's signed session (the manager refuses another session's), never on
  // SignedAccepted::session, which anyone on the network may rewrite.
  const auto& a = std::get<SignedAccepted>(message);
  if (manager_->on_accepted(a.statement, a.signature)) {
    ++refused_;
    return;
  }
  if (a.statement.verdict == Verdict::kAbort)
    abort_accepted_[a.statement.shard].insert(a.signature.by);
  if (manager_->phase() == TransactionManager::Phase::kCommitted) {
    outcome_ = Outcome::kCommitted;
    return;
  }
  if (manager_->phase() != TransactionManager::Phase::kAborted || !abort_accepted_everywhere())
    return;
  if (attempts_ >= config_.attempts_max || session().value() >= kSequenceMax) {
    outcome_ = Outcome::kAborted;
    return;
  }
  // Byzcuit: retry above every object's sequence number, trusting a value only when f+1 replicas
  // of a shard reported it alike.
  Sequence next = session().next();
  for (const auto& [shard, reports] : sequence_reports_) {
    std::map<Sequence, uint32_t> tally;
    for (const auto& [by, value] : reports) ++tally[value];
    for (const auto& [value, count] : tally)
      if (count >= map_->shard(shard).vote_quorum()) next = std::max(next, value);
  }
  if (next.value() > kSequenceMax) next = Sequence(kSequenceMax);
  PrepareCommand command = manager_->prepare_command();
  command.session = next;
  start_session(std::move(command));
}

std::vector<CoordinatorSend> Coordinator::take_ready() { return std::exchange(out_, {}); }

}  // namespace folio::sbac
