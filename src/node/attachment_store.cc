#include "node/attachment_store.h"

#include <zip.h>

#include <array>
#include <set>

#include "crypto/hash.h"
#include "wasm/attachment.h"

namespace folio::node {
namespace {

constexpr std::string_view kComponent = "attachments";
constexpr std::string_view kContractEntry = "contract.wasm";
constexpr size_t kReadChunkBytes = 64u << 10;

const std::vector<storage::Migration>& migrations() {
  static const std::vector<storage::Migration> kMigrations = {
      {1,
       "content-addressed attachments with the contracts they provide and their checked signers",
       {"CREATE TABLE node_attachments (id BLOB PRIMARY KEY, content BLOB NOT NULL, size INTEGER "
        "NOT NULL, contracts BLOB NOT NULL, signers BLOB NOT NULL)"}},
  };
  return kMigrations;
}

Error malformed(std::string what) {
  return make_error(ErrorCode::kMalformed, "attachment: " + std::move(what));
}

Error corrupt(std::string what) {
  return make_error(ErrorCode::kInternal, "attachment store: " + std::move(what));
}

storage::Value id_value(const ledger::AttachmentId& id) {
  return storage::Value(Bytes(id.value().bytes.begin(), id.value().bytes.end()));
}

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipFileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

// A relative path without "..", backslashes or control characters: safe to extract anywhere.
bool is_safe_name(std::string_view name, size_t bytes_max) {
  if (name.empty() || name.size() > bytes_max || name.front() == '/') return false;
  if (!is_valid_utf8(name)) return false;
  for (char c : name)
    if (c == '\\' || static_cast<unsigned char>(c) < 0x20) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    if (name.substr(start, end - start) == "..") return false;
    start = end + 1;
  }
  return true;
}

struct ZipSummary {
  bool has_contract = false;
};

// Opens `bytes` as a zip and reads every entry through, within the options' bounds.
Result<ZipSummary> check_zip(ByteView bytes, const AttachmentStoreOptions& options) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) {
    zip_error_fini(&error);
    return malformed("cannot be read as a zip");
  }
  std::unique_ptr<zip_t, ZipDiscard> zip(
      zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error));
  if (!zip) {
    std::string why = zip_error_strerror(&error);
    zip_source_free(source);
    zip_error_fini(&error);
    return malformed("not a well-formed zip file (" + why + ")");
  }
  zip_error_fini(&error);
  zip_int64_t entries = zip_get_num_entries(zip.get(), 0);
  if (entries < 0) return malformed("the entry count cannot be read");
  if (entries == 0) return malformed("the zip has no entries");
  if (static_cast<size_t>(entries) > options.entries_max)
    return make_error(ErrorCode::kLimitExceeded, "attachment: " + std::to_string(entries) +
                                                     " entries, above " +
                                                     std::to_string(options.entries_max));
  ZipSummary summary;
  std::set<std::string> names;
  size_t total = 0;
  Bytes buffer(kReadChunkBytes);
  for (zip_int64_t i = 0; i < entries; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    const char* raw_name = zip_get_name(zip.get(), index, ZIP_FL_ENC_RAW);
    if (raw_name == nullptr) return malformed("entry " + std::to_string(i) + " has no name");
    std::string name = raw_name;
    if (!is_safe_name(name, options.entry_name_bytes_max))
      return malformed("entry " + std::to_string(i) + " has an unsafe name");
    if (!names.insert(name).second) return malformed("entry \"" + name + "\" appears twice");
    if (name == kContractEntry) summary.has_contract = true;
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(zip.get(), index, 0, &stat) != 0)
      return malformed("entry \"" + name + "\" has no readable header");
    if ((stat.valid & ZIP_STAT_ENCRYPTION_METHOD) && stat.encryption_method != ZIP_EM_NONE)
      return malformed("entry \"" + name + "\" is encrypted");
    std::unique_ptr<zip_file_t, ZipFileClose> file(zip_fopen_index(zip.get(), index, 0));
    if (!file)
      return malformed("entry \"" + name + "\" cannot be opened: " + zip_strerror(zip.get()));
    size_t entry_total = 0;
    while (true) {
      zip_int64_t n = zip_fread(file.get(), buffer.data(), buffer.size());
      if (n < 0) return malformed("entry \"" + name + "\" is corrupt (bad data or CRC)");
      if (n == 0) break;
      entry_total += static_cast<size_t>(n);
      total += static_cast<size_t>(n);
      if (total > options.uncompressed_bytes_max)
        return make_error(ErrorCode::kLimitExceeded,
                          "attachment: more than " +
                              std::to_string(options.uncompressed_bytes_max) +
                              " bytes once uncompressed");
    }
    if ((stat.valid & ZIP_STAT_SIZE) && stat.size != entry_total)
      return malformed("entry \"" + name + "\" is not the size its header declares");
  }
  return summary;
}

