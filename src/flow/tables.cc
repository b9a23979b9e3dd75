#include "flow/tables.h"

namespace folio::flow::tables {
namespace {

using storage::Value;

// Sequence numbers are unsigned on the wire and INTEGER (signed 64-bit) in SQL: stored bit for
// bit, so kOutOfBand reads back as -1 and round-trips.
int64_t to_sql(uint64_t v) { return static_cast<int64_t>(v); }
uint64_t from_sql(int64_t v) { return static_cast<uint64_t>(v); }

const std::vector<storage::Migration>& all_migrations() {
  static const std::vector<storage::Migration> kMigrations = {
      {1,
       "flow engine: flows, journal, sessions, inbox, outbox, processed message ids",
       {
           "CREATE TABLE flow_flows (flow_id BLOB PRIMARY KEY, number INTEGER NOT NULL, "
           "name TEXT NOT NULL, initiated_by TEXT NOT NULL, args BLOB, peer TEXT NOT NULL, "
           "session_id BLOB, status INTEGER NOT NULL, checkpoints INTEGER NOT NULL, "
           "wake_at INTEGER, result BLOB, error TEXT NOT NULL)",
           "CREATE INDEX flow_flows_status ON flow_flows (status)",
           "CREATE TABLE flow_journal (flow_id BLOB NOT NULL, seq INTEGER NOT NULL, "
           "kind INTEGER NOT NULL, value BLOB, PRIMARY KEY (flow_id, seq))",
           "CREATE TABLE flow_sessions (peer TEXT NOT NULL, session_id BLOB NOT NULL, "
           "local_initiator INTEGER NOT NULL, flow_id BLOB NOT NULL, "
           "PRIMARY KEY (peer, session_id, local_initiator))",
           "CREATE INDEX flow_sessions_flow ON flow_sessions (flow_id)",
           "CREATE TABLE flow_inbox (flow_id BLOB NOT NULL, session_id BLOB NOT NULL, "
           "seq INTEGER NOT NULL, kind INTEGER NOT NULL, payload BLOB, "
           "PRIMARY KEY (flow_id, session_id, seq))",
           "CREATE TABLE flow_outbox (message_id BLOB PRIMARY KEY, recipient TEXT NOT NULL, "
           "topic TEXT NOT NULL, payload BLOB, flow_id BLOB NOT NULL, session_id BLOB NOT NULL)",
           "CREATE TABLE flow_processed (message_id BLOB PRIMARY KEY)",
       }},
      // Ids are predictable, so keyed on the id alone one peer could send an envelope with the id
      // of a message another peer will send later and have that one dropped as a duplicate. The
      // rows of version 1 stay in flow_processed, read only: they still catch retransmissions of
      // messages accepted before this version, and nothing adds to them any more.
      {2,
       "flow engine: processed message ids keyed on (sender, message id)",
       {
           "CREATE TABLE flow_processed_from (sender TEXT NOT NULL, message_id BLOB NOT NULL, "
           "PRIMARY KEY (sender, message_id))",
       }},
      // Marks kept for ever grew with every message. Each now names its flow and is deleted when
      // the flow ends: from then on the session row (kept) turns the message away whatever it is.
      {3,
       "flow engine: processed marks name their flow, and are deleted when it ends",
       {
           "ALTER TABLE flow_processed_from ADD COLUMN flow_id BLOB",
           "CREATE INDEX flow_processed_from_flow ON flow_processed_from (flow_id)",
       }},
  };
  return kMigrations;
}

std::optional<int64_t> optional_integer(const storage::Row& row, size_t i) {
  if (row.is_null(i)) return std::nullopt;
  return row.integer(i);
}

}  // namespace

std::span<const storage::Migration> migrations() { return all_migrations(); }

Bytes blob(const crypto::Hash256& h) { return Bytes(h.bytes.begin(), h.bytes.end()); }

Bytes bytes_column(const storage::Row& row, size_t i) {
  if (row.is_null(i)) return {};
  return row.blob(i);
}

Result<crypto::Hash256> hash_column(const storage::Row& row, size_t i) {
  Bytes b = bytes_column(row, i);
  if (b.size() != crypto::Hash256::kSize) {
    return make_error(ErrorCode::kMalformed, "flow table: a hash column holds " +
                                                 std::to_string(b.size()) + " bytes");
  }
  return crypto::Hash256::from(b);
}

Status insert_flow(storage::Session& s, const FlowRow& row) {
  Value params[] = {blob(row.id),
                    row.number,
                    row.name,
                    row.initiated_by,
                    row.args,
                    row.peer,
                    blob(row.session_id),
                    row.status,
                    row.checkpoints,
                    row.wake_at_ms ? Value(*row.wake_at_ms) : Value(),
                    row.result ? Value(*row.result) : Value(),
                    row.error};
  auto r = s.exec(
      "INSERT INTO flow_flows (flow_id, number, name, initiated_by, args, peer, session_id, "
      "status, checkpoints, wake_at, result, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      params);
  if (!r.ok()) return r.error();
  return ok_status();
}

namespace {
constexpr const char* kFlowColumns =
    "SELECT flow_id, number, name, initiated_by, args, peer, session_id, status, checkpoints, "
    "wake_at, result, error FROM flow_flows";

Result<FlowRow> flow_row(const storage::Row& r) {
  FlowRow row;
  FOLIO_ASSIGN_OR_RETURN(row.id, hash_column(r, 0));
  row.number = r.integer(1);
  row.name = r.text(2);
  row.initiated_by = r.text(3);
  row.args = bytes_column(r, 4);
  row.peer = r.text(5);
  FOLIO_ASSIGN_OR_RETURN(row.session_id, hash_column(r, 6));
  row.status = r.integer(7);
  row.checkpoints = r.integer(8);
  row.wake_at_ms = optional_integer(r, 9);
  if (!r.is_null(10)) row.result = r.blob(10);
  row.error = r.text(11);
  return row;
}
}  // namespace

Result<std::optional<FlowRow>> load_flow(storage::Session& s, const crypto::Hash256& id) {
  Value params[] = {blob(id)};
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         s.query(std::string(kFlowColumns) + " WHERE flow_id = ?", params));
  if (rows.empty()) return std::optional<FlowRow>();
  FOLIO_ASSIGN_OR_RETURN(FlowRow row, flow_row(rows[0]));
  return std::optional<FlowRow>(std::move(row));
}

Result<std::vector<FlowRow>> load_flows(storage::Session& s) {
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows, s.query(std::string(kFlowColumns) + " ORDER BY number"));
  std::vector<FlowRow> out;
  out.reserve(rows.size());
  for (const storage::Row& r : rows) {
    FOLIO_ASSIGN_OR_RETURN(FlowRow row, flow_row(r));
    out.push_back(std::move(row));
  }
  return out;
}

