#include "host/ledger/reconcile.h"

#include "common/clock.h"
#include "host/ledger/ledger.h"

namespace hutong::host {
using storage::Access;
using storage::Query;

namespace {

constexpr Query kPaid{
    "reconcile.paid", Access::kRead,
    "SELECT COALESCE(SUM(amount_fen), 0) FROM pay_orders WHERE paid_at IS NOT NULL AND paid_at < $1"};
// Entries in the period: everything created before the end of the day, and settlements
// for days up to it whenever they were made. Postings are summed per account kind and
// entry kind.
constexpr Query kFlows{
    "reconcile.flows", Access::kRead,
    "SELECT e.kind, a.kind, COALESCE(SUM(p.amount_fen), 0) FROM ledger_entries e "
    "JOIN ledger_postings p ON p.entry_id = e.id JOIN ledger_accounts a ON a.id = p.account_id "
    "WHERE (e.kind <> 'settlement' AND e.created_at < $1) "
    "OR (e.kind = 'settlement' AND substr(e.ref, 1, 10) <= $2) "
    "GROUP BY e.kind, a.kind"};
constexpr Query kUnbalanced{
    "reconcile.unbalanced", Access::kRead,
    "SELECT e.id, e.kind, e.ref, COALESCE(SUM(p.amount_fen), 0) FROM ledger_entries e "
    "LEFT JOIN ledger_postings p ON p.entry_id = e.id GROUP BY e.id, e.kind, e.ref "
    "HAVING COALESCE(SUM(p.amount_fen), 0) <> 0 ORDER BY e.id LIMIT 20"};
constexpr Query kEntryCount{"reconcile.entries", Access::kRead, "SELECT COUNT(*) FROM ledger_entries"};
constexpr Query kAccountMismatch{
    "reconcile.account_mismatch", Access::kRead,
    "SELECT a.id, a.balance_fen, (SELECT COALESCE(SUM(p.amount_fen), 0) FROM ledger_postings p "
    "WHERE p.account_id = a.id) AS posted FROM ledger_accounts a "
    "WHERE a.balance_fen <> (SELECT COALESCE(SUM(p.amount_fen), 0) FROM ledger_postings p WHERE p.account_id "
    "= a.id) "
    "OR (a.external = 0 AND a.balance_fen < 0 AND a.kind NOT IN ('merchant_receivable', "
    "'commission_receivable')) "
    "OR (a.balance_fen > 0 AND a.kind IN ('merchant_receivable', 'commission_receivable')) "
    "ORDER BY a.id LIMIT 20"};
constexpr Query kAccountCount{"reconcile.accounts", Access::kRead, "SELECT COUNT(*) FROM ledger_accounts"};
constexpr Query kWalletMismatch{
    "reconcile.wallet_mismatch", Access::kRead,
    "SELECT w.user_id, w.balance_fen, COALESCE(a.balance_fen, 0) FROM wallets w "
    "LEFT JOIN ledger_accounts a ON a.id = 'wallet:' || w.user_id "
    "WHERE a.id IS NULL OR a.balance_fen <> w.balance_fen ORDER BY w.user_id LIMIT 20"};
constexpr Query kWalletCount{"reconcile.wallets", Access::kRead, "SELECT COUNT(*) FROM wallets"};

std::string Fmt(Fen f) {
  return std::to_string(f);
}

}  // namespace

Result<ReconcileReport> Reconcile(storage::Db& db, const std::string& day) {
  auto range = BusinessDayRange(day);
  if (!range) return Invalid("--date must be a day as YYYY-MM-DD");
  ReconcileReport r;
  r.day = day;
  r.through_ms = range->second;
  RETURN_IF_ERROR(db.WithRead([&](storage::Tx& tx) -> Status {
    ASSIGN_OR_RETURN(auto paid, tx.Exec(kPaid, {r.through_ms}));
    r.paid = paid[0].Int(0);
    ASSIGN_OR_RETURN(auto flows, tx.Exec(kFlows, {r.through_ms, day}));
    for (const auto& f : flows) {
      const std::string& entry = f.Str(0);
      const std::string& account = f.Str(1);
      const Fen sum = f.Int(2);
      // What left or entered the platform's books: payments in, refunds back to the
      // payer, settlements out. Inside, balances by account kind.
      if (entry == "payment" && account == "clearing") r.paid_in_ledger += sum;
      if (entry == "refund" && (account == "wallet" || account == "funding")) r.refunded += sum;
      // A settlement pays out the payable less the receivable it deducts.
      if (entry == "settlement" && (account == "merchant_payable" || account == "merchant_receivable"))
        r.settled_merchants -= sum;
      if (entry == "settlement" && (account == "commission_payable" || account == "commission_receivable"))
        r.settled_creators -= sum;
      if (account == "platform_fee") r.platform_fee += sum;
      if (account == "clearing") r.outstanding_clearing += sum;
      if (account == "merchant_payable") r.outstanding_merchants += sum;
      if (account == "commission_payable") r.outstanding_creators += sum;
      if (account == "merchant_receivable" || account == "commission_receivable")
        r.outstanding_receivables += sum;
    }
    if (r.paid != r.paid_in_ledger) {
      r.problems.push_back("pay orders paid " + Fmt(r.paid) + " fen but the ledger's payments are " +
                           Fmt(r.paid_in_ledger) + " fen");
    }
    const Fen right = r.refunded + r.settled() + r.outstanding();
    if (r.paid != right) {
      r.problems.push_back("paid " + Fmt(r.paid) + " ≠ refunded + settled + outstanding " + Fmt(right) +
                           " (off by " + Fmt(r.paid - right) + " fen)");
    }
    ASSIGN_OR_RETURN(auto unbalanced, tx.Exec(kUnbalanced));
    for (const auto& u : unbalanced) {
      r.problems.push_back("entry " + u.Str(0) + " (" + u.Str(1) + " " + u.Str(2) + ") sums to " +
                           Fmt(u.Int(3)) + " fen, not 0");
    }
    ASSIGN_OR_RETURN(auto mismatched, tx.Exec(kAccountMismatch));
    for (const auto& a : mismatched) {
      r.problems.push_back("account " + a.Str(0) + " holds " + Fmt(a.Int(1)) + " fen; its postings sum to " +
                           Fmt(a.Int(2)));
    }
    ASSIGN_OR_RETURN(auto wallets, tx.Exec(kWalletMismatch));
    for (const auto& w : wallets) {
      r.problems.push_back("wallet of " + w.Str(0) + " holds " + Fmt(w.Int(1)) + " fen; the ledger says " +
                           Fmt(w.Int(2)));
    }
    ASSIGN_OR_RETURN(auto entries, tx.Exec(kEntryCount));
    r.entries = entries[0].Int(0);
    ASSIGN_OR_RETURN(auto accounts, tx.Exec(kAccountCount));
    r.accounts = accounts[0].Int(0);
    ASSIGN_OR_RETURN(auto wallet_count, tx.Exec(kWalletCount));
    r.wallets = wallet_count[0].Int(0);
    return Ok();
  }));
  return r;
}

std::string FormatReconcileReport(const ReconcileReport& r) {
  std::string out;
  out += "reconcile " + r.day + " (business day, UTC+8; through " + FormatRfc3339(r.through_ms) + ")\n";
  out += "paid         " + Fmt(r.paid) + " fen\n";
  out += "refunded     " + Fmt(r.refunded) + " fen\n";
  out += "settled      " + Fmt(r.settled()) + " fen (merchants " + Fmt(r.settled_merchants) + ", creators " +
         Fmt(r.settled_creators) + ", platform fee " + Fmt(r.platform_fee) + ")\n";
  out += "outstanding  " + Fmt(r.outstanding()) + " fen (clearing " + Fmt(r.outstanding_clearing) +
         ", merchant payable " + Fmt(r.outstanding_merchants) + ", commission payable " +
         Fmt(r.outstanding_creators) + ", receivables " + Fmt(r.outstanding_receivables) + ")\n";
  out += "ledger       " + std::to_string(r.entries) + " entries, " + std::to_string(r.accounts) +
         " accounts, " + std::to_string(r.wallets) + " wallets checked\n";
  if (r.clean()) {
    out += "clean: paid = refunded + settled + outstanding, every entry balances, every balance agrees\n";
  } else {
    for (const auto& p : r.problems) out += "PROBLEM: " + p + "\n";
    out += "NOT clean: " + std::to_string(r.problems.size()) + " problem(s)\n";
  }
  return out;
}

}  // namespace hutong::host
