// Contract attachments as zips, through libzip (see attachment.h).
#include "wasm/attachment.h"

#include <zip.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "crypto/hash.h"
#include "crypto/keys.h"
#include "wasm/sandbox.h"

namespace folio::wasm {
namespace {

constexpr const char* kWasmEntry = "contract.wasm";
constexpr const char* kManifestEntry = "manifest.json";
constexpr const char* kLegalEntry = "legal.md";
constexpr zip_int64_t kEntriesMax = 3;

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipCloser>;

Error malformed(std::string what) {
  return make_error(ErrorCode::kMalformed, "contract attachment: " + std::move(what));
}

// Reads one entry, at most `bytes_max`, checking the size actually read against the header's.
Result<Bytes> read_entry(zip_t* zip, zip_int64_t index, const char* name, size_t bytes_max) {
  zip_stat_t stat;
  zip_stat_init(&stat);
  if (zip_stat_index(zip, static_cast<zip_uint64_t>(index), 0, &stat) != 0 ||
      !(stat.valid & ZIP_STAT_SIZE)) {
    return malformed(std::string(name) + " has no readable size");
  }
  if (stat.size > bytes_max) {
    return make_error(ErrorCode::kLimitExceeded, std::string("contract attachment: ") + name +
                                                     " is " + std::to_string(stat.size) +
                                                     " bytes, above " + std::to_string(bytes_max));
  }
  zip_file_t* file = zip_fopen_index(zip, static_cast<zip_uint64_t>(index), 0);
  if (file == nullptr)
    return malformed(std::string(name) + " cannot be opened: " + zip_strerror(zip));
  Bytes out(static_cast<size_t>(stat.size) + 1);
  zip_int64_t total = 0;
  while (static_cast<size_t>(total) < out.size()) {
    zip_int64_t n = zip_fread(file, out.data() + total, out.size() - static_cast<size_t>(total));
    if (n < 0) {
      zip_fclose(file);
      return malformed(std::string(name) + " cannot be read (corrupt or checksum mismatch)");
    }
    if (n == 0) break;
    total += n;
  }
  zip_fclose(file);
  if (static_cast<zip_uint64_t>(total) != stat.size)
    return malformed(std::string(name) + " is not the size its header declares");
  out.resize(static_cast<size_t>(total));
  return out;
}

Result<ContractManifest> parse_manifest(const Bytes& bytes) {
  nlohmann::json json = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (json.is_discarded() || !json.is_object())
    return malformed("manifest.json is not a JSON object");
  ContractManifest m;
  for (const auto& [key, value] : json.items()) {
    if (key == "name" && value.is_string()) {
      m.name = value.get<std::string>();
    } else if (key == "version" && value.is_string()) {
      m.version = value.get<std::string>();
    } else if (key == "abi_version" && value.is_number_unsigned()) {
      uint64_t v = value.get<uint64_t>();
      if (v > UINT32_MAX) return malformed("manifest abi_version out of range");
      m.abi_version = static_cast<uint32_t>(v);
    } else if (key == "config" && value.is_string()) {
      auto config = from_hex(value.get<std::string>());
      if (!config.ok()) return malformed("manifest config is not hex");
      if (config->size() > kConfigBytesMax)
        return make_error(ErrorCode::kLimitExceeded, "contract attachment: config too large");
      m.config = std::move(config).value();
    } else {
      return malformed("manifest field \"" + key + "\" is unknown or of the wrong type");
    }
  }
  if (!json.contains("name") || !json.contains("version") || !json.contains("abi_version"))
    return malformed("manifest needs name, version and abi_version");
  if (m.name.empty() || m.name.size() > ledger::kContractNameBytesMax)
    return malformed("manifest name must be 1 to 128 bytes");
  if (m.version.size() > kContractVersionBytesMax) return malformed("manifest version too long");
  if (m.abi_version != kAbiVersion) {
    return make_error(ErrorCode::kUnsupported, "contract attachment: ABI version " +
                                                   std::to_string(m.abi_version) +
                                                   " is not supported (this verifier implements " +
                                                   std::to_string(kAbiVersion) + ")");
  }
  return m;
}

std::string manifest_json(const ContractManifest& m) {
  nlohmann::ordered_json json;
  json["name"] = m.name;
  json["version"] = m.version;
  json["abi_version"] = m.abi_version;
  if (!m.config.empty()) json["config"] = to_hex(m.config);
  return json.dump(2) + "\n";
}

}  // namespace

Result<ContractAttachment> parse_contract_attachment(ByteView bytes) {
  if (bytes.size() > kAttachmentBytesMax) {
    return make_error(ErrorCode::kLimitExceeded,
                      "contract attachment is " + std::to_string(bytes.size()) + " bytes, above " +
                          std::to_string(kAttachmentBytesMax));
  }
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (source == nullptr) {
    zip_error_fini(&error);
    return malformed("cannot read");
  }
  ZipPtr zip(zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error));
  if (!zip) {
    std::string why = zip_error_strerror(&error);
    zip_source_free(source);
    zip_error_fini(&error);
    return malformed("not a zip file (" + why + ")");
  }
  zip_error_fini(&error);
  zip_int64_t entries = zip_get_num_entries(zip.get(), 0);
  if (entries < 0 || entries > kEntriesMax)
    return malformed("holds " + std::to_string(entries) +
                     " entries; expected contract.wasm, "
                     "manifest.json and optionally legal.md");
  ContractAttachment out;
  out.id = ledger::AttachmentId(crypto::sha256(bytes));
  bool has_wasm = false, has_manifest = false, has_legal = false;
  for (zip_int64_t i = 0; i < entries; ++i) {
    const char* name = zip_get_name(zip.get(), static_cast<zip_uint64_t>(i), ZIP_FL_ENC_RAW);
    if (name == nullptr) return malformed("an entry has no name");
    std::string entry = name;
    if (entry == kWasmEntry && !has_wasm) {
      FOLIO_ASSIGN_OR_RETURN(out.wasm, read_entry(zip.get(), i, name, Limits{}.module_bytes_max));
      has_wasm = true;
    } else if (entry == kManifestEntry && !has_manifest) {
      FOLIO_ASSIGN_OR_RETURN(Bytes manifest, read_entry(zip.get(), i, name, kManifestBytesMax));
      FOLIO_ASSIGN_OR_RETURN(out.manifest, parse_manifest(manifest));
      has_manifest = true;
    } else if (entry == kLegalEntry && !has_legal) {
      FOLIO_ASSIGN_OR_RETURN(Bytes legal, read_entry(zip.get(), i, name, kLegalProseBytesMax));
      out.legal_prose = to_string(legal);
      has_legal = true;
    } else {
      return malformed("unexpected or repeated entry \"" + entry + "\"");
    }
  }
  if (!has_wasm) return malformed("no contract.wasm");
  if (!has_manifest) return malformed("no manifest.json");
  return out;
}