std::vector<crypto::PublicKey> decode_keys(const storage::Row& row, size_t column, Status& status) {
  if (!std::holds_alternative<Bytes>(row.values.at(column))) {
    status = corrupt("signers column is not a blob");
    return {};
  }
  auto keys = codec::decode_from_bytes<std::vector<crypto::PublicKey>>(row.blob(column));
  if (!keys.ok()) {
    status = corrupt("stored signers do not decode");
    return {};
  }
  return std::move(keys).value();
}

}  // namespace

Result<std::unique_ptr<AttachmentStore>> AttachmentStore::open(storage::Database& db,
                                                               AttachmentStoreOptions options) {
  FOLIO_TRY(db.migrate(kComponent, migrations()));
  return std::unique_ptr<AttachmentStore>(new AttachmentStore(db, options));
}

Result<ledger::Attachment> AttachmentStore::inspect(
    ByteView zip, std::span<const ledger::TransactionSignature> signatures) const {
  if (zip.size() > options_.attachment_bytes_max)
    return make_error(ErrorCode::kLimitExceeded, "attachment of " + std::to_string(zip.size()) +
                                                     " bytes, above " +
                                                     std::to_string(options_.attachment_bytes_max));
  ledger::Attachment out;
  out.id = ledger::AttachmentId(crypto::sha256(zip));
  FOLIO_ASSIGN_OR_RETURN(ZipSummary summary, check_zip(zip, options_));
  if (summary.has_contract) {
    FOLIO_ASSIGN_OR_RETURN(wasm::ContractAttachment contract, wasm::parse_contract_attachment(zip));
    out.contracts.push_back(contract.manifest.name);
  }
  std::set<crypto::PublicKey> signers;
  Bytes payload = wasm::attachment_signature_payload(out.id);
  for (const ledger::TransactionSignature& s : signatures) {
    if (!crypto::verify(s.by, payload, s.signature))
      return make_error(ErrorCode::kVerification, "attachment " + out.id.value().short_hex() +
                                                      ": invalid signature by " + s.by.describe());
    signers.insert(s.by);
  }
  out.signers.assign(signers.begin(), signers.end());
  return out;
}

Result<ledger::AttachmentId> AttachmentStore::import(
    ByteView zip, const std::optional<ledger::AttachmentId>& expected_id,
    std::span<const ledger::TransactionSignature> signatures) {
  Result<ledger::AttachmentId> out = make_error(ErrorCode::kInternal, "not run");
  Status s = db_.transact([&](storage::Session& session) -> Status {
    out = import(session, zip, expected_id, signatures);
    if (!out.ok()) return out.error();
    return ok_status();
  });
  if (!s.ok()) return s.error();
  return out;
}

