#include "notary/replica_store.h"

#include <filesystem>

namespace folio::notary {
namespace {

const storage::Migration kMigrations[] = {
    {1,
     "consensus state of a shard replica",
     {"CREATE TABLE replica_safety (id INTEGER PRIMARY KEY, state BLOB NOT NULL)",
      "CREATE TABLE replica_blocks (id BLOB PRIMARY KEY, height INTEGER NOT NULL, "
      "block BLOB NOT NULL)",
      "CREATE TABLE replica_commit (id INTEGER PRIMARY KEY, block_id BLOB NOT NULL, "
      "height INTEGER NOT NULL)"}},
};

Bytes id_bytes(const consensus::BlockId& id) {
  return Bytes(id.value().bytes.begin(), id.value().bytes.end());
}

}  // namespace

Result<std::unique_ptr<ReplicaStore>> ReplicaStore::open(const std::string& path, bool fsync) {
  std::error_code ec;
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  storage::SqliteOptions options;
  options.path = path;
  options.synchronous_full = fsync;
  FOLIO_ASSIGN_OR_RETURN(std::unique_ptr<storage::Database> db, storage::open_sqlite(options));
  FOLIO_TRY(db->migrate("replica", kMigrations));
  return std::unique_ptr<ReplicaStore>(new ReplicaStore(std::move(db)));
}

Result<ReplicaStore::Restored> ReplicaStore::restore() {
  Restored r;
  codec::Limits limits;
  limits.input_bytes_max = 64u << 20;
  FOLIO_ASSIGN_OR_RETURN(storage::Rows safety,
                         db_->query("SELECT state FROM replica_safety WHERE id = 1"));
  if (!safety.empty()) {
    FOLIO_ASSIGN_OR_RETURN(r.state.safety,
                           codec::decode_from_bytes<consensus::SafetyState>(safety[0].blob(0)));
  }
  FOLIO_ASSIGN_OR_RETURN(storage::Rows blocks,
                         db_->query("SELECT block FROM replica_blocks ORDER BY height"));
  for (const storage::Row& row : blocks) {
    FOLIO_ASSIGN_OR_RETURN(consensus::Block b,
                           codec::decode_from_bytes<consensus::Block>(row.blob(0), limits));
    r.state.blocks.push_back(std::move(b));
  }
  FOLIO_ASSIGN_OR_RETURN(storage::Rows commit,
                         db_->query("SELECT height FROM replica_commit WHERE id = 1"));
  if (!commit.empty())
    r.committed_height = consensus::Height(static_cast<uint64_t>(commit[0].integer(0)));
  // The commit pointer stays at genesis: the whole stored chain is applied again (header comment).
  r.state.committed = consensus::CommitPointer{consensus::genesis_id(), consensus::Height(0)};
  return r;
}

Status ReplicaStore::write(const consensus::Ready::Persist& persist) {
  if (persist.empty()) return ok_status();
  return db_->transact([&](storage::Session& s) -> Status {
    if (persist.safety) {
      storage::Value params[] = {codec::encode_to_bytes(*persist.safety)};
      FOLIO_TRY(
          s.exec("INSERT INTO replica_safety (id, state) VALUES (1, ?) "
                 "ON CONFLICT (id) DO UPDATE SET state = excluded.state",
                 params));
    }
    // The replica hands each block's id with it; hashing the whole block again here cost as
    // much as the hash that made the id.
    FOLIO_ASSERT(persist.block_ids.size() == persist.blocks.size());
    for (size_t i = 0; i < persist.blocks.size(); ++i) {
      const auto& block = persist.blocks[i];
      // Reserved up front: a block of 400 commands grown by doubling copied ~100 KB and touched
      // fresh pages on every write.
      codec::Writer encoded(block->encoded_bytes_max());
      codec::encode(encoded, *block);
      storage::Value params[] = {id_bytes(persist.block_ids[i]),
                                 static_cast<int64_t>(block->height.value()), encoded.take()};
      FOLIO_TRY(
          s.exec("INSERT INTO replica_blocks (id, height, block) VALUES (?, ?, ?) "
                 "ON CONFLICT (id) DO NOTHING",
                 params));
    }
    if (persist.committed) {
      storage::Value params[] = {id_bytes(persist.committed->block_id),
                                 static_cast<int64_t>(persist.committed->height.value())};
      FOLIO_TRY(s.exec(
          "INSERT INTO replica_commit (id, block_id, height) VALUES (1, ?, ?) "
          "ON CONFLICT (id) DO UPDATE SET block_id = excluded.block_id, height = excluded.height",
          params));
    }
    return ok_status();
  });
}

}  // namespace folio::notary