Result<Bytes> build_contract_attachment(const ContractManifest& manifest, ByteView wasm,
                                        std::string_view legal_prose) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (buffer == nullptr) return make_error(ErrorCode::kInternal, "zip: cannot create a buffer");
  zip_source_keep(buffer);
  zip_t* zip = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  if (zip == nullptr) {
    zip_source_free(buffer);
    return make_error(ErrorCode::kInternal, "zip: cannot open for writing");
  }
  std::string manifest_text = manifest_json(manifest);
  struct Entry {
    const char* name;
    std::string content;
  };
  std::vector<Entry> entries = {{kWasmEntry, to_string(wasm)}, {kManifestEntry, manifest_text}};
  if (!legal_prose.empty()) entries.push_back({kLegalEntry, std::string(legal_prose)});
  bool ok = true;
  for (const Entry& e : entries) {
    // libzip copies nothing until zip_close, so the content must outlive the loop: it does.
    zip_source_t* data = zip_source_buffer(zip, e.content.data(), e.content.size(), 0);
    zip_int64_t index = data == nullptr ? -1 : zip_file_add(zip, e.name, data, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      if (data != nullptr) zip_source_free(data);
      ok = false;
      break;
    }
    // Stored, with a fixed time, so the bytes (and the id) do not depend on zlib or the clock.
    ok =
        ok && zip_set_file_compression(zip, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) == 0;
    ok = ok && zip_file_set_dostime(zip, static_cast<zip_uint64_t>(index), 0, 0x21, 0) == 0;
  }
  if (!ok || zip_close(zip) != 0) {
    zip_discard(zip);  // still open after a failed or skipped close
    zip_source_free(buffer);
    return make_error(ErrorCode::kInternal, "zip: cannot write the attachment");
  }
  Bytes out;
  if (zip_source_open(buffer) == 0) {
    zip_source_seek(buffer, 0, SEEK_END);
    zip_int64_t size = zip_source_tell(buffer);
    zip_source_seek(buffer, 0, SEEK_SET);
    out.resize(size > 0 ? static_cast<size_t>(size) : 0);
    zip_int64_t read = out.empty() ? 0 : zip_source_read(buffer, out.data(), out.size());
    zip_source_close(buffer);
    if (read != static_cast<zip_int64_t>(out.size())) out.clear();
  }
  zip_source_free(buffer);
  if (out.empty()) return make_error(ErrorCode::kInternal, "zip: cannot read back the attachment");
  return out;
}

Bytes attachment_signature_payload(const ledger::AttachmentId& id) {
  Bytes out = to_bytes("folio/attachment-signature/v1");
  ByteView hash = id.value().view();
  out.insert(out.end(), hash.begin(), hash.end());
  return out;
}

ledger::TransactionSignature sign_attachment(const crypto::PrivateKey& key,
                                             const ledger::AttachmentId& id) {
  return ledger::TransactionSignature{key.public_key(), key.sign(attachment_signature_payload(id))};
}

}  // namespace folio::wasm
