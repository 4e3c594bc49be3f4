#include "provider/orders/orders.h"

#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>

#include "common/clock.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/log.h"
#include "common/random.h"
#include "provider/campaigns/hot_stock.h"
#include "provider/catalog/deal_page_cache.h"
#include "provider/hosts/host_sync.h"
#include "provider/orders/order_state.h"
#include "provider/refunds/refunds.h"

namespace hutong::provider {
namespace json = boost::json;
using storage::Access;
using storage::Query;

namespace {

// The deal, the campaign whose window contains now (cheapest first if the deal is in
// several) and, for a deal in none, the start of its next campaign (a flash sale waiting
// for its second): one statement instead of three.
constexpr Query kDealForOrder{
    "orders.deal_for_order", Access::kRead,
    "SELECT d.type, d.price_fen, d.per_user_limit, d.uses, d.valid_to, d.status, d.title, "
    "cd.campaign_id, cd.campaign_price_fen, cd.per_user_limit, "
    "(SELECT MIN(cu.starts_at) FROM campaign_deals cdu JOIN campaigns cu ON cu.id = cdu.campaign_id "
    "WHERE cdu.deal_id = d.id AND cu.starts_at > $2) "
    "FROM deals d LEFT JOIN campaign_deals cd ON cd.deal_id = d.id AND cd.campaign_id = "
    "(SELECT cdn.campaign_id FROM campaign_deals cdn JOIN campaigns cn ON cn.id = cdn.campaign_id "
    "WHERE cdn.deal_id = d.id AND cn.starts_at <= $2 AND cn.ends_at > $2 "
    "ORDER BY cdn.campaign_price_fen, cdn.campaign_id LIMIT 1) "
    "WHERE d.id = $1"};
constexpr Query kSlot{"orders.slot", Access::kRead,
                      "SELECT 1 FROM deal_slots WHERE deal_id = $1 AND slot = $2"};
// Conditional decrements: the row lock they take also serialises the per-user count below.
constexpr Query kTakeCampaignStock{"orders.take_campaign_stock", Access::kWrite,
                                   "UPDATE campaign_deals SET stock_left = stock_left - $3 "
                                   "WHERE campaign_id = $1 AND deal_id = $2 AND stock_left >= $3"};
constexpr Query kTakeDealStock{
    "orders.take_deal_stock", Access::kWrite,
    "UPDATE deals SET stock_left = stock_left - $2 WHERE id = $1 AND stock_left >= $2"};
constexpr Query kTakeSlotStock{"orders.take_slot_stock", Access::kWrite,
                               "UPDATE deal_slots SET stock_left = stock_left - $3 "
                               "WHERE deal_id = $1 AND slot = $2 AND stock_left >= $3"};
constexpr Query kReturnCampaignStock{"orders.return_campaign_stock", Access::kWrite,
                                     "UPDATE campaign_deals SET stock_left = stock_left + $3 "
                                     "WHERE campaign_id = $1 AND deal_id = $2"};
constexpr Query kReturnDealStock{"orders.return_deal_stock", Access::kWrite,
                                 "UPDATE deals SET stock_left = stock_left + $2 WHERE id = $1"};
constexpr Query kReturnSlotStock{
    "orders.return_slot_stock", Access::kWrite,
    "UPDATE deal_slots SET stock_left = stock_left + $3 WHERE deal_id = $1 AND slot = $2"};
constexpr Query kUserUnits{"orders.user_units", Access::kRead,
                           "SELECT COALESCE(SUM(quantity), 0) FROM orders "
                           "WHERE user_id = $1 AND deal_id = $2 AND status <> 'cancelled'"};
// $13, $14: the pay order when it was asked for before the reservation (else NULL and
// kAttachPayOrder sets them after).
constexpr Query kInsertOrder{"orders.insert", Access::kWrite,
                             "INSERT INTO orders (id, user_id, host, deal_id, slot, campaign_id, quantity, "
                             "unit_price_fen, amount_fen, status, "
                             "attribution_token, expires_at, created_at, pay_order_id, cashier_url) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending_payment', $10, $11, $12, "
                             "$13, $14)"};
// PostgreSQL, for an order without a per-user limit or a slot: the conditional stock
// decrement and the order insert as one statement (the insert sees the decrement's row
// only if it took the stock, so 0 rows inserted = sold out, nothing changed). Parameters
// as kInsertOrder's. SQLite has no data-modifying CTE (it would refuse to prepare these):
// there the two statements run.
constexpr Query kTakeDealStockAndInsert{
    "orders.take_deal_stock_insert", Access::kWrite,
    "WITH took AS (UPDATE deals SET stock_left = stock_left - $7 WHERE id = $4 AND stock_left >= $7 "
    "RETURNING id) "
    "INSERT INTO orders (id, user_id, host, deal_id, slot, campaign_id, quantity, unit_price_fen, "
    "amount_fen, "
    "status, attribution_token, expires_at, created_at, pay_order_id, cashier_url) "
    "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending_payment', $10, $11, $12, $13, $14 FROM took"};
constexpr Query kTakeCampaignStockAndInsert{
    "orders.take_campaign_stock_insert", Access::kWrite,
    "WITH took AS (UPDATE campaign_deals SET stock_left = stock_left - $7 "
    "WHERE campaign_id = $6 AND deal_id = $4 AND stock_left >= $7 RETURNING deal_id) "
    "INSERT INTO orders (id, user_id, host, deal_id, slot, campaign_id, quantity, unit_price_fen, "
    "amount_fen, "
    "status, attribution_token, expires_at, created_at, pay_order_id, cashier_url) "
    "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending_payment', $10, $11, $12, $13, $14 FROM took"};
constexpr Query kAttachPayOrder{"orders.attach_pay_order", Access::kWrite,
                                "UPDATE orders SET pay_order_id = $2, cashier_url = $3 WHERE id = $1"};
// One order by id, as kMarkPaidIfPending (below): on PostgreSQL the status test is written
// so that no index can take it, or a plan made with statistics of a quiet spell walks
// orders_pending instead of the primary key (EXPLAIN on the 20,000-deal set after a load,
// every order paid and analyzed: the cancel read 2,989 buffers instead of 2).
constexpr Query kOrderStatusForExpiry{
    "orders.pending_for_expiry", Access::kRead,
    "SELECT id FROM orders WHERE id = $1 AND status = 'pending_payment'",
    "SELECT id FROM orders WHERE id = $1 AND (status = 'pending_payment') IS TRUE"};
constexpr Query kOverdue{"orders.overdue", Access::kRead,
                         "SELECT id FROM orders WHERE status = 'pending_payment' AND expires_at < $1 "
                         "ORDER BY expires_at LIMIT $2"};
constexpr Query kCancel{
    "orders.cancel", Access::kWrite,
    "UPDATE orders SET status = 'cancelled' WHERE id = $1 AND status = 'pending_payment' "
    "RETURNING deal_id, slot, campaign_id, quantity",
    "UPDATE orders SET status = 'cancelled' WHERE id = $1 AND (status = 'pending_payment') IS TRUE "
    "RETURNING deal_id, slot, campaign_id, quantity"};
constexpr Query kOrder{
    "orders.get", Access::kRead,
    "SELECT o.id, o.status, o.deal_id, d.title, d.type, d.image_url, o.slot, o.quantity, "
    "o.unit_price_fen, o.amount_fen, o.pay_order_id, o.cashier_url, o.expires_at, o.created_at, "
    "o.paid_at, o.campaign_id FROM orders o JOIN deals d ON d.id = o.deal_id "
    "WHERE o.id = $1 AND o.user_id = $2"};
constexpr Query kListOrders{
    "orders.list", Access::kRead,
    "SELECT o.id, o.status, o.deal_id, d.title, d.type, d.image_url, o.slot, o.quantity, "
    "o.unit_price_fen, o.amount_fen, o.pay_order_id, o.cashier_url, o.expires_at, "
    "o.created_at, o.paid_at, o.campaign_id FROM orders o JOIN deals d ON d.id = o.deal_id "
    "WHERE o.user_id = $1 AND (CAST($2 AS TEXT) = '' OR o.id < $2) "
    "ORDER BY o.id DESC LIMIT $3"};
constexpr Query kVouchers{"orders.vouchers", Access::kRead,
                          "SELECT id, code, status, uses_total, uses_left, valid_to FROM vouchers "
                          "WHERE order_id = $1 ORDER BY id"};
constexpr Query kPaidOrder{"orders.for_payment", Access::kRead,
                           "SELECT status, amount_fen FROM orders WHERE id = $1 AND host = $2"};
// The payment's usual case in one statement: a pending order of this host and amount
// becomes paid, and what its vouchers need is read back. When it changes nothing,
// kPaidOrder says why.
// On PostgreSQL the status test is written so that no index can take it: as a plain
// `status = 'pending_payment'` the planner, whose statistics were taken when few orders
// were pending (after a quiet spell, or on a new table), rated orders_pending (status,
// expires_at) a hair cheaper than the primary key, and the cached plan then walked every
// pending order's entry, dead ones included: ≈ 900 buffer reads per payment under load
// instead of 5 (auto_explain, 20,000-deal set).
constexpr Query kMarkPaidIfPending{
    "orders.mark_paid_if_pending", Access::kWrite,
    "UPDATE orders SET status = 'paid', paid_at = $3 "
    "WHERE id = $1 AND host = $2 AND status = 'pending_payment' AND amount_fen = $4 "
    "RETURNING quantity, deal_id, (SELECT d.uses FROM deals d WHERE d.id = orders.deal_id), "
    "(SELECT d.valid_to FROM deals d WHERE d.id = orders.deal_id)",
    "UPDATE orders SET status = 'paid', paid_at = $3 "
    "WHERE id = $1 AND host = $2 AND (status = 'pending_payment') IS TRUE AND amount_fen = $4 "
    "RETURNING quantity, deal_id, (SELECT d.uses FROM deals d WHERE d.id = orders.deal_id), "
    "(SELECT d.valid_to FROM deals d WHERE d.id = orders.deal_id)"};
// The sale counted. The deal's row is also the one every reservation of the deal
// decrements: the payment takes its lock last, with the COMMIT (see HandlePaymentSucceeded).
constexpr Query kCountSold{"orders.count_sold", Access::kWrite,
                           "UPDATE deals SET sold = sold + $2 WHERE id = $1"};
// PostgreSQL: the sale counted and the deal queued for the hosts' sync (host_sync.cpp's
// enqueue for every host, "*") in one statement, so both rows' locks are taken together, last.
constexpr Query kCountSoldAndEnqueueSync{
    "orders.count_sold_and_enqueue_sync", Access::kWrite,
    "WITH sold AS (UPDATE deals SET sold = sold + $2 WHERE id = $1 RETURNING id) "
    "INSERT INTO host_sync_outbox (host, kind, ref_id, version, enqueued_at, attempts, next_attempt_at) "
    "SELECT '*', 'deal', id, 1, CAST($3 AS BIGINT), 0, CAST($3 AS BIGINT) FROM sold ON CONFLICT (host, kind, "
    "ref_id) DO UPDATE SET "
    "version = host_sync_outbox.version + 1, enqueued_at = excluded.enqueued_at, attempts = 0, "
    "next_attempt_at = excluded.next_attempt_at, last_error = NULL"};
constexpr Query kOrderStock{"orders.stock_of", Access::kRead,
                            "SELECT deal_id, slot, campaign_id FROM orders WHERE id = $1"};
constexpr Query kUncountSold{"orders.uncount_sold", Access::kWrite,
                             "UPDATE deals SET sold = sold - $2 WHERE id = $1 AND sold >= $2"};
constexpr Query kInsertVoucher{
    "orders.insert_voucher", Access::kWrite,
    "INSERT INTO vouchers (id, order_id, code, status, uses_total, uses_left, valid_to, "
    "created_at) VALUES ($1, $2, $3, 'unused', $4, $4, $5, $6) "
    "ON CONFLICT (code) DO NOTHING"};

// What an order costs at `now`, from the deal and the campaign open then; every check of
// the request that needs no stock (deal online and valid, campaign open, quantity, slot).
struct Quote {
  Fen unit_price = 0;
  Fen amount_fen = 0;
  int64_t limit = 0;  // per user; 0 = none
  std::optional<std::string> campaign_id;
  std::string description;
};

Result<Quote> QuoteOrder(storage::Tx& tx, const OrderInput& in, int64_t now) {
  ASSIGN_OR_RETURN(auto deal_rows, tx.Exec(kDealForOrder, {in.deal_id, now}));
  if (deal_rows.empty() || deal_rows[0].Str(5) != "online") return NotFound("deal not found");
  const storage::Row& deal = deal_rows[0];
  const std::string& type = deal.Str(0);
  if (deal.Int(4) <= now) return Error(ErrorCode::kConflict, "this deal is no longer valid");

  Quote q;
  q.unit_price = deal.Int(1);
  q.limit = deal.Int(2);
  if (!deal.IsNull(7)) {
    q.campaign_id = deal.Str(7);
    q.unit_price = deal.Int(8);
    if (deal.Int(9) > 0) q.limit = deal.Int(9);
  } else if (!deal.IsNull(10)) {
    // A deal waiting for its campaign does not sell before it opens; once every campaign
    // of it has ended it sells at its own price from its own stock again.
    return Error(ErrorCode::kConflict,
                 "the campaign has not started: it opens at " + FormatRfc3339Shanghai(deal.Int(10)));
  }
  const int64_t max_per_order = q.limit > 0 ? q.limit : kMaxUnitsPerOrder;
  if (in.quantity < 1 || in.quantity > max_per_order) {
    return Invalid("'quantity' must be between 1 and " + std::to_string(max_per_order));
  }
  if (type == "reservation") {
    if (!in.slot) return Invalid("'slot' is required for a reservation deal");
    ASSIGN_OR_RETURN(auto slot, tx.Exec(kSlot, {in.deal_id, *in.slot}));
    if (slot.empty()) return Invalid("unknown 'slot' for this deal");
  } else if (in.slot) {
    return Invalid("'slot' is only for reservation deals");
  }
  auto amount = MulFen(q.unit_price, in.quantity);
  if (!amount) return Invalid("amount out of range");
  q.amount_fen = *amount;
  q.description = deal.Str(6);
  if (in.quantity > 1) q.description += " x" + std::to_string(in.quantity);
  return q;
}

struct Reservation {
  std::string order_id;
  Fen amount_fen = 0;
  std::string description;
  // Set when the stock was not there and the transaction committed nothing (the PostgreSQL
  // single-statement reservation): the order was not placed.
  std::optional<Error> refusal;
  // The quote the pay order was asked with no longer holds (price or campaign changed in
  // between): nothing was written.
  bool quote_changed = false;
};

// Takes the stock and writes the order `order_id`. With `pay` (asked for before, with the
// `asked` quote) the order carries its pay order, provided the quote still holds.
Result<Reservation> Reserve(storage::Tx& tx, const MpUser& user, const OrderInput& in, int64_t now,
                            const std::string& order_id, const Quote* asked, const PayOrderCreated* pay) {
  ASSIGN_OR_RETURN(Quote q, QuoteOrder(tx, in, now));
  Reservation r{order_id, q.amount_fen, q.description, std::nullopt};
  if (asked != nullptr && (q.amount_fen != asked->amount_fen || q.campaign_id != asked->campaign_id)) {
    r.quote_changed = true;
    return r;
  }
  const int64_t limit = q.limit;
  const std::optional<std::string>& campaign_id = q.campaign_id;
  const std::vector<storage::Value> order{r.order_id,
                                          user.id,
                                          user.host,
                                          in.deal_id,
                                          storage::Opt(in.slot),
                                          storage::Opt(campaign_id),
                                          in.quantity,
                                          q.unit_price,
                                          q.amount_fen,
                                          storage::Opt(in.attribution_token),
                                          now + kOrderPaymentWindowMs,
                                          now,
                                          pay ? storage::Value(pay->pay_order_id) : storage::Null(),
                                          pay ? storage::Value(pay->cashier_url) : storage::Null()};
  Error sold_out(ErrorCode::kOutOfStock, "not enough stock left for this deal");
  if (tx.dialect() == storage::Dialect::kPostgres && limit == 0 && !in.slot) {
    // One statement takes the stock and writes the order, and the COMMIT goes with it. A
    // refusal commits an empty transaction, so it is handed back as a value, not an error
    // (ExecLast: nothing may fail after it).
    ASSIGN_OR_RETURN(auto placed,
                     tx.ExecLast(campaign_id ? kTakeCampaignStockAndInsert : kTakeDealStockAndInsert, order));
    if (placed.affected != 1) r.refusal = std::move(sold_out);
    return r;
  }
  if (in.slot) {
    ASSIGN_OR_RETURN(auto took, tx.Exec(kTakeSlotStock, {in.deal_id, *in.slot, in.quantity}));
    if (took.affected != 1) return sold_out;
  }
  if (campaign_id) {
    ASSIGN_OR_RETURN(auto took, tx.Exec(kTakeCampaignStock, {*campaign_id, in.deal_id, in.quantity}));
    if (took.affected != 1) return sold_out;
  } else {
    ASSIGN_OR_RETURN(auto took, tx.Exec(kTakeDealStock, {in.deal_id, in.quantity}));
    if (took.affected != 1) return sold_out;
  }
  if (limit > 0) {
    // Counted after the stock row is locked, so two concurrent orders of one user see
    // each other (on PostgreSQL the statement's snapshot is taken after the lock wait).
    ASSIGN_OR_RETURN(auto units, tx.Exec(kUserUnits, {user.id, in.deal_id}));
    if (units[0].Int(0) + in.quantity > limit) {
      return Error(ErrorCode::kConflict, std::string(kPerUserLimitDetail) + ": at most " +
                                             std::to_string(limit) + " of this deal per user");
    }
  }
  // The last statement: on PostgreSQL the COMMIT goes with it, so the stock row's lock is
  // held one round trip less.
  RETURN_IF_ERROR(tx.ExecLast(kInsertOrder, order));
  return r;
}

// pending_payment → cancelled, giving back exactly the stock Reserve took.
Status CancelAndRelease(storage::Tx& tx, const std::string& order_id) {
  ASSIGN_OR_RETURN(auto rows, tx.Exec(kCancel, {order_id}));
  if (rows.empty()) return Ok();  // already paid or cancelled
  const storage::Row& o = rows[0];
  const std::string deal_id = o.Str(0);
  const int64_t quantity = o.Int(3);
  ProcessHotStock().StockReturned(deal_id);
  if (!o.IsNull(1)) RETURN_IF_ERROR(tx.Exec(kReturnSlotStock, {deal_id, o.Str(1), quantity}));
  if (!o.IsNull(2)) {
    RETURN_IF_ERROR(tx.Exec(kReturnCampaignStock, {o.Str(2), deal_id, quantity}));
  } else {
    RETURN_IF_ERROR(tx.Exec(kReturnDealStock, {deal_id, quantity}));
  }
  return Ok();
}

}  // namespace

Status ReturnOrderStock(storage::Tx& tx, const std::string& order_id, int64_t units) {
  ASSIGN_OR_RETURN(auto rows, tx.Exec(kOrderStock, {order_id}));
  if (rows.empty()) return NotFound("order not found");
  const storage::Row& o = rows[0];
  const std::string deal_id = o.Str(0);
  ProcessHotStock().StockReturned(deal_id);
  if (!o.IsNull(1)) RETURN_IF_ERROR(tx.Exec(kReturnSlotStock, {deal_id, o.Str(1), units}));
  if (!o.IsNull(2)) {
    RETURN_IF_ERROR(tx.Exec(kReturnCampaignStock, {o.Str(2), deal_id, units}));
  } else {
    RETURN_IF_ERROR(tx.Exec(kReturnDealStock, {deal_id, units}));
  }
  RETURN_IF_ERROR(tx.Exec(kUncountSold, {deal_id, units}));
  return Ok();
}

namespace {

json::value OptTime(const storage::Row& r, size_t i) {
  return r.IsNull(i) ? json::value(nullptr) : json::value(FormatRfc3339(r.Int(i)));
}
json::value OptText(const storage::Row& r, size_t i) {
  return r.IsNull(i) ? json::value(nullptr) : json::value(r.Str(i));
}

Result<json::object> OrderJson(storage::Tx& tx, const storage::Row& r) {
  json::object o{
      {"order_id", r.Str(0)},
      {"status", ""},  // derived below
      {"payment_status", r.Str(1)},
      {"deal",
       json::object{{"id", r.Str(2)}, {"title", r.Str(3)}, {"type", r.Str(4)}, {"image_url", r.Str(5)}}},
      {"slot", OptText(r, 6)},
      {"quantity", r.Int(7)},
      {"unit_price_fen", r.Int(8)},
      {"amount_fen", r.Int(9)},
      {"pay_order_id", OptText(r, 10)},
      {"cashier_url", OptText(r, 11)},
      {"expires_at", FormatRfc3339(r.Int(12))},
      {"created_at", FormatRfc3339(r.Int(13))},
      {"paid_at", OptTime(r, 14)},
      {"campaign_id", OptText(r, 15)}};
  ASSIGN_OR_RETURN(auto vouchers, tx.Exec(kVouchers, {r.Str(0)}));
  ASSIGN_OR_RETURN(auto refunds, OrderRefundsJson(tx, r.Str(0)));
  OrderFacts facts{r.Str(1), {}, {}};
  Fen refunded = 0;
  for (const auto& v : vouchers) facts.voucher_status.push_back(v.Str(2));
  for (const auto& f : refunds) {
    const auto& refund = f.as_object();
    facts.refund_status.emplace_back(refund.at("status").as_string());
    if (refund.at("status").as_string() == "succeeded") refunded += refund.at("amount_fen").as_int64();
  }
  o["status"] = DeriveOrderStatus(facts);
  o["refunded_fen"] = refunded;
  o["refunds"] = std::move(refunds);
  json::array items;
  for (const auto& v : vouchers) {
    items.push_back(json::object{{"id", v.Str(0)},
                                 {"code", v.Str(1)},
                                 {"status", v.Str(2)},
                                 {"uses_total", v.Int(3)},
                                 {"uses_left", v.Int(4)},
                                 {"valid_to", FormatRfc3339(v.Int(5))}});
  }
  o["vouchers"] = std::move(items);
  return o;
}

std::string NewVoucherCode() {
  uint64_t bound = 1;
  for (int i = 0; i < kVoucherCodeDigits; ++i) bound *= 10;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*llu", kVoucherCodeDigits,
                static_cast<unsigned long long>(RandomBelow(bound)));
  return buf;
}

}  // namespace

