// The attachment store on SQLite and PostgreSQL: content addressing, hash mismatch, size limits,
// malformed and hostile zips, contract attachments, signers, idempotent import.
#include "node/attachment_store.h"

#include <gtest/gtest.h>
#include <zip.h>

#include "crypto/hash.h"
#include "storage/testing/both_backends.h"
#include "wasm/attachment.h"

namespace folio::node {
namespace {

struct Entry {
  std::string name;
  std::string content;
  bool compress = false;
};

// A zip of the entries, built in memory with libzip (stored unless asked to deflate).
Bytes make_zip(const std::vector<Entry>& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  FOLIO_ASSERT(buffer != nullptr);
  zip_source_keep(buffer);
  zip_t* zip = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  FOLIO_ASSERT(zip != nullptr);
  for (const Entry& e : entries) {
    zip_source_t* data = zip_source_buffer(zip, e.content.data(), e.content.size(), 0);
    FOLIO_ASSERT(data != nullptr);
    zip_int64_t index = zip_file_add(zip, e.name.c_str(), data, ZIP_FL_ENC_UTF_8);
    FOLIO_ASSERT(index >= 0);
    zip_set_file_compression(zip, static_cast<zip_uint64_t>(index),
                             e.compress ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    zip_file_set_dostime(zip, static_cast<zip_uint64_t>(index), 0, 0x21, 0);
  }
  FOLIO_ASSERT(zip_close(zip) == 0);
  FOLIO_ASSERT(zip_source_open(buffer) == 0);
  zip_source_seek(buffer, 0, SEEK_END);
  zip_int64_t size = zip_source_tell(buffer);
  zip_source_seek(buffer, 0, SEEK_SET);
  Bytes out(static_cast<size_t>(size));
  FOLIO_ASSERT(zip_source_read(buffer, out.data(), out.size()) == size);
  zip_source_close(buffer);
  zip_source_free(buffer);
  return out;
}

Bytes data_zip() { return make_zip({{"rates/gbp.csv", "date,rate\n2026-11-21,1.27\n"}}); }

// The smallest valid wasm module: magic and version.
const Bytes kEmptyModule = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};

class AttachmentStoreTest : public storage::testing::BothBackends {
 protected:
  std::unique_ptr<AttachmentStore> open(AttachmentStoreOptions options = {}) {
    auto store = AttachmentStore::open(database(), options);
    EXPECT_TRUE(store.ok()) << store.error().message();
    return store.ok() ? std::move(store).value() : nullptr;
  }
};

// Tests whose subject is not the SQL itself run on SQLite only: each PostgreSQL test process
// starts a throwaway server, and the suite must stay fast.
class AttachmentStoreLogicTest : public AttachmentStoreTest {};

TEST_P(AttachmentStoreTest, ImportIsContentAddressedAndRoundTrips) {
  auto store = open();
  Bytes zip = data_zip();
  auto id = store->import(zip);
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(id->value(), crypto::sha256(zip));
  auto content = store->content(*id);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(*content, zip);
  auto loaded = store->load(*id);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->id, *id);
  EXPECT_TRUE(loaded->contracts.empty());
  EXPECT_TRUE(*store->contains(*id));
  ledger::AttachmentId unknown(crypto::sha256(as_bytes("nothing")));
  EXPECT_EQ(store->content(unknown).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(StoreAttachmentLoader(*store).load(unknown).error().code, ErrorCode::kNotFound);
}

TEST_P(AttachmentStoreLogicTest, BytesThatDoNotHashToTheExpectedIdAreRefused) {
  auto store = open();
  Bytes zip = data_zip();
  ledger::AttachmentId asked_for(crypto::sha256(as_bytes("what the peer was asked for")));
  auto refused = store->import(zip, asked_for);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kVerification);
  EXPECT_FALSE(*store->contains(ledger::AttachmentId(crypto::sha256(zip))));
  EXPECT_TRUE(store->import(zip, ledger::AttachmentId(crypto::sha256(zip))).ok());
}

TEST_P(AttachmentStoreLogicTest, OversizeAttachmentsAndZipBombsAreRefused) {
  AttachmentStoreOptions options;
  options.attachment_bytes_max = 4096;
  options.uncompressed_bytes_max = 64u << 10;
  auto store = open(options);
  Bytes big = make_zip({{"big.bin", std::string(5000, 'x')}});
  auto too_big = store->import(big);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code, ErrorCode::kLimitExceeded);
  // Small on the wire, 1 MiB once inflated.
  Bytes bomb = make_zip({{"zeros.bin", std::string(1u << 20, '\0'), true}});
  ASSERT_LT(bomb.size(), options.attachment_bytes_max);
  auto inflated = store->import(bomb);
  ASSERT_FALSE(inflated.ok());
  EXPECT_EQ(inflated.error().code, ErrorCode::kLimitExceeded);
  EXPECT_FALSE(*store->contains(ledger::AttachmentId(crypto::sha256(bomb))));
}

