// Property tests of the canonical encoding of every ledger and contract type (rapidcheck): each
// value round-trips to an equal value and byte-identical re-encoding; every strict prefix of a
// valid encoding fails to decode; random and mutated bytes either decode to a value that re-encodes
// to exactly those bytes, or fail, and never crash. Also properties of tear-offs and proofs over
// random transactions.
//
// Generators build canonical values only (printable non-empty names, distinct signers, compound
// keys in canonical form), since the decoder rightly refuses anything else. Container sizes are
// kept small so that the suite stays fast under the sanitizers.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "contracts/cash.h"
#include "contracts/cscoin.h"
#include "contracts/timelock.h"
#include "ledger/ledger_transaction.h"

namespace folio::ledger {
namespace {

using contracts::CashAmount;
using contracts::CashState;
using contracts::CsCoinAccount;
using contracts::CsCoinValueFlow;
using contracts::IssuedCurrency;
using contracts::PartyAndReference;
using contracts::TimeLockState;
using crypto::PublicKey;

namespace gen {

template <class T>
using Gen = rc::Gen<T>;

crypto::Hash256 seed_of(int n) {
  crypto::Hash256 seed;
  seed.bytes.fill(static_cast<uint8_t>(n));
  return seed;
}

// Keys are drawn from a fixed pool: deriving keys is slow, and the codec's interest is in their
// kinds (Ed25519, P-256, compound, nested compound), not in their number.
const std::vector<PublicKey>& key_pool() {
  static const std::vector<PublicKey> pool = [] {
    std::vector<PublicKey> keys;
    for (int i = 1; i <= 4; ++i)
      keys.push_back(crypto::PrivateKey::ed25519(seed_of(i)).public_key());
    for (int i = 5; i <= 6; ++i)
      keys.push_back(crypto::PrivateKey::from_seed(crypto::SignatureScheme::kEcdsaP256, seed_of(i))
                         .value()
                         .public_key());
    PublicKey either = PublicKey::compound(1, {{keys[0], 1}, {keys[4], 1}}).value();
    keys.push_back(either);
    keys.push_back(PublicKey::compound(2, {{keys[1], 1}, {keys[2], 2}, {either, 1}}).value());
    return keys;
  }();
  return pool;
}

Gen<PublicKey> public_key() { return rc::gen::elementOf(key_pool()); }

template <size_t N>
Gen<FixedBytes<N>> fixed_bytes() {
  return rc::gen::map(rc::gen::container<std::vector<uint8_t>>(N, rc::gen::arbitrary<uint8_t>()),
                      [](const std::vector<uint8_t>& raw) { return FixedBytes<N>::from(raw); });
}
Gen<Hash256> hash() { return fixed_bytes<32>(); }

Gen<Bytes> bytes(size_t max) {
  return rc::gen::mapcat(rc::gen::inRange<size_t>(0, max + 1), [](size_t n) {
    return rc::gen::container<Bytes>(n, rc::gen::arbitrary<uint8_t>());
  });
}

// Printable ASCII, 1 to 24 characters: what names must be.
Gen<std::string> name() {
  return rc::gen::mapcat(rc::gen::inRange<size_t>(1, 25), [](size_t n) {
    return rc::gen::container<std::string>(n, rc::gen::inRange<char>(0x20, 0x7f));
  });
}

template <class T>
Gen<std::vector<T>> small_vector(Gen<T> element, size_t max) {
  return rc::gen::mapcat(rc::gen::inRange<size_t>(0, max + 1), [element](size_t n) {
    return rc::gen::container<std::vector<T>>(n, element);
  });
}

template <class T>
Gen<std::optional<T>> optional(Gen<T> value) {
  return rc::gen::mapcat(rc::gen::arbitrary<bool>(), [value](bool present) {
    if (!present) return rc::gen::just(std::optional<T>());
    return rc::gen::map(value, [](T v) { return std::optional<T>(std::move(v)); });
  });
}

Gen<Timestamp> timestamp() {
  return rc::gen::map(rc::gen::arbitrary<int64_t>(), [](int64_t t) { return Timestamp(t); });
}

// A non-empty set of distinct keys, in pool order.
Gen<std::vector<PublicKey>> signers() {
  return rc::gen::map(
      rc::gen::container<std::vector<bool>>(key_pool().size(), rc::gen::arbitrary<bool>()),
      [](const std::vector<bool>& chosen) {
        std::vector<PublicKey> out;
        for (size_t i = 0; i < chosen.size(); ++i)
          if (chosen[i]) out.push_back(key_pool()[i]);
        if (out.empty()) out.push_back(key_pool()[0]);
        return out;
      });
}

Gen<StateRef> state_ref() {
  return rc::gen::map(rc::gen::tuple(hash(), rc::gen::arbitrary<uint32_t>()),
                      [](const std::tuple<Hash256, uint32_t>& t) {
                        return StateRef{TxId(std::get<0>(t)), std::get<1>(t)};
                      });
}

Gen<Party> party() {
  return rc::gen::map(rc::gen::tuple(name(), public_key()),
                      [](const std::tuple<std::string, PublicKey>& t) {
                        return Party{std::get<0>(t), std::get<1>(t)};
                      });
}

Gen<AlwaysAcceptConstraint> always_accept() { return rc::gen::just(AlwaysAcceptConstraint{}); }
Gen<HashConstraint> hash_constraint() {
  return rc::gen::map(hash(), [](const Hash256& h) { return HashConstraint{AttachmentId(h)}; });
}
Gen<SignatureConstraint> signature_constraint() {
  return rc::gen::map(public_key(), [](const PublicKey& k) { return SignatureConstraint{k}; });
}
Gen<AttachmentConstraint> constraint() {
  return rc::gen::oneOf(
      rc::gen::map(always_accept(),
                   [](AlwaysAcceptConstraint c) { return AttachmentConstraint(c); }),
      rc::gen::map(hash_constraint(), [](HashConstraint c) { return AttachmentConstraint(c); }),
      rc::gen::map(signature_constraint(),
                   [](SignatureConstraint c) { return AttachmentConstraint(c); }));
}

Gen<TransactionState> transaction_state() {
  return rc::gen::map(rc::gen::tuple(bytes(40), name(), party(),
                                     optional(rc::gen::arbitrary<uint32_t>()), constraint()),
                      [](const std::tuple<Bytes, std::string, Party, std::optional<uint32_t>,
                                          AttachmentConstraint>& t) {
                        return TransactionState{std::get<0>(t), std::get<1>(t), std::get<2>(t),
                                                std::get<3>(t), std::get<4>(t)};
                      });
}

Gen<Command> command() {
  return rc::gen::map(
      rc::gen::tuple(name(), name(), bytes(24), signers()),
      [](const std::tuple<std::string, std::string, Bytes, std::vector<PublicKey>>& t) {
        return Command{std::get<0>(t), std::get<1>(t), std::get<2>(t), std::get<3>(t)};
      });
}

Gen<TimeWindow> time_window() {
  return rc::gen::map(rc::gen::tuple(optional(timestamp()), optional(timestamp())),
                      [](const std::tuple<std::optional<Timestamp>, std::optional<Timestamp>>& t) {
                        return TimeWindow{std::get<0>(t), std::get<1>(t)};
                      });
}

Gen<AttachmentId> attachment_id() {
  return rc::gen::map(hash(), [](const Hash256& h) { return AttachmentId(h); });
}

Gen<WireTransaction> wire_transaction() {
  auto ids = rc::gen::tuple(small_vector(state_ref(), 3), small_vector(state_ref(), 2),
                            small_vector(attachment_id(), 2), fixed_bytes<32>());
  auto body = rc::gen::tuple(
      small_vector(transaction_state(), 3), small_vector(command(), 2), optional(party()),
      optional(time_window()),
      optional(rc::gen::map(hash(), [](const Hash256& h) { return NetworkParametersHash(h); })));
  return rc::gen::map(rc::gen::tuple(ids, body), [](const auto& t) {
    const auto& [inputs, references, attachments, salt] = std::get<0>(t);
    const auto& [outputs, commands, notary, window, parameters] = std::get<1>(t);
    WireTransaction tx;
    tx.inputs = inputs;
    tx.references = references;
    tx.attachments = attachments;
    tx.salt = salt;
    tx.outputs = outputs;
    tx.commands = commands;
    tx.notary = notary;
    tx.time_window = window;
    tx.network_parameters_hash = parameters;
    return tx;
  });
}

Gen<crypto::Signature> signature() {
  return rc::gen::map(
      rc::gen::tuple(
          rc::gen::element(crypto::SignatureScheme::kEd25519, crypto::SignatureScheme::kEcdsaP256),
          fixed_bytes<crypto::kSignatureBytes>()),
      [](const std::tuple<crypto::SignatureScheme, FixedBytes<crypto::kSignatureBytes>>& t) {
        return crypto::Signature{std::get<0>(t), std::get<1>(t)};
      });
}

Gen<TransactionSignature> transaction_signature() {
  return rc::gen::map(rc::gen::tuple(public_key(), signature()),
                      [](const std::tuple<PublicKey, crypto::Signature>& t) {
                        return TransactionSignature{std::get<0>(t), std::get<1>(t)};
                      });
}

Gen<SignedTransaction> signed_transaction() {
  return rc::gen::map(rc::gen::tuple(wire_transaction(), small_vector(transaction_signature(), 3)),
                      [](const std::tuple<WireTransaction, std::vector<TransactionSignature>>& t) {
                        return SignedTransaction{std::get<0>(t), std::get<1>(t)};
                      });
}

// Whether a random tear-off keeps component i of group g: one bit of `mask` per position.
bool kept(uint64_t mask, ComponentGroup g, uint32_t i) {
  return ((mask >> ((static_cast<uint32_t>(g) * 5 + i) % 64)) & 1) != 0;
}

struct TearOff {
  WireTransaction tx;
  uint64_t mask = 0;
  FilteredTransaction filtered() const {
    uint64_t m = mask;
    return tx.filter([m](ComponentGroup g, uint32_t i) { return kept(m, g, i); });
  }
};

Gen<TearOff> tear_off() {
  return rc::gen::map(rc::gen::tuple(wire_transaction(), rc::gen::arbitrary<uint64_t>()),
                      [](const std::tuple<WireTransaction, uint64_t>& t) {
                        return TearOff{std::get<0>(t), std::get<1>(t)};
                      });
}

Gen<FilteredTransaction> filtered_transaction() {
  return rc::gen::map(tear_off(), [](const TearOff& t) { return t.filtered(); });
}

// A transaction with at least one output, and a choice among its components.
Gen<std::pair<WireTransaction, uint32_t>> transaction_and_choice() {
  return rc::gen::map(
      rc::gen::tuple(wire_transaction(), transaction_state(), rc::gen::arbitrary<uint32_t>()),
      [](const std::tuple<WireTransaction, TransactionState, uint32_t>& t) {
        WireTransaction tx = std::get<0>(t);
        if (tx.outputs.empty()) tx.outputs.push_back(std::get<1>(t));
        return std::make_pair(tx, std::get<2>(t));
      });
}

Gen<ComponentProof> component_proof() {
  return rc::gen::map(transaction_and_choice(), [](const std::pair<WireTransaction, uint32_t>& t) {
    std::vector<std::pair<ComponentGroup, uint32_t>> positions;
    for (uint32_t g = 0; g < kComponentGroupCount; ++g) {
      auto group = static_cast<ComponentGroup>(g);
      for (uint32_t i = 0; i < t.first.components(group).size(); ++i)
        positions.emplace_back(group, i);
    }
    auto [group, index] = positions[t.second % positions.size()];
    return t.first.prove(group, index);
  });
}

Gen<ProvedState> proved_state() {
  return rc::gen::map(transaction_and_choice(), [](const std::pair<WireTransaction, uint32_t>& t) {
    return prove_output(t.first, t.first.id(),
                        t.second % static_cast<uint32_t>(t.first.outputs.size()));
  });
}

Gen<StateAndRef> state_and_ref() {
  return rc::gen::map(rc::gen::tuple(transaction_state(), state_ref()),
                      [](const std::tuple<TransactionState, StateRef>& t) {
                        return StateAndRef{std::get<0>(t), std::get<1>(t)};
                      });
}

Gen<Attachment> attachment() {
  return rc::gen::map(
      rc::gen::tuple(attachment_id(), small_vector(name(), 3), small_vector(public_key(), 3)),
      [](const std::tuple<AttachmentId, std::vector<std::string>, std::vector<PublicKey>>& t) {
        return Attachment{std::get<0>(t), std::get<1>(t), std::get<2>(t)};
      });
}

Gen<LedgerTransaction> ledger_transaction() {
  auto resolved = rc::gen::tuple(hash(), small_vector(state_and_ref(), 2),
                                 small_vector(state_and_ref(), 2), small_vector(attachment(), 2));
  return rc::gen::map(rc::gen::tuple(resolved, wire_transaction()), [](const auto& t) {
    const auto& [id, inputs, references, attachments] = std::get<0>(t);
    const WireTransaction& wire = std::get<1>(t);
    LedgerTransaction ltx;
    ltx.id = TxId(id);
    ltx.inputs = inputs;
    ltx.references = references;
    ltx.outputs = wire.outputs;
    ltx.commands = wire.commands;
    ltx.attachments = attachments;
    ltx.notary = wire.notary;
    ltx.time_window = wire.time_window;
    ltx.network_parameters_hash = wire.network_parameters_hash;
    return ltx;
  });
}

// ---- The contracts' types ----

Gen<IssuedCurrency> issued_currency() {
  auto currency = rc::gen::container<std::string>(3, rc::gen::inRange<char>('A', 'Z' + 1));
  return rc::gen::map(
      rc::gen::tuple(party(), bytes(contracts::kIssuerReferenceBytesMax), currency),
      [](const std::tuple<Party, Bytes, std::string>& t) {
        return IssuedCurrency{PartyAndReference{std::get<0>(t), std::get<1>(t)}, std::get<2>(t)};
      });
}

Gen<CashAmount> cash_amount() {
  return rc::gen::map(rc::gen::tuple(rc::gen::arbitrary<uint64_t>(), issued_currency()),
                      [](const std::tuple<uint64_t, IssuedCurrency>& t) {
                        return CashAmount{std::get<0>(t), std::get<1>(t)};
                      });
}

Gen<CashState> cash_state() {
  return rc::gen::map(rc::gen::tuple(cash_amount(), public_key()),
                      [](const std::tuple<CashAmount, PublicKey>& t) {
                        return CashState{std::get<0>(t), std::get<1>(t)};
                      });
}

Gen<CsCoinAccount> cscoin_account() {
  return rc::gen::map(rc::gen::tuple(public_key(), rc::gen::arbitrary<uint64_t>()),
                      [](const std::tuple<PublicKey, uint64_t>& t) {
                        return CsCoinAccount{std::get<0>(t), std::get<1>(t)};
                      });
}

Gen<CsCoinValueFlow> cscoin_value_flow() {
  return rc::gen::map(rc::gen::tuple(public_key(), public_key(), rc::gen::arbitrary<uint64_t>()),
                      [](const std::tuple<PublicKey, PublicKey, uint64_t>& t) {
                        return CsCoinValueFlow{std::get<0>(t), std::get<1>(t), std::get<2>(t)};
                      });
}

Gen<TimeLockState> timelock_state() {
  return rc::gen::map(rc::gen::tuple(timestamp(), public_key()),
                      [](const std::tuple<Timestamp, PublicKey>& t) {
                        return TimeLockState{std::get<0>(t), std::get<1>(t)};
                      });
}

}  // namespace gen

// ---- Properties of the encoding ----------------------------------------------------------------

// Every strict prefix is checked for short encodings; longer ones are checked at every length up
// to 64 bytes, then at a stride, then at each of the last 64 lengths, which bounds the suite's time
// while still cutting inside every field of the common shapes.
std::vector<size_t> prefix_lengths(size_t size) {
  std::vector<size_t> out;
  for (size_t n = 0; n < size; ++n)
    if (size <= 512 || n < 64 || n + 64 >= size || n % 17 == 0) out.push_back(n);
  return out;
}

template <class T>
void check_encoding(const T& value) {
  Bytes encoded = codec::encode_to_bytes(value);
  auto decoded = codec::decode_from_bytes<T>(encoded);
  if (!decoded.ok()) RC_FAIL("a generated value does not decode: " + decoded.error().message());
  RC_ASSERT(*decoded == value);
  RC_ASSERT(codec::encode_to_bytes(*decoded) == encoded);
  for (size_t n : prefix_lengths(encoded.size()))
    RC_ASSERT_FALSE(codec::decode_from_bytes<T>(ByteView(encoded.data(), n)).ok());
}

// Whatever decodes must re-encode to exactly the input (one encoding per value).
template <class T>
void check_canonical_or_fails(ByteView input) {
  auto decoded = codec::decode_from_bytes<T>(input);
  if (decoded.ok())
    RC_ASSERT(codec::encode_to_bytes(*decoded) == Bytes(input.begin(), input.end()));
}

// A valid encoding with one byte changed, inserted or removed.
template <class T>
void check_mutations(const T& value) {
  Bytes encoded = codec::encode_to_bytes(value);
  const auto position = *rc::gen::inRange<size_t>(0, encoded.size() + 1);
  const auto byte = *rc::gen::arbitrary<uint8_t>();
  Bytes changed = encoded, inserted = encoded, removed = encoded;
  inserted.insert(inserted.begin() + static_cast<std::ptrdiff_t>(position), byte);
  if (position < encoded.size()) {
    changed[position] ^= static_cast<uint8_t>(byte | 1);
    removed.erase(removed.begin() + static_cast<std::ptrdiff_t>(position));
  }
  check_canonical_or_fails<T>(changed);
  check_canonical_or_fails<T>(inserted);
  check_canonical_or_fails<T>(removed);
}

#define FOLIO_CODEC_PROPERTIES(Name, Type, generator)                                         \
  RC_GTEST_PROP(CodecProperty, Name##RoundTripsAndPrefixesFail, ()) {                         \
    check_encoding<Type>(*generator);                                                         \
  }                                                                                           \
  RC_GTEST_PROP(CodecProperty, Name##MutatedEncodingsDecodeCanonicallyOrFail, ()) {           \
    check_mutations<Type>(*generator);                                                        \
  }                                                                                           \
  RC_GTEST_PROP(CodecProperty, Name##RandomBytesDecodeCanonicallyOrFail, (const Bytes& in)) { \
    check_canonical_or_fails<Type>(in);                                                       \
  }

FOLIO_CODEC_PROPERTIES(StateRef, StateRef, gen::state_ref())
FOLIO_CODEC_PROPERTIES(Party, Party, gen::party())
FOLIO_CODEC_PROPERTIES(AlwaysAcceptConstraint, AlwaysAcceptConstraint, gen::always_accept())
FOLIO_CODEC_PROPERTIES(HashConstraint, HashConstraint, gen::hash_constraint())
FOLIO_CODEC_PROPERTIES(SignatureConstraint, SignatureConstraint, gen::signature_constraint())
FOLIO_CODEC_PROPERTIES(AttachmentConstraint, AttachmentConstraint, gen::constraint())
FOLIO_CODEC_PROPERTIES(TransactionState, TransactionState, gen::transaction_state())
FOLIO_CODEC_PROPERTIES(Command, Command, gen::command())
FOLIO_CODEC_PROPERTIES(TimeWindow, TimeWindow, gen::time_window())
FOLIO_CODEC_PROPERTIES(WireTransaction, WireTransaction, gen::wire_transaction())
FOLIO_CODEC_PROPERTIES(TransactionSignature, TransactionSignature, gen::transaction_signature())
FOLIO_CODEC_PROPERTIES(SignedTransaction, SignedTransaction, gen::signed_transaction())
FOLIO_CODEC_PROPERTIES(FilteredTransaction, FilteredTransaction, gen::filtered_transaction())
FOLIO_CODEC_PROPERTIES(ComponentProof, ComponentProof, gen::component_proof())
FOLIO_CODEC_PROPERTIES(ProvedState, ProvedState, gen::proved_state())
FOLIO_CODEC_PROPERTIES(StateAndRef, StateAndRef, gen::state_and_ref())
FOLIO_CODEC_PROPERTIES(Attachment, Attachment, gen::attachment())
FOLIO_CODEC_PROPERTIES(LedgerTransaction, LedgerTransaction, gen::ledger_transaction())
FOLIO_CODEC_PROPERTIES(IssuedCurrency, IssuedCurrency, gen::issued_currency())
FOLIO_CODEC_PROPERTIES(CashAmount, CashAmount, gen::cash_amount())
FOLIO_CODEC_PROPERTIES(CashState, CashState, gen::cash_state())
FOLIO_CODEC_PROPERTIES(CsCoinAccount, CsCoinAccount, gen::cscoin_account())
FOLIO_CODEC_PROPERTIES(CsCoinValueFlow, CsCoinValueFlow, gen::cscoin_value_flow())
FOLIO_CODEC_PROPERTIES(TimeLockState, TimeLockState, gen::timelock_state())

// The generators must not be so tame that the properties above test nothing: the decoder refuses
// what the types' canonical checks refuse.
TEST(CodecProperty, NonCanonicalValuesAreRefused) {
  Party unnamed{"", gen::key_pool()[0]};
  EXPECT_FALSE(codec::decode_from_bytes<Party>(codec::encode_to_bytes(unnamed)).ok());
  Party control{"O=Bank\n", gen::key_pool()[0]};
  EXPECT_FALSE(codec::decode_from_bytes<Party>(codec::encode_to_bytes(control)).ok());
  Command unsigned_command{"test.Dummy", "Go", {}, {}};
  EXPECT_FALSE(codec::decode_from_bytes<Command>(codec::encode_to_bytes(unsigned_command)).ok());
  Command twice{"test.Dummy", "Go", {}, {gen::key_pool()[0], gen::key_pool()[0]}};
  EXPECT_FALSE(codec::decode_from_bytes<Command>(codec::encode_to_bytes(twice)).ok());
  IssuedCurrency lower{PartyAndReference{Party{"O=Bank", gen::key_pool()[0]}, {}}, "gbp"};
  EXPECT_FALSE(codec::decode_from_bytes<IssuedCurrency>(codec::encode_to_bytes(lower)).ok());
  IssuedCurrency long_reference{
      PartyAndReference{Party{"O=Bank", gen::key_pool()[0]},
                        Bytes(contracts::kIssuerReferenceBytesMax + 1, 7)},
      "GBP"};
  EXPECT_FALSE(
      codec::decode_from_bytes<IssuedCurrency>(codec::encode_to_bytes(long_reference)).ok());
  Party long_name{std::string(kPartyNameBytesMax + 1, 'x'), gen::key_pool()[0]};
  EXPECT_FALSE(codec::decode_from_bytes<Party>(codec::encode_to_bytes(long_name)).ok());
  Party longest_name{std::string(kPartyNameBytesMax, 'x'), gen::key_pool()[0]};
  EXPECT_TRUE(codec::decode_from_bytes<Party>(codec::encode_to_bytes(longest_name)).ok());
  TransactionState nameless{
      {}, "", Party{"O=Notary", gen::key_pool()[0]}, std::nullopt, AlwaysAcceptConstraint{}};
  EXPECT_FALSE(codec::decode_from_bytes<TransactionState>(codec::encode_to_bytes(nameless)).ok());
  WireTransaction crowded;
  crowded.inputs.resize(kComponentsPerGroupMax + 1);
  EXPECT_FALSE(codec::decode_from_bytes<WireTransaction>(codec::encode_to_bytes(crowded)).ok());
  crowded.inputs.resize(kComponentsPerGroupMax);
  EXPECT_TRUE(codec::decode_from_bytes<WireTransaction>(codec::encode_to_bytes(crowded)).ok());
  Command crowd{"test.Dummy", "Go", {}, {}};
  for (uint8_t i = 0; i <= kSignersPerCommandMax; ++i) {
    crypto::Hash256 raw;
    raw.bytes[0] = i;
    crowd.signers.push_back(PublicKey::ed25519(raw));
  }
  EXPECT_FALSE(codec::decode_from_bytes<Command>(codec::encode_to_bytes(crowd)).ok());
  crowd.signers.pop_back();
  EXPECT_TRUE(codec::decode_from_bytes<Command>(codec::encode_to_bytes(crowd)).ok());
  Bytes encoded = codec::encode_to_bytes(StateRef{});
  encoded.push_back(0);
  EXPECT_FALSE(codec::decode_from_bytes<StateRef>(encoded).ok()) << "a trailing byte";
}

// ---- Properties of tear-offs and proofs --------------------------------------------------------

RC_GTEST_PROP(TearOff, RandomTearOffVerifiesAndRevealsExactlyWhatWasKept, ()) {
  const auto t = *gen::tear_off();
  FilteredTransaction ftx = t.filtered();
  RC_ASSERT(ftx.id == t.tx.id());
  Status verified = ftx.verify();
  if (!verified.ok()) RC_FAIL(verified.error().message());
  for (uint32_t g = 0; g < kComponentGroupCount; ++g) {
    auto group = static_cast<ComponentGroup>(g);
    std::vector<Bytes> parts = t.tx.components(group);
    std::vector<uint32_t> expected;
    for (uint32_t i = 0; i < parts.size(); ++i)
      if (gen::kept(t.mask, group, i)) expected.push_back(i);
    const FilteredGroup* fg = ftx.find(group);
    std::vector<uint32_t> revealed;
    if (fg != nullptr)
      for (const FilteredComponent& c : fg->components) {
        RC_ASSERT(c.data == parts[c.index]);
        revealed.push_back(c.index);
      }
    RC_ASSERT(revealed == expected);
    bool all_visible =
        parts.empty() ? gen::kept(t.mask, group, 0) : expected.size() == parts.size();
    RC_ASSERT(ftx.check_all_visible(group).ok() == all_visible);
  }
  auto outputs = ftx.revealed<TransactionState>(ComponentGroup::kOutputs);
  RC_ASSERT(outputs.ok());
  for (const auto& [index, state] : *outputs) RC_ASSERT(state == t.tx.outputs[index]);
  auto inputs = ftx.revealed<StateRef>(ComponentGroup::kInputs);
  RC_ASSERT(inputs.ok());
  for (const auto& [index, ref] : *inputs) RC_ASSERT(ref == t.tx.inputs[index]);
}

RC_GTEST_PROP(TearOff, FlippingAnyRevealedByteIsDetected, ()) {
  const auto [tx, choice] = *gen::transaction_and_choice();
  FilteredTransaction ftx = tx.filter([](ComponentGroup, uint32_t) { return true; });
  std::vector<FilteredComponent*> revealed;
  for (FilteredGroup& g : ftx.groups)
    for (FilteredComponent& c : g.components) revealed.push_back(&c);
  RC_ASSERT(!revealed.empty());  // there is always an output
  FilteredComponent& component = *revealed[choice % revealed.size()];
  RC_ASSERT(!component.data.empty());  // no component encodes to nothing
  component.data[*rc::gen::inRange<size_t>(0, component.data.size())] ^=
      *rc::gen::inRange<uint8_t>(1, 255);
  RC_ASSERT_FALSE(ftx.verify().ok());
}

RC_GTEST_PROP(TearOff, ProofsOfRandomComponentsVerifyOnlyAgainstTheirOwnId, ()) {
  const auto proof = *gen::component_proof();
  const auto other = *gen::hash();
  // Recover the id the proof leads to from its own branches, then check both directions.
  auto inner = crypto::merkle_compute_root(
      component_leaf(proof.component.nonce, proof.component.data), proof.component.proof);
  RC_ASSERT(inner.has_value());
  auto id = crypto::merkle_compute_root(group_root(proof.count, *inner), proof.group_proof);
  RC_ASSERT(id.has_value());
  RC_ASSERT(proof.verify(TxId(*id)).ok());
  RC_PRE(other != *id);
  RC_ASSERT_FALSE(proof.verify(TxId(other)).ok());
}

RC_GTEST_PROP(TearOff, ProvedStatesOfRandomTransactionsVerify, ()) {
  const auto proved = *gen::proved_state();
  RC_ASSERT(proved.verify().ok());
}

}  // namespace
}  // namespace folio::ledger