Result<PayOrderCreated> HostPayOrderGateway::CreatePayOrder(const std::string& host,
                                                            const PayOrderRequest& req) const {
  const protocol::OpenApiClient* client = hosts_.Client(host);
  if (client == nullptr) return Error(ErrorCode::kUnavailable, "the user's host is not connected");
  json::object body{{"out_trade_no", req.out_trade_no},
                    {"amount_fen", req.amount_fen},
                    {"description", req.description},
                    {"openid", req.openid},
                    {"expires_at", FormatRfc3339(req.expires_at)}};
  if (req.attribution_token) body["attribution_token"] = *req.attribution_token;
  if (!req.deal_id.empty()) body["deal_id"] = req.deal_id;
  ASSIGN_OR_RETURN(auto answer, client->CallJson("POST", "/open/v1/pay/orders", json::serialize(body),
                                                 {{"Idempotency-Key", req.out_trade_no}}));
  if (!answer.is_object()) return Error(ErrorCode::kUnavailable, "bad answer from the host");
  const json::object& o = answer.as_object();
  auto id = o.if_contains("pay_order_id");
  auto url = o.if_contains("cashier_url");
  if (id == nullptr || !id->is_string() || url == nullptr || !url->is_string()) {
    return Error(ErrorCode::kUnavailable, "bad answer from the host");
  }
  std::string cashier(url->as_string());
  if (cashier.starts_with("/")) cashier = client->base_url() + cashier;
  return PayOrderCreated{std::string(id->as_string()), cashier};
}

