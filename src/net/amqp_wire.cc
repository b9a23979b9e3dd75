#include "net/amqp_wire.h"

#include <cstring>

#include "base/assert.h"

namespace folio::net {
namespace {

// AMQP 1.0 type codes (part 1, section 1.6) and section descriptors (part 3, section 3.2).
constexpr uint8_t kDescribed = 0x00;
constexpr uint8_t kSmallUlong = 0x53;
constexpr uint8_t kNull = 0x40;
constexpr uint8_t kTrue = 0x41;
constexpr uint8_t kBinary8 = 0xa0;
constexpr uint8_t kBinary32 = 0xb0;
constexpr uint8_t kString8 = 0xa1;
constexpr uint8_t kString32 = 0xb1;
constexpr uint8_t kList32 = 0xd0;
constexpr uint8_t kMap32 = 0xd1;
constexpr uint8_t kPropertiesSection = 0x73;
constexpr uint8_t kApplicationPropertiesSection = 0x74;
constexpr uint8_t kAmqpValueSection = 0x77;

void put_byte(std::vector<char>& out, uint8_t byte) { out.push_back(static_cast<char>(byte)); }

void put_u32(std::vector<char>& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) put_byte(out, static_cast<uint8_t>(value >> shift));
}

// Writes `value` big-endian over the four bytes at `at`, reserved earlier with put_u32.
void patch_u32(std::vector<char>& out, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[at + i] = static_cast<char>(static_cast<uint8_t>(value >> (24 - 8 * i)));
}

void put_bytes(std::vector<char>& out, const void* data, size_t size) {
  const char* bytes = static_cast<const char*>(data);
  out.insert(out.end(), bytes, bytes + size);
}

void put_string(std::vector<char>& out, std::string_view text) {
  if (text.size() <= 0xff) {
    put_byte(out, kString8);
    put_byte(out, static_cast<uint8_t>(text.size()));
  } else {
    put_byte(out, kString32);
    put_u32(out, static_cast<uint32_t>(text.size()));
  }
  put_bytes(out, text.data(), text.size());
}

void put_binary(std::vector<char>& out, ByteView bytes) {
  FOLIO_ASSERT(bytes.size() <= 0xff);
  put_byte(out, kBinary8);
  put_byte(out, static_cast<uint8_t>(bytes.size()));
  put_bytes(out, bytes.data(), bytes.size());
}

void put_descriptor(std::vector<char>& out, uint8_t code) {
  put_byte(out, kDescribed);
  put_byte(out, kSmallUlong);
  put_byte(out, code);
}

// A compound (list or map) of `count` elements written by `body`: the 32-bit forms, whose size
// counts the bytes after the size field, count included.
template <class Body>
void put_compound(std::vector<char>& out, uint8_t code, uint32_t count, Body body) {
  put_byte(out, code);
  size_t size_at = out.size();
  put_u32(out, 0);
  put_u32(out, count);
  body();
  patch_u32(out, size_at, static_cast<uint32_t>(out.size() - size_at - 4));
}

}  // namespace

void encode_message_head(const MessageHead& head, std::vector<char>& out) {
  FOLIO_ASSERT(head.body_bytes <= 0xffffffffu);
  out.clear();
  put_descriptor(out, kPropertiesSection);
  put_compound(out, kList32, 4, [&] {
    put_binary(out, head.id);
    put_byte(out, kNull);  // user-id
    put_string(out, head.to);
    put_string(out, head.subject);
  });
  put_descriptor(out, kApplicationPropertiesSection);
  put_compound(out, kMap32, head.ephemeral ? 4 : 2, [&] {
    put_string(out, kSenderPropertyName);
    put_string(out, head.sender);
    if (head.ephemeral) {
      put_string(out, kEphemeralPropertyName);
      put_byte(out, kTrue);
    }
  });
  put_descriptor(out, kAmqpValueSection);
  put_byte(out, kBinary32);
  put_u32(out, static_cast<uint32_t>(head.body_bytes));
}

}  // namespace folio::net