Result<int64_t> max_flow_number(storage::Session& s) {
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         s.query("SELECT COALESCE(MAX(number), 0) FROM flow_flows"));
  return rows.at(0).integer(0);
}

Status update_checkpoint(storage::Session& s, const crypto::Hash256& id,
                         std::optional<int64_t> wake_at_ms) {
  Value params[] = {wake_at_ms ? Value(*wake_at_ms) : Value(), blob(id)};
  auto r = s.exec(
      "UPDATE flow_flows SET checkpoints = checkpoints + 1, wake_at = ?, status = 0, error = '' "
      "WHERE flow_id = ?",
      params);
  if (!r.ok()) return r.error();
  return ok_status();
}

Status set_status(storage::Session& s, const crypto::Hash256& id, int64_t status,
                  const std::string& error) {
  Value params[] = {status, error, blob(id)};
  auto r = s.exec("UPDATE flow_flows SET status = ?, error = ?, wake_at = NULL WHERE flow_id = ?",
                  params);
  if (!r.ok()) return r.error();
  return ok_status();
}

Status complete_flow(storage::Session& s, const crypto::Hash256& id, const Bytes& result) {
  Value params[] = {result, blob(id)};
  auto r = s.exec(
      "UPDATE flow_flows SET status = 2, result = ?, wake_at = NULL, error = '', "
      "checkpoints = checkpoints + 1 WHERE flow_id = ?",
      params);
  if (!r.ok()) return r.error();
  return forget_progress(s, id);
}

Status forget_progress(storage::Session& s, const crypto::Hash256& id) {
  Value params[] = {blob(id)};
  auto a = s.exec("DELETE FROM flow_journal WHERE flow_id = ?", params);
  if (!a.ok()) return a.error();
  auto b = s.exec("DELETE FROM flow_inbox WHERE flow_id = ?", params);
  if (!b.ok()) return b.error();
  auto c = s.exec("DELETE FROM flow_processed_from WHERE flow_id = ?", params);
  if (!c.ok()) return c.error();
  return ok_status();
}

Status insert_journal(storage::Session& s, const crypto::Hash256& id, int64_t seq,
                      wire::EntryKind kind, const Bytes& value) {
  Value params[] = {blob(id), seq, static_cast<int64_t>(kind), value};
  auto r = s.exec("INSERT INTO flow_journal (flow_id, seq, kind, value) VALUES (?, ?, ?, ?)",
                  params);
  if (!r.ok()) return r.error();
  return ok_status();
}

