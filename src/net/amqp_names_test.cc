#include "net/amqp_names.h"

#include <gtest/gtest.h>

namespace folio::net {
namespace {

TEST(CanonicalX500, CordaFormAndOpenSslFormAgree) {
  auto corda = canonical_x500("O=Bank A, L=London, C=GB");
  auto openssl = canonical_x500("C=GB,L=London,O=Bank A");
  ASSERT_TRUE(corda.ok()) << corda.error().message();
  ASSERT_TRUE(openssl.ok()) << openssl.error().message();
  EXPECT_EQ(*corda, *openssl);
  EXPECT_EQ(*corda, "O=Bank A, L=London, C=GB");
}

TEST(CanonicalX500, OptionalAttributesKeepTheirPlace) {
  auto name = canonical_x500("C=US,ST=NY,L=New York,O=Bank,OU=Desk,CN=Trader");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(*name, "CN=Trader, OU=Desk, O=Bank, L=New York, ST=NY, C=US");
}

TEST(CanonicalX500, DifferentNamesStayDifferent) {
  EXPECT_NE(*canonical_x500("O=Bank A, L=London, C=GB"), *canonical_x500("O=Bank B, L=London, C=GB"));
}

TEST(CanonicalX500, RejectsAmbiguousOrIncompleteNames) {
  for (const char* bad : {"", "O=Bank, L=London", "O=Bank, L=London, C=GB, O=Other",
                          "O=Bank\\, Evil, L=London, C=GB", "O=Bank, L=London, C=GB, X=1",
                          "O=, L=London, C=GB", "O=Bank+CN=x, L=London, C=GB", "garbage",
                          "O=Bank, L=Lon=don, C=GB"}) {
    EXPECT_FALSE(canonical_x500(bad).ok()) << bad;
  }
  EXPECT_FALSE(canonical_x500(std::string(2000, 'O')).ok());
}

}  // namespace
}  // namespace folio::net
