#include <gtest/gtest.h>

#include "base/bytes.h"
#include "base/result.h"
#include "base/strong.h"

namespace folio {
namespace {

Result<int> parse_positive(int x) {
  if (x <= 0) return make_error(ErrorCode::kInvalidArgument, "not positive: " + std::to_string(x));
  return x;
}

Result<int> doubled(int x) {
  FOLIO_ASSIGN_OR_RETURN(int v, parse_positive(x));
  return v * 2;
}

Status check(int x) {
  FOLIO_TRY(parse_positive(x));
  return ok_status();
}

TEST(Result, CarriesValueOrError) {
  auto good = doubled(4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 8);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().message(), "invalid argument: not positive: -1");
  EXPECT_TRUE(check(1).ok());
  EXPECT_FALSE(check(0).ok());
}

TEST(ResultDeathTest, ValueOfErrorAsserts) {
  auto bad = parse_positive(0);
  EXPECT_DEATH((void)bad.value(), "FOLIO_ASSERT failed");
}

TEST(Hex, RoundTripsAndRejectsBadInput) {
  Bytes raw = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(to_hex(raw), "0001abff");
  auto back = from_hex("0001ABff");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, raw);
  EXPECT_FALSE(from_hex("abc").ok());
  EXPECT_FALSE(from_hex("zz").ok());
  EXPECT_FALSE(FixedBytes<4>::from_hex("0001ab").ok());
  EXPECT_TRUE(FixedBytes<4>::from_hex("0001abff").ok());
}

TEST(Utf8, AcceptsWellFormedAndRejectsTheRest) {
  EXPECT_TRUE(is_valid_utf8("O=Alice,L=London,C=GB"));
  EXPECT_TRUE(is_valid_utf8("O=Zoë,L=Zürich,C=CH \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xe5"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xff"));
}

struct ViewTag {};
struct HeightTag {};
using View = Counter<ViewTag>;
using Height = Counter<HeightTag>;

TEST(Strong, DistinctTypesCompareByValue) {
  View a(3), b(4);
  EXPECT_LT(a, b);
  EXPECT_EQ(a.next(), b);
  static_assert(!std::is_convertible_v<View, Height>);
  static_assert(!std::is_convertible_v<uint64_t, View>);
}

}  // namespace
}  // namespace folio
