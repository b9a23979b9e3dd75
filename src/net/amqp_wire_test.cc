// Tests of amqp_wire.h: the head the transport writes before a payload is read back by Proton's
// own decoder as the message the transport used to build with proton::message.
#include "net/amqp_wire.h"

#include <proton/binary.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/scalar.hpp>
#include <proton/types.hpp>
#include <proton/value.hpp>

#include <gtest/gtest.h>

#include <string>

namespace folio::net {
namespace {

// The head followed by the payload, decoded by Proton.
proton::message decode(const MessageHead& head, const Bytes& payload) {
  std::vector<char> wire;
  encode_message_head(head, wire);
  wire.insert(wire.end(), payload.begin(), payload.end());
  proton::message message;
  message.decode(wire);
  return message;
}

TEST(AmqpWire, ProtonReadsTheHeadAndPayloadAsOneMessage) {
  Bytes id(32);
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(i * 7);
  Bytes payload = {0x00, 0x53, 0x77, 0xff, 0x01};  // bytes that look like AMQP stay payload
  for (bool ephemeral : {false, true}) {
    MessageHead head{id, "O=Bob, L=Paris, C=FR", "consensus", "O=Alice, L=London, C=GB",
                     ephemeral, payload.size()};
    proton::message message = decode(head, payload);
    ASSERT_EQ(message.id().type(), proton::BINARY);
    proton::binary got_id = proton::get<proton::binary>(message.id());
    EXPECT_EQ(Bytes(got_id.begin(), got_id.end()), id);
    EXPECT_EQ(message.to(), "O=Bob, L=Paris, C=FR");
    EXPECT_EQ(message.subject(), "consensus");
    EXPECT_EQ(proton::get<std::string>(message.properties().get("folio-sender")),
              "O=Alice, L=London, C=GB");
    EXPECT_EQ(message.properties().exists("folio-ephemeral"), ephemeral);
    if (ephemeral) {
      EXPECT_TRUE(proton::get<bool>(message.properties().get("folio-ephemeral")));
    }
    EXPECT_EQ(message.properties().size(), ephemeral ? 2u : 1u);
    ASSERT_EQ(message.body().type(), proton::BINARY);
    proton::binary body = proton::get<proton::binary>(message.body());
    EXPECT_EQ(Bytes(body.begin(), body.end()), payload);
  }
}

TEST(AmqpWire, LongNamesEmptyAndLargePayloadsUseTheWideForms) {
  Bytes id(32, 0xab);
  std::string long_name = "O=" + std::string(400, 'x') + ", L=London, C=GB";  // past str8
  for (size_t size : {size_t{0}, size_t{255}, size_t{256}, size_t{70'000}}) {
    Bytes payload(size, 0x5a);
    MessageHead head{id, long_name, "t", long_name, false, payload.size()};
    proton::message message = decode(head, payload);
    EXPECT_EQ(message.to(), long_name);
    EXPECT_EQ(proton::get<std::string>(message.properties().get("folio-sender")), long_name);
    proton::binary body = proton::get<proton::binary>(message.body());
    EXPECT_EQ(body.size(), size);
  }
}

TEST(AmqpWire, TheBufferIsReplacedNotAppended) {
  Bytes id(32, 1);
  std::vector<char> wire;
  encode_message_head(MessageHead{id, "a", "b", "c", true, 10}, wire);
  size_t first = wire.size();
  encode_message_head(MessageHead{id, "a", "b", "c", true, 10}, wire);
  EXPECT_EQ(wire.size(), first);
  encode_message_head(MessageHead{id, "a", "b", "c", false, 10}, wire);
  EXPECT_LT(wire.size(), first);
}

}  // namespace
}  // namespace folio::net
