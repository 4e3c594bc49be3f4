#include "host/pay/payment_provider.h"

#include "common/ids.h"

namespace hutong::host {
using storage::Access;
using storage::Query;

namespace {

constexpr Query kDebit{"wallet.debit", Access::kWrite,
                       "UPDATE wallets SET balance_fen = balance_fen - $2, updated_at = $3 "
                       "WHERE user_id = $1 AND balance_fen >= $2 RETURNING balance_fen"};
constexpr Query kBalance{"wallet.balance", Access::kRead,
                         "SELECT balance_fen FROM wallets WHERE user_id = $1"};
constexpr Query kTopUp{
    "wallet.top_up", Access::kWrite,
    "INSERT INTO wallets (user_id, balance_fen, updated_at) VALUES ($1, $2, $3) "
    "ON CONFLICT (user_id) DO UPDATE SET balance_fen = wallets.balance_fen + excluded.balance_fen, "
    "updated_at = excluded.updated_at RETURNING balance_fen"};

}  // namespace

Result<std::optional<Fen>> SandboxWallet::Charge(storage::Tx& tx, const std::string& user_id, Fen amount,
                                                 int64_t now_ms) const {
  ASSIGN_OR_RETURN(auto debited, tx.Exec(kDebit, {user_id, amount, now_ms}));
  if (debited.empty()) return Error(ErrorCode::kConflict, "insufficient balance");
  return std::optional<Fen>(debited[0].Int(0));
}

Status SandboxWallet::Refund(storage::Tx& tx, const std::string& user_id, Fen amount, int64_t now_ms) const {
  if (amount < 1) return Internal("refund of a non-positive amount");
  ASSIGN_OR_RETURN(auto credited, tx.Exec(kTopUp, {user_id, amount, now_ms}));
  if (credited.empty()) return Internal("refund returned no balance");
  return Ok();
}

Result<Fen> SandboxWallet::Balance(storage::Db& db, const std::string& user_id) {
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) { return tx.Exec(kBalance, {user_id}); }));
  return rows.empty() ? Fen{0} : rows[0].Int(0);
}

Result<Fen> SandboxWallet::TopUp(storage::Db& db, const std::string& user_id, Fen amount, int64_t now_ms) {
  if (amount < 1 || amount > kMaxTopUpFen) {
    return Invalid("'amount_fen' must be between 1 and " + std::to_string(kMaxTopUpFen));
  }
  ASSIGN_OR_RETURN(auto rows, db.Write([&](storage::Tx& tx) -> Result<storage::Rows> {
    ASSIGN_OR_RETURN(auto balance, tx.Exec(kTopUp, {user_id, amount, now_ms}));
    RETURN_IF_ERROR(PostEntry(tx,
                              {"topup",
                               NewId("top"),
                               std::nullopt,
                               {{SandboxFundingAccount(), -amount}, {WalletAccount(user_id), amount}}},
                              now_ms));
    return balance;
  }));
  if (rows.empty()) return Internal("top-up returned no balance");
  return rows[0].Int(0);
}

}  // namespace hutong::host
