// The host's schema, one migration per change; never edit a released one.
#include <string>

#include "host/host.h"
#include "protocol/idempotency.h"

namespace hutong::host {

namespace {

const std::string kLedgerTables = R"sql(
CREATE TABLE ledger_accounts (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('wallet', 'clearing', 'merchant_payable', 'commission_payable',
    'platform_fee', 'funding', 'payout')),
  balance_fen BIGINT NOT NULL,
  external INTEGER NOT NULL CHECK (external IN (0, 1)),
  created_at BIGINT NOT NULL,
  CHECK (external = 1 OR balance_fen >= 0)
);
CREATE TABLE ledger_entries (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  pay_order_id TEXT,
  business_day TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (kind, ref)
);
CREATE INDEX ledger_entries_day ON ledger_entries (business_day, kind);
CREATE INDEX ledger_entries_time ON ledger_entries (created_at);
CREATE INDEX ledger_entries_pay_order ON ledger_entries (pay_order_id);
CREATE TABLE ledger_postings (
  entry_id TEXT NOT NULL REFERENCES ledger_entries(id),
  account_id TEXT NOT NULL REFERENCES ledger_accounts(id),
  amount_fen BIGINT NOT NULL,
  PRIMARY KEY (entry_id, account_id)
);
CREATE INDEX ledger_postings_account ON ledger_postings (account_id);
ALTER TABLE pay_orders ADD COLUMN deal_id TEXT;
ALTER TABLE pay_orders ADD COLUMN commission_bps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pay_orders ADD COLUMN attributed_at BIGINT;
CREATE INDEX pay_orders_creator ON pay_orders (creator_id);
CREATE TABLE attribution_clicks (
  app_id TEXT NOT NULL REFERENCES apps(id),
  user_id TEXT NOT NULL REFERENCES users(id),
  creator_id TEXT NOT NULL,
  video_id TEXT NOT NULL,
  clicked_at BIGINT NOT NULL,
  PRIMARY KEY (app_id, user_id)
);
CREATE TABLE settlement_days (
  day TEXT PRIMARY KEY,
  settled_at BIGINT NOT NULL
);
CREATE TABLE redemption_reports (
  app_id TEXT NOT NULL REFERENCES apps(id),
  redemption_id TEXT NOT NULL,
  event_id TEXT NOT NULL,
  pay_order_id TEXT NOT NULL REFERENCES pay_orders(id),
  voucher_id TEXT NOT NULL,
  deal_id TEXT,
  brand_id TEXT NOT NULL,
  store_id TEXT NOT NULL,
  amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
  commission_fen BIGINT NOT NULL,
  fee_fen BIGINT NOT NULL,
  merchant_fen BIGINT NOT NULL,
  creator_id TEXT,
  video_id TEXT,
  status TEXT NOT NULL CHECK (status IN ('redeemed', 'reversed', 'refunded')),
  redeemed_at BIGINT NOT NULL,
  reported_at BIGINT NOT NULL,
  reversed_at BIGINT,
  PRIMARY KEY (app_id, redemption_id)
);
CREATE INDEX redemption_reports_pay_order ON redemption_reports (pay_order_id);
CREATE INDEX redemption_reports_creator ON redemption_reports (creator_id, status);
INSERT INTO ledger_accounts (id, kind, balance_fen, external, created_at) VALUES ('funding:sandbox', 'funding', 0, 1, 0);
INSERT INTO ledger_accounts (id, kind, balance_fen, external, created_at)
  SELECT 'wallet:' || user_id, 'wallet', balance_fen, 0, updated_at FROM wallets;
INSERT INTO ledger_accounts (id, kind, balance_fen, external, created_at)
  SELECT 'clearing:' || id, 'clearing', amount_fen, 0, paid_at FROM pay_orders WHERE status = 'paid';
INSERT INTO ledger_entries (id, kind, ref, pay_order_id, business_day, created_at)
  SELECT 'led_opening_' || user_id, 'opening', user_id, NULL, '1970-01-01', 0 FROM wallets;
INSERT INTO ledger_postings (entry_id, account_id, amount_fen)
  SELECT 'led_opening_' || w.user_id, 'wallet:' || w.user_id, w.balance_fen +
    (SELECT COALESCE(SUM(p.amount_fen), 0) FROM pay_orders p WHERE p.user_id = w.user_id AND p.status = 'paid')
  FROM wallets w;
INSERT INTO ledger_postings (entry_id, account_id, amount_fen)
  SELECT 'led_opening_' || w.user_id, 'funding:sandbox', -(w.balance_fen +
    (SELECT COALESCE(SUM(p.amount_fen), 0) FROM pay_orders p WHERE p.user_id = w.user_id AND p.status = 'paid'))
  FROM wallets w;
INSERT INTO ledger_postings (entry_id, account_id, amount_fen)
  SELECT 'led_payment_' || id, 'clearing:' || id, amount_fen FROM pay_orders WHERE status = 'paid';
INSERT INTO ledger_postings (entry_id, account_id, amount_fen)
  SELECT 'led_payment_' || id, 'wallet:' || user_id, -amount_fen FROM pay_orders WHERE status = 'paid';
UPDATE ledger_accounts SET balance_fen =
  (SELECT COALESCE(SUM(amount_fen), 0) FROM ledger_postings WHERE account_id = 'funding:sandbox')
  WHERE id = 'funding:sandbox';
)sql";

