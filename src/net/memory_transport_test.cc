#include "net/memory_transport.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "crypto/hash.h"

namespace folio::net {
namespace {

Envelope make(const std::string& to, const std::string& text, std::string topic = "test") {
  Envelope e;
  e.id = crypto::sha256(as_bytes(text));
  e.recipient = to;
  e.topic = std::move(topic);
  e.payload = to_bytes(text);
  return e;
}

// Records what an endpoint received, in order, and what its sent messages became.
struct Probe {
  std::vector<std::string> received;
  std::map<MessageId, Disposition> outcomes;
  Disposition answer = Disposition::kAccepted;

  void attach(MemoryTransport& t) {
    t.set_handler([this](const Envelope& e) {
      received.push_back(to_string(e.payload));
      return answer;
    });
    t.set_outcome_handler([this](const MessageId& id, Disposition d) { outcomes[id] = d; });
  }
};

TEST(MemoryTransport, DeliversInQueueOrderWithOutcomes) {
  MemoryNetwork network;
  Probe a, b;
  a.attach(network.endpoint("O=A"));
  b.attach(network.endpoint("O=B"));
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "one")).ok());
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "two")).ok());
  EXPECT_TRUE(b.received.empty());  // nothing moves until the test pumps
  EXPECT_EQ(network.run_until_idle(), 2u);
  EXPECT_EQ(b.received, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(a.outcomes.size(), 2u);
  EXPECT_EQ(a.outcomes[crypto::sha256(as_bytes("one"))], Disposition::kAccepted);
  ASSERT_EQ(network.deliveries().size(), 2u);
  EXPECT_EQ(network.deliveries()[0].sender, "O=A");
  EXPECT_EQ(network.deliveries()[0].recipient, "O=B");
}

TEST(MemoryTransport, BatchHandlerReceivesEverythingDueToItInOneCall) {
  MemoryNetwork network;
  Probe a, c;
  a.attach(network.endpoint("O=A"));
  c.attach(network.endpoint("O=C"));
  std::vector<std::vector<std::string>> batches;
  MemoryTransport& b = network.endpoint("O=B");
  b.set_handler([](const Envelope&) { return Disposition::kRejected; });  // must not be used
  b.set_batch_handler([&](std::span<const Envelope> envelopes) {
    std::vector<std::string> texts;
    std::vector<Disposition> out;
    for (const Envelope& e : envelopes) {
      texts.push_back(e.sender + ":" + to_string(e.payload));
      out.push_back(to_string(e.payload) == "bad" ? Disposition::kRejected
                                                  : Disposition::kAccepted);
    }
    batches.push_back(texts);
    return out;
  });
  std::vector<std::vector<std::pair<MessageId, Disposition>>> a_outcome_batches;
  network.endpoint("O=A").set_batch_outcome_handler(
      [&](std::span<const std::pair<MessageId, Disposition>> outcomes) {
        a_outcome_batches.emplace_back(outcomes.begin(), outcomes.end());
      });
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "one")).ok());
  ASSERT_TRUE(network.endpoint("O=C").send(make("O=B", "two")).ok());
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=C", "other")).ok());
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "bad")).ok());
  network.advance(5);
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "later")).ok());  // due after the rest

  EXPECT_TRUE(network.deliver_one());
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0], (std::vector<std::string>{"O=A:one", "O=C:two", "O=A:bad"}));
  // A hears of its two messages in one call; C, without a batch outcome handler, one by one.
  ASSERT_EQ(a_outcome_batches.size(), 1u);
  ASSERT_EQ(a_outcome_batches[0].size(), 2u);
  EXPECT_EQ(a_outcome_batches[0][0].second, Disposition::kAccepted);
  EXPECT_EQ(a_outcome_batches[0][1].second, Disposition::kRejected);
  EXPECT_EQ(c.outcomes.size(), 1u);
  EXPECT_TRUE(c.received.empty());  // the message to C is delivered on its own, next

  network.run_until_idle();
  EXPECT_EQ(c.received, (std::vector<std::string>{"other"}));
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[1], (std::vector<std::string>{"O=A:later"}));
  EXPECT_EQ(network.batched_messages(), 3u);
  EXPECT_EQ(network.deliveries().size(), 5u);
}

