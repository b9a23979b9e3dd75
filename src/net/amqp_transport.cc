#include "net/amqp_transport.h"

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
#include <proton/delivery.h>
#include <proton/link.h>
#include <proton/session.h>
#include <proton/session.hpp>

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <deque>
#include <future>
#include <thread>
#include <utility>

#include "net/amqp_names.h"
#include "net/amqp_store.h"

namespace folio::net {
namespace {

using Clock = std::chrono::steady_clock;

// The topic of receipt messages; `send` refuses it for application messages.
constexpr std::string_view kReceiptTopic = "folio.receipt";
// The application property naming the sending node.
const std::string kSenderProperty = "folio-sender";
// The target address of every link: there is one kind of link, node to node.
const std::string kLinkAddress = "folio";
const std::string kUnauthorized = "amqp:unauthorized-access";
const std::string kTls13 = "TLSv1.3";
const std::string kSaslExternal = "EXTERNAL";
// How often accepted messages are checked against receipt_wait.
constexpr auto kReceiptWaitScanPeriod = std::chrono::milliseconds(500);
constexpr uint32_t kFrameBytesMax = 256 * 1024;
// What the AMQP encoding adds to an envelope's bytes (section headers, property names); the
// receiver's bound on a delivery in progress is max_message_bytes plus this.
constexpr size_t kEncodingSlackBytes = 64 * 1024;
const std::string kMessageSizeExceeded = "amqp:link:message-size-exceeded";
// How long start() waits for the listener to be bound.
constexpr auto kListenDeadline = std::chrono::seconds(30);

// The size counted against TransportLimits::max_message_bytes: payload plus headers.
size_t envelope_bytes(const Envelope& envelope) {
  return envelope.payload.size() + envelope.topic.size() + envelope.sender.size() +
         envelope.recipient.size() + envelope.id.size();
}

std::optional<crypto::Hash256> hash_from_binary(const proton::binary& bytes) {
  if (bytes.size() != crypto::Hash256::kSize) return std::nullopt;
  return crypto::Hash256::from(ByteView(bytes.data(), bytes.size()));
}

proton::binary to_binary(ByteView bytes) { return proton::binary(bytes.begin(), bytes.end()); }

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

Result<std::string> scalar_text(const proton::scalar& value, std::string_view what) {
  if (value.type() != proton::STRING)
    return make_error(ErrorCode::kMalformed, std::string(what) + " is not an AMQP string");
  return proton::get<std::string>(value);
}

}  // namespace

// ---- StaticPeerDirectory ----------------------------------------------------------------------

Status StaticPeerDirectory::put(const std::string& name, PeerInfo info) {
  FOLIO_ASSIGN_OR_RETURN(std::string canonical, canonical_x500(name));
  std::lock_guard lock(mutex_);
  peers_[canonical] = std::move(info);
  return ok_status();
}

void StaticPeerDirectory::remove(const std::string& name) {
  auto canonical = canonical_x500(name);
  if (!canonical.ok()) return;
  std::lock_guard lock(mutex_);
  peers_.erase(*canonical);
}

std::optional<PeerInfo> StaticPeerDirectory::lookup(const std::string& canonical_name) const {
  std::lock_guard lock(mutex_);
  auto it = peers_.find(canonical_name);
  if (it == peers_.end()) return std::nullopt;
  return it->second;
}

// ---- Engine -----------------------------------------------------------------------------------

// The Proton side of the transport. Proton objects are touched only on the container thread.
// `mutex_` guards the state shared with `send` and `stats` callers; it is released around calls
// into the handler and the outcome handler.
class AmqpTransport::Engine final : public proton::messaging_handler {
 public:
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
  using Key = std::pair<std::string, MessageId>;  // (recipient, id)

  struct OutEntry {
    Envelope envelope;
    crypto::Hash256 content_hash;
    State state = State::kQueued;
    bool reported = false;  // the outcome handler has been told
    uint32_t releases = 0;
    Clock::time_point accepted_at{};
  };

  struct Delayed {
    Clock::time_point due;
    MessageId id;
  };

  // What this node knows about one peer: its outbound connection and the work for it.
  struct Peer {
    std::string name;
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
  };

  struct Conn {
    bool outbound = false;
    std::string peer;  // the dialled name (outbound) or the authenticated one (inbound)
    bool verified = false;
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
  void wake();
  // REQUIRES (all below): on the container thread, mutex_ held.
  Peer& peer(const std::string& name);
  void pump_locked(Clock::time_point now);
  void check_partial_deliveries();
  // Our link to a peer was closed by it (or its session was): drop a message it refused as too
  // large, re-queue the rest and open a fresh session and link on the same connection.
  void replace_link(const proton::sender& sender, const std::string& error);
  void pump_peer(Peer& peer, Clock::time_point now);
  void connect(Peer& peer, Clock::time_point now);
  void send_receipts(Peer& peer);
  void requeue_in_flight(Peer& peer);
  Result<std::string> verify(proton::connection& connection, const std::string* expected);
  void refuse(proton::connection& connection, const std::string& reason);
  Result<Envelope> parse(const proton::message& message, const std::string& peer) const;
  void reject_incoming(proton::delivery& delivery, const Error& error);
  void handle_receipt(proton::delivery& delivery, const std::string& peer, const Bytes& payload);
  void report(const MessageId& id, Disposition disposition);
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
  std::map<Key, OutEntry> outbox_;           // GUARDED_BY(mutex_)
  std::map<std::string, Peer> peers_;        // GUARDED_BY(mutex_)
  std::vector<std::pair<MessageId, Disposition>> outcomes_;  // GUARDED_BY(mutex_)
  AmqpStats stats_;                          // GUARDED_BY(mutex_)
  std::string last_refusal_;                 // GUARDED_BY(mutex_)
  Clock::time_point last_receipt_wait_scan_{};
  uint64_t receipts_started_ = 0;  // receipts handed to Proton (container thread)