// Payment entries of pay orders paid before the ledger existed, on their UTC+8 day.
// (Inserted before their postings: the postings reference them.)
const std::string kLedgerSqlite = [] {
  std::string s = kLedgerTables;
  const std::string anchor =
      "INSERT INTO ledger_postings (entry_id, account_id, amount_fen)\n  SELECT 'led_payment_'";
  s.insert(
      s.find(anchor),
      "INSERT INTO ledger_entries (id, kind, ref, pay_order_id, business_day, created_at)\n"
      "  SELECT 'led_payment_' || id, 'payment', id, id, date(paid_at / 1000 + 28800, 'unixepoch'), paid_at\n"
      "  FROM pay_orders WHERE status = 'paid';\n");
  return s;
}();
const std::string kLedgerPg = [] {
  std::string s = kLedgerTables;
  const std::string anchor =
      "INSERT INTO ledger_postings (entry_id, account_id, amount_fen)\n  SELECT 'led_payment_'";
  s.insert(s.find(anchor),
           "INSERT INTO ledger_entries (id, kind, ref, pay_order_id, business_day, created_at)\n"
           "  SELECT 'led_payment_' || id, 'payment', id, id,\n"
           "    to_char(to_timestamp(paid_at / 1000 + 28800) AT TIME ZONE 'UTC', 'YYYY-MM-DD'), paid_at\n"
           "  FROM pay_orders WHERE status = 'paid';\n");
  return s;
}();

// Receivables (host/ledger, v13): what a settled merchant or creator owes back after a
// refund, as accounts of their own that never go above zero (payables still never go
// below). SQLite cannot change a CHECK in place: the table is rebuilt inside the
// migration's transaction, with foreign keys deferred until its rows are back.
const char* kReceivablesSqlite = R"sql(
PRAGMA defer_foreign_keys = ON;
CREATE TABLE ledger_accounts_v13 AS SELECT id, kind, balance_fen, external, created_at FROM ledger_accounts;
DROP TABLE ledger_accounts;
CREATE TABLE ledger_accounts (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('wallet', 'clearing', 'merchant_payable', 'commission_payable',
    'platform_fee', 'funding', 'payout', 'merchant_receivable', 'commission_receivable')),
  balance_fen BIGINT NOT NULL,
  external INTEGER NOT NULL CHECK (external IN (0, 1)),
  created_at BIGINT NOT NULL,
  CHECK (external = 1 OR balance_fen >= 0 OR kind IN ('merchant_receivable', 'commission_receivable')),
  CHECK (balance_fen <= 0 OR kind NOT IN ('merchant_receivable', 'commission_receivable'))
);
INSERT INTO ledger_accounts (id, kind, balance_fen, external, created_at)
  SELECT id, kind, balance_fen, external, created_at FROM ledger_accounts_v13;
DROP TABLE ledger_accounts_v13;
)sql";
const char* kReceivablesPg = R"sql(
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check;
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind_check CHECK (kind IN ('wallet', 'clearing',
  'merchant_payable', 'commission_payable', 'platform_fee', 'funding', 'payout', 'merchant_receivable',
  'commission_receivable'));
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_check
  CHECK (external = 1 OR balance_fen >= 0 OR kind IN ('merchant_receivable', 'commission_receivable'));
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_receivable_check
  CHECK (balance_fen <= 0 OR kind NOT IN ('merchant_receivable', 'commission_receivable'));
)sql";

}  // namespace