// A round hands each batch endpoint its batch on a thread of its own; what the handlers send is
// queued after the round, and the exchange ends as it would one batch at a time.
TEST(MemoryTransport, RoundsOnThreadsDeliverEveryEndpointsBatchAndQueueTheirSends) {
  auto run = [](size_t threads) {
    MemoryNetwork network;
    std::map<std::string, std::vector<std::string>> received;
    for (const std::string name : {"O=A", "O=B", "O=C"}) {
      MemoryTransport& t = network.endpoint(name);
      std::vector<std::string>& mine = received[name];
      t.set_handler([](const Envelope&) { return Disposition::kRejected; });  // not used
      t.set_batch_handler([&t, &mine](std::span<const Envelope> envelopes) {
        std::vector<Disposition> out;
        for (const Envelope& e : envelopes) {
          std::string text = to_string(e.payload);
          mine.push_back(e.sender + ":" + text);
          // Each message is answered until it has made three hops.
          if (text.size() < 3) {
            EXPECT_TRUE(t.send(make(e.sender, text + "+")).ok());
          }
          out.push_back(Disposition::kAccepted);
        }
        return out;
      });
    }
    std::map<std::string, size_t> outcomes;
    for (const std::string name : {"O=A", "O=B", "O=C"}) {
      network.endpoint(name).set_outcome_handler(
          [&outcomes, name](const MessageId&, Disposition) { ++outcomes[name]; });
    }
    EXPECT_TRUE(network.endpoint("O=A").send(make("O=B", "a")).ok());
    EXPECT_TRUE(network.endpoint("O=B").send(make("O=C", "b")).ok());
    EXPECT_TRUE(network.endpoint("O=C").send(make("O=A", "c")).ok());
    size_t rounds = 0;
    while (network.deliver_round(threads)) ++rounds;
    EXPECT_EQ(network.queued(), 0u);
    return std::make_pair(received, outcomes);
  };
  auto sequential = run(1);
  auto threaded = run(3);
  EXPECT_EQ(threaded, sequential);
  EXPECT_EQ(threaded.first["O=B"], (std::vector<std::string>{"O=A:a", "O=C:b+", "O=A:a++"}));
  EXPECT_EQ(threaded.first["O=A"], (std::vector<std::string>{"O=C:c", "O=B:a+", "O=C:c++"}));
  size_t total = 0;
  for (const auto& [name, n] : threaded.second) total += n;
  EXPECT_EQ(total, 9u);  // three messages, three hops each
}

TEST(MemoryTransport, SenderNameIsSetByTheNetwork) {
  MemoryNetwork network;
  std::string seen;
  network.endpoint("O=B").set_handler([&](const Envelope& e) {
    seen = e.sender;
    return Disposition::kAccepted;
  });
  Envelope forged = make("O=B", "x");
  forged.sender = "O=Mallory";
  ASSERT_TRUE(network.endpoint("O=A").send(forged).ok());
  network.run_until_idle();
  EXPECT_EQ(seen, "O=A");
}

TEST(MemoryTransport, UnknownRecipientAndOversizeAreErrors) {
  MemoryNetworkOptions options;
  options.limits.max_message_bytes = 100;
  MemoryNetwork network(options);
  MemoryTransport& a = network.endpoint("O=A");
  network.endpoint("O=B");
  Status unknown = a.send(make("O=Nobody", "x"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  Status big = a.send(make("O=B", std::string(100, 'x')));
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::kLimitExceeded);
  EXPECT_EQ(network.queued(), 0u);
}

TEST(MemoryTransport, RejectionIsReportedAndNotRetried) {
  MemoryNetwork network;
  Probe a, b;
  a.attach(network.endpoint("O=A"));
  b.attach(network.endpoint("O=B"));
  b.answer = Disposition::kRejected;
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "bad")).ok());
  network.run_until_idle();
  EXPECT_EQ(b.received.size(), 1u);
  EXPECT_EQ(a.outcomes[crypto::sha256(as_bytes("bad"))], Disposition::kRejected);
  EXPECT_EQ(network.queued(), 0u);
}

