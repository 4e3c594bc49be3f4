// The daily reconciliation behind `hutong reconcile --date D`: through the end of business
// day D (UTC+8), the money paid by buyers (from the pay orders) must equal what was
// refunded, settled (to merchants and creators, plus the platform's fee) and what is still
// outstanding (clearing and payables, less receivables), to the fen; and the ledger must
// be sound: every entry balances, every account's balance is the sum of its postings, no
// payable is negative, no receivable positive, and every sandbox wallet equals its ledger account.
#pragma once

#include <string>
#include <vector>

#include "common/money.h"
#include "common/result.h"
#include "storage/db.h"

namespace hutong::host {

struct ReconcileReport {
  std::string day;
  int64_t through_ms = 0;  // end of the day, exclusive
  Fen paid = 0;            // pay orders paid before the end of the day
  Fen paid_in_ledger = 0;  // payment entries of the same period
  Fen refunded = 0;
  Fen settled_merchants = 0;
  Fen settled_creators = 0;
  Fen platform_fee = 0;
  Fen outstanding_clearing = 0;
  Fen outstanding_merchants = 0;
  Fen outstanding_creators = 0;
  // What settled merchants and creators owe back for refunds after their settlement, not
  // yet deducted from a later one: ≤ 0, it lowers what is outstanding.
  Fen outstanding_receivables = 0;
  int64_t entries = 0;
  int64_t accounts = 0;
  int64_t wallets = 0;
  std::vector<std::string> problems;  // empty when clean

  Fen settled() const { return settled_merchants + settled_creators + platform_fee; }
  Fen outstanding() const {
    return outstanding_clearing + outstanding_merchants + outstanding_creators + outstanding_receivables;
  }
  bool clean() const { return problems.empty(); }
};

// Reads only. A malformed day → kValidationFailed.
Result<ReconcileReport> Reconcile(storage::Db& db, const std::string& day);

// The report as lines of text for the terminal.
std::string FormatReconcileReport(const ReconcileReport& r);

}  // namespace hutong::host