TEST_P(AttachmentStoreLogicTest, MalformedZipsAreRefusedWithAClearError) {
  auto store = open();
  auto expect_malformed = [&](const Bytes& bytes, std::string_view what) {
    auto r = store->import(bytes);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.error().code, ErrorCode::kMalformed) << what << ": " << r.error().message();
    EXPECT_NE(r.error().context.find("attachment"), std::string::npos) << r.error().context;
  };
  expect_malformed(to_bytes("this is not a zip file at all"), "text");
  expect_malformed({}, "empty");
  Bytes zip = data_zip();
  expect_malformed(Bytes(zip.begin(), zip.begin() + static_cast<long>(zip.size() / 2)),
                   "truncated");
  // Flip a byte of the stored content: the CRC no longer matches.
  Bytes corrupted = zip;
  std::string needle = "1.27";
  auto at = std::search(corrupted.begin(), corrupted.end(), needle.begin(), needle.end());
  ASSERT_NE(at, corrupted.end());
  *at = '9';
  expect_malformed(corrupted, "bad CRC");
  expect_malformed(make_zip({{"../../etc/passwd", "root"}}), "path traversal");
  expect_malformed(make_zip({{"/absolute", "x"}}), "absolute path");
  // A bounded number of entries.
  AttachmentStoreOptions few;
  few.entries_max = 2;
  auto strict = AttachmentStore::open(database(), few);
  ASSERT_TRUE(strict.ok());
  auto many = (*strict)->import(make_zip({{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().code, ErrorCode::kLimitExceeded);
}

TEST_P(AttachmentStoreTest, DuplicateImportIsIdempotentAndMergesSigners) {
  auto store = open();
  Bytes zip = data_zip();
  ledger::AttachmentId id(crypto::sha256(zip));
  crypto::PrivateKey signer = crypto::PrivateKey::ed25519(crypto::sha256(as_bytes("signer")));
  ASSERT_TRUE(store->import(zip).ok());
  std::vector<ledger::TransactionSignature> signatures = {wasm::sign_attachment(signer, id)};
  auto again = store->import(zip, id, signatures);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(*again, id);
  ASSERT_TRUE(store->import(zip).ok());
  auto loaded = store->load(id);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->signers, std::vector<crypto::PublicKey>{signer.public_key()});

  // A signature over another attachment is refused.
  std::vector<ledger::TransactionSignature> wrong = {
      wasm::sign_attachment(signer, ledger::AttachmentId(crypto::sha256(as_bytes("other"))))};
  wrong[0].by = signer.public_key();
  auto refused = store->import(zip, id, wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kVerification);
}

TEST_P(AttachmentStoreLogicTest, ContractAttachmentsProvideTheirContract) {
  auto store = open();
  wasm::ContractManifest manifest{"folio.Example", "1.0", 1, {}};
  auto zip = wasm::build_contract_attachment(manifest, kEmptyModule);
  ASSERT_TRUE(zip.ok()) << zip.error().message();
  auto id = store->import(*zip);
  ASSERT_TRUE(id.ok()) << id.error().message();
  StoreAttachmentLoader loader(*store);
  auto loaded = loader.load(*id);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->contracts, std::vector<std::string>{"folio.Example"});
  // A zip that claims to carry a contract but has no manifest is not a contract attachment.
  auto broken = store->import(
      make_zip({{"contract.wasm", std::string(kEmptyModule.begin(), kEmptyModule.end())}}));
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, ErrorCode::kMalformed);
}

TEST_P(AttachmentStoreLogicTest, ImportOnACallersSessionRollsBackWithIt) {
  auto store = open();
  Bytes zip = data_zip();
  Status failed = database().transact([&](storage::Session& s) -> Status {
    FOLIO_TRY(store->import(s, zip));
    return make_error(ErrorCode::kConflict, "the flow step failed");
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_FALSE(*store->contains(ledger::AttachmentId(crypto::sha256(zip))));
}

FOLIO_INSTANTIATE_BOTH_BACKENDS(AttachmentStoreTest);
INSTANTIATE_TEST_SUITE_P(Sqlite, AttachmentStoreLogicTest,
                         ::testing::Values(::folio::storage::Backend::kSqlite),
                         ::folio::storage::testing::backend_name);

}  // namespace
}  // namespace folio::node