TEST(MemoryTransport, LatencyIsSimulatedTime) {
  MemoryNetwork network;
  Probe b;
  b.attach(network.endpoint("O=B"));
  network.set_link("O=A", "O=B", LinkConfig{100, 100, 0});
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "slow")).ok());
  EXPECT_EQ(network.deliver_due(), 0u);  // not due at time 0
  network.advance(99);
  EXPECT_EQ(network.deliver_due(), 0u);
  network.advance(1);
  EXPECT_EQ(network.deliver_due(), 1u);
  EXPECT_EQ(network.now_ms(), 100u);
  // deliver_one advances the clock by itself.
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "later")).ok());
  EXPECT_TRUE(network.deliver_one());
  EXPECT_EQ(network.now_ms(), 200u);
  EXPECT_EQ(b.received.size(), 2u);
}

TEST(MemoryTransport, FasterLinkOvertakesSlowerOne) {
  MemoryNetwork network;
  Probe c;
  c.attach(network.endpoint("O=C"));
  network.set_link("O=A", "O=C", LinkConfig{50, 50, 0});
  network.set_link("O=B", "O=C", LinkConfig{5, 5, 0});
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=C", "from A")).ok());
  ASSERT_TRUE(network.endpoint("O=B").send(make("O=C", "from B")).ok());
  network.run_until_idle();
  EXPECT_EQ(c.received, (std::vector<std::string>{"from B", "from A"}));
}

TEST(MemoryTransport, LostAttemptsAreRetriedUntilAccepted) {
  MemoryNetworkOptions options;
  options.default_link = LinkConfig{1, 10, 500'000};  // half of all attempts lost
  options.seed = 7;
  MemoryNetwork network(options);
  Probe a, b;
  a.attach(network.endpoint("O=A"));
  b.attach(network.endpoint("O=B"));
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "m" + std::to_string(i))).ok());
  }
  network.run_until_idle();
  EXPECT_EQ(b.received.size(), 50u);
  EXPECT_EQ(std::set<std::string>(b.received.begin(), b.received.end()).size(), 50u);
  EXPECT_EQ(a.outcomes.size(), 50u);
  EXPECT_GT(network.lost_attempts(), 0u);
  bool retried = false;
  for (const DeliveryRecord& r : network.deliveries()) retried = retried || r.attempt > 1;
  EXPECT_TRUE(retried);
}

TEST(MemoryTransport, SameSeedSameSequence) {
  auto run = [](uint64_t seed) {
    MemoryNetworkOptions options;
    options.seed = seed;
    options.default_link = LinkConfig{1, 30, 200'000};
    options.reorder = true;
    MemoryNetwork network(options);
    std::vector<std::string> order;
    for (const char* name : {"O=B", "O=C"}) {
      network.endpoint(name).set_handler([&](const Envelope& e) {
        order.push_back(e.recipient + ":" + to_string(e.payload));
        return Disposition::kAccepted;
      });
    }
    for (int i = 0; i < 20; ++i) {
      EXPECT_TRUE(network.endpoint("O=A").send(make(i % 2 ? "O=B" : "O=C", std::to_string(i))).ok());
    }
    network.run_until_idle();
    return order;
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
  EXPECT_EQ(run(3).size(), 20u);
}

TEST(MemoryTransport, PartitionHoldsMessagesUntilHealed) {
  MemoryNetwork network;
  Probe a, b, c;
  a.attach(network.endpoint("O=A"));
  b.attach(network.endpoint("O=B"));
  c.attach(network.endpoint("O=C"));
  network.partition("O=A", "O=B");
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "to B")).ok());
  ASSERT_TRUE(network.endpoint("O=B").send(make("O=A", "to A")).ok());
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=C", "to C")).ok());
  network.run_until_idle();
  EXPECT_TRUE(a.received.empty());
  EXPECT_TRUE(b.received.empty());
  EXPECT_EQ(c.received.size(), 1u);
  EXPECT_EQ(network.queued(), 2u);
  network.heal("O=B", "O=A");
  network.run_until_idle();
  EXPECT_EQ(a.received, (std::vector<std::string>{"to A"}));
  EXPECT_EQ(b.received, (std::vector<std::string>{"to B"}));
}

