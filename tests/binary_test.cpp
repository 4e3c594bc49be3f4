// The real `hutong` binary: its commands, configuration from flags and environment, and a
// clean exit on SIGTERM.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "support/child_process.h"
#include "support/test_env.h"

namespace hutong::testing {
namespace {
using namespace std::chrono_literals;

Child Spawn(const std::vector<std::string>& args, const std::string& out_path,
            const std::vector<std::string>& extra_env = {}) {
  return SpawnBinary(HUTONG_BINARY, args, out_path, extra_env);
}

int RunBinary(const std::vector<std::string>& args, const std::string& out,
              const std::vector<std::string>& env = {}) {
  return WaitExit(Spawn(args, out, env).pid, 60s);
}

class BinaryTest : public ::testing::Test {
 protected:
  FreshDatabases dbs_{Backend::kSqlite};
  std::string Out(const std::string& name) { return dbs_.dir() + "/" + name + ".log"; }
};

TEST_F(BinaryTest, HelpVersionAndBadFlags) {
  EXPECT_EQ(RunBinary({"--help"}, Out("help")), 0);
  auto help = Slurp(Out("help"));
  for (const char* s : {"serve", "migrate", "seed-demo", "--data-dir", "--host-listen", "--provider-listen",
                        "--host-db", "--provider-db", "--admin-token", "HUTONG_"}) {
    EXPECT_NE(help.find(s), std::string::npos) << s;
  }
  EXPECT_EQ(RunBinary({"--version"}, Out("version")), 0);
  EXPECT_NE(Slurp(Out("version")).find("hutong "), std::string::npos);
  EXPECT_EQ(RunBinary({"launch-rockets"}, Out("bad")), 2);
  EXPECT_EQ(RunBinary({"serve", "--no-such-flag"}, Out("bad2")), 2);
  EXPECT_EQ(RunBinary({"serve", "--host-listen", "nowhere"}, Out("bad3")), 2);
  EXPECT_EQ(RunBinary({}, Out("none")), 2);
}

TEST_F(BinaryTest, MigrateAndSeedDemoFromEnvironment) {
  const std::string data = dbs_.dir() + "/envdata";
  const std::vector<std::string> env = {"HUTONG_DATA_DIR=" + data};
  EXPECT_EQ(RunBinary({"migrate"}, Out("migrate"), env), 0) << Slurp(Out("migrate"));
  EXPECT_TRUE(std::filesystem::exists(data + "/host.db"));
  EXPECT_TRUE(std::filesystem::exists(data + "/provider.db"));
  EXPECT_EQ(RunBinary({"seed-demo"}, Out("seed1"), env), 0) << Slurp(Out("seed1"));
  EXPECT_NE(Slurp(Out("seed1")).find("demo seeded"), std::string::npos);
  EXPECT_EQ(RunBinary({"seed-demo"}, Out("seed2"), env), 0) << Slurp(Out("seed2"));
  EXPECT_NE(Slurp(Out("seed2")).find("demo already seeded"), std::string::npos);
}

TEST_F(BinaryTest, SeedDemoRefusesForeignData) {
  // A provider database that holds catalog data the demo did not put there (made by
  // seeding elsewhere and removing the demo's marker) must be refused, exit code 3, and
  // the empty host database next to it must stay empty.
  const std::string seeded = dbs_.dir() + "/seeded";
  ASSERT_EQ(RunBinary({"seed-demo", "--data-dir", seeded}, Out("seed")), 0);
  const std::string other = dbs_.dir() + "/other";
  std::filesystem::create_directories(other);
  std::filesystem::copy_file(seeded + "/provider.db", other + "/provider.db");
  std::string cmd = "sqlite3 '" + other + "/provider.db' \"DELETE FROM meta WHERE key='demo_seeded'\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0);

  EXPECT_EQ(RunBinary({"seed-demo", "--data-dir", other}, Out("refused")), 3) << Slurp(Out("refused"));
  EXPECT_NE(Slurp(Out("refused")).find("refusing"), std::string::npos);
  cmd = "test \"$(sqlite3 '" + other + "/host.db' 'SELECT COUNT(*) FROM users')\" = 0";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "the refused seed wrote host data";
}

TEST_F(BinaryTest, ServesAndExitsCleanlyOnSigterm) {
  const std::string data = dbs_.dir() + "/serve";
  auto child =
      Spawn({"serve", "--data-dir", data, "--host-listen", "127.0.0.1:0", "--provider-listen", "127.0.0.1:0"},
            Out("serve"));
  // The JSON log line "listening" carries the bound port of each role.
  auto ports = WaitForListeningPorts(child);
  ASSERT_EQ(ports.size(), 2u) << Slurp(child.out_path);
  for (const auto& [role, port] : ports) {
    auto r = Get("http://127.0.0.1:" + std::to_string(port) + "/healthz");
    EXPECT_EQ(r.status, 200) << role;
    auto metrics = Get("http://127.0.0.1:" + std::to_string(port) + "/metrics");
    EXPECT_NE(metrics.body.find("hutong_http_requests_total"), std::string::npos);
  }
  auto feed = Get("http://127.0.0.1:" + std::to_string(ports["host"]) + "/api/feed");
  EXPECT_EQ(feed.status, 200);
  // Access log: one JSON line per request with its request id.
  EXPECT_NE(Slurp(child.out_path).find(R"("msg":"request")"), std::string::npos);

  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(child.pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(child.pid, 10s), 0) << Slurp(child.out_path);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

}  // namespace
}  // namespace hutong::testing
