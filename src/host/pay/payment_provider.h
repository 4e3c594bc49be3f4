// The seam where a real payment provider plugs in: the cashier asks it to charge a user
// inside the transaction that marks the pay order paid, so money and state move together.
#pragma once

#include <optional>
#include <string>

#include "common/money.h"
#include "common/result.h"
#include "host/ledger/ledger.h"
#include "storage/db.h"

namespace hutong::host {

class PaymentProvider {
 public:
  virtual ~PaymentProvider() = default;
  // Takes `amount` from the user inside `tx`, returning the user's balance left with the
  // provider when it keeps one (the sandbox wallet does; real rails would not). Not enough
  // funds → kConflict "insufficient balance" (the caller rolls back). Thread-safe.
  virtual Result<std::optional<Fen>> Charge(storage::Tx& tx, const std::string& user_id, Fen amount,
                                            int64_t now_ms) const = 0;
  // Gives `amount` back to the user inside `tx` (a refund of an earlier charge; the
  // caller has checked it never exceeds what was paid). Thread-safe.
  virtual Status Refund(storage::Tx& tx, const std::string& user_id, Fen amount, int64_t now_ms) const = 0;
  // The ledger account a charge of `user_id` comes from (the cashier posts it to the pay
  // order's clearing account in the same transaction).
  virtual LedgerAccount PayerAccount(const std::string& user_id) const = 0;
};

// Sandbox money: a balance per user (wallets table), topped up at will in sandbox mode.
class SandboxWallet final : public PaymentProvider {
 public:
  static constexpr Fen kMaxTopUpFen = 1'000'000;
  Result<std::optional<Fen>> Charge(storage::Tx& tx, const std::string& user_id, Fen amount,
                                    int64_t now_ms) const override;
  Status Refund(storage::Tx& tx, const std::string& user_id, Fen amount, int64_t now_ms) const override;
  LedgerAccount PayerAccount(const std::string& user_id) const override { return WalletAccount(user_id); }
  static Result<Fen> Balance(storage::Db& db, const std::string& user_id);
  // 1..kMaxTopUpFen per call, posted to the ledger (sandbox funding → wallet) in the same
  // transaction; returns the new balance.
  static Result<Fen> TopUp(storage::Db& db, const std::string& user_id, Fen amount, int64_t now_ms);
};

}  // namespace hutong::host