Result<std::vector<JournalRow>> load_journal(storage::Session& s, const crypto::Hash256& id) {
  Value params[] = {blob(id)};
  FOLIO_ASSIGN_OR_RETURN(
      storage::Rows rows,
      s.query("SELECT seq, kind, value FROM flow_journal WHERE flow_id = ? ORDER BY seq", params));
  std::vector<JournalRow> out;
  out.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].integer(0) != static_cast<int64_t>(i)) {
      return make_error(ErrorCode::kInternal, "journal of flow " + id.short_hex() +
                                                  " has a gap at entry " + std::to_string(i));
    }
    int64_t kind = rows[i].integer(1);
    if (kind < static_cast<int64_t>(wire::EntryKind::kReceive) ||
        kind > static_cast<int64_t>(wire::EntryKind::kRecord)) {
      return make_error(ErrorCode::kInternal, "journal of flow " + id.short_hex() +
                                                  " has an entry of unknown kind " +
                                                  std::to_string(kind));
    }
    out.push_back(JournalRow{static_cast<wire::EntryKind>(kind), bytes_column(rows[i], 2)});
  }
  return out;
}

Status insert_session(storage::Session& s, const std::string& peer,
                      const crypto::Hash256& session_id, bool local_initiator,
                      const crypto::Hash256& flow_id) {
  Value params[] = {peer, blob(session_id), int64_t{local_initiator ? 1 : 0}, blob(flow_id)};
  auto r = s.exec(
      "INSERT INTO flow_sessions (peer, session_id, local_initiator, flow_id) VALUES (?, ?, ?, ?)",
      params);
  if (!r.ok()) return r.error();
  return ok_status();
}

Result<std::optional<crypto::Hash256>> find_session(storage::Session& s, const std::string& peer,
                                                    const crypto::Hash256& session_id,
                                                    bool local_initiator) {
  Value params[] = {peer, blob(session_id), int64_t{local_initiator ? 1 : 0}};
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         s.query("SELECT flow_id FROM flow_sessions WHERE peer = ? AND "
                                 "session_id = ? AND local_initiator = ?",
                                 params));
  if (rows.empty()) return std::optional<crypto::Hash256>();
  FOLIO_ASSIGN_OR_RETURN(crypto::Hash256 id, hash_column(rows[0], 0));
  return std::optional<crypto::Hash256>(id);
}

Result<std::vector<SessionRow>> sessions_of(storage::Session& s, const crypto::Hash256& flow_id) {
  Value params[] = {blob(flow_id)};
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         s.query("SELECT peer, session_id, local_initiator FROM flow_sessions "
                                 "WHERE flow_id = ? ORDER BY peer, session_id",
                                 params));
  std::vector<SessionRow> out;
  for (const storage::Row& r : rows) {
    FOLIO_ASSIGN_OR_RETURN(crypto::Hash256 session, hash_column(r, 1));
    out.push_back(SessionRow{r.text(0), session, r.integer(2) != 0});
  }
  return out;
}

Result<bool> insert_inbox(storage::Session& s, const crypto::Hash256& flow_id,
                          const crypto::Hash256& session_id, uint64_t seq, wire::Kind kind,
                          const Bytes& payload) {
  Value params[] = {blob(flow_id), blob(session_id), to_sql(seq), static_cast<int64_t>(kind),
                    payload};
  FOLIO_ASSIGN_OR_RETURN(
      int64_t changed,
      s.exec("INSERT INTO flow_inbox (flow_id, session_id, seq, kind, payload) "
             "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
             params));
  return changed > 0;
}

Status delete_inbox(storage::Session& s, const crypto::Hash256& flow_id,
                    const crypto::Hash256& session_id, uint64_t seq) {
  Value params[] = {blob(flow_id), blob(session_id), to_sql(seq)};
  auto r = s.exec("DELETE FROM flow_inbox WHERE flow_id = ? AND session_id = ? AND seq = ?",
                  params);
  if (!r.ok()) return r.error();
  return ok_status();
}

Result<std::vector<InboxRow>> load_inbox(storage::Session& s, const crypto::Hash256& flow_id) {
  Value params[] = {blob(flow_id)};
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         s.query("SELECT session_id, seq, kind, payload FROM flow_inbox "
                                 "WHERE flow_id = ?",
                                 params));
  std::vector<InboxRow> out;
  for (const storage::Row& r : rows) {
    FOLIO_ASSIGN_OR_RETURN(crypto::Hash256 session, hash_column(r, 0));
    int64_t kind = r.integer(2);
    if (kind < 0 || kind >= static_cast<int64_t>(enum_count(wire::Kind{}))) {
      return make_error(ErrorCode::kInternal, "inbox row of unknown kind");
    }
    out.push_back(
        InboxRow{session, from_sql(r.integer(1)), static_cast<wire::Kind>(kind), bytes_column(r, 3)});
  }
  return out;
}

