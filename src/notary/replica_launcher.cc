#include "notary/replica_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "contracts/cash.h"
#include "identity/certificates.h"

namespace folio::notary {
namespace fs = std::filesystem;

Result<ChildProcess> ChildProcess::spawn(const std::vector<std::string>& argv,
                                         const std::string& log_path) {
  if (argv.empty()) return make_error(ErrorCode::kInvalidArgument, "empty command line");
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return make_error(ErrorCode::kIo, log_path + ": cannot open");
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    return make_error(ErrorCode::kIo, "fork failed");
  }
  if (pid == 0) {
    // A child must not outlive a parent that died without stopping it (a crashed test, kill -9 of
    // the bench): it gets SIGTERM when the forking thread's process goes away.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() == 1) ::_exit(126);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log);
  ChildProcess c;
  c.pid_ = pid;
  return c;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = other.pid_;
    other.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() { stop(); }

void ChildProcess::signal(int signo) const {
  if (pid_ > 0) ::kill(pid_, signo);
}

std::optional<int> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || r < 0) {
      pid_ = -1;
      return status;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return;
  signal(SIGTERM);
  if (wait_exit(grace)) return;
  signal(SIGKILL);
  (void)wait_exit(std::chrono::milliseconds(10'000));
}

Result<ReplicaStatus> read_replica_status(const std::string& path) {
  FOLIO_ASSIGN_OR_RETURN(std::string text, identity::read_text_file(path, 1u << 16));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(ErrorCode::kMalformed, path);
  ReplicaStatus s;
  s.view = j.value("view", uint64_t{0});
  s.highest_voted_view = j.value("highest_voted_view", uint64_t{0});
  s.committed_height = j.value("committed_height", uint64_t{0});
  s.committed_commands = j.value("committed_commands", uint64_t{0});
  s.malformed = j.value("malformed", uint64_t{0});
  s.consensus_rejected = j.value("consensus_rejected", uint64_t{0});
  s.uptime_ms = j.value("uptime_ms", uint64_t{0});
  s.restored_height = j.value("restored_height", uint64_t{0});
  s.takeovers_committed = j.value("takeovers_committed", uint64_t{0});
  return s;
}

// ---- NetworkClient ------------------------------------------------------------------------------

Result<std::unique_ptr<NetworkClient>> NetworkClient::open(
    const std::string& config_path, ShardedClientOptions options,
    std::function<void(const net::Envelope&)> raw_handler, bool ephemeral_messages) {
  std::unique_ptr<NetworkClient> c(new NetworkClient());
  FOLIO_ASSIGN_OR_RETURN(c->config_, load_process_config(config_path));
  FOLIO_ASSIGN_OR_RETURN(
      identity::NetworkParameters parameters,
      load_network_parameters(c->config_.network_parameters, c->config_.certificates_dir));
  FOLIO_ASSIGN_OR_RETURN(NotaryEntry entry, notary_entry(parameters, c->config_.notary));
  const identity::NotaryInfo* info = parameters.find_notary(c->config_.notary);
  if (!entry.shard_map.has_value())
    return make_error(ErrorCode::kUnsupported, "the notary is not replicated");
  c->replica_names_ = info->replica_names;
  for (const PeerEntry& peer : c->config_.peers)
    FOLIO_TRY(c->directory_.put(peer.name, net::PeerInfo{{peer.address}, peer.key}));
  FOLIO_ASSIGN_OR_RETURN(identity::NodeCertificates certs,
                         identity::read_node_certificates(c->config_.certificates_dir));
  FOLIO_ASSIGN_OR_RETURN(crypto::PrivateKey key, certs.identity_key.to_private_key());
  storage::SqliteOptions db;
  db.path = c->config_.transport_database;
  std::error_code ec;
  fs::create_directories(fs::path(db.path).parent_path(), ec);
  FOLIO_ASSIGN_OR_RETURN(c->db_, storage::open_sqlite(db));
  identity::NodeCertificateFiles files =
      identity::NodeCertificateFiles::in(c->config_.certificates_dir);
  net::AmqpConfig ac;
  ac.self = c->config_.name;
  ac.listen_host = c->config_.listen_host;
  ac.listen_port = c->config_.listen_port;
  ac.tls_certificate_path = files.tls_chain;
  ac.tls_private_key_path = files.tls_key;
  ac.trusted_root_path = files.root;
  ac.limits.max_message_bytes = 24u << 20;
  ac.retry_initial = std::chrono::milliseconds(50);
  ac.retry_max = std::chrono::milliseconds(500);
  ac.credit_window = 1024;
  ac.tick = std::chrono::milliseconds(5);
  if (ephemeral_messages) ac.ephemeral_topics = ephemeral_topics();
  FOLIO_ASSIGN_OR_RETURN(c->transport_,
                         net::AmqpTransport::create(ac, c->directory_, *c->db_, key));
  c->client_ =
      std::make_unique<ShardedNotaryClient>(*c->transport_, entry, c->replica_names_, options);
  c->raw_handler_ = std::move(raw_handler);
  NetworkClient* self = c.get();
  c->transport_->set_handler([self](const net::Envelope& e) {
    if (e.topic == kTopicReplica) return self->client_->on_envelope(e);
    if (e.topic == kTopicRawCommitted && self->raw_handler_) {
      self->raw_handler_(e);
      return net::Disposition::kAccepted;
    }
    return net::Disposition::kRejected;
  });
  c->transport_->set_outcome_handler([](const net::MessageId&, net::Disposition) {});
  FOLIO_TRY(c->transport_->start());
  return c;
}

NetworkClient::~NetworkClient() {
  if (transport_) transport_->stop();
  client_.reset();
}

// ---- LocalNetwork -------------------------------------------------------------------------------

Result<std::unique_ptr<LocalNetwork>> LocalNetwork::start(const LocalNetworkOptions& options) {
  std::unique_ptr<LocalNetwork> n(new LocalNetwork());
  n->options_ = options;
  FOLIO_ASSIGN_OR_RETURN(n->files_, bootstrap_network(options.bootstrap));
  if (n->files_.replica_configs.empty())
    return make_error(ErrorCode::kInvalidArgument, "no replicas to start");
  n->children_.resize(n->files_.replica_configs.size());
  n->status_files_.resize(n->files_.replica_configs.size());
  for (uint32_t s = 0; s < n->files_.replica_configs.size(); ++s) {
    n->children_[s].resize(n->files_.replica_configs[s].size());
    for (const std::string& path : n->files_.replica_configs[s]) {
      FOLIO_ASSIGN_OR_RETURN(ProcessConfig c, load_process_config(path));
      n->status_files_[s].push_back(c.status_file);
    }
  }
  for (uint32_t s = 0; s < n->children_.size(); ++s)
    for (uint32_t i = 0; i < n->children_[s].size(); ++i) FOLIO_TRY(n->start_replica(s, i));
  return n;
}

LocalNetwork::~LocalNetwork() {
  for (auto& shard : children_)
    for (ChildProcess& c : shard) c.signal(SIGTERM);
  for (auto& shard : children_)
    for (ChildProcess& c : shard) c.stop();
}

std::string LocalNetwork::log_path(uint32_t shard, uint32_t index) const {
  return (fs::path(options_.bootstrap.dir) /
          ("replica-s" + std::to_string(shard) + "-" + std::to_string(index) + ".log"))
      .string();
}

Status LocalNetwork::start_replica(uint32_t shard, uint32_t index) {
  std::vector<std::string> argv{options_.folio_binary, "replica", "run", "--config",
                                files_.replica_configs[shard][index]};
  argv.insert(argv.end(), options_.replica_args.begin(), options_.replica_args.end());
  // A stale status file from a previous run must not count as this one's.
  std::error_code ec;
  fs::remove(status_files_[shard][index], ec);
  FOLIO_ASSIGN_OR_RETURN(children_[shard][index],
                         ChildProcess::spawn(argv, log_path(shard, index)));
  return ok_status();
}

void LocalNetwork::kill_replica(uint32_t shard, uint32_t index, int signo) {
  ChildProcess& c = children_[shard][index];
  c.signal(signo);
  if (!c.wait_exit(std::chrono::milliseconds(10'000))) c.stop();
}

Result<ReplicaStatus> LocalNetwork::status(uint32_t shard, uint32_t index) const {
  return read_replica_status(status_files_[shard][index]);
}

bool LocalNetwork::wait_all(const std::function<bool(const ReplicaStatus&)>& predicate,
                            std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (auto& shard : children_)
      for (ChildProcess& c : shard)
        if (c.running() && c.wait_exit(std::chrono::milliseconds(0)).has_value()) return false;
    bool all = true;
    for (uint32_t s = 0; s < children_.size() && all; ++s)
      for (uint32_t i = 0; i < children_[s].size() && all; ++i) {
        if (!children_[s][i].running()) continue;
        auto st = status(s, i);
        all = st.ok() && predicate(*st);
      }
    if (all) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Payment pay_genesis_state(const GenesisSpec& spec, const ledger::WireTransaction& genesis_tx,
                          const ledger::TxId& genesis_id, uint32_t index,
                          const crypto::PrivateKey& owner, const crypto::PublicKey& payee,
                          uint64_t nonce) {
  contracts::IssuedCurrency token{
      contracts::PartyAndReference{ledger::Party{"O=Genesis Issuer, L=London, C=GB", spec.owner},
                                   Bytes{1}},
      "GBP"};
  ledger::WireTransaction tx;
  tx.inputs.push_back(ledger::StateRef{genesis_id, index});
  tx.outputs.push_back(
      contracts::cash_output(contracts::CashAmount{100, token}, payee, spec.notary));
  tx.commands.push_back(contracts::cash_move({owner.public_key()}));
  tx.notary = spec.notary;
  Bytes material(genesis_id.value().bytes.begin(), genesis_id.value().bytes.end());
  for (int k = 0; k < 4; ++k) material.push_back(static_cast<uint8_t>(index >> (8 * k)));
  for (int k = 0; k < 8; ++k) material.push_back(static_cast<uint8_t>(nonce >> (8 * k)));
  crypto::Hash256 salt = crypto::sha256(material);
  std::copy(salt.bytes.begin(), salt.bytes.end(), tx.salt.bytes.begin());
  ledger::TxId id = tx.id();
  Payment p;
  p.stx = ledger::SignedTransaction{tx, {ledger::sign_transaction(owner, id)}};
  p.proved.push_back(ledger::prove_output(genesis_tx, genesis_id, index));
  return p;
}

}  // namespace folio::notary