Result<ledger::AttachmentId> AttachmentStore::import(
    storage::Session& session, ByteView zip, const std::optional<ledger::AttachmentId>& expected_id,
    std::span<const ledger::TransactionSignature> signatures) {
  if (zip.size() > options_.attachment_bytes_max)
    return make_error(ErrorCode::kLimitExceeded, "attachment of " + std::to_string(zip.size()) +
                                                     " bytes, above " +
                                                     std::to_string(options_.attachment_bytes_max));
  // The id first: bytes that are not what was asked for are refused before they are parsed.
  ledger::AttachmentId id(crypto::sha256(zip));
  if (expected_id && *expected_id != id)
    return make_error(ErrorCode::kVerification, "attachment bytes hash to " + id.value().hex() +
                                                    ", not the expected " +
                                                    expected_id->value().hex());
  FOLIO_ASSIGN_OR_RETURN(ledger::Attachment attachment, inspect(zip, signatures));
  FOLIO_ASSERT(attachment.id == id);

  std::array<storage::Value, 1> by_id = {id_value(id)};
  FOLIO_ASSIGN_OR_RETURN(storage::Rows existing,
                         session.query("SELECT signers FROM node_attachments WHERE id = ?", by_id));
  if (existing.empty()) {
    std::array<storage::Value, 5> params = {
        id_value(id), storage::Value(Bytes(zip.begin(), zip.end())),
        storage::Value(static_cast<int64_t>(zip.size())),
        storage::Value(codec::encode_to_bytes(attachment.contracts)),
        storage::Value(codec::encode_to_bytes(attachment.signers))};
    FOLIO_TRY(session.exec(
        "INSERT INTO node_attachments (id, content, size, contracts, signers) VALUES (?, ?, ?, ?, "
        "?)",
        params));
    return id;
  }
  // Already stored: only new signers can change anything.
  Status status = ok_status();
  std::vector<crypto::PublicKey> stored = decode_keys(existing[0], 0, status);
  FOLIO_TRY(status);
  std::set<crypto::PublicKey> merged(stored.begin(), stored.end());
  merged.insert(attachment.signers.begin(), attachment.signers.end());
  if (merged.size() != stored.size()) {
    std::vector<crypto::PublicKey> all(merged.begin(), merged.end());
    std::array<storage::Value, 2> params = {storage::Value(codec::encode_to_bytes(all)),
                                            id_value(id)};
    FOLIO_TRY(session.exec("UPDATE node_attachments SET signers = ? WHERE id = ?", params));
  }
  return id;
}

Result<Bytes> AttachmentStore::content(const ledger::AttachmentId& id) const {
  std::array<storage::Value, 1> params = {id_value(id)};
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         db_.query("SELECT content FROM node_attachments WHERE id = ?", params));
  if (rows.empty())
    return make_error(ErrorCode::kNotFound, "attachment " + id.value().hex() + " is not stored");
  if (!std::holds_alternative<Bytes>(rows[0].values.at(0))) return corrupt("content is not a blob");
  return rows[0].blob(0);
}

Result<ledger::Attachment> AttachmentStore::load(const ledger::AttachmentId& id) const {
  std::array<storage::Value, 1> params = {id_value(id)};
  FOLIO_ASSIGN_OR_RETURN(
      storage::Rows rows,
      db_.query("SELECT contracts, signers FROM node_attachments WHERE id = ?", params));
  if (rows.empty())
    return make_error(ErrorCode::kNotFound, "attachment " + id.value().hex() + " is not stored");
  ledger::Attachment out;
  out.id = id;
  if (!std::holds_alternative<Bytes>(rows[0].values.at(0)))
    return corrupt("contracts column is not a blob");
  auto contracts = codec::decode_from_bytes<std::vector<std::string>>(rows[0].blob(0));
  if (!contracts.ok()) return corrupt("stored contracts do not decode");
  out.contracts = std::move(contracts).value();
  Status status = ok_status();
  out.signers = decode_keys(rows[0], 1, status);
  FOLIO_TRY(status);
  return out;
}

Result<bool> AttachmentStore::contains(const ledger::AttachmentId& id) const {
  std::array<storage::Value, 1> params = {id_value(id)};
  FOLIO_ASSIGN_OR_RETURN(storage::Rows rows,
                         db_.query("SELECT 1 FROM node_attachments WHERE id = ?", params));
  return !rows.empty();
}

}  // namespace folio::node
