// One hutong process: the roles it serves, their databases, routers and servers, wired
// together. main() and the integration tests both start the server through this.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "app/config.h"
#include "common/result.h"

namespace hutong::host::search {
class SearchPositionIndex;
}

namespace hutong::app {

// The name under which a provider sees the host running in its own process.
inline constexpr const char* kLocalHostName = "local";

class Node {
 public:
  // Opens the databases of the configured roles, migrates them, binds the listeners and
  // starts the threads. Returns once everything is serving.
  static Result<std::unique_ptr<Node>> Start(const Config& config);
  ~Node();

  // Blocks until SIGTERM/SIGINT, then drains (≤ 10 s). True when the drain was clean.
  bool WaitForSignal();
  // Drains as a signal would, from a test; then returns like WaitForSignal.
  bool StopForTest();

  uint16_t host_port() const;      // 0 when the host role is not served
  uint16_t provider_port() const;  // 0 when the provider role is not served
  // Search's in-memory copy of the documents' positions (null without the host role).
  const host::search::SearchPositionIndex* SearchPositionsForTest() const;

  struct State;

 private:
  explicit Node(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// `hutong migrate`: migrate the configured roles' databases; prints what it did.
Status RunMigrate(const Config& config);

// `hutong reconcile --date D`: reads the host database (never changes it) and checks
// paid = refunded + settled + outstanding through business day D and that the ledger is
// sound (host/ledger/reconcile.h). True when clean; `report` gets the printout.
Result<bool> RunReconcile(const Config& config, std::string* report);

}  // namespace hutong::app
