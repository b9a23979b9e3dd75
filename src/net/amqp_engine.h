// The Proton side of AmqpTransport, shared by amqp_transport.cc (lifecycle, connections and their
// verification), amqp_outbound.cc (the outbox, sending, dispositions, receipts we send) and
// amqp_inbound.cc (accepting messages, de-duplication, receipts we receive). Internal to
// folio_net_amqp: nothing outside src/net includes it. Thread-safety as in amqp_transport.h: Proton
// objects are touched only on the container thread; `mutex_` guards what `send` and `stats` share.
#pragma once

#include <proton/connection.hpp>
#include <proton/connection_options.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/error_condition.hpp>
#include <proton/listen_handler.hpp>
#include <proton/listener.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/receiver_options.hpp>
#include <proton/sasl.hpp>
#include <proton/scalar.hpp>
#include <proton/sender.hpp>
#include <proton/sender_options.hpp>
#include <proton/ssl.hpp>
#include <proton/tracker.hpp>
#include <proton/transport.hpp>
#include <proton/types.hpp>
#include <proton/value.hpp>
#include <proton/work_queue.hpp>
#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/connection.h>
#include <proton/codec/decoder.hpp>
#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/session.h>
#include <proton/session.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/amqp_names.h"
#include "net/amqp_store.h"
#include "net/amqp_transport.h"
#include "net/amqp_wire.h"

namespace folio::net {
namespace amqp_internal {

using Clock = std::chrono::steady_clock;

// The topic of receipt messages; `send` refuses it for application messages.
inline constexpr std::string_view kReceiptTopic = "folio.receipt";
// The application property naming the sending node.
inline const std::string kSenderProperty(kSenderPropertyName);
// The application property marking an ephemeral message (amqp_transport.h); its value is true.
inline const std::string kEphemeralProperty(kEphemeralPropertyName);
// The target address of every link: there is one kind of link, node to node.
inline const std::string kLinkAddress = "folio";
inline const std::string kUnauthorized = "amqp:unauthorized-access";
inline const std::string kTls13 = "TLSv1.3";
inline const std::string kSaslExternal = "EXTERNAL";
// How often accepted messages are checked against receipt_wait.
inline constexpr auto kReceiptWaitScanPeriod = std::chrono::milliseconds(500);
inline constexpr uint32_t kFrameBytesMax = 256 * 1024;
// Deliveries, and their bytes, handed to Proton on one link but not yet written (pump_peer says
// why this is short). At least one delivery is always allowed, whatever its size.
inline constexpr int kProtonQueuedMax = 64;
inline constexpr size_t kProtonQueuedBytesMax = size_t{2} << 20;
// What the AMQP encoding adds to an envelope's bytes (section headers, property names); the
// receiver's bound on a delivery in progress is max_message_bytes plus this.
inline constexpr size_t kEncodingSlackBytes = 64 * 1024;
// Sessions a peer may open on one connection (each oversize message cut off while arriving leaves
// one behind, holding at most one message's worth of bytes until the connection closes).
inline constexpr uint16_t kSessionsMax = 16;
inline const std::string kMessageSizeExceeded = "amqp:link:message-size-exceeded";
// How long start() waits for the listener to be bound.
inline constexpr auto kListenDeadline = std::chrono::seconds(30);

// The size counted against TransportLimits::max_message_bytes: payload plus headers.
inline size_t envelope_bytes(const Envelope& envelope) {
  return envelope.payload.size() + envelope.topic.size() + envelope.sender.size() +
         envelope.recipient.size() + envelope.id.size();
}

// The canonical form of `text`, which should be `expected` (itself canonical). Peers send names in
// canonical form, and canonical_x500 maps a canonical name to itself, so the usual case is one
// comparison; anything else is parsed in full.
inline Result<std::string> canonical_as_expected(std::string_view text, const std::string& expected) {
  if (text == expected) return expected;
  return canonical_x500(text);
}

inline std::optional<crypto::Hash256> hash_from_binary(const proton::binary& bytes) {
  if (bytes.size() != crypto::Hash256::kSize) return std::nullopt;
  return crypto::Hash256::from(ByteView(bytes.data(), bytes.size()));
}

inline proton::binary to_binary(ByteView bytes) { return proton::binary(bytes.begin(), bytes.end()); }

// Proton C++ 0.37 exposes neither a session's incoming capacity nor a delivery still arriving.
// Its wrappers keep the C object behind a protected accessor of internal::object<C>; naming that
// accessor through a derived class is ordinary C++ and gives the C object for the C API.
template <class Wrapper, class C>
C* c_object(const Wrapper& wrapper) {
  struct Access : Wrapper {
    static C* get(const Wrapper& w) {
      using Base = proton::internal::object<C>;
      C* (Base::*getter)() const = &Access::pn_object;
      const Base& base = w;
      return (base.*getter)();
    }
  };
  return Access::get(wrapper);
}

// The delivery tag of `tracker` as a message id, read in place (tracker.tag() copies it into a
// proton::binary first).
inline std::optional<crypto::Hash256> delivery_tag(const proton::tracker& tracker) {
  pn_delivery_tag_t tag = pn_delivery_tag(c_object<proton::tracker, pn_delivery_t>(tracker));
  if (tag.size != crypto::Hash256::kSize) return std::nullopt;
  return crypto::Hash256::from(ByteView(reinterpret_cast<const uint8_t*>(tag.start), tag.size));
}

// The C data behind a proton::value, read in place: proton::get<proton::binary> would copy a
// message's body into a proton::binary (byte by byte, through the decoder) before the transport
// copied it again into the envelope. The value must outlive the pointer.
inline pn_data_t* value_data(const proton::value& value) {
  proton::codec::decoder decoder(value);
  return c_object<proton::codec::decoder, pn_data_t>(decoder);
}

}  // namespace amqp_internal

// The Proton side of the transport. Proton objects are touched only on the container thread.
// `mutex_` guards the state shared with `send` and `stats` callers; it is released around calls
// into the handler and the outcome handler.
class AmqpTransport::Engine final : public proton::messaging_handler {
 public:
  using Clock = amqp_internal::Clock;

