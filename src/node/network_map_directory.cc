// NetworkMapDirectory: the network-map-backed PeerDirectory of a node process (see the header).
#include "node/network_map_directory.h"

#include <iostream>

#include "net/amqp_names.h"

namespace folio::node {

NetworkMapDirectory::NetworkMapDirectory(NetworkMapDirectoryConfig config)
    : config_(std::move(config)) {
  client_ = std::make_unique<identity::NetworkMapClient>(
      config_.service_host.empty() ? std::string("127.0.0.1") : config_.service_host,
      config_.service_host.empty() ? 0 : config_.service_port, config_.root, config_.cache_dir);
}

NetworkMapDirectory::~NetworkMapDirectory() { stop(); }

void NetworkMapDirectory::install(const identity::NetworkSnapshot& snapshot) {
  std::map<std::string, net::PeerInfo> nodes;
  std::vector<ledger::Party> parties;
  for (const identity::NodeInfo& info : snapshot.nodes) {
    auto canonical = net::canonical_x500(info.name);
    auto key = identity::party_key(info);
    if (!canonical.ok() || !key.ok()) continue;  // verified by the client; defensive only
    nodes[*canonical] = net::PeerInfo{info.addresses, *key};
    parties.push_back(ledger::Party{info.name, *key});
  }
  auto same = [](const std::map<std::string, net::PeerInfo>& a,
                 const std::map<std::string, net::PeerInfo>& b) {
    if (a.size() != b.size()) return false;
    for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
      if (ia->first != ib->first || ia->second.addresses != ib->second.addresses ||
          !(ia->second.receipt_key == ib->second.receipt_key))
        return false;
    return true;
  };
  std::lock_guard lock(mutex_);
  if (!same(nodes, nodes_)) ++version_;
  nodes_ = std::move(nodes);
  parties_ = std::move(parties);
  from_cache_ = snapshot.from_cache;
  if (!ready_) ++version_;
  ready_ = true;
}

Status NetworkMapDirectory::refresh_once() {
  if (config_.service_host.empty()) {
    FOLIO_ASSIGN_OR_RETURN(identity::NetworkSnapshot snapshot, client_->load_cache());
    install(snapshot);
    return ok_status();
  }
  bool need_publish;
  {
    std::lock_guard lock(mutex_);
    need_publish = !published_;
  }
  if (need_publish) {
    Status published = client_->publish(config_.own);
    if (published.ok()) {
      std::lock_guard lock(mutex_);
      published_ = true;
    } else if (published.error().code != ErrorCode::kIo) {
      // Refused (not unreachable): a later serial may still be taken; say so and carry on.
      std::cerr << "network map refused this node's info: " << published.error().message()
                << "\n";
      if (published.error().code == ErrorCode::kConflict) {
        std::lock_guard lock(mutex_);
        published_ = true;  // the same or a newer info is there already
      }
    }
  }
  FOLIO_ASSIGN_OR_RETURN(identity::NetworkSnapshot snapshot, client_->update());
  install(snapshot);
  return ok_status();
}

Status NetworkMapDirectory::start() {
  Status first = refresh_once();
  if (!first.ok()) {
    // No map yet (service down and no cache) is not fatal: the thread keeps trying. A map that
    // does not verify is.
    if (first.error().code == ErrorCode::kVerification) return first;
    std::cerr << "network map: " << first.error().message() << " (retrying)\n";
  }
  thread_ = std::thread([this] { loop(); });
  return ok_status();
}

void NetworkMapDirectory::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NetworkMapDirectory::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    // Faster while no map is known or the node's info is not published yet.
    auto interval = (ready_ && published_) ? config_.refresh_interval
                                           : std::min(config_.refresh_interval,
                                                      std::chrono::milliseconds(250));
    wake_.wait_for(lock, interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Status refreshed = refresh_once();
    if (!refreshed.ok() && refreshed.error().code == ErrorCode::kVerification)
      std::cerr << "network map: " << refreshed.error().message() << "\n";
    lock.lock();
  }
}

std::optional<net::PeerInfo> NetworkMapDirectory::lookup(const std::string& canonical_name) const {
  {
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(canonical_name);
    if (it != nodes_.end()) return it->second;
  }
  auto replica = config_.replicas.find(canonical_name);
  if (replica != config_.replicas.end()) return replica->second;
  return std::nullopt;
}

bool NetworkMapDirectory::ready() const {
  std::lock_guard lock(mutex_);
  return ready_;
}

std::vector<ledger::Party> NetworkMapDirectory::parties() const {
  std::lock_guard lock(mutex_);
  return parties_;
}

size_t NetworkMapDirectory::node_count() const {
  std::lock_guard lock(mutex_);
  return nodes_.size();
}

uint64_t NetworkMapDirectory::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

bool NetworkMapDirectory::published() const {
  std::lock_guard lock(mutex_);
  return published_;
}

bool NetworkMapDirectory::from_cache() const {
  std::lock_guard lock(mutex_);
  return from_cache_;
}

}  // namespace folio::node
