// The key store: key files with mode 0600 whatever the umask, signing by public key, reopening,
// refusing files open to others or damaged, and the public keys registered in the database.
#include "node/key_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "storage/testing/both_backends.h"

namespace folio::node {
namespace {

class KeyStoreTest : public storage::testing::BothBackends {
 protected:
  void SetUp() override {
    BothBackends::SetUp();
    char pattern[] = "/tmp/folio-keys-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
    directory_ = root_ / "keys";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
    BothBackends::TearDown();
  }
  std::unique_ptr<KeyStore> open() {
    auto store = KeyStore::open(directory_, database());
    EXPECT_TRUE(store.ok()) << store.error().message();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  static mode_t mode_of(const std::filesystem::path& path) {
    struct stat st;
    FOLIO_ASSERT(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
  }

  std::filesystem::path root_;
  std::filesystem::path directory_;
};

// Tests whose subject is not the SQL itself run on SQLite only: each PostgreSQL test process
// starts a throwaway server, and the suite must stay fast.
class KeyStoreLogicTest : public KeyStoreTest {};

TEST_P(KeyStoreLogicTest, GeneratedKeysAreFilesWithMode0600EvenUnderAPermissiveUmask) {
  mode_t previous = ::umask(0);
  auto store = open();
  auto key = store->generate();
  ::umask(previous);
  ASSERT_TRUE(key.ok()) << key.error().message();
  EXPECT_EQ(mode_of(directory_), 0700u);
  std::filesystem::path file = store->file_of(*key);
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_EQ(mode_of(file), 0600u);
  EXPECT_EQ(std::filesystem::file_size(file), 46u);
  // No temporary file left behind.
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(directory_)) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST_P(KeyStoreLogicTest, SignsWithAKeyChosenByItsPublicKey) {
  auto store = open();
  auto a = store->generate();
  auto b = store->generate();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  Bytes message = to_bytes("pay bob 10");
  auto signature = store->sign(*a, message);
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(crypto::verify(*a, message, *signature));
  EXPECT_FALSE(crypto::verify(*b, message, *signature));
  ledger::TxId id(crypto::sha256(message));
  auto tx_signature = store->sign_transaction(*b, id);
  ASSERT_TRUE(tx_signature.ok());
  EXPECT_TRUE(crypto::verify(*b, ledger::signature_payload(id), tx_signature->signature));

  crypto::PrivateKey stranger = crypto::PrivateKey::ed25519(crypto::sha256(as_bytes("stranger")));
  EXPECT_EQ(store->sign(stranger.public_key(), message).error().code, ErrorCode::kNotFound);
}

TEST_P(KeyStoreTest, KeysSurviveReopeningAndAreRegisteredInTheDatabase) {
  crypto::PublicKey generated;
  crypto::PrivateKey imported = crypto::PrivateKey::ed25519(crypto::sha256(as_bytes("imported")));
  {
    auto store = open();
    generated = std::move(store->generate()).value();
    ASSERT_TRUE(store->add(imported).ok());
    ASSERT_TRUE(store->add(imported).ok());  // idempotent
  }
  // A key file written while the database row was lost is registered again on open.
  ASSERT_TRUE(database().exec("DELETE FROM node_keys").ok());
  auto store = open();
  EXPECT_EQ(store->keys(), (std::set<crypto::PublicKey>{generated, imported.public_key()}));
  EXPECT_TRUE(store->is_ours(generated));
  auto rows = database().query("SELECT COUNT(*) FROM node_keys");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].integer(0), 2);
  auto signature = store->sign(imported.public_key(), to_bytes("m"));
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(*signature, imported.sign(to_bytes("m")));
}

TEST_P(KeyStoreLogicTest, RelevanceLooksAtEveryLeafOfACompoundKey) {
  auto store = open();
  crypto::PublicKey ours = std::move(store->generate()).value();
  crypto::PublicKey theirs =
      crypto::PrivateKey::ed25519(crypto::sha256(as_bytes("theirs"))).public_key();
  auto both = crypto::PublicKey::compound(1, {{ours, 1}, {theirs, 1}});
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(store->is_relevant(*both));
  EXPECT_FALSE(store->is_ours(*both));
  EXPECT_EQ(store->our_leaves(*both), std::vector<crypto::PublicKey>{ours});
  EXPECT_FALSE(store->is_relevant(theirs));
}

TEST_P(KeyStoreLogicTest, FilesOpenToOthersOrDamagedAreRefused) {
  std::filesystem::path file;
  {
    auto store = open();
    file = store->file_of(std::move(store->generate()).value());
  }
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);
  auto exposed = KeyStore::open(directory_, database());
  ASSERT_FALSE(exposed.ok());
  EXPECT_EQ(exposed.error().code, ErrorCode::kVerification);
  EXPECT_NE(exposed.error().context.find("0600"), std::string::npos);

  ASSERT_EQ(::chmod(file.c_str(), 0600), 0);
  { std::ofstream(file, std::ios::app) << "x"; }
  auto damaged = KeyStore::open(directory_, database());
  ASSERT_FALSE(damaged.ok());
  EXPECT_EQ(damaged.error().code, ErrorCode::kMalformed);

  ASSERT_TRUE(std::filesystem::remove(file));
  ASSERT_EQ(::chmod(directory_.c_str(), 0755), 0);
  auto open_directory = KeyStore::open(directory_, database());
  ASSERT_FALSE(open_directory.ok());
  EXPECT_EQ(open_directory.error().code, ErrorCode::kVerification);
}

TEST_P(KeyStoreLogicTest, AKeyGeneratedInARolledBackStepStaysUsableAndIsRegisteredOnReopen) {
  crypto::PublicKey key;
  {
    auto store = open();
    Status failed = database().transact([&](storage::Session& s) -> Status {
      FOLIO_ASSIGN_OR_RETURN(key, store->generate(s));
      return make_error(ErrorCode::kConflict, "the flow step failed");
    });
    ASSERT_FALSE(failed.ok());
    // Losing a key that may already have been handed out would lose what it owns.
    EXPECT_TRUE(store->is_ours(key));
    auto rows = database().query("SELECT COUNT(*) FROM node_keys");
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ((*rows)[0].integer(0), 0);
  }
  auto reopened = open();
  EXPECT_TRUE(reopened->is_ours(key));
  auto rows = database().query("SELECT COUNT(*) FROM node_keys");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].integer(0), 1);
}

FOLIO_INSTANTIATE_BOTH_BACKENDS(KeyStoreTest);
INSTANTIATE_TEST_SUITE_P(Sqlite, KeyStoreLogicTest,
                         ::testing::Values(::folio::storage::Backend::kSqlite),
                         ::folio::storage::testing::backend_name);

}  // namespace
}  // namespace folio::node
