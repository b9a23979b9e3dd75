// The real `folio` binary, run as a user would: its exit codes, its output, its files.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace {

struct Outcome {
  int exit_code;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string temp_dir() {
  static std::string dir = [] {
    char pattern[] = "/tmp/folio-cli-test-XXXXXX";
    char* d = mkdtemp(pattern);
    return std::string(d ? d : "/tmp");
  }();
  return dir;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Outcome folio(const std::string& args) {
  std::string out = temp_dir() + "/stdout", err = temp_dir() + "/stderr";
  std::string command = std::string(FOLIO_BINARY) + " " + args + " >" + out + " 2>" + err;
  int status = std::system(command.c_str());
  return Outcome{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

TEST(Cli, SampleFilesDecodeAsJson) {
  for (std::string kind : {"wire", "signed", "filtered"}) {
    std::string path = temp_dir() + "/" + kind + ".tx";
    Outcome sample = folio("tx sample --kind " + kind + " --out " + path);
    ASSERT_EQ(sample.exit_code, 0) << sample.err;
    Outcome decoded = folio("tx decode " + path);
    ASSERT_EQ(decoded.exit_code, 0) << decoded.err;
    auto json = nlohmann::json::parse(decoded.out);
    EXPECT_EQ(json["kind"], kind);
    EXPECT_EQ(json["transaction"]["id"].get<std::string>().size(), 64u);
  }
}

TEST(Cli, MalformedFileIsOneLineErrorWithExitCodeOne) {
  std::string path = temp_dir() + "/signed.tx";
  ASSERT_EQ(folio("tx sample --kind signed --out " + path).exit_code, 0);
  std::string good = slurp(path);
  std::string truncated_path = temp_dir() + "/truncated.tx";
  std::ofstream(truncated_path, std::ios::binary) << good.substr(0, good.size() - 5);
  Outcome r = folio("tx decode " + truncated_path);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("malformed"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  Outcome missing = folio("tx decode " + temp_dir() + "/does-not-exist.tx");
  EXPECT_EQ(missing.exit_code, 1);
}

TEST(Cli, DirectoriesAndUnwritablePathsAreErrorsNotCrashes) {
  // Regressions: a directory was reported as "larger than the limit", and an unwritable output
  // path aborted the process with an uncaught filesystem exception.
  Outcome dir = folio("tx decode " + temp_dir());
  EXPECT_EQ(dir.exit_code, 1);
  EXPECT_NE(dir.err.find("is not a readable file"), std::string::npos) << dir.err;
  Outcome unwritable = folio("tx sample --out /proc/folio-no-such-dir/x.tx");
  EXPECT_EQ(unwritable.exit_code, 1);
  EXPECT_NE(unwritable.err.find("cannot create"), std::string::npos) << unwritable.err;
}

TEST(Cli, DemoVerifiesTheChainAndConservesCash) {
  Outcome r = folio("ledger-demo --chain 300 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["verified"], 300);
  EXPECT_EQ(json["forgeries_refused"], json["forgeries_tried"]);
  EXPECT_TRUE(json["cash_conserved"].get<bool>());
}

TEST(Cli, BenchLedgerWritesItsFigures) {
  std::string path = temp_dir() + "/ledger.json";
  Outcome r = folio("bench ledger --seconds 0.05 --out " + path);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto json = nlohmann::json::parse(slurp(path));
  for (const char* key : {"sha256_per_s", "ed25519_sign_per_s", "ed25519_verify_per_s",
                          "tx_build_per_s", "tx_verify_per_s", "verify_vs_ed25519"})
    EXPECT_TRUE(json.contains(key)) << key;
  EXPECT_GT(json["tx_verify_per_s"].get<double>(), 0);
}

}  // namespace
