// hutong: one binary, both roles. main only parses configuration and wires.
#include <cstdio>
#include <iostream>

#include "app/config.h"
#include "app/demo.h"
#include "app/gen_data.h"
#include "app/node.h"
#include "common/log.h"

int main(int argc, char** argv) {
  using namespace hutong;
  std::string help;
  auto config = app::ParseConfig(argc, argv, &help);
  if (!config.ok()) {
    std::cerr << "hutong: " << config.error().detail << "\n";
    return 2;
  }
  if (config->command == "help") {
    std::cout << help;
    return 0;
  }
  if (config->command == "version") {
    std::cout << "hutong " << HUTONG_VERSION << "\n";
    return 0;
  }
  LogLevel level;
  if (!ParseLogLevel(config->log_level, level)) {
    std::cerr << "hutong: --log-level must be debug, info, warn or error\n";
    return 2;
  }
  SetLogLevel(level);

  auto fail = [](const Error& e) {
    LogError("fatal", {{"code", ErrorCodeName(e.code)},
                       {"detail", std::string_view(e.detail)},
                       {"internal", std::string_view(e.internal)}});
    std::cerr << "hutong: " << e.detail << (e.internal.empty() ? "" : " (" + e.internal + ")") << "\n";
    return e.code == ErrorCode::kDemoRefused ? 3 : 1;
  };

  if (config->command == "migrate") {
    Status s = app::RunMigrate(*config);
    return s.ok() ? 0 : fail(s.error());
  }
  if (config->command == "seed-demo") {
    Status s = app::RunSeedDemo(*config);
    return s.ok() ? 0 : fail(s.error());
  }
  if (config->command == "gen-data") {
    app::GenDataOptions o;
    o.deals = config->gen_deals;
    o.stores = config->gen_stores;
    o.users = config->gen_users;
    o.tokens_out = config->gen_tokens_out;
    o.flash_units = config->gen_flash_units;
    auto report = app::RunGenData(*config, o);
    if (!report.ok()) return fail(report.error());
    std::cout << app::GenDataReportJson(*report) << std::endl;
    return 0;
  }
  if (config->command == "reconcile") {
    std::string report;
    auto clean = app::RunReconcile(*config, &report);
    if (!clean.ok()) return fail(clean.error());
    std::cout << report;
    return *clean ? 0 : 1;
  }
  auto node = app::Node::Start(*config);
  if (!node.ok()) return fail(node.error());
  return (*node)->WaitForSignal() ? 0 : 1;
}
