// `folio demo --payments 30 --json` end to end: the real binary starts a whole network of
// processes (3 party nodes, 2 shards x 4 replicas, the network map), runs the workload, stops
// everything, and prints one JSON object whose keys are the ones issue 6 names, with cash
// conserved. Slow (a network of 12 processes): registered with a generous ctest TIMEOUT.
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <string>

namespace {

struct CommandRun {
  int exit_status = -1;
  std::string out;
};

// Runs `command` through the shell; stdout captured, stderr (the progress) passed through.
CommandRun run_command(const std::string& command) {
  CommandRun r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) r.out.append(buffer, n);
  int status = ::pclose(pipe);
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(DemoCli, ThirtyPaymentsPrintOneJsonObjectWithCashConserved) {
  CommandRun r =
      run_command(std::string(FOLIO_BINARY) + " demo --payments 30 --concurrency 4 --json");
  ASSERT_EQ(r.exit_status, 0) << r.out;
  // stdout holds exactly one JSON object (the progress and the summary went to stderr).
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  ASSERT_TRUE(j.is_object()) << r.out;
  for (const char* key : {"committed", "conflicts_refused", "tx_per_s", "p50_ms", "p99_ms"}) {
    ASSERT_TRUE(j.contains(key)) << key << " missing: " << r.out;
    EXPECT_TRUE(j[key].is_number()) << key << ": " << r.out;
  }
  ASSERT_TRUE(j.contains("cash_conserved")) << r.out;
  ASSERT_TRUE(j["cash_conserved"].is_boolean()) << r.out;
  EXPECT_TRUE(j["cash_conserved"].get<bool>()) << r.out;
  // 30 operations with one double spend in 20: one deliberate double spend, refused.
  EXPECT_GT(j["committed"].get<uint64_t>(), 0u) << r.out;
  EXPECT_GE(j["conflicts_refused"].get<uint64_t>(), 1u) << r.out;
  EXPECT_LE(j["p50_ms"].get<double>(), j["p99_ms"].get<double>()) << r.out;
}

TEST(DemoCli, BadOptionsAreRefusedBeforeAnythingStarts) {
  CommandRun r = run_command(std::string(FOLIO_BINARY) + " demo --concurrency 0 2>/dev/null");
  EXPECT_NE(r.exit_status, 0);
  EXPECT_EQ(r.out.find('{'), std::string::npos);
}

}  // namespace