  std::map<proton::connection, Conn> conns_;  // container thread only

  std::atomic<bool> started_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  std::atomic<uint16_t> listen_port_{0};
  std::atomic<bool> listen_resolved_{false};
  std::promise<Status> listen_promise_;

  proton::container container_;
  ListenHandler listen_handler_;
  std::unique_ptr<proton::work_queue> work_queue_;
  proton::listener listener_;
  std::thread thread_;
};

Status AmqpTransport::Engine::load() {
  FOLIO_ASSIGN_OR_RETURN(auto rows, store_->load_outbox());
  std::lock_guard lock(mutex_);
  for (auto& row : rows) {
    Key key{row.envelope.recipient, row.envelope.id};
    row.envelope.sender = self_;
    OutEntry entry{std::move(row.envelope), row.content_hash};
    // A row accepted before the restart has had its outcome reported; it waits for its receipt,
    // so it is sent again (the peer de-duplicates it and lists it in its next receipt).
    entry.reported = row.accepted;
    peer(key.first).queue.push_back(key.second);
    outbox_.emplace(std::move(key), std::move(entry));
  }
  // Messages accepted before a restart whose receipts never went out.
  FOLIO_ASSIGN_OR_RETURN(auto unreceipted, store_->inbox_unreceipted());
  Clock::time_point now = Clock::now();
  for (auto& message : unreceipted) {
    Peer& p = peer(message.sender);
    if (p.receipts_due.empty()) p.receipts_since = now;
    p.receipts_due.push_back(message.entry);
  }
  return ok_status();
}

proton::connection_options AmqpTransport::Engine::connection_options(bool server) const {
  proton::connection_options options;
  proton::ssl_certificate certificate(config_.tls_certificate_path, config_.tls_private_key_path);
  if (server) {
    options.ssl_server_options(proton::ssl_server_options(certificate, config_.trusted_root_path,
                                                          "", proton::ssl::VERIFY_PEER));
  } else {
    // VERIFY_PEER, not VERIFY_PEER_NAME: peers are identified by X.500 name, not host name;
    // verify() checks the name.
    options.ssl_client_options(proton::ssl_client_options(certificate, config_.trusted_root_path,
                                                          proton::ssl::VERIFY_PEER));
  }
  options.sasl_enabled(true);
  options.sasl_allowed_mechs(kSaslExternal);
  options.container_id(self_);
  options.idle_timeout(proton::duration(30'000));
  // Frames above this are a framing error, so a peer cannot announce a 4 GiB frame and keep the
  // connection waiting for it. Messages larger than a frame span several transfer frames.
  options.max_frame_size(kFrameBytesMax);
  options.handler(*const_cast<Engine*>(this));
  return options;
}

Status AmqpTransport::Engine::start() {
  FOLIO_ASSERT(!started_.exchange(true));
  auto listened = listen_promise_.get_future();
  try {
    container_.auto_stop(false);
    container_.server_connection_options(connection_options(true));
    container_.client_connection_options(connection_options(false));
    work_queue_ = std::make_unique<proton::work_queue>(container_);
    listener_ = container_.listen(config_.listen_host + ":" + std::to_string(config_.listen_port),
                                  listen_handler_);
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kIo, std::string("AMQP transport setup failed: ") + e.what());
  }
  running_ = true;
  thread_ = std::thread([this] { run_loop(); });
  if (listened.wait_for(kListenDeadline) != std::future_status::ready) {
    stop();
    return make_error(ErrorCode::kTimeout, "listener not bound in time");
  }
  Status status = listened.get();
  if (!status.ok()) stop();
  return status;
}

void AmqpTransport::Engine::run_loop() {
  // Proton reports some failures (a file it cannot read, a frame it cannot decode) by throwing
  // from inside run(); the transport counts them and keeps serving.
  while (!stopping_) {
    try {
      container_.run();
      break;
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      ++stats_.transport_errors;
      last_refusal_ = std::string("proton: ") + e.what();
    }
  }
  resolve_listen(make_error(ErrorCode::kIo, "AMQP container stopped"));
}

void AmqpTransport::Engine::stop() {
  if (!started_) return;
  {
    // Under the mutex, so that no wake() is between its check and work_queue_->add().
    std::lock_guard lock(mutex_);
    if (stopping_.exchange(true)) return;
  }
  if (running_) {
    container_.stop();
    if (thread_.joinable()) thread_.join();
  }
  // Proton handles must go before the container does.
  std::lock_guard lock(mutex_);
  conns_.clear();
  for (auto& [name, p] : peers_) {
    p.connection = proton::connection();
    p.sender = proton::sender();
  }
  listener_ = proton::listener();
  work_queue_.reset();
}

void AmqpTransport::Engine::on_container_start(proton::container&) {
  container_.schedule(proton::duration(config_.tick.count()), [this] { tick(); });
}

void AmqpTransport::Engine::wake() {
  std::lock_guard lock(mutex_);
  if (!running_ || stopping_) return;
  // add() is thread-safe; it fails only once the container is stopping. The work runs later, on
  // the container thread, so holding the mutex here cannot deadlock with it.
  (void)work_queue_->add([this] {
    std::unique_lock lock(mutex_);
    pump_locked(Clock::now());
  });
}

void AmqpTransport::Engine::tick() {
  if (stopping_) return;
  {
    std::unique_lock lock(mutex_);
    Clock::time_point now = Clock::now();
    for (auto& [name, p] : peers_) {
      auto due = std::partition(p.delayed.begin(), p.delayed.end(),
                                [&](const Delayed& d) { return d.due > now; });
      for (auto it = due; it != p.delayed.end(); ++it) p.queue.push_back(it->id);
      p.delayed.erase(due, p.delayed.end());
    }
    if (now - last_receipt_wait_scan_ >= kReceiptWaitScanPeriod) {
      last_receipt_wait_scan_ = now;
      for (auto& [key, entry] : outbox_) {
        if (entry.state != State::kAccepted || now - entry.accepted_at < config_.receipt_wait)
          continue;
        entry.state = State::kQueued;
        peer(key.first).queue.push_back(key.second);
      }
    }
    pump_locked(now);
    check_partial_deliveries();
  }
  container_.schedule(proton::duration(config_.tick.count()), [this] { tick(); });
}

AmqpTransport::Engine::Peer& AmqpTransport::Engine::peer(const std::string& name) {
  auto [it, inserted] = peers_.try_emplace(name);
  if (inserted) it->second.name = name;
  return it->second;
}

void AmqpTransport::Engine::pump_locked(Clock::time_point now) {
  for (auto& [name, p] : peers_) pump_peer(p, now);
}

void AmqpTransport::Engine::pump_peer(Peer& p, Clock::time_point now) {
  bool receipts_ready = !p.receipts_due.empty() &&
                        (p.receipts_due.size() >= config_.receipt_batch_max ||
                         now - p.receipts_since >= config_.receipt_interval);
  bool work = !p.queue.empty() || receipts_ready;
  if (!p.connection) {
    if (work && now >= p.next_connect) connect(p, now);
    return;
  }
  if (!p.ready || !p.sender || !p.sender.active()) return;
  uint64_t sent_before = stats_.messages_sent + receipts_started_;
  while (!p.receipts_due.empty() && p.sender.credit() > 0 &&
         (p.receipts_due.size() >= config_.receipt_batch_max ||
          now - p.receipts_since >= config_.receipt_interval)) {
    send_receipts(p);
  }
  while (p.sender.credit() > 0 && !p.queue.empty()) {
    MessageId id = p.queue.front();
    p.queue.pop_front();
    auto it = outbox_.find(Key{p.name, id});
    if (it == outbox_.end() || it->second.state != State::kQueued) continue;
    const Envelope& envelope = it->second.envelope;
    proton::message message;
    message.id(proton::message_id(to_binary(envelope.id.view())));
    message.to(envelope.recipient);
    message.subject(envelope.topic);
    message.properties().put(kSenderProperty, envelope.sender);
    message.body(to_binary(envelope.payload));
    // The delivery tag is the message id (AMQP allows tags of up to 32 bytes): the disposition
    // names the message without a side table. A message is never in flight twice on one link.
    p.sender.send(message, to_binary(envelope.id.view()));
    it->second.state = State::kInFlight;
    p.in_flight.push_back(id);
    ++stats_.messages_sent;
  }
  // pump_peer also runs outside this connection's own events (timer, wake-ups, events of other
  // connections); the proactor writes a connection's output only while processing one of its
  // events, so wake it. Within its own event the wake is a harmless extra event.
  if (stats_.messages_sent + receipts_started_ != sent_before) p.connection.wake();
}

void AmqpTransport::Engine::connect(Peer& p, Clock::time_point now) {
  p.backoff = grow(p.backoff);
  p.next_connect = now + p.backoff;
  auto info = directory_.lookup(p.name);
  if (!info || info->addresses.empty()) return;  // retried after the back-off
  const std::string& address = info->addresses[p.address_turn++ % info->addresses.size()];
  ++stats_.connections_opened;
  try {
    p.connection = container_.connect(address);
    p.sender = p.connection.open_sender(kLinkAddress);
  } catch (const std::exception& e) {
    ++stats_.transport_errors;
    last_refusal_ = std::string("connect to ") + address + ": " + e.what();
    p.connection = proton::connection();
    p.sender = proton::sender();
    return;
  }
  p.ready = false;
  conns_[p.connection] = Conn{true, p.name, false};
}

Result<std::string> AmqpTransport::Engine::verify(proton::connection& connection,
                                                  const std::string* expected) {
  proton::transport transport = connection.transport();
  std::string protocol = transport.ssl().protocol();
  if (protocol != kTls13)
    return make_error(ErrorCode::kVerification, "TLS protocol '" + protocol + "', not TLSv1.3");
  // SASL EXTERNAL: the authentication is the TLS client certificate, nothing else.
  std::string mechanism = transport.sasl().mech();
  if (mechanism != kSaslExternal)
    return make_error(ErrorCode::kVerification, "SASL mechanism '" + mechanism + "', not EXTERNAL");
  auto subject = canonical_x500(transport.ssl().remote_subject());
  if (!subject.ok())
    return make_error(ErrorCode::kVerification,
                      "peer certificate subject: " + subject.error().message());
  if (expected && *subject != *expected)
    return make_error(ErrorCode::kVerification,
                      "dialled " + *expected + " but the certificate is " + *subject);
  if (!directory_.lookup(*subject))
    return make_error(ErrorCode::kNotFound, *subject + " is not in the network map");
  auto claimed = canonical_x500(connection.container_id());
  if (!claimed.ok() || *claimed != *subject)
    return make_error(ErrorCode::kVerification, "certificate of " + *subject +
                                                    " but the peer claims to be '" +
                                                    connection.container_id() + "'");
  return subject;
}

void AmqpTransport::Engine::refuse(proton::connection& connection, const std::string& reason) {
  ++stats_.connections_refused;
  last_refusal_ = reason;
  connection.close(proton::error_condition(kUnauthorized, reason));
}

void AmqpTransport::Engine::on_connection_open(proton::connection& connection) {
  std::unique_lock lock(mutex_);
  auto it = conns_.find(connection);
  if (it == conns_.end()) {
    // Inbound: the peer dialled us.
    auto verdict = verify(connection, nullptr);
    if (!verdict.ok()) {
      conns_[connection] = Conn{false, {}, false};
      refuse(connection, "inbound: " + verdict.error().message());
      return;
    }
    conns_[connection] = Conn{false, *verdict, true};
    ++stats_.connections_verified;
    // Overriding this handler replaces Proton's default, which opens our end.
    if (connection.uninitialized()) connection.open();
    return;
  }
  auto verdict = verify(connection, &it->second.peer);
  auto pit = peers_.find(it->second.peer);
  if (!verdict.ok()) {
    refuse(connection, "outbound: " + verdict.error().message());
    return;
  }
  it->second.verified = true;
  ++stats_.connections_verified;
  if (pit != peers_.end()) pit->second.ready = true;
  pump_locked(Clock::now());
}

void AmqpTransport::Engine::on_receiver_open(proton::receiver& receiver) {
  std::lock_guard lock(mutex_);
  auto it = conns_.find(receiver.connection());
  if (it == conns_.end() || it->second.outbound || !it->second.verified) {
    receiver.close(proton::error_condition(kUnauthorized, "links only from verified peers"));
    return;
  }
  receiver.open(proton::receiver_options()
                    .auto_accept(false)
                    .credit_window(static_cast<int>(config_.credit_window)));
}

void AmqpTransport::Engine::on_sender_open(proton::sender& sender) {
  // Our own sender's attach is echoed here; a peer asking to receive from us is refused.
  if (sender.uninitialized())
    sender.close(proton::error_condition(kUnauthorized, "this node does not serve receivers"));
}

void AmqpTransport::Engine::on_session_open(proton::session& session) {
  // A peer's session may hold this many bytes we have not read: one message at the limit plus a
  // little. Proton C++ reads a message only once all its frames are in, so without this bound a
  // peer could make us buffer a message of any size before the size check could see it.
  if (session.uninitialized()) {
    pn_session_set_incoming_capacity(c_object<proton::session, pn_session_t>(session),
                                     config_.limits.max_message_bytes + kEncodingSlackBytes +
                                         2 * size_t{kFrameBytesMax});
    session.open();
  }
}

void AmqpTransport::Engine::check_partial_deliveries() {
  // A delivery still arriving past the limit can never be accepted: close its link with the
  // error AMQP defines for that (the connection stays). The peer's session window (above) stops
  // it from sending much more in the meantime.
  const size_t bound = config_.limits.max_message_bytes + kEncodingSlackBytes;
  for (auto& [connection, conn] : conns_) {
    if (conn.outbound || !conn.verified || !connection.active()) continue;
    bool closed = false;
    for (proton::receiver receiver : connection.receivers()) {
      if (!receiver.active() || !receiver.session().active()) continue;
      pn_delivery_t* delivery = pn_link_current(c_object<proton::link, pn_link_t>(receiver));
      if (delivery == nullptr || !pn_delivery_partial(delivery) ||
          pn_delivery_pending(delivery) <= bound)
        continue;
      ++stats_.incoming_rejected;
      ++stats_.incoming_oversize;
      last_refusal_ = "incoming message from " + conn.peer + " passed " + std::to_string(bound) +
                      " bytes while arriving; link closed";
      // The whole session goes: its window still counts the bytes of the abandoned delivery.
      receiver.session().close(proton::error_condition(kMessageSizeExceeded, last_refusal_));
      closed = true;
      break;
    }
    if (closed) proton::connection(connection).wake();
  }
}

void AmqpTransport::Engine::on_sender_close(proton::sender& sender) {
  replace_link(sender, sender.error().name());
}

void AmqpTransport::Engine::on_session_close(proton::session& session) {
  proton::connection connection = session.connection();
  for (proton::sender sender : session.senders()) replace_link(sender, session.error().name());
}

void AmqpTransport::Engine::replace_link(const proton::sender& sender, const std::string& error) {
  std::unique_lock lock(mutex_);
  auto cit = conns_.find(sender.connection());
  if (cit == conns_.end() || !cit->second.outbound) return;
  auto pit = peers_.find(cit->second.peer);
  if (pit == peers_.end() || pit->second.sender != sender) return;
  Peer& p = pit->second;
  if (error == kMessageSizeExceeded && !p.in_flight.empty()) {
    // The peer closed the link on the message it was receiving, the oldest in flight: it is too
    // large for that peer and will never be accepted.
    MessageId id = p.in_flight.front();
    p.in_flight.pop_front();
    auto it = outbox_.find(Key{p.name, id});
    if (it != outbox_.end()) {
      (void)store_->outbox_delete(p.name, id);
      if (!it->second.reported) report(id, Disposition::kRejected);
      outbox_.erase(it);
    }
  }
  // Dispositions of what was in flight on the closed link will not come: send those again (the
  // peer de-duplicates) on a fresh link over the same connection.
  requeue_in_flight(p);
  proton::connection connection = sender.connection();
  if (!stopping_ && connection.active()) {
    p.sender = connection.open_session().open_sender(kLinkAddress);
  } else {
    p.ready = false;
  }
  flush_outcomes(lock);
}

void AmqpTransport::Engine::on_sendable(proton::sender&) {
  std::lock_guard lock(mutex_);
  pump_locked(Clock::now());
}

Result<Envelope> AmqpTransport::Engine::parse(const proton::message& message,
                                              const std::string& peer) const {
  // Proton's accessors throw on values of unexpected types; every throw is a malformed message.
  try {
    Envelope envelope;
    proton::message_id id = message.id();
    if (id.type() != proton::BINARY)
      return make_error(ErrorCode::kMalformed, "message id is not binary");
    auto id_hash = hash_from_binary(proton::get<proton::binary>(id));
    if (!id_hash) return make_error(ErrorCode::kMalformed, "message id is not 32 bytes");
    envelope.id = *id_hash;
    const proton::value& body = message.body();
    if (body.type() != proton::BINARY)
      return make_error(ErrorCode::kMalformed, "message body is not binary");
    auto payload = proton::get<proton::binary>(body);
    envelope.payload.assign(payload.begin(), payload.end());
    envelope.topic = message.subject();
    if (envelope.topic.empty()) return make_error(ErrorCode::kMalformed, "message without topic");
    if (!message.properties().exists(kSenderProperty))
      return make_error(ErrorCode::kMalformed, "message without " + kSenderProperty);
    FOLIO_ASSIGN_OR_RETURN(std::string sender,
                           scalar_text(message.properties().get(kSenderProperty), kSenderProperty));
    FOLIO_ASSIGN_OR_RETURN(envelope.sender, canonical_x500(sender));
    if (envelope.sender != peer)
      return make_error(ErrorCode::kVerification,
                        "message claims sender " + envelope.sender + " on the connection of " + peer);
    auto recipient = canonical_x500(message.to());
    if (!recipient.ok() || *recipient != self_)
      return make_error(ErrorCode::kMalformed, "message addressed to '" + message.to() + "'");
    envelope.recipient = *recipient;
    if (envelope_bytes(envelope) > config_.limits.max_message_bytes)
      return make_error(ErrorCode::kLimitExceeded,
                        "message of " + std::to_string(envelope_bytes(envelope)) +
                            " bytes, limit " + std::to_string(config_.limits.max_message_bytes));
    return envelope;
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kMalformed, std::string("undecodable message: ") + e.what());
  }
}

void AmqpTransport::Engine::reject_incoming(proton::delivery& delivery, const Error& error) {
  ++stats_.incoming_rejected;
  if (error.code == ErrorCode::kLimitExceeded) ++stats_.incoming_oversize;
  last_refusal_ = "incoming message rejected: " + error.message();
  delivery.reject();
}

void AmqpTransport::Engine::on_message(proton::delivery& delivery, proton::message& message) {
  std::unique_lock lock(mutex_);
  auto cit = conns_.find(delivery.connection());
  if (cit == conns_.end() || cit->second.outbound || !cit->second.verified) {
    reject_incoming(delivery, make_error(ErrorCode::kVerification, "unverified connection"));
    return;
  }
  const std::string peer_name = cit->second.peer;
  auto parsed = parse(message, peer_name);
  if (!parsed.ok()) {
    reject_incoming(delivery, parsed.error());
    return;
  }
  Envelope& envelope = *parsed;
  if (envelope.topic == kReceiptTopic) {
    handle_receipt(delivery, peer_name, envelope.payload);
    lock.unlock();
    flush_outcomes(lock);
    return;
  }
  ReceiptEntry entry{envelope.id, content_hash(envelope)};
  auto duplicate = store_->inbox_check_duplicate(peer_name, envelope.id);
  if (!duplicate.ok()) {
    last_refusal_ = "inbox: " + duplicate.error().message();
    delivery.release();  // the sender retries
    return;
  }
  Peer& from = peer(peer_name);
  if (*duplicate) {
    ++stats_.duplicates;
    if (from.receipts_due.empty()) from.receipts_since = Clock::now();
    from.receipts_due.push_back(entry);
    delivery.accept();
    return;
  }
  Handler handler = handler_;
  if (!handler) {
    delivery.release();
    return;
  }
  lock.unlock();
  Disposition disposition = handler(envelope);
  lock.lock();
  if (disposition == Disposition::kRejected) {
    ++stats_.incoming_rejected;
    delivery.reject();
    return;
  }
  Status stored = store_->inbox_insert(peer_name, entry);
  if (!stored.ok()) {
    // The handler ran but the de-duplication record is lost: the sender retries and the handler
    // may see the message again, which at-least-once delivery allows.
    last_refusal_ = "inbox: " + stored.error().message();
    delivery.release();
    return;
  }
  ++stats_.messages_delivered;
  Peer& sender = peer(peer_name);
  if (sender.receipts_due.empty()) sender.receipts_since = Clock::now();
  sender.receipts_due.push_back(entry);
  delivery.accept();
  if (sender.receipts_due.size() >= config_.receipt_batch_max) pump_peer(sender, Clock::now());
}

void AmqpTransport::Engine::handle_receipt(proton::delivery& delivery, const std::string& peer_name,
                                           const Bytes& payload) {
  auto receipt = decode_receipt(payload, config_.limits.max_message_bytes);
  Status verdict = ok_status();
  std::optional<PeerInfo> info;
  if (!receipt.ok()) {
    verdict = receipt.error();
  } else if (receipt->receipt.receiver != peer_name || receipt->receipt.addressee != self_) {
    verdict = make_error(ErrorCode::kVerification, "receipt names " + receipt->receipt.receiver +
                                                       " -> " + receipt->receipt.addressee);
  } else if (!(info = directory_.lookup(peer_name))) {
    verdict = make_error(ErrorCode::kNotFound, peer_name + " is not in the network map");
  } else {
    verdict = verify_receipt(*receipt, info->receipt_key);
  }
  if (!verdict.ok()) {
    ++stats_.receipts_invalid;
    reject_incoming(delivery, verdict.error());
    return;
  }
  auto deleted = store_->apply_receipt(*receipt, crypto::sha256(payload));
  if (!deleted.ok()) {
    last_refusal_ = "outbox: " + deleted.error().message();
    delivery.release();
    return;
  }
  for (const MessageId& id : *deleted) {
    auto it = outbox_.find(Key{peer_name, id});
    if (it == outbox_.end()) continue;
    // The receipt can overtake the disposition, which travels on the other connection.
    if (!it->second.reported) report(id, Disposition::kAccepted);
    outbox_.erase(it);
  }
  ++stats_.receipts_verified;
  delivery.accept();
}

void AmqpTransport::Engine::send_receipts(Peer& p) {
  // Each entry costs 64 bytes on the wire; keep a receipt well inside the message limit.
  size_t fit = config_.limits.max_message_bytes > 1024
                   ? (config_.limits.max_message_bytes - 1024) / 64
                   : 1;
  size_t count = std::min({p.receipts_due.size(), config_.receipt_batch_max, kReceiptEntriesMax,
                           std::max<size_t>(fit, 1)});
  Receipt receipt{self_, p.name,
                  std::vector<ReceiptEntry>(p.receipts_due.begin(), p.receipts_due.begin() + count)};
  p.receipts_due.erase(p.receipts_due.begin(), p.receipts_due.begin() + count);
  p.receipts_since = Clock::now();
  Bytes body = encode_receipt(sign_receipt(receipt, receipt_key_));
  crypto::Hash256 tag = crypto::sha256(body);
  proton::message message;
  message.id(proton::message_id(to_binary(tag.view())));
  message.to(p.name);
  message.subject(std::string(kReceiptTopic));
  message.properties().put(kSenderProperty, self_);
  message.body(to_binary(body));
  p.sender.send(message, to_binary(tag.view()));
  p.receipts_in_flight[tag] = std::move(receipt.entries);
  ++receipts_started_;
}

void AmqpTransport::Engine::report(const MessageId& id, Disposition disposition) {
  if (disposition == Disposition::kAccepted)
    ++stats_.messages_accepted;
  else
    ++stats_.messages_rejected_by_peer;
  outcomes_.emplace_back(id, disposition);
}

void AmqpTransport::Engine::flush_outcomes(std::unique_lock<std::mutex>& lock) {
  if (!lock.owns_lock()) lock.lock();
  while (!outcomes_.empty()) {
    auto outcomes = std::move(outcomes_);
    outcomes_.clear();
    Outcome outcome = outcome_;
    lock.unlock();
    if (outcome)
      for (const auto& [id, disposition] : outcomes) outcome(id, disposition);
    lock.lock();
  }
}

void AmqpTransport::Engine::on_tracker_accept(proton::tracker& tracker) {
  std::unique_lock lock(mutex_);
  auto cit = conns_.find(tracker.connection());
  if (cit == conns_.end() || !cit->second.outbound) return;
  auto tag = hash_from_binary(tracker.tag());
  if (!tag) return;
  Peer& p = peer(cit->second.peer);
  p.backoff = std::chrono::milliseconds(0);  // progress: the next reconnect starts afresh
  if (auto rit = p.receipts_in_flight.find(*tag); rit != p.receipts_in_flight.end()) {
    Status marked = store_->inbox_mark_receipted(p.name, rit->second);
    if (marked.ok()) ++stats_.receipts_sent;
    p.receipts_in_flight.erase(rit);
    return;
  }
  auto it = outbox_.find(Key{p.name, *tag});
  if (it == outbox_.end()) return;
  if (auto f = std::find(p.in_flight.begin(), p.in_flight.end(), *tag); f != p.in_flight.end())
    p.in_flight.erase(f);
  it->second.state = State::kAccepted;
  it->second.accepted_at = Clock::now();
  if (!it->second.reported) {
    it->second.reported = true;
    // If this write fails the row still says "not accepted": after a restart the message is sent
    // again, de-duplicated by the peer, and reported a second time. At least once.
    (void)store_->outbox_mark_accepted(p.name, *tag);
    report(*tag, Disposition::kAccepted);
  }
  flush_outcomes(lock);
}

void AmqpTransport::Engine::on_tracker_reject(proton::tracker& tracker) {
  std::unique_lock lock(mutex_);
  auto cit = conns_.find(tracker.connection());
  if (cit == conns_.end() || !cit->second.outbound) return;
  auto tag = hash_from_binary(tracker.tag());
  if (!tag) return;
  Peer& p = peer(cit->second.peer);
  if (auto rit = p.receipts_in_flight.find(*tag); rit != p.receipts_in_flight.end()) {
    // The peer refused our receipt: nothing to retry that would change its mind.
    last_refusal_ = "a receipt was rejected by " + p.name;
    p.receipts_in_flight.erase(rit);
    return;
  }
  auto it = outbox_.find(Key{p.name, *tag});
  if (it == outbox_.end()) return;
  if (auto f = std::find(p.in_flight.begin(), p.in_flight.end(), *tag); f != p.in_flight.end())
    p.in_flight.erase(f);
  (void)store_->outbox_delete(p.name, *tag);
  if (!it->second.reported) report(*tag, Disposition::kRejected);
  outbox_.erase(it);
  flush_outcomes(lock);
}

void AmqpTransport::Engine::on_tracker_release(proton::tracker& tracker) {
  std::lock_guard lock(mutex_);
  auto cit = conns_.find(tracker.connection());
  if (cit == conns_.end() || !cit->second.outbound) return;
  auto tag = hash_from_binary(tracker.tag());
  if (!tag) return;
  Peer& p = peer(cit->second.peer);
  if (auto rit = p.receipts_in_flight.find(*tag); rit != p.receipts_in_flight.end()) {
    p.receipts_due.insert(p.receipts_due.end(), rit->second.begin(), rit->second.end());
    p.receipts_in_flight.erase(rit);
    return;
  }
  auto it = outbox_.find(Key{p.name, *tag});
  if (it == outbox_.end() || it->second.state != State::kInFlight) return;
  if (auto f = std::find(p.in_flight.begin(), p.in_flight.end(), *tag); f != p.in_flight.end())
    p.in_flight.erase(f);
  // Released (or modified): the peer could not take it now. Back off per message.
  OutEntry& entry = it->second;
  entry.state = State::kQueued;
  ++entry.releases;
  auto delay = config_.retry_initial;
  for (uint32_t i = 1; i < entry.releases && delay < config_.retry_max; ++i) delay *= 2;
  p.delayed.push_back(Delayed{Clock::now() + std::min(delay, config_.retry_max), *tag});
}

void AmqpTransport::Engine::requeue_in_flight(Peer& p) {
  for (auto it = p.in_flight.rbegin(); it != p.in_flight.rend(); ++it) {
    auto entry = outbox_.find(Key{p.name, *it});
    if (entry == outbox_.end() || entry->second.state != State::kInFlight) continue;
    entry->second.state = State::kQueued;
    p.queue.push_front(*it);
  }
  p.in_flight.clear();
  for (auto& [tag, entries] : p.receipts_in_flight)
    p.receipts_due.insert(p.receipts_due.end(), entries.begin(), entries.end());
  p.receipts_in_flight.clear();
}

void AmqpTransport::Engine::on_transport_error(proton::transport& transport) {
  std::lock_guard lock(mutex_);
  ++stats_.transport_errors;
  last_refusal_ = "transport: " + transport.error().what();
}

void AmqpTransport::Engine::on_transport_close(proton::transport& transport) {
  std::lock_guard lock(mutex_);
  proton::connection connection = transport.connection();
  auto cit = conns_.find(connection);
  if (cit == conns_.end()) return;
  if (cit->second.outbound) {
    auto pit = peers_.find(cit->second.peer);
    if (pit != peers_.end() && pit->second.connection == connection) {
      Peer& p = pit->second;
      requeue_in_flight(p);
      p.connection = proton::connection();
      p.sender = proton::sender();
      p.ready = false;
      // The next attempt waits out the back-off that connect() set.
    }
  }
  conns_.erase(cit);
}

void AmqpTransport::Engine::on_connection_error(proton::connection& connection) {
  std::lock_guard lock(mutex_);
  last_refusal_ = "connection: " + connection.error().what();
}

void AmqpTransport::Engine::on_session_error(proton::session&) {}
void AmqpTransport::Engine::on_receiver_error(proton::receiver&) {}
void AmqpTransport::Engine::on_sender_error(proton::sender&) {}

void AmqpTransport::Engine::on_error(const proton::error_condition& error) {
  std::lock_guard lock(mutex_);
  last_refusal_ = "proton: " + error.what();
}

Status AmqpTransport::Engine::send(Envelope envelope) {
  auto recipient = canonical_x500(envelope.recipient);
  if (!recipient.ok())
    return make_error(ErrorCode::kInvalidArgument,
                      "recipient '" + envelope.recipient + "': " + recipient.error().message());
  envelope.recipient = *recipient;
  envelope.sender = self_;
  if (envelope.topic.empty() || envelope.topic == kReceiptTopic)
    return make_error(ErrorCode::kInvalidArgument, "topic '" + envelope.topic + "' not allowed");
  if (envelope_bytes(envelope) > config_.limits.max_message_bytes)
    return make_error(ErrorCode::kLimitExceeded,
                      "message of " + std::to_string(envelope_bytes(envelope)) + " bytes, limit " +
                          std::to_string(config_.limits.max_message_bytes));
  if (!directory_.lookup(envelope.recipient))
    return make_error(ErrorCode::kNotFound, envelope.recipient + " is not in the network map");
  OutboxRow row{envelope, content_hash(envelope), false};
  auto inserted = store_->outbox_insert(row);
  if (!inserted.ok()) return make_error(ErrorCode::kIo, "outbox: " + inserted.error().message());
  if (!*inserted) return ok_status();
  {
    std::lock_guard lock(mutex_);
    Key key{envelope.recipient, envelope.id};
    peer(key.first).queue.push_back(key.second);
    outbox_.emplace(std::move(key), OutEntry{std::move(envelope), row.content_hash});
  }
  wake();
  return ok_status();
}

// ---- AmqpTransport ----------------------------------------------------------------------------

AmqpTransport::AmqpTransport(std::unique_ptr<Engine> engine) : engine_(std::move(engine)) {}
AmqpTransport::~AmqpTransport() { stop(); }

Result<std::unique_ptr<AmqpTransport>> AmqpTransport::create(AmqpConfig config,
                                                             const PeerDirectory& directory,
                                                             storage::Database& database,
                                                             crypto::PrivateKey receipt_key) {
  auto self = canonical_x500(config.self);
  if (!self.ok())
    return make_error(ErrorCode::kInvalidArgument, "own name: " + self.error().message());
  if (config.tls_certificate_path.empty() || config.tls_private_key_path.empty() ||
      config.trusted_root_path.empty())
    return make_error(ErrorCode::kInvalidArgument, "TLS certificate, key and root are required");
  if (config.receipt_batch_max == 0 || config.retry_initial.count() <= 0 ||
      config.retry_max < config.retry_initial || config.tick.count() <= 0 ||
      config.credit_window == 0)
    return make_error(ErrorCode::kInvalidArgument, "bad AMQP transport limits");
  for (const std::string* path :
       {&config.tls_certificate_path, &config.tls_private_key_path, &config.trusted_root_path}) {
    // Proton would only notice an unreadable file at the first handshake.
    std::FILE* file = std::fopen(path->c_str(), "r");
    if (file == nullptr) return make_error(ErrorCode::kIo, "cannot read " + *path);
    std::fclose(file);
  }
  FOLIO_ASSIGN_OR_RETURN(auto store, AmqpStore::open(database));
  auto engine = std::make_unique<Engine>(std::move(config), std::move(*self), directory,
                                         std::move(store), std::move(receipt_key));
  FOLIO_TRY(engine->load());
  return std::unique_ptr<AmqpTransport>(new AmqpTransport(std::move(engine)));
}

Status AmqpTransport::start() { return engine_->start(); }
void AmqpTransport::stop() { engine_->stop(); }
uint16_t AmqpTransport::listen_port() const { return engine_->listen_port(); }
const std::string& AmqpTransport::self() const { return engine_->self(); }
void AmqpTransport::set_handler(Handler handler) { engine_->set_handler(std::move(handler)); }
void AmqpTransport::set_outcome_handler(Outcome outcome) {
  engine_->set_outcome_handler(std::move(outcome));
}
Status AmqpTransport::send(Envelope envelope) { return engine_->send(std::move(envelope)); }
AmqpStats AmqpTransport::stats() const { return engine_->stats(); }
std::string AmqpTransport::last_refusal() const { return engine_->last_refusal(); }
Result<int64_t> AmqpTransport::outbox_size() { return engine_->store().outbox_size(); }
Result<int64_t> AmqpTransport::receipts_stored() { return engine_->store().receipts_stored(); }

}  // namespace folio::net
