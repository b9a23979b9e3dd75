#include "sim/consensus_bench.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <vector>

#include "consensus/replica.h"

namespace folio::sim {
namespace {

using Clock = std::chrono::steady_clock;
using consensus::ReplicaId;

constexpr double kVerifyProbeSeconds = 0.5;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

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
  double cpu_start = thread_cpu_seconds();
  while (seconds_since(start) < kVerifyProbeSeconds) {
    for (int i = 0; i < 64; ++i) {
      message[0] = static_cast<uint8_t>(i);  // a different message each time: no caching
      all_ok &= !crypto::verify(key.public_key(), message, sig) || i == 0x5a;
      ++count;
    }
  }
  (void)all_ok;
  // Per second of this thread's CPU time, so that a shared machine does not lower the bound.
  return static_cast<double>(count) / (thread_cpu_seconds() - cpu_start);
}

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
      << "  \"cpu_seconds\": " << cpu_s << ",\n"
      << "  \"committed_commands\": " << committed_commands << ",\n"
      << "  \"committed_blocks\": " << committed_blocks << ",\n"
      << "  \"commands_per_s\": " << commands_per_s << ",\n"
      << "  \"blocks_per_s\": " << blocks_per_s << ",\n"
      << "  \"p50_ms\": " << p50_ms << ",\n"
      << "  \"p99_ms\": " << p99_ms << ",\n"
      << "  \"ed25519_verify_per_s\": " << ed25519_verify_per_s << ",\n"
      << "  \"commands_per_cpu_s\": " << commands_per_cpu_s << ",\n"
      << "  \"signatures_verified\": " << signatures_verified << ",\n"
      << "  \"signatures_made\": " << signatures_made << ",\n"
      << "  \"verifies_per_block\": "
      << (committed_blocks ? static_cast<double>(signatures_verified) / committed_blocks : 0)
      << ",\n"
      << "  \"messages\": " << messages << ",\n"
      << "  \"message_bytes\": " << message_bytes << ",\n"
      << "  \"highest_view\": " << highest_view << ",\n"
      << "  \"rejections\": " << rejections << ",\n"
      << "  \"rejection_reasons\": \"" << rejection_reasons << "\",\n"
      << "  \"threads\": " << threads << ",\n"
      << "  \"disk\": \"none (safety state kept in memory)\"\n"
      << "}\n";
  return out.str();
}

namespace {

struct Setup {
  std::vector<std::unique_ptr<consensus::Replica>> replicas;
  std::vector<std::unique_ptr<consensus::Validator>> validators;
};

Setup make_committee(const ConsensusBenchOptions& options) {
  uint32_t n = options.replicas;
  std::vector<crypto::PublicKey> publics;
  for (uint32_t i = 0; i < n; ++i) publics.push_back(bench_key(i).public_key());
  consensus::Committee committee(publics);
  consensus::MessageLimits limits;
  limits.batch_count_max = options.batch;
  limits.command_bytes_max = std::max<size_t>(options.command_bytes, 64);
  limits.batch_bytes_max = std::max<size_t>(
      limits.command_bytes_max, static_cast<size_t>(options.batch) * options.command_bytes);
  Setup setup;
  for (uint32_t i = 0; i < n; ++i) {
    consensus::ReplicaConfig config(committee, ReplicaId(i), bench_key(i));
    config.limits = limits;
    config.mempool.count_max = std::max<size_t>(options.outstanding * 2, 1024);
    config.mempool.bytes_max = config.mempool.count_max * limits.command_bytes_max;
    config.committed_blocks_retained_max = 64;
    config.view_timeout_ms = 1000;
    config.idle_proposal_delay_ms = 5;
    setup.replicas.push_back(
        std::make_unique<consensus::Replica>(std::move(config), consensus::RestoredState{}, 0));
    setup.validators.push_back(std::make_unique<consensus::Validator>(committee, limits));
  }
  return setup;
}

// A command: its number, its submission time in microseconds, then filler.
Bytes make_command(uint32_t bytes, uint64_t number, int64_t submitted_us) {
  Bytes command(std::max<uint32_t>(bytes, 16), 0xc3);
  std::memcpy(command.data(), &number, sizeof(number));
  std::memcpy(command.data() + 8, &submitted_us, sizeof(submitted_us));
  return command;
}

int64_t submitted_at(const Bytes& command) {
  int64_t t;
  std::memcpy(&t, command.data() + 8, sizeof(t));
  return t;
}

// Everything sent between replicas goes through one of these per replica.
struct Mailbox {
  struct Item {
    bool submit;  // a client's command, else a message from `from`
    uint32_t from;
    std::shared_ptr<const Bytes> bytes;
  };
  std::mutex mutex;
  std::condition_variable ready;
  std::vector<Item> items;

