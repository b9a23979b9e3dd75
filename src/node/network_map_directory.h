// NetworkMapDirectory: the PeerDirectory of a node process (`folio node run`) backed by the network
// map service (docs/network.md, "Node processes"; the Corda seed's "The network map").
//
// At start it publishes the node's signed NodeInfo and fetches the signed map (identity's
// NetworkMapClient verifies every signature against the network root and caches what it received
// on disk); a background thread then refreshes the map every `refresh_interval`, publishing the
// node's info again until the service has taken it. While the service is unreachable the
// directory serves the last verified map, from memory or from the on-disk cache (a node restarted
// while the service is down keeps working). A node not in the map is unknown to the directory, so
// the transport refuses its connections and messages.
//
// The notary's shard replicas do not publish node infos: their names come from the network
// parameters' shard map (`replica_names`) and their addresses and keys from the bootstrap's peer
// list; a peer-list entry that is neither a replica of the parameters nor in the map is ignored.
//
// Threading: lookup, parties, ready and version are thread-safe (one mutex); start and stop are
// called by the owner's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "identity/network_map.h"
#include "ledger/transaction.h"
#include "net/amqp_transport.h"

namespace folio::node {

struct NetworkMapDirectoryConfig {
  std::string service_host;  // empty: no service, the cache only
  int service_port = 0;
  std::string cache_dir;
  identity::Certificate root;
  identity::SignedNodeInfo own;  // published at start and until the service accepts it
  // Replicas of the notary: canonical name -> address and key (from the bootstrap's peer list).
  std::map<std::string, net::PeerInfo> replicas;
  std::chrono::milliseconds refresh_interval{2000};
};

class NetworkMapDirectory final : public net::PeerDirectory {
 public:
  explicit NetworkMapDirectory(NetworkMapDirectoryConfig config);
  ~NetworkMapDirectory() override;
  NetworkMapDirectory(const NetworkMapDirectory&) = delete;
  NetworkMapDirectory& operator=(const NetworkMapDirectory&) = delete;

  // One attempt to publish and fetch (or read the cache), then the refresh thread. Never fails
  // for an unreachable service: ready() tells whether a map is known. A map that does not verify
  // is an error.
  Status start();
  void stop();

  std::optional<net::PeerInfo> lookup(const std::string& canonical_name) const override;

  // A map (from the service or the cache) is known.
  bool ready() const;
  // The map's nodes as parties (name and identity key), for the node's identity service.
  std::vector<ledger::Party> parties() const;
  size_t node_count() const;
  // Changes whenever a newer map is installed.
  uint64_t version() const;
  bool published() const;
  // The last refresh came from the cache (the service was unreachable).
  bool from_cache() const;

 private:
  void install(const identity::NetworkSnapshot& snapshot);
  Status refresh_once();
  void loop();

  NetworkMapDirectoryConfig config_;
  std::unique_ptr<identity::NetworkMapClient> client_;  // the refresh thread's (or start's)

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;                        // GUARDED_BY(mutex_)
  std::map<std::string, net::PeerInfo> nodes_;   // GUARDED_BY(mutex_), canonical name
  std::vector<ledger::Party> parties_;           // GUARDED_BY(mutex_)
  bool ready_ = false;                           // GUARDED_BY(mutex_)
  bool published_ = false;                       // GUARDED_BY(mutex_)
  bool from_cache_ = false;                      // GUARDED_BY(mutex_)
  uint64_t version_ = 0;                         // GUARDED_BY(mutex_)
  std::thread thread_;
};

}  // namespace folio::node
