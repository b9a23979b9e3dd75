#include "net/amqp_transport.h"

#include <cstdio>

#include "net/amqp_engine.h"

namespace folio::net {

using namespace amqp_internal;  // NOLINT: the engine's own constants and helpers

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

// ---- Engine: lifecycle and connections ----------------------------------------------------

Status AmqpTransport::Engine::load() {
  FOLIO_ASSIGN_OR_RETURN(auto rows, store_->load_outbox());
  std::lock_guard lock(mutex_);
  for (auto& row : rows) {
    Peer& p = peer(row.envelope.recipient);
    MessageId id = row.envelope.id;
    row.envelope.sender = self_;
    OutEntry entry{std::move(row.envelope), row.content_hash};
    // A row accepted before the restart has had its outcome reported; it waits for its receipt,
    // so it is sent again (the peer de-duplicates it and lists it in its next receipt).
    entry.reported = row.accepted;
    p.queue.push_back(id);
    p.outbox.emplace(id, std::move(entry));
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
  options.max_sessions(kSessionsMax);
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
  thread_done_ = true;
}

void AmqpTransport::Engine::stop() {
  if (!started_) return;
  {
    // Under the mutex, so that no wake_locked() is between its check and work_queue_->add().
    std::lock_guard lock(mutex_);
    if (stopping_.exchange(true)) return;
  }
  if (running_) {
    container_.stop();
    // Once (in some hundred stops in tests) the container thread stayed in epoll_wait with no
    // timeout after stop(), as if the proactor's last "inactive" event had been missed. An empty
    // timer wakes the proactor, which then finds nothing left and lets run() return: scheduled
    // every 200 ms while the thread has not finished. Harmless when it finishes normally.
    auto nudge_at = Clock::now() + std::chrono::milliseconds(200);
    while (!thread_done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (Clock::now() < nudge_at) continue;
      nudge_at = Clock::now() + std::chrono::milliseconds(200);
      try {
        container_.schedule(proton::duration(0), [] {});
      } catch (const std::exception&) {
        // A container already past stopping may refuse; the thread is finishing then.
      }
    }
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

void AmqpTransport::Engine::wake_locked() {
  if (!running_ || stopping_) return;
  // One queued pump serves every send() until it runs: it clears the flag before pumping, under
  // the mutex, so a message queued after that point queues a pump of its own. This spares a job
  // and a wake-up of the proactor per message when messages come in bursts.
  if (pump_pending_) return;
  // add() is thread-safe; it fails only once the container is stopping. The work runs later, on
  // the container thread, so holding the mutex here cannot deadlock with it.
  pump_pending_ = work_queue_->add([this] {
    std::unique_lock lock(mutex_);
    pump_pending_ = false;
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
      for (auto& [name, p] : peers_) {
        for (auto& [id, entry] : p.outbox) {
          if (entry.state != State::kAccepted || now - entry.accepted_at < config_.receipt_wait)
            continue;
          entry.state = State::kQueued;
          p.queue.push_back(id);
        }
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
  conns_[p.connection] = Conn{true, p.name, false, &p};
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
    Peer* state = &peer(*verdict);
    conns_[connection] = Conn{false, *verdict, true, state};
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
  pump_locked(Clock::now(), c_object<proton::connection, pn_connection_t>(connection));
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