  void push(Item item) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      items.push_back(std::move(item));
    }
    ready.notify_one();
  }
};

// p50 and p99 of the commit latencies, in milliseconds. Sorts `latencies_us`.
void set_latency_percentiles(std::vector<int64_t>& latencies_us, ConsensusBenchResult& result) {
  std::sort(latencies_us.begin(), latencies_us.end());
  auto percentile = [&](double p) {
    if (latencies_us.empty()) return 0.0;
    size_t index = std::min(latencies_us.size() - 1,
                            static_cast<size_t>(p * static_cast<double>(latencies_us.size())));
    return static_cast<double>(latencies_us[index]) / 1000.0;
  };
  result.p50_ms = percentile(0.50);
  result.p99_ms = percentile(0.99);
}

using Reasons = std::array<uint64_t, consensus::enum_count(consensus::RejectReason{})>;

std::string describe(const Reasons& reasons) {
  std::string out;
  for (size_t k = 0; k < reasons.size(); ++k) {
    if (reasons[k] == 0) continue;
    if (!out.empty()) out += ", ";
    out += std::string(consensus::to_string(static_cast<consensus::RejectReason>(k))) + ": " +
           std::to_string(reasons[k]);
  }
  return out;
}

// One thread runs every replica and the client in turn.
void run_single_thread(const ConsensusBenchOptions& options, ConsensusBenchResult& result) {
  result.threads = 1;

  uint32_t n = options.replicas;
  Setup setup = make_committee(options);
  auto& replicas = setup.replicas;
  auto& validators = setup.validators;
  Clock::time_point start = Clock::now();
  double cpu_start = thread_cpu_seconds();
  auto now_ms = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  };
  struct Inbound {
    uint32_t from;
    std::shared_ptr<const Bytes> bytes;
  };
  std::vector<std::deque<Inbound>> inboxes(n);
  Reasons reasons{};
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
    for (const auto& r : ready.rejections) ++reasons[static_cast<size_t>(r.reason)];
    if (i == 0 && measuring) {
      int64_t t = micros();
      for (const consensus::CommittedBlock& c : ready.commit) {
        ++result.committed_blocks;
        for (const Bytes& command : c.block->commands) {
          latencies_us.push_back(t - submitted_at(command));
          ++result.committed_commands;
          --in_flight;
        }
      }
    }
    replicas[i]->advance(ready);
  };

  double elapsed = 0;
  while ((elapsed = seconds_since(start)) < options.seconds) {
    // The closed-loop client keeps `outstanding` commands in flight.
    int64_t t_us = micros();
    while (in_flight < options.outstanding) {
      Bytes command = make_command(options.command_bytes, next_command++, t_us);
      for (uint32_t i = 0; i < n; ++i) (void)replicas[i]->submit(command);
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
          ++reasons[static_cast<size_t>(std::get<consensus::Rejection>(v).reason)];
        }
        flush(i);
      }
    }
  }
  measuring = false;
  result.elapsed_s = elapsed;
  result.cpu_s = thread_cpu_seconds() - cpu_start;
  result.commands_per_cpu_s = static_cast<double>(result.committed_commands) / result.cpu_s;
  result.commands_per_s = static_cast<double>(result.committed_commands) / elapsed;
  result.blocks_per_s = static_cast<double>(result.committed_blocks) / elapsed;
  set_latency_percentiles(latencies_us, result);
  result.rejection_reasons = describe(reasons);
  for (uint32_t i = 0; i < n; ++i) {
    result.signatures_verified += validators[i]->signatures_verified();
    result.highest_view = std::max(result.highest_view, replicas[i]->view().value());
  }
}

}  // namespace

