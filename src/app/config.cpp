#include "app/config.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <sstream>
#include <thread>

namespace hutong::app {
namespace po = boost::program_options;

namespace {

constexpr const char* kUsage =
    "Usage: hutong <command> [options]\n"
    "\n"
    "Commands:\n"
    "  serve       serve the host and/or provider APIs (both roles by default)\n"
    "  migrate     apply database migrations and exit\n"
    "  seed-demo   fill empty databases with the demo data set (idempotent)\n"
    "  gen-data    seed the demo, then add generated stores, deals and bench users (benchmarks)\n"
    "  reconcile   check the host's ledger through --date (exit 0 clean, 1 not)\n"
    "\n"
    "Every option can also be set by its environment variable HUTONG_<NAME>, e.g.\n"
    "--host-listen by HUTONG_HOST_LISTEN. Flags win over the environment.\n";

bool ValidListen(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  for (size_t i = colon + 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return std::stol(s.substr(colon + 1)) <= 65535;
}

}  // namespace

Result<Config> ParseConfig(int argc, const char* const* argv, std::string* help_text) {
  Config c;
  std::string role = "both";
  po::options_description opts("Options");
  // clang-format off
  opts.add_options()
      ("help,h", "print this help")
      ("version", "print the version")
      ("role", po::value(&role)->default_value("both"), "serve: both | host | provider")
      ("data-dir", po::value(&c.data_dir)->default_value(c.data_dir), "folder for SQLite files")
      ("host-db", po::value(&c.host_db), "host database: SQLite path or postgresql:// URL (default DATA_DIR/host.db)")
      ("provider-db", po::value(&c.provider_db), "provider database: SQLite path or postgresql:// URL (default DATA_DIR/provider.db)")
      ("host-listen", po::value(&c.host_listen)->default_value(c.host_listen), "host ADDR:PORT")
      ("provider-listen", po::value(&c.provider_listen)->default_value(c.provider_listen), "provider ADDR:PORT")
      ("provider-public-url", po::value(&c.provider_public_url), "provider base URL for links (default http://PROVIDER_LISTEN)")
      ("admin-token", po::value(&c.admin_token), "host admin API token (default demo-admin-token)")
      ("master-key", po::value(&c.master_key), "64 hex chars sealing app secrets (default: DATA_DIR/master.key, created if missing)")
      ("provider-hosts", po::value(&c.provider_hosts), "provider: JSON list of connected hosts [{name,url,app_id,app_secret}]")
      ("log-level", po::value(&c.log_level)->default_value(c.log_level), "debug | info | warn | error")
      ("access-log", po::value(&c.access_log)->default_value(c.access_log), "log every request (true/false)")
      ("io-threads", po::value(&c.io_threads)->default_value(0), "I/O threads (0 = one per core)")
      ("workers", po::value(&c.workers)->default_value(c.workers), "threads for database work")
      ("db-pool", po::value(&c.db_pool)->default_value(c.db_pool), "connections per database")
      ("sqlite-sync-full", po::value(&c.sqlite_sync_full)->default_value(c.sqlite_sync_full),
       "SQLite synchronous=FULL (true) or NORMAL (false)")
      ("gen-deals", po::value(&c.gen_deals)->default_value(c.gen_deals), "gen-data: deals to generate")
      ("gen-stores", po::value(&c.gen_stores)->default_value(c.gen_stores), "gen-data: stores to generate")
      ("gen-users", po::value(&c.gen_users)->default_value(c.gen_users), "gen-data: bench users with sessions")
      ("gen-tokens-out", po::value(&c.gen_tokens_out), "gen-data: file for the bench users' tokens")
      ("gen-flash-units", po::value(&c.gen_flash_units)->default_value(c.gen_flash_units),
       "gen-data: units of a flash-sale campaign deal (0 = none)")
      ("date", po::value(&c.date), "reconcile: business day YYYY-MM-DD (UTC+8)")
      ("sandbox", po::value(&c.sandbox)->default_value(c.sandbox)->implicit_value(true),
       "host: sandbox payments, test money by POST /api/wallet/topup (true/false)");
  // clang-format on
  po::options_description hidden;
  hidden.add_options()("command", po::value(&c.command));
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description pos;
  pos.add("command", 1);

  std::ostringstream help;
  help << kUsage << "\n" << opts;
  if (help_text) *help_text = help.str();

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
    // Environment: HUTONG_HOST_LISTEN → host-listen, for the documented options only.
    po::store(po::parse_environment(opts,
                                    [&opts](const std::string& env) -> std::string {
                                      if (env.rfind("HUTONG_", 0) != 0) return "";
                                      std::string name = env.substr(7);
                                      for (auto& ch : name)
                                        ch = ch == '_' ? '-' : static_cast<char>(std::tolower(ch));
                                      if (name == "help" || name == "version") return "";
                                      return opts.find_nothrow(name, false) ? name : "";
                                    }),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Invalid(std::string(e.what()) + " (see hutong --help)");
  }

  if (vm.count("help")) {
    c.command = "help";
    return c;
  }
  if (vm.count("version")) {
    c.command = "version";
    return c;
  }
  if (c.command.empty()) return Invalid("no command given (see hutong --help)");
  if (c.command != "serve" && c.command != "migrate" && c.command != "seed-demo" && c.command != "gen-data" &&
      c.command != "reconcile") {
    return Invalid("unknown command '" + c.command + "' (see hutong --help)");
  }
  if (c.command == "reconcile") {
    const bool shape = c.date.size() == 10 && c.date[4] == '-' && c.date[7] == '-' &&
                       std::all_of(c.date.begin(), c.date.end(),
                                   [](char ch) { return ch == '-' || (ch >= '0' && ch <= '9'); });
    if (!shape) return Invalid("reconcile needs --date YYYY-MM-DD");
  }
  if (role == "both")
    c.roles = Roles::kBoth;
  else if (role == "host")
    c.roles = Roles::kHost;
  else if (role == "provider")
    c.roles = Roles::kProvider;
  else
    return Invalid("--role must be both, host or provider");

  if (!ValidListen(c.host_listen)) return Invalid("--host-listen must be ADDR:PORT");
  if (!ValidListen(c.provider_listen)) return Invalid("--provider-listen must be ADDR:PORT");
  if (c.host_db.empty()) c.host_db = c.data_dir + "/host.db";
  if (c.provider_db.empty()) c.provider_db = c.data_dir + "/provider.db";
  if (c.provider_public_url.empty()) c.provider_public_url = "http://" + c.provider_listen;
  while (!c.provider_public_url.empty() && c.provider_public_url.back() == '/')
    c.provider_public_url.pop_back();
  c.admin_token_is_default = !vm.count("admin-token") || vm["admin-token"].defaulted();
  if (c.admin_token.size() < 8) return Invalid("--admin-token must be at least 8 characters");
  if (c.io_threads == 0) c.io_threads = std::max(1u, std::thread::hardware_concurrency());
  if (c.io_threads > 64 || c.workers < 1 || c.workers > 256 || c.db_pool < 1 || c.db_pool > 256) {
    return Invalid("--io-threads ≤ 64, --workers and --db-pool in 1..256");
  }
  return c;
}

}  // namespace hutong::app
