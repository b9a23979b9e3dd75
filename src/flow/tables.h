// The flow engine's tables (docs/flows.md, "Tables"): every SQL statement of src/flow is here.
// Internal to src/flow. Functions take the open storage::Session of the caller's transaction.
//
//   flow_flows     one row per flow: name, arguments, role, status, checkpoint count, wake-up
//                  time, result or error. A few hundred bytes, whatever the flow's depth.
//   flow_journal   (flow_id, seq, kind, value): the values the flow obtained, append-only.
//   flow_sessions  (peer, session_id, local_initiator) -> flow_id: routes incoming messages.
//   flow_inbox     messages accepted for a flow and not yet consumed by it.
//   flow_outbox    messages committed and not yet acknowledged by their recipient.
//   flow_processed_from (sender, id, flow) of every message accepted for a flow that has not
//                  ended: de-duplication; a flow's marks are deleted when it ends (its session
//                  rows stay and turn every later message away). flow_processed: ids accepted
//                  before schema version 2, read only; marks before version 3 carry no flow and
//                  are deleted at a start with no flow live.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/hash.h"
#include "flow/wire.h"
#include "net/transport.h"
#include "storage/database.h"

namespace folio::flow::tables {

std::span<const storage::Migration> migrations();

Bytes blob(const crypto::Hash256& h);
// A column that holds a hash; kMalformed when its size is wrong.
Result<crypto::Hash256> hash_column(const storage::Row& row, size_t i);
// A BLOB column, NULL read as empty.
Bytes bytes_column(const storage::Row& row, size_t i);

struct FlowRow {
  crypto::Hash256 id;
  int64_t number = 0;
  std::string name;
  std::string initiated_by;  // responders: the initiating flow's name; empty otherwise
  Bytes args;
  std::string peer;          // responders: the initiator
  crypto::Hash256 session_id;  // responders: the initiating session
  int64_t status = 0;
  int64_t checkpoints = 0;
  std::optional<int64_t> wake_at_ms;
  std::optional<Bytes> result;
  std::string error;
};

Status insert_flow(storage::Session& s, const FlowRow& row);
Result<std::optional<FlowRow>> load_flow(storage::Session& s, const crypto::Hash256& id);
Result<std::vector<FlowRow>> load_flows(storage::Session& s);
Result<int64_t> max_flow_number(storage::Session& s);
Status update_checkpoint(storage::Session& s, const crypto::Hash256& id,
                         std::optional<int64_t> wake_at_ms);
Status set_status(storage::Session& s, const crypto::Hash256& id, int64_t status,
                  const std::string& error);
Status complete_flow(storage::Session& s, const crypto::Hash256& id, const Bytes& result);
// Deletes the journal, inbox and processed marks of a flow that has ended.
Status forget_progress(storage::Session& s, const crypto::Hash256& id);

Status insert_journal(storage::Session& s, const crypto::Hash256& id, int64_t seq,
                      wire::EntryKind kind, const Bytes& value);
struct JournalRow {
  wire::EntryKind kind;
  Bytes value;
};
// The journal in order; kInternal when its sequence has gaps or unknown kinds.
Result<std::vector<JournalRow>> load_journal(storage::Session& s, const crypto::Hash256& id);

Status insert_session(storage::Session& s, const std::string& peer,
                      const crypto::Hash256& session_id, bool local_initiator,
                      const crypto::Hash256& flow_id);
Result<std::optional<crypto::Hash256>> find_session(storage::Session& s, const std::string& peer,
                                                    const crypto::Hash256& session_id,
                                                    bool local_initiator);
struct SessionRow {
  std::string peer;
  crypto::Hash256 session_id;
  bool local_initiator;
};
Result<std::vector<SessionRow>> sessions_of(storage::Session& s, const crypto::Hash256& flow_id);

// Inserts unless a message with that (flow, session, seq) is already there; whether it inserted.
Result<bool> insert_inbox(storage::Session& s, const crypto::Hash256& flow_id,
                          const crypto::Hash256& session_id, uint64_t seq, wire::Kind kind,
                          const Bytes& payload);
Status delete_inbox(storage::Session& s, const crypto::Hash256& flow_id,
                    const crypto::Hash256& session_id, uint64_t seq);
struct InboxRow {
  crypto::Hash256 session_id;
  uint64_t seq;
  wire::Kind kind;
  Bytes payload;
};
Result<std::vector<InboxRow>> load_inbox(storage::Session& s, const crypto::Hash256& flow_id);
Result<int64_t> inbox_count(storage::Session& s, const crypto::Hash256& flow_id);
// The flows that have messages waiting.
Result<std::vector<crypto::Hash256>> flows_with_inbox(storage::Session& s);

Status insert_outbox(storage::Session& s, const net::Envelope& envelope,
                     const crypto::Hash256& flow_id, const crypto::Hash256& session_id);
Status delete_outbox(storage::Session& s, const net::MessageId& id);
struct OutboxRow {
  net::Envelope envelope;
  crypto::Hash256 flow_id;
  crypto::Hash256 session_id;
};
Result<std::vector<OutboxRow>> load_outbox(storage::Session& s);
Result<std::optional<OutboxRow>> find_outbox(storage::Session& s, const net::MessageId& id);

// Records `id` from `sender` as processed for flow `flow_id`; false when it already was (a
// duplicate). Keyed on the pair, so that one peer cannot shadow the ids of another's messages.
// `legacy`: also look in the read-only flow_processed of schema version 1 (false when that table
// is known to be empty).
Result<bool> mark_processed(storage::Session& s, const std::string& sender,
                            const net::MessageId& id, const crypto::Hash256& flow_id,
                            bool legacy = true);
// Rows of flow_processed_from (for tests and the operator).
Result<int64_t> processed_count(storage::Session& s);
// Flows running or hospitalised.
Result<int64_t> live_flow_count(storage::Session& s);
// Deletes the marks written before migration 3 (no flow id). REQUIRES: no flow is live, so every
// session they belong to has ended (its row turns messages away) or never existed.
Result<int64_t> delete_unlabelled_marks(storage::Session& s);
// Whether flow_processed (version 1's ids) holds any row.
Result<bool> any_legacy_processed(storage::Session& s);

}  // namespace folio::flow::tables
