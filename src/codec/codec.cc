#include "codec/codec.h"

#include <cstring>

namespace folio::codec {

void Writer::uleb128(uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<uint8_t>(v));
}

Reader::Reader(ByteView input, const Limits& limits) : input_(input), limits_(limits) {
  if (input.size() > limits.input_bytes_max) {
    input_ = input.first(0);
    fail("input of " + std::to_string(input.size()) + " bytes exceeds the limit of " +
         std::to_string(limits.input_bytes_max));
  }
}

bool Reader::need(size_t n) {
  if (failed_) return false;
  if (remaining() < n) {
    fail("unexpected end of input: need " + std::to_string(n) + " bytes, " +
         std::to_string(remaining()) + " remain");
    return false;
  }
  return true;
}

uint8_t Reader::u8() {
  if (!need(1)) return 0;
  return input_[position_++];
}

uint64_t Reader::get_le(int width) {
  if (!need(static_cast<size_t>(width))) return 0;
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v |= static_cast<uint64_t>(input_[position_ + i]) << (8 * i);
  position_ += static_cast<size_t>(width);
  return v;
}

bool Reader::boolean() {
  uint8_t b = u8();
  if (b > 1) {
    fail("boolean byte " + std::to_string(b) + " is neither 0 nor 1");
    return false;
  }
  return b == 1;
}

uint64_t Reader::uleb128() {
  uint64_t value = 0;
  for (int i = 0; i < 10; ++i) {
    if (!need(1)) return 0;
    uint8_t byte = input_[position_++];
    uint64_t bits = byte & 0x7f;
    if (i == 9 && byte > 1) {
      fail("ULEB128 overflows 64 bits");
      return 0;
    }
    value |= bits << (7 * i);
    if ((byte & 0x80) == 0) {
      if (i > 0 && byte == 0) {
        fail("non-minimal ULEB128");
        return 0;
      }
      return value;
    }
  }
  fail("ULEB128 longer than 10 bytes");
  return 0;
}

size_t Reader::length(size_t element_bytes_min) {
  uint64_t n = uleb128();
  if (failed_) return 0;
  if (n > limits_.sequence_length_max) {
    fail("length " + std::to_string(n) + " exceeds the limit of " +
         std::to_string(limits_.sequence_length_max));
    return 0;
  }
  if (element_bytes_min > 0 && n > remaining() / element_bytes_min) {
    fail("length " + std::to_string(n) + " exceeds the " + std::to_string(remaining()) +
         " bytes that remain");
    return 0;
  }
  return static_cast<size_t>(n);
}

uint32_t Reader::variant(uint32_t count, std::string_view type_name) {
  uint64_t index = uleb128();
  if (failed_) return 0;
  if (index >= count) {
    fail("unknown variant " + std::to_string(index) + " of " + std::string(type_name) + " (" +
         std::to_string(count) + " variants)");
    return 0;
  }
  return static_cast<uint32_t>(index);
}

void Reader::fixed(uint8_t* out, size_t n) {
  if (!need(n)) {
    std::memset(out, 0, n);
    return;
  }
  std::memcpy(out, input_.data() + position_, n);
  position_ += n;
}

Bytes Reader::bytes(size_t length_max) {
  size_t n = length(1);
  if (failed_) return {};
  size_t max = std::min(length_max, limits_.bytes_length_max);
  if (n > max) {
    fail("byte string of " + std::to_string(n) + " bytes exceeds the limit of " +
         std::to_string(max));
    return {};
  }
  Bytes out(input_.begin() + static_cast<ptrdiff_t>(position_),
            input_.begin() + static_cast<ptrdiff_t>(position_ + n));
  position_ += n;
  return out;
}

std::string Reader::string(size_t length_max) {
  Bytes raw = bytes(length_max);
  return std::string(raw.begin(), raw.end());
}

bool Reader::enter() {
  if (++depth_ > limits_.depth_max) {
    fail("nesting deeper than " + std::to_string(limits_.depth_max));
    return false;
  }
  return true;
}

std::string Reader::render_path() const {
  std::string out;
  for (const Frame& f : path_) {
    if (f.names.empty()) {
      out += "[" + std::to_string(f.element) + "]";
      continue;
    }
    // Pick the f.field-th name out of "a, b, c".
    std::string_view names = f.names;
    for (int i = 0; i < f.field; ++i) {
      size_t comma = names.find(',');
      if (comma == std::string_view::npos) break;
      names.remove_prefix(comma + 1);
    }
    size_t comma = names.find(',');
    std::string_view name = names.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (!out.empty()) out += ".";
    out += name;
  }
  return out;
}

void Reader::fail(std::string_view what) {
  if (failed_) return;
  failed_ = true;
  std::string context = "at byte " + std::to_string(position_);
  std::string path = render_path();
  if (!path.empty()) context += " (" + path + ")";
  context += ": ";
  context += what;
  error_ = Error{ErrorCode::kMalformed, std::move(context)};
}

Status Reader::finish() {
  if (!failed_ && remaining() != 0) {
    path_.clear();
    fail(std::to_string(remaining()) + " trailing bytes");
  }
  if (failed_) return error_;
  return ok_status();
}

const Error& Reader::error() const {
  FOLIO_ASSERT(failed_);
  return error_;
}

}  // namespace folio::codec
