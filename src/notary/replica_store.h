// ReplicaStore: the durable state of one shard replica process in SQLite (storage::Database):
// consensus safety state, every block the replica stored, and its commit pointer.
//
// The object table is not stored: it is a pure function of the committed log, so `restore`
// returns the blocks with the commit pointer reset to genesis, and the restarted replica re-applies
// the whole stored chain when its first commit after the restart arrives (the Replica commits every
// stored ancestor of a newly committed block). Blocks are therefore never deleted, also when the
// Replica prunes them from memory (no checkpoints yet: docs/network.md, "Limits").
//
// `write` is one database transaction: the driver calls it before sending any message of the same
// Ready (consensus/replica.h). Not thread-safe; owns its Database.
#pragma once

#include <memory>
#include <string>

#include "consensus/replica.h"
#include "storage/database.h"

namespace folio::notary {

class ReplicaStore {
 public:
  // Opens (or creates) the SQLite file at `path` and migrates it. With `fsync` (the default),
  // synchronous=FULL: a write survives power loss and OS crashes. Without, synchronous=NORMAL in
  // WAL mode: it survives a crash of the process (kill -9) but not of the machine (benchmarks).
  static Result<std::unique_ptr<ReplicaStore>> open(const std::string& path, bool fsync = true);

  // The state to rebuild the replica from (safety state, all blocks, commit pointer at genesis),
  // and the commit height recorded last (for operators: how far the log was applied).
  struct Restored {
    consensus::RestoredState state;
    consensus::Height committed_height;
  };
  Result<Restored> restore();

  Status write(const consensus::Ready::Persist& persist);

 private:
  explicit ReplicaStore(std::unique_ptr<storage::Database> db) : db_(std::move(db)) {}
  std::unique_ptr<storage::Database> db_;
};

}  // namespace folio::notary
