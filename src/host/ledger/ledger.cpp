#include "host/ledger/ledger.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>

#include "common/ids.h"

namespace hutong::host {
using storage::Access;
using storage::Query;

namespace {

constexpr int64_t kUtc8OffsetMs = 8LL * 3600 * 1000;
constexpr int64_t kDayMs = 24LL * 3600 * 1000;

constexpr Query kInsertEntry{
    "ledger.insert_entry", Access::kWrite,
    "INSERT INTO ledger_entries (id, kind, ref, pay_order_id, business_day, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, ref) DO NOTHING"};
// The balance moves only if it stays at or above zero (at or below for receivables;
// external accounts excepted). The condition is re-checked on the locked row, so
// concurrent entries cannot overdraw it.
constexpr Query kMoveBalance{
    "ledger.move_balance", Access::kWrite,
    "UPDATE ledger_accounts SET balance_fen = balance_fen + $2 "
    "WHERE id = $1 AND (external = 1 "
    "OR (kind IN ('merchant_receivable', 'commission_receivable') AND balance_fen + $2 <= 0) "
    "OR (kind NOT IN ('merchant_receivable', 'commission_receivable') "
    "AND balance_fen + $2 >= 0))"};
// A movement that can never break the account's bound (a credit to an ordinary or external
// account, a debit to a receivable) creates the account if missing and moves its balance in
// one statement; the bound is still re-checked on an existing row. Other movements need the
// account to exist already (kMoveBalance): a new account at zero could not take them anyway.
constexpr Query kCreateOrMove{
    "ledger.create_or_move", Access::kWrite,
    "INSERT INTO ledger_accounts (id, kind, balance_fen, external, created_at) VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT (id) DO UPDATE SET balance_fen = ledger_accounts.balance_fen + excluded.balance_fen "
    "WHERE ledger_accounts.external = 1 "
    "OR (ledger_accounts.kind IN ('merchant_receivable', 'commission_receivable') "
    "AND ledger_accounts.balance_fen + excluded.balance_fen <= 0) "
    "OR (ledger_accounts.kind NOT IN ('merchant_receivable', 'commission_receivable') "
    "AND ledger_accounts.balance_fen + excluded.balance_fen >= 0)"};
constexpr Query kInsertPosting{
    "ledger.insert_posting", Access::kWrite,
    "INSERT INTO ledger_postings (entry_id, account_id, amount_fen) VALUES ($1, $2, $3)"};
// Two postings (every payment, top-up and refund) in one statement.
constexpr Query kInsertTwoPostings{
    "ledger.insert_two_postings", Access::kWrite,
    "INSERT INTO ledger_postings (entry_id, account_id, amount_fen) VALUES ($1, $2, $3), ($1, $4, $5)"};
constexpr Query kEntryPostings{"ledger.entry_postings", Access::kRead,
                               "SELECT p.account_id, a.kind, p.amount_fen FROM ledger_entries e "
                               "JOIN ledger_postings p ON p.entry_id = e.id "
                               "JOIN ledger_accounts a ON a.id = p.account_id "
                               "WHERE e.kind = $1 AND e.ref = $2 ORDER BY p.account_id"};
constexpr Query kBalance{"ledger.balance", Access::kRead,
                         "SELECT balance_fen FROM ledger_accounts WHERE id = $1"};
constexpr Query kLockedBalance{"ledger.locked_balance", Access::kWrite,
                               "SELECT balance_fen FROM ledger_accounts WHERE id = $1",
                               "SELECT balance_fen FROM ledger_accounts WHERE id = $1 FOR UPDATE"};

bool IsExternal(AccountKind kind) {
  return kind == AccountKind::kFunding || kind == AccountKind::kPayout;
}

bool IsReceivable(AccountKind kind) {
  return kind == AccountKind::kMerchantReceivable || kind == AccountKind::kCommissionReceivable;
}

// Whether moving `amount` keeps any balance within the account's bound (see kMoveBalance).
bool AlwaysWithinBound(AccountKind kind, Fen amount) {
  return IsExternal(kind) || (IsReceivable(kind) ? amount <= 0 : amount >= 0);
}

std::optional<AccountKind> KindFromName(const std::string& name) {
  for (AccountKind k :
       {AccountKind::kWallet, AccountKind::kClearing, AccountKind::kMerchantPayable,
        AccountKind::kCommissionPayable, AccountKind::kPlatformFee, AccountKind::kFunding,
        AccountKind::kPayout, AccountKind::kMerchantReceivable, AccountKind::kCommissionReceivable}) {
    if (name == AccountKindName(k)) return k;
  }
  return std::nullopt;
}

}  // namespace

LedgerAccount WalletAccount(const std::string& user_id) {
  return {"wallet:" + user_id, AccountKind::kWallet};
}
LedgerAccount ClearingAccount(const std::string& pay_order_id) {
  return {"clearing:" + pay_order_id, AccountKind::kClearing};
}
LedgerAccount MerchantAccount(const std::string& app_id, const std::string& brand_id) {
  return {"merchant:" + app_id + ":" + brand_id, AccountKind::kMerchantPayable};
}
LedgerAccount CreatorAccount(const std::string& creator_id) {
  return {"creator:" + creator_id, AccountKind::kCommissionPayable};
}
LedgerAccount PlatformFeeAccount() {
  return {"platform_fee", AccountKind::kPlatformFee};
}
LedgerAccount SandboxFundingAccount() {
  return {"funding:sandbox", AccountKind::kFunding};
}
LedgerAccount PayoutAccount() {
  return {"payout", AccountKind::kPayout};
}
std::optional<LedgerAccount> ReceivableOf(const LedgerAccount& payable) {
  if (payable.kind == AccountKind::kMerchantPayable)
    return LedgerAccount{"receivable:" + payable.id, AccountKind::kMerchantReceivable};
  if (payable.kind == AccountKind::kCommissionPayable)
    return LedgerAccount{"receivable:" + payable.id, AccountKind::kCommissionReceivable};
  return std::nullopt;
}

const char* AccountKindName(AccountKind kind) {
  switch (kind) {
    case AccountKind::kWallet:
      return "wallet";
    case AccountKind::kClearing:
      return "clearing";
    case AccountKind::kMerchantPayable:
      return "merchant_payable";
    case AccountKind::kCommissionPayable:
      return "commission_payable";
    case AccountKind::kPlatformFee:
      return "platform_fee";
    case AccountKind::kFunding:
      return "funding";
    case AccountKind::kPayout:
      return "payout";
    case AccountKind::kMerchantReceivable:
      return "merchant_receivable";
    case AccountKind::kCommissionReceivable:
      return "commission_receivable";
  }
  return "unknown";
}

namespace {

// The entry's postings summed per account, in account-id order (the lock order of
// concurrent entries); checks that they balance.
using NetPostings = std::map<std::string, std::pair<AccountKind, Fen>>;
Result<NetPostings> Net(const LedgerEntry& entry) {
  if (entry.kind.empty() || entry.ref.empty()) return Internal("ledger entry without kind or ref");
  NetPostings net;
  Fen sum = 0;
  for (const auto& p : entry.postings) {
    auto it = net.try_emplace(p.account.id, p.account.kind, 0).first;
    if (it->second.first != p.account.kind)
      return Internal("ledger account " + p.account.id + " with two kinds");
    auto moved = AddFen(it->second.second, p.amount_fen);
    auto total = AddFen(sum, p.amount_fen);
    if (!moved || !total) return Internal("ledger entry overflows");
    it->second.second = *moved;
    sum = *total;
  }
  if (sum != 0) {
    return Internal("unbalanced ledger entry " + entry.kind + "/" + entry.ref + " (sum " +
                    std::to_string(sum) + ")");
  }
  return net;
}

std::vector<storage::Value> EntryParams(const std::string& id, const LedgerEntry& entry, int64_t now_ms) {
  return {id, entry.kind, entry.ref, storage::Opt(entry.pay_order_id), BusinessDay(now_ms), now_ms};
}

// The statement moving `account_id`'s balance by `amount` (creating the account when its
// bound cannot be crossed), which changes one row exactly when the move is allowed.
std::pair<const Query*, std::vector<storage::Value>> MoveStatement(const std::string& account_id,
                                                                   AccountKind kind, Fen amount,
                                                                   int64_t now_ms) {
  if (AlwaysWithinBound(kind, amount)) {
    return {
        &kCreateOrMove,
        {account_id, std::string(AccountKindName(kind)), amount, int64_t{IsExternal(kind) ? 1 : 0}, now_ms}};
  }
  return {&kMoveBalance, {account_id, amount}};
}

Error OutOfBound(const std::string& account_id) {
  return Error(ErrorCode::kConflict, "not enough money in the account for this movement",
               "ledger account " + account_id + " would go negative");
}

// Moves the balances of entry `id` and writes its postings: each statement run at once
// (PostEntry, whose caller sees a refusal there) or queued (QueueNewEntry).
Status WritePostings(storage::Tx& tx, const std::string& id, const NetPostings& net, int64_t now_ms,
                     bool queue) {
  const auto write = [&](const Query& q, const std::vector<storage::Value>& params,
                         std::optional<storage::Tx::Expect> expect = {}) -> Status {
    // The base Queue runs the statement at once and checks its count.
    return queue ? tx.Queue(q, params, std::move(expect)) : tx.Tx::Queue(q, params, std::move(expect));
  };
  std::vector<std::pair<const std::string*, Fen>> postings;
  postings.reserve(net.size());
  for (const auto& [account_id, kind_amount] : net) {
    const auto [kind, amount] = kind_amount;
    if (amount == 0) continue;
    auto [query, params] = MoveStatement(account_id, kind, amount, now_ms);
    RETURN_IF_ERROR(write(*query, params, storage::Tx::Expect{1, OutOfBound(account_id)}));
    postings.emplace_back(&account_id, amount);
  }
  if (postings.size() == 2) {
    return write(kInsertTwoPostings,
                 {id, *postings[0].first, postings[0].second, *postings[1].first, postings[1].second});
  }
  for (const auto& [account_id, amount] : postings) {
    RETURN_IF_ERROR(write(kInsertPosting, {id, *account_id, amount}));
  }
  return Ok();
}

}  // namespace

Result<bool> PostEntry(storage::Tx& tx, const LedgerEntry& entry, int64_t now_ms) {
  ASSIGN_OR_RETURN(NetPostings net, Net(entry));
  const std::string id = NewId("led");
  ASSIGN_OR_RETURN(auto inserted, tx.Exec(kInsertEntry, EntryParams(id, entry, now_ms)));
  if (inserted.affected == 0) return false;  // posted before
  RETURN_IF_ERROR(WritePostings(tx, id, net, now_ms, /*queue=*/false));
  return true;
}

Status QueueNewEntry(storage::Tx& tx, const LedgerEntry& entry, int64_t now_ms) {
  ASSIGN_OR_RETURN(NetPostings net, Net(entry));
  const std::string id = NewId("led");
  RETURN_IF_ERROR(tx.Queue(kInsertEntry, EntryParams(id, entry, now_ms),
                           storage::Tx::Expect{1, Internal("ledger entry " + entry.kind + "/" + entry.ref +
                                                           " was posted before")}));
  return WritePostings(tx, id, net, now_ms, /*queue=*/true);
}

Result<std::vector<Posting>> EntryPostings(storage::Tx& tx, const std::string& kind, const std::string& ref) {
  ASSIGN_OR_RETURN(auto rows, tx.Exec(kEntryPostings, {kind, ref}));
  std::vector<Posting> out;
  for (const auto& r : rows) {
    auto k = KindFromName(r.Str(1));
    if (!k) return Internal("ledger account of unknown kind " + r.Str(1));
    out.push_back(Posting{{r.Str(0), *k}, r.Int(2)});
  }
  return out;
}

Result<Fen> AccountBalance(storage::Tx& tx, const std::string& account_id) {
  ASSIGN_OR_RETURN(auto rows, tx.Exec(kBalance, {account_id}));
  return rows.empty() ? Fen{0} : rows[0].Int(0);
}

Result<Fen> LockedAccountBalance(storage::Tx& tx, const std::string& account_id) {
  ASSIGN_OR_RETURN(auto rows, tx.Exec(kLockedBalance, {account_id}));
  return rows.empty() ? Fen{0} : rows[0].Int(0);
}

std::string BusinessDay(int64_t unix_ms) {
  // Floor division so times before 1970 still land on the right day.
  int64_t shifted = unix_ms + kUtc8OffsetMs;
  int64_t days = shifted / kDayMs - ((shifted % kDayMs) < 0 ? 1 : 0);
  std::time_t t = static_cast<std::time_t>(days * 86400);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

std::optional<std::pair<int64_t, int64_t>> BusinessDayRange(const std::string& day) {
  int y = 0, m = 0, d = 0;
  char extra = 0;
  if (day.size() != 10 || std::sscanf(day.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &extra) != 3)
    return std::nullopt;
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31) return std::nullopt;
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = m - 1;
  tm.tm_mday = d;
  const int64_t midnight_utc = static_cast<int64_t>(timegm(&tm)) * 1000;
  const int64_t start = midnight_utc - kUtc8OffsetMs;
  if (BusinessDay(start) != day) return std::nullopt;  // 2026-02-30 and the like
  return std::make_pair(start, start + kDayMs);
}

}  // namespace hutong::host