Result<int64_t> inbox_count(storage::Session& s, const crypto::Hash256& flow_id) {
  Value params[] = {blob(flow_id)};
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         s.query("SELECT COUNT(*) FROM flow_inbox WHERE flow_id = ?", params));
  return rows.at(0).integer(0);
}

Result<std::vector<crypto::Hash256>> flows_with_inbox(storage::Session& s) {
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         s.query("SELECT DISTINCT flow_id FROM flow_inbox ORDER BY flow_id"));
  std::vector<crypto::Hash256> out;
  for (const storage::Row& r : rows) {
    FOLIO_ASSIGN_OR_RETURN(crypto::Hash256 id, hash_column(r, 0));
    out.push_back(id);
  }
  return out;
}

Status insert_outbox(storage::Session& s, const net::Envelope& envelope,
                     const crypto::Hash256& flow_id, const crypto::Hash256& session_id) {
  Value params[] = {blob(envelope.id), envelope.recipient, envelope.topic, envelope.payload,
                    blob(flow_id), blob(session_id)};
  auto r = s.exec(
      "INSERT INTO flow_outbox (message_id, recipient, topic, payload, flow_id, session_id) "
      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      params);
  if (!r.ok()) return r.error();
  return ok_status();
}

Status delete_outbox(storage::Session& s, const net::MessageId& id) {
  Value params[] = {blob(id)};
  auto r = s.exec("DELETE FROM flow_outbox WHERE message_id = ?", params);
  if (!r.ok()) return r.error();
  return ok_status();
}

namespace {
Result<OutboxRow> outbox_row(const storage::Row& r, const std::string& self) {
  OutboxRow row;
  FOLIO_ASSIGN_OR_RETURN(row.envelope.id, hash_column(r, 0));
  row.envelope.sender = self;
  row.envelope.recipient = r.text(1);
  row.envelope.topic = r.text(2);
  row.envelope.payload = bytes_column(r, 3);
  FOLIO_ASSIGN_OR_RETURN(row.flow_id, hash_column(r, 4));
  FOLIO_ASSIGN_OR_RETURN(row.session_id, hash_column(r, 5));
  return row;
}
constexpr const char* kOutboxColumns =
    "SELECT message_id, recipient, topic, payload, flow_id, session_id FROM flow_outbox";
}  // namespace

Result<std::vector<OutboxRow>> load_outbox(storage::Session& s) {
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         s.query(std::string(kOutboxColumns) + " ORDER BY message_id"));
  std::vector<OutboxRow> out;
  for (const storage::Row& r : rows) {
    FOLIO_ASSIGN_OR_RETURN(OutboxRow row, outbox_row(r, {}));
    out.push_back(std::move(row));
  }
  return out;
}

Result<std::optional<OutboxRow>> find_outbox(storage::Session& s, const net::MessageId& id) {
  Value params[] = {blob(id)};
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         s.query(std::string(kOutboxColumns) + " WHERE message_id = ?", params));
  if (rows.empty()) return std::optional<OutboxRow>();
  FOLIO_ASSIGN_OR_RETURN(OutboxRow row, outbox_row(rows[0], {}));
  return std::optional<OutboxRow>(std::move(row));
}

Result<bool> any_legacy_processed(storage::Session& s) {
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows, s.query("SELECT 1 FROM flow_processed LIMIT 1"));
  return !rows.empty();
}

Result<int64_t> processed_count(storage::Session& s) {
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows, s.query("SELECT COUNT(*) FROM flow_processed_from"));
  return rows.at(0).integer(0);
}

Result<int64_t> live_flow_count(storage::Session& s) {
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         s.query("SELECT COUNT(*) FROM flow_flows WHERE status IN (0, 1)"));
  return rows.at(0).integer(0);
}

Result<int64_t> delete_unlabelled_marks(storage::Session& s) {
  return s.exec("DELETE FROM flow_processed_from WHERE flow_id IS NULL");
}

Result<bool> mark_processed(storage::Session& s, const std::string& sender,
                            const net::MessageId& id, const crypto::Hash256& flow_id,
                            bool legacy) {
  if (legacy) {
    Value legacy_params[] = {blob(id)};
    FOLIO_ASSIGN_OR_RETURN(
        storage::Rows found,
        s.query("SELECT 1 FROM flow_processed WHERE message_id = ?", legacy_params));
    if (!found.empty()) return false;
  }
  Value params[] = {sender, blob(id), blob(flow_id)};
  FOLIO_ASSIGN_OR_RETURN(int64_t changed,
                         s.exec("INSERT INTO flow_processed_from (sender, message_id, flow_id) "
                                "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                                params));
  return changed > 0;
}

}  // namespace folio::flow::tables
