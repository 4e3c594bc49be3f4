#include "app/node.h"

#include <thread>

#include "app/master_key.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/password.h"
#include "host/host.h"
#include "host/ledger/reconcile.h"
#include "host/ledger/settlement.h"
#include "host/openplatform/apps.h"
#include "host/search/geo_point_index.h"
#include "host/search/search.h"
#include "host/search/search_position_index.h"
#include "host/webhooks/dispatcher.h"
#include "http/ops_routes.h"
#include "http/server.h"
#include "jobs/job_runner.h"
#include "protocol/signing.h"
#include "provider/campaigns/hot_stock.h"
#include "provider/hosts/host_sync.h"
#include "provider/miniprogram/mp_session.h"
#include "provider/orders/orders.h"
#include "provider/provider.h"
#include "provider/redemption/redemption_reports.h"
#include "provider/refunds/refunds.h"

namespace hutong::app {

namespace {

bool ServesHost(const Config& c) {
  return c.roles != Roles::kProvider;
}
bool ServesProvider(const Config& c) {
  return c.roles != Roles::kHost;
}

Result<std::unique_ptr<storage::Db>> OpenAndMigrate(const Config& c, const std::string& target,
                                                    const std::string& role,
                                                    const std::vector<storage::Migration>& migrations) {
  storage::DbOptions options;
  options.default_schema = role;
  options.pool_size = c.db_pool;
  options.sqlite_synchronous_full = c.sqlite_sync_full;
  ASSIGN_OR_RETURN(auto db, storage::OpenDb(target, options));
  ASSIGN_OR_RETURN(int applied, storage::Migrate(*db, migrations));
  LogInfo("database ready", {{"role", std::string_view(role)},
                             {"db", std::string_view(db->Describe())},
                             {"migrations_applied", static_cast<int64_t>(applied)}});
  return db;
}

// How to reach a listener: the configured public URL, unless the listener asked for port 0
// (tests) or none is configured, then loopback with the bound port.
std::string LocalUrl(const std::string& public_url, const std::string& listen, uint16_t bound_port) {
  if (!public_url.empty() && !listen.ends_with(":0")) return public_url;
  std::string addr = listen.substr(0, listen.rfind(':'));
  if (addr == "0.0.0.0" || addr.empty()) addr = "127.0.0.1";
  return "http://" + addr + ":" + std::to_string(bound_port);
}

}  // namespace

struct Node::State {
  Config config;
  std::optional<SecretBox> box;
  std::unique_ptr<protocol::InMemoryNonceStore> nonces;
  std::unique_ptr<host::WebhookDispatcher> dispatcher;
  std::unique_ptr<provider::HostDirectory> provider_hosts;
  // Refund sending retries, voucher expiry with auto-refund, after-sale auto-approval.
  std::unique_ptr<provider::HostRefundGateway> refund_gateway;
  // Leased background jobs of each role (a runner per role database).
  std::unique_ptr<jobs::JobRunner> host_jobs;
  std::unique_ptr<jobs::JobRunner> provider_jobs;
  provider::WebhookHandlers provider_webhooks;
  std::unique_ptr<storage::Db> host_db;
  std::unique_ptr<storage::Db> provider_db;
  // Nearby's in-memory geo index (host role), loaded by its own thread from the start; it
  // outlives the routes that use it and stops before host_db closes.
  std::unique_ptr<host::search::GeoPointIndex> geo_index;
  // Search's in-memory copy of the documents' positions (host role), likewise.
  std::unique_ptr<host::search::SearchPositionIndex> search_positions;
  // Re-reads busy mini-program sessions before their in-memory trust ends (uses provider_db).
  std::unique_ptr<provider::MpSessionRefresher> mp_session_refresher;
  http::Metrics metrics;
  http::Router host_router;
  http::Router provider_router;
  std::unique_ptr<http::Runtime> runtime;
  std::unique_ptr<http::Server> host_server;
  std::unique_ptr<http::Server> provider_server;
  bool stopped = false;
};

Node::Node(std::unique_ptr<State> state) : state_(std::move(state)) {}

Node::~Node() {
  if (state_ && state_->dispatcher) state_->dispatcher->Stop();
  if (state_ && state_->host_jobs) state_->host_jobs->Stop();
  if (state_ && state_->provider_jobs) state_->provider_jobs->Stop();
  if (state_ && state_->runtime && !state_->stopped) state_->runtime->Stop();
  if (state_ && state_->geo_index) state_->geo_index->Stop();
  if (state_ && state_->search_positions) state_->search_positions->Stop();
}

Result<std::unique_ptr<Node>> Node::Start(const Config& config) {
  InitCrypto();
  auto s = std::make_unique<State>();
  s->config = config;
  const Clock& clock = SystemClock::Instance();
  const bool host_role = ServesHost(config);
  const bool provider_role = ServesProvider(config);

  // Databases first: a node that cannot reach its database must not accept traffic.
  if (host_role) {
    ASSIGN_OR_RETURN(s->host_db, OpenAndMigrate(config, config.host_db, "host", host::HostMigrations()));
    ASSIGN_OR_RETURN(auto box, LoadMasterKey(config));
    s->box.emplace(std::move(box));
    s->nonces = std::make_unique<protocol::InMemoryNonceStore>(clock);
    // A database filled before search existed (host migration 7) gets its documents once.
    ASSIGN_OR_RETURN(int64_t backfilled, host::search::BackfillSearchDocs(*s->host_db));
    if (backfilled > 0) LogInfo("search documents backfilled", {{"documents", backfilled}});
    if (config.admin_token_is_default) {
      LogWarn("using the demo admin token; set --admin-token or HUTONG_ADMIN_TOKEN outside the demo");
    }
  }
  if (provider_role) {
    ASSIGN_OR_RETURN(s->provider_db,
                     OpenAndMigrate(config, config.provider_db, "provider", provider::ProviderMigrations()));
  }

  // Bind the listeners (no request is served before Runtime::Start), so that links and
  // the local app registration can use the real ports even when port 0 was asked for.
  s->runtime = std::make_unique<http::Runtime>(config.io_threads, config.workers);
  auto make_server = [&](const http::Router& router, const std::string& role,
                         const std::string& listen) -> Result<std::unique_ptr<http::Server>> {
    http::ServerOptions o;
    o.role = role;
    o.listen = listen;
    o.access_log = config.access_log;
    auto server = std::make_unique<http::Server>(*s->runtime, router, s->metrics, o);
    RETURN_IF_ERROR(server->Listen());
    LogInfo("listening", {{"role", std::string_view(role)},
                          {"address", std::string_view(listen)},
                          {"port", static_cast<int64_t>(server->port())}});
    return server;
  };
  if (host_role) {
    ASSIGN_OR_RETURN(s->host_server, make_server(s->host_router, "host", config.host_listen));
  }
  if (provider_role) {
    ASSIGN_OR_RETURN(s->provider_server, make_server(s->provider_router, "provider", config.provider_listen));
  }

  if (host_role) {
    s->dispatcher = std::make_unique<host::WebhookDispatcher>(*s->host_db, *s->box, clock);
    host::WebhookDispatcher* dispatcher = s->dispatcher.get();
    host::HostDeps deps{*s->host_db, clock, config.admin_token, *s->box, *s->nonces};
    deps.wake_webhooks = [dispatcher] { dispatcher->Notify(); };
    deps.sandbox = config.sandbox;
    s->geo_index = std::make_unique<host::search::GeoPointIndex>(clock);
    deps.geo_index = s->geo_index.get();
    s->search_positions = std::make_unique<host::search::SearchPositionIndex>();
    deps.search_positions = s->search_positions.get();
    host::RegisterHostRoutes(s->host_router, deps);
    storage::Db* db = s->host_db.get();
    // Not ready until nearby's copy of the geo index and search's copy of the positions have
    // loaded (or failed to: they then read the database): a node taken into service answers
    // both from memory at once.
    const host::search::GeoPointIndex* geo = s->geo_index.get();
    const host::search::SearchPositionIndex* positions = s->search_positions.get();
    http::AddOpsRoutes(s->host_router, s->metrics, [db, geo, positions]() -> Status {
      RETURN_IF_ERROR(db->Ping());
      const bool nearby = geo->Starting(), search = positions->Starting();
      if (nearby && search) {
        return Error(ErrorCode::kUnavailable, "the nearby index and the search position index are loading",
                     "geo index and search positions loading");
      }
      if (nearby) return Error(ErrorCode::kUnavailable, "the nearby index is loading", "geo index loading");
      if (search) {
        return Error(ErrorCode::kUnavailable, "the search position index is loading",
                     "search positions loading");
      }
      return Ok();
    });
  }
  if (provider_role) {
    std::vector<provider::HostConnection> hosts;
    if (!config.provider_hosts.empty()) {
      ASSIGN_OR_RETURN(hosts, provider::HostDirectory::ParseConfig(config.provider_hosts));
    }
    if (host_role) {
      // Both roles in one process: register the provider as an app of the local host, as
      // an operator would with POST /api/admin/apps, and connect to it over loopback HTTP.
      const std::string provider_url =
          LocalUrl(config.provider_public_url, config.provider_listen, s->provider_server->port());
      const std::string host_url = LocalUrl("", config.host_listen, s->host_server->port());
      ASSIGN_OR_RETURN(auto creds,
                       host::EnsureLocalProviderApp(*s->host_db, *s->box,
                                                    {"Hutong provider (local)", provider_url,
                                                     provider_url + "/mp/v1/webhooks/" + kLocalHostName},
                                                    clock.NowMs()));
      hosts.push_back({kLocalHostName, host_url, creds.app_id, creds.app_secret});
    }
    ASSIGN_OR_RETURN(s->provider_hosts, provider::HostDirectory::Create(hosts, clock));
    provider::RegisterProviderRoutes(
        s->provider_router,
        provider::ProviderDeps{*s->provider_db, clock, *s->provider_hosts, s->provider_webhooks});
    storage::Db* db = s->provider_db.get();
    http::AddOpsRoutes(s->provider_router, s->metrics, [db] { return db->Ping(); });
    s->metrics.AddCollector([](std::string& out) { provider::AppendHotStockMetrics(out); });
    s->mp_session_refresher = std::make_unique<provider::MpSessionRefresher>(*s->provider_db, clock);
  }

  // Background jobs: each runs on whichever node holds its lease (src/jobs). Register new
  // jobs here, as plain idempotent RunOnce-style functions.
  if (host_role) {
    storage::Db* db = s->host_db.get();
    s->host_jobs = std::make_unique<jobs::JobRunner>(*db, clock, "host");
    // Settles the previous business day (UTC+8); idempotent per day and account.
    s->host_jobs->Add({"settlement", std::chrono::minutes(10),
                       [db, c = &clock]() -> Status { return host::SettlePreviousDay(*db, c->NowMs()); }});
  }
  if (provider_role) {
    storage::Db* db = s->provider_db.get();
    s->provider_jobs = std::make_unique<jobs::JobRunner>(*db, clock, "provider");
    s->provider_jobs->Add({"order_expiry", std::chrono::seconds(10), [db, c = &clock]() -> Status {
                             RETURN_IF_ERROR(provider::ExpireUnpaidOrders(*db, c->NowMs()));
                             return Ok();
                           }});
    s->refund_gateway = std::make_unique<provider::HostRefundGateway>(*s->provider_hosts);
    const provider::RefundGateway* gateway = s->refund_gateway.get();
    auto refund_job = [&](const char* name, std::chrono::milliseconds every,
                          Result<int> (*body)(storage::Db&, const provider::RefundGateway&, int64_t, int64_t),
                          int64_t limit) {
      s->provider_jobs->Add({name, every, [db, gateway, c = &clock, body, limit]() -> Status {
                               RETURN_IF_ERROR(body(*db, *gateway, c->NowMs(), limit));
                               return Ok();
                             }});
    };
    refund_job("refund_retry", std::chrono::seconds(5), provider::RunRefundRetriesOnce, 100);
    refund_job("voucher_expiry", std::chrono::seconds(60), provider::RunVoucherExpiryOnce, 500);
    refund_job("after_sale_auto_approval", std::chrono::seconds(60), provider::RunAfterSaleAutoApprovalOnce,
               100);
    const provider::HostDirectory* hosts = s->provider_hosts.get();
    s->provider_jobs->Add(
        {"redemption_reports", std::chrono::seconds(2), [db, hosts, c = &clock]() -> Status {
           RETURN_IF_ERROR(provider::DeliverRedemptionReports(*db, *hosts, c->NowMs()));
           return Ok();
         }});
    // Deals and campaigns reach every connected host through the outbox; a host that has
    // never had the whole catalog (a new one, or the first start) gets it all once.
    RETURN_IF_ERROR(provider::EnqueueFullHostSync(*db, hosts->Names(), clock.NowMs()));
    s->provider_jobs->Add({"host_sync", std::chrono::seconds(1), [db, hosts, c = &clock]() -> Status {
                             RETURN_IF_ERROR(provider::DeliverHostSyncs(*db, *hosts, c->NowMs()));
                             return Ok();
                           }});
  }
  {
    std::vector<const jobs::JobRunner*> runners;
    if (s->host_jobs) runners.push_back(s->host_jobs.get());
    if (s->provider_jobs) runners.push_back(s->provider_jobs.get());
    s->metrics.AddCollector([runners](std::string& out) { jobs::AppendJobMetrics(out, runners); });
    if (s->provider_jobs)
      s->metrics.AddCollector([](std::string& out) { provider::AppendRefundMetrics(out); });
  }
  // Loads while the servers start: requests meanwhile read the database (SQLite only).
  if (s->geo_index) s->geo_index->StartBackground(*s->host_db);
  if (s->search_positions) {
    s->search_positions->StartBackground(*s->host_db, config.before_search_load_for_test);
  }
  s->runtime->Start();
  if (s->dispatcher) s->dispatcher->Start();
  if (s->host_jobs) s->host_jobs->Start();
  if (s->provider_jobs) s->provider_jobs->Start();
  return std::unique_ptr<Node>(new Node(std::move(s)));
}

bool Node::WaitForSignal() {
  bool clean = state_->runtime->RunUntilSignal(std::chrono::seconds(10));
  // After the servers drained: an attempt in flight finishes, nothing new starts; events
  // not yet delivered stay in the outbox for the next start (or another node).
  if (state_->dispatcher) state_->dispatcher->Stop();
  if (state_->host_jobs) state_->host_jobs->Stop();
  if (state_->provider_jobs) state_->provider_jobs->Stop();
  if (state_->geo_index) state_->geo_index->Stop();
  if (state_->search_positions) state_->search_positions->Stop();
  state_->stopped = true;
  LogInfo("stopped", {{"clean", clean}});
  return clean;
}

bool Node::StopForTest() {
  std::thread stopper([this] { state_->runtime->RequestStopForTest(); });
  bool clean = WaitForSignal();
  stopper.join();
  return clean;
}

uint16_t Node::host_port() const {
  return state_->host_server ? state_->host_server->port() : 0;
}
uint16_t Node::provider_port() const {
  return state_->provider_server ? state_->provider_server->port() : 0;
}
const host::search::SearchPositionIndex* Node::SearchPositionsForTest() const {
  return state_->search_positions.get();
}

Status RunMigrate(const Config& config) {
  if (ServesHost(config))
    RETURN_IF_ERROR(OpenAndMigrate(config, config.host_db, "host", host::HostMigrations()));
  if (ServesProvider(config)) {
    RETURN_IF_ERROR(OpenAndMigrate(config, config.provider_db, "provider", provider::ProviderMigrations()));
  }
  return Ok();
}

Result<bool> RunReconcile(const Config& config, std::string* report) {
  storage::DbOptions options;
  options.default_schema = "host";
  options.pool_size = 1;
  options.sqlite_synchronous_full = config.sqlite_sync_full;
  ASSIGN_OR_RETURN(auto db, storage::OpenDb(config.host_db, options));
  ASSIGN_OR_RETURN(auto r, host::Reconcile(*db, config.date));
  *report = host::FormatReconcileReport(r);
  return r.clean();
}

}  // namespace hutong::app
