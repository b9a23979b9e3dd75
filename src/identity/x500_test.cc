#include "identity/x500.h"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include "identity/certificates.h"

namespace folio::identity {
namespace {

TEST(X500Name, ParsesCordaStyleNameAndPrintsCanonically) {
  auto name = X500Name::parse("O=Alice,L=London,C=GB");
  ASSERT_TRUE(name.ok()) << name.error().message();
  EXPECT_EQ(name->organisation, "Alice");
  EXPECT_EQ(name->locality, "London");
  EXPECT_EQ(name->country, "GB");
  EXPECT_EQ(name->str(), "O=Alice, L=London, C=GB");
}

TEST(X500Name, OrderAndSpacesDoNotMatterCanonicalFormIsStable) {
  auto a = X500Name::parse("C=US, ST=New York, L=New York, OU=Trading, O=Bank B Inc, CN=Desk 1");
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ(a->str(), "CN=Desk 1, OU=Trading, O=Bank B Inc, L=New York, ST=New York, C=US");
  auto b = X500Name::parse(a->str());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(X500Name, AcceptsUnicodeOrganisation) {
  auto name = X500Name::parse("O=Zürcher Bank, L=Zürich, C=CH");
  ASSERT_TRUE(name.ok()) << name.error().message();
  EXPECT_EQ(name->locality, "Zürich");
}

TEST(X500Name, RejectsBadNames) {
  const std::vector<std::string> bad = {
      "",                                               // nothing
      "O=Alice,L=London",                               // no country
      "L=London,C=GB",                                  // no organisation
      "O=Alice,C=GB",                                   // no locality
      "O=Alice,L=London,C=gb",                          // lower-case country
      "O=Alice,L=London,C=GBR",                         // three-letter country
      "O=Alice,L=London,C=G1",                          // digit in country
      "O=Alice,O=Bob,L=London,C=GB",                    // duplicate
      "O=Alice,L=London,C=GB,X=1",                      // unknown attribute
      "o=Alice,L=London,C=GB",                          // lower-case key
      "O=A,L=London,C=GB",                              // organisation too short
      "O=Alice,L=London,C=GB,",                         // trailing comma
      ",O=Alice,L=London,C=GB",                         // leading comma
      "O=Alice,,L=London,C=GB",                         // empty part
      "O=,L=London,C=GB",                               // empty value
      "O=Alice,L=London,C",                             // no '='
      "O=Al=ice,L=London,C=GB",                         // '=' in value
      "O=Al\"ice,L=London,C=GB",                        // quote
      "O=Al\\ice,L=London,C=GB",                        // backslash
      "O=Al$ice,L=London,C=GB",                         // dollar
      "O=Al+ice,L=London,C=GB",                         // plus (multi-valued RDN syntax)
      "O=Al  ice,L=London,C=GB",                        // double space
      std::string("O=Al\0ice,L=London,C=GB", 22),       // NUL
      "O=Al\tice,L=London,C=GB",                        // tab
      "O=Al\x7fice,L=London,C=GB",                      // DEL
      "O=Al\xc2\x85ice,L=London,C=GB",                  // C1 control (NEL)
      "O=Al\xff\xfeice,L=London,C=GB",                  // invalid UTF-8
      "O=Al\xc0\xafice,L=London,C=GB",                  // overlong UTF-8
      "O=" + std::string(129, 'a') + ",L=London,C=GB",  // organisation too long
      "O=Alice,L=" + std::string(65, 'a') + ",C=GB",    // locality too long
      "CN=" + std::string(65, 'a') + ",O=Alice,L=London,C=GB",
      std::string(5000, ','),  // long hostile text
  };
  for (const std::string& text : bad) {
    auto name = X500Name::parse(text);
    EXPECT_FALSE(name.ok()) << "accepted: " << text;
  }
}

TEST(X500Name, ValidateCatchesHandBuiltNames) {
  X500Name name{"", "", "Alice", "London", "", "GB"};
  EXPECT_TRUE(name.validate().ok());
  name.organisation = " Alice";
  EXPECT_FALSE(name.validate().ok());
  name.organisation = "Alice";
  name.state = std::string(65, 's');
  EXPECT_FALSE(name.validate().ok());
}

TEST(X500Name, RoundTripsThroughOpenSslName) {
  auto name = X500Name::parse("CN=Notary 1, OU=Ops, O=Notary Service, L=Zürich, ST=ZH, C=CH");
  ASSERT_TRUE(name.ok());
  X509_NAME* x = to_x509_name(*name);
  auto back = from_x509_name(x);
  X509_NAME_free(x);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, *name);
}

TEST(X500Name, OpenSslNameWithUnknownOrRepeatedAttributeIsRejected) {
  auto name = X500Name::parse("O=Alice, L=London, C=GB");
  ASSERT_TRUE(name.ok());
  X509_NAME* x = to_x509_name(*name);
  ASSERT_EQ(X509_NAME_add_entry_by_txt(x, "emailAddress", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>("a@b.c"), -1, -1, 0),
            1);
  EXPECT_FALSE(from_x509_name(x).ok());
  X509_NAME_free(x);
  x = to_x509_name(*name);
  ASSERT_EQ(X509_NAME_add_entry_by_NID(x, NID_organizationName, MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>("Bob"), -1, -1, 0),
            1);
  EXPECT_FALSE(from_x509_name(x).ok());
  X509_NAME_free(x);
}

}  // namespace
}  // namespace folio::identity