  Engine(AmqpConfig config, std::string self, const PeerDirectory& directory,
         std::unique_ptr<AmqpStore> store, crypto::PrivateKey receipt_key)
      : config_(std::move(config)),
        self_(std::move(self)),
        directory_(directory),
        store_(std::move(store)),
        receipt_key_(std::move(receipt_key)),
        container_(*this, self_),
        listen_handler_(*this) {}

  ~Engine() override { stop(); }

  Status load();
  Status start();
  void stop();
  uint16_t listen_port() const { return listen_port_.load(); }
  const std::string& self() const { return self_; }

  void set_handler(Handler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }
  void set_outcome_handler(Outcome outcome) {
    std::lock_guard lock(mutex_);
    outcome_ = std::move(outcome);
  }
  Status send(Envelope envelope);
  AmqpStats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }
  std::string last_refusal() const {
    std::lock_guard lock(mutex_);
    return last_refusal_;
  }
  AmqpStore& store() { return *store_; }

  // Proton events (container thread).
  void on_container_start(proton::container& container) override;
  void on_connection_open(proton::connection& connection) override;
  void on_receiver_open(proton::receiver& receiver) override;
  void on_sender_open(proton::sender& sender) override;
  void on_sendable(proton::sender& sender) override;
  void on_message(proton::delivery& delivery, proton::message& message) override;
  void on_tracker_accept(proton::tracker& tracker) override;
  void on_tracker_reject(proton::tracker& tracker) override;
  void on_tracker_release(proton::tracker& tracker) override;
  void on_transport_error(proton::transport& transport) override;
  void on_transport_close(proton::transport& transport) override;
  void on_connection_error(proton::connection& connection) override;
  void on_session_open(proton::session& session) override;
  void on_sender_close(proton::sender& sender) override;
  void on_session_close(proton::session& session) override;
  void on_session_error(proton::session& session) override;
  void on_receiver_error(proton::receiver& receiver) override;
  void on_sender_error(proton::sender& sender) override;
  // The default throws; errors are counted instead.
  void on_error(const proton::error_condition& error) override;

 private:
  enum class State : uint8_t { kQueued, kInFlight, kAccepted };

  struct OutEntry {
    Envelope envelope;
    crypto::Hash256 content_hash;
    State state = State::kQueued;
    bool reported = false;  // the outcome handler has been told
    uint32_t releases = 0;
    Clock::time_point accepted_at{};
    bool ephemeral = false;  // not in the outbox table; erased once accepted or rejected
  };

  struct Delayed {
    Clock::time_point due;
    MessageId id;
  };

  // What this node knows about one peer: its outbound connection and the work for it.
  struct Peer {
    std::string name;
    // Messages to this peer not yet done with: reliable ones until a receipt covers them,
    // ephemeral ones until accepted or rejected. Looked up by id for every disposition; nothing
    // depends on its iteration order.
    std::unordered_map<MessageId, OutEntry> outbox;
    std::deque<MessageId> queue;     // kQueued messages, in order
    std::deque<MessageId> in_flight; // kInFlight messages on the current connection, in order
    std::vector<Delayed> delayed;    // released messages waiting out their back-off
    std::vector<ReceiptEntry> receipts_due;  // accepted from this peer, not yet in a receipt
    Clock::time_point receipts_since{};
    std::map<crypto::Hash256, std::vector<ReceiptEntry>> receipts_in_flight;  // by delivery tag
    proton::connection connection;
    proton::sender sender;
    bool ready = false;  // the connection's peer passed verification
    Clock::time_point next_connect{};
    std::chrono::milliseconds backoff{0};
    size_t address_turn = 0;
    size_t ephemeral_count = 0;  // ephemeral entries in `outbox`
    size_t ephemeral_bytes = 0;  // and their payload bytes
  };

