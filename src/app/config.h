// Configuration: command-line flags over HUTONG_* environment variables over defaults.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace hutong::app {

enum class Roles { kBoth, kHost, kProvider };

struct Config {
  std::string command;  // serve | migrate | seed-demo | gen-data | reconcile | help | version
  Roles roles = Roles::kBoth;
  std::string data_dir = "./data";
  std::string host_db;      // default <data_dir>/host.db
  std::string provider_db;  // default <data_dir>/provider.db
  std::string host_listen = "127.0.0.1:8080";
  std::string provider_listen = "127.0.0.1:8081";
  // How browsers and hosts reach the provider (for links in the demo); default from
  // provider_listen.
  std::string provider_public_url;
  std::string admin_token = "demo-admin-token";
  // 64 hex characters sealing app secrets at rest; empty = DATA_DIR/master.key, created on
  // first use. Every node of a cluster needs the same key.
  std::string master_key;
  bool admin_token_is_default = true;
  // Provider: JSON list of the hosts it is connected to, [{"name","url","app_id","app_secret"}].
  // When both roles run in one process, the local host is added as "local" by itself.
  std::string provider_hosts;
  std::string log_level = "info";
  bool access_log = true;
  size_t io_threads = 0;  // 0 = one per core
  // Blocking pool per role for database work: its threads mostly wait on commits, and
  // more of them share each SQLite group commit.
  size_t workers = 64;
  size_t db_pool = 8;  // connections per database
  bool sqlite_sync_full = true;
  // gen-data (benchmarks): how much to generate; see app/gen_data.h.
  int64_t gen_deals = 1000;
  int64_t gen_stores = 1000;
  int64_t gen_users = 0;
  std::string gen_tokens_out;
  int64_t gen_flash_units = 0;
  std::string date;  // reconcile: the business day YYYY-MM-DD (UTC+8)
  // Host: sandbox payments (POST /api/wallet/topup hands out test money); off → 403.
  bool sandbox = true;
  // Tests only (no flag): runs on the search position index's loader thread before it loads,
  // so a test can hold the load and see the node before it.
  std::function<void()> before_search_load_for_test;
};

// Parses argv and the environment. On --help/--version sets command accordingly and
// fills `help_text`. Bad flags → kValidationFailed with a message for stderr.
Result<Config> ParseConfig(int argc, const char* const* argv, std::string* help_text);

}  // namespace hutong::app