TEST(MemoryTransport, DownEndpointReceivesWhenUpAgain) {
  MemoryNetwork network;
  Probe b;
  b.attach(network.endpoint("O=B"));
  network.set_up("O=B", false);
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "waiting")).ok());
  EXPECT_FALSE(network.deliver_one());
  EXPECT_EQ(network.queued(), 1u);
  network.set_up("O=B", true);
  EXPECT_TRUE(network.deliver_one());
  EXPECT_EQ(b.received.size(), 1u);
}

TEST(MemoryTransport, EndpointWithoutHandlerHoldsMessages) {
  MemoryNetwork network;
  network.endpoint("O=B");
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "hello")).ok());
  EXPECT_EQ(network.run_until_idle(), 0u);
  Probe b;
  b.attach(network.endpoint("O=B"));
  EXPECT_EQ(network.run_until_idle(), 1u);
  EXPECT_EQ(b.received.size(), 1u);
}

TEST(MemoryTransport, DropQueuedFromSimulatesLostInMemoryOutbox) {
  MemoryNetwork network;
  Probe b;
  b.attach(network.endpoint("O=B"));
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "lost")).ok());
  ASSERT_TRUE(network.endpoint("O=C").send(make("O=B", "kept")).ok());
  EXPECT_EQ(network.drop_queued_from("O=A"), 1u);
  network.run_until_idle();
  EXPECT_EQ(b.received, (std::vector<std::string>{"kept"}));
}

TEST(MemoryTransport, HandlerMaySendReplies) {
  MemoryNetwork network;
  Probe a;
  a.attach(network.endpoint("O=A"));
  MemoryTransport& b = network.endpoint("O=B");
  b.set_handler([&](const Envelope& e) {
    EXPECT_TRUE(b.send(make(e.sender, "re:" + to_string(e.payload))).ok());
    return Disposition::kAccepted;
  });
  ASSERT_TRUE(network.endpoint("O=A").send(make("O=B", "ping")).ok());
  EXPECT_EQ(network.run_until_idle(), 2u);
  EXPECT_EQ(a.received, (std::vector<std::string>{"re:ping"}));
}

TEST(MemoryTransport, StepsMaxBoundsAnEndlessExchange) {
  MemoryNetwork network;
  MemoryTransport& a = network.endpoint("O=A");
  int counter = 0;
  a.set_handler([&](const Envelope&) {
    EXPECT_TRUE(a.send(make("O=A", std::to_string(++counter))).ok());
    return Disposition::kAccepted;
  });
  ASSERT_TRUE(a.send(make("O=A", "start")).ok());
  EXPECT_EQ(network.run_until_idle(25), 25u);
  EXPECT_EQ(network.queued(), 1u);
}

