// Contract attachments: the zip files that carry WebAssembly contracts (ARCHITECTURE.md §1, "code
// and data"; the Corda seed's "Attachments and contract bytecodes").
//
// A contract attachment is a zip holding exactly
//   contract.wasm   the module (validated by the sandbox when imported)
//   manifest.json   {"name": "folio.CSCoin", "version": "1.0", "abi_version": 1,
//                    "config": "<hex of the deployment parameters>"}   (config optional)
//   legal.md        optional legal prose, kept and shown, never interpreted
// and nothing else. Its id is the SHA-256 of the zip bytes. `build_contract_attachment` writes
// stored (uncompressed) entries with a fixed timestamp, so the same inputs always give the same
// bytes and the same id. `parse_contract_attachment` is strict and bounded (entry count, sizes
// checked against what is actually read), and never trusts the zip's own size fields.
// Pure functions over bytes; thread-safe.
#pragma once

#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "ledger/state.h"
#include "ledger/transaction.h"

namespace folio::wasm {

constexpr size_t kAttachmentBytesMax = 2u << 20;
constexpr size_t kManifestBytesMax = 64u << 10;
constexpr size_t kLegalProseBytesMax = 256u << 10;
constexpr size_t kConfigBytesMax = 16u << 10;
constexpr size_t kContractVersionBytesMax = 64;

struct ContractManifest {
  std::string name;     // the contract it provides, e.g. "folio.CSCoin"
  std::string version;  // free text, for people
  uint32_t abi_version = 1;
  Bytes config;  // deployment parameters the contract reads with folio_config_read
  friend bool operator==(const ContractManifest&, const ContractManifest&) = default;
};

struct ContractAttachment {
  ledger::AttachmentId id;
  ContractManifest manifest;
  Bytes wasm;
  std::string legal_prose;
};

Result<Bytes> build_contract_attachment(const ContractManifest& manifest, ByteView wasm,
                                        std::string_view legal_prose = {});
// kMalformed for anything but a well-formed contract attachment, kLimitExceeded past a bound,
// kUnsupported for an ABI version this verifier does not implement.
Result<ContractAttachment> parse_contract_attachment(ByteView zip);

// What a signer of an attachment signs: a domain tag and the attachment id.
Bytes attachment_signature_payload(const ledger::AttachmentId& id);
ledger::TransactionSignature sign_attachment(const crypto::PrivateKey& key,
                                             const ledger::AttachmentId& id);

}  // namespace folio::wasm
