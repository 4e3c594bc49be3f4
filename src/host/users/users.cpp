#include "host/users/users.h"

#include <algorithm>
#include <optional>

#include "common/credentials.h"
#include "common/ids.h"
#include "common/password.h"

namespace hutong::host {
using storage::Access;
using storage::Query;

namespace {

constexpr Query kPhoneTaken{"users.phone_taken", Access::kRead, "SELECT 1 FROM users WHERE phone = $1"};
constexpr Query kFindByPhone{"users.find_by_phone", Access::kRead,
                             "SELECT id, nickname, phone, city, created_at, password_hash FROM users "
                             "WHERE phone = $1"};
constexpr Query kInsertUser{"users.insert", Access::kWrite,
                            "INSERT INTO users (id, phone, password_hash, nickname, city, created_at) "
                            "VALUES ($1, $2, $3, $4, '', $5)"};
constexpr Query kInsertSession{"users.insert_session", Access::kWrite,
                               "INSERT INTO user_sessions (token_hash, user_id, expires_at, created_at) "
                               "VALUES ($1, $2, $3, $4)"};
constexpr Query kPurgeSessions{"users.purge_sessions", Access::kWrite,
                               "DELETE FROM user_sessions WHERE user_id = $1 AND expires_at <= $2"};
constexpr Query kSessionUser{
    "users.session_user", Access::kRead,
    "SELECT u.id, u.nickname, u.phone, u.city, u.created_at FROM user_sessions s "
    "JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2"};
constexpr Query kDeleteSession{"users.delete_session", Access::kWrite,
                               "DELETE FROM user_sessions WHERE token_hash = $1 AND expires_at > $2"};

Error BadLogin() {
  return {ErrorCode::kUnauthorized, "phone number or password is wrong"};
}
Error NoSession() {
  return {ErrorCode::kUnauthorized, "login required (Authorization: Bearer <token>)"};
}
Error DeadSession() {
  return {ErrorCode::kUnauthorized, "token is not valid, was logged out or has expired"};
}

// Decodes one UTF-8 code point at s[i], advancing i; nullopt on malformed, overlong or
// surrogate sequences. (Boost.JSON already rejects invalid UTF-8, but these checks must
// hold for any caller.)
std::optional<char32_t> NextCodePoint(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t len;
  char32_t cp;
  if (b0 < 0x80) {
    ++i;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return std::nullopt;
  }
  if (i + len > s.size()) return std::nullopt;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr char32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  i += len;
  return cp;
}

// Code points (nullopt when `s` is not UTF-8).
std::optional<size_t> CountCodePoints(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) {
    if (!NextCodePoint(s, i)) return std::nullopt;
  }
  return n;
}

// Characters that have no business in a name shown to other people: C0/C1 controls and
// the invisible direction and line controls that can make a name render as another.
bool IsForbiddenInName(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

bool IsSpace(char32_t cp) {
  return cp == ' ' || cp == 0x3000 || cp == 0xA0;
}

CurrentUser UserFromRow(const storage::Row& r) {
  return CurrentUser{r.Str(0), r.Str(1), MaskPhone(r.Str(2)), r.Str(3), r.Int(4)};
}

// Opens a session for `user_id` inside `tx`, dropping that user's expired ones so that the
// table does not grow with every login forever.
Result<UserSession> OpenSession(storage::Tx& tx, CurrentUser user, int64_t now_ms) {
  SessionToken token = NewSessionToken(kUserTokenPrefix);
  UserSession session{std::move(token.token), now_ms + kUserSessionTtlMs, std::move(user)};
  RETURN_IF_ERROR(tx.Exec(kPurgeSessions, {session.user.id, now_ms}));
  RETURN_IF_ERROR(tx.Exec(kInsertSession, {token.hash, session.user.id, session.expires_at, now_ms}));
  return session;
}

}  // namespace

Status CheckPhone(std::string_view phone) {
  const bool ok = phone.size() == 11 && phone[0] == '1' && phone[1] >= '3' && phone[1] <= '9' &&
                  std::all_of(phone.begin(), phone.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!ok) return Invalid("'phone' must be a mainland China mobile number: 11 digits starting 13–19");
  return Ok();
}

Status CheckPassword(std::string_view password) {
  auto chars = CountCodePoints(password);
  if (!chars || *chars < kMinPasswordChars || *chars > kMaxPasswordChars) {
    return Invalid("'password' must be " + std::to_string(kMinPasswordChars) + " to " +
                   std::to_string(kMaxPasswordChars) + " characters");
  }
  return Ok();
}

Status CheckNickname(std::string_view nickname) {
  const std::string rule =
      "'nickname' must be 1 to " + std::to_string(kMaxNicknameChars) + " characters, not only spaces";
  size_t chars = 0;
  bool visible = false;
  for (size_t i = 0; i < nickname.size(); ++chars) {
    auto cp = NextCodePoint(nickname, i);
    if (!cp) return Invalid("'nickname' is not valid UTF-8");
    if (IsForbiddenInName(*cp)) return Invalid("'nickname' must not contain control characters");
    visible = visible || !IsSpace(*cp);
  }
  if (chars == 0 || chars > kMaxNicknameChars || !visible) return Invalid(rule);
  return Ok();
}

std::string MaskPhone(std::string_view phone) {
  if (phone.size() < 8) return std::string(phone.size(), '*');
  return std::string(phone.substr(0, 3)) + "****" + std::string(phone.substr(phone.size() - 4));
}

Result<UserSession> Register(storage::Db& db, const Registration& input, const Clock& clock) {
  RETURN_IF_ERROR(CheckPhone(input.phone));
  RETURN_IF_ERROR(CheckPassword(input.password));
  RETURN_IF_ERROR(CheckNickname(input.nickname));
  const Error taken(ErrorCode::kConflict, "phone already registered");
  // Checked before hashing so a duplicate costs no argon2 work; the unique index still
  // decides when two registrations race.
  ASSIGN_OR_RETURN(auto existing,
                   db.Read([&](storage::Tx& tx) { return tx.Exec(kPhoneTaken, {input.phone}); }));
  if (!existing.empty()) return taken;
  ASSIGN_OR_RETURN(std::string password_hash, HashPassword(input.password));

  const int64_t now = clock.NowMs();
  CurrentUser user{NewId("usr", clock), input.nickname, MaskPhone(input.phone), "", now};
  return db.Write([&](storage::Tx& tx) -> Result<UserSession> {
    auto inserted = tx.Exec(kInsertUser, {user.id, input.phone, password_hash, input.nickname, now});
    if (!inserted.ok()) {
      if (inserted.error().code == ErrorCode::kConflict) return taken;
      return std::move(inserted).error();
    }
    return OpenSession(tx, user, now);
  });
}

Result<UserSession> Login(storage::Db& db, std::string_view phone, std::string_view password,
                          int64_t now_ms) {
  ASSIGN_OR_RETURN(auto rows,
                   db.Read([&](storage::Tx& tx) { return tx.Exec(kFindByPhone, {std::string(phone)}); }));
  const std::string* stored_hash = rows.empty() ? nullptr : &rows[0].Str(5);
  if (!VerifyPasswordOrDummy(password, stored_hash)) return BadLogin();
  CurrentUser user = UserFromRow(rows[0]);
  return db.Write([&](storage::Tx& tx) { return OpenSession(tx, user, now_ms); });
}

Status Logout(storage::Db& db, const http::Request& req, int64_t now_ms) {
  auto token = BearerToken(req.Header("authorization"));
  if (!token) return NoSession();
  ASSIGN_OR_RETURN(auto deleted, db.Write([&](storage::Tx& tx) {
    return tx.Exec(kDeleteSession, {SessionTokenHash(*token), now_ms});
  }));
  if (deleted.affected == 0) return DeadSession();
  return Ok();
}

Result<CurrentUser> AuthenticateUser(storage::Db& db, const http::Request& req, int64_t now_ms) {
  auto token = BearerToken(req.Header("authorization"));
  if (!token) return NoSession();
  ASSIGN_OR_RETURN(auto rows, db.Read([&](storage::Tx& tx) {
    return tx.ExecLast(kSessionUser, {SessionTokenHash(*token), now_ms});
  }));
  if (rows.empty()) return DeadSession();
  return UserFromRow(rows[0]);
}

}  // namespace hutong::host
