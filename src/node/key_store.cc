#include "node/key_store.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace folio::node {
namespace {

constexpr std::string_view kComponent = "keys";
constexpr std::string_view kMagic = "folio-key/v1\n";
constexpr size_t kFileBytes = kMagic.size() + 1 + 32;
constexpr std::string_view kSuffix = ".key";

const std::vector<storage::Migration>& migrations() {
  static const std::vector<storage::Migration> kMigrations = {
      {1,
       "the node's public keys (their private halves live in the key directory)",
       {"CREATE TABLE node_keys (public_key BLOB PRIMARY KEY, scheme TEXT NOT NULL)"}},
  };
  return kMigrations;
}

Error io_error(const std::string& what, int error_number) {
  return make_error(ErrorCode::kIo, "key store: " + what + ": " + std::strerror(error_number));
}

// Wipes a buffer that held a secret, whatever happens to the function that filled it.
struct Wiper {
  uint8_t* data;
  size_t size;
  ~Wiper() { sodium_memzero(data, size); }
};

std::string file_name(const crypto::PublicKey& key) {
  return crypto::sha256(codec::encode_to_bytes(key)).hex() + std::string(kSuffix);
}

Status write_all(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write a key file", errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return ok_status();
}

// Reads a key file: a regular file, mode 0600 or stricter, of exactly kFileBytes.
Result<crypto::PrivateKey> read_key_file(const std::filesystem::path& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return io_error("cannot stat " + path.string(), errno);
  if (!S_ISREG(st.st_mode))
    return make_error(ErrorCode::kMalformed, "key store: " + path.string() + " is not a file");
  if ((st.st_mode & 0077) != 0)
    return make_error(
        ErrorCode::kVerification,
        "key store: " + path.string() + " is accessible by group or others; it must be mode 0600");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return io_error("cannot open " + path.string(), errno);
  std::array<uint8_t, kFileBytes + 1> buffer{};
  Wiper wipe{buffer.data(), buffer.size()};
  size_t total = 0;
  while (total < buffer.size()) {
    ssize_t n = ::read(fd, buffer.data() + total, buffer.size() - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return io_error("cannot read " + path.string(), e);
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  ::close(fd);
  if (total != kFileBytes || std::memcmp(buffer.data(), kMagic.data(), kMagic.size()) != 0)
    return make_error(ErrorCode::kMalformed, "key store: " + path.string() + " is not a key file");
  uint8_t scheme = buffer[kMagic.size()];
  if (scheme > static_cast<uint8_t>(crypto::SignatureScheme::kEcdsaP256))
    return make_error(ErrorCode::kMalformed,
                      "key store: " + path.string() + " names an unknown signature scheme");
  FixedBytes<32> seed = FixedBytes<32>::from(ByteView(buffer.data() + kMagic.size() + 1, 32));
  Wiper wipe_seed{seed.data(), seed.size()};
  auto key = crypto::PrivateKey::from_seed(static_cast<crypto::SignatureScheme>(scheme), seed);
  if (!key.ok()) return key.error();
  if (path.filename() != file_name(key->public_key()))
    return make_error(ErrorCode::kMalformed,
                      "key store: " + path.string() + " holds a key other than its name says");
  return key;
}

}  // namespace

Result<std::unique_ptr<KeyStore>> KeyStore::open(const std::filesystem::path& directory,
                                                 storage::Database& db) {
  if (sodium_init() < 0) return make_error(ErrorCode::kInternal, "libsodium cannot start");
  std::error_code ec;
  if (!std::filesystem::exists(directory, ec)) {
    std::filesystem::create_directories(directory, ec);
    if (ec)
      return make_error(ErrorCode::kIo,
                        "key store: cannot create " + directory.string() + ": " + ec.message());
    if (::chmod(directory.c_str(), 0700) != 0)
      return io_error("cannot restrict " + directory.string(), errno);
  }
  struct stat st;
  if (::stat(directory.c_str(), &st) != 0)
    return io_error("cannot stat " + directory.string(), errno);
  if (!S_ISDIR(st.st_mode))
    return make_error(ErrorCode::kInvalidArgument,
                      "key store: " + directory.string() + " is not a directory");
  if ((st.st_mode & 0077) != 0)
    return make_error(ErrorCode::kVerification,
                      "key store: directory " + directory.string() +
                          " is accessible by group or others; it must be mode 0700");
  FOLIO_TRY(db.migrate(kComponent, migrations()));
  std::unique_ptr<KeyStore> store(new KeyStore(directory, db));
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    const std::filesystem::path& path = entry.path();
    if (path.extension() != kSuffix) continue;  // temporary files of an interrupted write
    FOLIO_ASSIGN_OR_RETURN(crypto::PrivateKey key, read_key_file(path));
    crypto::PublicKey public_key = key.public_key();
    store->keys_.emplace(public_key, std::move(key));
  }
  if (ec) return make_error(ErrorCode::kIo, "key store: cannot list " + directory.string());
  FOLIO_TRY(db.transact([&](storage::Session& session) -> Status {
    for (const auto& [public_key, key] : store->keys_)
      FOLIO_TRY(store->register_key(session, public_key));
    return ok_status();
  }));
  return store;
}

std::filesystem::path KeyStore::file_of(const crypto::PublicKey& key) const {
  return directory_ / file_name(key);
}

Status KeyStore::write_file(const crypto::PrivateKey& key) const {
  std::array<uint8_t, kFileBytes> buffer{};
  Wiper wipe{buffer.data(), buffer.size()};
  std::memcpy(buffer.data(), kMagic.data(), kMagic.size());
  buffer[kMagic.size()] = static_cast<uint8_t>(key.scheme());
  std::memcpy(buffer.data() + kMagic.size() + 1, key.seed().data(), 32);

  std::filesystem::path final_path = file_of(key.public_key());
  std::filesystem::path temporary = final_path;
  temporary += ".tmp";
  ::unlink(temporary.c_str());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return io_error("cannot create " + temporary.string(), errno);
  // The umask can only remove bits, but make the mode explicit all the same.
  Status s = ::fchmod(fd, 0600) == 0 ? ok_status() : io_error("cannot chmod a key file", errno);
  if (s.ok()) s = write_all(fd, buffer.data(), buffer.size());
  if (s.ok() && ::fsync(fd) != 0) s = io_error("cannot sync a key file", errno);
  ::close(fd);
  if (s.ok() && ::rename(temporary.c_str(), final_path.c_str()) != 0)
    s = io_error("cannot rename a key file into place", errno);
  if (!s.ok()) {
    ::unlink(temporary.c_str());
    return s;
  }
  int dir = ::open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);  // the rename itself; best effort on file systems that refuse it
    ::close(dir);
  }
  return ok_status();
}

