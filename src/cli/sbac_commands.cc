// `folio sim sbac`: the sharded-notary simulator (docs/sbac.md).
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/seed_range.h"
#include "sim/sbac_sim.h"

namespace folio::cli {
namespace {

struct SbacFlags {
  sim::SbacSimOptions options;
  uint64_t seed = 1;
  std::string seeds;         // "A..B"
  bool shape_given = false;  // a sweep keeps --shards/--replicas only if the user chose them
};

void run_sbac_sim(const SbacFlags& flags) {
  const sim::SbacSimOptions& o = flags.options;
  if (o.shards < 1 || o.shards > 16) {
    std::cerr << "error: --shards must be between 1 and 16\n";
    throw CLI::RuntimeError(1);
  }
  if (o.replicas < 4 || o.replicas > 16) {
    std::cerr << "error: --replicas must be between 4 and 16\n";
    throw CLI::RuntimeError(1);
  }
  if (o.accounts < 2 || o.accounts > 1000 || o.transactions > 10'000) {
    std::cerr << "error: --accounts must be 2..1000 and --transactions at most 10000\n";
    throw CLI::RuntimeError(1);
  }
  if (o.heal_ms < 500) {
    std::cerr << "error: --heal-ms must be at least 500\n";
    throw CLI::RuntimeError(1);
  }
  if (o.byzantine > (o.replicas - 1) / 3)
    std::cerr << "warning: " << o.byzantine
              << " Byzantine replicas per shard exceed f = " << (o.replicas - 1) / 3
              << "; the invariants are not expected to hold\n";
  if (flags.seeds.empty()) {
    sim::SbacSimOptions one = o;
    one.seed = flags.seed;
    sim::SbacSimResult r = sim::run_sbac_sim(one);
    std::cout << r.summary_line() << "\n";
    if (!r.ok()) throw CLI::RuntimeError(1);
    return;
  }
  uint64_t first = 0;
  uint64_t last = 0;
  if (!parse_seed_range(flags.seeds, first, last)) {
    std::cerr << "error: --seeds takes A..B with A <= B, got '" << flags.seeds << "'\n";
    throw CLI::RuntimeError(1);
  }
  // A sweep: each seed picks its own fault mix; a failure prints the flags that reproduce it.
  uint64_t failures = 0;
  uint64_t committed = 0;
  uint64_t aborted = 0;
  uint64_t takeovers = 0;
  uint64_t replays = 0;
  for (uint64_t seed = first; seed <= last; ++seed) {
    sim::SbacSimResult r = sim::run_sbac_sim(sim::sbac_sweep_options(seed, o, flags.shape_given));
    std::cout << r.summary_line() << "\n";
    failures += !r.ok();
    committed += r.committed;
    aborted += r.aborted;
    takeovers += r.takeovers;
    replays += r.replays;
  }
  std::cout << "seeds " << first << ".." << last << ": " << (last - first + 1 - failures)
            << " passed, " << failures << " failed; " << committed << " committed, " << aborted
            << " aborted, " << takeovers << " takeovers, " << replays << " replayed messages\n";
  if (failures > 0) throw CLI::RuntimeError(1);
}

}  // namespace

void add_sbac_commands(CLI::App& app, Groups& groups) {
  (void)app;
  auto flags = std::make_shared<SbacFlags>();
  sim::SbacSimOptions& o = flags->options;
  CLI::App* s = groups.sim->add_subcommand(
      "sbac", "Simulate the sharded notary (S-BAC over BFT shards) and check its invariants");
  s->add_option("--seed", flags->seed, "The seed of one run");
  s->add_option("--seeds", flags->seeds, "A..B: a sweep, each seed with its own fault mix");
  CLI::Option* shards = s->add_option("--shards", o.shards, "Shards K");
  CLI::Option* replicas = s->add_option("--replicas", o.replicas, "Replicas per shard n (3f+1)");
  s->add_option("--byzantine", o.byzantine, "Byzantine replicas per shard (at most f)");
  s->add_option("--behaviours", o.byzantine_behaviours,
                "Byzantine flags: 1 silent, 2 flip, 4 equivocate, 8 lie sequence, 16 garbage, "
                "32 consensus (0: random)");
  s->add_option("--accounts", o.accounts, "Cash accounts");
  s->add_option("--transactions", o.transactions, "Payments, one client each");
  s->add_flag("--high-contention", o.high_contention, "Hot accounts and coins reused in flight");
  s->add_flag("--validating", o.validating, "Shards run the contracts");
  s->add_option("--client-crash-ppm", o.client_crash_ppm, "Chance a client crashes, ppm");
  s->add_flag("--replay", o.replay, "The replay adversary (Byzcuit's attacks)");
  s->add_option("--loss-ppm", o.loss_ppm, "Message loss until healing, ppm");
  s->add_option("--tail-ppm", o.tail_ppm, "Messages with a 10x latency tail, ppm");
  s->add_flag("--partitions", o.partitions, "Partition the network, then heal");
  s->add_option("--heal-ms", o.heal_ms, "Simulated time at which faults stop");
  s->add_option("--liveness-bound-ms", o.liveness_bound_ms,
                "Everything must be decided this soon after healing");
  s->add_option("--sessions-max", o.sessions_max,
                "Bound of the replicas' session caches (0: the default)");
  s->add_flag("--break-replay-defences", o.break_replay_defences,
              "NEGATIVE CONTROL: switch Byzcuit's replay defences off");
  s->callback([flags, shards, replicas] {
    flags->shape_given = shards->count() > 0 || replicas->count() > 0;
    run_sbac_sim(*flags);
  });
}

}  // namespace folio::cli