Status HostPayOrderGateway::ClosePayOrder(const std::string& host, const std::string& pay_order_id) const {
  const protocol::OpenApiClient* client = hosts_.Client(host);
  if (client == nullptr) return Error(ErrorCode::kUnavailable, "the user's host is not connected");
  auto answer = client->CallJson("POST", "/open/v1/pay/orders/" + pay_order_id + "/close", "");
  if (!answer.ok()) return std::move(answer).error();
  return Ok();
}

namespace {

PayOrderRequest PayRequestFor(const MpUser& user, const OrderInput& in, const std::string& order_id,
                              Fen amount_fen, const std::string& description, int64_t now_ms) {
  return PayOrderRequest{order_id,    amount_fen,           description,
                         user.openid, in.attribution_token, now_ms + kOrderPaymentWindowMs,
                         in.deal_id};
}

// What the host's failure means for our caller: its judgement of the request itself
// (e.g. a stale attribution token) is passed on; anything else is "try again".
Error PayOrderFailure(const std::string& order_id, Error e) {
  LogWarn("pay order not created", {{"order_id", order_id}, {"error", e.detail}, {"internal", e.internal}});
  if (e.code == ErrorCode::kValidationFailed) return e;
  return Error(ErrorCode::kUnavailable, "the payment service is unavailable; try again");
}

Result<PlacedOrder> ReserveThenAskHost(storage::Db& db, const PayOrderGateway& gateway, const MpUser& user,
                                       const OrderInput& in, int64_t now_ms) {
  const std::string order_id = NewId("ord");
  ASSIGN_OR_RETURN(auto reserved, db.Write([&](storage::Tx& tx) {
    return Reserve(tx, user, in, now_ms, order_id, nullptr, nullptr);
  }));
  if (reserved.refusal) return *std::move(reserved.refusal);
  BumpCatalogVersion();  // stock changed: cached deal pages are stale
  auto created = gateway.CreatePayOrder(
      user.host, PayRequestFor(user, in, order_id, reserved.amount_fen, reserved.description, now_ms));
  if (!created.ok()) {
    Error e = PayOrderFailure(order_id, std::move(created).error());
    RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) { return CancelAndRelease(tx, order_id); }));
    BumpCatalogVersion();
    return e;
  }
  RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) -> Status {
    RETURN_IF_ERROR(tx.ExecLast(kAttachPayOrder, {order_id, created->pay_order_id, created->cashier_url}));
    return Ok();
  }));
  return PlacedOrder{order_id, "pending_payment", reserved.amount_fen, created->pay_order_id,
                     created->cashier_url};
}

