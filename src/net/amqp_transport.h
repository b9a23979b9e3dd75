// AmqpTransport: the Transport (transport.h) between real processes, over AMQP 1.0 with mutual
// TLS 1.3, brokerless and node to node, with Apache Qpid Proton C++ (ARCHITECTURE.md section 4,
// "Messaging"; design and wire format in docs/messaging.md).
//
// Each node listens for peers and opens one outbound connection (one sender link) to each peer it
// has messages or receipts for. Both ends of every connection check that the other's certificate
// chains to the network's root, that the TLS protocol is 1.3, that the certificate's subject is an
// X.500 name listed by the PeerDirectory (the network map), and that the AMQP container id the peer
// claims is that same name; every message must also carry that name as its sender.
//
// Messages handed to `send` are written to the outbox table first and retried, with capped
// exponential back-off, until the recipient accepts them, across restarts. The receiver invokes the
// handler, records the message id in its inbox table (de-duplication: a repeat is accepted without
// calling the handler again) and only then settles the AMQP delivery as accepted. Accepted messages
// are acknowledged again, in batches, by signed receipts; a verified receipt deletes the sender's
// outbox rows and is kept as evidence.
//
// Ephemeral topics (AmqpConfig::ephemeral_topics) are for protocols that recover lost messages
// themselves (consensus, S-BAC's resends and status queries): their messages skip the outbox and
// inbox tables and receipts. They are still authenticated, size-checked, sent in order on the
// peer's link and retried in memory while the transport runs (released, link or connection lost),
// but not across a restart, and the receiver does not de-duplicate them (a message resent after a
// lost disposition can reach the handler twice). They carry the application property
// "folio-ephemeral" so that the receiver knows to skip its tables; the sender's configuration
// alone decides which topics are ephemeral. Their queue per peer is bounded
// (ephemeral_queue_max, ephemeral_queue_bytes_max): past it `send` refuses with kLimitExceeded.
//
// Threading: Proton runs on one thread owned by the transport. The handler and the outcome handler
// are invoked on that thread, one call at a time, never concurrently with each other; they must not
// block for long and must not call `stop` (calling `send` is fine). `send`, `stats` and
// `outbox_size` are thread-safe. The Database and PeerDirectory must outlive the transport; the
// transport serialises its own use of the Database, so a Database shared with other components
// must tolerate use from the transport's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "net/transport.h"
#include "storage/database.h"

namespace folio::net {

// What the network map says about a peer.
struct PeerInfo {
  std::vector<std::string> addresses;  // "host:port", tried in turn
  crypto::PublicKey receipt_key;       // the peer's identity key, which signs its receipts
};

// Name -> addresses and key. The network map client implements it; StaticPeerDirectory serves
// tests and fixed networks. Names are compared in canonical form (amqp_names.h), so an
// implementation is asked for canonical names only.
class PeerDirectory {
 public:
  virtual ~PeerDirectory() = default;
  // The peer's entry, or nullopt when `canonical_name` is not in the network map. Called from any
  // thread (including the transport's): must be thread-safe and must not block for long.
  virtual std::optional<PeerInfo> lookup(const std::string& canonical_name) const = 0;
};

// A directory held in memory. Thread-safe.
class StaticPeerDirectory final : public PeerDirectory {
 public:
  // kMalformed unless `name` is a valid X.500 name.
  Status put(const std::string& name, PeerInfo info);
  void remove(const std::string& name);
  std::optional<PeerInfo> lookup(const std::string& canonical_name) const override;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, PeerInfo> peers_;  // GUARDED_BY(mutex_), by canonical name
};

struct AmqpConfig {
  std::string self;  // this node's X.500 name: the subject of its TLS certificate
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;  // 0: an ephemeral port, see AmqpTransport::listen_port()
  // PEM files: the TLS certificate followed by its chain up to (not including) the root; its key;
  // the network's root certificate, the only trust anchor.
  std::string tls_certificate_path;
  std::string tls_private_key_path;
  std::string trusted_root_path;