const std::vector<storage::Migration>& HostMigrations() {
  static const std::vector<storage::Migration> kMigrations = {
      {1, "users_apps_content",
       R"sql(
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  phone TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  nickname TEXT NOT NULL,
  city TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE TABLE apps (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  service_url TEXT NOT NULL,
  notify_url TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  secret_sealed TEXT NOT NULL,
  previous_secret_sealed TEXT,
  previous_secret_expires_at BIGINT,
  secret_rotated_at BIGINT,
  created_at BIGINT NOT NULL
);
CREATE TABLE app_deals (
  app_id TEXT NOT NULL REFERENCES apps(id),
  deal_id TEXT NOT NULL,
  title TEXT NOT NULL,
  brand_name TEXT NOT NULL DEFAULT '',
  type TEXT NOT NULL,
  category TEXT NOT NULL,
  city TEXT NOT NULL,
  price_fen BIGINT NOT NULL,
  original_price_fen BIGINT NOT NULL,
  commission_bps INTEGER NOT NULL DEFAULT 0,
  lat DOUBLE PRECISION,
  lng DOUBLE PRECISION,
  sales BIGINT NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'online',
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (app_id, deal_id)
);
CREATE TABLE creators (
  id TEXT PRIMARY KEY,
  user_id TEXT UNIQUE REFERENCES users(id),
  name TEXT NOT NULL,
  avatar_url TEXT NOT NULL DEFAULT '',
  bio TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE TABLE videos (
  id TEXT PRIMARY KEY,
  creator_id TEXT NOT NULL REFERENCES creators(id),
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  cover_url TEXT NOT NULL,
  video_url TEXT NOT NULL,
  city TEXT NOT NULL DEFAULT '',
  tags TEXT NOT NULL DEFAULT '',
  views BIGINT NOT NULL DEFAULT 0,
  likes BIGINT NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('published', 'hidden')),
  created_at BIGINT NOT NULL
);
CREATE INDEX videos_feed ON videos (status, id);
CREATE INDEX videos_creator ON videos (creator_id, id);
CREATE TABLE video_mounts (
  video_id TEXT NOT NULL REFERENCES videos(id),
  position INTEGER NOT NULL,
  app_id TEXT NOT NULL,
  deal_id TEXT NOT NULL,
  PRIMARY KEY (video_id, position),
  FOREIGN KEY (app_id, deal_id) REFERENCES app_deals (app_id, deal_id)
);
)sql"},
      {2, "user_sessions",
       R"sql(
CREATE TABLE user_sessions (
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions (user_id, expires_at);
)sql"},
      {3, "idempotency_keys", protocol::kIdempotencyMigrationSql},
      {4, "login_codes",
       R"sql(
CREATE TABLE login_codes (
  code_hash TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps(id),
  user_id TEXT NOT NULL REFERENCES users(id),
  video_id TEXT,
  expires_at BIGINT NOT NULL,
  used_at BIGINT,
  created_at BIGINT NOT NULL
);
CREATE INDEX login_codes_expiry ON login_codes (expires_at);
)sql"},
      {5, "webhook_outbox",
       R"sql(
CREATE TABLE webhook_events (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps(id),
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts INTEGER NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  delivered_at BIGINT,
  last_error TEXT NOT NULL DEFAULT '',
  replay_pending INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT,
  lease_until BIGINT
);
CREATE INDEX webhook_events_due ON webhook_events (status, next_attempt_at);
CREATE INDEX webhook_events_app ON webhook_events (app_id, id);
CREATE TABLE webhook_attempts (
  id TEXT PRIMARY KEY,
  event_id TEXT NOT NULL REFERENCES webhook_events(id),
  attempt INTEGER NOT NULL,
  started_at BIGINT NOT NULL,
  duration_ms BIGINT NOT NULL,
  status_code INTEGER,
  error TEXT NOT NULL DEFAULT '',
  replay INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_attempts_event ON webhook_attempts (event_id);
)sql"},
      {6, "payments",
       R"sql(
CREATE TABLE app_openids (
  app_id TEXT NOT NULL REFERENCES apps(id),
  openid TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  created_at BIGINT NOT NULL,
  PRIMARY KEY (app_id, openid)
);
CREATE TABLE pay_orders (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps(id),
  out_trade_no TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
  description TEXT NOT NULL,
  creator_id TEXT,
  video_id TEXT,
  status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'closed')),
  expires_at BIGINT,
  created_at BIGINT NOT NULL,
  paid_at BIGINT,
  UNIQUE (app_id, out_trade_no)
);
CREATE INDEX pay_orders_user ON pay_orders (user_id, id);
CREATE TABLE wallets (
  user_id TEXT PRIMARY KEY REFERENCES users(id),
  balance_fen BIGINT NOT NULL CHECK (balance_fen >= 0),
  updated_at BIGINT NOT NULL
);
)sql"},
      // Search (host/search): documents as space-joined tokens of host/search/tokenizer.h.
      // SQLite: FTS5 over the tokens, a stable rowid per document key in search_doc_ids.
      // PostgreSQL: a tsvector ('simple' keeps the pre-tokenized bigrams) under a GIN index.
      {7, "search_docs",
       R"sql(
CREATE VIRTUAL TABLE search_docs USING fts5(doc_key UNINDEXED, kind UNINDEXED, app_id UNINDEXED,
  ref_id UNINDEXED, tokens, tokenize = 'unicode61 remove_diacritics 0');
CREATE TABLE search_doc_ids (
  id INTEGER PRIMARY KEY,
  doc_key TEXT NOT NULL UNIQUE
);
)sql",
       R"sql(
CREATE TABLE search_docs (
  doc_key TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('deal', 'video')),
  app_id TEXT NOT NULL,
  ref_id TEXT NOT NULL,
  tokens TEXT NOT NULL,
  tsv tsvector NOT NULL
);
CREATE INDEX search_docs_tsv ON search_docs USING GIN (tsv);
)sql"},
      // Refunds (host/pay/refunds.h): refunded_fen is the running total the conditional
      // update caps at amount_fen; (app_id, out_refund_no) makes a retried refund the same one.
      {8, "pay_refunds",
       R"sql(
ALTER TABLE pay_orders ADD COLUMN refunded_fen BIGINT NOT NULL DEFAULT 0;
CREATE TABLE pay_refunds (
  id TEXT PRIMARY KEY,
  app_id TEXT NOT NULL REFERENCES apps(id),
  pay_order_id TEXT NOT NULL REFERENCES pay_orders(id),
  out_refund_no TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
  reason TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('succeeded')),
  created_at BIGINT NOT NULL,
  UNIQUE (app_id, out_refund_no)
);
CREATE INDEX pay_refunds_pay_order ON pay_refunds (pay_order_id);
)sql"},
      // Ledger (host/ledger): accounts, entries, postings; redemptions the apps report;
      // what a pay order needs for commission. Existing wallets and paid pay orders get
      // their opening and payment entries so the ledger agrees with them from the start.
      {9, "ledger", kLedgerSqlite.c_str(), kLedgerPg.c_str()},
      // Content (host/content): likes per user (the counter on videos follows the rows),
      // an edit time, and indexes for the feed's (created_at, id) order overall, per city
      // and per creator.
      {10, "content_likes_feed",
       R"sql(
CREATE TABLE video_likes (
  video_id TEXT NOT NULL REFERENCES videos(id),
  user_id TEXT NOT NULL REFERENCES users(id),
  created_at BIGINT NOT NULL,
  PRIMARY KEY (video_id, user_id)
);
CREATE INDEX video_likes_user ON video_likes (user_id, video_id);
ALTER TABLE videos ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE videos SET updated_at = created_at;
CREATE INDEX videos_feed_time ON videos (status, created_at, id);
CREATE INDEX videos_feed_city ON videos (status, city, created_at, id);
CREATE INDEX videos_creator_time ON videos (creator_id, status, created_at, id);
)sql"},
      {12, "job_leases",
       R"sql(
CREATE TABLE job_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0,
  last_started_at BIGINT,
  last_run_at BIGINT,
  last_success_at BIGINT,
  last_error TEXT NOT NULL DEFAULT '',
  runs BIGINT NOT NULL DEFAULT 0,
  failures BIGINT NOT NULL DEFAULT 0
);
)sql"},
      // Discovery (host/search): the stores of synced deals for nearby, and the campaigns
      // apps register so their keywords answer search with the campaign first. SQLite keeps
      // an R*Tree over geo_stores' rowids; PostgreSQL a btree on (lat, lng) for a
      // bounding-box scan (no extension needed). Keywords are kept tokenized (tokenizer.h
      // QueryTokens, space-joined) so a query matches its keyword by equality.
      {11, "discovery",
       R"sql(
CREATE TABLE geo_stores (
  id INTEGER PRIMARY KEY,
  app_id TEXT NOT NULL,
  deal_id TEXT NOT NULL,
  store_id TEXT NOT NULL,
  name TEXT NOT NULL,
  address TEXT NOT NULL,
  lat DOUBLE PRECISION NOT NULL,
  lng DOUBLE PRECISION NOT NULL,
  UNIQUE (app_id, deal_id, store_id)
);
CREATE VIRTUAL TABLE geo_stores_rtree USING rtree(id, min_lat, max_lat, min_lng, max_lng);
CREATE TABLE app_campaigns (
  app_id TEXT NOT NULL REFERENCES apps(id),
  slug TEXT NOT NULL,
  title TEXT NOT NULL,
  keywords TEXT NOT NULL,
  deal_ids TEXT NOT NULL,
  starts_at BIGINT NOT NULL,
  ends_at BIGINT NOT NULL,
  status TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (app_id, slug)
);
CREATE TABLE campaign_keywords (
  keyword TEXT NOT NULL,
  app_id TEXT NOT NULL,
  slug TEXT NOT NULL,
  PRIMARY KEY (keyword, app_id, slug)
);
CREATE INDEX campaign_keywords_campaign ON campaign_keywords (app_id, slug);
)sql",
       R"sql(