// Whether a failed reservation is a refusal of the order (nothing was written, for sure),
// as opposed to a storage failure whose commit may have happened after all.
bool IsRefusal(const Error& e) {
  switch (e.code) {
    case ErrorCode::kOutOfStock:
    case ErrorCode::kConflict:
    case ErrorCode::kNotFound:
    case ErrorCode::kValidationFailed:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<PlacedOrder> PlaceOrder(storage::Db& db, const PayOrderGateway& gateway, const MpUser& user,
                               const OrderInput& in, int64_t now_ms, PayOrderTiming timing) {
  if (timing == PayOrderTiming::kAfterReservation) return ReserveThenAskHost(db, gateway, user, in, now_ms);

  // The quote from a reader: bad requests (unknown deal, quantity, slot, campaign not open)
  // are answered here, before the host is asked for anything.
  ASSIGN_OR_RETURN(Quote quote, db.Read([&](storage::Tx& tx) { return QuoteOrder(tx, in, now_ms); }));
  const std::string order_id = NewId("ord");
  auto created = gateway.CreatePayOrder(
      user.host, PayRequestFor(user, in, order_id, quote.amount_fen, quote.description, now_ms));
  if (!created.ok()) return PayOrderFailure(order_id, std::move(created).error());  // nothing reserved

  auto reserved =
      db.Write([&](storage::Tx& tx) { return Reserve(tx, user, in, now_ms, order_id, &quote, &*created); });
  std::optional<Error> refusal;
  if (!reserved.ok()) {
    // A storage failure may hide a commit that happened (PostgreSQL's connection lost in the
    // COMMIT): the pay order is left as it is, payable only if the order exists, and expires
    // with the payment window otherwise.
    if (!IsRefusal(reserved.error())) return std::move(reserved).error();
    refusal = std::move(reserved).error();
  } else if (reserved->refusal) {
    refusal = std::move(reserved->refusal);
  }
  if (refusal || reserved->quote_changed) {
    // Not placed: the pay order must never be paid. Its cashier URL was never shown to
    // anyone, so a failed close only leaves an unreachable order to expire.
    auto closed = gateway.ClosePayOrder(user.host, created->pay_order_id);
    if (!closed.ok()) {
      LogWarn("pay order of an order not placed could not be closed; it expires unpaid",
              {{"order_id", order_id},
               {"pay_order_id", created->pay_order_id},
               {"error", closed.error().detail}});
    }
    if (refusal) return *std::move(refusal);
    // The price or campaign moved between the quote and the transaction: start again the
    // careful way, with the new price.
    return ReserveThenAskHost(db, gateway, user, in, now_ms);
  }
  BumpCatalogVersion();  // stock changed: cached deal pages are stale
  return PlacedOrder{order_id, "pending_payment", reserved->amount_fen, created->pay_order_id,
                     created->cashier_url};
}

Result<int> ExpireUnpaidOrders(storage::Db& db, int64_t now_ms, int64_t limit) {
  ASSIGN_OR_RETURN(auto overdue, db.Read([&](storage::Tx& tx) {
    return tx.Exec(kOverdue, {now_ms - kUnpaidOrderGraceMs, limit});
  }));
  int cancelled = 0;
  for (const auto& row : overdue) {
    const std::string order_id = row.Str(0);
    bool released = false;
    RETURN_IF_ERROR(db.WithWrite([&](storage::Tx& tx) -> Status {
      ASSIGN_OR_RETURN(auto still_pending, tx.Exec(kOrderStatusForExpiry, {order_id}));
      if (still_pending.empty()) return Ok();  // paid or cancelled meanwhile
      released = true;
      return CancelAndRelease(tx, order_id);
    }));
    if (released) {
      ++cancelled;
      LogInfo("unpaid order expired", {{"order_id", std::string_view(order_id)}});
    }
  }
  if (cancelled > 0) BumpCatalogVersion();
  return cancelled;
}

Result<json::object> GetOrderJson(storage::Db& db, const MpUser& user, const std::string& order_id) {
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kOrder, {order_id, user.id}));
    if (rows.empty()) return NotFound("order not found");
    return OrderJson(tx, rows[0]);
  });
}

