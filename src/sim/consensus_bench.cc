#include "sim/consensus_bench.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "consensus/replica.h"

namespace folio::sim {
namespace {

using Clock = std::chrono::steady_clock;
using consensus::ReplicaId;

constexpr double kVerifyProbeSeconds = 0.5;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

crypto::PrivateKey bench_key(uint32_t i) {
  FixedBytes<32> seed;
  seed.bytes[0] = static_cast<uint8_t>(i);
  seed.bytes[1] = 0xbe;
  return crypto::PrivateKey::ed25519(seed);
}

double measure_verify_per_s() {
  crypto::PrivateKey key = bench_key(99);
  Bytes message(80, 0x5a);
  crypto::Signature sig = key.sign(message);
  uint64_t count = 0;
  bool all_ok = true;
  Clock::time_point start = Clock::now();
  double elapsed = 0;
  while ((elapsed = seconds_since(start)) < kVerifyProbeSeconds) {
    for (int i = 0; i < 64; ++i) {
      message[0] = static_cast<uint8_t>(i);  // a different message each time: no caching
      all_ok &= !crypto::verify(key.public_key(), message, sig) || i == 0x5a;
      ++count;
    }
  }
  (void)all_ok;
  return static_cast<double>(count) / elapsed;
}

struct Inbound {
  uint32_t from;
  std::shared_ptr<const Bytes> bytes;
};

}  // namespace

std::string ConsensusBenchResult::json() const {
  std::ostringstream out;
  out.precision(6);
  out << "{\n"
      << "  \"benchmark\": \"consensus\",\n"
      << "  \"replicas\": " << options.replicas << ",\n"
      << "  \"batch\": " << options.batch << ",\n"
      << "  \"outstanding\": " << options.outstanding << ",\n"
      << "  \"command_bytes\": " << options.command_bytes << ",\n"
      << "  \"seconds\": " << elapsed_s << ",\n"
      << "  \"committed_commands\": " << committed_commands << ",\n"
      << "  \"committed_blocks\": " << committed_blocks << ",\n"
      << "  \"commands_per_s\": " << commands_per_s << ",\n"
      << "  \"blocks_per_s\": " << blocks_per_s << ",\n"
      << "  \"p50_ms\": " << p50_ms << ",\n"
      << "  \"p99_ms\": " << p99_ms << ",\n"
      << "  \"ed25519_verify_per_s\": " << ed25519_verify_per_s << ",\n"
      << "  \"signatures_verified\": " << signatures_verified << ",\n"
      << "  \"signatures_made\": " << signatures_made << ",\n"
      << "  \"verifies_per_block\": "
      << (committed_blocks ? static_cast<double>(signatures_verified) / committed_blocks : 0)
      << ",\n"
      << "  \"messages\": " << messages << ",\n"
      << "  \"message_bytes\": " << message_bytes << ",\n"
      << "  \"highest_view\": " << highest_view << ",\n"
      << "  \"rejections\": " << rejections << ",\n"
      << "  \"threads\": 1,\n"
      << "  \"disk\": \"none (safety state kept in memory)\"\n"
      << "}\n";
  return out.str();
}

ConsensusBenchResult run_consensus_bench(const ConsensusBenchOptions& options) {
  ConsensusBenchResult result;
  result.options = options;
  result.ed25519_verify_per_s = measure_verify_per_s();

  uint32_t n = options.replicas;
  std::vector<crypto::PublicKey> publics;
  for (uint32_t i = 0; i < n; ++i) publics.push_back(bench_key(i).public_key());
  consensus::Committee committee(publics);
  consensus::MessageLimits limits;
  limits.batch_count_max = options.batch;
  limits.command_bytes_max = std::max<size_t>(options.command_bytes, 64);
  limits.batch_bytes_max = std::max<size_t>(limits.command_bytes_max,
                                            static_cast<size_t>(options.batch) * options.command_bytes);

  Clock::time_point start = Clock::now();
  auto now_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  };
  std::vector<std::unique_ptr<consensus::Replica>> replicas;
  std::vector<std::unique_ptr<consensus::Validator>> validators;
  for (uint32_t i = 0; i < n; ++i) {
    consensus::ReplicaConfig config(committee, ReplicaId(i), bench_key(i));
    config.limits = limits;
    config.mempool.count_max = std::max<size_t>(options.outstanding * 2, 1024);
    config.mempool.bytes_max = config.mempool.count_max * limits.command_bytes_max;
    config.committed_blocks_retained_max = 64;
    config.view_timeout_ms = 1000;
    config.idle_proposal_delay_ms = 5;
    replicas.push_back(std::make_unique<consensus::Replica>(std::move(config),
                                                            consensus::RestoredState{}, 0));
    validators.push_back(std::make_unique<consensus::Validator>(committee, limits));
  }

