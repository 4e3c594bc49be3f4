// The real `hutong` binary as a child process, for tests that start, signal or kill it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace hutong::testing {

struct Child {
  pid_t pid = -1;
  std::string out_path;
};

// Starts `binary` with args; stdout and stderr go to `out_path`. The child gets this
// process's environment without any HUTONG_* variable (a clean configuration), plus
// `extra_env` ("NAME=value").
Child SpawnBinary(const std::string& binary, const std::vector<std::string>& args,
                  const std::string& out_path, const std::vector<std::string>& extra_env = {});
// Waits up to `limit`; returns the exit code (128 + signal when killed), or -1 if it did
// not exit (then kills it).
int WaitExit(pid_t pid, std::chrono::milliseconds limit);
// A whole file, empty when missing.
std::string Slurp(const std::string& path);
// The bound port of each role, read from the JSON "listening" log lines of `child` (waits
// up to 10 s for both `roles`); empty roles missing on timeout.
std::map<std::string, int> WaitForListeningPorts(const Child& child, size_t roles = 2);

}  // namespace hutong::testing