TEST(MemoryTransport, FreeRunningDeliversEveryMessageOnceToItsRecipientFromManyThreads) {
  MemoryNetwork net;
  const std::vector<std::string> senders = {"S0", "S1", "S2"};
  const std::vector<std::string> recipients = {"R0", "R1", "R2"};
  constexpr size_t kPerSender = 2000;
  // Recipients: R0 and R1 batch, R2 one at a time. Each records on its own thread only.
  std::map<std::string, std::vector<std::string>> received;
  std::map<std::string, std::thread::id> served_by;
  std::mutex served_mutex;
  std::atomic<size_t> drains{0};
  for (const std::string& r : recipients) {
    received[r];
    MemoryTransport& t = net.endpoint(r);
    auto record = [&, r](const Envelope& e) {
      EXPECT_EQ(e.recipient, r);
      received.at(r).push_back(e.sender + "/" + to_string(e.payload));
      std::lock_guard<std::mutex> lock(served_mutex);
      auto [it, fresh] = served_by.emplace(r, std::this_thread::get_id());
      EXPECT_EQ(it->second, std::this_thread::get_id()) << "endpoint served by two threads";
      return Disposition::kAccepted;
    };
    t.set_handler(record);
    if (r != "R2") {
      t.set_batch_handler([record](std::span<const Envelope> batch) {
        std::vector<Disposition> d;
        for (const Envelope& e : batch) d.push_back(record(e));
        return d;
      });
    }
    t.set_after_drain([&drains] { ++drains; });
  }
  // Senders: a handler (so they get a thread for their outcomes) and a count of outcomes.
  std::atomic<size_t> outcomes{0};
  for (const std::string& s : senders) {
    MemoryTransport& t = net.endpoint(s);
    t.set_handler([](const Envelope&) { return Disposition::kAccepted; });
    t.set_batch_outcome_handler(
        [&outcomes](std::span<const std::pair<MessageId, Disposition>> list) {
          for (const auto& [id, d] : list) {
            EXPECT_EQ(d, Disposition::kAccepted);
            ++outcomes;
          }
        });
  }
  // Queued before the start: handed over by the threads too.
  ASSERT_TRUE(net.endpoint("S1").send(make("R1", "S1:early")).ok());
  net.start_free_running();
  ASSERT_TRUE(net.free_running());
  EXPECT_EQ(net.queued(), 0u);
  std::vector<std::thread> threads;
  for (size_t k = 0; k < senders.size(); ++k) {
    threads.emplace_back([&, k] {
      MemoryTransport& t = net.endpoint(senders[k]);
      for (size_t i = 0; i < kPerSender; ++i) {
        const std::string& to = recipients[(i + k) % recipients.size()];
        std::string text = senders[k] + ":" + std::to_string(i);
        EXPECT_TRUE(t.send(make(to, text)).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const size_t total = senders.size() * kPerSender + 1;
  // Waits for the threads to finish (a hang guard, not a performance bound).
  for (int i = 0; i < 60'000 && outcomes.load() < total; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  net.stop_free_running();
  EXPECT_FALSE(net.free_running());
  EXPECT_EQ(outcomes.load(), total);
  EXPECT_EQ(net.free_delivered(), total);
  EXPECT_GE(drains.load(), 1u);
  // Exactly once, to the right recipient, and each sender's messages to one recipient in order.
  std::set<std::string> seen;
  for (const std::string& r : recipients) {
    std::map<std::string, int64_t> last;
    for (const std::string& entry : received.at(r)) {
      EXPECT_TRUE(seen.insert(entry).second) << "delivered twice: " << entry;
      std::string sender = entry.substr(0, 2);
      if (entry == "S1/S1:early") {
        EXPECT_EQ(r, "R1");
        EXPECT_EQ(last.count(sender), 0u) << "queued before the start, delivered first";
        continue;
      }
      int64_t i = std::stoll(entry.substr(entry.find(':') + 1));
      EXPECT_EQ(recipients[(static_cast<size_t>(i) + (sender[1] - '0')) % recipients.size()], r);
      auto it = last.find(sender);
      if (it != last.end()) {
        EXPECT_LT(it->second, i);
      }
      last[sender] = i;
    }
  }
  EXPECT_EQ(seen.size(), total);
  // The pumped mode works again afterwards (on this thread).
  served_by.clear();
  EXPECT_TRUE(net.endpoint("S0").send(make("R0", "after")).ok());
  EXPECT_EQ(net.run_until_idle(), 1u);
  EXPECT_EQ(received.at("R0").back(), "S0/after");
}

}  // namespace
}  // namespace folio::net
