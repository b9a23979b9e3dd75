#include "codec/codec.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace folio::codec {
namespace {

enum class Colour : uint8_t { kRed, kGreen };
constexpr uint32_t enum_count(Colour) { return 2; }
constexpr std::string_view enum_name(Colour) { return "Colour"; }

struct Inner {
  uint32_t a = 0;
  std::optional<std::string> label;
  Colour colour = Colour::kRed;
  FOLIO_FIELDS(a, label, colour)
  friend bool operator==(const Inner&, const Inner&) = default;
};

struct Outer {
  std::vector<Inner> items;
  Bytes blob;
  std::variant<uint64_t, std::string> either;
  FOLIO_FIELDS(items, blob, either)
  friend bool operator==(const Outer&, const Outer&) = default;
};

Bytes uleb(uint64_t v) {
  Writer w;
  w.uleb128(v);
  return w.take();
}

TEST(Uleb128, EncodesLikeBcs) {
  EXPECT_EQ(uleb(0), Bytes({0x00}));
  EXPECT_EQ(uleb(127), Bytes({0x7f}));
  EXPECT_EQ(uleb(128), Bytes({0x80, 0x01}));
  EXPECT_EQ(uleb(16384), Bytes({0x80, 0x80, 0x01}));
  EXPECT_EQ(uleb(UINT64_MAX).size(), 10u);
}

RC_GTEST_PROP(Uleb128, RoundTrips, (uint64_t v)) {
  Bytes b = uleb(v);
  Reader r(b);
  RC_ASSERT(r.uleb128() == v);
  RC_ASSERT(r.finish().ok());
}

TEST(Uleb128, RejectsNonMinimalAndOverflow) {
  for (Bytes bad : {Bytes{0x80, 0x00}, Bytes{0xff, 0x80, 0x00}, Bytes{0x80},
                    Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},
                    Bytes{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}}) {
    Reader r(bad);
    (void)r.uleb128();
    EXPECT_FALSE(r.finish().ok()) << to_hex(bad);
  }
}

TEST(Reader, RejectsTrailingBytes) {
  Bytes b = encode_to_bytes(uint32_t{7});
  b.push_back(0);
  auto r = decode_from_bytes<uint32_t>(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().context.find("1 trailing bytes"), std::string::npos) << r.error().message();
}

TEST(Reader, RejectsNonCanonicalBoolean) {
  Bytes b = {0x02};
  EXPECT_FALSE(decode_from_bytes<bool>(b).ok());
  EXPECT_TRUE(decode_from_bytes<bool>(Bytes{0x01}).ok());
}

TEST(Reader, RejectsLengthBeyondInputWithoutAllocating) {
  // A sequence claiming 2^40 elements in a 7-byte input must fail before any allocation.
  Bytes b = uleb(uint64_t{1} << 40);
  auto r = decode_from_bytes<std::vector<uint64_t>>(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kMalformed);
  Bytes c = uleb(100);
  c.resize(c.size() + 50);
  EXPECT_FALSE(decode_from_bytes<Bytes>(c).ok());
}

TEST(Reader, EnforcesConfiguredLimits) {
  Bytes big = encode_to_bytes(Bytes(1000, 7));
  Limits small;
  small.bytes_length_max = 999;
  EXPECT_FALSE(decode_from_bytes<Bytes>(big, small).ok());
  small.bytes_length_max = 1000;
  EXPECT_TRUE(decode_from_bytes<Bytes>(big, small).ok());
  small.input_bytes_max = 10;
  EXPECT_FALSE(decode_from_bytes<Bytes>(big, small).ok());
  Limits short_sequences;
  short_sequences.sequence_length_max = 2;
  EXPECT_FALSE(
      decode_from_bytes<std::vector<uint8_t>>(encode_to_bytes(Bytes{1, 2, 3}), short_sequences)
          .ok());
}

TEST(Reader, RejectsUnknownVariantAndNamesThePath) {
  Outer o;
  o.items.push_back(Inner{1, "x", Colour::kGreen});
  o.items.push_back(Inner{2, std::nullopt, Colour::kRed});
  Bytes b = encode_to_bytes(o);
  // items: len(1) + [a(4) label(1+1+1) colour(1)] + [a(4) label(1) colour(1)] -> last colour byte
  size_t colour_offset = 1 + 4 + 3 + 1 + 4 + 1;
  ASSERT_EQ(b[colour_offset], 0);
  b[colour_offset] = 5;
  auto r = decode_from_bytes<Outer>(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().context.find("items[1].colour"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().context.find("unknown variant 5 of Colour"), std::string::npos)
      << r.error().message();
}

TEST(Reader, TruncatedInputFailsCleanlyAtEveryLength) {
  Outer o;
  o.items.push_back(Inner{1, "hello", Colour::kGreen});
  o.blob = Bytes(20, 9);
  o.either = std::string("text");
  Bytes b = encode_to_bytes(o);
  for (size_t n = 0; n < b.size(); ++n) {
    EXPECT_FALSE(decode_from_bytes<Outer>(ByteView(b.data(), n)).ok()) << n;
  }
  EXPECT_TRUE(decode_from_bytes<Outer>(b).ok());
}

namespace gen {
rc::Gen<Inner> inner() {
  return rc::gen::map(rc::gen::tuple(rc::gen::arbitrary<uint32_t>(), rc::gen::arbitrary<bool>(),
                                     rc::gen::arbitrary<std::string>(),
                                     rc::gen::element(Colour::kRed, Colour::kGreen)),
                      [](const std::tuple<uint32_t, bool, std::string, Colour>& t) {
                        std::optional<std::string> label;
                        if (std::get<1>(t)) label = std::get<2>(t);
                        return Inner{std::get<0>(t), label, std::get<3>(t)};
                      });
}
}  // namespace gen

RC_GTEST_PROP(Codec, StructsRoundTrip, ()) {
  Outer o;
  o.items = *rc::gen::container<std::vector<Inner>>(gen::inner());
  o.blob = *rc::gen::arbitrary<Bytes>();
  if (*rc::gen::arbitrary<bool>()) {
    o.either = *rc::gen::arbitrary<uint64_t>();
  } else {
    o.either = *rc::gen::arbitrary<std::string>();
  }
  Bytes b = encode_to_bytes(o);
  auto back = decode_from_bytes<Outer>(b);
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == o);
  RC_ASSERT(encode_to_bytes(*back) == b);
}

RC_GTEST_PROP(Codec, RandomBytesNeverCrashAndReencodeIdentically, (const Bytes& input)) {
  // Canonical: whatever decodes must re-encode to exactly the input.
  auto r = decode_from_bytes<Outer>(input);
  if (r.ok()) RC_ASSERT(encode_to_bytes(*r) == input);
}

}  // namespace
}  // namespace folio::codec