  struct Conn {
    bool outbound = false;
    std::string peer;  // the dialled name (outbound) or the authenticated one (inbound)
    bool verified = false;
    // peers_[peer] once known (outbound: from the start; inbound: once verified). Entries of
    // peers_ are never erased, so the pointer stays valid; it spares a lookup by name per message.
    Peer* state = nullptr;
  };

  class ListenHandler final : public proton::listen_handler {
   public:
    explicit ListenHandler(Engine& engine) : engine_(engine) {}
    void on_open(proton::listener& listener) override {
      engine_.listen_port_ = static_cast<uint16_t>(listener.port());
      engine_.resolve_listen(ok_status());
    }
    void on_error(proton::listener&, const std::string& what) override {
      engine_.resolve_listen(make_error(ErrorCode::kIo, "cannot listen: " + what));
    }

   private:
    Engine& engine_;
  };

  void resolve_listen(Status status) {
    if (!listen_resolved_.exchange(true)) listen_promise_.set_value(std::move(status));
  }
  void run_loop();
  void tick();
  // Has the container thread pump every peer soon; one pending pump serves any number of calls.
  // REQUIRES: mutex_ held (any thread).
  void wake_locked();
  // REQUIRES (all below): on the container thread, mutex_ held.
  Peer& peer(const std::string& name);
  // `current`: the connection whose event is being handled, if any (pump_peer).
  void pump_locked(Clock::time_point now, pn_connection_t* current = nullptr);
  void check_partial_deliveries();
  // Our link to a peer was closed by it (or its session was): drop a message it refused as too
  // large, re-queue the rest and open a fresh session and link on the same connection.
  void replace_link(const proton::sender& sender, const std::string& error);
  void pump_peer(Peer& peer, Clock::time_point now, pn_connection_t* current = nullptr);
  // Hands one message to Proton on the peer's link, with `tag` as its delivery tag.
  void transfer(Peer& peer, const MessageHead& head, ByteView payload, ByteView tag);
  void connect(Peer& peer, Clock::time_point now);
  void send_receipts(Peer& peer);
  void requeue_in_flight(Peer& peer);
  // Removes `id` from peer.in_flight, if there.
  void forget_in_flight(Peer& peer, const MessageId& id);
  Result<std::string> verify(proton::connection& connection, const std::string* expected);
  void refuse(proton::connection& connection, const std::string& reason);
  // `ephemeral`: whether the message carries kEphemeralProperty.
  Result<Envelope> parse(const proton::message& message, const std::string& peer,
                         bool& ephemeral) const;
  void reject_incoming(proton::delivery& delivery, const Error& error);
  void handle_receipt(proton::delivery& delivery, const std::string& peer, const Bytes& payload);
  void report(const MessageId& id, Disposition disposition);
  // Removes an entry from peer.outbox (and its row, unless ephemeral). REQUIRES: `it` is in
  // peer.outbox.
  void erase_entry(Peer& peer, std::unordered_map<MessageId, OutEntry>::iterator it);
  // Calls the outcome handler for everything reported; releases and retakes `lock`.
  void flush_outcomes(std::unique_lock<std::mutex>& lock);
  std::chrono::milliseconds grow(std::chrono::milliseconds backoff) const {
    if (backoff.count() == 0) return config_.retry_initial;
    return std::min(backoff * 2, config_.retry_max);
  }
  proton::connection_options connection_options(bool server) const;

  const AmqpConfig config_;
  const std::string self_;  // canonical
  const PeerDirectory& directory_;
  std::unique_ptr<AmqpStore> store_;
  const crypto::PrivateKey receipt_key_;

  mutable std::mutex mutex_;
  Handler handler_;                          // GUARDED_BY(mutex_)
  Outcome outcome_;                          // GUARDED_BY(mutex_)
  // GUARDED_BY(mutex_). Keyed by canonical name (send relies on that); never erased from.
  std::map<std::string, Peer> peers_;
  bool pump_pending_ = false;                // GUARDED_BY(mutex_): wake_locked() queued a pump
  std::vector<std::pair<MessageId, Disposition>> outcomes_;  // GUARDED_BY(mutex_)
  AmqpStats stats_;                          // GUARDED_BY(mutex_)
  std::string last_refusal_;                 // GUARDED_BY(mutex_)
  Clock::time_point last_receipt_wait_scan_{};
  uint64_t receipts_started_ = 0;  // receipts handed to Proton (container thread)
  std::vector<char> head_;         // encode_message_head's buffer (container thread), reused

  std::map<proton::connection, Conn> conns_;  // container thread only

  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  std::atomic<bool> thread_done_{false};  // run_loop has returned
  std::atomic<uint16_t> listen_port_{0};
  std::atomic<bool> listen_resolved_{false};
  std::promise<Status> listen_promise_;

  proton::container container_;
  ListenHandler listen_handler_;
  std::unique_ptr<proton::work_queue> work_queue_;
  proton::listener listener_;
  std::thread thread_;
};

}  // namespace folio::net
