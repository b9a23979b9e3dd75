// folio.SMet: private smart-meter billing (the Chainspace seed §VI-B, after Jawurek, Johns and
// Kerschbaum 2011 and Rial and Danezis 2011). The meter commits to its readings; the bill is proven
// to equal Σ tariffᵢ·readingᵢ over those commitments, so no verifier ever sees a reading.
//
// Types (one variant, SMetState, is the data of every SMet state):
//   Token  what createMeter consumes and re-creates (Chainspace's pattern for contract-managed
//          creation): its owner's capability to register meters; made by `init`, signed by its
//          owner.
//   Meter  a meter's key (the device, which signs readings), its owner (the customer, who holds the
//          openings and asks for bills), a description, and the committed readings of each period
//          not yet billed.
//   Bill   the plain result: meter key, owner, period, tariffs and total.
// Commands (one SMet command per transaction):
//   init         no SMet input; outputs [Token]; the token's owner signs.
//   createMeter  inputs [Token]; outputs [Token unchanged, Meter with no readings]; the meter's key
//                signs (possession of the key, Chainspace's "signature on the key"), and so does
//                the token's owner (the utility that provisions meters).
//   addReading   inputs [Meter]; outputs [Meter with the period appended]; params: period and the
//                Pedersen commitments Cᵢ = readingᵢ·G + rᵢ·H; the meter's key signs. Periods
//                strictly increase.
//   computeBill  inputs [Meter]; outputs [Meter without that period, Bill]; params: period,
//                tariffs (one per reading, each ≤ kSMetTariffMax), total and a LinearProof that
//                Σ tariffᵢ·readingᵢ = total over the input meter's own commitments, bound to the
//                transaction's inputs; the owner signs. Removing the period makes a second bill for
//                it impossible.
// Readings come from the trusted meter and tariffs are bounded, so Σ tariffᵢ·readingᵢ stays far
// below the group order and the proven congruence is an equality of integers.
//
// Procedures (client side) build WireTransactions; the caller signs them. Thread-safe (no state).
#pragma once

#include <span>
#include <variant>

#include "contracts/privacy_context.h"
#include "ledger/contract.h"
#include "zk/proofs.h"

namespace folio::contracts {

constexpr std::string_view kSMetContract = "folio.SMet";
constexpr size_t kSMetReadingsPerPeriodMax = 1024;
constexpr size_t kSMetOpenPeriodsMax = 256;
constexpr size_t kSMetInfoBytesMax = 256;
constexpr uint64_t kSMetTariffMax = uint64_t{1} << 32;

struct SMetToken {
  crypto::PublicKey owner;
  FOLIO_FIELDS(owner)
  friend bool operator==(const SMetToken&, const SMetToken&) = default;
};

struct SMetPeriodReadings {
  uint64_t period = 0;
  std::vector<zk::Point> commitments;
  FOLIO_FIELDS(period, commitments)
  friend bool operator==(const SMetPeriodReadings&, const SMetPeriodReadings&) = default;
};

struct SMetMeter {
  crypto::PublicKey key;    // the device
  crypto::PublicKey owner;  // the customer
  std::string info;
  std::vector<SMetPeriodReadings> periods;  // strictly increasing period numbers
  FOLIO_FIELDS(key, owner, info, periods)
  friend bool operator==(const SMetMeter&, const SMetMeter&) = default;
  Status check_canonical() const;
};

struct SMetBill {
  crypto::PublicKey meter_key;
  crypto::PublicKey owner;
  uint64_t period = 0;
  std::vector<uint64_t> tariffs;
  uint64_t total = 0;
  FOLIO_FIELDS(meter_key, owner, period, tariffs, total)
  friend bool operator==(const SMetBill&, const SMetBill&) = default;
};

using SMetState = std::variant<SMetToken, SMetMeter, SMetBill>;

struct SMetAddReading {
  uint64_t period = 0;
  std::vector<zk::Point> commitments;
  FOLIO_FIELDS(period, commitments)
};

struct SMetComputeBill {
  uint64_t period = 0;
  std::vector<uint64_t> tariffs;
  uint64_t total = 0;
  zk::LinearProof proof;
  FOLIO_FIELDS(period, tariffs, total, proof)
};

class SMet : public ledger::Contract {
 public:
  std::string_view name() const override { return kSMetContract; }
  Status verify(const ledger::LedgerTransaction& tx) const override;
  Result<std::vector<crypto::PublicKey>> participants(
      const ledger::TransactionState& state) const override;
};

// ---- Procedures (client side) -----------------------------------------------------------------

ledger::TransactionState smet_state(const SMetState& data, const ledger::Party& notary);
Result<SMetState> smet_decode(const ledger::TransactionState& state);

// A period's readings as the meter hands them to the owner: values and their openings.
struct SMetReadingSecrets {
  uint64_t period = 0;
  std::vector<zk::Opening> openings;
};

ledger::WireTransaction smet_init(const crypto::PublicKey& owner, const ledger::Party& notary,
                                  zk::Prng& prng);
Result<ledger::WireTransaction> smet_create_meter(const ledger::StateAndRef& token,
                                                  const crypto::PublicKey& meter_key,
                                                  const crypto::PublicKey& owner, std::string info,
                                                  zk::Prng& prng);
// Commits to the readings; returns the transaction and the openings the owner needs for billing.
Result<std::pair<ledger::WireTransaction, SMetReadingSecrets>> smet_add_reading(
    const ledger::StateAndRef& meter, uint64_t period, std::span<const uint64_t> readings,
    zk::Prng& prng);
// Proves the bill for `secrets.period` under `tariffs` from the openings.
Result<ledger::WireTransaction> smet_compute_bill(const ledger::StateAndRef& meter,
                                                  const SMetReadingSecrets& secrets,
                                                  std::span<const uint64_t> tariffs,
                                                  zk::Prng& prng);

}  // namespace folio::contracts
