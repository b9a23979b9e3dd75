// Strong<Tag, T>: a distinct type around a value, so that ids and counters of different meaning
// (ShardId, View, Height, an output index) cannot be mixed up by accident.
//
// Construction is explicit; comparison and hashing follow T. Value type; thread-safety of T.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <utility>

namespace folio {

template <class Tag, class T>
class Strong {
 public:
  using Value = T;

  constexpr Strong() = default;
  constexpr explicit Strong(T value) : value_(std::move(value)) {}

  constexpr const T& value() const { return value_; }
  constexpr T& mutable_value() { return value_; }

  friend constexpr auto operator<=>(const Strong&, const Strong&) = default;
  friend constexpr bool operator==(const Strong&, const Strong&) = default;

 private:
  T value_{};
};

// A strong 64-bit counter that can step forward (views, heights, sequence numbers).
template <class Tag>
class Counter : public Strong<Tag, uint64_t> {
 public:
  using Strong<Tag, uint64_t>::Strong;
  constexpr Counter next() const { return Counter(this->value() + 1); }
};

}  // namespace folio

template <class Tag, class T>
struct std::hash<folio::Strong<Tag, T>> {
  size_t operator()(const folio::Strong<Tag, T>& s) const noexcept {
    return std::hash<T>()(s.value());
  }
};
