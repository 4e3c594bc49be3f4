#include "support/child_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string_view>
#include <thread>

extern char** environ;

namespace hutong::testing {

Child SpawnBinary(const std::string& binary, const std::vector<std::string>& args,
                  const std::string& out_path, const std::vector<std::string>& extra_env) {
  std::vector<std::string> all = {binary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) {
    if (std::string_view(*e).starts_with("HUTONG_")) continue;  // a clean configuration
    env_store.emplace_back(*e);
  }
  env_store.insert(env_store.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  Child c;
  c.out_path = out_path;
  EXPECT_EQ(posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&fa);
  return c;
}

int WaitExit(pid_t pid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, int> WaitForListeningPorts(const Child& child, size_t roles) {
  std::map<std::string, int> ports;
  const std::regex re(R"re("msg":"listening".*"role":"(host|provider)".*"port":([0-9]+))re");
  for (int i = 0; i < 500 && ports.size() < roles; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::string log = Slurp(child.out_path);
    for (std::sregex_iterator it(log.begin(), log.end(), re), end; it != end; ++it) {
      ports[(*it)[1]] = std::stoi((*it)[2]);
    }
  }
  return ports;
}

}  // namespace hutong::testing