Status KeyStore::register_key(storage::Session& session, const crypto::PublicKey& key) const {
  std::array<storage::Value, 2> params = {
      storage::Value(codec::encode_to_bytes(key)),
      storage::Value(std::string(crypto::to_string(key.scheme())))};
  FOLIO_TRY(
      session.exec("INSERT INTO node_keys (public_key, scheme) VALUES (?, ?) ON CONFLICT "
                   "(public_key) DO NOTHING",
                   params));
  return ok_status();
}

Result<crypto::PublicKey> KeyStore::store(storage::Session* session,
                                          const crypto::PrivateKey& key) {
  // The file first: a key that signs must never be lost, while a missing table row is restored by
  // the next open().
  FOLIO_TRY(write_file(key));
  if (session != nullptr) {
    FOLIO_TRY(register_key(*session, key.public_key()));
  } else {
    FOLIO_TRY(db_.transact([&](storage::Session& s) { return register_key(s, key.public_key()); }));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  keys_.insert_or_assign(key.public_key(), key);
  return key.public_key();
}

Result<crypto::PublicKey> KeyStore::generate() {
  FixedBytes<32> seed;
  Wiper wipe{seed.data(), seed.size()};
  randombytes_buf(seed.data(), seed.size());
  return store(nullptr, crypto::PrivateKey::ed25519(seed));
}

Result<crypto::PublicKey> KeyStore::generate(storage::Session& session) {
  FixedBytes<32> seed;
  Wiper wipe{seed.data(), seed.size()};
  randombytes_buf(seed.data(), seed.size());
  return store(&session, crypto::PrivateKey::ed25519(seed));
}

Result<crypto::PublicKey> KeyStore::add(const crypto::PrivateKey& key) {
  return store(nullptr, key);
}

Result<crypto::Signature> KeyStore::sign(const crypto::PublicKey& key, ByteView message) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = keys_.find(key);
  if (it == keys_.end())
    return make_error(ErrorCode::kNotFound, "key store: no private key for " + key.describe());
  return it->second.sign(message);
}

Result<ledger::TransactionSignature> KeyStore::sign_transaction(const crypto::PublicKey& key,
                                                                const ledger::TxId& id) const {
  FOLIO_ASSIGN_OR_RETURN(crypto::Signature signature, sign(key, ledger::signature_payload(id)));
  return ledger::TransactionSignature{key, signature};
}

bool KeyStore::is_ours(const crypto::PublicKey& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return keys_.count(key) > 0;
}

bool KeyStore::is_relevant(const crypto::PublicKey& key) const { return !our_leaves(key).empty(); }

std::vector<crypto::PublicKey> KeyStore::our_leaves(const crypto::PublicKey& key) const {
  std::vector<crypto::PublicKey> out;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const crypto::PublicKey& leaf : key.leaf_keys())
    if (keys_.count(leaf) > 0) out.push_back(leaf);
  return out;
}

std::set<crypto::PublicKey> KeyStore::keys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::set<crypto::PublicKey> out;
  for (const auto& [public_key, key] : keys_) out.insert(public_key);
  return out;
}

}  // namespace folio::node