CREATE TABLE geo_stores (
  id BIGSERIAL PRIMARY KEY,
  app_id TEXT NOT NULL,
  deal_id TEXT NOT NULL,
  store_id TEXT NOT NULL,
  name TEXT NOT NULL,
  address TEXT NOT NULL,
  lat DOUBLE PRECISION NOT NULL,
  lng DOUBLE PRECISION NOT NULL,
  UNIQUE (app_id, deal_id, store_id)
);
CREATE INDEX geo_stores_lat_lng ON geo_stores (lat, lng);
CREATE TABLE app_campaigns (
  app_id TEXT NOT NULL REFERENCES apps(id),
  slug TEXT NOT NULL,
  title TEXT NOT NULL,
  keywords TEXT NOT NULL,
  deal_ids TEXT NOT NULL,
  starts_at BIGINT NOT NULL,
  ends_at BIGINT NOT NULL,
  status TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (app_id, slug)
);
CREATE TABLE campaign_keywords (
  keyword TEXT NOT NULL,
  app_id TEXT NOT NULL,
  slug TEXT NOT NULL,
  PRIMARY KEY (keyword, app_id, slug)
);
CREATE INDEX campaign_keywords_campaign ON campaign_keywords (app_id, slug);
)sql"},
      // Receivables of settled merchants and creators after refunds (host/ledger).
      {13, "ledger_receivables", kReceivablesSqlite, kReceivablesPg},
      // Search ranked by rowid (host/search/search.cpp): on SQLite each document's FTS5
      // rowid becomes its static rank and it carries city and category tokens; nothing
      // reads positions or column sizes any more (no bm25, one-token phrases), so FTS5
      // keeps neither (detail=none, columnsize=0). The index is rebuilt: emptied here, refilled by the
      // backfill at the next start (BackfillSearchDocs, in pages). PostgreSQL's index is unchanged.
      {14, "search_rank_rowids",
       R"sql(
DROP TABLE search_docs;
DROP TABLE search_doc_ids;
CREATE VIRTUAL TABLE search_docs USING fts5(doc_key UNINDEXED, kind UNINDEXED, app_id UNINDEXED,
  ref_id UNINDEXED, tokens, tokenize = 'unicode61 remove_diacritics 0', detail = none, columnsize = 0);
CREATE TABLE search_doc_ids (
  id INTEGER PRIMARY KEY,
  doc_key TEXT NOT NULL UNIQUE
);
DELETE FROM meta WHERE key = 'search_backfilled';
)sql",
       "SELECT 1;"},
      // Nearby by category (host/search/nearby.cpp): the geo index prunes by the deal's
      // category. SQLite's R*Tree gets a third dimension holding the category's code as
      // [code, code + 0.5] (nearby.cpp CategoryCode; 0 for any other category), rebuilt
      // here from app_deals; PostgreSQL keeps the category on the row with a btree on
      // (category, lat, lng). Measured on 1,000,000 stores: see bench/NOTES.md (Nearby).
      {15, "geo_category",
       R"sql(
DROP TABLE geo_stores_rtree;
CREATE VIRTUAL TABLE geo_stores_rtree USING rtree(id, min_lat, max_lat, min_lng, max_lng, min_cat, max_cat);
INSERT INTO geo_stores_rtree (id, min_lat, max_lat, min_lng, max_lng, min_cat, max_cat)
SELECT id, lat, lat, lng, lng, code, code + 0.5 FROM (
  SELECT g.id, g.lat, g.lng, CASE d.category WHEN 'catering' THEN 1 WHEN 'hotel' THEN 2
    WHEN 'homestay' THEN 3 WHEN 'scenic' THEN 4 WHEN 'leisure' THEN 5 WHEN 'beauty' THEN 6
    WHEN 'script_murder' THEN 7 ELSE 0 END AS code
  FROM geo_stores g LEFT JOIN app_deals d ON d.app_id = g.app_id AND d.deal_id = g.deal_id
  ORDER BY g.id);
)sql",
       R"sql(
