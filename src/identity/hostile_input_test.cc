// Mutated and truncated inputs at every boundary where identity data arrives from outside: CSRs,
// certificate chains, private keys, signed node infos, signed maps and parameters, parameter
// files. Each must be refused or accepted with a Result, never crash, and a mutated signed object
// must never verify. Deterministic: the mutations come from a fixed-seed generator.
#include <gtest/gtest.h>

#include <random>

#include "identity/network_map.h"
#include "identity/test_network.h"

namespace folio::identity {
namespace {

constexpr int kMutationsPerInput = 300;

std::string mutate(const std::string& input, std::mt19937_64& rng) {
  std::string out = input;
  switch (rng() % 4) {
    case 0:  // flip one bit
      if (!out.empty()) out[rng() % out.size()] ^= static_cast<char>(1u << (rng() % 8));
      break;
    case 1:  // truncate
      out.resize(out.empty() ? 0 : rng() % out.size());
      break;
    case 2:  // overwrite a byte
      if (!out.empty()) out[rng() % out.size()] = static_cast<char>(rng());
      break;
    default:  // insert a byte
      out.insert(out.begin() + static_cast<long>(out.empty() ? 0 : rng() % out.size()),
                 static_cast<char>(rng()));
      break;
  }
  return out;
}

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    auto authorities = make_test_authorities();
    ASSERT_TRUE(authorities.ok());
    authorities_ = *authorities;
    auto name = X500Name::parse("O=Alice, L=London, C=GB");
    ASSERT_TRUE(name.ok());
    auto node = make_test_node(authorities_, *name);
    ASSERT_TRUE(node.ok());
    node_ = *node;
  }
  TestAuthorities authorities_;
  NodeCertificates node_{};
  std::mt19937_64 rng_{20261122};
};

TEST_F(HostileInput, MutatedPemInputsNeverCrash) {
  auto csr = create_csr(node_.name, node_.node_ca_key);
  ASSERT_TRUE(csr.ok());
  std::string chain = chain_to_pem(node_.identity_chain);
  auto key = node_.identity_key.private_pem();
  ASSERT_TRUE(key.ok());
  int csr_accepted = 0;
  for (int i = 0; i < kMutationsPerInput; ++i) {
    auto verified = verify_csr(mutate(*csr, rng_));
    // A mutation inside the base64 can only keep the CSR valid if it decodes to the same DER
    // (e.g. a flipped bit in the trailing padding or the header line's ignored text).
    if (verified.ok()) {
      ++csr_accepted;
      EXPECT_EQ(verified->subject, node_.name);
    }
    auto parsed = Certificate::chain_from_pem(mutate(chain, rng_));
    if (parsed.ok() && parsed->size() == 3) {
      // Whatever still parses either verifies as the original chain or is refused.
      auto name = verify_node_chain(*parsed, authorities_.root, CertRole::kIdentity);
      if (name.ok()) {
        EXPECT_EQ(*name, node_.name);
      }
    }
    auto mutated_key = KeyPair::from_private_pem(mutate(*key, rng_));
    if (mutated_key.ok()) {
      EXPECT_TRUE(mutated_key->has_private_key());
    }
  }
  EXPECT_LT(csr_accepted, kMutationsPerInput / 2);
}

TEST_F(HostileInput, MutatedSignedObjectsNeverVerify) {
  auto info = make_signed_node_info(node_, {"127.0.0.1:10000"}, {"notary"}, 7);
  ASSERT_TRUE(info.ok());
  Bytes bytes = codec::encode_to_bytes(*info);
  std::string encoded(bytes.begin(), bytes.end());
  for (int i = 0; i < kMutationsPerInput; ++i) {
    std::string bad = mutate(encoded, rng_);
    if (bad == encoded) continue;
    auto decoded = codec::decode_from_bytes<SignedNodeInfo>(as_bytes(bad));
    if (!decoded.ok()) continue;
    auto verified = verify_node_info(*decoded, authorities_.root);
    // The only accepted mutations are those that leave the signed bytes and signature intact,
    // which a strict decoder with one encoding per value does not allow.
    EXPECT_FALSE(verified.ok()) << "mutation " << i << " verified";
  }
  std::string json = R"({"epoch": 1, "notaries": [{"name": "O=Notary, L=London, C=GB", )"
                     R"("kind": "single", "validating": true, "key": ")" +
                     node_.identity_key.public_key()->hex() + R"("}]})";
  ASSERT_TRUE(network_parameters_from_json(json).ok());
  for (int i = 0; i < kMutationsPerInput; ++i) {
    auto parameters = network_parameters_from_json(mutate(json, rng_));
    if (parameters.ok()) {
      EXPECT_TRUE(parameters->check_canonical().ok());
    }
  }
}

TEST(HostileNames, RandomTextNeverCrashesAndAcceptedNamesRoundTrip) {
  std::mt19937_64 rng(7);
  const std::string alphabet =
      "OLCUSTN=, \t\"\\+;$<>#'\x7f\xc2\x85\xe2\x82\xac"
      "abcXYZ019";
  for (int i = 0; i < 5000; ++i) {
    std::string text;
    size_t length = rng() % 40;
    for (size_t j = 0; j < length; ++j) text += alphabet[rng() % alphabet.size()];
    if (rng() % 2) text = "O=Al" + text + ",L=London,C=GB";
    auto name = X500Name::parse(text);
    if (!name.ok()) continue;
    auto again = X500Name::parse(name->str());
    ASSERT_TRUE(again.ok()) << text;
    EXPECT_EQ(*again, *name);
  }
}

}  // namespace
}  // namespace folio::identity
