// The host's double-entry ledger: every movement of money is one journal entry whose
// postings sum to zero, posted inside the transaction of the change it records.
//
// Sign convention: a posting's amount is what the platform owes the account's holder
// more (+) or less (-). User wallets, payment clearing (one account per pay order),
// merchant payable (per app and brand), creator commission payable and platform fee
// revenue are such accounts and never go below zero. The two external accounts
// (sandbox funding, payouts) mirror money outside the platform and may. Receivables
// (per merchant and per creator) are what a holder owes the platform back: a refund of
// money already settled to them; they never go above zero, and the holder's next
// settlement deducts them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/money.h"
#include "common/result.h"
#include "storage/db.h"

namespace hutong::host {

enum class AccountKind {
  kWallet,                // wallet:<user_id>
  kClearing,              // clearing:<pay_order_id>: money paid, not yet earned or refunded
  kMerchantPayable,       // merchant:<app_id>:<brand_id>
  kCommissionPayable,     // creator:<creator_id>
  kPlatformFee,           // platform_fee
  kFunding,               // funding:sandbox, where sandbox top-ups come from
  kPayout,                // payout: money settled out to merchants and creators
  kMerchantReceivable,    // receivable:merchant:<app_id>:<brand_id>
  kCommissionReceivable,  // receivable:creator:<creator_id>
};

struct LedgerAccount {
  std::string id;
  AccountKind kind;
};

LedgerAccount WalletAccount(const std::string& user_id);
LedgerAccount ClearingAccount(const std::string& pay_order_id);
LedgerAccount MerchantAccount(const std::string& app_id, const std::string& brand_id);
LedgerAccount CreatorAccount(const std::string& creator_id);
LedgerAccount PlatformFeeAccount();
LedgerAccount SandboxFundingAccount();
LedgerAccount PayoutAccount();
// The receivable that goes with a merchant or creator payable; nullopt for other kinds.
std::optional<LedgerAccount> ReceivableOf(const LedgerAccount& payable);
const char* AccountKindName(AccountKind kind);

struct Posting {
  LedgerAccount account;
  Fen amount_fen = 0;
};

// Entry kinds: topup, payment, redemption, reversal, refund, refund_reversal, settlement.
struct LedgerEntry {
  std::string kind;
  std::string ref;  // (kind, ref) is unique: posting it again is a no-op
  std::optional<std::string> pay_order_id;
  std::vector<Posting> postings;
};

// The platform's fee on each redeemed fen, before the merchant's share.
inline constexpr int64_t kPlatformFeeBps = 200;

// Posts `entry` in the caller's transaction. Postings to one account are summed first;
// zero postings are dropped. Returns true when posted now, false when (kind, ref) was
// posted before (nothing changes). Postings that do not sum to zero → kInternal (a bug
// of the caller); a posting that would take a non-external account below zero (a
// receivable above zero) →
// kConflict, checked by a conditional UPDATE per account (in account-id order, so
// concurrent entries never deadlock), and the caller rolls back.
Result<bool> PostEntry(storage::Tx& tx, const LedgerEntry& entry, int64_t now_ms);

// PostEntry for an entry whose (kind, ref) cannot have been posted before, because the
// caller's transaction has just taken the state change it records (a pay order's pending →
// paid). Its statements are queued (storage::Tx::Queue: on PostgreSQL they ride with the
// transaction's next statement, no round trip of their own), with the same checks, which
// then fail the transaction at its next statement or commit: a posting beyond its
// account's bound → kConflict, the entry found posted after all → kInternal (a bug).
Status QueueNewEntry(storage::Tx& tx, const LedgerEntry& entry, int64_t now_ms);

// The postings of an already posted entry, or an empty list.
Result<std::vector<Posting>> EntryPostings(storage::Tx& tx, const std::string& kind, const std::string& ref);

// Current balance of an account (0 when it has never been posted to).
Result<Fen> AccountBalance(storage::Tx& tx, const std::string& account_id);

// The same, read with the account's row locked until the transaction ends (SELECT … FOR
// UPDATE on PostgreSQL; SQLite's single writer already serialises every write
// transaction), so what is decided from the balance still holds when it is posted.
// Callers lock several accounts in account-id order, the order PostEntry updates them
// in, so concurrent entries never deadlock.
Result<Fen> LockedAccountBalance(storage::Tx& tx, const std::string& account_id);

// The business day (UTC+8, "YYYY-MM-DD") a time belongs to, and the half-open range
// [start, end) of a business day in unix ms; nullopt for a malformed date.
std::string BusinessDay(int64_t unix_ms);
std::optional<std::pair<int64_t, int64_t>> BusinessDayRange(const std::string& day);

}  // namespace hutong::host