  TransportLimits limits;
  // A receipt is sent to a peer once this many of its messages await one, or receipt_interval
  // after the first of them, whichever comes first.
  size_t receipt_batch_max = 64;
  std::chrono::milliseconds receipt_interval{200};
  // A message the peer accepted but no receipt covered after this long is sent again (the peer
  // accepts it as a duplicate and lists it in its next receipt).
  std::chrono::milliseconds receipt_wait{30'000};
  // Back-off between connection attempts to a peer and before retrying a released message:
  // doubles from retry_initial up to retry_max.
  std::chrono::milliseconds retry_initial{100};
  std::chrono::milliseconds retry_max{10'000};
  // Messages a peer may have in flight to us on its link before we settle them.
  uint32_t credit_window = 256;
  // Period of the transport's timer (receipt batches, back-off, receipt_wait).
  std::chrono::milliseconds tick{20};
  // Topics sent without the outbox, de-duplication and receipts (header comment). Empty: every
  // message is delivered reliably.
  std::set<std::string> ephemeral_topics;
  // Ephemeral messages per peer not yet accepted by it (queued, in flight or backing off), and
  // their payload bytes, at most.
  size_t ephemeral_queue_max = 100'000;
  size_t ephemeral_queue_bytes_max = size_t{256} << 20;
};

// Counters, for tests and operators. Monotonic for the transport's lifetime.
struct AmqpStats {
  uint64_t messages_sent = 0;        // transfers sent (including retries)
  uint64_t messages_accepted = 0;    // outcomes kAccepted reported
  uint64_t messages_rejected_by_peer = 0;
  uint64_t messages_delivered = 0;   // handler invocations
  uint64_t duplicates = 0;           // incoming messages already in the inbox
  uint64_t incoming_rejected = 0;    // incoming deliveries rejected (malformed, wrong sender, ...)
  uint64_t incoming_oversize = 0;    // of which: over limits.max_message_bytes
  uint64_t receipts_sent = 0;        // receipts our peers accepted
  uint64_t receipts_verified = 0;    // receipts from peers that verified
  uint64_t receipts_invalid = 0;     // receipts from peers that did not
  uint64_t connections_opened = 0;   // outbound connection attempts
  uint64_t connections_verified = 0; // connections (either direction) whose peer passed the checks
  uint64_t connections_refused = 0;  // connections closed because the peer failed them
  uint64_t transport_errors = 0;     // TLS or socket failures, including failed handshakes
  uint64_t ephemeral_delivered = 0;  // of messages_delivered: ephemeral ones (no inbox row)
  uint64_t ephemeral_refused = 0;    // ephemeral sends refused: the peer's queue was full
};

class AmqpTransport final : public Transport {
 public:
  // Opens the transport's tables (migrations under component "net") and loads the outbox. Does
  // not touch the network. REQUIRES: `directory` and `database` outlive the transport.
  // Errors: kInvalidArgument (bad config or name), kIo (database).
  static Result<std::unique_ptr<AmqpTransport>> create(AmqpConfig config,
                                                       const PeerDirectory& directory,
                                                       storage::Database& database,
                                                       crypto::PrivateKey receipt_key);
  ~AmqpTransport() override;

  // Starts listening and the transport's thread; returns once the listener is bound. kIo if the
  // port cannot be bound or the TLS files cannot be read. REQUIRES: not started before.
  Status start();
  // Closes every connection and joins the thread. Messages not yet accepted stay in the outbox.
  // Idempotent; also run by the destructor. REQUIRES: not called from the handler.
  void stop();

  // The bound port. REQUIRES: start() succeeded.
  uint16_t listen_port() const;

  const std::string& self() const override;
  void set_handler(Handler handler) override;
  void set_outcome_handler(Outcome outcome) override;
  // Writes the envelope to the outbox and wakes the transport. The envelope's `sender` is set to
  // this node's name. Sending the same (recipient, id) again while it is still in the outbox is a
  // no-op. An envelope of an ephemeral topic is queued in memory only (kLimitExceeded when its
  // peer's ephemeral queue is full).
  Status send(Envelope envelope) override;

  AmqpStats stats() const;
  // The most recent refusal or error, in words (for logs and tests); empty if none.
  std::string last_refusal() const;
  // Messages not yet covered by a verified receipt.
  Result<int64_t> outbox_size();
  // Receipts from peers kept as evidence.
  Result<int64_t> receipts_stored();

  class Engine;  // the Proton side, in amqp_transport.cc

 private:
  explicit AmqpTransport(std::unique_ptr<Engine> engine);
  std::unique_ptr<Engine> engine_;
};

}  // namespace folio::net
