// Byzantine: what a faulty replica does instead of following the protocol, for the simulator.
//
// A Byzantine replica runs an honest Replica inside (so it knows the chain and can produce
// plausible lies) and rewrites what that replica sends: it equivocates as leader, sends its
// proposal to one peer only or to none, reports stale QCs in its timeouts, votes for every proposal
// it sees and for blocks that do not exist, withholds votes, replays old messages, forges
// signatures and sends bytes that do not decode. Behaviours are bit flags chosen per run from the
// seed. Owned by the simulator's node; not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "consensus/replica.h"
#include "sim/prng.h"

namespace folio::sim {

enum Behaviour : uint32_t {
  kEquivocate = 1u << 0,        // two different proposals in one view, split between peers
  kProposeToOne = 1u << 1,      // the proposal reaches one peer only
  kStaleTimeouts = 1u << 2,     // timeouts report an older QC than the replica holds
  kConflictingVotes = 1u << 3,  // votes for every proposal seen and for made-up blocks
  kWithholdVotes = 1u << 4,
  kReplay = 1u << 5,   // re-sends old messages it received or sent
  kForge = 1u << 6,    // votes and timeouts with bad signatures or others' names
  kGarbage = 1u << 7,  // bytes that do not decode, or flipped bits
  // As leader of view w: show the proposal (and with it the QC of view w-1) to one peer only,
  // time out in w-1 reporting an older QC, assemble a TC of w-1 from the honest timeouts, and
  // propose a second block of view w that abandons the block certified in w-1.
  kForkAfterTimeout = 1u << 8,
  kWithholdProposals = 1u << 9,  // as leader, proposes nothing
  kBehaviourAll = (1u << 10) - 1,
};
std::string describe_behaviours(uint32_t behaviours);

struct Packet {
  uint32_t to;
  Bytes bytes;
};

class Byzantine {
 public:
  Byzantine(uint32_t behaviours, crypto::PrivateKey key, uint32_t replicas, Prng prng);

  // Rewrites the honest sends of `inner`'s Ready into what this replica actually sends.
  std::vector<Packet> transform(const consensus::Replica& inner, const consensus::Ready& ready);
  // Sees each message delivered to this replica (after validation); may answer with lies.
  void observe(const consensus::Replica& inner, uint32_t from, const consensus::Message& message,
               const Bytes& bytes, std::vector<Packet>& out);
  // Unprompted acts, once per tick.
  void on_tick(const consensus::Replica& inner, std::vector<Packet>& out);

  uint32_t behaviours() const { return behaviours_; }

 private:
  bool has(Behaviour b) const { return (behaviours_ & b) != 0; }
  void remember(const Bytes& bytes);
  uint32_t random_peer(consensus::ReplicaId self);
  // kForkAfterTimeout: starts the attack with the replica's own proposal; false if it cannot.
  bool start_fork(const consensus::Replica& inner, const consensus::Proposal& proposal,
                  std::vector<Packet>& out);
  void try_fork(const consensus::Replica& inner, std::vector<Packet>& out);

  struct Fork {
    consensus::Proposal shown;  // sent to `target` only
    uint32_t target;
    consensus::QuorumCert old_qc;  // the QC the fork extends
  };
  std::optional<Fork> fork_;
  std::map<consensus::View, std::map<consensus::ReplicaId, consensus::TcEntry>> timeouts_seen_;

  uint32_t behaviours_;
  crypto::PrivateKey key_;
  uint32_t replicas_;
  Prng prng_;
  std::deque<Bytes> history_;  // for replay and bit flips
};

}  // namespace folio::sim
