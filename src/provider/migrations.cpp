// The provider's schema, one migration per change; never edit a released one.
#include "protocol/idempotency.h"
#include "provider/provider.h"

namespace hutong::provider {

const std::vector<storage::Migration>& ProviderMigrations() {
  static const std::vector<storage::Migration> kMigrations = {
      {1, "catalog",
       R"sql(
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE brands (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  logo_url TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE TABLE stores (
  id TEXT PRIMARY KEY,
  brand_id TEXT NOT NULL REFERENCES brands(id),
  name TEXT NOT NULL,
  category TEXT NOT NULL,
  city TEXT NOT NULL,
  address TEXT NOT NULL,
  lat DOUBLE PRECISION NOT NULL,
  lng DOUBLE PRECISION NOT NULL,
  hours TEXT NOT NULL,
  phone TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE INDEX stores_brand ON stores (brand_id);
CREATE TABLE deals (
  id TEXT PRIMARY KEY,
  brand_id TEXT NOT NULL REFERENCES brands(id),
  type TEXT NOT NULL CHECK (type IN ('set_meal', 'voucher', 'multi_use', 'reservation')),
  category TEXT NOT NULL,
  city TEXT NOT NULL,
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  image_url TEXT NOT NULL DEFAULT '',
  price_fen BIGINT NOT NULL CHECK (price_fen > 0),
  original_price_fen BIGINT NOT NULL,
  face_value_fen BIGINT,
  uses INTEGER NOT NULL DEFAULT 1 CHECK (uses >= 1),
  items TEXT NOT NULL DEFAULT '[]',
  stock_total BIGINT NOT NULL CHECK (stock_total >= 0),
  stock_left BIGINT NOT NULL CHECK (stock_left >= 0),
  sold BIGINT NOT NULL DEFAULT 0,
  valid_from BIGINT NOT NULL,
  valid_to BIGINT NOT NULL,
  usage_rules TEXT NOT NULL DEFAULT '',
  refund_policy TEXT NOT NULL CHECK (refund_policy IN ('anytime', 'no_refund')),
  commission_bps INTEGER NOT NULL CHECK (commission_bps BETWEEN 0 AND 10000),
  per_user_limit INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'offline')),
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX deals_brand ON deals (brand_id);
CREATE INDEX deals_list ON deals (status, category, city, id);
CREATE INDEX deals_list_city ON deals (status, city, id);
CREATE TABLE deal_stores (
  deal_id TEXT NOT NULL REFERENCES deals(id),
  store_id TEXT NOT NULL REFERENCES stores(id),
  PRIMARY KEY (deal_id, store_id)
);
CREATE INDEX deal_stores_store ON deal_stores (store_id);
CREATE TABLE deal_slots (
  deal_id TEXT NOT NULL REFERENCES deals(id),
  slot TEXT NOT NULL,
  starts_at BIGINT NOT NULL,
  stock_total BIGINT NOT NULL CHECK (stock_total >= 0),
  stock_left BIGINT NOT NULL CHECK (stock_left >= 0),
  PRIMARY KEY (deal_id, slot)
);
CREATE TABLE staff (
  id TEXT PRIMARY KEY,
  account TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('merchant', 'ops')),
  brand_id TEXT REFERENCES brands(id),
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE staff_sessions (
  token_hash TEXT PRIMARY KEY,
  staff_id TEXT NOT NULL REFERENCES staff(id),
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);
CREATE TABLE campaigns (
  id TEXT PRIMARY KEY,
  slug TEXT NOT NULL UNIQUE,
  title TEXT NOT NULL,
  keywords TEXT NOT NULL,
  starts_at BIGINT NOT NULL,
  ends_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  CHECK (ends_at > starts_at)
);
CREATE TABLE campaign_deals (
  campaign_id TEXT NOT NULL REFERENCES campaigns(id),
  deal_id TEXT NOT NULL REFERENCES deals(id),
  campaign_price_fen BIGINT NOT NULL CHECK (campaign_price_fen > 0),
  stock_total BIGINT NOT NULL CHECK (stock_total >= 0),
  stock_left BIGINT NOT NULL CHECK (stock_left >= 0),
  per_user_limit INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (campaign_id, deal_id)
);
)sql"},
      {3, "miniprogram_users_webhooks",
       R"sql(
CREATE TABLE mp_users (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  openid TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (host, openid)
);
CREATE TABLE mp_sessions (
  token_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES mp_users(id),
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX mp_sessions_user ON mp_sessions (user_id);
CREATE TABLE webhook_events (
  host TEXT NOT NULL,
  event_id TEXT NOT NULL,
  type TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (host, event_id)
);
)sql"},
      {2, "idempotency_keys", protocol::kIdempotencyMigrationSql},
      {4, "orders_vouchers",
       R"sql(
CREATE TABLE orders (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES mp_users(id),
  host TEXT NOT NULL,
  deal_id TEXT NOT NULL REFERENCES deals(id),
  slot TEXT,
  campaign_id TEXT,
  quantity INTEGER NOT NULL CHECK (quantity >= 1),
  unit_price_fen BIGINT NOT NULL CHECK (unit_price_fen > 0),
  amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
  status TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'cancelled')),
  attribution_token TEXT,
  pay_order_id TEXT,
  cashier_url TEXT,
  expires_at BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  paid_at BIGINT
);
CREATE INDEX orders_user ON orders (user_id, id);
CREATE INDEX orders_user_deal ON orders (user_id, deal_id, status);
CREATE INDEX orders_pending ON orders (status, expires_at);
CREATE TABLE vouchers (
  id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders(id),
  code TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('unused', 'redeemed', 'refunding', 'refunded', 'expired')),
  uses_total INTEGER NOT NULL CHECK (uses_total >= 1),
  uses_left INTEGER NOT NULL CHECK (uses_left >= 0),
  valid_to BIGINT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX vouchers_code ON vouchers (code);
CREATE INDEX vouchers_order ON vouchers (order_id);
)sql"},
      {5, "redemption",
       R"sql(
CREATE TABLE verify_tokens (
  token_hash TEXT PRIMARY KEY,
  staff_id TEXT NOT NULL REFERENCES staff(id),
  store_id TEXT NOT NULL REFERENCES stores(id),
  order_id TEXT NOT NULL REFERENCES orders(id),
  expires_at BIGINT NOT NULL,
  used_at BIGINT,
  voucher_ids TEXT,
  created_at BIGINT NOT NULL
);
CREATE TABLE redemptions (
  id TEXT PRIMARY KEY,
  voucher_id TEXT NOT NULL REFERENCES vouchers(id),
  order_id TEXT NOT NULL REFERENCES orders(id),
  store_id TEXT NOT NULL REFERENCES stores(id),
  staff_id TEXT NOT NULL REFERENCES staff(id),
  verify_token_hash TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('redeemed', 'reversed')),
  redeemed_at BIGINT NOT NULL,
  cancel_deadline BIGINT NOT NULL,
  reversed_at BIGINT
);
CREATE INDEX redemptions_token ON redemptions (verify_token_hash);
CREATE INDEX redemptions_voucher ON redemptions (voucher_id);
CREATE TABLE redemption_audit (
  id TEXT PRIMARY KEY,
  staff_id TEXT NOT NULL,
  store_id TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('prepare', 'redeem', 'reverse')),
  subject TEXT NOT NULL,
  outcome TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX redemption_audit_store ON redemption_audit (store_id, at);
)sql"},
      // Refunds (provider/refunds): one row per refund of an order, the vouchers it covers
      // and the amount of each. status: awaiting_merchant → requested → succeeded, with
      // failed (host call failed, retried from next_attempt_at) and rejected.
      {6, "refunds",
       R"sql(
CREATE TABLE refunds (
  id TEXT PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders(id),
  user_id TEXT NOT NULL REFERENCES mp_users(id),
  host TEXT NOT NULL,
  brand_id TEXT NOT NULL REFERENCES brands(id),
  pay_order_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('user', 'expiry', 'after_sale', 'failed_issuance')),
  status TEXT NOT NULL CHECK (status IN ('awaiting_merchant', 'requested', 'failed', 'succeeded', 'rejected')),
  amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
  reason TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT,
  last_error TEXT NOT NULL DEFAULT '',
  host_refund_id TEXT,
  decided_by TEXT,
  decided_at BIGINT,
  created_at BIGINT NOT NULL,
  succeeded_at BIGINT
);
CREATE INDEX refunds_order ON refunds (order_id, id);
CREATE INDEX refunds_due ON refunds (status, next_attempt_at);
CREATE INDEX refunds_brand ON refunds (brand_id, status, id);
CREATE TABLE refund_vouchers (
  refund_id TEXT NOT NULL REFERENCES refunds(id),
  voucher_id TEXT NOT NULL REFERENCES vouchers(id),
  amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
  prior_status TEXT NOT NULL,
  PRIMARY KEY (refund_id, voucher_id)
);
CREATE INDEX refund_vouchers_voucher ON refund_vouchers (voucher_id);
CREATE INDEX vouchers_expiry ON vouchers (status, valid_to);
)sql"},
      // What each redemption was worth (for the host's ledger) and the outbox of redemption
      // reports to the hosts, written in the redeem/reverse transaction.
      {7, "redemption_reports",
       R"sql(
ALTER TABLE redemptions ADD COLUMN amount_fen BIGINT;
CREATE TABLE redemption_outbox (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('redeemed', 'reversed')),
  redemption_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  last_error TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  delivered_at BIGINT
);
CREATE INDEX redemption_outbox_due ON redemption_outbox (status, next_attempt_at);
)sql"},
      {10, "job_leases",
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
      // Discovery: what each connected host must be told (deal and campaign syncs), one row
      // per (host, kind, ref) so repeated changes collapse into one delivery. host '*' is
      // "every connected host", expanded by the delivery job; version guards a row changed
      // again while its delivery was in flight.
      {9, "host_sync_outbox",
       R"sql(
CREATE TABLE host_sync_outbox (
  host TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('deal', 'campaign')),
  ref_id TEXT NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  enqueued_at BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  last_error TEXT,
  PRIMARY KEY (host, kind, ref_id)
);
CREATE INDEX host_sync_outbox_due ON host_sync_outbox (host, next_attempt_at);
CREATE INDEX campaign_deals_deal ON campaign_deals (deal_id);
)sql"},
  };
  return kMigrations;
}

}  // namespace hutong::provider
