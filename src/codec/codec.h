// The canonical encoding of everything Folio hashes or signs (ARCHITECTURE.md §1), BCS-style:
// fixed-width little-endian integers, ULEB128 lengths and variant indexes, booleans as one byte
// 0/1, optionals as a 0/1 byte then the value, structs as the concatenation of their fields, no
// floats. Every value has exactly one encoding, and the decoder accepts only that one.
//
// Writer appends to an owned buffer. Reader is strict and bounded: it fails on trailing bytes,
// non-minimal ULEB128, lengths beyond the remaining input or the configured limits, unknown
// variants and non-canonical booleans, and allocates no more than the input can justify (a sequence
// of n elements is only accepted when n minimal elements fit in what remains). Errors are sticky:
// the first failure is kept with its byte offset and field path, and later reads return zero
// values, so decoders read straight through and check once at the end.
//
// Types take part by declaring their fields with FOLIO_FIELDS, or by providing their own
// `encode(Writer&, const T&)` and `decode(Reader&, T&)` in their namespace (found by ADL).
// Not thread-safe; Writer and Reader are used by one thread at a time.
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "base/strong.h"

namespace folio::codec {

struct Limits {
  // Largest input a Reader accepts at all.
  size_t input_bytes_max = 64u << 20;
  // Largest element count of any one sequence.
  size_t sequence_length_max = 1u << 20;
  // Largest byte string or text.
  size_t bytes_length_max = 16u << 20;
  // Deepest nesting of recursive types (compound keys).
  size_t depth_max = 16;
};

class Writer {
 public:
  Writer() = default;
  explicit Writer(size_t reserve) { out_.reserve(reserve); }

  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) { put_le(v, 2); }
  void u32(uint32_t v) { put_le(v, 4); }
  void u64(uint64_t v) { put_le(v, 8); }
  void i64(int64_t v) { put_le(static_cast<uint64_t>(v), 8); }
  void boolean(bool v) { out_.push_back(v ? 1 : 0); }
  void uleb128(uint64_t v);
  void length(size_t n) { uleb128(n); }
  void variant(uint32_t index) { uleb128(index); }
  // Raw bytes with no length prefix (fixed-size fields).
  void fixed(ByteView bytes) { out_.insert(out_.end(), bytes.begin(), bytes.end()); }
  // A length-prefixed byte string.
  void bytes(ByteView bytes) {
    length(bytes.size());
    fixed(bytes);
  }
  void string(std::string_view s) { bytes(as_bytes(s)); }

  size_t size() const { return out_.size(); }
  const Bytes& data() const { return out_; }
  Bytes take() { return std::move(out_); }
  void clear() { out_.clear(); }

 private:
  void put_le(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteView input, const Limits& limits = Limits{});

