// FlowEngine: what operators and the node's RPC call: results, listings, the hospital's retry,
// kill, drain and forget, and the counters they read (docs/flows.md). The rest is in engine.cc.
#include "flow/engine.h"

#include <algorithm>
#include <utility>

#include "flow/engine_live.h"
#include "flow/tables.h"

namespace folio::flow {

// ---- Operators ------------------------------------------------------------------------------

std::optional<Result<Bytes>> FlowEngine::result(const FlowId& id) const {
  auto it = records_.find(id);
  if (it == records_.end()) {
    return Result<Bytes>(make_error(ErrorCode::kNotFound, "no flow " + id.short_hex()));
  }
  const Record& r = it->second;
  switch (r.status) {
    case FlowStatus::kRunning:
      return std::nullopt;
    case FlowStatus::kCompleted:
      return Result<Bytes>(r.result.value_or(Bytes{}));
    case FlowStatus::kHospitalised:
      return Result<Bytes>(make_error(ErrorCode::kInternal, "hospitalised: " + r.error));
    case FlowStatus::kKilled:
      return Result<Bytes>(make_error(ErrorCode::kConflict, "killed: " + r.error));
  }
  return std::nullopt;
}

FlowInfo FlowEngine::info(const FlowId& id, const Record& record) const {
  FlowInfo out;
  out.id = id;
  out.name = record.name;
  out.status = record.status;
  out.error = record.error;
  out.resident = record.live != nullptr;
  if (record.live) out.progress = record.live->context->progress();
  return out;
}

std::vector<FlowInfo> FlowEngine::flows() const {
  std::vector<FlowInfo> out;
  for (const auto& [id, record] : records_) out.push_back(info(id, record));
  return out;
}

std::optional<FlowInfo> FlowEngine::flow(const FlowId& id) const {
  auto it = records_.find(id);
  if (it == records_.end()) return std::nullopt;
  return info(id, it->second);
}

std::vector<FlowInfo> FlowEngine::hospitalised() const {
  std::vector<FlowInfo> out;
  for (const auto& [id, record] : records_) {
    if (record.status == FlowStatus::kHospitalised) out.push_back(info(id, record));
  }
  return out;
}

Status FlowEngine::retry(const FlowId& id) {
  auto it = records_.find(id);
  if (it == records_.end()) return make_error(ErrorCode::kNotFound, "no flow " + id.short_hex());
  Record& record = it->second;
  if (record.status != FlowStatus::kHospitalised) {
    return make_error(ErrorCode::kConflict, "flow " + id.short_hex() + " is " +
                                                std::string(to_string(record.status)) +
                                                ", not hospitalised");
  }
  FOLIO_TRY(db_.transact([&](storage::Session& tx) {
    return tables::set_status(tx, id, static_cast<int64_t>(FlowStatus::kRunning), "");
  }));
  record.status = FlowStatus::kRunning;
  record.error.clear();
  log("flow " + id.short_hex() + " " + record.name + ": retried from its journal");
  schedule(id);
  pump();
  return ok_status();
}

Status FlowEngine::kill(const FlowId& id, std::string reason) {
  auto it = records_.find(id);
  if (it == records_.end()) return make_error(ErrorCode::kNotFound, "no flow " + id.short_hex());
  Record& record = it->second;
  if (record.status != FlowStatus::kRunning && record.status != FlowStatus::kHospitalised) {
    return make_error(ErrorCode::kConflict, "flow " + id.short_hex() + " has already ended");
  }
  std::vector<net::Envelope> out;
  Error ended = make_error(ErrorCode::kIo, "flow killed: " + reason);
  FOLIO_TRY(db_.transact([&](storage::Session& tx) -> Status {
    out.clear();
    // Started while steps were held, and not stored yet: stored now, as killed.
    if (record.unsaved) FOLIO_TRY(tables::insert_flow(tx, *record.unsaved));
    FOLIO_ASSIGN_OR_RETURN(std::vector<tables::SessionRow> sessions, tables::sessions_of(tx, id));
    FOLIO_TRY(end_sessions(id, sessions, ended, tx, out));
    FOLIO_TRY(tables::set_status(tx, id, static_cast<int64_t>(FlowStatus::kKilled), reason));
    return tables::forget_progress(tx, id);
  }));
  record.live.reset();
  record.unsaved.reset();
  count_responder(record, -1);
  record.status = FlowStatus::kKilled;
  record.error = reason;
  set_timer(id, record, std::nullopt);
  stats_.failure_ends_sent += out.size();
  log("flow " + id.short_hex() + " " + record.name + ": killed: " + reason);
  hand_over(std::move(out));
  pump();
  return ok_status();
}

void FlowEngine::drain() {
  draining_ = true;
  log("draining: no new flows or sessions");
  pump();  // reports at once when nothing is running
}

Status FlowEngine::forget(const FlowId& id) {
  auto it = records_.find(id);
  if (it == records_.end()) return make_error(ErrorCode::kNotFound, "no flow " + id.short_hex());
  if (it->second.status != FlowStatus::kCompleted && it->second.status != FlowStatus::kKilled) {
    return make_error(ErrorCode::kConflict, "flow " + id.short_hex() + " has not ended");
  }
  records_.erase(it);
  return ok_status();
}

bool FlowEngine::drained() const {
  if (!draining_) return false;
  for (const auto& [id, record] : records_) {
    if (record.status == FlowStatus::kRunning) return false;
  }
  return true;
}

void FlowEngine::count_responder(const Record& record, int64_t delta) {
  if (record.peer.empty()) return;
  if (record.status != FlowStatus::kRunning && record.status != FlowStatus::kHospitalised) return;
  int64_t& n = responders_[record.peer];
  n += delta;
  FOLIO_ASSERT(n >= 0);
  if (n == 0) responders_.erase(record.peer);
}

int64_t FlowEngine::responders_of(const std::string& peer) const {
  auto it = responders_.find(peer);
  return it == responders_.end() ? 0 : it->second;
}

size_t FlowEngine::resident_frames() const {
  size_t n = 0;
  for (const auto& [id, record] : records_) n += record.live ? 1 : 0;
  return n;
}

}  // namespace folio::flow
