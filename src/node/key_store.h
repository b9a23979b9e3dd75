// KeyStore: a node's private keys (ARCHITECTURE.md §4), one file per key in a directory, and the
// set of its public keys for the vault to decide which states are relevant.
//
// Each key is a file named "<sha256 of the public key's encoding, hex>.key" holding a magic line,
// the signature scheme and the 32-byte seed. Files are created with mode 0600 (0700 for the
// directory) whatever the umask, written to a temporary name, synced and renamed, so a crash never
// leaves half a key under a key's name. Keys are NOT encrypted at rest: the directory's permissions
// are the protection. open() refuses a directory or key file readable by group or others, as ssh
// does. Secrets are never logged, printed or put in an error message; buffers that held them are
// wiped.
//
// The public keys are also recorded in the database table node_keys(public_key, ...) (component
// "keys"), so that SQL (the vault's relevance queries, reports) can join against "our keys". The
// directory is the source of truth: open() re-registers any key file missing from the table. New
// keys can be registered on a caller's storage::Session, to commit with the flow step that created
// them.
//
// Thread-safety: all methods may be called concurrently (an internal mutex guards the key map); the
// storage::Database must outlive the store and follows its own rules.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "crypto/keys.h"
#include "ledger/transaction.h"
#include "storage/database.h"

namespace folio::node {

class KeyStore {
 public:
  // Creates the directory (mode 0700) if missing, loads every key file in it, runs the "keys"
  // migrations and registers the keys. kVerification if a key file or the directory is open to
  // group or others; kMalformed for a damaged key file.
  static Result<std::unique_ptr<KeyStore>> open(const std::filesystem::path& directory,
                                                storage::Database& db);

  // A fresh Ed25519 key from the operating system's random source.
  Result<crypto::PublicKey> generate();
  Result<crypto::PublicKey> generate(storage::Session& session);
  // Stores a key made elsewhere (imported from a seed, or derived for tests). Idempotent.
  Result<crypto::PublicKey> add(const crypto::PrivateKey& key);

  // kNotFound if `key` is not ours (compound keys are never ours: sign with their leaves).
  Result<crypto::Signature> sign(const crypto::PublicKey& key, ByteView message) const;
  Result<ledger::TransactionSignature> sign_transaction(const crypto::PublicKey& key,
                                                        const ledger::TxId& id) const;

  // Whether we hold the private key of this leaf key.
  bool is_ours(const crypto::PublicKey& key) const;
  // Whether any leaf of `key` (itself for a leaf) is ours: the vault's relevance test.
  bool is_relevant(const crypto::PublicKey& key) const;
  // Our leaf keys that `key` contains (for signing with a compound key's leaves).
  std::vector<crypto::PublicKey> our_leaves(const crypto::PublicKey& key) const;
  std::set<crypto::PublicKey> keys() const;

  // The file that holds `key`'s secret.
  std::filesystem::path file_of(const crypto::PublicKey& key) const;

  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

 private:
  KeyStore(std::filesystem::path directory, storage::Database& db)
      : directory_(std::move(directory)), db_(db) {}
  Status write_file(const crypto::PrivateKey& key) const;
  Status register_key(storage::Session& session, const crypto::PublicKey& key) const;
  Result<crypto::PublicKey> store(storage::Session* session, const crypto::PrivateKey& key);

  const std::filesystem::path directory_;
  storage::Database& db_;
  mutable std::mutex mutex_;
  std::map<crypto::PublicKey, crypto::PrivateKey> keys_;  // GUARDED_BY(mutex_)
};

}  // namespace folio::node
