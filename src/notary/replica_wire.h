// What shard replica processes and their clients send each other over a net::Transport
// (docs/network.md): one topic per kind of traffic, payloads in the canonical codec.
//
//   "consensus"     replica -> replica of the same shard: one encoded consensus::Message
//   "sbac.manager"  manager -> replica: ManagerBatch (submits and status queries)
//   "sbac.replica"  replica -> manager: ReplicaBatch (signed prepared/accepted statements)
//   "raw.submit"    bench client -> replica: RawSubmit (opaque commands, ordering only)
//   "raw.committed" replica -> bench client: RawCommitted (ids of its commands now committed)
//
// Batches exist because every transport message costs an outbox write: a loop iteration sends a
// peer everything it has for it in one envelope. Message ids come from MessageIds: a random
// 128-bit instance nonce and a counter, so a restarted process never reuses an id that a peer's
// inbox would drop as a duplicate. Value types; MessageIds is not thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <set>
#include <string>

#include "codec/codec.h"
#include "consensus/types.h"
#include "net/transport.h"
#include "sbac/shard_replica.h"

namespace folio::notary {

inline constexpr std::string_view kTopicConsensus = "consensus";
inline constexpr std::string_view kTopicManager = "sbac.manager";
inline constexpr std::string_view kTopicReplica = "sbac.replica";
inline constexpr std::string_view kTopicRawSubmit = "raw.submit";
inline constexpr std::string_view kTopicRawCommitted = "raw.committed";

// The topics above recover lost messages themselves (consensus by timeouts and block fetches,
// S-BAC by the managers' resends and status queries, the raw bench by its window): replicas and
// clients send them as the AMQP transport's ephemeral topics (no outbox or inbox rows, no
// receipts; amqp_transport.h), which saves several SQLite writes per message.
inline std::set<std::string> ephemeral_topics() {
  return {std::string(kTopicConsensus), std::string(kTopicManager), std::string(kTopicReplica),
          std::string(kTopicRawSubmit), std::string(kTopicRawCommitted)};
}

// Dummy objects per output-only shard (Byzcuit): a session locks one from prepare to accept, so
// with few slots concurrent cross-shard sessions abort each other (kObjectLocked) and retry. Every
// replica and client of a network must use the same number: the most sbac allows.
constexpr uint32_t kDummySlots = sbac::kDummySlotsMax;

// Bounds a receiver applies before decoding.
constexpr size_t kBatchMessagesMax = 1u << 16;

struct ManagerBatch {
  std::vector<sbac::ManagerMessage> messages;
  FOLIO_FIELDS(messages)
};

struct ReplicaBatch {
  std::vector<sbac::ReplicaMessage> messages;
  FOLIO_FIELDS(messages)
};

struct RawSubmit {
  std::vector<Bytes> commands;
  bool notify = false;  // send RawCommitted for these commands when they commit
  FOLIO_FIELDS(commands, notify)
};

struct RawCommitted {
  std::vector<consensus::CommandId> ids;
  FOLIO_FIELDS(ids)
};

class MessageIds {
 public:
  MessageIds();
  net::MessageId next();

 private:
  FixedBytes<32> nonce_;
  uint64_t counter_ = 0;
};

// The codec limits for decoding a peer's payload (sequences up to kBatchMessagesMax).
codec::Limits wire_limits();

}  // namespace folio::notary