Result<json::object> ListOrdersJson(storage::Db& db, const MpUser& user, const std::string& cursor,
                                    int64_t limit) {
  if (!cursor.empty() && !IsWellFormedId(cursor, "ord")) return Invalid("'cursor' is not valid");
  return db.Read([&](storage::Tx& tx) -> Result<json::object> {
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kListOrders, {user.id, cursor, limit + 1}));
    const bool more = static_cast<int64_t>(rows.size()) > limit;
    json::array items;
    for (size_t i = 0; i < rows.size() && static_cast<int64_t>(i) < limit; ++i) {
      ASSIGN_OR_RETURN(auto o, OrderJson(tx, rows[i]));
      items.push_back(std::move(o));
    }
    json::object out;
    out["next_cursor"] = more ? json::value(items.back().as_object().at("order_id")) : json::value(nullptr);
    out["items"] = std::move(items);
    return out;
  });
}

Status HandlePaymentSucceeded(storage::Tx& tx, const std::string& host, const json::object& event,
                              int64_t now_ms) {
  // A malformed event will not improve with retries: log it and acknowledge.
  const json::value* data = event.if_contains("data");
  if (data == nullptr || !data->is_object()) {
    LogError("payment.succeeded without data", {{"host", host}});
    return Ok();
  }
  auto order_id_field = RequireString(data->as_object(), "out_trade_no", 64);
  auto amount_field = RequireInt(data->as_object(), "amount_fen", 0, INT64_MAX);
  if (!order_id_field.ok() || !amount_field.ok()) {
    LogError("malformed payment.succeeded", {{"host", host}});
    return Ok();
  }
  const std::string order_id = *order_id_field;
  const int64_t amount = *amount_field;
  ASSIGN_OR_RETURN(auto marked, tx.Exec(kMarkPaidIfPending, {order_id, host, now_ms, amount}));
  if (marked.empty()) {
    // Not a pending order of this host with this amount: find out which case it is.
    ASSIGN_OR_RETURN(auto rows, tx.Exec(kPaidOrder, {order_id, host}));
    if (rows.empty()) {
      LogError("payment for an unknown order", {{"order_id", order_id}, {"host", host}});
      return Ok();
    }
    const storage::Row& o = rows[0];
    const std::string& status = o.Str(0);
    if (status == "paid") return Ok();
    if (status != "pending_payment") {
      // Cancelled (unpaid window over, or the host was down): no vouchers, the money back.
      auto pay_order_id = OptionalString(data->as_object(), "pay_order_id", 64);
      return RefundUnissuablePayment(tx, order_id, pay_order_id.ok() ? pay_order_id->value_or("") : "",
                                     amount, now_ms);
    }
    LogError("payment amount does not match the order",
             {{"order_id", order_id}, {"amount_fen", amount}, {"order_amount_fen", o.Int(1)}});
    return Ok();
  }
  const int64_t quantity = marked[0].Int(0);
  const std::string deal_id = marked[0].Str(1);
  const int64_t uses = marked[0].Int(2);
  const int64_t valid_to = marked[0].Int(3);
  for (int64_t i = 0; i < quantity; ++i) {
    const std::string voucher_id = NewId("vch");
    bool inserted = false;
    // A collision among 10^12 codes is rare; a few retries make it vanishingly so.
    for (int attempt = 0; attempt < 16 && !inserted; ++attempt) {
      ASSIGN_OR_RETURN(auto ins, tx.Exec(kInsertVoucher,
                                         {voucher_id, order_id, NewVoucherCode(), uses, valid_to, now_ms}));
      inserted = ins.affected == 1;
    }
    if (!inserted) return Internal("could not find a free voucher code");
  }
  // Sales rank search results: hosts hear of them on the next sync (collapsed per deal).
  // Last, with the COMMIT on PostgreSQL: the deal's row lock, which reservations of the
  // deal wait for, and the deal's sync row, which every payment of the deal bumps, are held
  // for that one round trip only (a batch of events runs these last of all, ordered by deal:
  // webhook_receiver.cpp). Nothing may run after it (the webhook receiver runs the handler
  // as its transaction's last step).
  if (tx.dialect() == storage::Dialect::kPostgres) {
    RETURN_IF_ERROR(tx.ExecLast(kCountSoldAndEnqueueSync, {deal_id, quantity, now_ms}));
  } else {
    // One writer: no row locks to shorten, and the two statements cost microseconds.
    RETURN_IF_ERROR(EnqueueHostSync(tx, SyncKind::kDeal, deal_id, now_ms));
    RETURN_IF_ERROR(tx.ExecLast(kCountSold, {deal_id, quantity}));
  }
  // On SQLite before the group's commit, so a page read just before it may be cached until
  // the cache's short TTL; the sold count is informational.
  BumpCatalogVersion();
  return Ok();
}

}  // namespace hutong::provider