ALTER TABLE geo_stores ADD COLUMN category TEXT NOT NULL DEFAULT '';
UPDATE geo_stores g SET category = d.category FROM app_deals d
  WHERE d.app_id = g.app_id AND d.deal_id = g.deal_id;
CREATE INDEX geo_stores_category_lat_lng ON geo_stores (category, lat, lng);
)sql"},
      // Search with the searcher's position (host/search/search.cpp): on SQLite the position
      // of each located deal document under its FTS5 rowid (videos and deals without one have
      // no row), so ranking matches by distance reads this small table, not every matching
      // deal. PostgreSQL is unchanged.
      {16, "search_doc_positions",
       R"sql(
CREATE TABLE search_doc_positions (
  id INTEGER PRIMARY KEY,
  lat REAL NOT NULL,
  lng REAL NOT NULL
);
INSERT INTO search_doc_positions (id, lat, lng)
  SELECT i.id, d.lat, d.lng FROM app_deals d JOIN search_doc_ids i ON i.doc_key = d.app_id || ':' || d.deal_id
  WHERE d.lat IS NOT NULL AND d.lng IS NOT NULL ORDER BY i.id;
)sql",
       "SELECT 1;"},
      // Search on PostgreSQL stops at the page (host/search/search.cpp): each document gets
      // the static rank SQLite keeps as its FTS5 rowid (length, then sales descending, then
      // indexing order) under a btree, and its tsvector the city and category tokens, so
      // `tsv @@ query ORDER BY rank LIMIT n` walks the rank index and stops instead of
      // scoring every match with ts_rank. The index is rebuilt: emptied here, refilled by
      // the backfill at the next start (BackfillSearchDocs, in pages), as v14 did on SQLite.
      // SQLite is unchanged.
      {17, "search_pg_rank", "SELECT 1;",
       R"sql(
TRUNCATE search_docs;
ALTER TABLE search_docs ADD COLUMN rank BIGINT NOT NULL;
CREATE INDEX search_docs_rank ON search_docs (rank, doc_key);
DELETE FROM meta WHERE key = 'search_backfilled';
)sql"},
      // A pay order created with Idempotency-Key = out_trade_no keeps the key's request
      // fingerprint itself (host/pay/pay_orders.h): no separate idempotency row.
      {18, "pay_order_fingerprint", "ALTER TABLE pay_orders ADD COLUMN request_fingerprint TEXT;"},
      // The ids of geo_stores rows each change of SQLite's geo index touched, in commit
      // order (one writer), so every node's in-memory copy (host/search/geo_point_index.h)
      // follows changes made by any node; the oldest are pruned. PostgreSQL is unchanged.
      {19, "geo_changes", R"sql(
CREATE TABLE geo_changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id INTEGER NOT NULL
);
)sql",
       "SELECT 1;"},
      // Fewer index writes per payment (bench/NOTES.md, purchases): no query reads ledger
      // entries by business day, by time or by pay order (entries are found by (kind, ref) or
      // through their postings' account; reconciliation and settlement scan), so every entry
      // wrote three index rows nobody used.
      {20, "ledger_entries_unused_indexes",
       "DROP INDEX ledger_entries_day;\nDROP INDEX ledger_entries_time;\nDROP INDEX "
       "ledger_entries_pay_order;\n"},
      // The FTS5 rowids each change of SQLite's search index wrote or removed (the document
      // and its position), in commit order (one writer), so every node's in-memory copy of
      // the positions (host/search/search_position_index.h) follows changes made by any node,
      // and knows exactly which index state a snapshot holds; the oldest are pruned.
      // PostgreSQL is unchanged.
      {21, "search_doc_changes", R"sql(
CREATE TABLE search_doc_changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id INTEGER NOT NULL
);
)sql",
       "SELECT 1;"},
  };
  return kMigrations;
}

}  // namespace hutong::host
