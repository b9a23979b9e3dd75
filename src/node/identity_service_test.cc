// The identity service on SQLite and PostgreSQL: X.500 names, well-known parties by name and key,
// confidential keys resolving to their well-known party, conflicts.
#include "node/identity_service.h"

#include <gtest/gtest.h>

#include "storage/testing/both_backends.h"

namespace folio::node {
namespace {

crypto::PublicKey key_named(std::string_view name) {
  return crypto::PrivateKey::ed25519(crypto::sha256(as_bytes(name))).public_key();
}

TEST(X500Name, ParsesIntoOneCanonicalForm) {
  auto a = canonical_name("O=Bank A,L=London,C=GB");
  auto b = canonical_name("  C=GB , L=London,O=Bank A ");
  ASSERT_TRUE(a.ok()) << a.error().message();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, "O=Bank A, L=London, C=GB");
  EXPECT_EQ(*a, *b);
  auto full =
      X500Name::parse("CN=Treasury, OU=Markets, O=Bank A, L=London, ST=Greater London, C=GB");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->common_name, "Treasury");
  EXPECT_EQ(X500Name::parse(full->to_string()).value(), *full);
}

TEST(X500Name, RefusesMalformedNames) {
  for (std::string_view bad :
       {"", "O=Bank A", "O=Bank A, L=London", "O=Bank A, L=London, C=gb",
        "O=Bank A, L=London, C=GBR", "O=, L=London, C=GB", "O=Bank A, O=Bank B, L=London, C=GB",
        "X=1, O=Bank A, L=London, C=GB", "O=Bank \"A\", L=London, C=GB",
        "O=Bank A, L=London, C=GB,", "Bank A"}) {
    auto r = canonical_name(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
  }
  EXPECT_FALSE(canonical_name("O=" + std::string(200, 'a') + ", L=London, C=GB").ok());
}

class IdentityServiceTest : public storage::testing::BothBackends {
 protected:
  std::unique_ptr<IdentityService> open() {
    auto service = IdentityService::open(database());
    EXPECT_TRUE(service.ok()) << service.error().message();
    return service.ok() ? std::move(service).value() : nullptr;
  }
};

// Tests whose subject is not the SQL itself run on SQLite only: each PostgreSQL test process
// starts a throwaway server, and the suite must stay fast.
class IdentityServiceLogicTest : public IdentityServiceTest {};

TEST_P(IdentityServiceLogicTest, WellKnownPartiesByNameAndByKey) {
  auto identities = open();
  ledger::Party bank{"O=Bank A,L=London,C=GB", key_named("bank")};
  ledger::Party shop{"O=Shop, L=Paris, C=FR", key_named("shop")};
  ASSERT_TRUE(identities->register_party(bank).ok());
  ASSERT_TRUE(identities->register_party(shop).ok());
  auto by_name = identities->party_by_name("C=GB, L=London, O=Bank A");
  ASSERT_TRUE(by_name.ok()) << by_name.error().message();
  EXPECT_EQ(*by_name, bank);  // kept as registered, found by any spelling
  auto by_key = identities->party_by_key(shop.owning_key);
  ASSERT_TRUE(by_key.ok());
  EXPECT_EQ(*by_key, shop);
  EXPECT_EQ(identities->party_by_name("O=Nobody, L=Oslo, C=NO").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(identities->party_by_key(key_named("nobody")).error().code, ErrorCode::kNotFound);
  auto all = identities->parties();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
}

TEST_P(IdentityServiceTest, NamesAndKeysBelongToOnePartyOnly) {
  auto identities = open();
  ledger::Party bank{"O=Bank A, L=London, C=GB", key_named("bank")};
  ASSERT_TRUE(identities->register_party(bank).ok());
  // The same binding again, under another spelling: idempotent, the first spelling kept.
  auto again = identities->register_party({"C=GB,L=London,O=Bank A", bank.owning_key});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->name, bank.name);
  auto impostor = identities->register_party({"O=Bank A, L=London, C=GB", key_named("impostor")});
  ASSERT_FALSE(impostor.ok());
  EXPECT_EQ(impostor.error().code, ErrorCode::kConflict);
  auto reused_key = identities->register_party({"O=Bank B, L=London, C=GB", bank.owning_key});
  ASSERT_FALSE(reused_key.ok());
  EXPECT_EQ(reused_key.error().code, ErrorCode::kConflict);
  EXPECT_EQ(identities->register_party({"not a name", key_named("x")}).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_P(IdentityServiceTest, ConfidentialKeysResolveToTheirWellKnownParty) {
  auto identities = open();
  ledger::Party alice{"O=Alice, L=Madrid, C=ES", key_named("alice")};
  ledger::Party bob{"O=Bob, L=Rome, C=IT", key_named("bob")};
  ASSERT_TRUE(identities->register_party(alice).ok());
  ASSERT_TRUE(identities->register_party(bob).ok());
  crypto::PublicKey fresh = key_named("alice's fresh key");
  ASSERT_TRUE(identities->register_confidential(fresh, "O=Alice, L=Madrid, C=ES").ok());
  ASSERT_TRUE(identities->register_confidential(fresh, "C=ES, L=Madrid, O=Alice").ok());
  auto party = identities->party_by_key(fresh);
  ASSERT_TRUE(party.ok());
  EXPECT_EQ(*party, alice);
  EXPECT_TRUE(*identities->is_confidential(fresh));
  EXPECT_FALSE(*identities->is_confidential(alice.owning_key));
  EXPECT_EQ(identities->register_confidential(fresh, bob.name).error().code, ErrorCode::kConflict);
  EXPECT_EQ(identities->register_confidential(bob.owning_key, alice.name).error().code,
            ErrorCode::kConflict);
  EXPECT_EQ(identities->register_confidential(key_named("k"), "O=Carol, L=Bern, C=CH").error().code,
            ErrorCode::kNotFound);
}

TEST_P(IdentityServiceLogicTest, RegistrationOnACallersSessionRollsBackWithIt) {
  auto identities = open();
  ledger::Party carol{"O=Carol, L=Bern, C=CH", key_named("carol")};
  Status failed = database().transact([&](storage::Session& s) -> Status {
    FOLIO_TRY(identities->register_party(s, carol));
    return make_error(ErrorCode::kConflict, "the flow step failed");
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(identities->party_by_name(carol.name).error().code, ErrorCode::kNotFound);
  auto reopened = open();  // migrations already applied
  ASSERT_TRUE(reopened->register_party(carol).ok());
  EXPECT_TRUE(identities->party_by_key(carol.owning_key).ok());
}

FOLIO_INSTANTIATE_BOTH_BACKENDS(IdentityServiceTest);
INSTANTIATE_TEST_SUITE_P(Sqlite, IdentityServiceLogicTest,
                         ::testing::Values(::folio::storage::Backend::kSqlite),
                         ::folio::storage::testing::backend_name);

}  // namespace
}  // namespace folio::node