  std::vector<std::deque<Inbound>> inboxes(n);
  std::unordered_map<uint64_t, int64_t> submitted_us;  // command number -> submit time
  std::vector<int64_t> latencies_us;
  uint64_t next_command = 0;
  uint64_t in_flight = 0;
  bool measuring = true;

  auto micros = [&] {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  };
  auto flush = [&](uint32_t i) {
    consensus::Ready ready = replicas[i]->take_ready();
    for (const consensus::Outgoing& o : ready.send) {
      if (std::holds_alternative<consensus::Vote>(o.message)) ++result.signatures_made;
      if (std::holds_alternative<consensus::TimeoutMessage>(o.message)) ++result.signatures_made;
      auto bytes = std::make_shared<const Bytes>(codec::encode_to_bytes(o.message));
      for (uint32_t to = 0; to < n; ++to) {
        if (to == i || (o.to && o.to->value() != to)) continue;
        ++result.messages;
        result.message_bytes += bytes->size();
        inboxes[to].push_back(Inbound{i, bytes});
      }
    }
    result.rejections += ready.rejections.size();
    if (i == 0 && measuring) {
      int64_t t = micros();
      for (const consensus::CommittedBlock& c : ready.commit) {
        ++result.committed_blocks;
        for (const Bytes& command : c.block.commands) {
          uint64_t number;
          std::memcpy(&number, command.data(), sizeof(number));
          auto it = submitted_us.find(number);
          if (it == submitted_us.end()) continue;
          latencies_us.push_back(t - it->second);
          submitted_us.erase(it);
          ++result.committed_commands;
          --in_flight;
        }
      }
    }
    replicas[i]->advance(ready);
  };

  Bytes filler(std::max<uint32_t>(options.command_bytes, 8), 0xc3);
  double elapsed = 0;
  while ((elapsed = seconds_since(start)) < options.seconds) {
    // The closed-loop client keeps `outstanding` commands in flight.
    int64_t t_us = micros();
    while (in_flight < options.outstanding) {
      Bytes command = filler;
      uint64_t number = next_command++;
      std::memcpy(command.data(), &number, sizeof(number));
      for (uint32_t i = 0; i < n; ++i) (void)replicas[i]->submit(command);
      submitted_us.emplace(number, t_us);
      ++in_flight;
    }
    int64_t t_ms = now_ms();
    for (uint32_t i = 0; i < n; ++i) {
      replicas[i]->tick(t_ms);
      flush(i);
    }
    bool any = true;
    while (any) {
      any = false;
      for (uint32_t i = 0; i < n; ++i) {
        if (inboxes[i].empty()) continue;
        any = true;
        Inbound in = std::move(inboxes[i].front());
        inboxes[i].pop_front();
        consensus::Validation v = validators[i]->validate(ReplicaId(in.from), *in.bytes);
        if (auto* ok = std::get_if<consensus::Verified<consensus::Message>>(&v)) {
          replicas[i]->step(*ok);
        } else {
          ++result.rejections;
        }
        flush(i);
      }
    }
  }
  measuring = false;
  result.elapsed_s = elapsed;
  result.commands_per_s = static_cast<double>(result.committed_commands) / elapsed;
  result.blocks_per_s = static_cast<double>(result.committed_blocks) / elapsed;
  std::sort(latencies_us.begin(), latencies_us.end());
  auto percentile = [&](double p) {
    if (latencies_us.empty()) return 0.0;
    size_t index = std::min(latencies_us.size() - 1,
                            static_cast<size_t>(p * static_cast<double>(latencies_us.size())));
    return static_cast<double>(latencies_us[index]) / 1000.0;
  };
  result.p50_ms = percentile(0.50);
  result.p99_ms = percentile(0.99);
  for (uint32_t i = 0; i < n; ++i) {
    result.signatures_verified += validators[i]->signatures_verified();
    result.highest_view = std::max(result.highest_view, replicas[i]->view().value());
  }
  return result;
}

}  // namespace folio::sim
