// Bytes and fixed-size byte arrays, with hex conversion.
//
// Bytes is an owning, growable buffer; ByteView a non-owning view. FixedBytes<N> is a value type
// for hashes, keys and salts, ordered lexicographically. All are plain values without locking.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace folio {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline std::string to_string(ByteView b) { return std::string(b.begin(), b.end()); }

// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Lowercase hex of the bytes.
std::string to_hex(ByteView bytes);
// Parses hex of either case; rejects odd lengths and non-hex characters.
Result<Bytes> from_hex(std::string_view hex);

template <size_t N>
struct FixedBytes {
  static constexpr size_t kSize = N;
  std::array<uint8_t, N> bytes{};

  ByteView view() const { return ByteView(bytes.data(), N); }
  const uint8_t* data() const { return bytes.data(); }
  uint8_t* data() { return bytes.data(); }
  static constexpr size_t size() { return N; }
  bool is_zero() const {
    for (uint8_t b : bytes)
      if (b != 0) return false;
    return true;
  }
  std::string hex() const { return to_hex(view()); }
  // The first `chars` hex digits, for logs and messages.
  std::string short_hex(size_t chars = 8) const { return hex().substr(0, chars); }

  // REQUIRES: view.size() == N
  static FixedBytes from(ByteView view) {
    FOLIO_ASSERT(view.size() == N);
    FixedBytes out;
    std::memcpy(out.bytes.data(), view.data(), N);
    return out;
  }
  static Result<FixedBytes> from_hex(std::string_view hex) {
    auto raw = folio::from_hex(hex);
    if (!raw.ok()) return raw.error();
    if (raw->size() != N)
      return make_error(
          ErrorCode::kInvalidArgument,
          "expected " + std::to_string(N) + " bytes of hex, got " + std::to_string(raw->size()));
    return from(*raw);
  }

  friend auto operator<=>(const FixedBytes&, const FixedBytes&) = default;
  friend bool operator==(const FixedBytes&, const FixedBytes&) = default;
};

}  // namespace folio

template <size_t N>
struct std::hash<folio::FixedBytes<N>> {
  size_t operator()(const folio::FixedBytes<N>& b) const noexcept {
    // The values hashed here are themselves cryptographic hashes or keys: their first bytes are
    // uniformly distributed, so they serve as a hash directly.
    size_t h = 0;
    std::memcpy(&h, b.bytes.data(), N < sizeof(h) ? N : sizeof(h));
    return h;
  }
};