  uint8_t u8();
  uint16_t u16() { return static_cast<uint16_t>(get_le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(get_le(4)); }
  uint64_t u64() { return get_le(8); }
  int64_t i64() { return static_cast<int64_t>(get_le(8)); }
  bool boolean();
  uint64_t uleb128();
  // A sequence length. Fails unless `n * element_bytes_min` fits in the remaining input and n is
  // within the sequence limit, so a caller may reserve n elements.
  size_t length(size_t element_bytes_min = 1);
  // A variant index; fails unless index < count.
  uint32_t variant(uint32_t count, std::string_view type_name);
  void fixed(uint8_t* out, size_t n);
  Bytes bytes(size_t length_max = std::numeric_limits<size_t>::max());
  std::string string(size_t length_max = std::numeric_limits<size_t>::max());

  // Records the first failure; later reads return zero values.
  void fail(std::string_view what);
  bool ok() const { return !failed_; }
  size_t position() const { return position_; }
  size_t remaining() const { return input_.size() - position_; }
  const Limits& limits() const { return limits_; }

  // OK iff nothing failed and every byte was consumed.
  Status finish();
  // The first failure. REQUIRES: !ok()
  const Error& error() const;

  // Nesting guard for recursive types: returns false (and fails) when depth_max is passed.
  bool enter();
  void leave() { --depth_; }

  // The field path reported with a failure: "outputs[2].constraint".
  void push_field(std::string_view names, int index) { path_.push_back({names, index, -1}); }
  void set_field(int index) { path_.back().field = index; }
  void push_element(int64_t index) { path_.push_back({{}, -1, index}); }
  void set_element(int64_t index) { path_.back().element = index; }
  void pop() { path_.pop_back(); }

 private:
  uint64_t get_le(int width);
  bool need(size_t n);
  std::string render_path() const;

  struct Frame {
    std::string_view names;  // "a, b, c" from FOLIO_FIELDS, or empty for a sequence frame
    int field;
    int64_t element;
  };

  ByteView input_;
  Limits limits_;
  size_t position_ = 0;
  size_t depth_ = 0;
  bool failed_ = false;
  Error error_{ErrorCode::kMalformed, {}};
  std::vector<Frame> path_;
};

// ---- Generic encoding -------------------------------------------------------------------------

// Declares a struct's fields in encoding order. The struct encodes as their concatenation.
#define FOLIO_FIELDS(...)                                       \
  static constexpr std::string_view kFieldNames = #__VA_ARGS__; \
  auto fields() { return std::tie(__VA_ARGS__); }               \
  auto fields() const { return std::tie(__VA_ARGS__); }

template <class T>
concept HasFields = requires(const T& t) {
  t.fields();
  T::kFieldNames;
};

template <class T>
concept HasCanonicalCheck = requires(const T& t) {
  { t.check_canonical() } -> std::same_as<Status>;
};

// Enums that are encoded declare their number of variants with an ADL function
// `constexpr uint32_t enum_count(E)`, and their name with `constexpr std::string_view
// enum_name(E)`.
template <class E>
concept CountedEnum = std::is_enum_v<E> && requires(E e) {
  { enum_count(e) } -> std::convertible_to<uint32_t>;
};

inline void encode(Writer& w, uint8_t v) { w.u8(v); }
inline void encode(Writer& w, uint16_t v) { w.u16(v); }
inline void encode(Writer& w, uint32_t v) { w.u32(v); }
inline void encode(Writer& w, uint64_t v) { w.u64(v); }
inline void encode(Writer& w, int64_t v) { w.i64(v); }
inline void encode(Writer& w, bool v) { w.boolean(v); }
inline void encode(Writer& w, const std::string& v) { w.string(v); }
inline void encode(Writer& w, const Bytes& v) { w.bytes(v); }
template <size_t N>
void encode(Writer& w, const FixedBytes<N>& v) {
  w.fixed(v.view());
}
template <class Tag, class T>
void encode(Writer& w, const Strong<Tag, T>& v) {
  encode(w, v.value());
}
template <class Tag>
void encode(Writer& w, const Counter<Tag>& v) {
  w.u64(v.value());
}
template <CountedEnum E>
void encode(Writer& w, E v) {
  w.variant(static_cast<uint32_t>(v));
}

inline void decode(Reader& r, uint8_t& v) { v = r.u8(); }
inline void decode(Reader& r, uint16_t& v) { v = r.u16(); }
inline void decode(Reader& r, uint32_t& v) { v = r.u32(); }
inline void decode(Reader& r, uint64_t& v) { v = r.u64(); }
inline void decode(Reader& r, int64_t& v) { v = r.i64(); }
inline void decode(Reader& r, bool& v) { v = r.boolean(); }
inline void decode(Reader& r, std::string& v) { v = r.string(); }
inline void decode(Reader& r, Bytes& v) { v = r.bytes(); }
template <size_t N>
void decode(Reader& r, FixedBytes<N>& v) {
  r.fixed(v.data(), N);
}
template <class Tag, class T>
void decode(Reader& r, Strong<Tag, T>& v) {
  decode(r, v.mutable_value());
}
template <class Tag>
void decode(Reader& r, Counter<Tag>& v) {
  v = Counter<Tag>(r.u64());
}
template <CountedEnum E>
void decode(Reader& r, E& v) {
  v = static_cast<E>(r.variant(enum_count(E{}), enum_name(E{})));
}

// Forward declarations so that the templates below can nest in any order.
template <class T>
void encode(Writer& w, const std::vector<T>& v);
template <class T>
void decode(Reader& r, std::vector<T>& v);
template <class T>
void encode(Writer& w, const std::optional<T>& v);
template <class T>
void decode(Reader& r, std::optional<T>& v);
template <class... Ts>
void encode(Writer& w, const std::variant<Ts...>& v);
template <class... Ts>
void decode(Reader& r, std::variant<Ts...>& v);
template <HasFields T>
void encode(Writer& w, const T& v);
template <HasFields T>
void decode(Reader& r, T& v);

template <class T>
void encode(Writer& w, const std::vector<T>& v) {
  w.length(v.size());
  for (const T& e : v) encode(w, e);
}
template <class T>
void decode(Reader& r, std::vector<T>& v) {
  size_t n = r.length(1);
  v.clear();
  v.reserve(n);
  r.push_element(0);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    r.set_element(static_cast<int64_t>(i));
    decode(r, v.emplace_back());
  }
  r.pop();
}

template <class T>
void encode(Writer& w, const std::optional<T>& v) {
  w.boolean(v.has_value());
  if (v) encode(w, *v);
}
template <class T>
void decode(Reader& r, std::optional<T>& v) {
  if (r.boolean()) {
    decode(r, v.emplace());
  } else {
    v.reset();
  }
}

template <class... Ts>
void encode(Writer& w, const std::variant<Ts...>& v) {
  w.variant(static_cast<uint32_t>(v.index()));
  std::visit([&](const auto& alt) { encode(w, alt); }, v);
}

namespace internal {
template <class Variant, size_t I = 0>
void decode_alternative(Reader& r, Variant& v, size_t index) {
  if constexpr (I < std::variant_size_v<Variant>) {
    if (index == I) {
      decode(r, v.template emplace<I>());
    } else {
      decode_alternative<Variant, I + 1>(r, v, index);
    }
  }
}
}  // namespace internal

template <class... Ts>
void decode(Reader& r, std::variant<Ts...>& v) {
  uint32_t index = r.variant(sizeof...(Ts), "variant");
  if (!r.ok()) return;
  internal::decode_alternative(r, v, index);
}

template <HasFields T>
void encode(Writer& w, const T& v) {
  std::apply([&](const auto&... f) { (encode(w, f), ...); }, v.fields());
}
template <HasFields T>
void decode(Reader& r, T& v) {
  r.push_field(T::kFieldNames, 0);
  int index = 0;
  std::apply([&](auto&... f) { ((r.set_field(index++), decode(r, f)), ...); }, v.fields());
  r.pop();
  if constexpr (HasCanonicalCheck<T>) {
    if (r.ok()) {
      Status s = v.check_canonical();
      if (!s.ok()) r.fail(s.error().context);
    }
  }
}

// ---- Entry points ----------------------------------------------------------------------------

template <class T>
Bytes encode_to_bytes(const T& value) {
  Writer w;
  encode(w, value);
  return w.take();
}

// Decodes exactly one T from all of `input`.
template <class T>
Result<T> decode_from_bytes(ByteView input, const Limits& limits = Limits{}) {
  Reader r(input, limits);
  T value{};
  decode(r, value);
  Status s = r.finish();
  if (!s.ok()) return s.error();
  return value;
}

}  // namespace folio::codec