ConsensusBenchResult run_consensus_bench(const ConsensusBenchOptions& options) {
  ConsensusBenchResult result;
  result.options = options;
  result.ed25519_verify_per_s = measure_verify_per_s();
  if (options.threads == 1) {
    run_single_thread(options, result);
    return result;
  }
  result.threads = options.replicas + 1;

  uint32_t n = options.replicas;
  Setup setup = make_committee(options);
  std::vector<Mailbox> mailboxes(n);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> in_flight{0};
  std::atomic<uint64_t> messages{0};
  std::atomic<uint64_t> message_bytes{0};
  std::atomic<uint64_t> signatures_made{0};
  std::atomic<uint64_t> rejections{0};
  std::vector<Reasons> reasons(n, Reasons{});  // one per replica thread
  std::vector<double> cpu(n + 1, 0);
  // Written by replica 0's thread only; read after the join.
  std::vector<int64_t> latencies_us;
  uint64_t committed_commands = 0;
  uint64_t committed_blocks = 0;

  Clock::time_point start = Clock::now();
  auto micros = [start] {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  };

  auto worker = [&](uint32_t i) {
    double cpu_start = thread_cpu_seconds();
    consensus::Replica& replica = *setup.replicas[i];
    consensus::Validator& validator = *setup.validators[i];
    std::vector<Mailbox::Item> batch;
    auto flush = [&] {
      consensus::Ready ready = replica.take_ready();
      for (const consensus::Outgoing& o : ready.send) {
        if (std::holds_alternative<consensus::Vote>(o.message) ||
            std::holds_alternative<consensus::TimeoutMessage>(o.message))
          ++signatures_made;
        auto bytes = std::make_shared<const Bytes>(codec::encode_to_bytes(o.message));
        for (uint32_t to = 0; to < n; ++to) {
          if (to == i || (o.to && o.to->value() != to)) continue;
          ++messages;
          message_bytes += bytes->size();
          mailboxes[to].push(Mailbox::Item{false, i, bytes});
        }
      }
      rejections += ready.rejections.size();
      for (const auto& r : ready.rejections) ++reasons[i][static_cast<size_t>(r.reason)];
      if (i == 0 && !stop.load(std::memory_order_relaxed)) {
        int64_t now = micros();
        for (const consensus::CommittedBlock& c : ready.commit) {
          ++committed_blocks;
          for (const Bytes& command : c.block->commands) {
            latencies_us.push_back(now - submitted_at(command));
            ++committed_commands;
          }
          in_flight -= static_cast<int64_t>(c.block->commands.size());
        }
      }
      replica.advance(ready);
    };
    while (!stop.load(std::memory_order_relaxed)) {
      {
        std::unique_lock<std::mutex> lock(mailboxes[i].mutex);
        if (mailboxes[i].items.empty())
          mailboxes[i].ready.wait_for(lock, std::chrono::milliseconds(1));
        batch.swap(mailboxes[i].items);
      }
      for (Mailbox::Item& item : batch) {
        if (item.submit) {
          (void)replica.submit(*item.bytes);
          continue;
        }
        consensus::Validation v = validator.validate(ReplicaId(item.from), *item.bytes);
        if (auto* ok = std::get_if<consensus::Verified<consensus::Message>>(&v)) {
          replica.step(*ok);
        } else {
          ++rejections;
          ++reasons[i][static_cast<size_t>(std::get<consensus::Rejection>(v).reason)];
        }
        flush();
      }
      batch.clear();
      replica.tick(micros() / 1000);
      flush();
    }
    cpu[i] = thread_cpu_seconds() - cpu_start;
  };

  // The closed-loop client: keeps `outstanding` commands in flight, sending each to every replica.
  auto client = [&] {
    double cpu_start = thread_cpu_seconds();
    uint64_t next = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      int64_t room = static_cast<int64_t>(options.outstanding) - in_flight.load();
      if (room <= 0) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        continue;
      }
      int64_t now = micros();
      std::vector<std::shared_ptr<const Bytes>> fresh;
      for (int64_t k = 0; k < room; ++k)
        fresh.push_back(
            std::make_shared<const Bytes>(make_command(options.command_bytes, next++, now)));
      in_flight += room;
      for (uint32_t to = 0; to < n; ++to) {
        {
          std::lock_guard<std::mutex> lock(mailboxes[to].mutex);
          for (const auto& c : fresh) mailboxes[to].items.push_back(Mailbox::Item{true, 0, c});
        }
        mailboxes[to].ready.notify_one();
      }
    }
    cpu[n] = thread_cpu_seconds() - cpu_start;
  };

  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < n; ++i) threads.emplace_back(worker, i);
  threads.emplace_back(client);
  std::this_thread::sleep_for(std::chrono::duration<double>(options.seconds));
  stop = true;
  double elapsed = seconds_since(start);
  for (std::thread& t : threads) t.join();

  result.elapsed_s = elapsed;
  for (double c : cpu) result.cpu_s += c;
  result.committed_commands = committed_commands;
  result.committed_blocks = committed_blocks;
  result.commands_per_s = static_cast<double>(committed_commands) / elapsed;
  result.blocks_per_s = static_cast<double>(committed_blocks) / elapsed;
  result.commands_per_cpu_s = static_cast<double>(committed_commands) / result.cpu_s;
  result.messages = messages;
  result.message_bytes = message_bytes;
  result.signatures_made = signatures_made;
  result.rejections = rejections;
  Reasons total{};
  for (const Reasons& r : reasons)
    for (size_t k = 0; k < total.size(); ++k) total[k] += r[k];
  result.rejection_reasons = describe(total);
  set_latency_percentiles(latencies_us, result);
  for (uint32_t i = 0; i < n; ++i) {
    result.signatures_verified += setup.validators[i]->signatures_verified();
    result.highest_view = std::max(result.highest_view, setup.replicas[i]->view().value());
  }
  return result;
}

}  // namespace folio::sim
